-- The seed's server B ("peersipe", .154 in the lab): the phone
-- chhinyleboss (900), registered to server A as trunk_A_vers_B:azerty.
-- From B, 100 reaches amine on A over the trunk.  A's address comes from
-- the environment: SEED_A=ADDR:PORT (default 127.0.0.1:5060).
local pbx = require "lunapbx"
local apps = require "lunapbx.apps"
local vm = require "lunapbx.voicemail"

local A = os.getenv("SEED_A") or "127.0.0.1:5060"
local a_host, a_port = A:match("^%[?([^%]]-)%]?:(%d+)$")
if not a_host then a_host = A end   -- no port: 5060

pbx.settings { listen = "127.0.0.1:5070", rtp_ports = "15000-19999" }

-- sip.conf: register => trunk_A_vers_B:azerty@192.168.1.153
local hostport = a_host:find(":") and ("[" .. a_host .. "]") or a_host
if a_port then hostport = hostport .. ":" .. a_port end
pbx.register("trunk_A_vers_B:azerty@" .. hostport) { name = "trunk_A_vers_B" }

-- A as a peer (sip.conf: [A] type=peer host=... defaultuser=trunk_A_vers_B
-- secret=azerty insecure=invite context=internal): where 100 is sent, with
-- the trunk's credentials if A challenges; A's INVITEs land in internal.
pbx.peer "A" {
  host = a_host, port = a_port and tonumber(a_port), context = "internal",
  defaultuser = "trunk_A_vers_B", secret = "azerty", insecure = "invite",
  qualify = true,
}

-- sip.conf: [chhinyleboss] type=friend callerid="My name" <900>
--           host=dynamic secret=vitrygtr context=internal
pbx.endpoint "chhinyleboss" { secret = "vitrygtr", context = "internal",
                              callerid = '"Chhiny" <900>' }

-- voicemail.conf: 900=>900 (the PIN is the number), lighting chhinyleboss's lamp.
-- A caller from the other PBX reaches this mailbox through the trunk: the
-- call runs this side's 900, which falls back to voicemail here.
-- A second phone on B, the lab's Zoiper (from-internal: 6000 => SIP/Zoiper),
-- so that a phone of B can transfer a call from A to another phone of B.
pbx.endpoint "zoiper" { secret = "vitrygtr", context = "internal",
                        callerid = '"Zoiper" <6000>' }

-- features.conf: blindxfer => #1, atxfer => *2 (Dial's tT options below)
pbx.features { blindxfer = "#1", atxfer = "*2" }

vm.mailbox "900" { pin = "900", email = "root@localhost", endpoints = { "chhinyleboss" } }
vm.mailbox "6000" { pin = "6000", email = "root@localhost", endpoints = { "zoiper" } }

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
  -- exten => 900,1,Gosub(stdexten,s,1(SIP/chhinyleboss,${EXTEN}))
  ["900"] = function(call) stdexten(call, "chhinyleboss", "900") end,
  ["6000"] = function(call) stdexten(call, "zoiper", "6000") end,
  -- exten=9,1,voicemailmain()
  ["9"] = function(call) vm.main(call) end,
  -- the seed's exten => 100,1,Dial(SIP/amine): amine lives on A
  ["100"] = function(call, exten)
    -- 60 s: A rings its phone 20 s, then answers with its voicemail
    call:dial { trunk = "A", number = exten, timeout = 60, options = "tT" }
  end,
}
