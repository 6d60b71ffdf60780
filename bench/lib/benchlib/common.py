"""What every benchmark shares: paths, run modes, process monitoring,
progress messages, and the address plan."""

import os
import socket
import sys
import time

from lunatest.net import Net
from lunatest.proc import ROOT

BENCH = os.path.join(ROOT, "bench")
BUILD = os.path.join(ROOT, "build")
SIPP_DIR = os.path.join(BENCH, "sipp")
RELAY = os.path.join(BUILD, "bench", "relay")
RTPLOAD = os.path.join(BUILD, "bench", "rtpload")
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


# What each mode runs: ramp start and steps, seconds per step and of the
# confirmation run (calls/s); start, steps, measuring window and growth
# (concurrent calls); calls for the memory figure, reloads, relay seconds.
MODES = {
    "smoke": dict(rate_start=10, rate_steps=1, step_s=1, confirm_s=0,
                  conc_start=10, conc_steps=1, conc_window_s=2, conc_growth=1.5,
                  mem_calls=10, reload_runs=1, relay_s=1),
    "quick": dict(rate_start=100, rate_steps=12, step_s=8, confirm_s=0,
                  conc_start=200, conc_steps=12, conc_window_s=4, conc_growth=1.5,
                  mem_calls=500, reload_runs=3, relay_s=3),
    "full": dict(rate_start=100, rate_steps=14, step_s=10, confirm_s=60,
                 conc_start=200, conc_steps=20, conc_window_s=15, conc_growth=1.25,
                 mem_calls=1000, reload_runs=7, relay_s=10),
}


class Mode:
    """How long and how far each benchmark goes.

    smoke: a few calls through every scenario (spec/e2e/90_bench_smoke.t);
    quick: a coarse ramp with short steps, for development;
    full:  the README figures: the same ramp, then the best rate confirmed
           by a long run (dialogs and sockets linger ~32 s after BYE, the
           steady state shows only after that)."""

    def __init__(self, name):
        if name not in MODES:
            raise ValueError("mode: smoke, quick or full")
        self.name = name
        self.smoke = name == "smoke"
        self.__dict__.update(MODES[name])


class Addr:
    """The benchmark's addresses: 127.S.NN.10-19 (lunatest's Net plan),
    one address per process so ports never clash."""

    PBX, UAC, UAS, KAM, ECHO, LOAD = range(6)

    def __init__(self, nn):
        self.net = Net(nn)

    def ip(self, who):
        return self.net.ip(who)

    def sip(self, who):
        return "%s:5060" % self.ip(who)


_quiet = [False]


def say(msg):
    """Progress on stderr; the table goes to stdout."""
    if not _quiet[0]:
        sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
        sys.stderr.flush()


def set_quiet(q):
    _quiet[0] = q


def group_pids(pgid):
    """Every live process of a process group (Kamailio forks workers)."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            out.append(int(d))
    return out


def cpu_seconds(pids):
    """user + system CPU time of the processes (all their threads)."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total / CLK_TCK


def rss_kb(pid):
    with open("/proc/%d/statm" % pid) as f:
        return int(f.read().split()[1]) * PAGE_KB


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


class CpuMeter:
    """CPU share of some processes between two marks (1.0 = one core)."""

    def __init__(self, pids_fn):
        self.pids_fn = pids_fn
        self.mark()

    def mark(self):
        self.t0 = time.time()
        self.c0 = cpu_seconds(self.pids_fn())

    def read(self):
        """(cpu seconds, wall seconds) since the mark."""
        return cpu_seconds(self.pids_fn()) - self.c0, time.time() - self.t0

    def share(self):
        c, w = self.read()
        return c / w if w > 0 else 0.0


def sip_ping(addr, src_ip, timeout=8.0):
    """OPTIONS until an answer comes back: the server is up (whatever its
    log level; Kamailio's script answers 404, the PBX 200)."""
    ip, port = addr.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, 0))
    s.settimeout(0.2)
    msg = ("OPTIONS sip:ping@%s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s:%d;branch=z9hG4bK-ping%d;rport\r\n"
           "From: <sip:ping@%s>;tag=ping\r\nTo: <sip:ping@%s>\r\n"
           "Call-ID: ping%d@bench\r\nCSeq: 1 OPTIONS\r\n"
           "Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
           % (addr, src_ip, s.getsockname()[1], os.getpid(), src_ip, addr,
              os.getpid())).encode()
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            s.sendto(msg, (ip, int(port)))
            try:
                if s.recv(4096).startswith(b"SIP/2.0 "):
                    return True
            except socket.timeout:
                pass
        return False
    finally:
        s.close()
