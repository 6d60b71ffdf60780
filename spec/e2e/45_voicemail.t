#!/usr/bin/env python3
# Voicemail of dialplans/default.lua, as shipped, with four baresip phones
# and their audio checked.  amine and chhinyleboss log into mailbox 6002
# (9, mailbox #, PIN #) and record its unavailable greeting (amine's 400 Hz)
# and its busy greeting (chhinyleboss's 700 Hz) from the mailbox options.
# bria calls 6002 (xlite, which does not answer): after the lab's 20 s it
# hears the unavailable greeting, then leaves its 1300 Hz tone; it calls
# again and xlite refuses (486): it hears the busy greeting this time and
# leaves a second message.  xlite (mwi.so) gets message-summary NOTIFYs.
# xlite dials 9, logs in, presses 1: what it hears holds bria's tone; 9 2
# saves the first message to Work, 7 deletes the second: the counts follow
# (console and NOTIFY).  Three wrong PINs: the PBX hangs up.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.console import console_exec  # noqa: E402

net = Net(45)
UNAVAIL_HZ, BUSY_HZ, XLITE_HZ, BRIA_HZ = 400, 700, 1100, 1300


def mwi_events(phone):
    return [e for e in phone.events if e.get("type") == "MWI_NOTIFY"]


def wait_mwi(phone, pattern, timeout=8):
    rx = re.compile(pattern)
    return wait_until(lambda: any(rx.search(str(e.get("param", ""))) for e in mwi_events(phone)),
                      timeout)


