"""End-to-end test harness for lunapbx (Python 3 standard library only).

A test file (spec/e2e/NN_name.t) is an executable Python script that speaks
TAP and runs under `prove`:

    #!/usr/bin/env python3
    import os, sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
    from harness import *

    with Tap(timeout=90) as t:          # hard time limit for the whole file
        t.require_pbx()                 # "1..0 # SKIP ..." when build/lunapbx is missing
        pbx = Pbx(CONFIG, listen="127.0.0.120:5070")
        r = Sipp("options.xml", local="127.0.0.121:5060", remote=pbx.sip).run()
        t.sipp_ok(r, "OPTIONS answered")
    # leaving the block: every process started is killed (by process group),
    # the temp dir is removed (kept with LUNAPBX_KEEP=1), "1..N" is printed and
    # the exit status is non-zero when an assertion failed.

Pieces: Tap (TAP output, time limit, cleanup), Pbx (the server under test),
Sipp (sipp runs, scenario templates, message-trace parsing), Phone (baresip
driven over ctrl_tcp), audio helpers (make_tone, goertzel_power, dominant_tone,
tone_present) and Net (per-file loopback addresses and ports).
"""

import atexit
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import wave
from array import array
from math import cos, pi, sqrt

__all__ = [
    "ROOT", "SUPPORT", "SIPP_DIR", "Tap", "Pbx", "PbxError", "Sipp", "SippResult",
    "SipMsg", "parse_sipp_messages", "render_template", "Phone", "Net",
    "make_tone", "make_silence", "read_wav", "goertzel_power", "tone_powers",
    "dominant_tone", "tone_present", "tone_duration", "pbx_binary", "workdir", "HardTimeout",
    "parse_auth_header", "wait_until", "tail", "SDP",
]

SUPPORT = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(SUPPORT, "..", ".."))
SIPP_DIR = os.path.join(SUPPORT, "sipp")
KEEP = os.environ.get("LUNAPBX_KEEP", "") not in ("", "0")


def pbx_binary():
    return os.environ.get("LUNAPBX_BIN") or os.path.join(ROOT, "build", "lunapbx")


class HardTimeout(Exception):
    """Raised (from SIGALRM) when a test file exceeds its time limit."""


class Interrupted(Exception):
    """Raised when the test file itself gets SIGTERM/SIGINT/SIGHUP."""


# --------------------------------------------------------------------------
# Global state: processes we started, temp root, the current Tap.
# --------------------------------------------------------------------------

_procs = []          # subprocess.Popen objects, each leader of its own group
_tmp_root = None
_tap = None
_pbxs = []
_cleaned = False


def workdir(name):
    """A fresh directory under this test file's temp root."""
    global _tmp_root
    if _tmp_root is None:
        base = os.path.splitext(os.path.basename(sys.argv[0] or "e2e"))[0]
        _tmp_root = tempfile.mkdtemp(prefix="lunapbx-%s-" % base)
    path = os.path.join(_tmp_root, name)
    n = 1
    while os.path.exists(path):
        n += 1
        path = os.path.join(_tmp_root, "%s.%d" % (name, n))
    os.makedirs(path)
    return path


def spawn(argv, log_path, cwd=None, env=None):
    """Start argv in its own session/process group; stdout+stderr to log_path."""
    with open(log_path, "ab") as log:
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, cwd=cwd, env=env,
                             start_new_session=True)
    _procs.append(p)
    return p


def kill_proc(p, grace=3.0):
    """SIGTERM the process group of p, SIGKILL after `grace` s. Returns rc."""
    if p.poll() is None:
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    return p.returncode


def _kill_all(grace=3.0):
    for p in list(_procs):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
    deadline = time.time() + grace
    for p in list(_procs):
        try:
            p.wait(timeout=max(0.05, deadline - time.time()))
        except subprocess.TimeoutExpired:
            pass
    for p in list(_procs):
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass


def _last_resort_alarm(signum, frame):
    for p in list(_procs):
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except Exception:
            pass
    sys.stdout.write("# cleanup itself timed out\n")
    sys.stdout.flush()
    os._exit(255)


