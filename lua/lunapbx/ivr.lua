-- lunapbx.ivr: auto-attendants and IVR menus, on call:collect().
--
--   local ivr = require "lunapbx.ivr"
--   ivr.menu(call, {
--     prompt   = "menu2",              -- a prompt or a list of prompts
--     options  = { ["1"] = "amine",    -- an endpoint (or a list) to dial,
--                  ["2"] = function(call, digits) ... end },  -- or code
--     context  = "internal",           -- and/or: any extension of a context
--     timeout  = 10,                   -- s for the first key after the prompt
--     interdigit = 3,                  -- s between keys
--     tries    = 3,                    -- attempts, invalid or silent
--     invalid  = "invalid",            -- prompt after a wrong entry
--     no_input = "no-input",           -- prompt after silence; false: no
--                                      -- retry, straight to the fallback
--     fallback = "operator",           -- after the last try: endpoint(s)
--   })                                 -- to dial, or function(call, why)
--
-- The caller may type while the prompt plays (the first key stops it).  As
-- in Asterisk's Background + WaitExten, an entry is taken as soon as no
-- longer one could match; otherwise the menu waits `interdigit` seconds
-- for more, then takes what matches.  `#` ends an entry at once.
-- Returns what the chosen branch returns; nil, "hangup" if the caller
-- left; the fallback's result (or nil, "timeout" | "invalid") otherwise.

local M = {}

local function lunapbx() return require "lunapbx" end

local function option(o, digits)
  local v = o.options and o.options[digits]
  if v ~= nil then return v end
  if o.context then return (lunapbx().match(o.context, digits)) end
end

local function more(o, digits)
  for k in pairs(o.options or {}) do
    if #k > #digits and k:sub(1, #digits) == digits then return true end
  end
  return o.context ~= nil and lunapbx().matchmore(o.context, digits)
end

-- A branch: a function, or endpoints to dial.
local function run(branch, call, arg)
  local t = type(branch)
  if t == "function" then return branch(call, arg) end
  if t == "string" or t == "table" then return call:dial(branch) end
  error(("ivr: a branch must be a function or endpoints to dial, not a %s"):format(t), 3)
end

function M.menu(call, o)
  if type(o) ~= "table" then error("ivr.menu: expects a table of options", 2) end
  if not o.options and not o.context then
    error("ivr.menu: give options, a context, or both", 2)
  end
  if call.state ~= "answered" then call:answer() end

  local digits, why = call:collect {
    prompt = o.prompt,
    timeout = o.timeout or 10, interdigit = o.interdigit or 3,
    tries = o.tries or 3, max = o.max or 32,
    terminator = o.terminator == nil and "#" or o.terminator,
    invalid = o.invalid, no_input = o.no_input,
    complete = function(d) return not more(o, d) end,
    valid = function(d) return option(o, d) ~= nil end,
  }

  if digits then
    call.vars.ivr_choice = digits
    return run(option(o, digits), call, digits)
  end
  if why == "hangup" or call.hungup then return nil, "hangup" end
  if o.fallback ~= nil then return run(o.fallback, call, why) end
  return nil, why
end

M.more = more
M.option = option

return M
