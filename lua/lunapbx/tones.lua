-- lunapbx.tones: the call progress tones of each country, in Asterisk's
-- indications.conf syntax (what call:playtones() takes):
--   "f1[+f2][/ms],..."  0 Hz is silence; `!` plays an element only once;
--   the list repeats; an element without /ms lasts for ever.
--
-- A configuration may add a zone or change a tone:
--   local tones = require "lunapbx.tones"
--   tones.zones.fr.ring = "440/1500,0/3500"
-- call:tone(name) uses call.vars.tonezone, else pbx.settings{tonezone=},
-- else "fr" for callers whose language is French, else "us".

local M = {}

local recall = "!350+440/100,!0/100,!350+440/100,!0/100,!350+440/100,!0/100,350+440"
local info = "!950/330,!1400/330,!1800/330,0"

M.zones = {
  us = {
    dial = "350+440", ring = "440+480/2000,0/4000",
    busy = "480+620/500,0/500", congestion = "480+620/250,0/250",
    callwaiting = "440/300,0/10000", dialrecall = recall,
    record = "1400/500,0/15000", info = info, stutter = recall,
  },
  fr = {
    dial = "440", ring = "440/1500,0/3500",
    busy = "440/500,0/500", congestion = "440/250,0/250",
    callwaiting = "440/300,0/10000", dialrecall = recall,
    record = "1400/500,0/15000", info = info,
    stutter = "!440/100,!0/100,!440/100,!0/100,!440/100,!0/100,440",
  },
  uk = {
    dial = "350+440", ring = "400+450/400,0/200,400+450/400,0/2000",
    busy = "400/375,0/375", congestion = "400/400,0/350,400/225,0/525",
    callwaiting = "400/100,0/4000", dialrecall = recall,
    record = "1400/500,0/60000", info = info,
  },
  de = {
    dial = "425", ring = "425/1000,0/4000",
    busy = "425/480,0/480", congestion = "425/240,0/240",
    callwaiting = "!425/200,!0/200,!425/200,!0/5000,425/200,0/200,425/200,0/5000",
    dialrecall = "!425/100,!0/100,!425/100,!0/100,!425/100,!0/100,425",
    record = "1400/80,0/15000", info = info,
  },
}

-- Every zone also knows silence.
for _, z in pairs(M.zones) do z.silence = "0" end

--- tones.spec(name, zone) -> indications string, or nil, why.
-- A name that already is a tone ("425/500,0/500") is returned as is.
function M.spec(name, zone)
  if type(name) ~= "string" then return nil, "a tone name is a string" end
  if name:match("^[!%d]") then return name end
  local z = M.zones[zone or "us"]
  if not z then return nil, ("no tone zone '%s'"):format(tostring(zone)) end
  local s = z[name]
  if not s then return nil, ("no tone '%s' in zone '%s'"):format(name, zone) end
  return s
end

return M
