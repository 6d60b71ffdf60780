"""The PBX under test: build/lunapbx on a Lua config, and its log."""

import os
import re
import signal
import subprocess
import time

from . import proc
from .proc import kill_proc, pbx_binary, spawn, tail, wait_until, workdir


class PbxError(Exception):
    pass


class Pbx:
    """build/lunapbx running a given Lua config.

    Pbx(config_text, listen="127.0.0.1:5070", args=(), ready_timeout=10)
    writes DIR/pbx.lua, starts `lunapbx -c DIR/pbx.lua --listen ADDR --state
    DIR/state -v` with stdout+stderr to DIR/pbx.log and waits for a log line
    containing `ready` (raises PbxError if it does not come or the process dies).
    """

    def __init__(self, config_text, listen="127.0.0.1:5070", args=(), ready_timeout=10,
                 name="pbx", start=True, verbose=True):
        self.dir = workdir(name)
        self.config_path = os.path.join(self.dir, "pbx.lua")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.config_text = config_text
        self.listen = listen
        self.ip, port = listen.rsplit(":", 1)
        self.port = int(port)
        self.sip = listen                       # "ip:port", for sipp remote / phones
        self.state_dir = os.path.join(self.dir, "state")
        os.makedirs(self.state_dir)
        self.log_path = os.path.join(self.dir, "pbx.log")
        self.args = list(args)
        self.verbose = verbose
        self.proc = None
        self.ready_timeout = ready_timeout
        proc.on_fail(self._dump_log)
        if start:
            self.start()

    def argv(self):
        a = [pbx_binary(), "-c", self.config_path, "--listen", self.listen,
             "--state", self.state_dir]
        if self.verbose:
            a.append("-v")
        return a + self.args

    def start(self):
        # a restart appends to the same log: only this run's `ready` counts
        mark = self.log_mark()
        self.proc = spawn(self.argv(), self.log_path, cwd=self.dir)
        self.started_at = time.time()
        ok = wait_until(lambda: re.search(r"ready", self.log_text()[mark:])
                        or not self.alive(), self.ready_timeout)
        if not self.alive():
            raise PbxError("lunapbx exited (rc %s) before `ready`; log:\n%s"
                           % (self.proc.returncode, tail(self.log_text(), 30)))
        if not ok:
            raise PbxError("lunapbx printed no `ready` within %ss; log:\n%s"
                           % (self.ready_timeout, tail(self.log_text(), 30)))
        return self

    def line_of(self, needle):
        """1-based line number in pbx.lua of the first line containing needle."""
        for i, line in enumerate(self.config_text.splitlines(), 1):
            if needle in line:
                return i
        raise KeyError(needle)

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def log_mark(self):
        """Offset to pass as `since` to only look at later log output."""
        return len(self.log_text())

    def log_since(self, mark):
        return self.log_text()[mark:]

    def wait_log(self, regex, timeout=5.0, since=0):
        """Wait until the log (from offset `since`) matches regex; returns the match or None."""
        rx = re.compile(regex, re.M)
        return wait_until(lambda: rx.search(self.log_text()[since:]), timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def fds(self):
        """How many file descriptors the PBX holds now (None: not running)."""
        held = self.fd_targets()
        return None if held is None else len(held)

    def fd_targets(self):
        """What each descriptor the PBX holds points at ("socket:[123]",
        a path...), by number; None when the PBX is not running."""
        d = "/proc/%d/fd" % self.proc.pid if self.proc else None
        try:
            names = os.listdir(d)
        except (OSError, TypeError):
            return None
        held = {}
        for n in names:
            try:
                held[int(n)] = os.readlink(os.path.join(d, n))
            except OSError:
                pass             # closed between listdir and readlink
        return held

    def settled_fds(self, timeout=5):
        """The descriptors once their count holds still for half a second
        (a console connection the test just closed may still be open in
        the PBX until its loop reads the end of it)."""
        last, since = None, time.time()
        deadline = since + timeout
        while time.time() < deadline:
            now = self.fd_targets()
            n = None if now is None else len(now)
            if n != last:
                last, since = n, time.time()
            elif time.time() - since >= 0.5:
                return now
            time.sleep(0.1)
        return self.fd_targets()

    def stop(self, grace=3.0):
        """SIGTERM, SIGKILL after `grace` s. Returns (returncode, needed_sigkill, seconds)."""
        if self.proc is None:
            return (None, False, 0.0)
        if self.proc.poll() is not None:
            return (self.proc.returncode, False, 0.0)
        t0 = time.time()
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        killed = False
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            killed = True
            kill_proc(self.proc, grace=0)
        return (self.proc.returncode, killed, time.time() - t0)

    def finish(self, t):
        """Common end of a test file: the PBX is still alive (no crash),
        stops cleanly on SIGTERM (exit 0 within 3 s), and, when it was built
        with sanitizers (make asan), reported no memory error or leak."""
        alive = self.alive()
        t.ok(alive, "PBX still running at the end (no crash)",
             diag=lambda: "exit status %s" % (self.proc.returncode if self.proc else None))
        if alive:
            rc, killed, secs = self.stop(grace=10 if self.sanitized() else 3)
            t.ok(rc == 0 and not killed, "PBX stops cleanly on SIGTERM (rc %s in %.1fs%s)"
                 % (rc, secs, ", needed SIGKILL" if killed else ""))
        if self.sanitized():
            report = re.search(r"ERROR: (Address|Leak)Sanitizer.*", self.log_text())
            t.ok(not report, "no memory error or leak found by the sanitizers",
                 diag=lambda: tail(self.log_text()[report.start():], 60) if report else None)

    def sanitized(self):
        return "/asan/" in pbx_binary()

    def log_tail(self, n=40):
        return tail(self.log_text(), n)

    def _dump_log(self):
        tap = proc.current_tap
        if tap is None:
            return
        state = "running" if self.alive() else "exited rc=%s" % (
            self.proc.returncode if self.proc else None)
        tap.diag("---- tail of %s (%s, %s) ----" % (self.log_path, self.listen, state))
        tap.diag(self.log_tail(60))
        tap.diag("---- end of PBX log ----")
