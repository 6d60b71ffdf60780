#!/usr/bin/env python3
# A waiting caller's announcements, heard by real phones (baresip).  The
# queue's member never registers, so callers wait; its music is a 400 Hz
# tone and its prompts are tones too (queue_youarenext 1200 Hz,
# queue_thereare 900 Hz, queue_thankyou 1600 Hz, periodic_announce
# 2000 Hz), so a recording says exactly when each was heard:
#   announce_frequency = 10: the position on joining, again 10 s later;
#   periodic_announce_frequency = 7: at 7 and 14 s from joining;
#   music between them, not under them;
#   min_announce_frequency = 3: a second caller hears "caller number 2"
#   on joining; once the first hangs up it is first in line and hears so
#   3 s after its last announcement (not 10);
#   announce_holdtime = "once": with no call answered yet nothing is said;
#   after one answered (bob, the member of "ht", answers after 5 s) a
#   caller hears the hold time (queue_holdtime 1400 Hz, "less than 1
#   minute") after its position on joining, and not in the next one.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest import queues  # noqa: E402
from lunatest.audio import tone_runs, tone_spans  # noqa: E402
from lunatest.proc import workdir  # noqa: E402
from lunatest.queuesounds import sounds_dir  # noqa: E402

net = Net(29)
HZ = {"alice": 700, "bob": 1100}
MOH, NEXT, THERE, THANKS, PERIODIC, HOLD = 400, 1200, 900, 1600, 2000, 1400
SOUNDS = sounds_dir(workdir("sounds"), {
    "test-next": (NEXT, 0.6), "test-there": (THERE, 0.6), "test-thanks": (THANKS, 0.4),
    "test-periodic": (PERIODIC, 1.0), "test-hold": (HOLD, 0.6)}, moh=("tone", MOH))

CONFIG = """
local pbx = require "lunapbx"
local queue = require "lunapbx.queue"
pbx.settings { listen = "%(pbx)s:5070", rtp_ports = "%(rtp)s", sounds = "%(sounds)s" }
for _, who in ipairs { "alice", "bob", "ghost" } do
  pbx.endpoint(who) { secret = who .. "pw", context = "q" }
end
queue.define "wait" {
  members = { "ghost" },                    -- never registered: callers wait
  musicclass = "tone",
  announce_frequency = 10, min_announce_frequency = 3,
  periodic_announce = "test-periodic", periodic_announce_frequency = 7,
  queue_youarenext = "test-next", queue_thereare = "test-there",
  queue_thankyou = "test-thanks",
}
queue.define "ht" {
  members = { "bob" }, musicclass = "tone", timeout = 20,
  announce_frequency = 4, min_announce_frequency = 4, announce_holdtime = "once",
  queue_youarenext = "test-next", queue_thankyou = "test-thanks", queue_holdtime = "test-hold",
}
pbx.context "q" {
  ["500"] = function(call)
    local status = queue.join(call, "wait")
    pbx.log("info", "QUEUESTATUS %%s", status)
    call:hangup()
  end,
  ["501"] = function(call) queue.join(call, "ht") call:hangup() end,
}
""" % {"pbx": net.ip(0), "rtp": net.pbx_rtp, "sounds": SOUNDS}


def starts(wav, hz):
    """The start of each stretch of hz (see tone_spans)."""
    return [s for s, _ in tone_spans(wav, hz)]


def overlap(runs, lo, hi):
    """Seconds of the (start, length) runs between lo and hi."""
    return sum(max(0.0, min(s + n, hi) - max(s, lo)) for s, n in runs)


def near(got, want, tol=0.6):
    return len(got) == len(want) and all(abs(g - w) <= tol for g, w in zip(got, want))


