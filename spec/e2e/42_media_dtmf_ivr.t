#!/usr/bin/env python3
# DTMF into an IVR menu from real clients, one way each: a baresip phone
# sending RFC 4733 events (its endpoint says dtmf = "rfc4733"), a baresip
# whose audio carries the DTMF tones (endpoint on "auto": heard in-band) and
# sipp sending SIP INFO (dtmf-relay and dtmf bodies; endpoint "info").  Each
# key takes its branch, which answers with its own tone, found in what the
# phone recorded.  A caller who presses nothing reaches the operator (a
# third baresip) after the timeout.  A prompt interrupted by a key stops
# within 100 ms of the key's first packet (dumpcap).  DTMF out: the PBX's
# RFC 4733 digits reach baresip.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.audio import make_dtmf  # noqa: E402
from lunatest.rtpcap import RtpCapture, stream  # noqa: E402

net = Net(42)
CONFIG = """\
local pbx = require "lunapbx"
local ivr = require "lunapbx.ivr"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "rfc"      { secret = "rfcpw",   context = "internal", dtmf = "rfc4733" }
pbx.endpoint "tones"    { secret = "tonespw", context = "internal" }
pbx.endpoint "info"     { secret = "infopw",  context = "internal", dtmf = "info" }
pbx.endpoint "operator" { secret = "oppw",    context = "internal" }

local function branch(n, hz)
  return function(call, digits)
    pbx.log("info", "IVR branch %%s (%%s) for %%s", n, digits, call.caller)
    call:playtones(hz, 2)
    call:hangup()
  end
end

pbx.context "internal" {
  ["8"] = function(call)
    ivr.menu(call, {
      prompt = "menu2", timeout = 3, no_input = false,
      options = { ["1"] = branch(1, "1100"), ["2"] = branch(2, "1300"),
                  ["3"] = branch(3, "1700") },
      fallback = function(call, why)
        pbx.log("info", "IVR fallback (%%s) for %%s", why, call.caller)
        call:dial("operator", { timeout = 10 })
      end,
    })
  end,
  ["9"] = function(call)
    call:answer()
    local d, why = call:play("test/long", { interrupt = true })
    pbx.log("info", "interrupted by %%s (%%s)", tostring(d), why)
    pbx.sleep(1.5)
    call:hangup()
  end,
  ["7"] = function(call)
    call:answer()
    pbx.sleep(0.5)
    local ok, why = call:send_dtmf("42#")
    pbx.log("info", "send_dtmf: %%s %%s", tostring(ok), tostring(why))
    pbx.sleep(0.8)
    call:hangup()
  end,
}
""" % net.pbx_rtp
TONES = {"1": 1100, "2": 1300, "3": 1700}


def heard_branch(t, phone, n, key, how):
    rec = phone.wait_recording(n, timeout=8)
    hz = TONES[key]
    d = tone_duration(rec["dec"], hz) if rec else 0
    t.ok(d >= 1.5, "%s: the caller hears branch %s's %d Hz tone (%.1f s)" % (how, key, hz, d))


