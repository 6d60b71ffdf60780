#!/usr/bin/env python3
# Real audio through the PBX: two baresip phones register (alice 700 Hz,
# bob 1100 Hz); alice calls 202 (bob, PCMA only, auto answer), 4 s of audio,
# alice hangs up.  Each side must receive the other's tone: RTP crossed the
# PBX both ways, transcoded between PCMU (alice) and PCMA (bob).
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(40)           # 127.0.0.140-149
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>' }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal", callerid = '"Bob" <202>', allow = { "PCMA" } }
pbx.context "internal" {
  ["201"] = function(call) call:dial("alice", { timeout = 20 }) end,
  ["202"] = function(call) local st, code = call:dial("bob", { timeout = 5 }) pbx.log("info", "dial status " .. st) end,
  ["_3XX"] = function(call, exten) call:answer() pbx.sleep(1000) call:hangup() end,
  ["500"] = function(call) error("boom") end,
}
""" % net.pbx_rtp
A_HZ, B_HZ = 700, 1100

with Tap(timeout=90) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started (%s)" % pbx.sip)
    alice = Phone("alice", net.ip(1), registrar=pbx.sip, password="alicepw",
                  rtp_ports=net.phone_rtp(0), tone_hz=A_HZ, limit=80)
    bob = Phone("bob", net.ip(2), registrar=pbx.sip, password="bobpw",
                rtp_ports=net.phone_rtp(1), tone_hz=B_HZ, limit=80)
    t.ok(alice.registered(10), "alice (baresip) registers", diag=alice.reginfo)
    t.ok(bob.registered(10), "bob (baresip) registers", diag=bob.reginfo)

    mark = pbx.log_mark()
    r = alice.dial("sip:202@%s" % pbx.sip)
    t.ok(r and r.get("ok"), "alice dials 202", diag=lambda: repr(r))
    ea = alice.wait_event("CALL_ESTABLISHED", 10)
    eb = bob.wait_event("CALL_ESTABLISHED", 5)
    t.ok(eb, "bob's phone is called and auto-answers",
         diag=lambda: "bob events: %s" % bob.event_types())
    t.ok(ea, "alice's call is established",
         diag=lambda: "alice events: %s" % alice.event_types())
    if ea and eb:
        time.sleep(4)
    alice.hangup()
    cb = bob.wait_event("CALL_CLOSED", 10)
    t.ok(cb, "alice hangs up: bob's leg is closed too (%s)" % (cb and cb.get("param")))
    t.ok(alice.wait_event("CALL_CLOSED", 5), "alice's call is closed")

    ra, rb = alice.wait_recording(), bob.wait_recording()
    t.ok(ra and rb, "both phones recorded the call",
         diag=lambda: "alice: %s\nbob: %s" % (alice.recordings(), bob.recordings()))
    if ra and rb:
        fa, ratio_a, ia = dominant_tone(ra["dec"], [A_HZ, B_HZ])
        fb, ratio_b, ib = dominant_tone(rb["dec"], [A_HZ, B_HZ])
        t.is_(fa, B_HZ, "alice received bob's %d Hz tone (ratio %.0f)" % (B_HZ, ratio_a), diag=repr(ia))
        t.is_(fb, A_HZ, "bob received alice's %d Hz tone (ratio %.0f)" % (A_HZ, ratio_b), diag=repr(ib))
        da, db = tone_duration(ra["dec"], B_HZ), tone_duration(rb["dec"], A_HZ)
        t.ok(da >= 3.0, "... for %.1f s of the ~4 s call at alice" % da)
        t.ok(db >= 3.0, "... for %.1f s of the ~4 s call at bob" % db)
    else:
        for name in ("alice received bob's tone", "bob received alice's tone",
                     "tone duration at alice", "tone duration at bob"):
            t.ok(False, name)
    t.like(bob.log_text(), r"Set audio encoder: PCMA", "bob's leg uses PCMA (his only codec)")
    t.like(alice.log_text(), r"Set audio encoder: PCMU", "alice's leg uses PCMU (her first choice)")
    t.like(pbx.log_since(mark), r"202|alice|bob", "the PBX log mentions the call")
    st = pbx.wait_log(r"dial status (\w+)", 3, since=mark)
    t.ok(st, "call:dial returned after the bridged call ended (dial status %s logged)"
         % (st and st.group(1)), diag=lambda: tail(pbx.log_since(mark), 15))

    for ph in (alice, bob):
        ph.stop()
    pbx.finish(t)