def cleanup():
    """Kill every process we started; remove (or keep) the temp dir. Idempotent."""
    global _cleaned
    if _cleaned:
        return
    _cleaned = True
    signal.signal(signal.SIGALRM, _last_resort_alarm)
    signal.alarm(30)
    for ph in list(Phone._all):
        ph._close_ctrl()
    _kill_all()
    if _tmp_root and os.path.isdir(_tmp_root):
        if KEEP:
            sys.stdout.write("# LUNAPBX_KEEP=1: kept temp dir %s\n" % _tmp_root)
        else:
            shutil.rmtree(_tmp_root, ignore_errors=True)
    sys.stdout.flush()
    signal.alarm(0)


atexit.register(cleanup)


def tail(text, n=40):
    lines = text.splitlines()
    return "\n".join(lines[-n:])


def wait_until(pred, timeout, interval=0.05):
    """Poll pred() until truthy or timeout; returns its last value."""
    deadline = time.time() + timeout
    while True:
        v = pred()
        if v or time.time() >= deadline:
            return v
        time.sleep(interval)


# --------------------------------------------------------------------------
# TAP
# --------------------------------------------------------------------------

class Tap:
    """TAP producer. The plan `1..N` is printed at the end by done().

    Tap(timeout=S) arms a hard time limit (SIGALRM): when it expires the
    current step is aborted, a `not ok` is emitted, everything is cleaned up
    and the file exits non-zero.  Use it as a context manager, or call
    t.done() yourself.
    """

    def __init__(self, timeout=120):
        global _tap
        _tap = self
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
        return True


# --------------------------------------------------------------------------
# Addresses and ports: each test file gets its own block.
# --------------------------------------------------------------------------

class Net:
    """Per-file address/port plan.  File NN (00, 10, 20, ... 90) owns:
       - addresses 127.0.S.(100+NN) .. 127.0.S.(100+NN+9)   -> ip(0..9)
       - PBX RTP ports 20000+1000*S+10*NN .. +99              -> pbx_rtp
       - phone RTP ports 30000+1000*S+10*NN+20k .. +19        -> phone_rtp(k), k 0..4
       - sipp media ports 40000+1000*S+10*NN+10k              -> media_port(k), k 0..9
    ip(0) is meant for the PBX, the others for clients (one each).  S is the
    slot, 0 unless env LUNAPBX_E2E_SLOT=1..9 asks for another one: two runs of
    the suite in different slots do not clash (e.g. a CI run and a developer's).
    """

    def __init__(self, nn):
        if not (0 <= nn <= 90 and nn % 10 == 0):
            raise ValueError("file number must be 00, 10, ... 90")
        self.nn = nn
        self.slot = int(os.environ.get("LUNAPBX_E2E_SLOT", "0") or 0)
        if not (0 <= self.slot <= 9):
            raise ValueError("LUNAPBX_E2E_SLOT must be 0..9")
        self._port = 1000 * self.slot + 10 * nn

    def ip(self, i):
        if not (0 <= i <= 9):
            raise ValueError("ip index 0..9")
        return "127.0.%d.%d" % (self.slot, 100 + self.nn + i)

    @property
    def pbx_rtp(self):
        b = 20000 + self._port
        return "%d-%d" % (b, b + 99)

    def phone_rtp(self, k):
        if not (0 <= k <= 4):
            raise ValueError("phone index 0..4")
        b = 30000 + self._port + 20 * k
        return (b, b + 19)

    def media_port(self, k):
        if not (0 <= k <= 9):
            raise ValueError("media index 0..9")
        return 40000 + self._port + 10 * k


