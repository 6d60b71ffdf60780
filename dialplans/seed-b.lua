-- The seed's server B ("peersipe", .154 in the lab): the phone
-- chhinyleboss (900), registered to server A as trunk_A_vers_B:azerty.
-- From B, 100 reaches amine on A over the trunk.  A's address comes from
-- the environment: SEED_A=ADDR:PORT (default 127.0.0.1:5060).
local pbx = require "lunapbx"
local apps = require "lunapbx.apps"

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

pbx.context "internal" {
  -- exten => 600,1,Playback(demo-echotest) / exten => 600,n,Echo
  ["600"] = apps.echo_test,
  -- exten => 900,1,Dial(SIP/chhinyleboss)
  ["900"] = function(call) call:dial("chhinyleboss", { timeout = 20 }) end,
  -- the seed's exten => 100,1,Dial(SIP/amine): amine lives on A
  ["100"] = function(call, exten)
    call:dial { trunk = "A", number = exten, timeout = 20 }
  end,
}
