"""bench/run --mode soak --minutes N: the PBX under a steady mixed load for
N minutes -- bridged calls with RTP both ways (held for the whole run),
calls answered by the dialplan (a new one every 1/R s, each 1 s long) and
registrations with digest (kept in the SQLite store) -- at 80 % of the
figures bench/run finds (a quick ramp first, or --figures FILE from an
earlier bench/run --json, or --load answer=R,bridged=C,register=G); the
loads run together on the machine each figure had to itself, so each
takes its 80 % times --share (0.5).

Every 10 s: the PBX's RSS and what malloc has handed out of it (heap in
use: RSS minus what the allocator keeps for itself), Lua memory (after a
full collection), file descriptors, timers, live calls and registered
contacts.  After the
warm-up (the first fifth, at least 30 s) each series' slope is fitted;
it must be flat: the fitted change over the rest of the run within a
bound per series (below).  At the end every call must be gone, and no
call may have failed.
"""

import re
import threading
import time

from lunatest.console import console_exec
from lunatest.sipclient import SipClient, challenge_of, digest

from . import callrate, media
from .common import Addr, CpuMeter, Mode, fd_count, rss_kb, say
from .sippload import SippLoad, failed_calls, ok_calls

SAMPLE_S = 10
REG_USERS = 1000          # at most; all register once within the warm-up
REG_EXPIRES = 600
# A series is flat when its fitted change over the measured part of the
# run stays within: a fraction of its mean, plus an allowance (the
# sample is a snapshot: calls in progress come and go).
FLAT = {"rss_kb": (0.02, 2048), "heap_kb": (0.02, 2048), "lua_bytes": (0.05, 262144), "fds": (0.1, 12),
        "timers": (0.1, 200), "calls": (0.1, 20), "contacts": (0.0, 5)}
# Memory is judged on its growth only: a leak grows, and memory the
# allocator gives back to the kernel (jemalloc's decay) is no fault.  The
# counts are judged both ways: descriptors, calls or contacts that fall
# are calls or registrations lost.
GROWTH_ONLY = ("rss_kb", "heap_kb", "lua_bytes")

USERS_CONFIG = """\
-- each dialog refreshed every 45 s (RFC 4028's least): an hour's soak
-- holds some eighty refreshes per bridged call, answered by the sipp ends
pbx.settings { session_expires = 90 }
for i = 0, %d do
  pbx.endpoint("r" .. i) { secret = "rpw" .. i, context = "bench" }
end
"""


def parse_load(text):
    out = {}
    for part in (text or "").split(","):
        if part.strip():
            k, v = part.split("=")
            out[k.strip()] = int(v)
    return out


def figures_from(path):
    import json
    with open(path) as f:
        r = json.load(f)
    return {"answer": r["answer"]["best"]["rate"], "bridged": r["bridged"]["best"]["calls"]}


def find_figures(addr):
    """A quick ramp of the two figures the soak takes 80 % of."""
    say("soak: a quick ramp first, for the figures")
    mode = Mode("quick")
    a = callrate.measure("answer", addr, mode)
    b = media.find_max_calls("bridged", addr, mode)
    if not a.get("best") or not b.get("best"):
        raise RuntimeError("the ramp found no figure to take 80 % of")
    return {"answer": a["best"].rate, "bridged": b["best"]["calls"]}


class RegLoad(threading.Thread):
    """REGISTERs with digest at `rate` a second, phones r0..r999 in turn
    (sipp cannot take a user name from its -inf file in [authentication]:
    written and hashed here, lunatest/sipclient.py)."""

    def __init__(self, local_ip, port, pbx, rate, seconds, users):
        super().__init__(daemon=True)
        self.users = users
        self.c = SipClient(local_ip, port, (pbx.ip, pbx.port))
        self.ruri = "sip:%s" % pbx.sip
        self.rate, self.seconds = rate, seconds
        self.ok = self.failed = 0
        self.stopping = False

    def one(self, i):
        user, pw = "r%d" % (i % self.users), "rpw%d" % (i % self.users)
        hdr = ["Expires: %d" % REG_EXPIRES]
        ch = challenge_of(self.c.request("REGISTER", self.ruri, user=user, headers=hdr))
        r = None
        if ch:
            r = self.c.request("REGISTER", self.ruri, user=user, headers=hdr, auth=(
                "Authorization", digest(ch, user, pw, "REGISTER", self.ruri)))
        if r is not None and r.code == 200:
            self.ok += 1
        else:
            self.failed += 1

    def run(self):
        t0, i = time.time(), 0
        while not self.stopping and i < self.rate * self.seconds:
            wait = t0 + i / float(self.rate) - time.time()
            if wait > 0:
                time.sleep(wait)
            try:
                self.one(i)
            except Exception:            # noqa: BLE001 -- counted, never fatal
                self.failed += 1
            i += 1
        self.c.close()

    def stop(self):
        self.stopping = True

    def wait(self, timeout):
        self.join(timeout)


