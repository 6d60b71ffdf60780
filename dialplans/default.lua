-- The default dialplan: two demo phones and an echo-free smoke test.
-- Listens on loopback only; the demo secrets are not usable from the
-- network.  Copy this file and edit it; reload with SIGHUP.
local pbx = require "lunapbx"

pbx.settings { listen = "127.0.0.1:5060", rtp_ports = "10000-20000" }

-- Templates are plain Lua functions.
local function phone(t)
  t.context = t.context or "internal"
  t.allow = t.allow or { "PCMU", "PCMA" }
  return t
end

pbx.endpoint "amine"        (phone { secret = "test",     callerid = '"Amine" <100>' })
pbx.endpoint "chhinyleboss" (phone { secret = "vitrygtr", callerid = '"Chhiny" <900>' })

pbx.context "internal" {
  ["100"] = function(call) call:dial("amine", { timeout = 20 }) end,
  ["900"] = function(call) call:dial("chhinyleboss", { timeout = 20 }) end,
  -- answered by the PBX: 2 s of silence, then it hangs up
  ["_3XX"] = function(call)
    call:answer()
    pbx.sleep(2000)
    call:hangup()
  end,
}
