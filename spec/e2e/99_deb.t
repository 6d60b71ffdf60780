#!/usr/bin/env python3
# The Debian package: `make deb` builds build/lunapbx_<version>_<arch>.deb
# from the tree; its control data (Depends found by dpkg-shlibdeps, the
# conffile, the maintainer scripts) and contents are checked; it is
# installed with dpkg into a root of its own (dpkg --root, the maintainer
# scripts run chrootless with DPKG_ROOT: nothing outside that root is
# touched, no user is made), the installed binary checks the installed
# configuration and starts on loopback, a sipp call to the example
# dialplan's 300 (answered by the PBX) leaves its record; then dpkg removes
# and purges the package from that root.  dpkg needs root: without it the
# install part is skipped.
import os
import re
import shutil
import subprocess
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.proc import spawn  # noqa: E402

net = Net(99)


def run(argv, timeout=120, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, **kw)


# a make of its own, not a part of the `make check` that may run this file
MAKE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")}


def installed(t, deb):
    # -- installed with dpkg, into a root of its own ------------------------------------------
    root = workdir("root")
    admin = os.path.join(root, "var/lib/dpkg")
    for d in ("info", "updates", "triggers"):
        os.makedirs(os.path.join(admin, d))
    for f in ("status", "available"):
        open(os.path.join(admin, f), "w").close()
    dpkg = ["dpkg", "--root=" + root, "--force-script-chrootless", "--force-depends",
            "--log=" + os.path.join(root, "dpkg.log")]
    i = run(dpkg + ["-i", deb])
    t.ok(i.returncode == 0, "dpkg --root=ROOT -i: installed, postinst run (DPKG_ROOT)",
         diag=lambda: i.stdout + i.stderr)
    s = run(dpkg + ["-s", "lunapbx"])
    t.ok(re.search(r"^Status: install ok installed$", s.stdout, re.M),
         "dpkg -s: install ok installed", diag=lambda: s.stdout + s.stderr)
    sbin = os.path.join(root, "usr/sbin/lunapbx")
    conf = os.path.join(root, "etc/lunapbx/lunapbx.lua")
    t.ok(os.path.isfile(sbin) and os.path.isdir(os.path.join(root, "var/lib/lunapbx")),
         "the binary and the state folder are in ROOT")

    env = {k: v for k, v in os.environ.items() if k not in ("LUNAPBX_LIB", "NOTIFY_SOCKET",
                                                             "JOURNAL_STREAM")}
    c = run([sbin, "--check", conf], env=env)
    t.ok(c.returncode == 0 and os.path.join(root, "usr/share/lunapbx/lua") in c.stdout,
         "the installed binary: --check the installed configuration, exit 0",
         diag=lambda: c.stdout + c.stderr)

    pbx = Pbx("", listen="%s:5070" % net.ip(0), start=False, name="deb")
    state = os.path.join(root, "var/lib/lunapbx")
    pbx.state_dir = state
    pbx.argv = lambda: [sbin, "-c", conf, "--listen", pbx.listen, "--state", state]
    pbx.proc = spawn(pbx.argv(), pbx.log_path, cwd=pbx.dir, env=env)
    up = wait_until(lambda: "ready" in pbx.log_text() or not pbx.alive(), 10)
    t.ok(up and pbx.alive(), "it starts on loopback (%s)" % pbx.listen, diag=pbx.log_tail)
    carol = "%s:5060" % net.ip(1)
    res = Sipp("uac_wait_bye.xml", template={"media": SDP["pcmu"], "bye_within_ms": 5000},
               local=carol, media="%s:%d" % (net.ip(1), net.media_port(0)), remote=pbx.sip,
               service="300", keys={"user": "amine"}, auth=("amine", "test"), timeout=15,
               name="uac-300").run()
    t.sipp_ok(res, "sipp calls 300 as amine: the PBX answers, hangs up after 2 s")
    cr = run([sbin, "-r", "--state", state, "-x",
              "local r = cdr(1)[1] return r.src .. ' ' .. r.dst .. ' ' .. r.disposition .. ' ' .. r.billsec"],
             env=env)
    t.ok(cr.returncode == 0 and "100 300 ANSWERED 2" in cr.stdout,
         "its record in ROOT/var/lib/lunapbx: 100 -> 300, ANSWERED, billsec 2",
         diag=lambda: cr.stdout + cr.stderr)
    pbx.finish(t)

    rm = run(dpkg + ["-r", "lunapbx"])
    t.ok(rm.returncode == 0 and not os.path.exists(sbin) and os.path.isfile(conf),
         "dpkg -r: the files go, the conffile stays", diag=lambda: rm.stdout + rm.stderr)
    pu = run(dpkg + ["--purge", "lunapbx"])
    t.ok(pu.returncode == 0 and not os.path.exists(os.path.join(root, "etc/lunapbx")) and
         os.path.isfile(os.path.join(state, "lunapbx.db")),
         "dpkg --purge: the configuration goes, the state (call records) stays",
         diag=lambda: pu.stdout + pu.stderr)



