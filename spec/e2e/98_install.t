#!/usr/bin/env python3
# Installing and running as a service:
#   - `make install DESTDIR=tmp`: the tree (binary, Lua library, sounds,
#     example configuration, state folder, unit, sysusers, man page), modes
#     and the paths written into the unit and the configuration
#   - the unit validated by `systemd-analyze verify` (its ExecStart pointed
#     into the DESTDIR tree; a broken copy is caught, so the check can fail)
#   - the man page renders without a groff warning
#   - `lunapbx --check FILE`: exit 0 on the installed configuration, 1 with
#     FILE:LINE on a syntax error, a bad setting, an error in a module the
#     configuration requires, a file that is not there
#   - the installed tree started where it lies (it finds its Lua library and
#     sounds from its own folder) as systemd would: NOTIFY_SOCKET gets
#     READY=1 once it listens, RELOADING=1 and READY=1 around a SIGHUP
#     reload, STOPPING=1 at SIGTERM; JOURNAL_STREAM: log lines carry their
#     priority; a baresip phone calls the echo test (600): the installed
#     prompt, then its own tone back; the call's record is written
# Under ASan the binary under test (LUNAPBX_BIN) replaces the installed one.
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.proc import spawn  # noqa: E402

net = Net(98)
CALLER_HZ = 700


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


# a make of its own, not a part of the `make check` that may run this file
MAKE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


