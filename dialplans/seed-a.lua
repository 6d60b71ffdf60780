-- The seed's server A ("trunksip", .153 in the lab): the phone amine (100)
-- and the trunk trunk_A_vers_B, a friend that server B registers to and
-- calls through.  From A, 900 reaches chhinyleboss on B over the trunk.
-- Run it next to dialplans/seed-b.lua (see README, "Trunks"):
--
--   build/lunapbx -c dialplans/seed-a.lua --state state-a
--   build/lunapbx -c dialplans/seed-b.lua --state state-b
local pbx = require "lunapbx"
local apps = require "lunapbx.apps"
local vm = require "lunapbx.voicemail"

pbx.settings { listen = "127.0.0.1:5060", rtp_ports = "10000-14999" }

-- sip.conf: [amine] type=friend callerid="My name" <100> host=dynamic
--           secret=test context=internal
pbx.endpoint "amine" { secret = "test", context = "internal", callerid = '"Amine" <100>' }

-- sip.conf: [trunk_A_vers_B] type=friend secret=azerty context=internal
--           host=dynamic insecure=port,invite
-- B registers here as trunk_A_vers_B/azerty.  insecure=invite: B's INVITEs,
-- from the address it registered from, are not challenged.  The seed also
-- has "port" (any source port of B's address); it is left out because on
-- one machine every phone shares B's address, and "port" would let them
-- all in as the trunk.  Without insecure at all, B answers the 407 with
-- the same secret (seed-b.lua's peer "A") and it works too.
pbx.peer "trunk_A_vers_B" {
  type = "friend", host = "dynamic", secret = "azerty", context = "internal",
  insecure = "invite", qualify = true,
}

-- features.conf: blindxfer => #1, atxfer => *2 (Dial's tT options below)
pbx.features { blindxfer = "#1", atxfer = "*2" }

-- voicemail.conf: 100=>100 (the PIN is the number), lighting amine's lamp.
-- A caller from the other PBX reaches this mailbox through the trunk: the
-- call runs this side's 100, which falls back to voicemail here.
vm.mailbox "100" { pin = "100", email = "root@localhost", endpoints = { "amine" } }

-- The lab's stdexten: ring 20 s; busy: voicemail with the busy greeting;
-- no answer: the unavailable greeting; anything else: hang up.
local function stdexten(call, endpoint, mailbox)
  local status = call:dial(endpoint, { timeout = 20, options = "tT" })
  if status == "BUSY" then
    return vm.deposit(call, mailbox, { greeting = "busy" })
  elseif status == "NOANSWER" then
    return vm.deposit(call, mailbox, { greeting = "unavail" })
  end
  call:hangup()
end

pbx.context "internal" {
  -- exten => 600,1,Playback(demo-echotest) / exten => 600,n,Echo
  ["600"] = apps.echo_test,
  -- exten => 100,1,Gosub(stdexten,s,1(SIP/amine,${EXTEN}))
  ["100"] = function(call) stdexten(call, "amine", "100") end,
  -- exten=9,1,voicemailmain()
  ["9"] = function(call) vm.main(call) end,
  -- exten => 900,1,Dial(SIP/trunk_A_vers_B/${EXTEN})
  ["900"] = function(call, exten)
    -- 60 s: B rings its phone 20 s, then answers with its voicemail
    call:dial { trunk = "trunk_A_vers_B", number = exten, timeout = 60,
                options = "tT" }
  end,
}
