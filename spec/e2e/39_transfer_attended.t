#!/usr/bin/env python3
# Attended transfer by keys (*2 + number), with real phones (baresip) and a
# sipp callee that is busy; the audio of every bridge that results checked.
#   - complete: bob keys *2 203, talks to carol, hangs up: alice and carol talk
#   - abort: *1 ends the consultation, carol's leg goes, alice and bob talk
#   - no answer (the target rings atxfernoanswertimeout = 4 s): back together
#   - busy target (486): back together
#   - the transferer hangs up while the target rings: alice hears the ringing
#     and talks to erin once she answers
#   - the transferee hangs up during the consultation: bob and carol talk on
# After each scenario nothing is left (calls, legs, file descriptors).
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(39)
HZ = {"alice": 500, "bob": 800, "carol": 1250, "erin": 1700}

CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.features { atxfer = "*2", atxferabort = "*1", atxfernoanswertimeout = 4 }
local function phone(t) t.context = "internal"; return t end
pbx.endpoint "alice" (phone { secret = "alicepw", callerid = '"Alice" <201>' })
pbx.endpoint "bob"   (phone { secret = "bobpw",   callerid = '"Bob" <202>' })
pbx.endpoint "carol" (phone { secret = "carolpw", callerid = '"Carol" <203>' })
pbx.endpoint "erin"  (phone { secret = "erinpw",  callerid = '"Erin" <205>' })
pbx.endpoint "frank" (phone { secret = "frankpw", callerid = '"Frank" <206>' })
local names = { ["201"] = "alice", ["202"] = "bob", ["203"] = "carol",
                ["205"] = "erin", ["206"] = "frank" }
