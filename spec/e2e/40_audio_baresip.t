#!/usr/bin/env python3
# Real audio through the PBX: two baresip phones register (alice 700 Hz,
# bob 1100 Hz); alice calls 202 (bob, PCMA only, auto answer), 4 s of audio,
# alice hangs up.  Each side must receive the other's tone: RTP crossed the
# PBX both ways.  A second call, alice offering only PCMU, forces the PBX to
# transcode u-law <-> a-law; this time bob hangs up.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(40)         # 127.S.40.10-19
CONFIG = basic_config(net)
A_HZ, B_HZ = 700, 1100


def check_tones(t, ra, rb, what):
    """ra/rb: the recordings of alice and bob for one call."""
    if not (ra and rb):
        for name in ("alice received bob's tone", "bob received alice's tone",
                     "tone duration at alice", "tone duration at bob"):
            t.ok(False, "%s: %s" % (what, name))
        return
    fa, ratio_a, ia = dominant_tone(ra["dec"], [A_HZ, B_HZ])
    fb, ratio_b, ib = dominant_tone(rb["dec"], [A_HZ, B_HZ])
    t.is_(fa, B_HZ, "%s: alice received bob's %d Hz tone (ratio %.0f)" % (what, B_HZ, ratio_a),
          diag=repr(ia))
    t.is_(fb, A_HZ, "%s: bob received alice's %d Hz tone (ratio %.0f)" % (what, A_HZ, ratio_b),
          diag=repr(ib))
    da, db = tone_duration(ra["dec"], B_HZ), tone_duration(rb["dec"], A_HZ)
    t.ok(da >= 2.5, "%s: ... for %.1f s of the call at alice" % (what, da))
    t.ok(db >= 2.5, "%s: ... for %.1f s of the call at bob" % (what, db))


def codec_of(phone):
    """The last encoder baresip set up (it logs `Set audio encoder: PCMA 8000Hz 1ch`)."""
    m = re.findall(r"Set audio encoder: (\w+)", phone.log_text())
    return m[-1] if m else None


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

    # -- call 1: alice (PCMU, PCMA) -> 202 -> bob (PCMA only); alice hangs up --
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
    ra, rb = alice.wait_recording(1), bob.wait_recording(1)
    t.ok(ra and rb, "both phones recorded the call",
         diag=lambda: "alice: %s\nbob: %s" % (alice.recordings(), bob.recordings()))
    check_tones(t, ra, rb, "call 1")
    t.is_(codec_of(bob), "PCMA", "call 1: bob's leg uses PCMA (his only codec)")
    t.note("call 1: alice's leg uses %s (either law is a valid answer to her PCMU,PCMA offer)"
           % codec_of(alice))
    t.like(pbx.log_since(mark), r"202|alice|bob", "the PBX log mentions the call")
    st = pbx.wait_log(r"dial status (\w+)", 3, since=mark)
    t.ok(st, "call:dial returned after the bridged call ended (dial status %s logged)"
         % (st and st.group(1)), diag=lambda: tail(pbx.log_since(mark), 15))

    # -- call 2: alice offers PCMU only, so the PBX must transcode; bob hangs up --
    alice.stop()
    alice = Phone("alice", net.ip(1), registrar=pbx.sip, password="alicepw",
                  rtp_ports=net.phone_rtp(0), tone_hz=A_HZ, codecs="PCMU", limit=60,
                  name="alice-pcmu")
    t.ok(alice.registered(10), "alice re-registers, now offering only PCMU", diag=alice.reginfo)
    fresh_names()          # baresip names recordings by the second
    alice.dial("sip:202@%s" % pbx.sip)
    ea = alice.wait_event("CALL_ESTABLISHED", 10)
    eb = bob.wait_event("CALL_ESTABLISHED", 5)
    t.ok(ea and eb, "call 2 (PCMU -> PCMA) established",
         diag=lambda: "alice events: %s\nbob events: %s" % (alice.event_types(), bob.event_types()))
    if ea and eb:
        time.sleep(3)
    bob.hangup()
    ca = alice.wait_event("CALL_CLOSED", 10)
    t.ok(ca, "bob hangs up: alice's leg is closed too (%s)" % (ca and ca.get("param")))
    t.ok(bob.wait_event("CALL_CLOSED", 5), "bob's call is closed")
    ra, rb = alice.wait_recording(1), bob.wait_recording(2)
    t.ok(ra and rb and len(bob.recordings()) == 2, "both phones recorded call 2",
         diag=lambda: "alice: %s\nbob: %s" % (alice.recordings(), bob.recordings()))
    t.is_((codec_of(alice), codec_of(bob)), ("PCMU", "PCMA"),
          "call 2: alice's leg is PCMU, bob's is PCMA: the PBX transcodes")
    check_tones(t, ra, rb, "call 2 (transcoded)")

    for ph in (alice, bob):
        ph.stop()
    pbx.finish(t)
