#!/usr/bin/env python3
# The shipped fail2ban filter and jail (contrib/fail2ban/) against the real
# fail2ban (Debian's package) reading the PBX's security log: a sipp brute
# force of wrong passwords gets its address banned, a phone that mistyped
# once does not.  The ban action is a harmless one that records the ban in
# a file (no firewall is touched); everything else is the shipped jail
# (maxretry, findtime), with only the log path, the polling backend and
# the loopback (which fail2ban ignores by default) changed for the test.
import os
import re
import shutil
import subprocess
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.proc import spawn  # noqa: E402
from lunatest.sipclient import SipClient, challenge_of, digest  # noqa: E402

net = Net(13)         # 127.S.13.10-19
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s",
               security = { auth_failures = 100 } }   -- fail2ban bans, not the PBX
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.context "internal" { }
""" % net.pbx_rtp
CONTRIB = os.path.join(ROOT, "contrib", "fail2ban")
ATTACKER, PHONE = net.ip(1), net.ip(2)


def f2b_config(d, seclog, bans):
    conf = os.path.join(d, "conf")
    for sub in ("filter.d", "action.d", "jail.d"):
        os.makedirs(os.path.join(conf, sub))
    shutil.copy(os.path.join(CONTRIB, "filter.d", "lunapbx.conf"), os.path.join(conf, "filter.d"))
    shutil.copy(os.path.join(CONTRIB, "jail.d", "lunapbx.conf"), os.path.join(conf, "jail.d"))
    files = {
        "fail2ban.conf": "[Definition]\nloglevel = INFO\nlogtarget = %s/fail2ban.log\n"
                         "syslogsocket = auto\nsocket = %s/f2b.sock\npidfile = %s/f2b.pid\n"
                         "dbfile = :memory:\ndbpurgeage = 1d\nallowipv6 = auto\n" % (d, d, d),
        "jail.conf": "[DEFAULT]\nbanaction = record\nbanaction_allports = record\n",
        # the test's changes to the shipped jail
        "jail.local": "[lunapbx]\nlogpath = %s\nbackend = polling\naction = record\n"
                      "ignoreself = false\nignoreip =\n" % seclog,
        "action.d/record.conf": "[Definition]\nactionstart =\nactionstop =\nactioncheck =\n"
                                "actionban = echo \"ban <ip>\" >> %s\n"
                                "actionunban = echo \"unban <ip>\" >> %s\n" % (bans, bans),
    }
    for name, text in files.items():
        with open(os.path.join(conf, name), "w") as f:
            f.write(text)
    return conf


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


with Tap(timeout=90) as t:
    t.require_pbx()
    if not shutil.which("fail2ban-server"):
        t.skip_all("fail2ban is not installed (make deps installs it)")
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    seclog = os.path.join(pbx.state_dir, "security.log")
    t.ok(os.path.exists(seclog), "the PBX opened its security log: %s" % seclog)

    d = workdir("fail2ban")
    bans = os.path.join(d, "bans.txt")
    conf = f2b_config(d, seclog, bans)
    sock = os.path.join(d, "f2b.sock")
    client = ["fail2ban-client", "-c", conf, "-s", sock]
    server = spawn(["fail2ban-server", "-f", "-x", "-c", conf, "-s", sock,
                    "-p", os.path.join(d, "f2b.pid")], os.path.join(d, "server.out"))
    up = wait_until(lambda: subprocess.run(client + ["ping"], capture_output=True,
                                           timeout=5).returncode == 0, 15)
    t.ok(up, "fail2ban-server runs the shipped jail",
         diag=lambda: read(os.path.join(d, "server.out")) + read(os.path.join(d, "fail2ban.log")))

    # a phone mistyping once: 1 failure, no ban
    phone = SipClient(PHONE, 5060, (pbx.ip, pbx.port))
    reg = "sip:%s" % pbx.sip
    ch = challenge_of(phone.request("REGISTER", reg, user="alice"))
    r = phone.request("REGISTER", reg, user="alice", auth=(
        "Authorization", digest(ch, "alice", "typo", "REGISTER", reg)))
    t.ok(r is not None and r.code == 403, "a phone with a typo in its password: 403 once")

    # the brute force: sipp, 8 REGISTERs with wrong passwords
    brute = Sipp("register.xml", template={"expires": 3600, "code": 403, "direct": ""},
                 local="%s:5060" % ATTACKER, remote=pbx.sip, keys={"user": "alice"},
                 auth=("alice", "password123"), m=8, timeout=20, name="brute").run()
    t.sipp_ok(brute, "sipp: 8 REGISTERs for alice with a wrong password, each 401 then 403")
    lines = [l for l in read(seclog).splitlines() if "AuthFailed remote=%s " % ATTACKER in l]
    t.is_(len(lines), 8, "the security log has a line for each of them")

    banned = wait_until(lambda: "ban %s\n" % ATTACKER in read(bans), 15)
    t.ok(banned, "fail2ban banned the attacker's address %s (maxretry 5 of the shipped jail)"
         % ATTACKER, diag=lambda: read(os.path.join(d, "fail2ban.log"))[-2000:])
    st = subprocess.run(client + ["status", "lunapbx"], capture_output=True, text=True,
                        timeout=10).stdout
    t.like(st, r"Banned IP list:\s+%s\s*$" % re.escape(ATTACKER),
           "fail2ban-client status lunapbx lists it, and only it", diag=lambda: st)
    t.ok("ban %s" % PHONE not in read(bans), "the phone that mistyped once is not banned")

    regex = subprocess.run(["fail2ban-regex", seclog,
                            os.path.join(CONTRIB, "filter.d", "lunapbx.conf")],
                           capture_output=True, text=True, timeout=30)
    m = re.search(r"Lines: (\d+) lines, \d+ ignored, (\d+) matched", regex.stdout)
    t.ok(m and int(m.group(2)) == 9,
         "fail2ban-regex on the log: the 9 AuthFailed lines match (%s)"
         % (m.group(0) if m else "?"), diag=lambda: regex.stdout[-1500:])

    subprocess.run(client + ["stop"], capture_output=True, timeout=15)
    t.ok(wait_until(lambda: server.poll() is not None, 10), "fail2ban stops")
    t.ok("unban %s" % ATTACKER in read(bans), "... and lifts its ban as it goes")
    phone.close()
    pbx.finish(t)