with Tap(timeout=300) as t:
    t.require_pbx()
    with open(os.path.join(ROOT, "dialplans", "default.lua")) as f:
        config = f.read()
    pbx = Pbx(config, listen="%s:5070" % net.ip(0))
    vmdir = os.path.join(pbx.state_dir, "recordings", "voicemail", "6002")
    amine = Phone("amine", net.ip(1), registrar=pbx.sip, password="test",
                  rtp_ports=net.phone_rtp(0), tone_hz=UNAVAIL_HZ, limit=290)
    chhiny = Phone("chhinyleboss", net.ip(2), registrar=pbx.sip, password="vitrygtr",
                   rtp_ports=net.phone_rtp(1), tone_hz=BUSY_HZ, limit=290)
    # baresip 1.0's mwi.so loops for ever (SUBSCRIBE after SUBSCRIBE, its
    # memory growing) when the account registers before the module's 1 ms
    # start timer fires: a race inside baresip.  Loading it first makes it
    # rare; a phone caught in it is replaced by a fresh one.
    for attempt in range(3):
        xlite = Phone("xlite", net.ip(3), registrar=pbx.sip, password="vitrygtr",
                      rtp_ports=net.phone_rtp(2), tone_hz=XLITE_HZ, answermode="manual",
                      modules=("mwi.so",), limit=290, name="xlite-%d" % attempt)
        wait_until(lambda: "subscribing" in xlite.log_text(), 5)
        time.sleep(1.0)
        if xlite.log_text().count("mwi: subscribing") <= 2:
            break
        t.diag("baresip's mwi module is looping (its start-up race): a new xlite")
        xlite.stop()
    bria = Phone("bria", net.ip(4), registrar=pbx.sip, password="vitrygtr",
                 rtp_ports=net.phone_rtp(3), tone_hz=BRIA_HZ, limit=290)
    for ph in (amine, chhiny, xlite, bria):
        t.ok(ph.registered(10), "%s (baresip) registers" % ph.name, diag=ph.reginfo)

    # Keys are typed ahead: the PBX queues a call's digits until a prompt
    # or a collect takes them (a prompt ends at once on a queued key), so
    # the waits are for what the PBX logs, not for its prompts.
    def dial(phone, exten):
        phone.fresh_name()   # baresip names recordings by the second
        n = len(phone.recordings())
        phone.dial("sip:%s@%s" % (exten, pbx.sip))
        return n, phone.wait_event("CALL_ESTABLISHED", 30)

    def heard(phone, n):
        r = phone.wait_closed(n + 1, timeout=15)   # once baresip closed it
        return r["dec"] if r else None

    def skip_intro(n, hz):
        """Once bria heard the greeting (tone hz) to its end (then 1 s
        without it), # skips "leave your message after the tone"."""
        bria.listen(n + 1).wait(hz, 1.5, timeout=20, then_quiet=1.0)
        bria.send_dtmf("#")

    def login(phone, box="6002", pin="6002"):
        n, est = dial(phone, "9")
        phone.send_dtmf(box + "#" + pin + "#")
        return n, est

    # -- greetings recorded from the mailbox options ----------------------------------
    for phone, key, kind, hz in ((amine, "1", "unavail", UNAVAIL_HZ),
                                 (chhiny, "2", "busy", BUSY_HZ)):
        mark = pbx.log_mark()
        n, est = login(phone)
        t.ok(est and pbx.wait_log(r"voicemail 6002: logged in", 8, since=mark),
             "%s dials 9, keys 6002# and the PIN 6002#: logged in" % phone.name,
             diag=lambda: tail(pbx.log_since(mark), 15))
        phone.send_dtmf("0" + key)      # mailbox options, then 1 unavailable, 2 busy greeting
        ok = pbx.wait_log(r"voicemail 6002: recording the %s greeting" % kind, 10, since=mark)
        time.sleep(3.0)                 # its beep, then 2 s or more of tone
        phone.send_dtmf("#")
        t.ok(ok and pbx.wait_log(r"voicemail 6002: %s greeting recorded" % kind, 8, since=mark),
             "0 then %s: the %s greeting is recorded, # ends it" % (key, kind),
             diag=lambda: tail(pbx.log_since(mark), 15))
        phone.hangup()
        phone.wait_event("CALL_CLOSED", 5)
        path = os.path.join(vmdir, "greet-%s.wav" % kind)
        d = tone_duration(path, hz) if os.path.exists(path) else 0
        t.ok(d >= 1.5, "greet-%s.wav holds %s's %d Hz tone (%.1f s)" % (kind, phone.name, hz, d))

    # -- no answer: the unavailable greeting, then a message ---------------------------------
    mark = pbx.log_mark()
    n, est = dial(bria, "6002")
    t.ok(xlite.wait_event("CALL_INCOMING", 5), "bria calls 6002: xlite rings (and does not"
         " answer)")
    t.ok(est, "after the lab's 20 s, voicemail answers bria")
    skip_intro(n, UNAVAIL_HZ)
    ok = pbx.wait_log(r"voicemail 6002: recording a message from 6004", 20, since=mark)
    t.ok(ok, "the greeting, # (skips \"leave your message\"), the beep, then the recording",
         diag=lambda: tail(pbx.log_since(mark), 20))
    time.sleep(3.0)
    bria.hangup()
    bria.wait_event("CALL_CLOSED", 5)
    m = pbx.wait_log(r"voicemail 6002: message (\d+) from 6004, ([0-9.]+) s", 5, since=mark)
    t.ok(m and 2.0 <= float(m.group(2)) <= 4.5, "bria hangs up: message %s kept, %s s"
         % (m and m.group(1), m and m.group(2)), diag=lambda: tail(pbx.log_since(mark), 10))
    dec = heard(bria, n)
    u = tone_duration(dec, UNAVAIL_HZ) if dec else 0
    b = tone_duration(dec, BUSY_HZ) if dec else 0
    t.ok(u >= 1.5 and b < 0.3, "bria heard the unavailable greeting (%.1f s of %d Hz, %.1f s"
         " of the busy one's %d Hz)" % (u, UNAVAIL_HZ, b, BUSY_HZ))
    t.ok(wait_mwi(xlite, r"Voice-Message: 1/0"), "xlite's mwi module got a NOTIFY: 1 new,"
         " 0 old", diag=lambda: repr(mwi_events(xlite)))

    # -- busy: the busy greeting ----------------------------------------------------------
    mark = pbx.log_mark()
    bria.fresh_name()
    n = len(bria.recordings())
    bria.dial("sip:6002@%s" % pbx.sip)
    t.ok(xlite.wait_event("CALL_INCOMING", 5), "bria calls 6002 again: xlite rings ...")
    time.sleep(0.5)
    xlite.hangup()                      # 486 Busy Here
    est = bria.wait_event("CALL_ESTABLISHED", 10)
    skip_intro(n, BUSY_HZ)
    t.ok(est and pbx.wait_log(r"voicemail 6002: recording a message", 20, since=mark),
         "... refuses it (486): voicemail answers at once", diag=lambda: tail(pbx.log_since(mark), 20))
    time.sleep(3.0)
    bria.hangup()
    bria.wait_event("CALL_CLOSED", 5)
    dec = heard(bria, n)
    u = tone_duration(dec, UNAVAIL_HZ) if dec else 0
    b = tone_duration(dec, BUSY_HZ) if dec else 0
    t.ok(b >= 1.5 and u < 0.3, "this time bria heard the busy greeting (%.1f s of %d Hz, %.1f s"
         " of the unavailable one's %d Hz)" % (b, BUSY_HZ, u, UNAVAIL_HZ))
    t.ok(wait_mwi(xlite, r"Voice-Message: 2/0"), "NOTIFY: 2 new")
    files = sorted(f for f in os.listdir(vmdir) if f.startswith("m-"))
    t.is_(len(files), 2, "two message files in the mailbox's folder")
    t.ok(all(tone_duration(os.path.join(vmdir, f), BRIA_HZ) >= 2.0 for f in files),
         "... each holding bria's %d Hz tone" % BRIA_HZ)

    r = console_exec(pbx, 'return tostring(voicemail()) .. "\\n" .. tostring(voicemail("6002"))')
    t.ok(r.ok and re.search(r"6002\s+\S*\s*2\s+0\s+0\s+2", r.out),
         "console voicemail(): 6002 has 2 new, 0 old", diag=r.diag)

    # -- xlite listens: 1, then 9 2 (save to Work), 7 (delete) ----------------------------
    mark = pbx.log_mark()
    n, est = login(xlite)
    t.ok(est and pbx.wait_log(r"voicemail 6002: logged in from 6002", 8, since=mark),
         "xlite dials 9 and logs in", diag=lambda: tail(pbx.log_since(mark), 15))
    xlite.send_dtmf("1")                # play: the envelope, then message 1
    # each message heard to its end (bria's tone, then 0.5 s without it)
    live = xlite.listen(n + 1)
    first = live.wait(BRIA_HZ, 2.2, timeout=30, then_quiet=0.5) or 2.2
    xlite.send_dtmf("92")               # save to Work; message 2 plays
    live.wait(BRIA_HZ, first + 2.0, timeout=30, then_quiet=0.5)
    xlite.send_dtmf("7#")               # delete it; # at the main menu
    t.ok(xlite.wait_event("CALL_CLOSED", 15), "# at the main menu: goodbye, the PBX hangs up")
    dec = heard(xlite, n)
    d = tone_duration(dec, BRIA_HZ) if dec else 0
    t.ok(d >= 4.0, "xlite heard bria's messages (%.1f s of %d Hz)" % (d, BRIA_HZ))
    r = console_exec(pbx, 'local l = voicemail("6002") return #l .. " " .. (l[1] and l[1].folder'
                          ' or "-") .. " " .. tostring(l[1] and l[1].heard)')
    t.is_(r.out.strip(), "1 Work true", "the first message is in Work, heard; the second"
          " deleted", diag=r.diag)
    t.ok(wait_mwi(xlite, r"Voice-Message: 0/0"), "NOTIFY: 0 new, 0 old (Work counts in"
         " neither, as in Asterisk)", diag=lambda: repr(mwi_events(xlite)[-3:]))
    files = sorted(f for f in os.listdir(vmdir) if f.startswith("m-"))
    t.is_(len(files), 1, "the deleted message's file is gone")

    # -- three wrong PINs ------------------------------------------------------------------
    mark = pbx.log_mark()
    n, est = dial(amine, "9")
    for k in range(3):
        amine.send_dtmf("6002#1111#")   # again once the PBX refused the last one
        wait_until(lambda: len(re.findall(r"login to mailbox 6002 from 100 refused",
                                          pbx.log_since(mark))) > k, 15)
    closed = amine.wait_event("CALL_CLOSED", 10)
    t.ok(closed and pbx.wait_log(r"3 failed logins from 100: hanging up", 2, since=mark),
         "three wrong PINs: the PBX says goodbye and hangs up",
         diag=lambda: tail(pbx.log_since(mark), 15))

    for ph in (amine, chhiny, xlite, bria):
        ph.stop()
    pbx.finish(t)
