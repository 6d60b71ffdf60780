#!/usr/bin/env python3
# kill -9 in the middle of a deposit.  A baresip phone leaves two messages
# (its 1000 Hz tone), then a third one; while the third is being recorded
# (its temporary file growing), the PBX is killed with SIGKILL.  Started
# again on the same state folder: the unfinished recording is gone from
# the disk and never reached the index, a message file whose index row
# never committed (put there by the test) is removed, and the two
# completed messages are in the index, whole, and play: a caller hears
# both through the PBX.
import glob
import os
import re
import shutil
import signal
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.console import console_exec  # noqa: E402

net = Net(47)
HZ = 1000
CONFIG = """\
local pbx = require "lunapbx"
local vm = require "lunapbx.voicemail"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = "<201>" }
vm.mailbox "200" { pin = "200", endpoints = { "alice" } }
pbx.context "internal" {
  ["200"] = function(call) vm.deposit(call, "200", { skip_greeting = true }) end,
  -- every message of 200, one after the other
  ["300"] = function(call)
    call:answer()
    for _, m in ipairs(vm.list("200")) do call:play(m.file) end
    pbx.log("info", "played %%d messages", #vm.list("200"))
    call:hangup()
  end,
}
""" % net.pbx_rtp


with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    recdir = os.path.join(pbx.state_dir, "recordings", "voicemail")
    alice = Phone("alice", net.ip(1), registrar=pbx.sip, password="alicepw",
                  rtp_ports=net.phone_rtp(0), tone_hz=HZ, limit=140)
    t.ok(alice.registered(10), "alice (baresip) registers", diag=alice.reginfo)

    def deposit(seconds, kill=False):
        mark = pbx.log_mark()
        fresh_names()          # baresip names recordings by the second
        alice.dial("sip:200@%s" % pbx.sip)
        est = alice.wait_event("CALL_ESTABLISHED", 10)
        rec = pbx.wait_log(r"voicemail 200: recording a message", 15, since=mark)
        time.sleep(seconds)
        if kill:
            return est and rec
        alice.hangup()
        alice.wait_event("CALL_CLOSED", 5)
        return est and rec and pbx.wait_log(r"voicemail 200: message \d+ from 201", 5,
                                             since=mark)

    t.ok(deposit(2.5), "a first message (2.5 s of tone)")
    t.ok(deposit(2.5), "a second one")
    done = sorted(glob.glob(os.path.join(recdir, "200", "m-*")))
    t.is_(len(done), 2, "two message files")

    t.ok(deposit(2.0, kill=True), "a third message is being recorded ...")
    parts = glob.glob(os.path.join(recdir, "incoming", ".*.part"))
    t.ok(parts and os.path.getsize(parts[0]) > 8000, "... into its temporary file (%s bytes)"
         % (os.path.getsize(parts[0]) if parts else None))
    os.kill(pbx.proc.pid, signal.SIGKILL)
    pbx.proc.wait(5)
    t.is_(pbx.proc.returncode, -signal.SIGKILL, "the PBX is killed with SIGKILL")
    alice.hangup()
    alice.wait_event("CALL_CLOSED", 5)
    t.ok(glob.glob(os.path.join(recdir, "incoming", ".*.part")), "the unfinished recording"
         " is still on the disk")
    orphan = os.path.join(recdir, "200", "m-1-1-deadbeef.wav")
    shutil.copy(done[0], orphan)       # renamed, its row never committed

    mark = pbx.log_mark()
    pbx.start()
    t.ok(True, "the PBX starts again on the same state folder")
    # the start-up's sweep of partial recordings takes it, or voicemail's own
    t.ok(pbx.wait_log(r"removed voicemail/incoming/\.in-\S+\.part, left by a deposit that did"
                      r" not finish|state: 1 partial recordings a crash left removed", 3,
                      since=mark), "it removes the unfinished recording",
         diag=lambda: tail(pbx.log_since(mark), 10))
    t.ok(pbx.wait_log(r"removed voicemail/200/m-1-1-deadbeef.wav, a message whose index row"
                      r" never committed", 3, since=mark),
         "... and the message file that has no index row")
    t.is_(os.listdir(os.path.join(recdir, "incoming")), [], "nothing is left in incoming/")
    t.is_(sorted(glob.glob(os.path.join(recdir, "200", "m-*"))), done,
          "the two completed message files are there, no other")
    r = console_exec(pbx, 'local l = voicemail("200") local s = {} for _, m in ipairs(l) do'
                          ' s[#s + 1] = ("%s %.1f"):format(m.folder, m.duration) end'
                          ' return table.concat(s, ",")')
    t.ok(r.ok and re.fullmatch(r"INBOX 2\.\d,INBOX 2\.\d", r.out.strip()),
         "the index holds the two of them, in INBOX (%s)" % r.out.strip(), diag=r.diag)
    for i, f in enumerate(done, 1):
        d = tone_duration(f, HZ)
        t.ok(d >= 2.0, "message %d is whole: %.2f s of the %d Hz tone" % (i, d, HZ))

    mark = pbx.log_mark()
    fresh_names()          # baresip names recordings by the second
    n = len(alice.recordings())
    alice.dial("sip:300@%s" % pbx.sip)
    t.ok(alice.wait_event("CALL_CLOSED", 20) and pbx.wait_log(r"played 2 messages", 2,
                                                               since=mark),
         "a call to 300 plays every message of the mailbox")
    time.sleep(1.0)
    rec = alice.wait_recording(n + 1, timeout=8)
    d = tone_duration(rec["dec"], HZ) if rec else 0
    t.ok(d >= 4.0, "alice heard both messages (%.1f s of %d Hz)" % (d, HZ))

    alice.stop()
    pbx.finish(t)
