"""TAP output with a hard time limit; failures print the diagnostics
registered by the PBX, sipp and phone objects."""

import os
import re
import signal
import sys
import time
import traceback

from . import proc
from .proc import HardTimeout, Interrupted, ROOT, cleanup, pbx_binary, tail


class Tap:
    """TAP producer. The plan `1..N` is printed at the end by done().

    Tap(timeout=S) arms a hard time limit (SIGALRM): when it expires the
    current step is aborted, a `not ok` is emitted, everything is cleaned up
    and the file exits non-zero.  Use it as a context manager, or call
    t.done() yourself.
    """

    def __init__(self, timeout=120):
        proc.current_tap = self
        self.n = 0
        self.failed = 0
        self.timeout = timeout
        self.finished = False
        self.fail_hooks = []      # callables run once at the end if anything failed
        self._t0 = time.time()
        signal.signal(signal.SIGALRM, self._on_alarm)
        for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(s, self._on_signal)
        signal.alarm(int(timeout))
        try:
            sys.stdout.reconfigure(line_buffering=True)
        except Exception:
            pass

    # -- signals --
    def _on_alarm(self, signum, frame):
        raise HardTimeout("hard time limit of %ss reached" % self.timeout)

    def _on_signal(self, signum, frame):
        raise Interrupted("got signal %d" % signum)

    # -- output --
    def _emit(self, line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    def note(self, msg):
        """A TAP comment on stdout (visible with prove -v)."""
        for line in str(msg).splitlines() or [""]:
            self._emit("# " + line)

    def diag(self, msg):
        """A TAP comment on stderr (always shown by prove)."""
        sys.stdout.flush()
        for line in str(msg).splitlines() or [""]:
            sys.stderr.write("# " + line + "\n")
        sys.stderr.flush()

    def ok(self, cond, name, diag=None, todo=None):
        self.n += 1
        cond = bool(cond)
        line = ("ok %d" if cond else "not ok %d") % self.n
        if name:
            line += " - " + str(name).replace("#", "\\#")
        if todo:
            line += " # TODO " + todo
        self._emit(line)
        if not cond:
            say = self.note if todo else self.diag   # TODO failures: quietly, on stdout
            if not todo:
                self.failed += 1
            say("  Failed %stest '%s' (%.1fs into the file)"
                % ("(TODO) " if todo else "", name, time.time() - self._t0))
            if diag is not None:
                try:
                    d = diag() if callable(diag) else diag
                except Exception as e:  # diagnostics must never break the run
                    d = "(diagnostics failed: %r)" % e
                if d:
                    say(d)
        return cond

    def is_(self, got, exp, name, diag=None):
        def d():
            extra = diag() if callable(diag) else diag
            s = "         got: %r\n    expected: %r" % (got, exp)
            return s + ("\n" + extra if extra else "")
        return self.ok(got == exp, name, diag=d)

    def like(self, got, regex, name, diag=None):
        m = got is not None and re.search(regex, got, re.M)
        def d():
            extra = diag() if callable(diag) else diag
            s = "    %r\n    doesn't match %r" % (tail(str(got), 15), regex)
            return s + ("\n" + extra if extra else "")
        return self.ok(m, name, diag=d)

    def unlike(self, got, regex, name, diag=None):
        m = got is not None and re.search(regex, got, re.M)
        return self.ok(not m, name, diag=lambda: "    matched %r: %r" % (regex, m.group(0)))

    def skip(self, name, reason):
        self.n += 1
        self._emit("ok %d - %s # SKIP %s" % (self.n, name, reason))

    def sipp_ok(self, res, name, extra=None):
        """ok() on a SippResult: exit status 0; diagnostics = error file, trace."""
        return self.ok(res.rc == 0, name, diag=lambda: res.diag() + ("\n" + extra() if extra else ""))

    def on_fail(self, fn):
        self.fail_hooks.append(fn)

    def skip_all(self, reason):
        self._emit("1..0 # SKIP " + reason)
        self.finished = True
        cleanup()
        sys.exit(0)

    def require_pbx(self):
        b = pbx_binary()
        if not (os.path.isfile(b) and os.access(b, os.X_OK)):
            rel = os.path.relpath(b, ROOT) if b.startswith(ROOT) else b
            self.skip_all("%s not built" % rel)

    def bail(self, reason):
        """Abort the file: one failing test, then done()."""
        self.ok(False, "bail out: " + reason)
        self.done()

    def done(self):
        if self.finished:
            return
        self.finished = True
        signal.alarm(0)
        if self.failed:
            for fn in self.fail_hooks:
                try:
                    fn()
                except Exception as e:
                    self.diag("(failure hook raised %r)" % e)
        cleanup()
        self._emit("1..%d" % self.n)
        if self.failed:
            self.diag("Looks like you failed %d test%s of %d." %
                      (self.failed, "" if self.failed == 1 else "s", self.n))
        sys.exit(min(self.failed, 254))

    def __enter__(self):
        return self

    def __exit__(self, et, ev, tb):
        if et is SystemExit:
            return False
        if et is not None:
            signal.alarm(0)
            if et is HardTimeout:
                self.ok(False, "finished within the hard time limit (%ss)" % self.timeout,
                        diag="".join(traceback.format_exception(et, ev, tb)[-6:]))
            else:
                self.ok(False, "no unexpected exception (%s: %s)" % (et.__name__, ev),
                        diag="".join(traceback.format_exception(et, ev, tb)))
        self.done()
