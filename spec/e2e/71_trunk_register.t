#!/usr/bin/env python3
# Outbound registrations (sip.conf's register =>) against sipp registrars:
# r1 is granted 4 s and must be refreshed before it expires; r2's registrar
# is down at first (503): attempts are retried with back-off (1, 2, 3 s)
# until it comes up; r3's registrar answers 403; r4's is silent at first,
# then comes up while the REGISTER is still retransmitted.  Their state is
# read from Lua (pbx.trunks(), through a dialplan extension).  Then reloads:
# unchanged r1 goes on without a new REGISTER, removed r2 unregisters,
# removed r3 stops trying, changed r1 unregisters and registers anew.
import os
import re
import signal
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(71)         # 127.S.71.10-19
R1, R2, R3, R4 = ("%s:5060" % net.ip(i) for i in (1, 2, 3, 4))
PROBE = "%s:5060" % net.ip(5)

CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { rtp_ports = "%s" }
pbx.endpoint "probe" { secret = "probepw", context = "probe" }
pbx.context "probe" {
  -- every trunk's state, one log line each: TRUNK|key=value|...
  ["trunks"] = function(call)
    for _, t in ipairs(pbx.trunks()) do
      local f = {}
      for k, v in pairs(t) do f[#f + 1] = k .. "=" .. tostring(v) end
      table.sort(f)
      pbx.log("info", "TRUNK|" .. table.concat(f, "|"))
    end
    call:hangup(486)
  end,
}
""" % net.pbx_rtp
R1_LINE = 'pbx.register "alice:pw@%s" { name = "r1", expires = 60, timeout = 2, retry = { 1, 3 } }\n' % R1
R2_LINE = 'pbx.register "bob:pw@%s" { name = "r2", timeout = 1, retry = { 1, 3 } }\n' % R2
R3_LINE = 'pbx.register "carol:pw@%s/7000" { name = "r3", timeout = 2, retry = { 1, 3 } }\n' % R3
R4_LINE = 'pbx.register "dave:pw@%s" { name = "r4", timeout = 1 }\n' % R4
R1_CHANGED = 'pbx.register "alice:pw@%s/7001" { name = "r1", expires = 60, timeout = 2 }\n' % R1


def registrar(local, code=200, reason="OK", grant=4, label="registrar"):
    contact = "Contact: <[$curi]>;expires=%d" % grant if code == 200 else ""
    return Sipp("registrar.xml", local=local, m=1000, timeout=80, name=label,
                template={"code": code, "reason": reason, "contact": contact}).start()


def registers(res):
    """(call-id, contact) of every REGISTER a sipp registrar received."""
    return [(m.header("call-id"), m.header("contact")) for m in res.received("REGISTER")]


def stamp(line):
    h, m, s = line[:12].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


with Tap(timeout=100) as t:
    t.require_pbx()
    r1 = registrar(R1, label="r1")
    r2 = registrar(R2, code=503, reason="Service Unavailable", label="r2-down")
    r3 = registrar(R3, code=403, reason="Forbidden", label="r3")
    pbx = Pbx(CONFIG + R1_LINE + R2_LINE + R3_LINE + R4_LINE, listen="%s:5060" % net.ip(0))

    def trunks(label):
        mark = pbx.log_mark()
        r = Sipp("uac_reject.xml", local=PROBE, remote=pbx.sip, service="trunks",
                 keys={"user": "probe"}, auth=("probe", "probepw"), timeout=10, name=label,
                 template={"media": SDP["pcmu"], "code": 486}).run()
        if r.rc != 0:
            t.diag(r.diag())
        out = {}
        for line in re.findall(r"TRUNK\|(.*)", pbx.log_since(mark)):
            d = dict(kv.split("=", 1) for kv in line.split("|"))
            out[d.get("name")] = d
        return out

    def reload(config, expect):
        mark = pbx.log_mark()
        with open(pbx.config_path, "w") as f:
            f.write(config)
        os.kill(pbx.proc.pid, signal.SIGHUP)
        pbx.wait_log(expect, 5, since=mark)
        return mark

    # -- r1: registered, then refreshed before it expires -------------------
    m = pbx.wait_log(r"^(\S+) info  register r1: registered with %s, expires in 4 s"
                     % re.escape(R1), 5)
    t.ok(m, "r1 registers; the registrar grants 4 s of the 60 asked",
         diag=lambda: pbx.log_tail(15))
    m2 = pbx.wait_log(r"^(\S+) info  register r1: refreshed with %s, expires in 4 s"
                      % re.escape(R1), 6)
    t.ok(m2, "r1 is refreshed", diag=lambda: pbx.log_tail(15))
    if m and m2:
        gap = stamp(m2.group(1)) - stamp(m.group(1))
        t.ok(3.0 <= gap < 4.0, "... %.1f s after, before the 4 s ran out" % gap)
    else:
        t.ok(False, "... before the 4 s ran out")

    # -- r3: 403, a failure it says -----------------------------------------
    t.ok(pbx.wait_log(r"register r3: failed \(403 Forbidden\), attempt 1; next in 1 s", 5),
         "r3's registrar answers 403: failed, retried in 1 s")

    # -- r4: its registrar is silent ----------------------------------------
    t.ok(pbx.wait_log(r"register r4: no answer within 1 s, attempt 1; still retransmitted", 3),
         "r4's registrar is silent: failed after 1 s, the REGISTER still retransmitted")

    # -- r2: registrar down (503), back-off 1, 2, 3 s ---------------------
    rx = r"^(\S+) warn  register r2: failed \(503 Service Unavailable\), attempt (\d); next in (\d+) s"
    fails = pbx.wait_log(r"register r2: failed .*attempt 3;", 10) and re.findall(
        rx, pbx.log_text(), re.M)
    t.is_([(int(a), int(w)) for _, a, w in fails or []][:3], [(1, 1), (2, 2), (3, 3)],
          "r2's registrar is down (503): retried after 1, 2, 3 s", diag=lambda: pbx.log_tail(20))
    if fails and len(fails) >= 3:
        d1 = stamp(fails[1][0]) - stamp(fails[0][0])
        d2 = stamp(fails[2][0]) - stamp(fails[1][0])
        t.ok(0.8 < d1 < 1.8 and 1.8 < d2 < 2.8,
             "... the attempts are %.1f and %.1f s apart" % (d1, d2))
    else:
        t.ok(False, "... the attempts are spaced by the back-off")

    st = trunks("probe-1")
    s1, s2, s3 = st.get("r1", {}), st.get("r2", {}), st.get("r3", {})
    t.is_(sorted(st), ["r1", "r2", "r3", "r4"], "pbx.trunks() lists the four registrations")
    t.is_((s1.get("kind"), s1.get("state"), s1.get("server"), s1.get("reachable")),
          ("register", "registered", R1, "true"), "r1: kind register, registered, its server")
    t.ok(0 <= int(s1.get("expires_in", -1)) <= 4, "r1: expires_in %s s" % s1.get("expires_in"))
    t.is_((s2.get("state"), s2.get("reachable")), ("failed", "false"), "r2: failed, not reachable",
          diag=repr(s2))
    t.ok(int(s2.get("failures", 0)) >= 3 and "retry_in" in s2,
         "r2: %s failures, next try in %s s" % (s2.get("failures"), s2.get("retry_in")))
    t.is_(s2.get("last_error"), "503 Service Unavailable", "r2: last_error")
    t.is_((s3.get("state"), s3.get("last_error")), ("failed", "403 Forbidden"),
          "r3: failed, last_error 403 Forbidden")
    s4 = st.get("r4", {})
    t.is_((s4.get("state"), s4.get("failures"), s4.get("last_error"), "retry_in" in s4),
          ("failed", "1", "no answer within 1 s", False),
          "r4: failed, no answer within 1 s, no retry time (SIP is still retransmitting)",
          diag=repr(s4))
    t.ok("expires_in" not in s2 and "expires_in" not in s3, "no expires_in when not registered")

    # -- r4's registrar comes up: the retransmitted REGISTER gets through -------
    mark = pbx.log_mark()
    r4 = registrar(R4, grant=60, label="r4")
    t.ok(pbx.wait_log(r"register r4: registered with %s" % re.escape(R4), 6, since=mark),
         "r4's registrar comes up: registered by the REGISTER still being retransmitted")

    # -- r2's registrar comes up --------------------------------------------
    r2.stop()
    mark = pbx.log_mark()
    r2 = registrar(R2, grant=60, label="r2")
    t.ok(pbx.wait_log(r"register r2: registered with %s" % re.escape(R2), 6, since=mark),
         "r2's registrar comes up: the next retry registers",
         diag=lambda: pbx.log_tail(10))
    s2 = trunks("probe-2").get("r2", {})
    t.is_((s2.get("state"), s2.get("failures"), s2.get("expires_in", "")[:1]),
          ("registered", "0", "6"), "r2: registered, failures back to 0, expires in ~60 s",
          diag=repr(s2))

    # -- reload: r1 unchanged, r2 and r3 removed ----------------------------
    mark = reload(CONFIG + R1_LINE + R4_LINE, r"reload: generation 2")
    log = pbx.log_since(mark)
    t.like(log, r"reload: register r1 unchanged", "reload: r1 unchanged, left alone")
    t.like(log, r"reload: register r2 removed", "reload: r2 removed ...")
    t.like(log, r"register r2: unregistering", "... and unregistered")
    t.like(log, r"reload: register r3 removed", "reload: r3 removed")
    time.sleep(3.5)
    later = pbx.log_since(mark)
    t.unlike(later, r"register r3: failed", "r3 tries no more")
    regs4 = registers(r4.stop())
    t.is_(len({c for c, _ in regs4}), 1, "r4's registrar saw one registration, retransmitted:"
          " no stray REGISTER from an abandoned attempt", diag=lambda: "\n".join(map(repr, regs4)))
    t.like(later, r"register r1: refreshed", "r1 is still refreshed")
    res2 = r2.stop()
    regs2 = registers(res2)
    t.ok(regs2 and re.search(r"expires=0\b", regs2[-1][1] or "")
         and len({c for c, _ in regs2}) == 1,
         "r2's registrar got the un-REGISTER (expires=0) on the same Call-ID",
         diag=lambda: "\n".join(map(repr, regs2)))

    # -- reload: r1 changed (contact user and expiry) -----------------------
    mark = reload(CONFIG + R1_CHANGED + R4_LINE, r"register r1: registered")
    log = pbx.log_since(mark)
    t.like(log, r"reload: register r1 changed: registering again", "reload: r1 changed")
    t.like(log, r"register r1: registered with", "... it registers again")
    time.sleep(0.5)
    regs1 = registers(r1.stop())
    ids = []
    for cid, _ in regs1:
        if cid not in ids:
            ids.append(cid)
    old = [c for cid, c in regs1 if ids and cid == ids[0]]
    new = [c for cid, c in regs1 if len(ids) > 1 and cid == ids[1]]
    t.is_(len(ids), 2, "r1's registrar saw two registrations in all: the first reload made none",
          diag=lambda: "\n".join(map(repr, regs1)))
    t.ok(len(old) >= 3 and re.search(r"expires=0\b", old[-1] or ""),
         "the old one: %d REGISTERs (first and refreshes), then its un-REGISTER" % len(old))
    t.ok(new and re.search(r"<sip:7001@%s" % re.escape(net.ip(0)), new[0] or ""),
         "the new one registers contact 7001", diag=repr(new))

    st = trunks("probe-3")
    t.is_(sorted(st), ["r1", "r4"], "pbx.trunks() now lists r1 and r4")
    t.is_(st.get("r1", {}).get("state"), "registered", "... registered")
    r3.stop()
    pbx.finish(t)
