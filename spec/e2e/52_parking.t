#!/usr/bin/env python3
# Call parking with real phones (baresip) on dialplans/default.lua, whose
# lot is the seed's (700 parks, 701-720, 45 s, comebacktoorigin), plus a
# lot "short" of one space (750 parks at 751, 4 s) for the timeout and the
# full lot; the audio of every party checked:
#   - #1 700: chhinyleboss parks amine, hears the space said and leaves;
#     amine hears music; xlite dials 701 and talks with amine
#   - REFER to 700 (the phone's own transfer): the same, xlite retrieves
#   - parkcall (#72, Dial's k option): amine parked in one step; amine
#     hangs up while parked: the space is free, 701 says it is empty
#   - the time runs out: the parker's phone rings, it and amine talk again
#   - a full lot: the parker hears so and the two are back together; a
#     parked party (parked from a script, parking.park) hangs up: free
# After each, no call, no leg, and the PBX's descriptors back.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.audio import SILENCE_RMS, tone_runs  # noqa: E402

net = Net(52)
HZ = {"amine": 604, "chhinyleboss": 1078, "xlite": 1710}   # between notes: the music

with open(os.path.join(ROOT, "dialplans", "default.lua")) as f:
    DEFAULT = f.read()
# test-only additions: a small lot, Dial's k option, parking from a script
CONFIG = DEFAULT.replace('include = { "parkedcalls" },', """include = { "parkedcalls", "parkedcalls-short" },
  ["799"] = function(call) call:dial("chhinyleboss", { timeout = 20, options = "tTkK" }) end,
  ["798"] = function(call)
    call:answer()
    parking.park(call.leg, { lot = "short", parker = call.leg, announce = call.leg,
                             timeout = 60 })
  end,""") + """
parking.lot "short" { exten = "750", slots = "751-751", timeout = 4 }
"""
assert "parkedcalls-short" in CONFIG, "default.lua changed: the test cannot patch it"


