#!/usr/bin/env python3
# RTP timeout (pbx.settings rtp_timeout, Asterisk's rtptimeout): an answered
# call that sends no RTP is hung up after the timeout, with a log line; a
# call whose phones send RTP is not; a phone that holds the PBX is not hung
# up while it holds (rtp_hold_timeout 0: never).  sipp sends no RTP;
# baresip phones do.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(34)
HZ = {"alice": 600, "bob": 1100}

CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s", rtp_timeout = 3 }
for _, n in ipairs { "alice", "bob", "carol" } do
  pbx.endpoint(n) { secret = n .. "pw", context = "internal" }
end
pbx.context "internal" {
  ["202"] = function(call) call:dial("bob", { timeout = 10 }) end,
  ["301"] = function(call) call:answer() pbx.sleep(30) end,
}
""" % net.pbx_rtp

with Tap(timeout=90) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ)
    alice, bob = lab.phones["alice"], lab.phones["bob"]
    carol = "%s:5062" % net.ip(5)

    # -- a silent call: hung up after 3 s -----------------------------------------------
    mark = pbx.log_mark()
    t0 = time.time()
    r = Sipp("uac_wait_bye.xml", template={"media": SDP["pcmu"], "bye_within_ms": 9000},
             local=carol, media="%s:%d" % (net.ip(5), net.media_port(0)), remote=pbx.sip,
             service="301", keys={"user": "carol"}, auth=("carol", "carolpw"),
             timeout=20, name="silent").run()
    took = time.time() - t0
    t.sipp_ok(r, "carol (sipp, no RTP) calls 301: answered, then the PBX's BYE")
    t.ok(3 <= took <= 8, "... after the 3 s RTP timeout (%.1f s)" % took)
    t.like(pbx.log_since(mark), r"leg \d+: no RTP for 3 s: hung up", "... with a log line")

    # -- phones that talk, then one that holds ------------------------------------------
    mark = pbx.log_mark()
    t.ok(lab.call(alice, "202", bob), "alice calls bob (baresip: RTP both ways)")
    time.sleep(5)
    t.ok(not alice.wait_event("CALL_CLOSED", 0.2), "... still up after 5 s: RTP flows")
    alice.command("hold")
    t.ok(pbx.wait_log(r"bridge \d+: on hold", 5, since=mark), "alice holds")
    time.sleep(6)
    t.ok(not alice.wait_event("CALL_CLOSED", 0.2) and not bob.wait_event("CALL_CLOSED", 0.2),
         "... 6 s on hold: not hung up (rtp_hold_timeout 0)")
    alice.command("resume")
    time.sleep(2)
    t.ok(lab.hang(alice, bob), "alice resumes and hangs up")
    t.unlike(pbx.log_since(mark), r"no RTP for", "no leg of that call timed out")
    lab.leftovers("RTP timeout")

    lab.stop()
    pbx.finish(t)
