-- lunapbx.followme: Asterisk's FollowMe(), in Lua.
--
--   local followme = require "lunapbx.followme"
--   followme.user "6001" {                    -- followme.conf [6001]
--     numbers = {                             -- number => 100,15 ...
--       { "100", timeout = 15 },              -- one step: rung alone
--       { "900", "6004", timeout = 15 },      -- rung together
--     },                                      -- or function(call) -> steps
--     takecall = "1", declinecall = "2",      -- the callee's keys
--     moh = "default",                        -- what the caller hears
--   }
--   ... local status = call:dial("zoiper", { timeout = 20 })
--   if status ~= "ANSWER" and followme.run(call, "6001") == "ANSWER" then return end
--   vm.deposit(call, "6001")                  -- nobody took it: voicemail
--
-- The caller is answered, hears "please hold while we try to reach the
-- person you are calling", then music.  Each step rings its numbers (a
-- number is an extension whose hint, or callerid, names endpoints, or an
-- endpoint's name; or { trunk =, number = }) for its timeout; a callee who
-- answers hears "you have an incoming call from" and the caller's number,
-- then "press 1 to accept the call, 2 to reject it": 1 puts the two
-- through, 2 (or nothing within `confirm_timeout`) hangs that callee up
-- and the others of the step ring on; then the next step.  The list may
-- be a function of the call (time of day, presence).  run() returns
-- "ANSWER" once the two have talked, "NOANSWER" when nobody took the call
-- (the dialplan goes on: voicemail), nil and "hangup" if the caller left.

local core = _core
local talk = require "lunapbx.talk"

local M = {}

local users = {}

local function log(level, fmt, ...) core.log(level, fmt:format(...)) end
local function lunapbx() return require "lunapbx" end

local FIELDS = {
  numbers = "table|function", takecall = "string", declinecall = "string",
  moh = "string", confirm_timeout = "number", announce = "boolean",
  pls_hold = "boolean",
}

M.DEFAULTS = { takecall = "1", declinecall = "2", confirm_timeout = 5,
               announce = true, pls_hold = true, timeout = 25 }

local function check_steps(steps, where)
  if type(steps) ~= "table" then return nil, where .. ": a list of steps" end
  for i, st in ipairs(steps) do
    if type(st) == "string" then st = { st }; steps[i] = st end
    if type(st) ~= "table" or #st == 0 then
      return nil, ("%s: step %d is not a list of numbers"):format(where, i)
    end
    if st.timeout ~= nil and (type(st.timeout) ~= "number" or st.timeout <= 0) then
      return nil, ("%s: step %d: timeout is seconds"):format(where, i)
    end
  end
  return steps
end

--- followme.user "6001" { numbers = ..., takecall =, declinecall =, moh = }
function M.user(name)
  if type(name) ~= "string" or name == "" then
    error("followme.user: a name is needed", 2)
  end
  return function(t)
    if type(t) ~= "table" then error(("followme.user '%s': expects a table"):format(name), 2) end
    local u = { name = name }
    for k, v in pairs(M.DEFAULTS) do u[k] = v end
    for k, v in pairs(t) do
      local want = FIELDS[k]
      if not want then error(("followme.user '%s': unknown field '%s'"):format(name, tostring(k)), 2) end
      if not want:find(type(v), 1, true) then
        error(("followme.user '%s': '%s' must be a %s"):format(name, k, want:gsub("|", " or ")), 2)
      end
      u[k] = v
    end
    if not u.numbers then error(("followme.user '%s': numbers are needed"):format(name), 2) end
    if type(u.numbers) == "table" then
      local ok, err = check_steps(u.numbers, ("followme.user '%s'"):format(name))
      if not ok then error(err, 2) end
    end
    for _, k in ipairs { "takecall", "declinecall" } do
      if not u[k]:match("^[0-9*#]$") then
        error(("followme.user '%s': %s is one key"):format(name, k), 2)
      end
    end
    users[name] = u
    return u
  end
end

function M.get(name) return users[name] end

-- A number of a step as dial targets: the endpoints it names.
local function targets_of(n)
  if type(n) == "table" then return n end
  local eps = lunapbx().endpoints_of(n)
  return eps
end

-- The callee answered: it hears who calls and chooses.  true: it takes
-- the call.
local function confirm(u, call, leg)
  if u.announce then
    leg:play("followme-call-from")
    if call.caller and call.caller ~= "" then leg:say_digits(call.caller) end
  end
  for _ = 1, 3 do
    if leg.hungup or call.hungup then return false end
    local key = leg:play("followme-accept", { interrupt = u.takecall .. u.declinecall })
    if not key and not leg.hungup then key = leg:read_digit(u.confirm_timeout) end
    if key == u.takecall then return true end
    if key == u.declinecall then return false end
  end
  return false
end

-- The other dials of the step stop; a callee of theirs already up (its
-- answer not looked at yet) hangs up.
local function cancel_all(dials)
  for _, d in ipairs(dials) do
    d:cancel()
    if d.leg and not d.leg.hungup then d.leg:hangup() end
  end
end

-- One step: its dials ring together; the first callee who takes it wins.
-- "ANSWER" (talked), nil "hangup" (the caller left), or false (next).
local function step(u, call, st)
  local caller = call.leg
  local dials = {}
  for _, n in ipairs(st) do
    local t = targets_of(n)
    if t then
      dials[#dials + 1] = core.dial(t, { timeout = st.timeout or u.timeout,
                                         caller_name = call.caller_name,
                                         caller_num = call.caller })
    else
      log("warn", "followme %s: %s names no endpoint", u.name, tostring(n))
    end
  end
  while #dials > 0 do
    local args = { caller }
    for _, d in ipairs(dials) do args[#args + 1] = d end
    local who, status, _, leg = core.wait(table.unpack(args))
    if who == caller and status == "hangup" then
      cancel_all(dials)
      return nil, "hangup"
    end
    if who ~= caller then
      for i, d in ipairs(dials) do
        if d == who then table.remove(dials, i) break end
      end
      if status == "ANSWER" and leg then
        if confirm(u, call, leg) and not caller.hungup then
          cancel_all(dials)
          log("info", "followme %s: leg %d takes the call", u.name, leg.id)
          caller:stop_moh()
          talk(call, core.bridge(caller, leg))
          return "ANSWER"
        end
        log("info", "followme %s: leg %d declines", u.name, leg.id)
        if not leg.hungup then leg:hangup() end
        if caller.hungup then cancel_all(dials) return nil, "hangup" end
      end
    end
  end
  return false
end

--- FollowMe(name): "ANSWER", "NOANSWER", or nil and "hangup".
function M.run(call, name)
  local u = users[name]
  if not u then error(("followme.run: no user '%s'"):format(tostring(name)), 2) end
  local steps = u.numbers
  if type(steps) == "function" then
    local err
    steps, err = check_steps(steps(call), ("followme '%s'"):format(name))
    if not steps then error(err, 2) end
  end
  local caller = call.leg
  if not caller or caller.hungup then return nil, "hangup" end
  caller:answer()
  if u.pls_hold then caller:play("followme-pls-hold") end
  if caller.hungup then return nil, "hangup" end
  caller:start_moh(u.moh)
  for i, st in ipairs(steps) do
    log("info", "followme %s: step %d", name, i)
    local r, why = step(u, call, st)
    if r then return r end
    if why then return nil, why end
  end
  caller:stop_moh()
  log("info", "followme %s: nobody took the call", name)
  return "NOANSWER"
end

return M
