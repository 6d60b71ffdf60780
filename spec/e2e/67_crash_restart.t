#!/usr/bin/env python3
# kill -9 of the PBX during calls and during a reload: it starts again on
# the same state folder cleanly (the console's stale socket, partial
# recordings a crash left), its registrations survive (kept in SQLite, as
# Asterisk keeps them in its astdb) so a phone is called at once, before
# it registers again, and phones re-register without duplicates.
import os
import re
import signal
import sys
import time
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(67)         # 127.S.67.10-19
CONFIG = """\
local pbx = require "lunapbx"
pbx.log("info", "configuration loading")
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal" }
pbx.context "internal" {
  ["200"] = function(call) call:dial("bob", { timeout = 10 }) end,
  ["300"] = function(call) call:answer() call:silence(30) end,
}
-- a slow configuration (about half a second of Lua at each load): a
-- kill -9 lands in the middle of a reload
local n = 0
for i = 1, 20000000 do n = n + i end
""" % net.pbx_rtp
ALICE, BOB, CALLER2 = "%s:5060" % net.ip(1), "%s:5060" % net.ip(2), "%s:5062" % net.ip(3)


def register(pbx, user, password, addr, label):
    return Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
                local=addr, remote=pbx.sip, keys={"user": user}, auth=(user, password),
                timeout=10, name=label).run()


def kill9(pbx):
    os.killpg(pbx.proc.pid, signal.SIGKILL)
    pbx.proc.wait(timeout=5)
    return pbx.proc.returncode


def alice_calls(pbx, label, hold_ms, timeout):
    """alice (sipp) calls 200 (bob) and hangs up after hold_ms; not started."""
    return Sipp("uac_bye.xml", local=ALICE, remote=pbx.sip, service="200",
                media="%s:%d" % (net.ip(1), net.media_port(0)),
                keys={"user": "alice"}, auth=("alice", "alicepw"), timeout=timeout,
                name=label, template={"media": SDP["pcmu"], "hold_ms": hold_ms})


def bob_phone(label):
    return Sipp("uas_answer.xml", local=BOB, media="%s:%d" % (net.ip(2), net.media_port(1)),
                keys={"pt": 0, "codec": "PCMU"}, timeout=30, name=label).start()


with Tap(timeout=170) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0), ready_timeout=20)
    t.sipp_ok(register(pbx, "bob", "bobpw", BOB, "bob-1"), "bob's phone registers")
    t.sipp_ok(register(pbx, "alice", "alicepw", ALICE, "alice-1"), "alice's phone registers")

    # -- kill -9 during calls -----------------------------------------------
    uas = bob_phone("bob-uas-1")
    bridged = alice_calls(pbx, "alice-bridged", 20000, 30).start()
    answered = Sipp("uac_bye.xml", local=CALLER2, remote=pbx.sip, service="300",
                    media="%s:%d" % (net.ip(3), net.media_port(2)),
                    keys={"user": "alice"}, auth=("alice", "alicepw"), timeout=30,
                    name="alice-answered", template={"media": SDP["pcmu"], "hold_ms": 20000}).start()
    up = wait_until(lambda: len(re.findall(r"call \d+: .* -> (200|300)@internal",
                                           pbx.log_text())) >= 2, 10)
    t.ok(up and pbx.wait_log(r"bridged|call \d+: answered|dial", 3) is not None,
         "a bridged call and a call answered by the PBX are up")
    time.sleep(1)
    rec = os.path.join(pbx.state_dir, "recordings", "greetings")
    os.makedirs(rec, exist_ok=True)
    with open(os.path.join(rec, ".hello.wav.part"), "wb") as f:
        f.write(b"RIFF\x00\x00")          # what a recording cut by the kill leaves
    rc = kill9(pbx)
    t.is_(rc, -signal.SIGKILL, "kill -9 of the PBX in the middle of both calls")
    sock = os.path.join(pbx.state_dir, "console.sock")
    t.ok(os.path.exists(sock), "... it left its console socket behind")
    for s in (uas, bridged, answered):
        s.stop()

    mark = pbx.log_mark()
    pbx.start()
    t.ok(pbx.alive(), "it starts again on the same state folder")
    m = pbx.wait_log(r"registrar: (\d+) bindings back from the store", 3, since=mark)
    t.is_(m and int(m.group(1)), 2, "... with the 2 registrations from before the crash")
    t.ok(pbx.wait_log(r"1 partial recordings a crash left removed", 1, since=mark),
         "... the partial recording the crash left removed")
    t.ok(not os.path.exists(os.path.join(rec, ".hello.wav.part")), "... and gone from the disk")
    r = console_exec(pbx, "return #endpoints()")
    t.ok(r.rc == 0 and "2" in r.out, "the console works (the stale socket was cleared)",
         diag=lambda: "%s %s %s" % (r.rc, r.out, r.err))
    r = console_exec(pbx, 'local n = 0 for _, e in ipairs(endpoints()) do '
                          'n = n + #e.contacts end return n')
    t.ok(r.rc == 0 and r.out.strip() == "2", "endpoints(): both contacts are there",
         diag=lambda: "%s %s %s" % (r.rc, r.out, r.err))

    uas = bob_phone("bob-uas-2")
    call = alice_calls(pbx, "alice-after", 500, 20).run()
    t.sipp_ok(call, "right after the restart alice calls bob, who did not register again")
    t.sipp_ok(uas.wait(timeout=10), "... bob's phone rang at its registered contact, answered")
    t.sipp_ok(register(pbx, "bob", "bobpw", BOB, "bob-2"), "bob's phone registers again")
    r = console_exec(pbx, 'for _, e in ipairs(endpoints()) do if e.name == "bob" then '
                          'return #e.contacts end end')
    t.is_(r.out.strip(), "1", "... one contact for bob, not two")

    # -- kill -9 during a reload --------------------------------------------
    mark = pbx.log_mark()
    os.kill(pbx.proc.pid, signal.SIGHUP)
    t.ok(pbx.wait_log(r"configuration loading", 5, since=mark),
         "SIGHUP: the reload started (the configuration is loading)")
    rc = kill9(pbx)
    t.ok(rc == -signal.SIGKILL and not re.search(r"reload: generation \d+ in force",
                                                 pbx.log_since(mark)),
         "kill -9 while the reload runs (before it was in force)")
    mark = pbx.log_mark()
    pbx.start()
    t.ok(pbx.alive(), "it starts again")
    m = pbx.wait_log(r"registrar: (\d+) bindings back from the store", 3, since=mark)
    t.is_(m and int(m.group(1)), 2, "... both registrations still there")
    r = console_exec(pbx, "reload()")
    t.ok(r.rc == 0, "and reloads", diag=lambda: r.out + r.err)
    uas = bob_phone("bob-uas-3")
    call = alice_calls(pbx, "alice-after-2", 500, 20).run()
    t.sipp_ok(call, "alice calls bob again")
    t.sipp_ok(uas.wait(timeout=10), "... and bob's phone answers")
    pbx.finish(t)