def stats(pbx):
    r = console_exec(pbx, "local s = pbx.stats(true) return ('%d %d %d %d %d'):format("
                          "s.calls, s.lua_bytes, s.timers, s.contacts, s.heap_bytes)",
                     timeout=10)
    m = re.search(r"(\d+) (\d+) (\d+) (\d+) (\d+)", r.out)
    if r.rc != 0 or not m:
        return None
    calls, lua, timers, contacts, heap = (int(x) for x in m.groups())
    return {"calls": calls, "lua_bytes": lua, "timers": timers, "contacts": contacts,
            "heap_kb": heap // 1024}


def slope(points):
    """Least-squares slope of (t, y) points, per second."""
    n = len(points)
    if n < 3:
        return 0.0
    mt = sum(t for t, _ in points) / n
    my = sum(y for _, y in points) / n
    den = sum((t - mt) ** 2 for t, _ in points)
    return sum((t - mt) * (y - my) for t, y in points) / den if den else 0.0


def judge(samples, warmup_s):
    """Per series: slope (per minute), fitted change, bound, flat?"""
    t_end = samples[-1]["t"]
    rest = [s for s in samples if s["t"] >= warmup_s]
    span = t_end - warmup_s
    out = {}
    for key, (frac, allow) in FLAT.items():
        pts = [(s["t"], s[key]) for s in rest if s.get(key) is not None]
        if len(pts) < 3:
            out[key] = {"flat": False, "why": "too few samples"}
            continue
        k = slope(pts)
        mean = sum(y for _, y in pts) / len(pts)
        change = k * span
        bound = frac * mean + allow
        out[key] = {"per_min": round(k * 60, 2), "change": round(change, 1),
                    "bound": round(bound, 1), "mean": round(mean, 1),
                    "first": pts[0][1], "last": pts[-1][1],
                    "flat": (change if key in GROWTH_ONLY else abs(change)) <= bound}
    return out


def run(addr, minutes, load=None, figures_path=None, share=0.5):
    """share: each figure was measured with the machine to itself; the
    soak runs the loads together (and their generators, on the same
    cores), each at 80 % of its figure times this share."""
    load = dict(load or {})
    if not ({"answer", "bridged"} <= set(load)):
        fig = figures_from(figures_path) if figures_path else find_figures(addr)
        load.setdefault("answer", max(1, int(0.8 * share * fig["answer"])))
        load.setdefault("bridged", max(1, int(0.8 * share * fig["bridged"])))
        load["figures"] = fig
        load["share"] = share
    load.setdefault("register", 20)
    secs = int(minutes * 60)
    say("soak: %d min, %d bridged calls with RTP, %d answered calls/s, %d registrations/s"
        % (minutes, load["bridged"], load["answer"], load["register"]))

    # every phone registers once within the warm-up, then again in turn
    # (its contact and timer replaced): contacts stay flat after it
    warmup = max(30, secs // 5)
    users = max(10, min(REG_USERS, load["register"] * warmup))
    load["phones"] = users
    # the bridged calls end on their own when the soak does
    run_ = media.MediaRun("bridged", addr, extra_config=USERS_CONFIG % (users - 1),
                          hold_ms=(secs + 20) * 1000)
    res = {"load": load, "minutes": minutes, "samples": []}
    answer = reg = None
    try:
        run_.start()
        pbx = run_.pbx
        t0 = time.time()
        if not run_.add_calls(load["bridged"]):
            raise RuntimeError("bridged calls: " + run_.setup_error)
        answer = SippLoad("uac_call.xml", local="%s:5090" % addr.ip(Addr.UAC),
                          media="%s:5190" % addr.ip(Addr.UAC), remote=pbx.sip,
                          service="100", rate=load["answer"], calls=load["answer"] * secs,
                          recv_timeout_ms=10000, name="soak-answer").start()
        reg = RegLoad(addr.ip(Addr.LOAD), 5092, pbx, load["register"], secs, users)
        reg.start()
        meter = CpuMeter(pbx.pids)
        rtp0 = run_.load.report() if run_.load else None
        start = time.time()
        while time.time() - start < secs:
            time.sleep(SAMPLE_S - (time.time() - start) % SAMPLE_S)
            s = stats(pbx) or {}
            s.update({"t": round(time.time() - start, 1), "rss_kb": rss_kb(pbx.proc.pid),
                      "fds": fd_count(pbx.proc.pid), "cpu": round(meter.share(), 3)})
            meter.mark()
            res["samples"].append(s)
            say("  %4.0f s: RSS %d KB (heap in use %s KB), Lua %d B, %d fds, %d timers, %s calls,"
                " %s contacts, CPU %.0f%%" % (s["t"], s["rss_kb"], s.get("heap_kb"),
                                               s.get("lua_bytes", -1), s["fds"],
                                 s.get("timers", -1), s.get("calls"), s.get("contacts"),
                                 100 * s["cpu"]))
        # RTP of the bridged calls, while they are all up
        if rtp0:
            r1 = run_.load.report()
            res["bridged_rtp"] = {"rx": r1["rx"] - rtp0["rx"], "lost": r1["lost"] - rtp0["lost"],
                                  "late": r1["late"] - rtp0["late"], "silent": r1["silent"],
                                  "delay_max_ms": r1["delay_max_us"] / 1000.0}
        # the load ends: answered calls finish, bridged ones hang up
        answer.wait(60)
        reg.wait(60)
        ended = None
        deadline = time.time() + 90
        while time.time() < deadline:
            s = stats(pbx)
            if s and s["calls"] == 0:
                ended = time.time() - start - secs
                break
            time.sleep(1)
        end = stats(pbx) or {}
        res["end"] = {"calls": end.get("calls"), "seconds_after": ended,
                      "rss_kb": rss_kb(pbx.proc.pid), "fds": fd_count(pbx.proc.pid),
                      "timers": end.get("timers"), "lua_bytes": end.get("lua_bytes")}
        a = answer.stats()
        res["answered"] = {"ok": ok_calls(a), "failed": failed_calls(a)}
        res["registered"] = {"ok": reg.ok, "failed": reg.failed}
        res["alive"] = pbx.alive()
        res["pbx_log_tail"] = pbx.log_tail(10)
    finally:
        for x in (answer, reg):
            if x is not None:
                x.stop()
        run_.stop()
    res["warmup_s"] = warmup
    res["series"] = judge(res["samples"], res["warmup_s"]) if len(res["samples"]) >= 3 else {}
    res["ok"], res["why"] = verdict(res)
    return res


def verdict(res):
    why = []
    if not res.get("alive"):
        why.append("the PBX died")
    for k, v in res.get("series", {}).items():
        if not v.get("flat"):
            why.append("%s not flat (%s)" % (k, v.get("why") or "%+.0f over the run, bound %.0f"
                                             % (v["change"], v["bound"])))
    end = res.get("end", {})
    if end.get("calls") != 0:
        why.append("%s calls left at the end" % end.get("calls"))
    for k in ("answered", "registered"):
        if res.get(k, {}).get("failed"):
            why.append("%d %s failed" % (res[k]["failed"], k))
    rtp = res.get("bridged_rtp") or {}
    if rtp.get("silent"):
        why.append("%d bridged calls went silent" % rtp["silent"])
    return not why, "; ".join(why)


def table(res):
    L = res["load"]
    lines = ["", "Soak, %s min: %d bridged calls with RTP, %d answered calls/s, %d REGISTERs/s"
             " (%d phones)%s"
             % (res["minutes"], L["bridged"], L["answer"], L["register"], L.get("phones", 0),
                " (80 %% x %.2f of the figures: answer %d/s, bridged %d)"
                % (L["share"], L["figures"]["answer"], L["figures"]["bridged"])
                if "figures" in L else ""), "",
             "| series | after warm-up | last | slope per min | change over the run | bound | flat |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for k, v in res.get("series", {}).items():
        if "per_min" in v:
            lines.append("| %s | %s | %s | %+.2f | %+.0f | %.0f | %s |"
                         % (k, v["first"], v["last"], v["per_min"], v["change"], v["bound"],
                            ("yes (falls)" if v["change"] < -v["bound"] else "yes")
                            if v["flat"] else "**no**"))
    end = res.get("end", {})
    rtp = res.get("bridged_rtp") or {}
    lines += ["", "answered calls: %s ok, %s failed; registrations: %s ok, %s failed; bridged RTP:"
              " %s packets back, %s lost, %s late; calls left at the end: %s (%s s after the load)"
              % (res.get("answered", {}).get("ok"), res.get("answered", {}).get("failed"),
                 res.get("registered", {}).get("ok"), res.get("registered", {}).get("failed"),
                 rtp.get("rx"), rtp.get("lost"), rtp.get("late"), end.get("calls"),
                 None if end.get("seconds_after") is None else round(end["seconds_after"], 1)),
              "verdict: %s" % ("flat, nothing left" if res["ok"] else "FAILED: " + res["why"])]
    return "\n".join(lines) + "\n"