# --------------------------------------------------------------------------
# The PBX under test
# --------------------------------------------------------------------------

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
        _pbxs.append(self)
        if _tap is not None:
            _tap.on_fail(self._dump_log)
        if start:
            self.start()

    def argv(self):
        a = [pbx_binary(), "-c", self.config_path, "--listen", self.listen,
             "--state", self.state_dir]
        if self.verbose:
            a.append("-v")
        return a + self.args

    def start(self):
        self.proc = spawn(self.argv(), self.log_path, cwd=self.dir)
        self.started_at = time.time()
        ok = wait_until(lambda: re.search(r"ready", self.log_text()) or not self.alive(),
                        self.ready_timeout)
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
        """Common end of a test file: the PBX is still alive (no crash) and
        stops cleanly on SIGTERM (exit 0 within 3 s)."""
        alive = self.alive()
        t.ok(alive, "PBX still running at the end (no crash)",
             diag=lambda: "exit status %s" % (self.proc.returncode if self.proc else None))
        if alive:
            rc, killed, secs = self.stop()
            t.ok(rc == 0 and not killed, "PBX stops cleanly on SIGTERM (rc %s in %.1fs%s)"
                 % (rc, secs, ", needed SIGKILL" if killed else ""))

    def log_tail(self, n=40):
        return tail(self.log_text(), n)

    def _dump_log(self):
        if _tap is None:
            return
        state = "running" if self.alive() else "exited rc=%s" % (
            self.proc.returncode if self.proc else None)
        _tap.diag("---- tail of %s (%s, %s) ----" % (self.log_path, self.listen, state))
        _tap.diag(self.log_tail(60))
        _tap.diag("---- end of PBX log ----")


# --------------------------------------------------------------------------
# SIP messages (from sipp -trace_msg files)
# --------------------------------------------------------------------------

_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
            "l": "content-length", "c": "content-type", "k": "supported",
            "s": "subject", "e": "content-encoding", "o": "event", "r": "refer-to",
            "u": "allow-events", "x": "session-expires"}


class SipMsg:
    def __init__(self, text, direction="?", ts=0.0, transport="UDP"):
        self.text = text
        self.dir = direction          # "sent" | "recv"
        self.ts = ts
        self.transport = transport
        head, _, body = text.replace("\r\n", "\n").partition("\n\n")
        lines = head.split("\n")
        self.start = lines[0].strip()
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + line.strip())
                continue
            if ":" in line:
                n, v = line.split(":", 1)
                n = n.strip().lower()
                self.headers.append((_COMPACT.get(n, n), v.strip()))
        self.body = body
        m = re.match(r"SIP/2\.0\s+(\d{3})\s*(.*)", self.start)
        if m:
            self.is_response = True
            self.code = int(m.group(1))
            self.reason = m.group(2)
            cs = (self.header("cseq") or "").split()
            self.method = cs[1] if len(cs) > 1 else None
        else:
            self.is_response = False
            self.code = None
            self.reason = None
            self.method = self.start.split(" ", 1)[0]

    def header(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def headers_all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n == name]

    def header_names(self):
        return [n for n, _ in self.headers]

    def sdp_payloads(self):
        """Payload types of the first m=audio line of the body, as strings."""
        m = re.search(r"^m=audio\s+\d+\s+\S+\s+([0-9 ]+)", self.body, re.M)
        return m.group(1).split() if m else []

    def sdp_rtpmap(self):
        return dict(re.findall(r"^a=rtpmap:(\d+)\s+(\S+)", self.body, re.M))

    def __repr__(self):
        return "<SipMsg %s %s>" % (self.dir, self.start)


def parse_sipp_messages(path):
    """Parse a sipp -message_file into a list of SipMsg (sent and received)."""
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    out = []
    parts = re.split(r"^-{20,}\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\s*$", data, flags=re.M)
    # parts: [prefix, ts1, chunk1, ts2, chunk2, ...]
    for i in range(1, len(parts) - 1, 2):
        ts_s, chunk = parts[i], parts[i + 1]
        m = re.match(r"\s*(\w+) message (sent|received)[^\n]*\n", chunk)
        if not m:
            continue
        msg = chunk[m.end():].strip("\r\n")
        if not msg.strip():
            continue
        try:
            ts = time.mktime(time.strptime(ts_s.split(".")[0], "%Y-%m-%d %H:%M:%S"))
            if "." in ts_s:
                ts += float("0." + ts_s.split(".")[1])
        except ValueError:
            ts = 0.0
        out.append(SipMsg(msg, "sent" if m.group(2) == "sent" else "recv", ts, m.group(1)))
    return out


def parse_auth_header(value):
    """'Digest realm="x", nonce="y", qop="auth"' -> ('Digest', {realm:x, nonce:y, qop:auth})."""
    if value is None:
        return (None, {})
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]+)', rest):
        params[m.group(1).lower()] = m.group(3) if m.group(3) is not None else m.group(2)
    return (scheme, params)


