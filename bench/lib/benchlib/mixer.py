"""The conference mixer's figures, without SIP (no rooms exist in the
dialplan yet): the PBX's own media objects in build/bench/mixbench.

1. The mixer alone (`mixbench -x`): rooms of 10, two talkers, fed and
   mixed tick after tick on one core, no sockets: CPU per member per tick.
2. Rooms of 10 (two talkers each) on real RTP: each member is a terminated
   leg (core/media/term.c) on its own loopback socket, plugged into its
   room's mixer and paced by the media clock, as the PBX will run them;
   rtpload -m conf plays the phones (the talkers send a tone, the others
   G.711 silence, all of them 50 packets/s) and checks what comes back.
   Rooms are added (x growth per step) until loss, lateness or a late tick
   of the media clock shows; participants per core at the last good step.
3. The largest single room (two talkers), grown the same way.
"""

import json
import os
import subprocess
import time

from .common import BUILD, Addr, CpuMeter, say
from .media import PipedTool, RtpLoad, judge, mix_describe, mix_step_ok

MIXBENCH = os.path.join(BUILD, "bench", "mixbench")
LOAD_PORT = 7100
ROOM = 10
TALKERS = 2

# mixer-alone seconds; rooms: first step, growth, steps; single room: the
# same; the seconds new members settle, the measuring window
PLAN = {
    "smoke": dict(alone_s=0.3, rooms_start=1, rooms_growth=2, rooms_steps=1,
                  single_start=10, single_growth=2, single_steps=1, settle_s=1,
                  window_s=1),
    "quick": dict(alone_s=2, rooms_start=20, rooms_growth=1.5, rooms_steps=10,
                  single_start=200, single_growth=1.5, single_steps=10, settle_s=2,
                  window_s=4),
    "full": dict(alone_s=5, rooms_start=20, rooms_growth=1.25, rooms_steps=20,
                 single_start=200, single_growth=1.25, single_steps=20, settle_s=2,
                 window_s=15),
}


def alone(plan):
    out = subprocess.run([MIXBENCH, "-x", "-n", str(ROOM), "-t", str(TALKERS), "-r", "100",
                          "-s", str(plan["alone_s"])],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    res = json.loads(out.stdout.strip().splitlines()[-1])
    say("  mixer alone: %.3f us per member per tick (rooms of %d, %d talkers): %d members"
        " per core" % (res["us_per_member_tick"], ROOM, TALKERS, res["members_per_core"]))
    return res


class MixBench(PipedTool):
    """build/bench/mixbench holding rooms of terminated legs."""

    grace = 2

    def __init__(self, addr):
        self.load_addr = "%s:%d" % (addr.ip(Addr.LOAD), LOAD_PORT)
        self.ip = addr.ip(Addr.PBX)
        super().__init__([MIXBENCH, "-l", self.ip, "-r", self.load_addr], "mixbench")

    def join(self, room, k):
        r = self.ask("join %d %d" % (room, k))
        if r.get("error"):
            raise RuntimeError("mixbench: %s" % r["error"])
        return r["ports"]


class Rooms:
    def __init__(self, addr):
        self.mix = MixBench(addr)
        self.load = RtpLoad(self.mix.load_addr, "conf")
        self.members = 0
        self.sizes = {}

    def grow(self, room, k):
        """k more members in room; the room's first TALKERS talk."""
        ports = self.mix.join(room, k)
        have = self.sizes.get(room, 0)
        for i, port in enumerate(ports):
            tone = " tone" if have + i < TALKERS else ""
            self.load.proc.stdin.write("add %d %s:%d%s\n"
                                       % (self.load.next_id, self.mix.ip, port, tone))
            self.load.next_id += 1
        self.load.proc.stdin.flush()
        self.sizes[room] = have + len(ports)
        self.members += len(ports)

    def measure(self, settle_s, window_s):
        time.sleep(settle_s)                # new members' streams settle
        r0, m0 = self.load.report(), self.mix.ask("report")
        meters = {"mix": CpuMeter(self.mix.pids), "load": CpuMeter(self.load.pids)}
        time.sleep(window_s)
        r1, m1 = self.load.report(), self.mix.ask("report")
        cpu = {k: m.share() for k, m in meters.items()}
        lost, rx = r1["lost"] - r0["lost"], r1["rx"] - r0["rx"]
        return {"members": self.members, "rooms": len(self.sizes), "rx": rx, "lost": lost,
                "loss": lost / (rx + lost) if rx + lost else 1.0,
                "late": r1["late"] - r0["late"], "silent": r1["silent"],
                "delay_max_ms": r1["delay_max_us"] / 1000.0,
                "late_ticks": m1["clock_late"], "max_lag_ms": m1["max_lag_ms"],
                "talkers": m1["talkers"], "jb_missing": m1["jb_missing"] - m0["jb_missing"],
                "cpu": cpu["mix"], "load_cpu": cpu["load"]}

    def stop(self):
        self.load.stop()
        self.mix.stop()


def step_ok(m):
    return mix_step_ok(m, TALKERS, "members")


def describe(m):
    return mix_describe(m, "members", "mixbench")


def ramp(addr, plan, single):
    """Members added step by step: rooms of ten, or one room growing."""
    key = "single" if single else "rooms"
    run = Rooms(addr)
    steps, best = [], None
    target = plan[key + "_start"]
    try:
        for _ in range(plan[key + "_steps"]):
            try:
                if single:
                    run.grow(0, target - run.members)
                else:
                    for r in range(len(run.sizes), target):
                        run.grow(r, ROOM)
            except RuntimeError as e:
                steps.append({"members": run.members, "ok": False, "reason": str(e)})
                say("  %s: FAILED (%s)" % (key, e))
                break
            m = run.measure(plan["settle_s"], plan["window_s"])
            if not judge(m, steps, key, step_ok, describe):
                break
            best = m
            target = max(target + 1, int(target * plan[key + "_growth"]))
    finally:
        run.stop()
    return {"best": best, "steps": steps}


def measure(addr, mode):
    if not os.access(MIXBENCH, os.X_OK):
        return {"skipped": "build/bench/mixbench is not built (make bench builds it)"}
    plan = PLAN[mode.name]
    return {"alone": alone(plan), "rooms": ramp(addr, plan, False),
            "single": ramp(addr, plan, True)}
