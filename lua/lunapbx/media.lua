-- lunapbx.media: call methods written in Lua on top of the C primitives
-- (call:play, call:read_digit, call:playtones).
--
--   call:collect{ prompt=, min=, max=, timeout=, interdigit=, terminator=,
--                 tries=, invalid=, no_input=, valid=, complete= }
--   call:say_digits("123#" [, opts])     call:say_number(42 [, opts])
--   call:tone("ring" [, seconds [, opts]])   call:silence(seconds)
--   call:tone_spec("ring" [, opts]) -> "440+480/2000,0/4000" (the zone's)
--
-- Each configuration generation gets its own copy (require is per
-- generation), bound to its settings by methods(settings).

local numbers = require "lunapbx.numbers"
local tones = require "lunapbx.tones"

local M = {}

local function language(call, settings, opts)
  return (opts and opts.language) or call.vars.language or settings.language or "en"
end

-- Is `digits` an acceptable answer?  valid: a Lua pattern, a function, a
-- list of strings or a set {["12"]=true}; nil accepts anything.
local function accepts(valid, digits)
  local t = type(valid)
  if t == "nil" then return true end
  if t == "function" then return valid(digits) and true or false end
  if t == "string" then return digits:find(valid) ~= nil end
  if t == "table" then
    if valid[digits] then return true end
    for _, v in ipairs(valid) do
      if v == digits then return true end
    end
    return false
  end
  error("collect: valid must be a pattern, a function or a table", 3)
end

local function seconds(v, default, what)
  if v == nil then return default end
  if type(v) ~= "number" or v < 0 then
    error(("collect: %s must be seconds (a number >= 0)"):format(what), 3)
  end
  return v
end

-- One attempt: the prompt, interrupted by the first key, then keys until
-- max, the terminator, complete(digits), or a timeout.
local function attempt(call, o)
  local digits = ""
  if o.prompt then
    local d, why = call:play(o.prompt, { interrupt = true })
    if why == "hangup" then return nil, "hangup" end
    digits = d or ""
  end
  while true do
    if o.terminator and digits ~= "" and o.terminator:find(digits:sub(-1), 1, true) then
      return digits:sub(1, -2), "terminator"
    end
    if #digits >= o.max then return digits, "max" end
    if digits ~= "" and o.complete and o.complete(digits) then
      return digits, "complete"
    end
    local d, why = call:read_digit(digits == "" and o.timeout or o.interdigit)
    if not d then
      if why == "hangup" then return nil, "hangup" end
      return digits, "timeout"
    end
    digits = digits .. d
  end
end

--- call:collect{...} -> digits, or nil and "timeout" | "invalid" | "hangup".
-- Asterisk's Background + WaitExten, FreeSWITCH's playAndGetDigits.
local function collect(call, o)
  o = o or {}
  if type(o) ~= "table" then error("collect: expects a table of options", 2) end
  local opt = {
    prompt = o.prompt, complete = o.complete,
    min = o.min or 1, max = o.max or 32,
    timeout = seconds(o.timeout, 5, "timeout"),
    interdigit = seconds(o.interdigit, 3, "interdigit"),
    terminator = o.terminator == nil and "#" or o.terminator or nil,
  }
  local tries = o.tries or 1
  local why = "timeout"
  for _ = 1, tries do
    local digits, how = attempt(call, opt)
    if not digits then return nil, how end
    if digits == "" and opt.min > 0 then
      why = "timeout"
      if o.no_input == false then return nil, why end
      if o.no_input then call:play(o.no_input) end
    elseif #digits >= opt.min and accepts(o.valid, digits) then
      return digits
    else
      why = "invalid"
      if o.invalid then call:play(o.invalid) end
    end
    if call.hungup then return nil, "hangup" end
  end
  return nil, why
end

--- The methods, bound to a generation's settings table.
function M.methods(settings)
  settings = settings or {}
  local methods = { collect = collect }

  function methods.say_digits(call, digits, opts)
    return call:play(numbers.digits(digits), opts)
  end

  function methods.say_number(call, n, opts)
    return call:play(numbers.prompts(n, language(call, settings, opts), opts), opts)
  end

  -- call:tone_spec(name [, opts]) -> the tone of the call's zone, in
  -- indications syntax (what call:playtones and leg:start_tones take)
  function methods.tone_spec(call, name, opts)
    local zone = (opts and opts.zone) or call.vars.tonezone or settings.tonezone
    if not zone then
      zone = language(call, settings, opts) == "fr" and "fr" or "us"
    end
    return tones.spec(name, zone)
  end

  function methods.tone(call, name, secs, opts)
    local spec, err = methods.tone_spec(call, name, opts)
    if not spec then error("tone: " .. err, 2) end
    return call:playtones(spec, secs, opts)
  end

  function methods.silence(call, secs, opts)
    return call:playtones("0", secs, opts)
  end

  return methods
end

M.collect = collect

return M