# --------------------------------------------------------------------------
# sipp
# --------------------------------------------------------------------------

# SDP media sections for the {media} placeholder of the uac_*.xml templates
SDP = {
    "pcmu_pcma": "m=audio [media_port] RTP/AVP 0 8 101\na=rtpmap:0 PCMU/8000\n"
                 "a=rtpmap:8 PCMA/8000\na=rtpmap:101 telephone-event/8000\n"
                 "a=fmtp:101 0-16\na=sendrecv",
    "pcmu": "m=audio [media_port] RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv",
    "pcma": "m=audio [media_port] RTP/AVP 8\na=rtpmap:8 PCMA/8000\na=sendrecv",
    "g722": "m=audio [media_port] RTP/AVP 9\na=rtpmap:9 G722/8000\na=sendrecv",
}

_render_count = [0]


def render_template(name, **values):
    """Render spec/support/sipp/NAME (with {placeholders}) to a temp file; returns its path.

    Only {identifier} placeholders are substituted; a placeholder without a
    value is an error.  sipp's own [keywords] are left alone.
    """
    src = name if os.path.isabs(name) else os.path.join(SIPP_DIR, name)
    with open(src) as f:
        text = f.read()

    def sub(m):
        k = m.group(1)
        if k not in values:
            raise KeyError("template %s: no value for {%s}" % (name, k))
        return str(values[k])

    text = re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, text)
    d = os.path.join(_tmp_root, "scenarios") if _tmp_root else None
    if d is None or not os.path.isdir(d):
        d = workdir("scenarios")
    _render_count[0] += 1
    out = os.path.join(d, "%02d-%s" % (_render_count[0], os.path.basename(name)))
    with open(out, "w") as f:
        f.write(text)
    return out


class SippResult:
    def __init__(self, sipp, rc):
        self.sipp = sipp
        self.rc = rc
        self.errors = _read(sipp.error_file)
        self.messages = parse_sipp_messages(sipp.message_file)
        self.screen = _read(sipp.screen_file)

    @property
    def ok(self):
        return self.rc == 0

    def received(self, code_or_method=None):
        """Received messages; filter by response code (int) or request method (str)."""
        out = []
        for m in self.messages:
            if m.dir != "recv":
                continue
            if code_or_method is None:
                out.append(m)
            elif isinstance(code_or_method, int):
                if m.code == code_or_method:
                    out.append(m)
            elif not m.is_response and m.method == code_or_method:
                out.append(m)
        return out

    def first(self, code_or_method):
        r = self.received(code_or_method)
        return r[0] if r else None

    def sent(self, method=None):
        return [m for m in self.messages if m.dir == "sent"
                and (method is None or (not m.is_response and m.method == method))]

    def codes(self):
        """Received response codes in order (retransmissions included)."""
        return [m.code for m in self.messages if m.dir == "recv" and m.is_response]

    def flow(self):
        return ["%s %s" % (">>" if m.dir == "sent" else "<<", m.start) for m in self.messages]

    def diag(self):
        s = ["sipp %s exited %s" % (self.sipp.label, self.rc),
             "command: " + " ".join(self.sipp.argv)]
        if self.messages:
            s.append("message flow: " + " | ".join(self.flow()))
        if self.errors.strip():
            s.append("---- sipp error file (tail) ----")
            s.append(tail(self.errors, 50))
        else:
            s.append("(sipp error file empty)")
            if self.screen.strip():
                s.append("---- sipp output (tail) ----")
                s.append(tail(self.screen, 12))
        return "\n".join(s)


