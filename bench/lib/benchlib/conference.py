"""Conference rooms with SIP calls through the PBX (issue 15): each
participant is a sipp call to extension 900, `confbridge.join` in the
benchmark dialplan (a quiet profile: no prompt, no sound), in the room its
X-Room header names; its script waits in the room like any participant's.
rtpload -m conf plays the phones: every participant's 20 ms PCMU stream
from one socket (the room's first two a 1 kHz tone, the others G.711
silence) and what comes back, the mix, checked (sequence gaps, transit).

1. Rooms of 10, two talkers each, added x growth per step, until loss,
   lateness, a late tick of the PBX's media clock or a wrong number of
   talkers shows; participants per core at the last good step, to compare
   with the bridged calls per core of the same run.
2. The largest single room (two talkers), grown the same way.
"""

import os
import time

from lunatest.console import console_exec
from lunatest.proc import workdir

from .common import Addr, CpuMeter, say
from .media import MEDIA_PORT, RtpLoad, judge, mix_describe, mix_step_ok
from .servers import BenchPbx
from .sippload import SippLoad

ROOM = 10
TALKERS = 2
SETUP_RATE = 100          # calls/s while a step adds its participants
HOLD_MS = 3600000         # they stay until the run ends

PLAN = {
    "smoke": dict(rooms_start=1, rooms_growth=2, rooms_steps=1, single_start=10,
                  single_growth=2, single_steps=1, settle_s=2, window_s=2),
    "quick": dict(rooms_start=10, rooms_growth=1.5, rooms_steps=10, single_start=100,
                  single_growth=1.5, single_steps=10, settle_s=3, window_s=4),
    "full": dict(rooms_start=20, rooms_growth=1.25, rooms_steps=20, single_start=200,
                 single_growth=1.25, single_steps=20, settle_s=3, window_s=15),
}

# Talking participants in every room, from the console (a Lua chunk in
# the PBX): "talkers rooms participants".
TALKERS_LUA = ("local t, r, n = 0, 0, 0 for _, br in ipairs(pbx.rooms()) do r = r + 1"
               " for _, l in ipairs(br:legs()) do n = n + 1 local m = br:member(l)"
               " if m and m.talking then t = t + 1 end end end"
               " return ('%d %d %d'):format(t, r, n)")


class ConfRun:
    """The PBX, rtpload and the sipp callers of one ramp."""

    def __init__(self, addr, single):
        self.addr, self.single = addr, single
        self.pbx = BenchPbx(addr)
        self.rtp = "%s:%d" % (addr.ip(Addr.LOAD), MEDIA_PORT)
        self.load = RtpLoad(self.rtp, "conf")
        self.callers = []
        self.members = 0
        self.error = ""

    def room_of(self, idx):
        """(room name, position in it) of the idx-th participant."""
        if self.single:
            return "single", idx
        return "r%d" % (idx // ROOM), idx % ROOM

    def add(self, n):
        """n more participants; True when all were answered and their media
        handed to rtpload."""
        k = len(self.callers)
        inf = os.path.join(workdir("conf-inf"), "rooms-%d.csv" % k)
        with open(inf, "w") as f:
            f.write("SEQUENTIAL\n")
            for i in range(n):
                f.write("%s;\n" % self.room_of(self.members + i)[0])
        ip, port = self.rtp.split(":")
        uac = SippLoad("uac_conf.xml", local="%s:%d" % (self.addr.ip(Addr.UAC), 5060 + k),
                       media="%s:%d" % (self.addr.ip(Addr.UAC), 10000 + 10 * k),
                       remote=self.pbx.sip, service="900", rate=SETUP_RATE, calls=n,
                       limit=n, template={"hold_ms": HOLD_MS, "rtp_ip": ip, "rtp_port": port},
                       log_media=True, name="conf-%d" % k, extra=("-inf", inf))
        self.callers.append(uac.start())
        done, base = 0, self.members
        deadline = time.time() + 2 * n / SETUP_RATE + 30
        while time.time() < deadline and uac.running():
            lines = uac.media_lines()
            for call, media in lines[done:]:
                idx = base + int(call) - 1
                tone = " tone" if self.room_of(idx)[1] < TALKERS else ""
                self.load.proc.stdin.write("add %d %s%s\n" % (idx, media, tone))
            done = len(lines)
            if done >= n:
                break
            time.sleep(0.2)
        self.load.proc.stdin.flush()
        self.members += done
        if done < n:
            st = uac.stats()
            self.error = "%d of %d participants answered (sipp: %s failed%s)" % (
                done, n, st.get("FailedCall(C)", "?"), "" if uac.running() else ", exited")
        return done >= n

    def console(self, lua):
        r = console_exec(self.pbx, lua, timeout=30)
        return r.out.strip() if r.ok else ""

    def measure(self, settle_s, window_s):
        time.sleep(settle_s)                    # new streams settle
        self.console("return pbx.media_stats(true).late")   # a fresh window
        r0 = self.load.report()
        meters = {"pbx": CpuMeter(self.pbx.pids), "load": CpuMeter(self.load.pids)}
        time.sleep(window_s)
        r1 = self.load.report()
        cpu = {k: m.share() for k, m in meters.items()}
        clock = self.console("local s = pbx.media_stats() return s.late .. ' ' .. s.max_lag_ms")
        talk = self.console(TALKERS_LUA)
        late_ticks, lag = (int(x) for x in (clock.split() or ["-1", "-1"]))
        talkers, rooms, legs = (int(x) for x in (talk.split() or ["-1", "-1", "-1"]))
        lost, rx = r1["lost"] - r0["lost"], r1["rx"] - r0["rx"]
        return {"members": self.members, "rooms": rooms, "legs": legs, "rx": rx, "lost": lost,
                "loss": lost / (rx + lost) if rx + lost else 1.0,
                "late": r1["late"] - r0["late"], "silent": r1["silent"],
                "delay_max_ms": r1["delay_max_us"] / 1000.0,
                "late_ticks": late_ticks, "max_lag_ms": lag, "talkers": talkers,
                "cpu": cpu["pbx"], "load_cpu": cpu["load"]}

    def stop(self):
        for x in self.callers + [self.load, self.pbx]:
            x.stop()


def step_ok(m):
    if m["rx"] and m["legs"] != m["members"]:
        return False, "%d participants in the rooms, %d called" % (m["legs"], m["members"])
    return mix_step_ok(m, TALKERS, "participants")


def describe(m):
    return mix_describe(m, "participants", "PBX")


def ramp(addr, plan, single):
    key = "single" if single else "rooms"
    run = ConfRun(addr, single)
    steps, best = [], None
    target = plan[key + "_start"] * (1 if single else ROOM)
    try:
        for _ in range(plan[key + "_steps"]):
            if not run.add(target - run.members):
                steps.append({"members": target, "ok": False, "reason": run.error})
                say("  conference %s: %d participants: FAILED (%s)" % (key, target, run.error))
                break
            m = run.measure(plan["settle_s"], plan["window_s"])
            if not judge(m, steps, "conference " + key, step_ok, describe):
                break
            best = m
            grown = max(target + 1, int(target * plan[key + "_growth"]))
            target = grown if single else max(target + ROOM, grown // ROOM * ROOM)
    finally:
        run.stop()
    return {"best": best, "steps": steps}


def measure(addr, mode):
    plan = PLAN[mode.name]
    return {"rooms": ramp(addr, plan, False), "single": ramp(addr, plan, True)}
