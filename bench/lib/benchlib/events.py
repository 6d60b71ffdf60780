"""The event API's cost: B2BUA calls/s (the b2bua figure's set-up, the
PBX's HTTP server on) with 10 WebSocket clients following every event,
against none, in the same run.

Two measures: the ramp of the b2bua figure run twice, without clients and
with them (each call publishes about ten events: newcall, ringing,
progress, answered x2, bridged, hangup x2, callend); and, since two ramps
minutes apart differ by more than the cost looked for, the PBX's CPU per
call at one fixed rate in alternating windows, clients connected in every
other one (bench/pair's method): what one client costs shows as the ratio
of the medians.  The clients (bench/events.py --clients 10, one process)
count what they get and the gaps in seq: an event lost would show."""

import json
import os
import statistics
import time

from lunatest.proc import kill_proc, spawn, workdir

from .callrate import Target, find_max_rate, run_step
from .common import BENCH, Addr, say
from .servers import BenchPbx, Callee, register_uas

TOKEN = "bench-events-token-0001"
CLIENTS = 10
PY = "/usr/bin/python3"        # Debian's python3-websockets is its module
HOLD_MS = 1000


class EventClients:
    """N WebSocket clients of /events in one process, counting."""

    def __init__(self, addr, n):
        self.url = "ws://%s:8088/events" % addr.ip(Addr.PBX)
        self.n = n
        self.dir = workdir("events-clients")
        self.stats_path = os.path.join(self.dir, "stats.json")
        self.proc = None

    def start(self):
        if os.path.exists(self.stats_path):
            os.unlink(self.stats_path)
        self.proc = spawn([PY, os.path.join(BENCH, "events.py"), "--url", self.url,
                           "--token", TOKEN, "--clients", str(self.n), "--stats",
                           self.stats_path], os.path.join(self.dir, "clients.log"))
        deadline = time.time() + 10
        while time.time() < deadline:
            if self.counts().get("connected") == self.n:
                return self
            time.sleep(0.2)
        raise RuntimeError("the %d event clients did not connect" % self.n)

    def counts(self):
        try:
            with open(self.stats_path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def stop(self):
        if self.proc is not None:
            kill_proc(self.proc, grace=1)
            self.proc = None

    def pids(self):
        return [self.proc.pid] if self.proc and self.proc.poll() is None else []


class EventTarget(Target):
    """The b2bua target with the HTTP server on, and n event clients."""

    def __init__(self, addr, n):
        super().__init__("b2bua", addr)
        self.n = n
        self.label = "lunapbx B2BUA, %d event client%s" % (n, "" if n == 1 else "s")
        self.clients = None
        self.total = {"messages": 0, "gaps": 0}   # over the restarts

    def start(self):
        self.server = BenchPbx(self.addr, extra='pbx.settings { http = { listen = "%s:8088",'
                               ' tokens = { bench = "%s" } } }' % (self.addr.ip(Addr.PBX), TOKEN))
        register_uas(self.server, self.addr)
        self.callee = Callee(self.addr, "uas_call.xml", template={"hold_ms": HOLD_MS}).start()
        self.clients = EventClients(self.addr, self.n).start() if self.n else None
        return self

    def stop(self):
        if self.clients:
            c = self.clients.counts()
            self.total["messages"] += sum(c.get("messages", []))
            self.total["gaps"] += sum(c.get("gaps", []))
            self.clients.stop()
        self.clients = None
        super().stop()


def ramp(addr, mode, n):
    target = EventTarget(addr, n)
    say("%s: ramping calls/s" % target.label)
    target.start()
    try:
        best, steps = find_max_rate(target, mode)
    finally:
        target.stop()
    return {"label": target.label, "best": best, "steps": steps,
            "messages": target.total["messages"], "gaps": target.total["gaps"]}


def paired(addr, rate, rounds, seconds):
    """CPU per call at `rate`, windows without and with the clients."""
    target = EventTarget(addr, 0).start()
    clients = EventClients(addr, CLIENTS)
    out = {"rate": rate, "none": [], "clients": [], "messages": 0, "gaps": 0, "failed": 0}
    try:
        for k in range(rounds):
            for which in ("none", "clients"):
                if which == "clients":
                    clients.start()
                st = run_step(target, rate, seconds)
                if which == "clients":
                    c = clients.counts()
                    out["messages"] += sum(c.get("messages", []))
                    out["gaps"] += sum(c.get("gaps", []))
                    clients.stop()
                say("  round %d, %s: %s" % (k + 1, which, st.line()))
                if not st.ok:
                    out["failed"] += 1
                    target.restart()
                    continue
                out[which].append(st.us_per_call)
                time.sleep(1)
    finally:
        clients.stop()
        target.stop()
    if out["none"] and out["clients"]:
        out["us_none"] = statistics.median(out["none"])
        out["us_clients"] = statistics.median(out["clients"])
        out["ratio"] = out["us_none"] / out["us_clients"] if out["us_clients"] else None
    return out


def measure(addr, mode):
    res = {"none": ramp(addr, mode, 0), "clients": ramp(addr, mode, CLIENTS)}
    a, b = res["none"]["best"], res["clients"]["best"]
    if a and b and not mode.smoke:
        rate = max(10, int(0.6 * min(a.rate, b.rate)))
        say("event clients: CPU per call at %d calls/s, alternating windows" % rate)
        res["paired"] = paired(addr, rate, 3, mode.step_s)
    return res
