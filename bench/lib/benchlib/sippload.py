"""sipp as a load generator: many calls, statistics from its CSV file
(-trace_stat), no per-message trace (that would cost more than the calls)."""

import os
import subprocess
import time

from lunatest.proc import kill_proc, spawn, workdir
from lunatest.sipp import render_template

from .common import SIPP_DIR, cpu_seconds

# Both from the notes: sipp's 64 KB socket buffer drops packets near
# 4000 calls/s, and a proxy may forward a late 180 after the 200.
LOAD_OPTS = ["-buff_size", "4194304", "-default_behaviors", "all,-abortunexp",
             "-nostdin", "-ringbuffer_files", "1", "-ringbuffer_size", "2000000"]


def read_stats(path):
    """The last line of a sipp -trace_stat file as {column: value}."""
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
    except FileNotFoundError:
        return {}
    if len(lines) < 2:
        return {}
    head = lines[0].rstrip(";").split(";")
    vals = lines[-1].rstrip(";").split(";")
    out = {}
    for k, v in zip(head, vals):
        try:
            out[k] = int(v)
        except ValueError:
            out[k] = v
    return out


class SippLoad:
    """One sipp process of the benchmark.

    scenario: a file in bench/sipp/ ({placeholders} filled from template);
    local/remote/media: "IP:PORT"; rate (calls/s), calls (-m), limit (-l)."""

    def __init__(self, scenario, local, remote=None, media=None, service=None,
                 rate=None, calls=None, limit=None, template=None, recv_timeout_ms=None,
                 log_media=False, name=None, extra=()):
        self.name = name or os.path.splitext(scenario)[0]
        self.dir = workdir("sipp-" + self.name)
        path = os.path.join(SIPP_DIR, scenario)
        if template:
            path = render_template(path, **template)
        self.stat_file = os.path.join(self.dir, "stats.csv")
        self.error_file = os.path.join(self.dir, "errors.log")
        self.log_file = os.path.join(self.dir, "media.log")
        self.screen = os.path.join(self.dir, "screen.log")
        ip, port = local.rsplit(":", 1)
        mip, mport = (media or "%s:%d" % (ip, int(port) + 1000)).rsplit(":", 1)
        a = ["sipp", "-sf", path, "-i", ip, "-p", port, "-mi", mip, "-mp", mport,
             "-trace_stat", "-stf", self.stat_file, "-fd", "1",
             "-trace_err", "-error_file", self.error_file] + LOAD_OPTS
        if log_media:
            a += ["-trace_logs", "-log_file", self.log_file]
        for flag, value in (("-s", service), ("-r", rate), ("-m", calls), ("-l", limit),
                            ("-recv_timeout", recv_timeout_ms)):
            if value:
                a += [flag, str(value)]
        a += list(extra)
        if remote:
            a.append(remote)
        self.argv = a
        self.proc = None

    def start(self):
        self.proc = spawn(self.argv, self.screen, cwd=self.dir)
        self.started = time.time()
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout):
        """Exit status, or None when it had to be killed."""
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_proc(self.proc, grace=1)
            return None

    def stop(self):
        if self.proc is not None:
            kill_proc(self.proc, grace=2)

    def stats(self):
        return read_stats(self.stat_file)

    def cpu(self):
        return cpu_seconds([self.proc.pid]) if self.running() else 0.0

    def errors_tail(self, n=600):
        try:
            with open(self.error_file, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return ""
        return data[-n:].decode("utf-8", "replace")

    def media_lines(self):
        """The "media CALL IP:PORT" lines logged so far."""
        try:
            with open(self.log_file) as f:
                return [l.split()[1:3] for l in f if l.startswith("media ")]
        except FileNotFoundError:
            return []


def failed_calls(st):
    return int(st.get("FailedCall(C)", 0) or 0)


def ok_calls(st):
    return int(st.get("SuccessfulCall(C)", 0) or 0)
