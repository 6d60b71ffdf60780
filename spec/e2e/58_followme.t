#!/usr/bin/env python3
# FollowMe with real phones (baresip) on dialplans/default.lua: 6001
# (zoiper) rings, then its follow-me list: 100 (amine), then 900
# (chhinyleboss), 15 s each; the callee hears who calls and presses 1 to
# take the call, 2 to decline.  zoiper refuses each call (486: busy), so
# the follow-me starts at once.  Audio checked:
#   - xlite calls 6001: it hears "please hold", then music; amine answers,
#     hears the announcement and presses 2: the next number rings;
#     chhinyleboss presses 1: xlite and chhinyleboss talk
#   - amine does not answer within its 15 s: chhinyleboss, who takes it
#   - both decline: the dialplan goes on to 6001's voicemail (the busy
#     greeting), whose prompt xlite hears
# After each, no call, no leg, and the PBX's descriptors back.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.audio import SILENCE_RMS, tone_runs  # noqa: E402

net = Net(58)
HZ = {"xlite": 604, "zoiper": 719, "amine": 1078, "chhinyleboss": 1700}   # between notes: the music

with open(os.path.join(ROOT, "dialplans", "default.lua")) as f:
    CONFIG = f.read()


with Tap(timeout=170) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ, limit=160, password=demo_password,
                            manual=[who for who in HZ if who != "xlite"])
    phones = lab.phones
    xlite, zoiper = phones["xlite"], phones["zoiper"]
    amine, chhiny = phones["amine"], phones["chhinyleboss"]
    rec = lab.recorder()

    def call_6001(mark):
        xlite.dial("sip:6001@%s" % pbx.sip)
        t.ok(zoiper.wait_event("CALL_INCOMING", 10), "xlite calls 6001: zoiper rings")
        zoiper.hangup()                      # baresip refuses: 486
        t.ok(pbx.wait_log(r"followme 6001: step 1", 10, since=mark),
             "zoiper is busy: the follow-me starts", diag=lambda: tail(pbx.log_since(mark), 20))
        t.ok(xlite.wait_event("CALL_ESTABLISHED", 5), "... xlite is answered (please hold)")

    def answer_and_key(ph, key, what):
        t.ok(ph.wait_event("CALL_INCOMING", 20), "%s rings" % what)
        time.sleep(1)
        ph.accept()
        t.ok(ph.wait_event("CALL_ESTABLISHED", 5), "%s answers" % what)
        time.sleep(4)                        # "incoming call from 6 0 0 2, press 1 ..."
        ph.send_dtmf(key)

    # -- 1. the first declines, the second takes it ---------------------------------------
    mark = pbx.log_mark()
    call_6001(mark)
    answer_and_key(amine, "2", "amine (100)")
    t.ok(amine.wait_event("CALL_CLOSED", 5), "amine presses 2: amine's call ends")
    answer_and_key(chhiny, "1", "then chhinyleboss (900)")
    t.ok(pbx.wait_log(r"followme 6001: leg \d+ takes the call", 5, since=mark),
         "chhinyleboss presses 1: the two are put through")
    time.sleep(3)
    t.ok(lab.hang(xlite, chhiny), "xlite hangs up, chhinyleboss's call ends")
    rx, ra, rc = rec("xlite"), rec("amine"), rec("chhinyleboss")
    h = rx and lab.heard(rx, "chhinyleboss")
    t.ok(h and h[0] > 10 and rms(rx, 4, h[0] - 1) > 2 * SILENCE_RMS,
         "xlite hears music (no tone) while the list is tried, then chhinyleboss",
         diag=lambda: repr(h))
    # after the answer (the music before it has notes of every pitch)
    late = [r for w in ("amine", "zoiper") for r in (tone_runs(rx, HZ[w]) if rx else [])
            if h and r[0] >= h[0] and r[1] >= 0.3]
    t.ok(h and not late, "... and never amine or zoiper", diag=lambda: repr(late))
    t.ok(ra and rms(ra, 0.3, 3) > 2 * SILENCE_RMS and not lab.heard(ra, "xlite"),
         "amine heard the announcement, never xlite")
    c = rc and lab.heard(rc, "xlite")
    t.ok(c and c[0] > 3 and rms(rc, 0.3, 3) > 2 * SILENCE_RMS,
         "chhinyleboss heard the announcement, then xlite", diag=lambda: repr(c))
    lab.leftovers("decline, then accept")

    # -- 2. no answer in 15 s: the next step -------------------------------------------------
    mark = pbx.log_mark()
    call_6001(mark)
    t.ok(amine.wait_event("CALL_INCOMING", 10), "amine (100) rings and is left ringing")
    t.ok(amine.wait_event("CALL_CLOSED", 20), "... 15 s later it stops")
    answer_and_key(chhiny, "1", "chhinyleboss (900)")
    t.ok(pbx.wait_log(r"followme 6001: leg \d+ takes the call", 5, since=mark),
         "chhinyleboss takes the call")
    time.sleep(3)
    t.ok(lab.hang(chhiny, xlite), "chhinyleboss hangs up, xlite's call ends")
    rx, rc = rec("xlite"), rec("chhinyleboss")
    h = rx and lab.heard(rx, "chhinyleboss")
    t.ok(h and h[0] > 15, "xlite hears chhinyleboss after the first step's 15 s",
         diag=lambda: repr(h))
    lab.leftovers("no answer, then accept")

    # -- 3. both decline: voicemail -------------------------------------------------------------
    mark = pbx.log_mark()
    call_6001(mark)
    answer_and_key(amine, "2", "amine")
    amine.wait_event("CALL_CLOSED", 5)
    answer_and_key(chhiny, "2", "chhinyleboss")
    t.ok(chhiny.wait_event("CALL_CLOSED", 5), "both press 2")
    t.ok(pbx.wait_log(r"followme 6001: nobody took the call", 5, since=mark),
         "the follow-me gives up")
    t.ok(pbx.wait_log(r"voicemail 6001: recording a message", 15, since=mark),
         "... the dialplan goes on: 6001's voicemail", diag=lambda: tail(pbx.log_since(mark), 20))
    time.sleep(4)
    xlite.hangup()
    xlite.wait_event("CALL_CLOSED", 5)
    rx = rec("xlite")
    rec("amine")
    rec("chhinyleboss")
    total = len(read_wav(rx)[0]) / 8000.0 if rx else 0
    t.ok(rx and rms(rx, total - 3.5, total - 0.5) > 2 * SILENCE_RMS,
         "xlite hears the voicemail greeting at the end")
    lab.leftovers("nobody takes it")

    for ph in phones.values():
        ph.stop()
    pbx.finish(t)