with Tap(timeout=560) as t:
    t.require_pbx()
    for tool in ("make", "dpkg-deb", "dpkg-shlibdeps", "fakeroot"):
        if not shutil.which(tool):
            t.skip_all("%s is not installed (dpkg-dev, fakeroot)" % tool)
    r = run(["make", "-C", ROOT, "--no-print-directory", "deb"], timeout=500, env=MAKE_ENV)
    debs = re.findall(r"^package: (\S+\.deb)$", r.stdout, re.M)
    deb = os.path.join(ROOT, debs[-1]) if debs else None
    t.ok(r.returncode == 0 and deb and os.path.isfile(deb), "make deb -> %s" % (debs and debs[-1]),
         diag=lambda: tail(r.stdout + r.stderr, 30))
    if not deb:
        t.bail("no package")

    info = run(["dpkg-deb", "--field", deb]).stdout
    dep = re.search(r"^Depends: (.*)$", info, re.M)
    dep = dep.group(1) if dep else ""
    t.ok(re.search(r"^Package: lunapbx$", info, re.M) and
         all(re.search(r"(^|, )%s \(>= " % p, dep) for p in
             ("libre0", "librem0", r"liblua5\.4-0", "libsqlite3-0", "libsndfile1")),
         "control: Package lunapbx, Depends on libre, librem, Lua 5.4, SQLite (dpkg-shlibdeps)",
         diag=info)
    ctl = workdir("control")
    run(["dpkg-deb", "--control", deb, ctl])
    t.is_(sorted(os.listdir(ctl)), ["conffiles", "control", "postinst", "postrm", "prerm"],
          "control files: conffiles, control, postinst, prerm, postrm")
    t.is_((read_text(os.path.join(ctl, "conffiles")) or "").split(), ["/etc/lunapbx/lunapbx.lua"],
          "the configuration is a conffile (an upgrade keeps the administrator's edits)")
    listing = run(["dpkg-deb", "--contents", deb]).stdout
    want = ["./usr/sbin/lunapbx", "./usr/share/lunapbx/lua/lunapbx/init.lua",
            "./usr/share/lunapbx/sounds/en/demo-echotest.wav", "./etc/lunapbx/lunapbx.lua",
            "./lib/systemd/system/lunapbx.service", "./usr/share/man/man8/lunapbx.8.gz",
            "./usr/lib/sysusers.d/lunapbx.conf", "./var/lib/lunapbx/"]
    gone = [w for w in want if not re.search(r" %s$" % re.escape(w), listing, re.M)]
    t.ok(not gone, "contents: the binary in /usr/sbin, the library and sounds in"
         " /usr/share/lunapbx, the configuration, the unit, the man page (gzipped)",
         diag=lambda: "missing %r" % gone)
    t.ok(re.search(r"^-rwxr-xr-x root/root .* \./usr/sbin/lunapbx$", listing, re.M) and
         re.search(r"^-rw-r----- root/root .* \./etc/lunapbx/lunapbx\.lua$", listing, re.M),
         "owners and modes: root, the binary 0755, the configuration 0640")

    if os.geteuid() != 0:
        t.skip("install into a dpkg root, run it, remove it", "dpkg --root needs root")
    else:
        installed(t, deb)
