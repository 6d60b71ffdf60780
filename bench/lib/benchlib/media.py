"""Figures 3 and 4 (concurrent calls with RTP flowing), and the bare UDP
relay that gives this machine's packet-rate ceiling.

Figure 3: each call's RTP is sent by rtpload (one socket, one SSRC per
call) to the PBX, relayed to the callee's side where the relay in echo
mode sends it back, relayed again, and checked by rtpload: loss from
per-call counters, lateness from the time stamp each packet carries.
Figure 4: the PBX plays music on hold to every call; rtpload listens and
checks sequence numbers and arrival times against the RTP clock.
Parked calls: the same as figure 4, each call parked by the dialplan
(extension 450: a call of its own in a lot of 20000 spaces, music, its
space's lamp set), against music on hold in the same run.
"""

import json
import os
import subprocess
import time

from lunatest import proc
from lunatest.proc import kill_proc, spawn, workdir

from .common import RELAY, RTPLOAD, Addr, CpuMeter, say
from .servers import BenchPbx, Callee, register_uas, sip_invite_once
from .sippload import SippLoad

MEDIA_PORT = 7000
HOLD_MS = 3600000          # calls stay up until the run ends
SETUP_RATE = 200           # calls/s while a step adds its calls
LOSS_MAX = 0.001           # < 0.1 %
LATE_MS = 50               # a packet this late is a late packet


def _json_lines(path):
    try:
        with open(path) as f:
            return [json.loads(l) for l in f if l.startswith("{")]
    except FileNotFoundError:
        return []


class Relay:
    """build/bench/relay: forward to `to` (-t), drain (-d) or echo (-e)."""

    def __init__(self, listen, to=None, name="relay", interval_ms=None, drain=False):
        self.dir = workdir(name)
        self.out = os.path.join(self.dir, "relay.log")
        argv = [RELAY, "-l", listen] + (["-t", to] if to else ["-d"] if drain else ["-e"])
        if interval_ms:
            argv += ["-i", str(interval_ms)]
        self.proc = spawn(argv, self.out, cwd=self.dir)
        proc.wait_until(lambda: _json_lines(self.out) or self.proc.poll() is not None, 3)
        if self.proc.poll() is not None:
            raise RuntimeError("relay did not start: %s" % open(self.out).read()[-300:])

    def counters(self):
        n = len(_json_lines(self.out))
        os.kill(self.proc.pid, 10)          # SIGUSR1
        proc.wait_until(lambda: len(_json_lines(self.out)) > n, 2)
        return _json_lines(self.out)[-1]

    def pids(self):
        return [self.proc.pid] if self.proc.poll() is None else []

    def stop(self):
        kill_proc(self.proc, grace=1)


def judge(m, steps, label, step_ok, describe):
    """A ramp's step: its figures m judged by step_ok (m["ok"], m["reason"]),
    kept in steps and said under label; whether the ramp goes on."""
    m["ok"], m["reason"] = step_ok(m)
    steps.append(m)
    say("  %s: %s%s" % (label, describe(m), "" if m["ok"] else " FAILED: " + m["reason"]))
    return m["ok"]


