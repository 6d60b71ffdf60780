-- lunapbx.transfer: what a transfer does, as Lua a user can read and
-- change.  The core gives legs, bridges, dials and their events; the
-- flows are here.
--
-- Blind (#1 + number, or a phone's REFER): the other party leaves for a
-- call of its own that runs the number in the transferer's context (it
-- hears ringback there); the transferer's leg ends.
--
-- Attended (*2 + number): the other party hears music on hold while the
-- transferer calls the number (the dialplan's extension runs for the
-- transferer, here); then
--   the transferer hangs up (or keys *2)  -> the two others talk
--   the transferer keys *1, or the target hangs up -> back as before
--   no answer within 15 s, busy, ...      -> back as before
--   the transferer hangs up while it rings -> the other party hears the
--                                            ringing and gets the target
--   the other party hangs up meanwhile    -> transferer and target talk
-- A phone's REFER with Replaces (its own attended transfer) joins the
-- other party with the leg the Replaces names.
--
-- Parking (lunapbx.parking): a blind transfer to a lot's park extension
-- (#1 700) parks the other party and tells the transferer the space before
-- it hangs up; parkcall (Dial's k and K options, features.conf's #72) does
-- the same in one step.  A full lot: the transferer hears so and both are
-- back together.

local M = {}

local ABORT = {}   -- raised to leave a consultation's extension early

local function other(br, leg)
  for _, l in ipairs(br:legs()) do
    if l ~= leg then return l end
  end
end

--- The transfer flows of one generation (env: core, features, match,
--- matchmore, context_of, tones, log).
function M.new(env)
  local core, features = env.core, env.features
  local self = {}

  local function context_of(call, leg)
    return leg.context or call.context
  end

  -- The number keyed after a transfer key: until it is an extension of
  -- the context that cannot grow, # or the time between keys runs out.
  local function read_number(call, leg, context)
    local fmap = features.map
    leg:play("pbx-transfer")
    local number = leg:collect {
      max = 32, timeout = 10, interdigit = fmap.featuredigittimeout,
      complete = function(d)
        return env.match(context, d) ~= nil and not env.matchmore(context, d)
      end,
    }
    if number and env.match(context, number) then return number end
    return nil
  end

  -- The parties as they were, keys and all.
  local function rejoin(br, a, b, keys)
    if b and not b.hungup then b:stop_moh() end
    for _, l in ipairs({ a, b }) do
      if l and not l.hungup then br:add(l, keys[l]) end
    end
    return br
  end

  local function beeperr(leg)
    if leg and not leg.hungup then leg:play("pbx-transfer-failed") end
  end

  local function hook(kind, call, by, transferee, number, context)
    return features.allow { kind = kind, call = call, by = by,
                            transferee = transferee, number = number,
                            context = context }
  end

  -- The other party waits with music while the transferer keys the
  -- number (and the hook has its say): the other party, the context, the
  -- number (nil: no transfer).
  local function take_number(call, br, by, kind)
    local to = other(br, by)
    if not to then return end
    br:remove(to)
    to:start_moh()
    br:remove(by)
    local context = context_of(call, by)
    local number = read_number(call, by, context)
    return to, context, number and hook(kind, call, by, to, number, context)
  end

  -- What goes with a transferred party to its new call (Asterisk's
  -- BLINDTRANSFER): who sent it there (a parking lot rings them back).
  local function from(by)
    return { transferer = by.endpoint, transferer_num = by.caller }
  end

  -- The other party goes to a space of @lot; the transferer hears which,
  -- then hangs up.  A full lot: both back together.
  local function park(call, br, by, to, lot, keys)
    to:stop_moh()
    local slot = lot:park(to, { parker = by, announce = by })
    if not slot then
      if not by.hungup then by:play("park-full") end
      return rejoin(br, by, to, keys)
    end
    env.log("info", "call %d: leg %d parked at %s by leg %d", call.id, to.id,
            slot, by.id)
    if not by.hungup then by:hangup() end
    return br
  end

  local function lot_at(context, number)
    return env.parking and env.parking.lot_of(env.match(context, number))
  end

  --- #1: blind transfer by keys.
  function self.blindxfer(call, br, by, keys)
    local to, context, number = take_number(call, br, by, "blind")
    if not to then return end
    if not number or to.hungup then
      beeperr(by)
      return rejoin(br, by, to, keys)
    end
    local lot = lot_at(context, number)
    if lot then return park(call, br, by, to, lot, keys) end
    env.log("info", "call %d: blind transfer of leg %d to %s@%s", call.id,
            to.id, number, context)
    to:stop_moh()
    to:redirect(number, context, from(by))
    by:hangup()
    return br
  end

  --- parkcall (#72, Dial's k/K): the other party is parked in a lot whose
  --- park extension the keying party's context reaches ("default" first,
  --- then by name), else "default".
  function self.parkcall(call, br, by, keys)
    local to = other(br, by)
    local parking = env.parking
    if not to or not parking then return nil end
    local context = context_of(call, by)
    local names = {}
    for name in pairs(parking.lots()) do names[#names + 1] = name end
    table.sort(names, function(a, b)        -- "default" first, then by name
      return (a == "default") ~= (b == "default") and a == "default" or
        ((a == "default") == (b == "default") and a < b)
    end)
    local lot
    for _, name in ipairs(names) do
      local l = parking.get(name)
      if env.match(context, l.exten) == l.park_fn then lot = l break end
    end
    lot = lot or parking.get("default")
    if not lot then
      env.log("warn", "call %d: parkcall: no parking lot", call.id)
      return nil
    end
    br:remove(to)
    br:remove(by)
    return park(call, br, by, to, lot, keys)
  end

  -- The consultation: the extension runs for the transferer, with a call
  -- of its own whose dial is the consultation's (it raises ABORT to come
  -- back, or returns the bridge the transfer left).
  local function consult_call(call, by, to, number, context, keys)
    local sub = setmetatable({ leg = by, exten = number, context = context,
                               vars = call.vars, id = call.id }, {
      __index = function(_, k)
        local v = by[k]
        if type(v) == "function" then
          return function(_, ...) return v(by, ...) end
        end
        return v
      end,
    })
    -- a service, not a phone; and the transferer does not hang up here
    function sub.answer() error(ABORT) end
    function sub.hangup() error(ABORT) end
    function sub.dial(_, targets, opts)
      return self.consult_dial(call, by, to, targets, opts or {}, keys)
    end
    return sub
  end

  --- *2: attended transfer by keys.
  function self.atxfer(call, br, by, keys)
    local to, context, number = take_number(call, br, by, "attended")
    if not to then return end
    local fn = number and env.match(context, number)
    if not fn or to.hungup then
      beeperr(by)
      return rejoin(br, by, to, keys)
    end
    env.log("info", "call %d: attended transfer of leg %d to %s@%s",
            call.id, to.id, number, context)
    local ok, res = pcall(fn, consult_call(call, by, to, number, context, keys), number)
    if ok or res == ABORT then
      beeperr(by)
      return rejoin(br, by, to, keys)
    end
    if type(res) == "table" and res.bridge ~= nil then
      return res.bridge or br
    end
    error(res, 0)
  end

  -- The consultation's dial: the target rings for the transferer (at
  -- most atxfernoanswertimeout), then the transfer is decided.
  function self.consult_dial(call, by, to, targets, opts, keys)
    if type(targets) == "table" and targets.trunk then
      opts, targets = targets, targets.trunk
    end
    local limit = features.map.atxfernoanswertimeout
    local d = core.dial(targets, {
      caller = by, number = opts.number, ringback = env.tones(call, "ring"),
      timeout = math.min(opts.timeout or limit, limit),
      caller_keys = features.keys("atxferabort", "atxfercomplete"),
    })
    while true do
      local who, status, code, target, k
      if to then who, status, code, target, k = core.wait(d, to)
      else who, status, code, target, k = core.wait(d) end
      if who == to then
        if status == "hangup" then to = nil end   -- the others just talk
      elseif status == nil then          -- the transferer hung up: the
        if not to then d:cancel(); error(ABORT) end   -- other party
        to:stop_moh()                                 -- gets the target
        d:set_caller(to)
        local s, _, t2, k2 = d:wait()
        if s ~= "ANSWER" then to:hangup(); error({ bridge = false }) end
        env.log("info", "call %d: transfer done while ringing: leg %d with"
                .. " leg %d", call.id, to.id, t2.id)
        error({ bridge = k2 })
      elseif status ~= "ANSWER" then
        error(ABORT)
      else
        return self.consultation(call, k, by, to, target, keys)
      end
    end
  end

  -- Transferer and target talk; the transferee waits with music.
  function self.consultation(call, k, by, to, target, keys)
    while true do
      local ev, leg, name = k:wait()
      if ev == "refer" then
        leg:refer_notify(603)
      elseif ev == "feature" and name == "atxferabort" or
         ev ~= "feature" and leg == target then
        k:remove(by)
        target:hangup()
        error(ABORT)
      elseif leg == by and (ev == "hangup" or name == "atxfercomplete") then
        if not to or to.hungup then
          if not by.hungup then by:hangup() end
          error({ bridge = k })
        end
        if not by.hungup then k:remove(by); by:hangup() end
        to:stop_moh()
        k:add(to, keys[to])
        env.log("info", "call %d: transfer done: leg %d with leg %d",
                call.id, to.id, target.id)
        error({ bridge = k })
      end
    end
  end

  function self.disconnect(call, br)
    br:hangup()
    return br
  end

  --- A feature keyed in a bridge: the bridge to go on with, or nil.
  function self.feature(call, br, leg, name, keys)
    if (name == "blindxfer" or name == "atxfer") and not leg.transfer then
      env.log("info", "call %d: leg %d is not allowed to transfer"
              .. " (allow_transfer = false)", call.id, leg.id)
      return nil
    end
    local f = self[name]
    if type(f) ~= "function" then
      env.log("warn", "call %d: no feature '%s'", call.id, name)
      return nil
    end
    return f(call, br, leg, keys)
  end

  -- The transfer went: the transferer's phone hangs up itself once it has
  -- the final NOTIFY (RFC 3515 7.1); a phone that does not, is hung up.
  local function let_go(br, by)
    br:remove(by)
    local deadline = core.now() + 8
    while not by.hungup and core.now() < deadline do
      core.wait(by, deadline - core.now())
    end
    if not by.hungup then by:hangup() end
    return br
  end

  --- A REFER from a bridged leg (its phone's transfer button).
  function self.refer(call, br, by, keys)
    local r = by.refer
    local to = other(br, by)
    if not r or not to then
      if r then by:refer_notify(503) end
      return nil
    end
    local context = context_of(call, by)
    if r.replaces then
      local x2 = core.find_dialog(r.replaces.callid, r.replaces.to_tag,
                                  r.replaces.from_tag)
      local k = x2 and x2.bridge
      if not k then by:refer_notify(481); return nil end
      if hook("attended", call, by, to, r.user, context) == false then
        by:refer_notify(603); return nil
      end
      k:replace(x2, to)
      by:refer_notify(200)
      env.log("info", "call %d: REFER/Replaces: leg %d replaces leg %d",
              call.id, to.id, x2.id)
      return let_go(br, by)
    end
    local number = hook("blind", call, by, to, r.user, context)
    if not number or r.user == "" or not env.match(context, number) then
      by:refer_notify(number and 404 or 603)
      return nil
    end
    env.log("info", "call %d: REFER: leg %d to %s@%s", call.id, to.id,
            number, context)
    if not to:redirect(number, context, from(by)) then
      by:refer_notify(503)
      return nil
    end
    by:refer_notify(200)
    return let_go(br, by)
  end

  return self
end

return M
