-- lunapbx.pickup: answering a call that rings another phone (Asterisk's
-- pickupexten and Pickup(), a BLF key's INVITE with Replaces).
--
--   local pickup = require "lunapbx.pickup"
--   pbx.endpoint "xlite" { ..., callgroup = 1, pickupgroup = 1 }
--   pbx.context "internal" {
--     ["*8"]    = pickup.group,                  -- a call ringing my groups
--     ["_**X."] = function(call, exten)          -- **6002: that phone's call
--       pickup.directed(call, exten:sub(3))
--     end,
--   }
--   pbx.on_pickup(function(p)                    -- p.kind "group" | "directed"
--     return p.by.endpoint ~= "lobby"            --   | "replaces"; false refuses
--   end)
--
-- The core gives the dials that ring (pbx.ringing(), oldest first, with
-- the endpoints each rings) and d:pickup(leg), which cancels the other
-- phones, answers the caller and bridges it with the picker; the call that
-- dialled goes on as if its callee had answered.  Who may take which call
-- is decided here.

local M = {}

--- The pickup service of one generation: env has core, log, endpoints_of
--- (a number -> the endpoints it names).
function M.new(env)
  local core = env.core
  local self = { hook = nil }

  --- pbx.on_pickup(fn)
  function self.on_pickup(fn)
    if fn ~= nil and type(fn) ~= "function" then
      error("pbx.on_pickup expects a function", 3)
    end
    self.hook = fn
  end

  --- Do @picker's pickup groups meet @callee's call groups?
  function self.groups_meet(picker, callee)
    local a = picker and core.endpoint_info(picker)
    local b = callee and core.endpoint_info(callee)
    if not a or not b then return false end
    for g in pairs(a.pickupgroup) do
      if b.callgroup[g] then return true end
    end
    return false
  end

  -- The built-in rule (groups for *8; anyone for a directed pickup, as
  -- Asterisk's Pickup()), then the hook's word.
  function self.allowed(p)
    if p.kind == "group" and not self.groups_meet(p.by.endpoint, p.endpoint) then
      return false
    end
    if self.hook and self.hook(p) == false then return false end
    return true
  end

  -- The first dial (oldest first) ringing an endpoint `want` accepts
  -- whose pickup is allowed: picked up by the call's leg.
  local function take(call, kind, want)
    local by = call.leg
    for _, d in ipairs(core.ringing()) do
      if d.caller ~= by then
        for _, ep in ipairs(d.endpoints) do
          if want(ep) and self.allowed { kind = kind, by = by, dial = d, endpoint = ep } then
            local ok, why = d:pickup(by)
            if ok then
              env.log("info", "call %d: leg %d picks up dial %d (%s ringing, %s)",
                      call.id, by.id, d.id, ep, kind)
              return true
            end
            env.log("info", "call %d: pickup of dial %d failed: %s", call.id, d.id, why)
            if why == "hangup" then return nil, "hangup" end
            break                       -- that one was over: the next
          end
        end
      end
    end
    return nil, "none"
  end

  local function nothing(call)
    call:answer()
    call:play("pickup-none")
    call:hangup()
    return nil, "none"
  end

  --- *8: the oldest call ringing a phone of my pickup groups.
  function self.group(call)
    local ok, why = take(call, "group", function() return true end)
    if ok then return true end
    if why == "hangup" then return nil, why end
    return nothing(call)
  end

  --- Pickup(target): the oldest call ringing the endpoints a number (or
  --- an endpoint's name) names.
  function self.directed(call, target)
    local eps = env.endpoints_of(target) or {}
    local set = {}
    for _, e in ipairs(eps) do set[e] = true end
    local ok, why = take(call, "directed", function(ep) return set[ep] end)
    if ok then return true end
    if why == "hangup" then return nil, why end
    return nothing(call)
  end

  --- An INVITE whose Replaces names a ringing dialog (call.replaces).
  function self.replaces(call)
    local d = call.replaces
    if d.status then return call:hangup(481) end     -- answered meanwhile
    local ep = d.endpoints[1]
    if not self.allowed { kind = "replaces", by = call.leg, dial = d, endpoint = ep } then
      env.log("info", "call %d: pickup by Replaces refused", call.id)
      return call:hangup(603)
    end
    local ok, why = d:pickup(call.leg)
    if not ok then return call:hangup(why == "over" and 481 or 500) end
    env.log("info", "call %d: leg %d picks up dial %d by Replaces", call.id,
            call.leg.id, d.id)
    return true
  end

  return self
end

-- The functions for a dialplan act through the generation's service
-- (lunapbx/init.lua sets M.service: this module is loaded per generation).

--- ["*8"] = pickup.group
function M.group(call) return M.service.group(call) end

--- pickup.directed(call, "6002")
function M.directed(call, target) return M.service.directed(call, target) end

return M