with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    rec = os.path.join(pbx.state_dir, "recordings", "test")
    os.makedirs(rec)
    make_tone(os.path.join(rec, "long.wav"), 1000, 10, pad=0)

    quiet = make_silence(os.path.join(pbx.dir, "quiet.wav"), 60)
    keyed = make_dtmf(os.path.join(pbx.dir, "key3.wav"), "3", lead=2.0)
    rfc = Phone("rfc", net.ip(1), registrar=pbx.sip, password="rfcpw",
                rtp_ports=net.phone_rtp(0), audio_file=quiet, limit=140)
    tones = Phone("tones", net.ip(2), registrar=pbx.sip, password="tonespw",
                  rtp_ports=net.phone_rtp(1), audio_file=keyed, limit=140)
    op = Phone("operator", net.ip(3), registrar=pbx.sip, password="oppw",
               rtp_ports=net.phone_rtp(2), audio_file=quiet, limit=140)
    for ph in (rfc, tones, op):
        t.ok(ph.registered(10), "%s (baresip) registers" % ph.name, diag=ph.reginfo)

    # -- RFC 4733 ----------------------------------------------------------------
    mark = pbx.log_mark()
    rfc.dial("sip:8@%s" % pbx.sip)
    t.ok(rfc.wait_event("CALL_ESTABLISHED", 10), "rfc calls the IVR (8)")
    time.sleep(1.5)                          # in the middle of the menu prompt
    rfc.send_dtmf("1")
    t.ok(rfc.wait_event("CALL_CLOSED", 10), "... presses 1 (RFC 4733); the branch hangs up")
    t.ok(pbx.wait_log(r"DTMF '1' \(rfc4733\)", 2, since=mark), "the PBX got '1' as RFC 4733")
    t.ok(pbx.wait_log(r"IVR branch 1 \(1\) for rfc", 2, since=mark), "... and took branch 1",
         diag=lambda: tail(pbx.log_since(mark), 15))
    heard_branch(t, rfc, 1, "1", "RFC 4733")

    # -- in-band -----------------------------------------------------------------
    mark = pbx.log_mark()
    tones.dial("sip:8@%s" % pbx.sip)
    t.ok(tones.wait_event("CALL_ESTABLISHED", 10), "tones calls the IVR (8)")
    t.ok(tones.wait_event("CALL_CLOSED", 15), "... its audio carries the DTMF tones of 3"
         " after 2 s; the branch hangs up")
    t.ok(pbx.wait_log(r"DTMF '3' \(inband\)", 2, since=mark),
         "the PBX heard '3' in the audio (endpoint on auto)",
         diag=lambda: tail(pbx.log_since(mark), 15))
    t.ok(pbx.wait_log(r"IVR branch 3 \(3\) for tones", 2, since=mark), "... and took branch 3")
    heard_branch(t, tones, 1, "3", "in-band")

    # -- SIP INFO, both bodies --------------------------------------------------------
    for n, (ctype, body) in enumerate((("application/dtmf-relay", "Signal=2\nDuration=160"),
                                       ("application/dtmf", "2"))):
        mark = pbx.log_mark()
        r = Sipp("uac_info_dtmf.xml", local="%s:5060" % net.ip(4 + n), remote=pbx.sip,
                 media="%s:%d" % (net.ip(4 + n), net.media_port(n)), auth=("info", "infopw"),
                 service="8", keys={"user": "info"}, timeout=20, name="info-%d" % n,
                 template={"media": SDP["pcmu_pcma"], "pause_ms": 1500, "ctype": ctype,
                           "body": body, "bye_within_ms": 8000}).run()
        t.sipp_ok(r, "sipp calls the IVR, sends SIP INFO %s with 2 (200 OK), gets BYE" % ctype)
        t.ok(pbx.wait_log(r"DTMF '2' \(info\)", 2, since=mark), "... the PBX got '2' from INFO")
        t.ok(pbx.wait_log(r"IVR branch 2 \(2\) for info", 2, since=mark), "... branch 2",
             diag=lambda: tail(pbx.log_since(mark), 15))

    # -- nobody presses anything: the operator ------------------------------------------
    mark = pbx.log_mark()
    fresh_names()          # baresip names recordings by the second
    rfc.dial("sip:8@%s" % pbx.sip)
    e1 = rfc.wait_event("CALL_ESTABLISHED", 10)
    e2 = op.wait_event("CALL_ESTABLISHED", 25)
    t.ok(e1 and e2, "a caller who presses nothing is put through to the operator",
         diag=lambda: tail(pbx.log_since(mark), 15))
    if e1 and e2:
        waited = e2["_t"] - e1["_t"]
        t.ok(6 <= waited <= 14, "... after the menu prompt and the 3 s timeout (%.1f s)" % waited)
    t.ok(pbx.wait_log(r"IVR fallback \(timeout\) for rfc", 2, since=mark),
         "... by the IVR's fallback, told why (timeout)")
    rfc.hangup()
    rfc.wait_event("CALL_CLOSED", 5)
    op.wait_event("CALL_CLOSED", 5)

    # -- a prompt interrupted by a key stops within 100 ms ----------------------------------
    mark = pbx.log_mark()
    fresh_names()          # baresip names recordings by the second
    cap = RtpCapture([net.ip(0)], name="interrupt").start()
    rfc.dial("sip:9@%s" % pbx.sip)
    t.ok(rfc.wait_event("CALL_ESTABLISHED", 10), "rfc calls 9: a 10 s prompt")
    time.sleep(1.5)
    rfc.send_dtmf("5")
    rfc.wait_event("CALL_CLOSED", 8)
    pkts = cap.stop()
    t.ok(pbx.wait_log(r"interrupted by 5 \(digit\)", 2, since=mark),
         "call:play returned the key that interrupted it")
    events = stream(pkts, dst=net.ip(0), pts=(101,))
    audio = stream(pkts, src=net.ip(0), ports=net.phone_rtp(0), pts=(0, 8))
    if events and audio:
        t_key = events[0].t
        before = [p for p in audio if p.t <= t_key]
        after = [p for p in audio if p.t > t_key]
        stop = after[-1].t - t_key if after else 0.0
        t.ok(len(before) >= 60, "the prompt was playing when the key came (%d packets)" % len(before))
        t.ok(stop <= 0.1, "the prompt stopped %.0f ms after the key's first packet (<= 100)"
             % (stop * 1000), diag=lambda: "%d packets after the key" % len(after))
    else:
        t.ok(False, "capture: the key's RFC 4733 packets and the prompt",
             diag=lambda: "%d packets, %d events, %d audio" % (len(pkts), len(events), len(audio)))

    # -- DTMF out --------------------------------------------------------------------
    mark = pbx.log_mark()
    fresh_names()          # baresip names recordings by the second
    rfc.dial("sip:7@%s" % pbx.sip)
    t.ok(rfc.wait_event("CALL_ESTABLISHED", 10), "rfc calls 7: the PBX sends it 42#")
    got = []
    for _ in range(3):
        e = rfc.wait_event("CALL_DTMF_START", 5)
        if e:
            got.append(e.get("param"))
    t.is_("".join(got), "42#", "baresip received the digits 4, 2, # as RFC 4733 events")
    rfc.wait_event("CALL_CLOSED", 5)
    t.ok(pbx.wait_log(r"send_dtmf: true", 2, since=mark), "call:send_dtmf returned true")

    for ph in (rfc, tones, op):
        ph.stop()
    pbx.finish(t)
