#!/usr/bin/env python3
# The benchmark scripts still work: bench/run --mode smoke puts a few calls
# through every scenario (answered, B2BUA, Kamailio when installed, the
# relay ceiling, bridged calls with RTP, music on hold when the PBX has it,
# B2BUA calls with 10 WebSocket event clients,
# voicemail deposits and VoiceMailMain logins, memory per call, reload, the
# conference mixer without SIP, conference rooms with SIP calls) and prints
# its table; bench/pair compares two
# PBXs' media CPU.  No figure is judged here: benchmarks print numbers, they
# are not timed tests.
import json
import os
import shutil
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(90)         # bench/run --net 90: 127.S.90.10-15

with Tap(timeout=260) as t:
    t.require_pbx()
    for tool in ("relay", "rtpload"):
        if not os.access(os.path.join(ROOT, "build", "bench", tool), os.X_OK):
            t.skip_all("build/bench/%s not built (make check builds it)" % tool)

    out = os.path.join(workdir("bench"), "results.json")
    p = subprocess.run([os.path.join(ROOT, "bench", "run"), "--mode", "smoke", "--net", "90",
                        "--json", out], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=210)
    progress = lambda: "---- progress ----\n%s\n---- table ----\n%s" % (tail(p.stderr, 40),
                                                                       p.stdout)
    t.is_(p.returncode, 0, "bench/run --mode smoke exits 0", diag=progress)
    t.like(p.stdout, r"\| figure \| lunapbx \| reference", "... and prints the table")
    res = json.load(open(out)) if os.path.exists(out) else {}

    def best(name):
        return (res.get(name) or {}).get("best") or {}

    # -- call rates: 10 calls/s for 1 s, no call may fail -------------------
    for name, what in (("answer", "answered by the Lua dialplan"),
                       ("b2bua", "through call:dial to a sipp callee")):
        b = best(name)
        t.ok(b.get("ok") and b.get("rate") == 10 and b.get("answered") == 10,
             "10 calls/s %s: all 10 answered (%s)" % (what, b.get("reason") or "ok"),
             diag=progress)
        t.ok("us_per_call" in b, "... with the PBX's CPU per call (%s us)"
             % round(b.get("us_per_call", 0)))
    if shutil.which("kamailio"):
        b = best("kamailio")
        t.ok(b.get("ok") and b.get("answered") == 10,
             "Kamailio, the reference, proxies the same 10 calls", diag=progress)
    else:
        t.skip("Kamailio proxies the same 10 calls", "kamailio not installed (make bench does)")
    t.like(p.stdout, r"calls/s answered by the Lua dialplan \| \*\*10\*\*",
           "the table shows the answered calls/s")

    # -- the event API's cost: the same B2BUA calls with 10 clients ------------
    ev = res.get("events") or {}
    b = (ev.get("clients") or {}).get("best") or {}
    t.ok(b.get("ok") and b.get("answered") == 10 and (ev.get("clients") or {}).get("messages", 0)
         > 10 * 10 and (ev.get("clients") or {}).get("gaps") == 0,
         "10 B2BUA calls/s with 10 WebSocket clients: all answered, the clients got %s events,"
         " none lost" % (ev.get("clients") or {}).get("messages"), diag=progress)

    # -- media ---------------------------------------------------------------
    r = res.get("relay") or {}
    t.ok(r.get("per_core", 0) > 1000, "the UDP relay moved packets (%s per CPU second)"
         % r.get("per_core"), diag=progress)
    b = best("bridged")
    t.ok(b.get("calls") == 10 and b.get("rx", 0) > 0 and b.get("ok"),
         "10 bridged calls: RTP sent by rtpload came back through the PBX and the echo"
         " (%s packets, loss %s)" % (b.get("rx"), b.get("loss")), diag=progress)
    moh = res.get("moh") or {}
    if "skipped" in moh:
        t.like(p.stdout, r"music on hold \| skipped: .*call:moh",
               "music on hold: skipped with its reason in the table (%s)" % moh["skipped"])
    else:
        b = best("moh")
        t.ok(b.get("calls") == 10 and b.get("rx", 0) > 0,
             "10 calls hear music on hold from the PBX (%s packets)" % b.get("rx"),
             diag=progress)

    # -- voicemail ---------------------------------------------------------------
    v = res.get("voicemail") or {}
    d = (v.get("deposits") or {}).get("best") or {}
    t.ok(d.get("calls") == 10 and d.get("stored") == 10 and d.get("ok"),
         "10 concurrent voicemail deposits with RTP streamed: 10 messages stored (shortest"
         " %s s)" % d.get("shortest_s"), diag=progress)
    lg = (v.get("logins") or {}).get("best") or {}
    t.ok(lg.get("logins") == 10 and lg.get("ok"),
         "VoiceMailMain: 10 logins by SIP INFO keys (%s us per session)"
         % lg.get("us_per_login"), diag=progress)

    # -- memory, reload --------------------------------------------------------
    m = res.get("memory") or {}
    for kind in ("bridged", "answered"):
        k = m.get(kind) or {}
        t.ok(k.get("calls") == 10 and k.get("rss_kb") is not None and k.get("lua_bytes", 0) > 0,
             "memory per %s call: %s KB RSS, %s bytes of Lua" % (kind, k.get("rss_kb"),
                                                               k.get("lua_bytes")),
             diag=lambda: "%r\n%s" % (k, progress()))
    t.is_((m.get("bridged") or {}).get("fds"), 4.0,
          "a bridged call holds 4 file descriptors (RTP + RTCP per leg)")
    rl = res.get("reload") or {}
    dp, ph = rl.get("dialplan") or {}, rl.get("phones") or {}
    t.ok(dp.get("extensions") == 1000 and dp.get("median_ms", 0) > 0,
         "reload of a generated 1000-extension dialplan timed from the log (%s ms)"
         % dp.get("median_ms"), diag=progress)
    t.ok(ph.get("endpoints") == 1000 and ph.get("median_ms", 0) > 0,
         "... and with its 1000 phones declared as endpoints (%s ms)" % ph.get("median_ms"),
         diag=progress)

    # -- the conference mixer, without SIP (build/bench/mixbench) ---------------
    mx = res.get("mixer") or {}
    a = mx.get("alone") or {}
    # two talkers mixed per tick, but for the first ticks of the talk
    # detection's hysteresis (a loaded machine runs few ticks: 1.98)
    t.ok(a.get("members_per_core", 0) > 0 and abs(a.get("mixed_per_tick", 0) - 2) < 0.1,
         "the mixer alone mixed rooms of 10, two talkers each (%s us per member per tick)"
         % a.get("us_per_member_tick"), diag=progress)
    for key, what in (("rooms", "a room of 10"), ("single", "the single room, 10 members")):
        b = (mx.get(key) or {}).get("best") or {}
        t.ok(b.get("members") == 10 and b.get("talkers") == 2 and b.get("ok"),
             "%s on RTP: two talkers mixed, the mix back to each, nothing lost or late (%s)"
             % (what, b.get("reason") or b.get("rx")), diag=progress)
    t.like(p.stdout, r"conference members on RTP, rooms of 10 \(2 talkers\), no SIP \| \*\*10\*\*",
           "the table shows the conference members")

    # -- conference rooms with SIP calls through the PBX (confbridge.join) --------
    cf = res.get("conference") or {}
    for key, what in (("rooms", "a room of 10 SIP participants"),
                      ("single", "the single room, 10 SIP participants")):
        b = (cf.get(key) or {}).get("best") or {}
        t.ok(b.get("members") == 10 and b.get("legs") == 10 and b.get("talkers") == 2
             and b.get("ok"),
             "%s: in the room, two talking, the mix back to each, nothing lost or late (%s)"
             % (what, b.get("reason") or b.get("rx")), diag=progress)
    t.like(p.stdout, r"conference participants \(SIP calls\), rooms of 10, 2 talkers \| \*\*10\*\*",
           "the table shows the conference participants")

    # -- bench/pair: the same build twice, side by side -------------------------
    p = subprocess.run([os.path.join(ROOT, "bench", "pair"), "--calls", "10", "--rounds", "2",
                        "--window", "1", "--net", "97", pbx_binary(), pbx_binary()],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    t.is_(p.returncode, 0, "bench/pair holds 10 bridged calls on each of two PBXs, no loss",
          diag=lambda: p.stdout + tail(p.stderr, 30))
    t.like(p.stdout, r"median B/A \d+\.\d+ over 2 windows of 10 (bridged )?calls",
           "... and prints the two PBXs' CPU ratio")

    # -- the call center: calls through a queue, callers waiting with music -----
    b = best("queue")
    q = b.get("queue") or {}
    t.ok(b.get("ok") and b.get("answered") == 10 and q.get("stuck") == 0,
         "10 calls/s through a queue to sipp agents: all 10 answered by an agent, none stuck"
         " (%s)" % (b.get("reason") or q), diag=progress)
    b = best("queued")
    t.ok(b.get("calls") == 10 and b.get("rx", 0) > 0,
         "10 callers waiting in a queue hear its music (%s packets)" % b.get("rx"),
         diag=progress)
