#!/usr/bin/env python3
# make test's soak: bench/run --mode soak for SOAK_MINUTES (default 2) at a
# fixed small load (20 bridged calls with RTP both ways held throughout,
# 20 calls/s answered by the dialplan, 5 REGISTERs/s with digest into the
# store): RSS, Lua memory, descriptors, timers, live calls and contacts
# sampled every 10 s must stay flat after the warm-up, no call or
# registration may fail, and no call may be left when the load ends.  The
# hour-long run is in the README (make soak).
import json
import os
import subprocess
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(92)         # bench/run --net 92: 127.S.92.10-15
MINUTES = float(os.environ.get("SOAK_MINUTES", "2"))

with Tap(timeout=int(MINUTES * 60) + 180) as t:
    t.require_pbx()
    for tool in ("relay", "rtpload"):
        if not os.access(os.path.join(ROOT, "build", "bench", tool), os.X_OK):
            t.skip_all("build/bench/%s not built (make check builds it)" % tool)
    out = os.path.join(workdir("soak"), "soak.json")
    p = subprocess.run([os.path.join(ROOT, "bench", "run"), "--mode", "soak", "--minutes",
                        str(MINUTES), "--load", "answer=20,bridged=20,register=5",
                        "--net", "92", "--json", out], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=int(MINUTES * 60) + 150)
    t.note(p.stdout)
    res = json.load(open(out)) if os.path.exists(out) else {}
    progress = lambda: "---- progress ----\n%s" % tail(p.stderr, 30)
    t.ok(len(res.get("samples", [])) >= int(MINUTES * 6) - 1,
         "a sample every 10 s (%d)" % len(res.get("samples", [])), diag=progress)
    for k, v in sorted(res.get("series", {}).items()):
        t.ok(v.get("flat"), "%s flat after the warm-up (%s over the run, bound %s)"
             % (k, v.get("change"), v.get("bound")), diag=progress)
    t.is_(res.get("answered", {}).get("failed"), 0, "no answered call failed (%s ok)"
          % res.get("answered", {}).get("ok"))
    t.is_(res.get("registered", {}).get("failed"), 0, "no registration failed (%s ok)"
          % res.get("registered", {}).get("ok"))
    rtp = res.get("bridged_rtp") or {}
    t.ok(rtp.get("rx", 0) > 0 and not rtp.get("silent"),
         "bridged RTP flowed both ways throughout (%s packets back, %s lost)"
         % (rtp.get("rx"), rtp.get("lost")))
    t.is_((res.get("end") or {}).get("calls"), 0, "no call left when the load ended")
    t.is_(p.returncode, 0, "bench/run --mode soak: flat, nothing left", diag=progress)