with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ, manual=("bob",))
    alice, bob = lab.phones["alice"], lab.phones["bob"]
    rec = lab.recorder()

    # -- one caller, 18 s in line ---------------------------------------------------
    alice.dial("sip:500@%s" % pbx.sip)
    t.ok(alice.wait_event("CALL_ESTABLISHED", 10), "alice calls the queue: answered, in line")
    time.sleep(18)
    t.ok(lab.hang(alice), "alice hangs up after 18 s")
    wav = rec("alice")
    nxt, per = starts(wav, NEXT), starts(wav, PERIODIC)
    t.ok(wav and len(nxt) >= 1, "alice hears 'you are next' on joining (the first %s)"
         % (nxt[:1],), diag=repr(nxt))
    t0 = nxt[0] if nxt else 0.0
    t.ok(near([x - t0 for x in nxt], [0, 10]),
         "announce_frequency = 10: the position at 0 and 10 s, no more (%s)"
         % [round(x - t0, 2) for x in nxt])
    t.ok(near([x - t0 for x in per], [7, 14]),
         "periodic_announce_frequency = 7: the periodic prompt at 7 and 14 s (%s)"
         % [round(x - t0, 2) for x in per])
    thanks = starts(wav, THANKS)
    t.ok(near(thanks, [x + 0.6 for x in nxt], 0.3),
         "each position announcement ends with 'thank you' (%s)" % thanks)
    music = tone_runs(wav, MOH)
    between = overlap(music, t0 + 1.2, t0 + 6.5)
    t.ok(between >= 4.5, "the music plays between the announcements (%.1f of 5.3 s at 1.2-6.5 s)"
         % between)
    under = [a for a in nxt + per if overlap(music, a + 0.1, a + 0.5) > 0.05]
    t.ok(not under, "... and not under them", diag=repr(under))
    t.ok(not starts(wav, THERE), "alone in line: never 'caller number'")

    # -- two callers: position 2, then first in line after min_announce_frequency ------
    alice.dial("sip:500@%s" % pbx.sip)
    alice.wait_event("CALL_ESTABLISHED", 10)
    time.sleep(2)
    bob.dial("sip:500@%s" % pbx.sip)
    t.ok(bob.wait_event("CALL_ESTABLISHED", 10), "bob calls the queue behind alice")
    time.sleep(1.5)
    t.is_(queues.stat(pbx, "wait", "waiting"), "2", "two callers wait")
    lab.hang(alice)
    time.sleep(4.5)
    t.ok(lab.hang(bob), "alice hangs up; bob, 4.5 s later")
    rec("alice")
    wav = rec("bob")
    there, nxt = starts(wav, THERE), starts(wav, NEXT)
    t.ok(len(there) == 1, "bob hears 'you are caller number 2' on joining (%s)" % there)
    rel = [round(x - there[0], 2) for x in nxt] if there else nxt
    t.ok(len(there) == 1 and near(rel, [3.0], 0.5),
         "bob first in line: 'you are next' 3 s after (min_announce_frequency), not 10 (%s)"
         % rel)
    t.ok(not starts(wav, PERIODIC), "bob's 7 s did not come: no periodic prompt")

    # -- the hold time, once, after a first answered call ---------------------------------
    alice.dial("sip:501@%s" % pbx.sip)
    alice.wait_event("CALL_ESTABLISHED", 10)
    t.ok(bob.wait_event("CALL_INCOMING", 10), "alice calls ht: bob rings at once")
    time.sleep(5)
    bob.accept()
    t.ok(bob.wait_event("CALL_ESTABLISHED", 10), "... and answers 5 s later")
    time.sleep(1)
    lab.hang(alice, bob)
    wav = rec("alice")
    rec("bob")
    t.ok(wav and not starts(wav, HOLD), "no call answered before: no hold time said")
    console_exec(pbx, "return require('lunapbx.queue').pause('bob')")
    time.sleep(1.1)
    alice.dial("sip:501@%s" % pbx.sip)
    alice.wait_event("CALL_ESTABLISHED", 10)
    time.sleep(7)
    lab.hang(alice)
    wav = rec("alice")
    nxt, hold = starts(wav, NEXT), starts(wav, HOLD)
    t.ok(near(nxt, [0, 4]), "bob paused: alice waits, 'you are next' at 0 and 4 s (%s)" % nxt)
    t.ok(nxt and near(hold, [nxt[0] + 0.6], 0.3),
         "... the hold time right after the first (%s), once: not after the second" % hold)
    console_exec(pbx, "return require('lunapbx.queue').unpause('bob')")
    t.is_(queues.stat(pbx, "ht", "answered"), "1", "ht: one call answered")
    t.is_(queues.stat(pbx, "wait", "waiting"), "0", "nobody left in line")
    t.ok(lab.empty(), "nothing left (calls, legs, bridges)")
    lab.stop()
