#!/usr/bin/env python3
# Playback to real phones (baresip), checked in what they recorded and on
# the wire (dumpcap): a 2.000 s prompt arrives whole and continuous (one
# run of the tone, 2.00 s +- 40 ms), as 100 packets 20 ms apart with
# consecutive sequence numbers, timestamps +160 and the marker bit on the
# first only; in the codec each phone negotiated.  Files of any rate,
# stereo and GSM play at the right pitch; a missing file is a Lua error
# naming it; say_number, tones and music on hold are heard.
import os
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.audio import tone_runs  # noqa: E402
from lunatest.rtp import RtpPeer  # noqa: E402
from lunatest.rtpcap import RtpCapture, continuity, stream  # noqa: E402

net = Net(41)
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "play" }
pbx.endpoint "bob"   { secret = "bobpw", context = "play", allow = { "PCMA" } }
pbx.endpoint "carol" { secret = "carolpw", context = "play" }
pbx.context "play" {
  ["500"] = function(call)
    call:answer()
    local d, why = call:play("test/tone2s")
    pbx.log("info", "play 500: %%s", why)
    pbx.sleep(1)
    call:hangup()
  end,
  ["501"] = function(call)
    call:play({ "test/tone44k", "test/tone8k" })
    pbx.sleep(0.5)
    call:hangup()
  end,
  ["502"] = function(call)
    call:answer()
    call:play("test/nosuchprompt")
  end,
  ["503"] = function(call)
    call.vars.language = "fr"
    call:say_number(21)
    call:tone("busy", 2)
    call:hangup()
  end,
  ["505"] = function(call)
    call:answer()
    call:play("test/tone2s")
    pbx.sleep(5)
  end,
  ["504"] = function(call)
    local d, why = call:moh("default", 3)
    pbx.log("info", "moh 504: %%s", why)
    call:hangup()
  end,
}
""" % net.pbx_rtp


def sox(*args):
    subprocess.run(["sox"] + list(args), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.PIPE)


def recording(phone, n):
    r = phone.wait_recording(n, timeout=8)
    return r["dec"] if r else None


def call(t, phone, exten, seconds=10):
    phone.dial("sip:%s@%s" % (exten, pbx.sip))
    est = phone.wait_event("CALL_ESTABLISHED", 10)
    closed = phone.wait_event("CALL_CLOSED", seconds)
    t.ok(est and closed, "%s calls %s: answered, then hung up by the PBX" % (phone.name, exten),
         diag=lambda: phone.event_types())
    fresh_names()          # baresip names recordings by the second


with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    rec = os.path.join(pbx.state_dir, "recordings", "test")
    os.makedirs(rec)
    sox("-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
        os.path.join(rec, "tone2s.wav"), "synth", "2", "sine", "1000", "vol", "0.5")
    sox("-n", "-r", "44100", "-c", "2", "-b", "16", "-e", "signed-integer",
        os.path.join(rec, "tone44k.wav"), "synth", "1", "sine", "1200", "vol", "0.5")
    sox("-n", "-r", "8000", "-c", "1", os.path.join(rec, "tone8k.gsm"), "synth", "1",
        "sine", "800", "vol", "0.5")

    quiet = make_silence(os.path.join(pbx.dir, "quiet.wav"), 40)
    alice = Phone("alice", net.ip(1), registrar=pbx.sip, password="alicepw",
                  rtp_ports=net.phone_rtp(0), audio_file=quiet, limit=110)
    t.ok(alice.registered(10), "alice (baresip, PCMU and PCMA) registers", diag=alice.reginfo)

    # -- a 2 s prompt: whole, continuous, paced, with proper RTP headers ------------
    cap = RtpCapture([net.ip(0)], name="500").start()
    call(t, alice, "500")
    pkts = cap.stop()
    dec = recording(alice, 1)
    runs = tone_runs(dec, 1000) if dec else []
    t.is_(len(runs), 1, "the prompt is heard as one run of 1000 Hz (no hole)",
          diag=lambda: repr(runs))
    length = runs[0][1] if runs else 0
    t.ok(abs(length - 2.0) <= 0.04, "... lasting %.3f s (2.000 s +- 40 ms)" % length)

    audio = stream(pkts, src=net.ip(0), ports=net.phone_rtp(0), pts=(0, 8))
    t.is_(len(audio), 100, "the PBX sent 100 packets of 20 ms",
          diag=lambda: "%d packets: %r" % (len(audio), audio[:3]))
    bad = continuity(audio)
    t.ok(audio and not bad, "consecutive sequence numbers, timestamps +160, one SSRC",
         diag=lambda: "; ".join(bad[:10]))
    t.ok(audio and audio[0].marker, "the marker bit is set on the first packet (and only there)")
    t.ok(audio and all(len(p.payload) == 160 for p in audio), "each carries 160 G.711 bytes")
    if audio:
        span = audio[-1].t - audio[0].t
        gaps = [b.t - a.t for a, b in zip(audio, audio[1:])]
        t.ok(1.9 <= span <= 2.1, "paced: first to last packet %.3f s (1.98 s)" % span)
        t.ok(max(gaps) < 0.1, "no gap over 100 ms between packets (largest %.0f ms)"
             % (max(gaps) * 1000))
    t.like(pbx.log_text(), r"play 500: done", "call:play returned \"done\"")

    # -- any rate, stereo, GSM ---------------------------------------------------
    call(t, alice, "501")
    dec = recording(alice, 2)
    d1200 = tone_duration(dec, 1200, block=80) if dec else 0
    d800 = tone_duration(dec, 800, block=80) if dec else 0
    t.ok(abs(d1200 - 1.0) <= 0.06, "a 44.1 kHz stereo WAV plays at its pitch for %.2f s" % d1200)
    t.ok(abs(d800 - 1.0) <= 0.06, "a raw GSM file (.gsm) plays at its pitch for %.2f s" % d800)

    # -- a missing file -----------------------------------------------------------
    mark = pbx.log_mark()
    call(t, alice, "502")
    m = pbx.wait_log(r"no sound file 'test/nosuchprompt'.*", 3, since=mark)
    t.ok(m, "a missing file: a Lua error naming it", diag=lambda: tail(pbx.log_since(mark), 10))
    t.like(pbx.log_since(mark), r"pbx\.lua:%d" % pbx.line_of("test/nosuchprompt"),
           "... with the dialplan's file:line")

    # -- say_number and a tone, in French ---------------------------------------------
    call(t, alice, "503")
    dec = recording(alice, 4)
    busy = tone_duration(dec, 440) if dec else 0
    t.ok(0.7 <= busy <= 1.3, "call:tone('busy', 2) in France: 440 Hz, half on (%.2f s)" % busy)
    _, rate = read_wav(dec) if dec else (None, 8000)
    n = len(read_wav(dec)[0]) / rate if dec else 0
    t.ok(n >= 2.5, "say_number(21) then the tone: %.1f s of audio" % n)

    # -- music on hold, and a PCMA-only phone -------------------------------------------
    bob = Phone("bob", net.ip(2), registrar=pbx.sip, password="bobpw", codecs="PCMA",
                rtp_ports=net.phone_rtp(1), audio_file=quiet, limit=60)
    t.ok(bob.registered(10), "bob (baresip, PCMA only) registers", diag=bob.reginfo)
    cap = RtpCapture([net.ip(0)], name="504").start()
    call(t, bob, "504")
    pkts = cap.stop()
    audio = stream(pkts, src=net.ip(0), ports=net.phone_rtp(1), pts=(0, 8))
    t.ok(audio and all(p.pt == 8 for p in audio), "music on hold goes out in PCMA, bob's codec")
    t.ok(145 <= len(audio) <= 155, "call:moh('default', 3): %d packets (150)" % len(audio))
    dec = recording(bob, 1)
    if dec:
        samples, rate = read_wav(dec)
        rms = (sum(x * x for x in samples) / max(len(samples), 1)) ** 0.5
        t.ok(rms > 500, "... and bob heard music (rms %.0f)" % rms)
    else:
        t.ok(False, "bob recorded the call")
    t.like(pbx.log_text(), r"moh 504: timeout", "call:moh returned \"timeout\" after 3 s")

    # -- a late offer: the prompt plays once the ACK brings the answer -----------------
    peer = RtpPeer(net.ip(3), net.media_port(3))
    r = Sipp("uac_late_offer.xml", local="%s:5060" % net.ip(3), remote=pbx.sip,
             media="%s:%d" % (net.ip(3), net.media_port(0)), service="505",
             keys={"user": "carol"}, auth=("carol", "carolpw"), timeout=15, name="late",
             template={"answer_ip": net.ip(3), "hold_ms": 3500,
                       "answer": "m=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000" % peer.port}).run()
    t.sipp_ok(r, "sipp calls 505 without SDP (late offer), answers in the ACK, hangs up")
    pcm = peer.pcm(0)
    peer.close()
    path = os.path.join(pbx.dir, "late.wav")
    if pcm:
        peer.write_wav(path, 0)
    d = tone_duration(path, 1000, block=80) if pcm else 0
    t.ok(abs(d - 2.0) <= 0.06, "... and gets the whole 2 s prompt in PCMU (%.2f s)" % d)

    for ph in (alice, bob):
        ph.stop()
    pbx.finish(t)
