"""Figure 6: time to hot-reload a generated dialplan of 1000 extensions, and
the same with the 1000 phones they ring declared as endpoints, read from
the PBX's own log line "reload: generation N in force (E endpoints), M.m ms"."""

import os
import re
import signal
import statistics

from lunatest.pbx import Pbx

from .common import Addr, say

EXTENSIONS = 1000
RELOADED = re.compile(r"reload: generation (\d+) in force \((\d+) endpoints\), (\d+\.\d) ms")


def generate(n, rtp, phones):
    """A 1000-phone office in the style of the default dialplan: one
    extension per phone, and (phones=True) one endpoint per phone."""
    out = ['local pbx = require "lunapbx"',
           'pbx.settings { realm = "bench", rtp_ports = "%s" }' % rtp,
           "local function phone(t) t.context = \"office\" t.allow = { \"PCMU\", \"PCMA\" }"
           " return t end"]
    for i in range(n if phones else 0):
        out.append('pbx.endpoint "u%d" (phone { secret = "s%08x", callerid = \'"User %d" <%d>\' })'
                   % (1000 + i, (i * 2654435761) & 0xffffffff, i, 1000 + i))
    out.append('pbx.context "office" {')
    for i in range(n):
        out.append('  ["%d"] = function(call) call:dial("u%d", { timeout = 20 }) end,'
                   % (1000 + i, 1000 + i))
    out += ['  ["_9XXX"] = function(call) call:answer() pbx.sleep(1) call:hangup() end,', "}"]
    return "\n".join(out) + "\n"


def reload_times(addr, runs, phones):
    pbx = Pbx(generate(EXTENSIONS, "20000-20999", phones), listen=addr.sip(Addr.PBX),
              verbose=False, name="pbx-reload")
    times, endpoints = [], 0
    try:
        for _ in range(runs):
            mark = pbx.log_mark()
            os.kill(pbx.proc.pid, signal.SIGHUP)
            m = pbx.wait_log(RELOADED.pattern, 10, since=mark)
            if not m:
                return {"error": "no reload line in the log:\n" + pbx.log_tail(5)}
            times.append(float(m.group(3)))
            endpoints = int(m.group(2))
        config_kb = os.path.getsize(pbx.config_path) / 1024
    finally:
        pbx.stop()
    res = {"extensions": EXTENSIONS, "endpoints": endpoints, "runs": len(times),
           "median_ms": round(statistics.median(times), 2), "max_ms": round(max(times), 2),
           "config_kb": round(config_kb)}
    say("  reload: median %.1f ms, max %.1f ms over %d reloads (%d extensions, %d endpoints,"
        " %d KB of Lua)" % (res["median_ms"], res["max_ms"], len(times), EXTENSIONS,
                            endpoints, res["config_kb"]))
    return res


def measure(addr, mode):
    say("reload of %d extensions" % EXTENSIONS)
    return {"dialplan": reload_times(addr, mode.reload_runs, False),
            "phones": reload_times(addr, mode.reload_runs, True)}
