"""Figures 1 and 2, and Kamailio's reference: calls per second, ramped
until calls fail; the highest rate with no failed call, and the server's
CPU at that rate."""

import time

from .common import Addr, CpuMeter, say
from .servers import BenchPbx, Callee, Kamailio, register_uas
from .sippload import SippLoad, failed_calls, ok_calls

HOLD_MS = 1000           # every call lasts 1 s, as in the issue
RECV_TIMEOUT_MS = 10000  # an answer this late is a failed call
RATE_MAX = 12000


class Step:
    """One run at a fixed rate."""

    def __init__(self, rate, seconds):
        self.rate, self.seconds = rate, seconds
        self.ok, self.reason = False, ""
        self.calls = rate * seconds
        self.answered = self.failed = self.retrans = 0
        self.cpu = self.us_per_call = self.uac_cpu = self.uas_cpu = 0.0
        self.cpu_s = 0.0            # the server's CPU seconds, whole run

    def line(self):
        return ("%5d calls/s x %ds: %s%s  server %.0f%% CPU (%.0f us/call), sipp uac %.0f%%"
                " uas %.0f%%, %d retransmissions"
                % (self.rate, self.seconds, "ok" if self.ok else "FAILED",
                   " (%s)" % self.reason if self.reason else "", 100 * self.cpu,
                   self.us_per_call, 100 * self.uac_cpu, 100 * self.uas_cpu, self.retrans))


class Target:
    """What the sipp caller calls: lunapbx answering (kind "answer"),
    lunapbx dialling the callee ("b2bua"), or Kamailio proxying to it."""

    LABELS = {"answer": "lunapbx answers (Lua)", "b2bua": "lunapbx B2BUA (Lua call:dial)",
              "kamailio": "Kamailio proxy (Lua)"}

    def __init__(self, kind, addr):
        self.kind, self.addr = kind, addr
        self.label = self.LABELS[kind]
        self.service = "100" if kind == "answer" else "200"
        self.server = self.callee = None

    def start(self):
        if self.kind == "kamailio":
            self.server = Kamailio(self.addr).start()
        else:
            self.server = BenchPbx(self.addr)
            if self.kind == "b2bua":
                register_uas(self.server, self.addr)
        if self.kind != "answer":
            self.callee = Callee(self.addr, "uas_call.xml", template={"hold_ms": HOLD_MS}).start()
        return self

    def stop(self):
        if self.callee:
            self.callee.stop()
        if self.server:
            self.server.stop()
        self.server = self.callee = None

    def restart(self):
        self.stop()
        time.sleep(1)
        return self.start()

    @property
    def sip(self):
        return self.server.sip

    def alive(self):
        return self.server.alive() and (not self.callee or self.callee.sipp.running())


def run_step(target, rate, seconds):
    st = Step(rate, seconds)
    addr = target.addr
    callee_failed0 = target.callee.failed() if target.callee else 0
    uac = SippLoad("uac_call.xml", local=addr.sip(Addr.UAC), remote=target.sip,
                   media="%s:7000" % addr.ip(Addr.UAC), service=target.service,
                   rate=rate, calls=st.calls, limit=max(100, rate * 15),
                   recv_timeout_ms=RECV_TIMEOUT_MS,
                   name="uac-%s-%d" % (target.kind, rate))
    whole = CpuMeter(target.server.pids)   # noqa: the whole run, for the record
    t0 = time.time()
    uac.start()

    # CPU in the steady part: the second half of the offered load
    time.sleep(seconds * 0.5)
    steady = CpuMeter(target.server.pids)
    uac_m = CpuMeter(lambda: [uac.proc.pid])
    uas_m = CpuMeter(lambda: [target.callee.sipp.proc.pid] if target.callee else [])
    time.sleep(max(0.0, t0 + seconds - time.time()))
    st.cpu, st.uac_cpu, st.uas_cpu = steady.share(), uac_m.share(), uas_m.share()

    rc = uac.wait(timeout=seconds + RECV_TIMEOUT_MS / 1000.0 + 30)
    elapsed = time.time() - t0
    stats = uac.stats()
    st.answered, st.failed = ok_calls(stats), failed_calls(stats)
    st.retrans = int(stats.get("Retransmissions(C)", 0) or 0)
    cpu_s, _ = whole.read()
    st.cpu_s = round(cpu_s, 2)
    # in the steady state: the server's share of a core per call per second
    st.us_per_call = 1e6 * st.cpu / rate
    callee_failed = (target.callee.failed() - callee_failed0) if target.callee else 0

    if rc is None:
        st.reason = "sipp did not finish"
    elif not target.alive():
        st.reason = "server died"
    elif st.failed or rc != 0:
        st.reason = "%d failed calls" % st.failed
    elif st.answered != st.calls:
        st.reason = "%d of %d calls answered" % (st.answered, st.calls)
    elif callee_failed:
        st.reason = "%d calls failed at the callee" % callee_failed
    elif elapsed > seconds + HOLD_MS / 1000.0 + 15:
        st.reason = "sipp could not keep the rate (%.0f s for %d s of calls)" % (elapsed, seconds)
    else:
        st.ok = True
    if not st.ok and uac.errors_tail():
        st.reason += "; sipp: ..." + " ".join(uac.errors_tail(200).split())[-150:]
    return st


def find_max_rate(target, mode):
    """Double the rate until calls fail, halve the gap down to 10 %, then
    (full mode) confirm in long runs (see confirm()).  Returns (best Step
    or None, every Step)."""
    steps = []

    def step(rate, seconds):
        st = run_step(target, rate, seconds)
        steps.append(st)
        say("  %s: %s" % (target.label, st.line()))
        if not st.ok:
            target.restart()
        else:
            time.sleep(1)
        return st

    # warm-up (Kamailio's allocator, everyone's caches); not counted
    if not mode.smoke and not run_step(target, mode.rate_start, 3).ok:
        target.restart()
    good = bad = None
    rate = mode.rate_start
    for _ in range(mode.rate_steps):
        st = step(rate, mode.step_s)
        if st.ok:
            good = st
            rate *= 2
            if rate > RATE_MAX:
                break
        else:
            bad = st
            break
    while good and bad and len(steps) < 2 * mode.rate_steps and \
            bad.rate - good.rate > max(10, good.rate // 10):
        st = step((good.rate + bad.rate) // 2, mode.step_s)
        if st.ok:
            good = st
        else:
            bad = st

    if good and mode.confirm_s:
        return confirm(step, good.rate, mode.confirm_s), steps
    return good, steps


def confirm(step, edge, seconds):
    """The short steps' best rate overstates what holds once finished
    transactions pile up (32 s): long runs from 60 % of it upwards, the
    highest that holds wins; if even 60 % fails, down by a quarter."""
    best = None
    for f in (0.6, 0.8, 1.0):
        st = step(int(edge * f), seconds)
        if not st.ok:
            break
        best = st
    rate = int(edge * 0.6)
    for _ in range(3):
        if best is not None:
            break
        rate = int(rate * 0.75)
        st = step(rate, seconds)
        if st.ok:
            best = st
    return best


def measure(kind, addr, mode):
    target = Target(kind, addr)
    say("%s: ramping calls/s" % target.label)
    target.start()
    try:
        best, steps = find_max_rate(target, mode)
    finally:
        target.stop()
    return {"label": target.label, "best": best, "steps": steps}