def _udp_in_use(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((ip, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except (FileNotFoundError, TypeError):
        return ""


class Sipp:
    """One sipp run.

    scenario: a built-in name ("uac", "uas", ...), a file name in
    spec/support/sipp/, or a path (e.g. from render_template()).
    local: "IP:PORT" for -i/-p; media: "IP:PORT" for -mi/-mp (default: local IP,
    port from Net.media_port or local port + 1000); remote: "IP:PORT" target.
    """

    def __init__(self, scenario, local, remote=None, media=None, m=1, timeout=15,
                 auth=None, service=None, keys=None, inf=None, transport=None,
                 rate=None, limit=None, extra=(), name=None, template=None):
        self.dir = workdir("sipp-" + (name or os.path.splitext(os.path.basename(scenario))[0]))
        self.label = name or os.path.basename(scenario)
        if template is not None:
            scenario = render_template(scenario, **template)
        self.local_ip, lp = local.rsplit(":", 1)
        self.local_port = int(lp)
        if media is None:
            media = "%s:%d" % (self.local_ip, self.local_port + 1000)
        mip, mp = media.rsplit(":", 1)
        self.error_file = os.path.join(self.dir, "errors.log")
        self.message_file = os.path.join(self.dir, "messages.log")
        self.screen_file = os.path.join(self.dir, "screen.log")
        a = ["sipp"]
        if os.path.sep in scenario or scenario.endswith(".xml"):
            path = scenario if os.path.isabs(scenario) else os.path.join(SIPP_DIR, scenario)
            a += ["-sf", path]
        else:
            a += ["-sn", scenario]
        a += ["-i", self.local_ip, "-p", str(self.local_port), "-mi", mip, "-mp", mp,
              "-m", str(m), "-timeout", "%ds" % int(timeout), "-timeout_error", "-nostdin",
              "-trace_err", "-error_file", self.error_file,
              "-trace_msg", "-message_file", self.message_file]
        if transport:
            a += ["-t", transport]
        if auth:
            a += ["-au", auth[0], "-ap", auth[1]]
        if service:
            a += ["-s", str(service)]
        for k, v in (keys or {}).items():
            a += ["-key", str(k), str(v)]
        if inf:
            a += ["-inf", inf]
        if rate:
            a += ["-r", str(rate)]
        if limit:
            a += ["-l", str(limit)]
        a += list(extra)
        if remote:
            a.append(remote)
        self.argv = a
        self.timeout = timeout
        self.proc = None

    def start(self, wait_bound=True):
        """Start in the background; by default wait (max 2 s) until sipp holds its
        UDP port, so that a peer started next finds it listening."""
        self.proc = spawn(self.argv, self.screen_file, cwd=self.dir)
        self.started_at = time.time()
        if wait_bound and "-t" not in self.argv:
            wait_until(lambda: _udp_in_use(self.local_ip, self.local_port) or not self.running(), 2)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def messages(self):
        return parse_sipp_messages(self.message_file)

    def wait(self, timeout=None):
        """Wait for sipp to exit; kill it after `timeout` s (default: its own
        -timeout + 5 s).  Returns a SippResult."""
        if self.proc is None:
            self.start()
        limit = timeout if timeout is not None else self.timeout + 5
        try:
            rc = self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            kill_proc(self.proc, grace=1)
            rc = "killed after %ss" % limit
        return SippResult(self, rc)

    def run(self, timeout=None):
        return self.start().wait(timeout)

    def stop(self):
        """Kill a background sipp (by its process group) and return its SippResult."""
        rc = kill_proc(self.proc, grace=1) if self.proc else None
        return SippResult(self, rc)


# --------------------------------------------------------------------------
# baresip phones
# --------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Phone:
    """A headless baresip 1.0 driven over ctrl_tcp.

    Phone(user, ip, registrar="127.0.0.1:5070", password="pw", rtp_ports=(a,b),
          tone_hz=700, answermode="auto", extra=";dtmfmode=info", regint=600)
    registrar=None makes a regint=0 account `<sip:user@ip:sip_port>` for direct calls.
    """

    _all = []

    def __init__(self, user, ip, registrar=None, password=None, sip_port=5060,
                 ctrl_port=4444, rtp_ports=(30000, 30019), tone_hz=700, audio_file=None,
                 answermode="auto", regint=600, codecs="PCMU,PCMA", extra="",
                 limit=120, name=None, start=True):
        self.user = user
        self.ip = ip
        self.sip_port = sip_port
        self.ctrl_port = ctrl_port
        self.name = name or user
        self.dir = workdir("phone-" + self.name)
        self.rec_dir = os.path.join(self.dir, "rec")
        os.makedirs(self.rec_dir)
        if audio_file is None:
            audio_file = os.path.join(self.dir, "tone-%d.wav" % tone_hz)
            make_tone(audio_file, tone_hz, 15)
        self.audio_file = audio_file
        self.tone_hz = tone_hz
        self.log_path = os.path.join(self.dir, "baresip.log")
        cfg = [
            ("poll_method", "epoll"),
            ("sip_listen", "%s:%d" % (ip, sip_port)),
            ("net_interface", ip),
            ("call_local_timeout", "30"),
            ("audio_buffer", "20-160"),
            ("audio_source", "aufile," + audio_file),
            ("audio_player", "nullplay,nil"),
            ("audio_alert", "nullplay,nil"),
            ("rtp_ports", "%d-%d" % tuple(rtp_ports)),
            ("rtcp_mux", "no"),
            ("jitter_buffer_delay", "1-10"),
            ("rtp_stats", "yes"),
            ("module_path", "/usr/lib/baresip/modules"),
            ("module", "g711.so"),
            ("module", "aufile.so"),
            ("module", "sndfile.so"),
            ("module_tmp", "account.so"),
            ("module_app", "menu.so"),
            ("module_app", "ctrl_tcp.so"),
            ("ctrl_tcp_listen", "%s:%d" % (ip, ctrl_port)),
            ("snd_path", self.rec_dir),
        ]
        with open(os.path.join(self.dir, "config"), "w") as f:
            for k, v in cfg:
                f.write("%-20s%s\n" % (k, v))
        if registrar:
            aor = "<sip:%s@%s>" % (user, registrar)
            params = ""
            if password is not None:
                params += ";auth_pass=%s" % password
            params += ";answermode=%s;audio_codecs=%s;regint=%d" % (answermode, codecs, regint)
        else:
            aor = "<sip:%s@%s:%d>" % (user, ip, sip_port)
            params = ";answermode=%s;audio_codecs=%s;regint=0" % (answermode, codecs)
        self.account = aor + params + extra
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(self.account + "\n")
        self.uri = "sip:%s@%s:%d" % (user, ip, sip_port)
        self.limit = limit
        self.proc = None
        self.sock = None
        self.events = []
        self._consumed = set()
        self.responses = {}
        self._cv = threading.Condition()
        self._token = 0
        self._send_lock = threading.Lock()
        self._reader = None
        Phone._all.append(self)
        if _tap is not None:
            _tap.on_fail(self._dump_log)
        if start:
            self.start()

    # -- process --
    def start(self, connect_timeout=5.0):
        self.proc = spawn(["baresip", "-f", self.dir, "-t", str(int(self.limit))],
                          self.log_path, cwd=self.dir)
        deadline = time.time() + connect_timeout
        while True:
            try:
                self.sock = socket.create_connection((self.ip, self.ctrl_port), timeout=1)
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("baresip %s: ctrl_tcp %s:%d not reachable (rc %s); log:\n%s"
                                       % (self.name, self.ip, self.ctrl_port, self.proc.poll(),
                                          tail(self.log_text(), 20)))
                time.sleep(0.05)
        self.sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        self._close_ctrl()
        if self.proc is not None:
            return kill_proc(self.proc, grace=3)

    def _close_ctrl(self):
        s, self.sock = self.sock, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def log_text(self):
        return _read(self.log_path)

    def _dump_log(self):
        if _tap is None:
            return
        _tap.diag("---- tail of baresip %s log (%s) ----" % (self.name, self.log_path))
        _tap.diag(tail(self.log_text(), 25))
        _tap.diag("events: %s" % [(e.get("type"), e.get("param")) for e in self.events])

    # -- ctrl_tcp: netstrings of JSON --
    def _read_loop(self):
        buf = b""
        sock = self.sock
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            buf += data
            while True:
                c = buf.find(b":")
                if c < 0 or not buf[:c].isdigit():
                    if c > 12:          # garbage; resync
                        buf = b""
                    break
                n = int(buf[:c])
                if len(buf) < c + 1 + n + 1:
                    break
                payload = buf[c + 1:c + 1 + n]
                buf = buf[c + 1 + n + 1:]
                try:
                    msg = json.loads(payload.decode("utf-8", "replace"))
                except ValueError:
                    continue
                msg["_t"] = time.time()
                with self._cv:
                    if msg.get("response"):
                        self.responses[msg.get("token")] = msg
                    elif msg.get("event"):
                        self.events.append(msg)
                    self._cv.notify_all()

    def command(self, cmd, params=None, timeout=5.0):
        """Send a ctrl_tcp command; returns the response dict or None on timeout."""
        if self.sock is None:
            raise RuntimeError("baresip %s: not connected" % self.name)
        with self._send_lock:
            self._token += 1
            tok = "%s-%d" % (self.name, self._token)
            d = {"command": cmd, "token": tok}
            if params is not None:
                d["params"] = params
            b = json.dumps(d).encode()
            self.sock.sendall(str(len(b)).encode() + b":" + b + b",")
        with self._cv:
            self._cv.wait_for(lambda: tok in self.responses, timeout)
            return self.responses.pop(tok, None)

    def reginfo(self):
        r = self.command("reginfo")
        return _ANSI.sub("", r.get("data", "")) if r else ""

    def registered(self, timeout=10.0):
        """Poll `reginfo` until the account shows OK; True/False."""
        return bool(wait_until(lambda: re.search(r"\bOK\b", self.reginfo()), timeout, 0.2))

    def dial(self, uri):
        return self.command("dial", uri)

    def hangup(self):
        return self.command("hangup")

    def accept(self):
        return self.command("accept")

    def send_dtmf(self, digits):
        return self.command("sndcode", digits)

    def callstat(self):
        r = self.command("callstat")
        return _ANSI.sub("", r.get("data", "")) if r else ""

    def wait_event(self, etype, timeout=10.0):
        """Wait for the next not-yet-consumed event of this type; returns it or None."""
        def find():
            for i, e in enumerate(self.events):
                if i not in self._consumed and e.get("type") == etype:
                    self._consumed.add(i)
                    return e
            return None
        with self._cv:
            found = [None]

            def pred():
                found[0] = find()
                return found[0] is not None
            self._cv.wait_for(pred, timeout)
            return found[0]

    def event_types(self):
        with self._cv:
            return [e.get("type") for e in self.events]

    # -- recordings (module sndfile) --
    def recordings(self):
        """[{'enc': path, 'dec': path}, ...] oldest first.  -dec.wav is what this
        phone received (decoded), -enc.wav what it sent."""
        recs = {}
        for fn in sorted(os.listdir(self.rec_dir)):
            m = re.match(r"(.*)-(enc|dec)\.wav$", fn)
            if m:
                recs.setdefault(m.group(1), {})[m.group(2)] = os.path.join(self.rec_dir, fn)
        return [recs[k] for k in sorted(recs)]

    def wait_recording(self, count=1, timeout=5.0):
        """Wait until `count` recordings with both files exist and stopped growing."""
        def sizes():
            recs = self.recordings()
            if len(recs) < count or not all("enc" in r and "dec" in r for r in recs):
                return None
            return tuple(os.path.getsize(p) for r in recs for p in (r["enc"], r["dec"]))
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            s = sizes()
            if s is not None and s == last:
                return self.recordings()[-1]
            last = s
            time.sleep(0.3)
        recs = self.recordings()
        return recs[-1] if len(recs) >= count else None


# --------------------------------------------------------------------------
# Audio
# --------------------------------------------------------------------------

def make_tone(path, freq_hz, seconds, pad=30, volume=0.5):
    """8 kHz mono 16-bit sine of freq_hz for `seconds`, then `pad` s of silence
    (baresip's aufile hangs up ~1 s after the file ends)."""
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    path, "synth", str(seconds), "sine", str(freq_hz), "vol", str(volume),
                    "pad", "0", str(pad)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return path


def make_silence(path, seconds):
    subprocess.run(["sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer",
                    path, "trim", "0", str(seconds)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return path


def read_wav(path, max_seconds=60):
    """(samples as array('h') of the first channel, rate).  Falls back to sox
    conversion for WAV flavours the wave module does not read."""
    try:
        w = wave.open(path, "rb")
    except (wave.Error, EOFError):
        conv = path + ".pcm16.wav"
        subprocess.run(["sox", path, "-b", "16", "-e", "signed-integer", conv],
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        w = wave.open(conv, "rb")
    with w:
        rate, ch, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        nframes = min(w.getnframes(), int(rate * max_seconds))
        raw = w.readframes(nframes)
    if width != 2:
        raise ValueError("%s: %d-byte samples unsupported" % (path, width))
    a = array("h")
    a.frombytes(raw[:len(raw) - len(raw) % 2])
    if sys.byteorder == "big":
        a.byteswap()
    if ch > 1:
        a = a[0::ch]
    return a, rate


def goertzel_power(samples, freq, rate):
    """Power of samples at freq (Goertzel), normalised as 2|X|^2/N^2 so that a
    sine of amplitude A at freq gives A^2/2, its mean power."""
    n = len(samples)
    if n == 0:
        return 0.0
    coeff = 2.0 * cos(2.0 * pi * freq / rate)
    s1 = s2 = 0.0
    for x in samples:
        s0 = x + coeff * s1 - s2
        s2 = s1
        s1 = s0
    p = s1 * s1 + s2 * s2 - coeff * s1 * s2
    return 2.0 * p / (n * n)


def tone_powers(samples, rate, freqs, block=400):
    """Per-frequency power summed over blocks, plus the total signal power.
    Blocks (50 ms at 8 kHz) keep the measure robust to phase jumps from jitter
    buffers and packet loss concealment."""
    powers = {f: 0.0 for f in freqs}
    total = 0.0
    nblocks = 0
    for i in range(0, len(samples) - block + 1, block):
        b = samples[i:i + block]
        total += sum(x * x for x in b) / block
        for f in freqs:
            powers[f] += goertzel_power(b, f, rate)
        nblocks += 1
    return powers, total, nblocks


SILENCE_RMS = 100.0   # of 32767: below this the recording counts as silence


def dominant_tone(wav_path, candidates, skip=0.0):
    """(freq, ratio, info): the candidate frequency with most energy in the file
    and its energy divided by the strongest other candidate's.  freq is None when
    the file is silent or no candidate carries at least 30 % of the signal."""
    samples, rate = read_wav(wav_path)
    samples = samples[int(skip * rate):]
    powers, total, nblocks = tone_powers(samples, rate, candidates)
    info = {"powers": powers, "total": total, "blocks": nblocks,
            "rms": sqrt(total / nblocks) if nblocks else 0.0}
    if not nblocks or info["rms"] < SILENCE_RMS:
        return (None, 0.0, info)
    best = max(candidates, key=lambda f: powers[f])
    others = [powers[f] for f in candidates if f != best]
    ratio = powers[best] / max(max(others) if others else 0.0, 1e-9)
    info["fraction"] = powers[best] / total if total else 0.0
    if info["fraction"] < 0.3:
        return (None, ratio, info)
    return (best, ratio, info)


def tone_present(wav_path, freq, min_fraction=0.3, skip=0.0):
    """True when the file is not silent and at least min_fraction of its power
    (over blocks with signal) sits at freq."""
    samples, rate = read_wav(wav_path)
    samples = samples[int(skip * rate):]
    block = 400
    p = 0.0
    total = 0.0
    active = 0
    for i in range(0, len(samples) - block + 1, block):
        b = samples[i:i + block]
        e = sum(x * x for x in b) / block
        if e < SILENCE_RMS * SILENCE_RMS:
            continue
        total += e
        p += goertzel_power(b, freq, rate)
        active += 1
    if not active:
        return False
    return p / total >= min_fraction


def tone_duration(wav_path, freq, min_fraction=0.5):
    """Seconds of the file (in 50 ms blocks) where freq carries at least
    min_fraction of a non-silent block's power."""
    samples, rate = read_wav(wav_path)
    block = 400
    n = 0
    for i in range(0, len(samples) - block + 1, block):
        b = samples[i:i + block]
        e = sum(x * x for x in b) / block
        if e >= SILENCE_RMS * SILENCE_RMS and goertzel_power(b, freq, rate) / e >= min_fraction:
            n += 1
    return n * block / float(rate)
