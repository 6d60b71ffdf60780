#!/usr/bin/env python3
# Call records survive a kill -9: sipp calls end (answered, busy, a burst
# of ten ending at the same moment, whose records share commits and reach
# the disk in one sync, and a last one), the PBX is killed with SIGKILL as
# the last one ends, and every record of an ended call is in the database (and in
# Master.csv); a call still up at the kill has none, and the database
# opens cleanly.  A PBX started again on the same state
# folder goes on numbering after the last record.
import os
import re
import signal
import sqlite3
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(69)

CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s", cdr_csv = true }
for _, n in ipairs { "alice", "carol" } do
  pbx.endpoint(n) { secret = n .. "pw", context = "internal" }
end
pbx.context "internal" {
  ["201"] = function(call) call.cdr.userfield = "n" .. call.id; call:dial("alice", { timeout = 10 }) end,
  ["_3XX"] = function(call) call:answer() pbx.sleep(30) end,
  -- answered, hung up on the next whole second: a burst of calls ends at once
  ["40"] = function(call)
    call:answer()
    pbx.sleep(math.floor(pbx.now()) + 2 - pbx.now())
    call:hangup()
  end,
}
""" % net.pbx_rtp


def rows(state_dir):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(state_dir, "lunapbx.db"), uri=True)
    out = db.execute("SELECT sequence, disposition, billsec, userfield FROM cdr"
                     " ORDER BY sequence").fetchall()
    check = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    return out, check


with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    carol = "%s:5060" % net.ip(1)
    carol_media = "%s:%d" % (net.ip(1), net.media_port(0))
    alice = "%s:5062" % net.ip(2)
    alice_media = "%s:%d" % (net.ip(2), net.media_port(1))
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=alice, remote=pbx.sip, keys={"user": "alice"}, auth=("alice", "alicepw"),
             timeout=10, name="register-alice").run()
    t.sipp_ok(r, "sipp registers as alice")

    def call(label, scenario, uas_scenario, uas_template=None, **tmpl):
        uas = Sipp(uas_scenario, local=alice, media=alice_media, keys={"pt": 0, "codec": "PCMU"},
                   template=uas_template, timeout=20, name="uas-" + label).start()
        tmpl.setdefault("media", SDP["pcmu"])
        res = Sipp(scenario, template=tmpl, local=carol, media=carol_media, remote=pbx.sip,
                   service="201", keys={"user": "carol"}, auth=("carol", "carolpw"),
                   timeout=20, name="uac-" + label).run()
        uas.wait(timeout=10)
        return res

    for i in range(3):
        res = call("ans%d" % i, "uac_bye.xml", "uas_answer.xml", hold_ms=1200)
        t.sipp_ok(res, "call %d: answered, 1.2 s, carol hangs up" % (i + 1))
    res = call("busy", "uac_reject.xml", "uas_reject.xml",
               uas_template={"code": 486, "reason": "Busy Here"}, code=486)
    t.sipp_ok(res, "call 4: alice busy")
    # ten calls that end at the same moment: each written when it ends
    mark = pbx.log_mark()
    burst = Sipp("uac_wait_bye.xml", template={"media": SDP["pcmu"], "bye_within_ms": 4000},
                 local=carol, media=carol_media, remote=pbx.sip, service="40", m=10, rate=50,
                 limit=10, keys={"user": "carol"}, auth=("carol", "carolpw"), timeout=20,
                 name="uac-burst").run()
    t.sipp_ok(burst, "a burst of ten calls, hung up by the PBX at the same second")
    t.ok(pbx.wait_log(r"cdr: records synced to disk", 3, since=mark),
         "... their commits reach the disk in one sync, within a second",
         diag=lambda: tail(pbx.log_since(mark), 20))
    def written():
        return [int(n) for n in re.findall(r"cdr: the records of (\d+) calls written",
                                          pbx.log_since(mark))]
    deadline = time.time() + 5     # the first sync may come before the last commits
    while sum(written()) < 10 and time.time() < deadline:
        time.sleep(0.1)
    groups = written()
    t.ok(sum(groups) == 10 and max(groups or [0]) >= 2,
         "... in %d commits (%s calls each), not one per call" % (len(groups), groups),
         diag=lambda: tail(pbx.log_since(mark), 30))
    syncs = len(re.findall(r"cdr: records synced", pbx.log_since(mark)))

    # one more call, still up when the PBX dies: it has no record
    up = Sipp("uac_bye.xml", template={"media": SDP["pcmu"], "hold_ms": 20000},
              local="%s:5060" % net.ip(3), media="%s:%d" % (net.ip(3), net.media_port(2)),
              remote=pbx.sip, service="300", keys={"user": "carol"},
              auth=("carol", "carolpw"), timeout=30, name="uac-up").start()
    t.ok(pbx.wait_log(r"call \d+: \S* ?<?[^>]*>? ?-> 300@internal", 5),
         "call 5 (to 300) is up")
    t.ok(syncs <= 2, "one sync a second, not one per call (%d for the ten)" % syncs)
    # a last call ends: killed right after, before any sync
    res = call("last", "uac_bye.xml", "uas_answer.xml", hold_ms=300)
    t.sipp_ok(res, "a last answered call; the PBX is killed as it ends")

    # the last record was written when carol's BYE was answered: kill now
    os.killpg(pbx.proc.pid, signal.SIGKILL)
    pbx.proc.wait(timeout=5)
    t.is_(pbx.proc.returncode, -signal.SIGKILL, "the PBX is killed with SIGKILL")
    up.stop()
    got, check = rows(pbx.state_dir)
    t.is_(check, "ok", "the database is intact after the kill (integrity_check)")
    t.is_([(d, b) for _, d, b, _ in got[:4]],
          [("ANSWERED", 1), ("ANSWERED", 1), ("ANSWERED", 1), ("BUSY", 0)],
          "the four first calls' records are all there")
    t.is_([u for _, _, _, u in got[:4]], ["n1", "n2", "n3", "n4"], "... with their userfields")
    t.ok(len(got) == 15 and all(d == "ANSWERED" for _, d, _, _ in got[4:]) and
         got[-1][3] == "n16",
         "... the burst's ten, and the last call's, killed as it ended; none of the call"
         " still up", diag=lambda: repr(got))
    with open(os.path.join(pbx.state_dir, "cdr-csv", "Master.csv")) as fh:
        t.is_(len(fh.readlines()), 15, "Master.csv has the fifteen lines too")

    # started again on the same state folder: numbering goes on
    pbx2 = Pbx(CONFIG.replace("cdr_csv = true", "cdr_csv = false"),
               listen="%s:5070" % net.ip(0), start=False, name="pbx2")
    pbx2.state_dir = pbx.state_dir
    pbx2.start()
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=alice, remote=pbx.sip, keys={"user": "alice"}, auth=("alice", "alicepw"),
             timeout=10, name="register-alice2").run()
    res = call("after", "uac_bye.xml", "uas_answer.xml", hold_ms=300)
    t.sipp_ok(res, "after a restart on the same state, a call")
    wait_until(lambda: len(rows(pbx.state_dir)[0]) >= 16, 5)
    got, _ = rows(pbx.state_dir)
    t.is_([s for s, _, _, _ in got], list(range(1, 17)), "... its record is number 16")
    with open(os.path.join(pbx.state_dir, "cdr-csv", "Master.csv")) as fh:
        t.is_(len(fh.readlines()), 15, "cdr_csv = false: no line added to Master.csv")
    pbx2.finish(t)
