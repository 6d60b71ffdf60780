#!/usr/bin/env python3
# The harness checks itself, without the PBX: the audio analysis can both pass
# and fail, sipp runs and its traces parse, and two baresip phones calling each
# other directly each receive the other's tone.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(0)          # 127.S.0.10-19

with Tap(timeout=90) as t:
    # ---- audio analysis -------------------------------------------------
    d = workdir("audio")
    f700 = make_tone(os.path.join(d, "700.wav"), 700, 2, pad=1)
    f1100 = make_tone(os.path.join(d, "1100.wav"), 1100, 2, pad=1)
    quiet = make_silence(os.path.join(d, "silence.wav"), 2)
    freq, ratio, info = dominant_tone(f700, [700, 1100])
    t.is_(freq, 700, "a generated 700 Hz tone is detected as 700 Hz")
    t.ok(ratio > 100, "... far above 1100 Hz (ratio %.0f)" % ratio)
    t.ok(tone_present(f700, 700), "tone_present(700 Hz file, 700)")
    t.ok(not tone_present(f700, 1100), "not tone_present(700 Hz file, 1100)")
    t.is_(dominant_tone(f1100, [700, 1100])[0], 1100, "a 1100 Hz tone is detected as 1100 Hz")
    t.is_(dominant_tone(quiet, [700, 1100])[0], None, "silence: no dominant tone")
    t.ok(not tone_present(quiet, 700) and not tone_present(quiet, 1100), "silence: no tone present")
    samples, rate = read_wav(f700)
    t.is_((rate, len(samples)), (8000, 3 * 8000), "tone file is 8 kHz, tone + silence pad")

    # ---- each file's addresses: Net(NN) of file NN_*.t -----------------
    # Files run in parallel; two on one Net would take each other's ports.
    here = os.path.dirname(os.path.abspath(__file__))
    wrong = []
    for name in sorted(os.listdir(here)):
        if name.endswith(".t") and name[:2].isdigit():
            with open(os.path.join(here, name)) as f:
                nets = re.findall(r"^net = Net\((\d+)\)", f.read(), re.M)
            if nets and int(nets[0]) != int(name[:2]):
                wrong.append("%s: Net(%s)" % (name, nets[0]))
    t.is_(wrong, [], "every end-to-end file NN_*.t takes Net(NN), its own addresses")

    # ---- sipp: built-in uas vs uac; a template that must fail -----------
    uas_addr, uac_addr = "%s:5060" % net.ip(1), "%s:5060" % net.ip(2)
    uas = Sipp("uas", local=uas_addr, media="%s:%d" % (net.ip(1), net.media_port(0)),
               timeout=10).start()
    uac = Sipp("uac", local=uac_addr, remote=uas_addr,
               media="%s:%d" % (net.ip(2), net.media_port(1)), timeout=10).run()
    ruas = uas.wait()
    t.sipp_ok(uac, "sipp -sn uac -> -sn uas: the call succeeds (exit 0)")
    t.sipp_ok(ruas, "sipp -sn uas: exit 0")
    t.is_([c for c in uac.codes() if c >= 180], [180, 200, 200],
          "message trace parsed: uac got 180, 200 (INVITE) and 200 (BYE)")
    inv = ruas.first("INVITE")
    t.ok(inv is not None and inv.sdp_payloads() == ["0"] and inv.header("cseq") == "1 INVITE",
         "message trace parsed: uas saw the INVITE with its SDP")

    # a scenario rendered from a template, expecting 486 from a UAS that answers 200
    uas = Sipp("uas", local=uas_addr, media="%s:%d" % (net.ip(1), net.media_port(0)),
               timeout=5).start()
    path = render_template("uac_reject.xml", code=486, media="m=audio [media_port] RTP/AVP 0\na=rtpmap:0 PCMU/8000")
    bad = Sipp(path, local=uac_addr, remote=uas_addr, service="100", keys={"user": "x"},
               media="%s:%d" % (net.ip(2), net.media_port(1)), timeout=5, name="must-fail").run()
    uas.stop()
    t.ok(bad.rc == 1, "a sipp call getting another answer than expected fails (exit %s)" % bad.rc,
         diag=bad.diag)
    t.like(bad.errors, r"(?i)unexpected|aborting", "... and the error file says why",
           diag=bad.diag)

    # ---- baresip: two phones, direct call, crossed tones ----------------
    alice = Phone("alice", net.ip(3), rtp_ports=net.phone_rtp(0), tone_hz=700, limit=60)
    bob = Phone("bob", net.ip(4), rtp_ports=net.phone_rtp(1), tone_hz=1100, limit=60)
    t.ok(alice.reginfo() and bob.reginfo(), "ctrl_tcp answers reginfo on both phones")
    r = alice.dial(bob.uri)
    t.ok(r and r.get("ok"), "alice dials bob directly (%s)" % bob.uri, diag=lambda: repr(r))
    ea = alice.wait_event("CALL_ESTABLISHED", 10)
    eb = bob.wait_event("CALL_ESTABLISHED", 10)
    t.ok(ea and eb, "call established on both sides (bob auto-answers)",
         diag=lambda: "alice events %s\nbob events %s" % (alice.event_types(), bob.event_types()))
    alice.send_dtmf("1")
    dt = bob.wait_event("CALL_DTMF_START", 5)
    t.is_(dt and dt.get("param"), "1", "DTMF sent by alice (sndcode) reaches bob")
    time.sleep(3)
    alice.hangup()
    t.ok(bob.wait_event("CALL_CLOSED", 10), "bob sees the call closed after alice hangs up")
    t.ok(alice.wait_event("CALL_CLOSED", 5), "alice sees the call closed")
    ra, rb = alice.wait_recording(), bob.wait_recording()
    t.ok(ra and rb, "both phones recorded the call (sndfile)",
         diag=lambda: "alice: %s bob: %s" % (alice.recordings(), bob.recordings()))
    if ra and rb:
        fa, ratio_a, ia = dominant_tone(ra["dec"], [700, 1100])
        fb, ratio_b, ib = dominant_tone(rb["dec"], [700, 1100])
        t.is_(fa, 1100, "alice received bob's 1100 Hz tone (ratio %.0f)" % ratio_a, diag=repr(ia))
        t.is_(fb, 700, "bob received alice's 700 Hz tone (ratio %.0f)" % ratio_b, diag=repr(ib))
        t.is_(dominant_tone(ra["enc"], [700, 1100])[0], 700, "alice sent 700 Hz (-enc.wav)")
        t.ok(not tone_present(rb["dec"], 1100), "bob did not receive his own tone")
    # manual answer: bob calls alice, who accepts with the `accept` command
    alice.stop()
    alice = Phone("alice", net.ip(3), rtp_ports=net.phone_rtp(0), tone_hz=700,
                  answermode="manual", limit=60, name="alice-manual")
    bob.dial(alice.uri)
    inc = alice.wait_event("CALL_INCOMING", 10)
    t.ok(inc, "answermode=manual: alice gets CALL_INCOMING", diag=lambda: alice.event_types())
    alice.accept()
    t.ok(bob.wait_event("CALL_ESTABLISHED", 10) and alice.wait_event("CALL_ESTABLISHED", 5),
         "alice accepts: call established")
    bob.hangup()
    t.ok(alice.wait_event("CALL_CLOSED", 10), "call closed on alice's side after bob hangs up")
    for ph in (alice, bob):
        ph.stop()
    t.ok(not alice.alive() and not bob.alive(), "phones stopped by PID")
