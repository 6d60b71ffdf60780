"""Processes a test starts, its temp folder, and the cleanup that kills
them all (by process group) whatever way the test file ends."""

import atexit
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SUPPORT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.abspath(os.path.join(SUPPORT, "..", ".."))
SIPP_DIR = os.path.join(SUPPORT, "sipp")
KEEP = os.environ.get("LUNAPBX_KEEP", "") not in ("", "0")


def pbx_binary():
    return os.environ.get("LUNAPBX_BIN") or os.path.join(ROOT, "build", "lunapbx")


class HardTimeout(Exception):
    """Raised (from SIGALRM) when a test file exceeds its time limit."""


class Interrupted(Exception):
    """Raised when the test file itself gets SIGTERM/SIGINT/SIGHUP."""



_procs = []          # subprocess.Popen objects, each leader of its own group
_tmp_root = None
_cleaned = False
current_tap = None   # the Tap of this file, set by Tap()
before_kill = []     # callables run by cleanup() before processes are killed


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


def _signal_group(p, sig):
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


def _wait(p, timeout):
    try:
        p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pass


def _force(p):
    """SIGKILL the group of a process still running, and reap it."""
    if p.poll() is None:
        _signal_group(p, signal.SIGKILL)
        _wait(p, 5)


def kill_proc(p, grace=3.0):
    """SIGTERM the process group of p, SIGKILL after `grace` s. Returns rc."""
    if p.poll() is None:
        _signal_group(p, signal.SIGTERM)
        _wait(p, grace)
        _force(p)
    return p.returncode


def _kill_all(grace=3.0):
    for p in list(_procs):
        if p.poll() is None:
            _signal_group(p, signal.SIGTERM)
    deadline = time.time() + grace
    for p in list(_procs):
        _wait(p, max(0.05, deadline - time.time()))
    for p in list(_procs):
        _force(p)


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
    for fn in list(before_kill):
        try:
            fn()
        except Exception:
            pass
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


def tmp_root():
    return _tmp_root


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except (FileNotFoundError, TypeError):
        return ""


def on_fail(fn):
    """Run fn (diagnostics) at the end of the file if a test failed."""
    if current_tap is not None:
        current_tap.on_fail(fn)
