#!/usr/bin/env python3
# Recording and echo with real phones (baresip).  A phone that sends 1.5 s
# of 800 Hz between silences is recorded until 1 s of silence: the file
# holds the tone for 1.5 s (+- 40 ms), ends with it (trailing silence
# trimmed), status SILENCE.  max_seconds (GSM file), the # terminator and a
# caller hanging up end recordings too (the file is kept); a path made of
# dialled digits cannot leave the recordings folder; no temporary file is
# left.  The echo test sends the phone's own tone back, until # or hangup.
import glob
import os
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.audio import tone_runs  # noqa: E402

net = Net(43)
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.endpoint "bob"   { secret = "bobpw", context = "internal" }

local function record(call, name, opts)
  local secs, status, file = call:record(name, opts)
  pbx.log("info", "record %%s: %%.3f %%s %%s", call.exten, secs, status, file)
  call:hangup()
end

pbx.context "internal" {
  ["600"] = function(call)
    call:answer()
    local d, why = call:echo()
    pbx.log("info", "echo: %%s %%s", tostring(d), why)
    call:hangup()
  end,
  ["601"] = function(call)
    record(call, "test/speech", { silence_seconds = 1, max_seconds = 10, beep = true })
  end,
  ["602"] = function(call) record(call, "test/max", { max_seconds = 2, format = "gsm" }) end,
  ["603"] = function(call) record(call, "test/term", { terminator = "#" }) end,
  ["604"] = function(call) record(call, "msgs/INBOX/hangup") end,
  ["_5X."] = function(call, exten) record(call, "../" .. exten:sub(2)) end,
}
""" % net.pbx_rtp


def logged(exten, since):
    m = pbx.wait_log(r"record %s: ([0-9.]+) (\w+) (\S+)" % exten, 5, since=since)
    return (float(m.group(1)), m.group(2), m.group(3)) if m else (None, None, None)


def dial_wait(phone, exten, seconds=15):
    fresh_names()          # baresip names recordings by the second
    phone.dial("sip:%s@%s" % (exten, pbx.sip))
    est = phone.wait_event("CALL_ESTABLISHED", 10)
    return est, (phone.wait_event("CALL_CLOSED", seconds) if seconds else None)


with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    recdir = os.path.join(pbx.state_dir, "recordings")

    # bob: 1 s of silence, 1.5 s of 800 Hz, then silence
    speech = os.path.join(pbx.dir, "speech.wav")
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    speech, "synth", "1.5", "sine", "800", "vol", "0.5", "pad", "1", "40"],
                   check=True)
    alice = Phone("alice", net.ip(1), registrar=pbx.sip, password="alicepw",
                  rtp_ports=net.phone_rtp(0), tone_hz=1000, limit=140)
    bob = Phone("bob", net.ip(2), registrar=pbx.sip, password="bobpw",
                rtp_ports=net.phone_rtp(1), audio_file=speech, limit=140)
    for ph in (alice, bob):
        t.ok(ph.registered(10), "%s (baresip) registers" % ph.name, diag=ph.reginfo)

    # -- until silence ------------------------------------------------------------------
    mark = pbx.log_mark()
    est, closed = dial_wait(bob, "601")
    t.ok(est and closed, "bob calls 601: recorded, then hung up by the PBX")
    secs, status, name = logged("601", mark)
    t.is_(status, "SILENCE", "the recording stopped on 1 s of silence")
    path = os.path.join(recdir, "test", "speech.wav")
    t.is_(name, "test/speech.wav", "call:record returned the file name")
    t.ok(os.path.exists(path), "test/speech.wav is in the recordings folder")
    runs = tone_runs(path, 800) if os.path.exists(path) else []
    t.is_(len(runs), 1, "it holds bob's 800 Hz tone, in one piece", diag=lambda: repr(runs))
    if runs:
        start, length = runs[0]
        total = len(read_wav(path)[0]) / 8000.0
        t.ok(abs(length - 1.5) <= 0.04, "... for %.3f s (1.500 +- 0.040)" % length)
        t.ok(total - (start + length) <= 0.1, "... and ends with it: the silence after is"
             " trimmed (%.2f s left)" % (total - (start + length)))
        t.ok(secs is not None and abs(secs - total) < 0.01,
             "the duration returned (%s s) is the file's (%.2f s)" % (secs, total))
    bobrec = bob.wait_recording(1)
    beep = tone_duration(bobrec["dec"], 1000) if bobrec else 0
    t.ok(0.15 <= beep <= 0.35, "bob heard the beep first (%.2f s of 1000 Hz)" % beep)

    # -- max_seconds, GSM ----------------------------------------------------------------
    mark = pbx.log_mark()
    est, closed = dial_wait(alice, "602")
    secs, status, name = logged("602", mark)
    t.is_(status, "TIMEOUT", "max_seconds = 2: status TIMEOUT")
    path = os.path.join(recdir, "test", "max.gsm")
    ok = os.path.exists(path)
    t.ok(ok and name == "test/max.gsm", "format = \"gsm\": test/max.gsm")
    if ok:
        n = len(read_wav(path)[0]) / 8000.0
        t.ok(abs(n - 2.0) <= 0.06, "... 2 s long (%.3f s)" % n)
        t.ok(tone_duration(path, 1000) >= 1.8, "... of alice's 1000 Hz tone")

    # -- the # terminator ------------------------------------------------------------------
    mark = pbx.log_mark()
    est, _ = dial_wait(alice, "603", seconds=0)
    time.sleep(1.5)
    alice.send_dtmf("#")
    alice.wait_event("CALL_CLOSED", 5)
    secs, status, name = logged("603", mark)
    t.is_(status, "DTMF", "# ends the recording: status DTMF")
    t.ok(secs is not None and 1.2 <= secs <= 1.9, "... after %s s" % secs)

    # -- the caller hangs up: the file is kept ----------------------------------------------
    mark = pbx.log_mark()
    est, _ = dial_wait(alice, "604", seconds=0)
    time.sleep(1.5)
    alice.hangup()
    alice.wait_event("CALL_CLOSED", 5)
    secs, status, name = logged("604", mark)
    t.is_(status, "HANGUP", "the caller hangs up: status HANGUP")
    path = os.path.join(recdir, "msgs", "INBOX", "hangup.wav")
    t.ok(os.path.exists(path) and name == "msgs/INBOX/hangup.wav",
         "... the file is kept, its folders made (msgs/INBOX/hangup.wav)")
    t.is_(glob.glob(os.path.join(recdir, "**", ".*"), recursive=True), [],
          "no temporary file is left in the recordings folder")

    # -- a path made of digits cannot escape --------------------------------------------------
    mark = pbx.log_mark()
    est, closed = dial_wait(alice, "5123", seconds=5)
    t.ok(pbx.wait_log(r"'\.\./123' is not a recording name", 3, since=mark),
         "record('../123'): a Lua error, nothing written",
         diag=lambda: tail(pbx.log_since(mark), 8))
    t.ok(not os.path.exists(os.path.join(pbx.state_dir, "123.wav")),
         "... and no file outside the recordings folder")

    # -- echo ----------------------------------------------------------------------------------
    mark = pbx.log_mark()
    nrec = len(alice.recordings())
    est, _ = dial_wait(alice, "600", seconds=0)
    time.sleep(3)
    alice.send_dtmf("#")
    closed = alice.wait_event("CALL_CLOSED", 5)
    t.ok(est and closed, "alice calls the echo test (600), presses # after 3 s: it ends")
    t.ok(pbx.wait_log(r"echo: # digit", 2, since=mark), "call:echo() returned '#'")
    rec = alice.wait_recording(nrec + 1)
    d = tone_duration(rec["dec"], 1000) if rec else 0
    t.ok(d >= 2.5, "alice heard her own 1000 Hz tone back (%.1f s)" % d)

    mark = pbx.log_mark()
    est, _ = dial_wait(alice, "600", seconds=0)
    time.sleep(1)
    alice.hangup()
    alice.wait_event("CALL_CLOSED", 5)
    t.ok(pbx.wait_log(r"echo: nil hangup", 3, since=mark), "hanging up ends the echo too")

    for ph in (alice, bob):
        ph.stop()
    pbx.finish(t)
