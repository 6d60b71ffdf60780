-- lunapbx.apps: ready-made services a dialplan plugs in as an extension,
-- the way Asterisk users write Playback(...) then Echo().
--
--   local apps = require "lunapbx.apps"
--   pbx.context "internal" { ["600"] = apps.echo_test }
--
-- Each is a plain dialplan function (call, exten): copy one and edit it
-- when a service needs to differ.

local M = {}

--- Echo test: Playback(demo-echotest), Echo() until # or hangup,
-- Playback(demo-echodone).
function M.echo_test(call)
  call:answer()
  call:play("demo-echotest")
  call:echo()
  call:play("demo-echodone")
end

return M
