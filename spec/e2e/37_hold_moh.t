#!/usr/bin/env python3
# Hold with music (Asterisk's default): a phone's hold re-INVITE gives the
# other party the holding endpoint's music-on-hold class; resume gives it the
# phone again.  baresip phones, audio checked on the held side: alice's tone,
# then music (not alice), then alice again.  An endpoint with hold =
# "passthrough" passes the hold on instead (e2e 35).
# Then the README's "consultation by hand" (extension 0, with bob as the
# operator): alice hears music while bob's phone rings, bob hears alice's
# number, then they talk.
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
  ["0"] = function(call)
    local caller = call.leg
    caller:answer()
    caller:start_moh()
    local d = pbx.dial("bob", { timeout = 15 })         -- no caller: not bridged
    while true do
      local who, status, code, leg = pbx.wait(d, caller) -- whichever comes first
      if who == caller and status == "hangup" then d:cancel() return end
      if who == d then
        if status ~= "ANSWER" then return caller:play("number-unavail") end
        leg:say_digits(caller.caller or "")              -- to the operator only
        local br = pbx.bridge(caller, leg)               -- the music stops
        repeat local ev = br:wait() until ev == "hangup" or ev == nil
        return br:hangup()
      end
    end                                                  -- a key: wait on
  end,
}
""" % net.pbx_rtp


def gaps(wav, hz, min_gap=1.5):
    """The holes of at least min_gap s between the runs of hz in wav."""
    runs = [r for r in tone_runs(wav, hz) if r[1] >= 0.2]
    return [(a[0] + a[1], b[0]) for a, b in zip(runs, runs[1:]) if b[0] - (a[0] + a[1]) >= min_gap]


with Tap(timeout=90) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ, limit=80)
    alice, bob = lab.phones["alice"], lab.phones["bob"]

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
    # the recording holds what came: a hole shorter than the 4 s hold when
    # the music started late on a busy machine
    t.ok(len(holes) == 1 and 2.0 <= holes[0][1] - holes[0][0] <= 6.0,
         "bob hears alice, then not for the hold (%s), then alice again" % holes,
         diag=lambda: repr(tone_runs(rb["dec"], HZ["alice"])) if rb else "no recording")
    if holes:
        a, b = holes[0]
        level = rms(rb["dec"], a + 0.5, b - 0.5)
        t.ok(level > 2 * SILENCE_RMS, "... and during the hold he hears music (RMS %.0f)" % level)
    lab.leftovers("hold")

    # -- the README's consultation by hand -------------------------------------------
    bob.stop()
    bob = Phone("bob", net.ip(2), registrar=pbx.sip, password="bobpw",
                rtp_ports=net.phone_rtp(1), tone_hz=HZ["bob"], limit=60,
                answermode="manual", name="bob-manual")
    t.ok(bob.registered(10), "bob registers again, answering by hand")
    lab.phones["bob"] = bob
    alice.dial("sip:0@%s" % pbx.sip)
    t.ok(alice.wait_event("CALL_ESTABLISHED", 10), "alice calls 0: answered by the PBX (music)")
    t.ok(bob.wait_event("CALL_INCOMING", 10), "... bob's phone rings")
    time.sleep(3)
    bob.accept()
    t.ok(bob.wait_event("CALL_ESTABLISHED", 10), "bob answers")
    time.sleep(5)
    t.ok(lab.hang(bob, alice), "bob hangs up, alice's leg ends")
    ra, rb = alice.wait_recording(2), bob.wait_recording(1)
    b = ra and lab.heard(ra["dec"], "bob")
    t.ok(b and b[0] >= 2.0 and rms(ra["dec"], 0.5, b[0] - 0.5) > 2 * SILENCE_RMS,
         "alice hears music, then bob", diag=lambda: "bob at %s" % (b,))
    a = rb and lab.heard(rb["dec"], "alice")
    t.ok(a and a[0] >= 0.8 and rms(rb["dec"], 0.1, a[0] - 0.1) > 2 * SILENCE_RMS,
         "bob hears alice's number said, then alice", diag=lambda: "alice at %s" % (a,))
    lab.leftovers("consultation by hand")

    alice.stop()
    bob.stop()
    pbx.finish(t)
