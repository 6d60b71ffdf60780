#!/usr/bin/env python3
# What a queue's caller and agent hear around the answer, with real phones
# (baresip): the queue's music is a 600 Hz tone, its announce to the agent
# (queues.conf's `announce`) an 1800 Hz tone, the tone zone "fr" (ringback
# 440 Hz, 1.5 s on, 3.5 s off).
#   ringing (Queue()'s option r): alice hears the ringback tone at its
#     cadence while bob's phone rings, never the music; bob answers, hears
#     the announce, then alice; alice never hears the announce, and the
#     ringback goes on until the two are put through;
#   music: the same with music on hold: alice's music goes on until bob's
#     voice comes (the announce is bob's alone);
#   bob hangs up during the announce (AGENTDUMP): alice stays in line.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest import queues  # noqa: E402
from lunatest.audio import tone_spans as runs  # noqa: E402
from lunatest.proc import workdir  # noqa: E402
from lunatest.queuesounds import sounds_dir  # noqa: E402

net = Net(23)
HZ = {"alice": 700, "bob": 1100}
MOH, AGENT, RING = 600, 1800, 440
SOUNDS = sounds_dir(workdir("sounds"), {"test-agent": (AGENT, 1.5)}, moh=("tone", MOH))

CONFIG = """
local pbx = require "lunapbx"
local queue = require "lunapbx.queue"
pbx.settings { listen = "%(pbx)s:5070", rtp_ports = "%(rtp)s", sounds = "%(sounds)s",
               tonezone = "fr" }
for _, who in ipairs { "alice", "bob" } do
  pbx.endpoint(who) { secret = who .. "pw", context = "q" }
end
queue.define "help" { members = { "bob" }, musicclass = "tone", announce = "test-agent",
                      timeout = 20, retry = 1 }
pbx.context "q" {
  ["501"] = function(call)
    local status = queue.join(call, "help", { ringing = true })
    pbx.log("info", "QUEUESTATUS %%s", status)
    call:hangup()
  end,
  ["502"] = function(call)
    local status = queue.join(call, "help")
    pbx.log("info", "QUEUESTATUS %%s", status)
    call:hangup()
  end,
}
""" % {"pbx": net.ip(0), "rtp": net.pbx_rtp, "sounds": SOUNDS}


with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ, manual=("bob",))
    alice, bob = lab.phones["alice"], lab.phones["bob"]
    rec = lab.recorder()

    def call(exten, ring_s):
        alice.dial("sip:%s@%s" % (exten, pbx.sip))
        up = alice.wait_event("CALL_ESTABLISHED", 10)
        inc = bob.wait_event("CALL_INCOMING", 10)
        time.sleep(ring_s)
        if inc:
            bob.accept()
        est = bob.wait_event("CALL_ESTABLISHED", 10)
        time.sleep(4)
        lab.hang(alice, bob)
        return up and inc and est

    # -- ringing: the ringback tone while bob rings ------------------------------------
    t.ok(call("501", 8.5), "alice calls 501 (ringing); bob rings 8.5 s, answers")
    wa, wb = rec("alice"), rec("bob")
    ring, voice = runs(wa, RING), runs(wa, HZ["bob"])
    t.ok(len(ring) >= 2 and all(abs((e - s) - 1.5) < 0.25 for s, e in ring[:2])
         and abs((ring[1][0] - ring[0][0]) - 5.0) < 0.3,
         "alice hears the fr ringback: 440 Hz 1.5 s on, every 5 s (%s)" % ring[:3])
    t.ok(not runs(wa, MOH), "... never the music")
    t.ok(voice and ring and ring[-1][1] <= voice[0][0] + 0.3
         and voice[0][0] - ring[0][0] >= 8.5 + 1.5 - 0.5,
         "... until bob, put through after the announce, talks (bob from %s)"
         % (voice[0][0] - ring[0][0] if voice and ring else None))
    t.ok(not runs(wa, AGENT), "alice never hears the agent's announce")
    ann, heard_a = runs(wb, AGENT), runs(wb, HZ["alice"])
    t.ok(ann and abs((ann[0][1] - ann[0][0]) - 1.5) < 0.3 and ann[0][0] < 1.0,
         "bob hears the announce (1800 Hz, 1.5 s) as he answers (%s)" % ann)
    t.ok(ann and heard_a and heard_a[0][0] >= ann[0][1] - 0.3,
         "... then alice (%s)" % heard_a[:1])

    # -- music: the caller's music goes on through the announce ---------------------
    t.ok(call("502", 3), "alice calls 502 (music); bob rings 3 s, answers")
    wa, wb = rec("alice"), rec("bob")
    music, voice = runs(wa, MOH), runs(wa, HZ["bob"])
    t.ok(music and voice and music[0][0] < 0.5 and music[-1][1] <= voice[0][0] + 0.3
         and voice[0][0] - music[-1][1] < 0.6 and voice[0][0] >= 3 + 1.5 - 0.5,
         "alice hears music until bob's voice, 3 s of ringing and the announce later "
         "(music %s, bob from %s)" % (music[-1:], voice[:1]))
    t.ok(not runs(wa, AGENT) and not runs(wa, RING), "... never the announce, no ringback")
    ann = runs(wb, AGENT)
    t.ok(ann and runs(wb, HZ["alice"]) and runs(wb, HZ["alice"])[0][0] >= ann[0][1] - 0.3,
         "bob hears the announce, then alice (%s)" % ann)

    # -- bob hangs up during the announce: alice stays in line --------------------------
    mark = pbx.log_mark()
    alice.dial("sip:502@%s" % pbx.sip)
    alice.wait_event("CALL_ESTABLISHED", 10)
    t.ok(bob.wait_event("CALL_INCOMING", 10), "alice calls again; bob rings")
    bob.accept()
    bob.wait_event("CALL_ESTABLISHED", 10)
    time.sleep(0.5)
    bob.hangup()
    t.ok(bob.wait_event("CALL_CLOSED", 5), "bob hangs up during the announce")
    t.ok(bob.wait_event("CALL_INCOMING", 5), "... alice is still in line: bob rings again")
    t.ok(not alice.wait_event("CALL_CLOSED", 0.2), "... alice's call goes on")
    bob.accept()
    bob.wait_event("CALL_ESTABLISHED", 10)
    time.sleep(3)
    lab.hang(alice, bob)
    rows = [r["event"] for r in queues.log_rows(pbx, "help")]
    t.ok(rows.count("AGENTDUMP") == 1 and rows.count("CONNECT") == 3,
         "the queue log: one AGENTDUMP, three CONNECTs", diag=repr(rows))
    ok, st = queues.all_free(pbx, "help", free=("idle",))
    t.ok(ok, "bob idle again", diag=repr(st))
    t.ok(lab.empty(), "nothing left (calls, legs, bridges)")
    lab.stop()
