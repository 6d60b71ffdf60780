-- lunapbx.talk: two parties in a bridge talk until one hangs up (then the
-- other is hung up too: Asterisk's default), as call:dial does after its
-- answer.  A transfer request or a feature key goes to the generation's
-- flows (call._bridge_event, lunapbx/transfer.lua) when the call has them;
-- a REFER is refused otherwise.
--
--   local talk = require "lunapbx.talk"
--   talk(call, pbx.bridge(call.leg, other))     -- returns when it is over

return function(call, br, keys)
  keys = keys or {}
  while br do
    local ev, leg, feature = br:wait()
    if ev == "refer" or ev == "feature" then
      local flows = call._bridge_event
      if flows then
        br = flows(call, br, ev, leg, feature, keys) or br
      elseif ev == "refer" then
        leg:refer_notify(603)
      end
    end
    if ev == nil or br.count <= 1 then break end
  end
  if br then br:hangup() end
end
