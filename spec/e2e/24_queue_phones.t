#!/usr/bin/env python3
# The seed lab's queues with real phones (baresip) on dialplans/default.lua
# as shipped: amine calls 7001 (support: xlite, bria, rrmemory); it hears
# music on hold while the agent's phone rings; xlite answers and each hears
# the other's tone.  The next call rings bria (rrmemory rotates); xlite
# pauses with *46 and is not rung; a caller hanging up while an agent rings
# is counted abandoned and leaves nobody stuck ringing; the queue log has
# the events; xlite transfers a caller to 6004 by REFER and is idle at
# once, the call counted once.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest import queues  # noqa: E402
from lunatest.audio import SILENCE_RMS  # noqa: E402

net = Net(24)
HZ = {"amine": 700, "xlite": 1500, "bria": 1100}


def rms(wav, start, end):
    samples, rate = read_wav(wav)
    part = samples[int(start * rate):int(end * rate)]
    return (sum(x * x for x in part) / len(part)) ** 0.5 if part else 0.0


with Tap(timeout=220) as t:
    t.require_pbx()
    with open(os.path.join(ROOT, "dialplans", "default.lua")) as f:
        config = f.read()
    pbx = Pbx(config, listen="%s:5070" % net.ip(0))
    amine = Phone("amine", net.ip(1), registrar=pbx.sip, password="test",
                  rtp_ports=net.phone_rtp(0), tone_hz=HZ["amine"], limit=210)
    xlite = Phone("xlite", net.ip(2), registrar=pbx.sip, password="vitrygtr",
                  rtp_ports=net.phone_rtp(1), tone_hz=HZ["xlite"], limit=210,
                  answermode="manual")
    bria = Phone("bria", net.ip(3), registrar=pbx.sip, password="vitrygtr",
                 rtp_ports=net.phone_rtp(2), tone_hz=HZ["bria"], limit=210,
                 answermode="manual")
    for ph in (amine, xlite, bria):
        t.ok(ph.registered(10), "%s (baresip) registers" % ph.name, diag=ph.reginfo)
    ok, st = queues.all_free(pbx, "support", free=("idle",))
    t.ok(ok and st == {"xlite": "idle", "bria": "idle"},
         "support's static members xlite and bria are idle", diag=repr(st))

    def call_in(agent, wait_s):
        """amine calls 7001; `agent` rings and answers after wait_s."""
        time.sleep(1.1)                      # recordings are named by the second
        amine.dial("sip:7001@%s" % pbx.sip)
        est = amine.wait_event("CALL_ESTABLISHED", 10)
        inc = agent.wait_event("CALL_INCOMING", 10)
        time.sleep(wait_s)
        if inc:
            agent.accept()
        up = agent.wait_event("CALL_ESTABLISHED", 10)
        return est, inc, up

    # -- 1: music while xlite rings, then the two talk --------------------------------
    mark = pbx.log_mark()
    est, inc, up = call_in(xlite, 4)
    t.ok(est, "7001 answers the caller (Queue)")
    t.ok(inc, "rrmemory rings xlite first (the first member listed)",
         diag=lambda: tail(pbx.log_since(mark), 15))
    t.ok(up, "xlite answers")
    t.ok(not bria.wait_event("CALL_INCOMING", 0.5), "... bria was not rung (one at a time)")
    time.sleep(4)
    amine.hangup()
    t.ok(amine.wait_event("CALL_CLOSED", 5) and xlite.wait_event("CALL_CLOSED", 5),
         "amine hangs up: xlite's call ends too")
    ra = amine.wait_recording(1, timeout=8)
    rx = xlite.wait_recording(1, timeout=8)
    h = ra and heard(ra["dec"], HZ["xlite"])
    t.ok(h and h[0] >= 3.0, "amine hears xlite's %d Hz once she answered (from %.1f s)"
         % (HZ["xlite"], h[0] if h else -1), diag=repr(h))
    if h:
        level = rms(ra["dec"], 0.5, h[0] - 0.5)
        t.ok(level > 2 * SILENCE_RMS and not heard(ra["dec"], HZ["bria"]),
             "... and music on hold before, while the agent rang (RMS %.0f)" % level)
    hx = rx and heard(rx["dec"], HZ["amine"])
    t.ok(hx and hx[2] >= 2.0, "xlite hears amine's %d Hz (%.1f s)"
         % (HZ["amine"], hx[2] if hx else 0), diag=repr(hx))
    ok, st = queues.all_free(pbx, "support", free=("idle",))
    t.ok(ok, "both agents idle again (no wrapup configured)", diag=repr(st))

    # -- 2: rrmemory rotates to bria ------------------------------------------------
    est, inc, up = call_in(bria, 1)
    t.ok(inc and up, "the next call rings bria (rrmemory goes on after xlite)")
    t.ok(not xlite.wait_event("CALL_INCOMING", 0.5), "... not xlite")
    time.sleep(2)
    bria.hangup()
    t.ok(amine.wait_event("CALL_CLOSED", 5), "bria hangs up (COMPLETEAGENT): amine's call ends")
    bria.wait_event("CALL_CLOSED", 5)
    rb = bria.wait_recording(1, timeout=8)
    hb = rb and heard(rb["dec"], HZ["amine"])
    t.ok(hb, "bria heard amine", diag=repr(hb))

    # -- 3: xlite pauses with *46, then is not rung --------------------------------------
    time.sleep(1.1)
    xlite.dial("sip:*46@%s" % pbx.sip)
    t.ok(xlite.wait_event("CALL_CLOSED", 10), "xlite dials *46: 'you are now paused', hung up")
    t.ok(queues.members(pbx, "support").get("xlite") == "paused", "xlite is paused")
    est, inc, up = call_in(bria, 1)
    t.ok(inc and up, "with xlite paused, the call rings bria again (rrmemory would pick xlite)")
    t.ok(not xlite.wait_event("CALL_INCOMING", 0.5), "... the paused xlite is not rung")
    amine.hangup()
    amine.wait_event("CALL_CLOSED", 5)
    bria.wait_event("CALL_CLOSED", 5)
    time.sleep(1.1)
    xlite.dial("sip:*46@%s" % pbx.sip)
    xlite.wait_event("CALL_CLOSED", 10)
    t.ok(queues.members(pbx, "support").get("xlite") == "idle", "*46 again: xlite unpaused")

    # -- 4: the caller hangs up while the agent rings: abandoned, nobody stuck ----------
    before = int(queues.stat(pbx, "support", "abandoned") or 0)
    time.sleep(1.1)
    amine.dial("sip:7001@%s" % pbx.sip)
    amine.wait_event("CALL_ESTABLISHED", 10)
    inc = xlite.wait_event("CALL_INCOMING", 10)
    t.ok(inc, "the next caller rings xlite")
    amine.hangup()
    amine.wait_event("CALL_CLOSED", 5)
    t.ok(xlite.wait_event("CALL_CLOSED", 5), "the caller hangs up: xlite stops ringing")
    t.ok(int(queues.stat(pbx, "support", "abandoned") or 0) == before + 1,
         "the abandoned call is counted")
    ok, st = queues.all_free(pbx, "support", free=("idle",))
    t.ok(ok, "no agent stuck ringing", diag=repr(st))

    # -- 5: the agent transfers the caller (REFER) to 6004: xlite is free at once ------
    queues_done = int(queues.stat(pbx, "support", "completed") or 0)
    console_exec(pbx, "return require('lunapbx.queue').pause('bria', { queue = 'support' })")
    est, inc, up = call_in(xlite, 1)
    t.ok(inc and up, "bria paused: the next call rings xlite, who answers")
    time.sleep(1.5)
    mark = pbx.log_mark()
    xlite.command("transfer", "sip:6004@%s" % pbx.sip)
    t.ok(bria.wait_event("CALL_INCOMING", 10), "xlite transfers the caller to 6004 (REFER):"
         " bria's phone rings", diag=lambda: tail(pbx.log_since(mark), 20))
    bria.accept()
    t.ok(bria.wait_event("CALL_ESTABLISHED", 10), "... bria answers")
    t.ok(xlite.wait_event("CALL_CLOSED", 12), "... xlite's call ends (the transferer leaves)")
    ok, st = queues.all_free(pbx, "support", free=("idle", "paused"))
    t.ok(ok and st.get("xlite") == "idle", "xlite is idle at once, not stuck talking",
         diag=repr(st))
    time.sleep(2)
    amine.hangup()
    amine.wait_event("CALL_CLOSED", 5)
    t.ok(bria.wait_event("CALL_CLOSED", 5), "amine hangs up: bria's call ends")
    rb = bria.wait_recording(len(bria.recordings()), timeout=8)
    hb = rb and heard(rb["dec"], HZ["amine"])
    t.ok(hb, "bria heard amine after the transfer", diag=repr(hb))
    t.is_(int(queues.stat(pbx, "support", "completed") or 0), queues_done + 1,
          "the transferred call is counted once")
    console_exec(pbx, "return require('lunapbx.queue').unpause('bria')")
    ok, st = queues.all_free(pbx, "support", free=("idle",))
    t.ok(ok, "both agents idle again", diag=repr(st))

    # -- the queue log ------------------------------------------------------------
    events = [r["event"] for r in queues.log_rows(pbx, "support")]
    for ev in ("ENTERQUEUE", "CONNECT", "COMPLETECALLER", "COMPLETEAGENT", "PAUSE",
               "UNPAUSE", "ABANDON", "RINGCANCELED"):
        t.ok(ev in events, "queue_log has %s" % ev, diag=repr(events))
    t.ok(events.count("ENTERQUEUE") == 5 and events.count("CONNECT") == 4,
         "5 callers entered, 4 connected", diag=repr(events))
    amine.stop()
    xlite.stop()
    bria.stop()
