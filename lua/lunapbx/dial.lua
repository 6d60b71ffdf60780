-- lunapbx.dial: what call:dial() (core/lua/bind_calldial.c) asks Lua while
-- it runs, so that the flows stay readable Lua while a plain call costs no
-- Lua object:
--
--   _dial_keys(options)  the feature keys Dial's options ("tThH") give each
--                        side (lunapbx.features)
--   _tone(call, name)    a tone of the caller's zone (the ringback an
--                        answered caller hears)
--   _bridge_event(call, br, event, leg, feature, keys)
--                        a feature key or a REFER while the two talk
--                        (lunapbx.transfer): the bridge the conversation
--                        goes on in (nil: the same)

local transfer = require "lunapbx.transfer"

local M = {}

--- The methods of one generation: env has core, features, match,
--- matchmore, tones (a function(call, name) -> spec), log.
function M.new(env)
  local xfer = transfer.new(env)
  local methods = {}

  function methods._dial_keys(options)
    return env.features.for_options(options)
  end

  function methods._tone(call, name)
    return env.tones(call, name)
  end

  function methods._bridge_event(call, br, event, leg, feature, keys)
    if event == "feature" then
      return xfer.feature(call, br, leg, feature, keys)
    end
    return xfer.refer(call, br, leg, keys)
  end

  return methods
end

return M