pbx.context "internal" {
  ["_20X"] = function(call, exten)
    local st = call:dial(names[exten], { timeout = 20, options = "tT" })
    pbx.log("info", "dial %%s from %%s: %%s", exten, call.caller, st)
  end,
}
""" % net.pbx_rtp


with Tap(timeout=280) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ, manual=("erin",))
    phones = lab.phones
    frank = "%s:5062" % net.ip(6)
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=frank, remote=pbx.sip, keys={"user": "frank"}, auth=("frank", "frankpw"),
             timeout=10, name="register-frank").run()
    t.sipp_ok(r, "frank (sipp) registers")
    alice, bob, carol, erin = (phones[w] for w in ("alice", "bob", "carol", "erin"))
    t.ok(lab.settle_fds(carol, "202", bob), "a first call, carol to bob")
    n = {"alice": 0, "bob": 1, "carol": 1, "erin": 0}

    def rec(who):
        n[who] += 1
        return lab.last(phones[who], n[who])

    def talk(pairs, secs=1.0):
        """Until each (listener, speaker): the listener heard secs of the
        speaker's tone in the call it is in now (its next recording)."""
        for a, b in pairs:
            phones[a].listen(n[a] + 1).wait(HZ[b], secs, timeout=15)

    def start(what, secs=1.0):
        mark = pbx.log_mark()
        t.ok(lab.call(alice, "202", bob), "%s: alice calls 202, bob answers" % what)
        talk([("alice", "bob"), ("bob", "alice")], secs)
        return mark

    # -- 1. complete: bob hangs up after talking to carol ------------------------------------
    mark = start("complete")
    bob.send_dtmf("*2203")
    t.ok(carol.wait_event("CALL_ESTABLISHED", 15), "bob keys *2 203: carol answers",
         diag=lambda: lab.pbx.log_since(mark)[-3000:])
    talk([("bob", "carol"), ("carol", "bob")])
    lab.hang(bob)
    time.sleep(3)
    t.ok(not alice.wait_event("CALL_CLOSED", 0.2) and not carol.wait_event("CALL_CLOSED", 0.2),
         "bob hangs up: alice and carol are still in their calls")
    t.like(pbx.log_since(mark), r"transfer done: leg \d+ with leg \d+", "... transfer done")
    t.ok(lab.hang(alice, carol), "alice hangs up: carol's leg ends")
    ra, rb, rc = rec("alice"), rec("bob"), rec("carol")
    lab.order(ra and ra["dec"], "bob", "carol", "alice")
    lab.order(rc and rc["dec"], "bob", "alice", "carol")
    lab.order(rb and rb["dec"], "alice", "carol", "bob")
    lab.only(ra and ra["dec"], "carol", [], "alice after the transfer")
    lab.leftovers("complete")

    # -- 2. abort: *1 --------------------------------------------------------------------
    mark = start("abort")
    bob.send_dtmf("*2203")
    t.ok(carol.wait_event("CALL_ESTABLISHED", 15), "bob keys *2 203: carol answers")
    talk([("bob", "carol")])
    bob.send_dtmf("*1")
    t.ok(carol.wait_event("CALL_CLOSED", 8), "bob keys *1: carol's leg ends")
    time.sleep(3)
    t.ok(not alice.wait_event("CALL_CLOSED", 0.2), "... alice is still there")
    lab.hang(bob, alice)
    ra, rb, rc = rec("alice"), rec("bob"), rec("carol")
    lab.only(ra and ra["dec"], "bob", ["carol"], "alice (abort)")
    a_in_b, c_in_b = (rb and lab.heard(rb["dec"], "alice")), (rb and lab.heard(rb["dec"], "carol"))
    t.ok(a_in_b and c_in_b and a_in_b[0] < c_in_b[0] and a_in_b[1] > c_in_b[1],
         "bob hears alice, carol, then alice again",
         diag=lambda: "alice %s carol %s" % (a_in_b, c_in_b))
    lab.leftovers("abort")

    # -- 3. no answer ----------------------------------------------------------------------
    mark = start("no answer", secs=2.0)     # bob must hear 3 s of alice in all
    bob.send_dtmf("*2205")
    t.ok(erin.wait_event("CALL_INCOMING", 10) or "erin" in console_exec(pbx, "legs()").out,
         "bob keys *2 205: erin's phone rings (she does not answer)")
    t.ok(erin.wait_event("CALL_CLOSED", 10), "... after 4 s the ringing stops")
    time.sleep(3)
    t.ok(not alice.wait_event("CALL_CLOSED", 0.2) and not bob.wait_event("CALL_CLOSED", 0.2),
         "... alice and bob are still in their calls")
    lab.hang(alice, bob)
    ra, rb = rec("alice"), rec("bob")
    a = rb and lab.heard(rb["dec"], "alice")
    t.ok(a and a[2] >= 3.0, "bob hears alice again after (%.1f s of her tone)"
         % (a[2] if a else 0))
    lab.only(ra and ra["dec"], "bob", ["erin"], "alice (no answer)")
    lab.leftovers("no answer")

    # -- 4. busy ---------------------------------------------------------------------------
    busy = Sipp("uas_reject.xml", local=frank, template={"code": 486, "reason": "Busy Here"},
                timeout=30, name="frank-busy").start()
    mark = start("busy")
    bob.send_dtmf("*2206")
    t.sipp_ok(busy.wait(timeout=15), "bob keys *2 206: frank's phone answers 486")
    time.sleep(3)
    t.ok(not alice.wait_event("CALL_CLOSED", 0.2) and not bob.wait_event("CALL_CLOSED", 0.2),
         "... alice and bob are back together")
    lab.hang(bob, alice)
    ra, rb = rec("alice"), rec("bob")
    lab.only(ra and ra["dec"], "bob", [], "alice (busy)")
    lab.leftovers("busy")

    # -- 5. the transferer hangs up while the target rings ----------------------------------
    mark = start("blond")
    bob.send_dtmf("*2205")
    t.ok(wait_until(lambda: "erin" in console_exec(pbx, "legs()").out, 10),
         "bob keys *2 205: erin's phone rings")
    time.sleep(1)
    lab.hang(bob)
    time.sleep(2)
    erin.accept()
    t.ok(erin.wait_event("CALL_ESTABLISHED", 10), "bob hangs up; erin answers")
    talk([("alice", "erin"), ("erin", "alice")])
    t.like(pbx.log_since(mark), r"transfer done while ringing", "... the transfer is done")
    lab.hang(erin, alice)
    ra, re_ = rec("alice"), rec("erin")
    lab.order(ra and ra["dec"], "bob", "erin", "alice (blond)")
    lab.only(re_ and re_["dec"], "alice", ["bob"], "erin (blond)")
    rec("bob")
    lab.leftovers("transferer hangs up while it rings")

    # -- 6. the transferee hangs up during the consultation ------------------------------
    mark = start("transferee leaves")
    bob.send_dtmf("*2203")
    t.ok(carol.wait_event("CALL_ESTABLISHED", 15), "bob keys *2 203: carol answers")
    time.sleep(1)
    lab.hang(alice)
    time.sleep(3)
    t.ok(not carol.wait_event("CALL_CLOSED", 0.2) and not bob.wait_event("CALL_CLOSED", 0.2),
         "alice hangs up: bob and carol still talk")
    t.ok(lab.hang(bob, carol), "bob hangs up: carol's leg ends (nobody to give her to)")
    rb, rc = rec("bob"), rec("carol")
    rec("alice")
    c = rb and lab.heard(rb["dec"], "carol")
    t.ok(c and c[2] >= 3.0, "bob hears carol to the end (%.1f s)" % (c[2] if c else 0))
    lab.leftovers("transferee leaves")

    lab.stop()
    pbx.finish(t)