with Tap(timeout=280) as t:
    t.require_pbx()
    if not shutil.which("make"):
        t.skip_all("make is not installed")
    dest = workdir("destdir")
    r = run(["make", "-C", ROOT, "--no-print-directory", "install", "DESTDIR=" + dest],
            timeout=240, env=MAKE_ENV)
    t.ok(r.returncode == 0, "make install DESTDIR=%s" % dest,
         diag=lambda: tail(r.stdout + r.stderr, 30))

    # -- the tree --------------------------------------------------------------------------
    pre = os.path.join(dest, "usr/local")
    sbin = os.path.join(pre, "sbin/lunapbx")
    share = os.path.join(pre, "share/lunapbx")
    conf = os.path.join(dest, "etc/lunapbx/lunapbx.lua")
    unit = os.path.join(dest, "lib/systemd/system/lunapbx.service")
    man = os.path.join(pre, "share/man/man8/lunapbx.8")
    state = os.path.join(dest, "var/lib/lunapbx")
    t.ok(os.path.isfile(sbin) and mode(sbin) == 0o755, "the binary: /usr/local/sbin/lunapbx, 0755")
    lua_src = sorted(os.path.relpath(os.path.join(d, f), ROOT)
                     for d, _, fs in os.walk(os.path.join(ROOT, "lua")) for f in fs
                     if f.endswith(".lua"))
    missing = [f for f in lua_src if not os.path.isfile(os.path.join(share, f))]
    t.ok(lua_src and not missing, "the Lua library: %d files under share/lunapbx/lua" % len(lua_src),
         diag=repr(missing))
    wavs = [os.path.relpath(os.path.join(d, f), os.path.join(ROOT, "sounds"))
            for d, _, fs in os.walk(os.path.join(ROOT, "sounds")) for f in fs if f.endswith(".wav")]
    missing = [w for w in wavs if not os.path.isfile(os.path.join(share, "sounds", w))]
    t.ok(len(wavs) > 100 and not missing and
         os.path.isfile(os.path.join(share, "sounds/en/demo-echotest.wav")) and
         os.path.isdir(os.path.join(share, "sounds/moh/default")),
         "the sounds: %d prompts and music files under share/lunapbx/sounds" % len(wavs),
         diag=repr(missing[:5]))
    text = read_text(conf) or ""
    t.ok(os.path.isfile(conf) and mode(conf) == 0o640 and "@" not in text.split("\n\n")[0] and
         "/usr/local/share/lunapbx/lua" in text and "pbx.endpoint" in text,
         "the example configuration: /etc/lunapbx/lunapbx.lua, 0640, the default dialplan"
         " with the installed paths in its header", diag=lambda: text[:600])
    t.ok(os.path.isdir(state) and mode(state) == 0o750, "the state folder: /var/lib/lunapbx, 0750")
    u = read_text(unit) or ""
    want = [r"^Type=notify$", r"^User=lunapbx$",
            r"^ExecStart=/usr/local/sbin/lunapbx -c /etc/lunapbx/lunapbx.lua --state /var/lib/lunapbx$",
            r"^ExecStartPre=/usr/local/sbin/lunapbx --check /etc/lunapbx/lunapbx.lua$",
            r"^ExecReload=/bin/kill -HUP \$MAINPID$", r"^Restart=on-failure$",
            r"^AmbientCapabilities=.*CAP_NET_RAW", r"^AmbientCapabilities=.*CAP_NET_ADMIN",
            r"^AmbientCapabilities=.*CAP_BPF", r"^StateDirectory=lunapbx$"]
    bad = [w for w in want if not re.search(w, u, re.M)]
    t.ok(u and not bad, "the unit: Type=notify, its own user, ExecStart with the installed paths,"
         " --check before the start, reload = SIGHUP, restart on failure, CAP_NET_RAW,"
         " CAP_NET_ADMIN, CAP_BPF", diag=lambda: "missing: %r\n%s" % (bad, u))
    t.ok(re.search(r"^u lunapbx ", read_text(os.path.join(pre, "lib/sysusers.d/lunapbx.conf")) or "",
                   re.M), "its user, for systemd-sysusers")

    # -- systemd-analyze verify --------------------------------------------------------------
    if not shutil.which("systemd-analyze"):
        t.skip("systemd-analyze verify", "systemd-analyze is not installed (package systemd)")
    else:
        vdir = workdir("verify")
        with open(os.path.join(vdir, "lunapbx.service"), "w") as f:
            f.write(u.replace("/usr/local/sbin/", pre + "/sbin/"))
        v = run(["systemd-analyze", "verify", "--man=no", os.path.join(vdir, "lunapbx.service")])
        t.ok(v.returncode == 0 and not v.stderr.strip() and not v.stdout.strip(),
             "systemd-analyze verify: no error, no warning", diag=lambda: v.stdout + v.stderr)
        with open(os.path.join(vdir, "broken.service"), "w") as f:
            f.write(u.replace("/usr/local/sbin/", pre + "/sbin/")
                    .replace("Type=notify", "Type=notified"))
        v = run(["systemd-analyze", "verify", "--man=no", os.path.join(vdir, "broken.service")])
        t.ok("Type" in v.stderr or "type" in v.stderr,
             "... and it does see a broken copy (Type=notified)", diag=lambda: v.stderr)

    # -- the man page ----------------------------------------------------------------------
    m = run(["man", "--warnings", "-l", man], env=dict(os.environ, MANWIDTH="80", LC_ALL="C.UTF-8",
                                                        MANPAGER="cat", PAGER="cat"))
    t.ok(m.returncode == 0 and not m.stderr.strip() and "--check FILE" in m.stdout and
         "/var/lib/lunapbx/lunapbx.db" in m.stdout and "SIGHUP" in m.stdout,
         "the man page (lunapbx.8) renders without a warning: --check, the state, signals",
         diag=lambda: m.stderr + m.stdout[:400])

    # -- the binary under test goes into the tree (ASan: the sanitized one) ------------------
    if os.path.abspath(pbx_binary()) != os.path.join(ROOT, "build", "lunapbx"):
        shutil.copy(pbx_binary(), sbin)

    # -- --check -------------------------------------------------------------------------------
    env = {k: v for k, v in os.environ.items() if k not in ("LUNAPBX_LIB",)}
    env["ASAN_OPTIONS"] = "detect_leaks=1"
    c = run([sbin, "--check", conf], env=env)
    t.ok(c.returncode == 0 and "%s: ok" % conf in c.stdout and share + "/lua" in c.stdout,
         "--check the installed configuration: exit 0, its Lua library found in the tree",
         diag=lambda: c.stdout + c.stderr)
    bad_dir = workdir("bad")
    cases = [
        ("syntax.lua", 'local pbx = require "lunapbx"\npbx.context "x" {\n'
         '  ["1"] = function(call) call:answer( end,\n}\n', 3, "unexpected symbol"),
        ("setting.lua", 'local pbx = require "lunapbx"\n\npbx.settings { bogus = 1 }\n', 3,
         "unknown setting 'bogus'"),
        ("uses_mod.lua", 'local pbx = require "lunapbx"\nlocal m = require "mymod"\n', None,
         "attempt to call a nil value"),
    ]
    with open(os.path.join(bad_dir, "mymod.lua"), "w") as f:
        f.write("local M = {}\nM.nothing()\nreturn M\n")
    for name, body, line, why in cases:
        path = os.path.join(bad_dir, name)
        with open(path, "w") as f:
            f.write(body)
        c = run([sbin, "--check", path], env=env)
        where = "%s:%d:" % (path, line) if line else os.path.join(bad_dir, "mymod.lua:2:")
        first = c.stderr.split("\n", 1)[0]
        t.ok(c.returncode == 1 and first.startswith(where) and why in first and
             "Sanitizer" not in c.stderr,
             "--check %s: exit 1, '%s ... %s'" % (name, os.path.basename(where), why),
             diag=lambda: "rc %s\n%s%s" % (c.returncode, c.stdout, c.stderr))
    c = run([sbin, "--check", os.path.join(bad_dir, "none.lua")], env=env)
    t.ok(c.returncode == 1 and "none.lua" in c.stderr, "--check a file that is not there: exit 1",
         diag=lambda: c.stderr)

    # -- the installed tree, started as systemd would ------------------------------------------
    nsock_path = os.path.join(workdir("notify"), "notify.sock")
    nsock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    nsock.bind(nsock_path)
    nsock.settimeout(0.2)
    notes = []

    def note_wait(what, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if what in notes:
                return True
            try:
                notes.append(nsock.recv(4096).decode())
            except socket.timeout:
                pass
        return what in notes

    pbx = Pbx("", listen="%s:5070" % net.ip(0), start=False, name="installed")
    run_state = os.path.join(pbx.dir, "state")
    pbx.argv = lambda: [sbin, "-c", conf, "--listen", pbx.listen, "--state", run_state]
    # the journal's stream is the log file itself: its device and inode
    open(pbx.log_path, "a").close()
    st = os.stat(pbx.log_path)
    penv = {k: v for k, v in os.environ.items() if k not in ("LUNAPBX_LIB",)}
    penv.update(NOTIFY_SOCKET=nsock_path, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
    pbx.proc = spawn(pbx.argv(), pbx.log_path, cwd=pbx.dir, env=penv)
    up = wait_until(lambda: "ready" in pbx.log_text() or not pbx.alive(), 10)
    t.ok(up and pbx.alive(), "the installed tree starts (lunapbx -c /etc/lunapbx/lunapbx.lua)",
         diag=pbx.log_tail)
    t.ok(note_wait("READY=1"), "systemd hears READY=1 (%s)" % notes)
    lines = [ln for ln in pbx.log_text().splitlines() if ln.strip()]
    t.ok(lines and all(re.match(r"<[3467]>(error|warn |info |debug)", ln) for ln in lines) and
         any(ln.startswith("<6>info  ready") for ln in lines),
         "log lines carry their priority for the journal (<6>info  ready: ...), no own time",
         diag=lambda: "\n".join(lines[:8]))

    amine = Phone("chhinyleboss", net.ip(1), registrar=pbx.sip, password="vitrygtr",
                  rtp_ports=net.phone_rtp(0), tone_hz=CALLER_HZ, limit=120)
    t.ok(amine.registered(10), "a baresip phone registers as a demo endpoint", diag=amine.reginfo)
    fresh_names()          # baresip names recordings by the second
    n = len(amine.recordings())
    amine.dial("sip:600@%s" % pbx.sip)
    t.ok(amine.wait_event("CALL_ESTABLISHED", 10), "600 answers (the echo test)")
    amine.listen(n + 1).wait(CALLER_HZ, 2.0, timeout=20)   # the prompt, then the echo
    amine.send_dtmf("#")
    t.ok(amine.wait_event("CALL_CLOSED", 12), "# ends it")
    rec = amine.wait_recording(n + 1, timeout=8)
    dec = rec["dec"] if rec else None
    d = tone_duration(dec, CALLER_HZ) if dec else 0
    total = len(read_wav(dec)[0]) / 8000.0 if dec else 0
    t.ok(d >= 1.5 and total - d >= 3, "the phone heard the installed prompt (%.1f s) then its"
         " own tone back (%.1f s)" % (total - d, d))
    cr = run([sbin, "-r", "--state", run_state, "-x", "local r = cdr(1)[1] return r.dst .. ' ' .. r.disposition"],
             env=penv)
    t.ok(cr.returncode == 0 and "600 ANSWERED" in cr.stdout, "its call record: 600 ANSWERED",
         diag=lambda: cr.stdout + cr.stderr)

    notes.clear()
    mark = pbx.log_mark()
    os.kill(pbx.proc.pid, signal.SIGHUP)
    t.ok(note_wait("RELOADING=1") and note_wait("READY=1"),
         "SIGHUP (systemctl reload): RELOADING=1 then READY=1 (%s)" % notes)
    t.ok(pbx.wait_log(r"reload", 3, since=mark), "... and the configuration is reloaded",
         diag=lambda: pbx.log_since(mark))
    notes.clear()
    rc, killed, secs = pbx.stop(grace=10 if pbx.sanitized() else 3)
    t.ok(rc == 0 and not killed, "SIGTERM: a clean stop (rc %s in %.1f s)" % (rc, secs))
    t.ok(note_wait("STOPPING=1", 2), "... STOPPING=1 told (%s)" % notes)
    if pbx.sanitized():
        report = re.search(r"ERROR: (Address|Leak)Sanitizer.*", pbx.log_text())
        t.ok(not report, "no memory error or leak found by the sanitizers",
             diag=lambda: tail(pbx.log_text()[report.start():], 60) if report else None)
    nsock.close()