with Tap(timeout=170) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ, limit=160, password=demo_password)
    phones = lab.phones
    amine, chhiny, xlite = phones["amine"], phones["chhinyleboss"], phones["xlite"]
    t.ok(lab.settle_fds(amine, "900", chhiny), "a first call: amine calls 900")
    rec = lab.recorder()

    def music_between(wav, first, then, what):
        """wav has first's tone (runs of 1 s or more: the music has short
        notes of every pitch), then music for 1.5 s or more, then
        then's tone (who may be first again)."""
        runs = sorted((a, a + b, w) for w in {first, then}
                      for a, b in (tone_runs(wav, HZ[w]) if wav else []) if b >= 1.0)
        hole = None
        for (a0, a1, wa), (b0, b1, wb) in zip(runs, runs[1:]):
            if wa == first and wb == then and b0 - a1 >= 1.5:
                hole = (a1, b0)
        level = rms(wav, hole[0] + 0.3, hole[1] - 0.3) if hole else 0
        t.ok(hole and level > 2 * SILENCE_RMS,
             "%s: hears %s, then music (RMS %.0f), then %s" % (what, first, level, then),
             diag=lambda: repr(runs))

    def said_after(wav, who, what):
        """Speech (no tone) in wav after who's tone: the space announced."""
        h = wav and lab.heard(wav, who)
        level = rms(wav, h[1] + 0.3, h[1] + 6) if h else 0
        t.ok(level > 2 * SILENCE_RMS, "%s: hears %s, then the space said (RMS %.0f)"
             % (what, who, level), diag=lambda: "%s at %s" % (who, h))

    def park_by_keys(keys):
        mark = pbx.log_mark()
        t.ok(lab.call(amine, "900", chhiny), "amine calls 900: chhinyleboss answers")
        time.sleep(2)
        chhiny.send_dtmf(keys)
        m = pbx.wait_log(r"leg \d+ parked at (\d+) \(lot (\w+)\)", 15, since=mark)
        t.ok(m, "chhinyleboss keys %s: amine is parked" % keys,
             diag=lambda: tail(pbx.log_since(mark), 30))
        return mark, m and m.group(1)

    # -- 1. #1 700, then 701 -------------------------------------------------------------
    mark, slot = park_by_keys("#1700")
    t.is_(slot, "701", "... at 701, the first free space")
    t.ok(chhiny.wait_event("CALL_CLOSED", 15), "... chhinyleboss hears the space and is hung up")
    t.like(console_exec(pbx, "return #calls(), #legs()").out, r"^1\s+1",
           "... one call left: amine's, in the lot")
    time.sleep(2)
    xlite.dial("sip:701@%s" % pbx.sip)
    t.ok(xlite.wait_event("CALL_ESTABLISHED", 10), "xlite dials 701: answered")
    t.ok(pbx.wait_log(r"call \d+ retrieves the call at 701", 5, since=mark),
         "... it retrieves amine's call")
    time.sleep(3)
    t.ok(lab.hang(xlite, amine), "xlite hangs up: amine's call ends")
    ra, rc, rx = rec("amine"), rec("chhinyleboss"), rec("xlite")
    music_between(ra, "chhinyleboss", "xlite", "amine (#1 700)")
    said_after(rc, "amine", "chhinyleboss")
    lab.only(rx, "amine", ["chhinyleboss"], "xlite (701)")
    lab.leftovers("#1 700")

    # -- 2. REFER to 700 -------------------------------------------------------------------
    mark = pbx.log_mark()
    t.ok(lab.call(amine, "900", chhiny), "amine calls 900 again")
    time.sleep(2)
    chhiny.command("transfer", "sip:700@%s" % pbx.sip)
    t.ok(pbx.wait_log(r"leg \d+ parked at 701", 10, since=mark),
         "chhinyleboss's phone transfers to 700 (REFER): amine parked at 701",
         diag=lambda: tail(pbx.log_since(mark), 30))
    t.ok(chhiny.wait_event("CALL_CLOSED", 10), "... chhinyleboss's phone leaves (NOTIFY 200)")
    time.sleep(2)
    xlite.dial("sip:701@%s" % pbx.sip)
    t.ok(xlite.wait_event("CALL_ESTABLISHED", 10), "xlite dials 701")
    time.sleep(3)
    t.ok(lab.hang(amine, xlite), "amine hangs up: xlite's call ends")
    ra, rc, rx = rec("amine"), rec("chhinyleboss"), rec("xlite")
    music_between(ra, "chhinyleboss", "xlite", "amine (REFER to 700)")
    lab.only(rx, "amine", ["chhinyleboss"], "xlite (701 after REFER)")
    lab.leftovers("REFER to 700")

    # -- 3. parkcall, then the parked party hangs up ------------------------------------
    mark = pbx.log_mark()
    t.ok(lab.call(amine, "799", chhiny), "amine calls 799 (Dial's k option): chhinyleboss")
    time.sleep(2)
    chhiny.send_dtmf("#72")
    t.ok(pbx.wait_log(r"leg \d+ parked at 701", 10, since=mark),
         "chhinyleboss keys #72 (parkcall): amine parked at 701",
         diag=lambda: tail(pbx.log_since(mark), 30))
    t.ok(chhiny.wait_event("CALL_CLOSED", 12), "... chhinyleboss hears the space, hung up")
    time.sleep(1)
    amine.hangup()
    t.ok(pbx.wait_log(r"the call at 701 hung up", 5, since=mark),
         "amine hangs up in the lot: the space is free")
    xlite.dial("sip:701@%s" % pbx.sip)
    t.ok(xlite.wait_event("CALL_ESTABLISHED", 10) and xlite.wait_event("CALL_CLOSED", 10),
         "xlite dials 701: told it is empty, hung up")
    amine.wait_event("CALL_CLOSED", 2)
    ra, rc, rx = rec("amine"), rec("chhinyleboss"), rec("xlite")
    said_after(rc, "amine", "chhinyleboss (parkcall)")
    h = ra and lab.heard(ra, "chhinyleboss")
    t.ok(h and rms(ra, h[1] + 1, h[1] + 3) > 2 * SILENCE_RMS,
         "amine hears music once parked", diag=lambda: repr(h))
    t.ok(rx and rms(rx, 0.2, 2.0) > 2 * SILENCE_RMS, "xlite hears the empty space said")
    lab.leftovers("parkcall")

    # -- 4. the time runs out: the parker rings again ------------------------------------
    mark, slot = park_by_keys("#1750")
    t.is_(slot, "751", "... in the short lot, at 751")
    t.ok(chhiny.wait_event("CALL_CLOSED", 12), "... chhinyleboss is hung up")
    t.ok(chhiny.wait_event("CALL_ESTABLISHED", 15),
         "4 s later chhinyleboss's phone rings and answers (comebacktoorigin)",
         diag=lambda: tail(pbx.log_since(mark), 20))
    t.like(pbx.log_since(mark), r"ringing the parker chhinyleboss back", "... the log says so")
    time.sleep(3)
    t.ok(lab.hang(chhiny, amine), "chhinyleboss hangs up: amine's call ends")
    ra, rc = rec("amine"), rec("chhinyleboss")
    rc2 = rec("chhinyleboss")
    music_between(ra, "chhinyleboss", "chhinyleboss", "amine (timeout)")
    lab.only(rc2, "amine", ["xlite"], "chhinyleboss called back")
    lab.leftovers("timeout")

    # -- 5. a full lot; a script parks; the parked party leaves ---------------------------
    mark = pbx.log_mark()
    xlite.dial("sip:798@%s" % pbx.sip)
    t.ok(xlite.wait_event("CALL_ESTABLISHED", 10) and
         pbx.wait_log(r"leg \d+ parked at 751", 10, since=mark),
         "xlite dials 798: parking.park() parks it at 751, the only space of the lot")
    t.ok(lab.call(amine, "900", chhiny), "amine calls 900")
    time.sleep(2)
    chhiny.send_dtmf("#1750")
    t.ok(pbx.wait_log(r"lot short is full", 10, since=mark), "chhinyleboss keys #1 750: full")
    time.sleep(5)
    t.ok(not chhiny.wait_event("CALL_CLOSED", 0.2) and not amine.wait_event("CALL_CLOSED", 0.2),
         "... amine and chhinyleboss are back together")
    time.sleep(2)
    t.ok(lab.hang(chhiny, amine), "chhinyleboss hangs up: amine's call ends")
    xlite.hangup()
    t.ok(pbx.wait_log(r"the call at 751 hung up", 5, since=mark) and
         xlite.wait_event("CALL_CLOSED", 5), "xlite hangs up in the lot: 751 is free")
    ra, rc, rx = rec("amine"), rec("chhinyleboss"), rec("xlite")
    h = rc and lab.heard(rc, "amine")
    t.ok(h and h[1] - h[0] > h[2] + 2, "chhinyleboss hears amine, the lot full said, amine again",
         diag=lambda: repr(h))
    a = ra and lab.heard(ra, "chhinyleboss")
    t.ok(a and a[1] - a[0] > 8, "amine hears chhinyleboss before and after", diag=lambda: repr(a))
    t.ok(rx and rms(rx, 0.2, 3.0) > 2 * SILENCE_RMS, "xlite hears its space said, then music")
    lab.leftovers("full lot")

    for ph in phones.values():
        ph.stop()
    pbx.finish(t)
