-- lunapbx.dial: call:dial(), the one-line form of a dial, on top of the
-- core's handles (pbx.dial, d:wait, a bridge and its events).
--
--   local status, code = call:dial("bob", { timeout = 20, options = "tT" })
--   call:dial{ trunk = "siptrunk", number = "900", timeout = 20 }
--
-- It rings, bridges the first to answer with the caller, and returns
-- when that conversation is over, whoever it ended up with (a transfer
-- moves it on): "ANSWER", 200; or how the dial failed.  While the two
-- talk, the keys the options allow run the features (lunapbx.transfer),
-- and a phone's own transfer button (REFER) is honoured.

local transfer = require "lunapbx.transfer"

local M = {}

--- The dial methods of one generation: env has core, features, match,
--- tones (a function(call, name) -> spec).
function M.new(env)
  local core = env.core
  local xfer = transfer.new(env)
  local methods = {}

  -- What the two parties do once bridged: features, transfers, and the
  -- end (Asterisk's default: when one hangs up, so does the other).
  local function talk(call, br, keys)
    while true do
      if br.count <= 1 then br:hangup(); return end
      local ev, leg, name = br:wait()
      if ev == nil then return end    -- empty: everybody left
      if ev == "feature" then
        br = xfer.feature(call, br, leg, name, keys) or br
      elseif ev == "refer" then
        br = xfer.refer(call, br, leg, keys) or br
      end                             -- "hangup", "left": counted above
    end
  end
  M.talk = talk

  --- call:dial(targets [, opts]) -> status, code
  function methods.dial(call, targets, opts)
    if type(targets) == "table" and targets.trunk then
      opts, targets = targets, targets.trunk       -- Dial(SIP/trunk/n)
    end
    opts = opts or {}
    if type(opts) ~= "table" then error("dial: options must be a table", 2) end
    local caller = call.leg
    local ck, ek = env.features.for_options(opts.options)
    local d = core.dial(targets, {
      caller = caller, timeout = opts.timeout, number = opts.number,
      caller_name = opts.caller_name, caller_num = opts.caller_num,
      ringback = env.tones(call, "ring"), caller_keys = ck, callee_keys = ek,
    })
    local status, code, callee, br = d:wait()
    if status == nil then             -- the caller hung up while it rang
      d:cancel()
      return "CANCEL", 487
    end
    if status ~= "ANSWER" then return status, code end
    talk(call, br, { [caller] = ck, [callee] = ek })
    return "ANSWER", 200
  end

  return methods
end

return M
