"""The PBX's console (`lunapbx -r`): one chunk with -x, or an interactive
session on a pseudo-terminal."""

import os
import pty
import re
import select
import subprocess
import termios
import time

from . import proc
from .proc import pbx_binary, tail, wait_until


class ConsoleResult:
    def __init__(self, rc, out, err):
        self.rc = rc
        self.out = out
        self.err = err

    @property
    def ok(self):
        return self.rc == 0

    def diag(self):
        return "rc %s\n---- stdout ----\n%s\n---- stderr ----\n%s" % (
            self.rc, tail(self.out, 30), tail(self.err, 30))


def console_exec(pbx, code, timeout=20, args=()):
    """`lunapbx -r --state DIR -x CODE`: a ConsoleResult (rc, out, err)."""
    argv = [pbx_binary(), "-r", "--state", pbx.state_dir, "-x", code] + list(args)
    try:
        p = subprocess.run(argv, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        return ConsoleResult("timeout after %ss" % timeout,
                             (e.stdout or b"").decode("utf-8", "replace"),
                             (e.stderr or b"").decode("utf-8", "replace"))
    return ConsoleResult(p.returncode, p.stdout.decode("utf-8", "replace"),
                         p.stderr.decode("utf-8", "replace"))


class ConsoleTerm:
    """`lunapbx -r` on a pseudo-terminal, as a person would use it.

    t = ConsoleTerm(pbx); t.expect(r"lunapbx> "); t.send("1+1\\r");
    t.expect(r"2"); t.close().  Everything read is kept in t.text (with
    the terminal's escape sequences); t.since(mark) is what came after a
    t.mark().  The history file goes to the test's temp dir.
    """

    def __init__(self, pbx, name="console", env=None, args=()):
        self.master, slave = pty.openpty()
        e = dict(os.environ)
        e.update({"TERM": "xterm", "HOME": pbx.dir,
                  "LUNAPBX_HISTORY": os.path.join(pbx.dir, name + ".history")})
        e.update(env or {})
        argv = [pbx_binary(), "-r", "--state", pbx.state_dir] + list(args)
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave,
                                     env=e, start_new_session=True, close_fds=True)
        os.close(slave)
        proc._procs.append(self.proc)
        self.text = ""
        self.name = name
        proc.on_fail(self._dump)

    def _pump(self, wait):
        r, _, _ = select.select([self.master], [], [], wait)
        if not r:
            return False
        try:
            data = os.read(self.master, 65536)
        except OSError:
            return False
        if not data:
            return False
        self.text += data.decode("utf-8", "replace")
        return True

    def mark(self):
        self._pump(0)
        return len(self.text)

    def since(self, mark):
        return self.text[mark:]

    def send(self, s):
        os.write(self.master, s.encode())

    def expect(self, regex, timeout=5.0, since=0):
        """Wait until what was read (from offset since) matches; the match or None."""
        rx = re.compile(regex, re.M)
        deadline = time.time() + timeout
        while True:
            m = rx.search(self.text, since)
            if m or time.time() >= deadline:
                return m
            self._pump(min(0.1, max(0.0, deadline - time.time())))

    def settle(self, quiet=0.3, timeout=3.0):
        """Read until nothing comes for `quiet` seconds."""
        deadline = time.time() + timeout
        while time.time() < deadline and self._pump(quiet):
            pass

    def wait_raw(self, timeout=2.0):
        """Wait until libedit reads keys (the terminal out of canonical
        mode: a pty's master sees the slave's settings)."""
        return wait_until(lambda: not (termios.tcgetattr(self.master)[3] & termios.ICANON),
                          timeout, interval=0.02)

    def alive(self):
        return self.proc.poll() is None

    def close(self, timeout=10.0):
        """Ctrl-D; returns the exit status (killed if it does not leave)."""
        if self.alive():
            # libedit echoes ^D when it takes it; one typed while the
            # terminal is not in its raw mode may be lost: typed again.
            # The process may linger a moment in the kernel once it has
            # left (closing the terminal): keep reading, be patient.
            self.wait_raw()
            mark = len(self.text)
            deadline = time.time() + timeout
            resend = time.time() + 1.0
            try:
                self.send("\x04")
            except OSError:
                pass
            while self.alive() and time.time() < deadline:
                self._pump(0.05)
                if time.time() > resend and "^D" not in self.text[mark:]:
                    resend = time.time() + 1.0
                    try:
                        self.send("\x04")
                    except OSError:
                        pass
            if self.alive():
                proc.kill_proc(self.proc, grace=0)
        self.settle(0.05, 0.5)
        try:
            os.close(self.master)
        except OSError:
            pass
        return self.proc.returncode

    def _dump(self):
        tap = proc.current_tap
        if tap is not None:
            tap.diag("---- console %s (pty), last output ----" % self.name)
            tap.diag(tail(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", self.text), 25))
