#!/usr/bin/env python3
# The services of dialplans/default.lua, as shipped, with two baresip phones
# registered as its demo endpoints: 600 echo test (prompt, then the phone's
# own tone back, # ends it), 4menu1 records "menu1" and plays it back, the
# auto-attendant (7) then plays that recording as its menu and puts a caller
# who dials 6000 through to amine, the IVR (8) puts a silent caller through
# to the operator (xlite) after 10 s, and 8100 plays music on hold.  Last,
# the lab's transfer keys: amine calls 900, chhinyleboss keys #1 6002, and
# amine talks to xlite.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(44)
CALLER_HZ = 700

with Tap(timeout=150) as t:
    t.require_pbx()
    with open(os.path.join(ROOT, "dialplans", "default.lua")) as f:
        config = f.read()
    pbx = Pbx(config, listen="%s:5070" % net.ip(0))
    amine = Phone("amine", net.ip(1), registrar=pbx.sip, password="test",
                  rtp_ports=net.phone_rtp(0), tone_hz=400, limit=140)
    chhiny = Phone("chhinyleboss", net.ip(2), registrar=pbx.sip, password="vitrygtr",
                   rtp_ports=net.phone_rtp(1), tone_hz=CALLER_HZ, limit=140)
    xlite = Phone("xlite", net.ip(3), registrar=pbx.sip, password="vitrygtr",
                  rtp_ports=net.phone_rtp(2), tone_hz=1500, limit=140)
    for ph in (amine, chhiny, xlite):
        t.ok(ph.registered(10), "%s (baresip) registers with the demo password" % ph.name,
             diag=ph.reginfo)

    def dial(exten):
        fresh_names()          # baresip names recordings by the second
        n = len(chhiny.recordings())
        chhiny.dial("sip:%s@%s" % (exten, pbx.sip))
        return n, chhiny.wait_event("CALL_ESTABLISHED", 10)

    def heard(n):
        r = chhiny.wait_recording(n + 1, timeout=8)
        return r["dec"] if r else None

    def heard_tone(n):
        """Seconds of the caller's own tone in what it heard on call n."""
        dec = heard(n)
        return tone_duration(dec, CALLER_HZ) if dec else 0

    # -- 600: echo test ------------------------------------------------------------
    n, est = dial("600")
    t.ok(est, "600 answers (echo test)")
    # the prompt, then its own tone echoed back
    chhiny.listen(n + 1).wait(CALLER_HZ, 2.0, timeout=20)
    chhiny.send_dtmf("#")
    t.ok(chhiny.wait_event("CALL_CLOSED", 12), "# ends the echo; the PBX says goodbye and"
         " hangs up")
    dec = heard(n)
    d = tone_duration(dec, CALLER_HZ) if dec else 0
    t.ok(d >= 1.5, "the caller heard its own %d Hz tone back (%.1f s)" % (CALLER_HZ, d))
    total = len(read_wav(dec)[0]) / 8000.0 if dec else 0
    t.ok(total - d >= 3, "... after the demo-echotest prompt (%.1f s of other audio)"
         % (total - d))

    # -- 4menu1: record, then hear it -------------------------------------------------
    n, est = dial("4menu1")
    t.ok(est, "4menu1 answers: a beep, then recording")
    time.sleep(2.5)
    chhiny.send_dtmf("#")
    t.ok(chhiny.wait_event("CALL_CLOSED", 10), "# ends the recording; it is played back,"
         " then the PBX hangs up")
    path = os.path.join(pbx.state_dir, "recordings", "menu1.gsm")
    t.ok(os.path.exists(path), "menu1.gsm is in the recordings folder (Record(menu1:gsm))")
    if os.path.exists(path):
        d = tone_duration(path, CALLER_HZ)
        t.ok(d >= 1.5, "... holding the caller's %d Hz tone (%.1f s)" % (CALLER_HZ, d))
    d = heard_tone(n)
    t.ok(d >= 1.5, "the caller heard the recording played back (%.1f s of %d Hz)"
         % (d, CALLER_HZ))

    # -- 7: auto-attendant with the new menu1; 6000 dialled during it ----------------------
    mark = pbx.log_mark()
    n, est = dial("7")
    t.ok(est, "7 answers (auto-attendant)")
    time.sleep(1.0)
    chhiny.send_dtmf("6000")
    e = amine.wait_event("CALL_ESTABLISHED", 10)
    t.ok(e, "dialling 6000 during the menu puts the caller through to amine",
         diag=lambda: tail(pbx.log_since(mark), 15))
    chhiny.hangup()
    chhiny.wait_event("CALL_CLOSED", 5)
    amine.wait_event("CALL_CLOSED", 5)
    d = heard_tone(n)
    t.ok(d >= 0.5, "the menu was the recording made with 4menu1 (%.1f s of %d Hz)"
         % (d, CALLER_HZ))

    # -- 8: IVR, nothing pressed: the operator after 10 s ------------------------------
    mark = pbx.log_mark()
    n, est = dial("8")
    t.ok(est, "8 answers (IVR)")
    e = xlite.wait_event("CALL_ESTABLISHED", 30)
    t.ok(e, "a caller who presses nothing reaches the operator (xlite)",
         diag=lambda: tail(pbx.log_since(mark), 15))
    if est and e:
        waited = e["_t"] - est["_t"]
        t.ok(12 <= waited <= 22, "... after the menu and 10 s of silence (%.1f s)" % waited)
    chhiny.hangup()
    chhiny.wait_event("CALL_CLOSED", 5)
    xlite.wait_event("CALL_CLOSED", 5)

    # -- 8100: music on hold ---------------------------------------------------------
    n, est = dial("8100")
    t.ok(est, "8100 answers (music on hold)")
    time.sleep(4)
    chhiny.hangup()
    chhiny.wait_event("CALL_CLOSED", 5)
    dec = heard(n)
    if dec:
        samples, rate = read_wav(dec)
        secs = len(samples) / float(rate)
        rms = (sum(x * x for x in samples) / max(len(samples), 1)) ** 0.5
        t.ok(secs >= 3.5 and rms > 500, "the caller heard %.1f s of music (rms %.0f)"
             % (secs, rms))
    else:
        t.ok(False, "the caller recorded the music")

    # -- #1 in a call: blind transfer -----------------------------------------------
    fresh_names()          # baresip names recordings by the second
    mark = pbx.log_mark()
    amine.dial("sip:900@%s" % pbx.sip)
    t.ok(chhiny.wait_event("CALL_ESTABLISHED", 10) and amine.wait_event("CALL_ESTABLISHED", 5),
         "amine calls 900: chhinyleboss answers (stdexten, Dial's tT)")
    time.sleep(2)
    chhiny.send_dtmf("#16002")
    t.ok(xlite.wait_event("CALL_ESTABLISHED", 15), "chhinyleboss keys #1 6002: xlite answers",
         diag=lambda: tail(pbx.log_since(mark), 20))
    t.ok(chhiny.wait_event("CALL_CLOSED", 5), "... chhinyleboss's leg ends")
    time.sleep(3)
    amine.hangup()
    t.ok(xlite.wait_event("CALL_CLOSED", 5), "amine hangs up: xlite's leg ends")
    amine.wait_event("CALL_CLOSED", 5)
    rx = xlite.wait_recording(2)
    t.ok(rx and tone_duration(rx["dec"], 400) >= 2.0,
         "xlite hears amine's tone (%.1f s)" % (tone_duration(rx["dec"], 400) if rx else 0))

    for ph in (amine, chhiny, xlite):
        ph.stop()
    pbx.finish(t)
