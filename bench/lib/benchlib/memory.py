"""Figure 5: memory per established call (process RSS growth, bridged and
answered by the PBX), Lua memory per call (after a full collection), and
file descriptors per call (the open-files limit is 20000 here)."""

import time

from .common import say
from .media import MediaRun


def per_call(kind, addr, calls):
    """Held calls without RTP: a base of calls/10 first (the allocator's
    and Lua's first growth is not the calls' cost), then `calls` more."""
    run = MediaRun(kind, addr, rtp=False).start()
    try:
        base_n = max(2, calls // 10)
        if not run.add_calls(base_n):
            return {"error": "the first %d calls were not answered" % base_n}
        time.sleep(1)
        rss0, fds0, st0 = run.pbx.rss_kb(), run.pbx.fds(), run.pbx.stats()
        if not run.add_calls(calls):
            return {"error": "%d calls were not all answered" % calls}
        time.sleep(1)
        rss1, fds1, st1 = run.pbx.rss_kb(), run.pbx.fds(), run.pbx.stats()
        n = st1["calls"] - st0["calls"]
        if n <= 0:
            return {"error": "the PBX holds no more calls (%r -> %r)" % (st0, st1)}
        res = {"calls": n, "rss_kb": round((rss1 - rss0) / n, 2),
               "lua_bytes": round((st1["lua_bytes"] - st0["lua_bytes"]) / n),
               "fds": round((fds1 - fds0) / n, 2), "rss_total_kb": rss1,
               "held": st1["calls"]}
    finally:
        run.stop()
    say("  memory, %s: %d calls: %.1f KB RSS, %d bytes of Lua, %.2f fds per call"
        % (kind, n, res["rss_kb"], res["lua_bytes"], res["fds"]))
    return res


def measure(addr, mode):
    say("memory per call")
    return {"bridged": per_call("bridged", addr, mode.mem_calls),
            "answered": per_call("answered", addr, mode.mem_calls)}
