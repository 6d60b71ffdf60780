#!/usr/bin/env python3
# Hold with music (Asterisk's default): a phone's hold re-INVITE gives the
# other party the holding endpoint's music-on-hold class; resume gives it the
# phone again.  baresip phones, audio checked on the held side: alice's tone,
# then music (not alice), then alice again.  An endpoint with hold =
# "passthrough" passes the hold on instead (e2e 35).
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.audio import SILENCE_RMS, tone_runs  # noqa: E402

net = Net(37)
HZ = {"alice": 600, "bob": 1100}

CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>',
                       moh = "default" }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal", callerid = '"Bob" <202>' }
pbx.context "internal" {
  ["202"] = function(call) call:dial("bob", { timeout = 10 }) end,
}
""" % net.pbx_rtp


def gaps(wav, hz, min_gap=1.5):
    """The holes of at least min_gap s between the runs of hz in wav."""
    runs = [r for r in tone_runs(wav, hz) if r[1] >= 0.2]
    return [(a[0] + a[1], b[0]) for a, b in zip(runs, runs[1:]) if b[0] - (a[0] + a[1]) >= min_gap]


def rms(wav, start, end):
    samples, rate = read_wav(wav)
    part = samples[int(start * rate):int(end * rate)]
    return (sum(x * x for x in part) / len(part)) ** 0.5 if part else 0.0


with Tap(timeout=90) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    alice = Phone("alice", net.ip(1), registrar=pbx.sip, password="alicepw",
                  rtp_ports=net.phone_rtp(0), tone_hz=HZ["alice"], limit=80)
    bob = Phone("bob", net.ip(2), registrar=pbx.sip, password="bobpw",
                rtp_ports=net.phone_rtp(1), tone_hz=HZ["bob"], limit=80)
    t.ok(alice.registered(10) and bob.registered(10), "alice and bob (baresip) register")
    lab = PhoneLab(t, pbx, {"alice": alice, "bob": bob}, HZ)

    mark = pbx.log_mark()
    t.ok(lab.call(alice, "202", bob), "alice calls bob")
    time.sleep(2)
    r = alice.command("hold")
    t.ok(r is not None, "alice puts bob on hold (baresip's hold: a=sendonly)", diag=repr(r))
    t.ok(pbx.wait_log(r"bridge \d+: on hold", 5, since=mark), "the PBX sees the hold")
    time.sleep(4)
    t.like(console_exec(pbx, "legs()").out, r"answered \(holds\)", "legs(): alice's leg holds")
    r = alice.command("resume")
    t.ok(r is not None, "alice resumes (a=sendrecv)", diag=repr(r))
    time.sleep(3)
    t.ok(lab.hang(alice, bob), "alice hangs up, bob's leg ends")
    rb = bob.wait_recording(1)
    holes = gaps(rb["dec"], HZ["alice"]) if rb else []
    t.ok(len(holes) == 1 and 3.0 <= holes[0][1] - holes[0][0] <= 6.0,
         "bob hears alice, then not for the hold (%s), then alice again" % holes,
         diag=lambda: repr(tone_runs(rb["dec"], HZ["alice"])) if rb else "no recording")
    if holes:
        a, b = holes[0]
        level = rms(rb["dec"], a + 0.5, b - 0.5)
        t.ok(level > 2 * SILENCE_RMS, "... and during the hold he hears music (RMS %.0f)" % level)
    lab.leftovers("hold")

    alice.stop()
    bob.stop()
    pbx.finish(t)