class PipedTool:
    """A bench tool driven by lines on its stdin that answers in JSON lines
    on its stdout (rtpload, mixbench): its first line says "ready"."""

    grace = 1                               # seconds it has to quit

    def __init__(self, argv, name):
        self.dir = workdir(name)
        err = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=err, start_new_session=True, text=True)
        proc._procs.append(self.proc)       # killed by lunatest's cleanup
        ready = self.proc.stdout.readline()
        if "ready" not in ready:
            raise RuntimeError("%s did not start (%r)" % (os.path.basename(argv[0]), ready))

    def ask(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def pids(self):
        return [self.proc.pid] if self.proc.poll() is None else []

    def stop(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
        kill_proc(self.proc, grace=self.grace)


class RtpLoad(PipedTool):
    """build/bench/rtpload, driven through its stdin."""

    def __init__(self, listen, mode, name="rtpload"):
        super().__init__([RTPLOAD, "-l", listen, "-m", mode, "-L", str(LATE_MS)], name)
        self.next_id = 0

    def add(self, addr):
        self.proc.stdin.write("add %d %s\n" % (self.next_id, addr))
        self.next_id += 1

    def report(self):
        return self.ask("report")


def mix_step_ok(m, talkers, noun):
    """Whether a conference step's figures m are good (rooms of `talkers`
    talkers; noun: what a member is called), and if not why."""
    if m["rx"] == 0:
        return False, "nothing came back"
    if m["silent"]:
        return False, "%d %s got nothing for 1 s" % (m["silent"], noun)
    if m["loss"] >= LOSS_MAX:
        return False, "loss %.3f%%" % (100 * m["loss"])
    if m["late"]:
        return False, "%d late packets (> %d ms)" % (m["late"], LATE_MS)
    if m["late_ticks"]:
        return False, "%d late frames of the media clock (max lag %d ms)" % (
            m["late_ticks"], m["max_lag_ms"])
    if m["talkers"] != talkers * m["rooms"]:
        return False, "%d talkers mixed, %d expected" % (m["talkers"], talkers * m["rooms"])
    return True, ""


def mix_describe(m, noun, mixer):
    """One line of a conference step's figures; noun: what a member is
    called (plural), mixer: the process whose CPU was measured."""
    return ("%5d %s in %d room(s): loss %.4f%%, %d late, delay max %.1f ms, %d late"
            " ticks (lag max %d ms), %d talkers; %s %.0f%% CPU (%.4f%% per %s),"
            " rtpload %.0f%%"
            % (m["members"], noun, m["rooms"], 100 * m["loss"], m["late"], m["delay_max_ms"],
               m["late_ticks"], m["max_lag_ms"], m["talkers"], mixer, 100 * m["cpu"],
               100 * m["cpu"] / max(1, m["members"]), noun[:-1], 100 * m["load_cpu"]))


def relay_ceiling(addr, mode):
    """Packets one core forwards with recvmmsg/sendmmsg: the relay is fed
    as fast as rtpload sends; its output goes to a sink that drains its
    socket on a 1 ms tick (as rtpload and the echo do: every packet is
    delivered, nobody is woken).  Packets per CPU second of the relay, so
    a busy machine lowers the rate but not (much) the ceiling."""
    sink = Relay("%s:9001" % addr.ip(Addr.LOAD), name="relay-sink", interval_ms=1, drain=True)
    relay = Relay("%s:9000" % addr.ip(Addr.ECHO), to="%s:9001" % addr.ip(Addr.LOAD),
                  name="relay-ceiling")
    try:
        c0 = relay.counters()
        meter = CpuMeter(relay.pids)
        secs = mode.relay_s
        subprocess.run([RTPLOAD, "-l", "%s:9002" % addr.ip(Addr.LOAD), "-b",
                        "%s:9000" % addr.ip(Addr.ECHO), "-s", str(secs)],
                       stdout=subprocess.DEVNULL, timeout=secs + 10)
        cpu_s, wall = meter.read()
        c1 = relay.counters()
    finally:
        relay.stop()
        sink.stop()
    moved = c1["out"] - c0["out"]
    per_core = moved / cpu_s if cpu_s > 0 else 0
    res = {"packets": moved, "cpu_s": round(cpu_s, 2), "wall_s": round(wall, 2),
           "per_core": int(per_core), "cpu_share": round(cpu_s / wall, 2) if wall else 0,
           "batch": round((c1["in"] - c0["in"]) / max(1, c1["recv_calls"] - c0["recv_calls"]), 1)}
    say("relay ceiling: %d packets forwarded per CPU second (%.0f%% of a core for %.1f s,"
        " %.1f packets per recvmmsg)" % (res["per_core"], 100 * res["cpu_share"], wall,
                                         res["batch"]))
    return res


class MediaRun:
    """Concurrent held calls, added step by step: kind "bridged" (figure 3,
    extension 200), "moh" (figure 4, extension 400), "parked" (extension
    450) or "answered" (held by the dialplan, extension 300).  rtp=False:
    no RTP at all (memory)."""

    SERVICE = {"bridged": "200", "moh": "400", "answered": "300", "voicemail": "600",
               "parked": "450", "queued": "1100"}

    def __init__(self, kind, addr, rtp=True, extra_config="", hold_ms=HOLD_MS):
        self.kind, self.addr, self.with_rtp = kind, addr, rtp
        self.extra_config, self.hold_ms = extra_config, hold_ms
        self.rtp = "%s:%d" % (addr.ip(Addr.LOAD), MEDIA_PORT)
        self.echo_addr = "%s:%d" % (addr.ip(Addr.ECHO), MEDIA_PORT)
        self.pbx = self.echo = self.callee = self.load = None
        self.callers = []
        self.calls = 0
        self.setup_error = ""

    def start(self):
        self.pbx = BenchPbx(self.addr, extra=self.extra_config)
        if self.kind == "bridged":
            if self.with_rtp:
                self.echo = Relay(self.echo_addr, name="echo", interval_ms=1)
            register_uas(self.pbx, self.addr)
            ip, port = self.echo_addr.split(":")
            self.callee = Callee(self.addr, "uas_hold.xml",
                                 media="%s:%d" % (self.addr.ip(Addr.UAS), 6000),
                                 template={"rtp_ip": ip, "rtp_port": port}).start()
        if self.with_rtp:
            sends = self.kind in ("bridged", "voicemail")    # voicemail: no echo comes back
            self.load = RtpLoad(self.rtp, "echo" if sends else "listen")
        return self

    def stop(self):
        for x in self.callers + [self.callee, self.echo, self.load, self.pbx]:
            if x is not None:
                x.stop()
        self.callers = []

    def add_calls(self, n, hold_ms=None):
        """n more calls, held hold_ms (the run's by default); True when all were answered and their
        media handed to rtpload."""
        k = len(self.callers)
        ip, port = self.rtp.split(":")
        uac = SippLoad("uac_hold.xml", local="%s:%d" % (self.addr.ip(Addr.UAC), 5060 + k),
                       media="%s:%d" % (self.addr.ip(Addr.UAC), 10000 + 10 * k),
                       remote=self.pbx.sip, service=self.SERVICE[self.kind],
                       rate=SETUP_RATE, calls=n, limit=n,
                       template={"hold_s": -(-(hold_ms or self.hold_ms) // 1000), "rtp_ip": ip,
                                 "rtp_port": port},
                       log_media=True, name="uac-%s-%d" % (self.kind, k))
        self.callers.append(uac.start())
        done = 0
        deadline = time.time() + 2 * n / SETUP_RATE + 30
        while time.time() < deadline and uac.running():
            lines = uac.media_lines()
            for _, media in lines[done:]:
                if self.load:
                    self.load.add(media)
            done = len(lines)
            if done >= n:
                break
            time.sleep(0.2)
        if self.load:
            self.load.proc.stdin.flush()
        self.calls += done
        if done < n:
            st = uac.stats()
            self.setup_error = "%d of %d calls answered (sipp: %s failed%s)" % (
                done, n, st.get("FailedCall(C)", "?"),
                "" if uac.running() else ", exited")
        return done >= n

    def measure(self, window_s):
        """Loss, lateness and the PBX's CPU over a window."""
        time.sleep(2)                       # new calls' first packets settle
        r0 = self.load.report()
        meters = {"pbx": CpuMeter(self.pbx.pids), "load": CpuMeter(self.load.pids),
                  "echo": CpuMeter(self.echo.pids if self.echo else list)}
        time.sleep(window_s)
        r1 = self.load.report()
        cpu = {k: m.share() for k, m in meters.items()}
        lost, rx = r1["lost"] - r0["lost"], r1["rx"] - r0["rx"]
        return {"calls": self.calls, "rx": rx, "lost": lost,
                "loss": lost / (rx + lost) if rx + lost else 1.0,
                "late": r1["late"] - r0["late"], "silent": r1["silent"],
                "delay_max_ms": r1["delay_max_us"] / 1000.0,
                "delay_avg_ms": r1["delay_avg_us"] / 1000.0,
                "pbx_cpu": cpu["pbx"], "load_cpu": cpu["load"], "echo_cpu": cpu["echo"],
                "pps": rx / window_s}


def step_ok(m):
    if m["rx"] == 0:
        return False, "no packet came back"
    if m["silent"]:
        return False, "%d calls got nothing for 1 s" % m["silent"]
    if m["loss"] >= LOSS_MAX:
        return False, "loss %.3f%%" % (100 * m["loss"])
    if m["late"]:
        return False, "%d late packets (> %d ms)" % (m["late"], LATE_MS)
    return True, ""


def describe(m):
    return ("%5d calls: loss %.4f%%, %d late, delay avg %.1f max %.1f ms; PBX %.0f%% CPU"
            " (%.3f%% per call), rtpload %.0f%%, echo %.0f%%"
            % (m["calls"], 100 * m["loss"], m["late"], m["delay_avg_ms"], m["delay_max_ms"],
               100 * m["pbx_cpu"], 100 * m["pbx_cpu"] / max(1, m["calls"]),
               100 * m["load_cpu"], 100 * m["echo_cpu"]))


def has_moh(pbx):
    """The dialplan's extension 400 says so in the log when call:moh is
    missing (and refuses the call)."""
    mark = pbx.log_mark()
    code = sip_invite_once(pbx.sip, "400", pbx.addr.ip(Addr.LOAD))
    return not (code == 501 and pbx.wait_log("has no call:moh", 2, since=mark))


def find_max_calls(kind, addr, mode):
    """Add calls (x1.5 each step) until loss, lateness or silence shows;
    the last good step is the figure."""
    run = MediaRun(kind, addr).start()
    steps, best = [], None
    try:
        if kind == "moh" and not has_moh(run.pbx):
            say("  moh: skipped, this PBX has no call:moh yet")
            return {"skipped": "this lunapbx has no call:moh (the media work is not merged)"}
        target = mode.conc_start
        for _ in range(mode.conc_steps):
            if not run.add_calls(target - run.calls):
                steps.append({"calls": target, "ok": False, "reason": run.setup_error})
                say("  %s: %d calls: FAILED (%s)" % (kind, target, run.setup_error))
                break
            m = run.measure(mode.conc_window_s)
            if not judge(m, steps, kind, step_ok, describe):
                break
            best = m
            target = int(target * mode.conc_growth)
    finally:
        run.stop()
    return {"best": best, "steps": steps}
