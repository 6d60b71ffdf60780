#!/usr/bin/env python3
# A reload from the console while sipp holds 50 calls in progress: none is
# dropped (each finishes on the code it started with: a BYE from the PBX
# after 5 s), and new calls take the new route at once.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(65)         # 127.S.65.10-19
OLD = """\
local pbx = require "lunapbx"
pbx.settings { rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.context "internal" {
  ["303"] = function(call)
    call:answer()
    pbx.sleep(5)
    call:hangup()
  end,
}
""" % net.pbx_rtp
NEW = OLD.replace("call:answer()\n    pbx.sleep(5)\n    call:hangup()", "call:hangup(486)")
CALLS = 50

with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(OLD, listen="%s:5070" % net.ip(0))

    def x(code):
        return console_exec(pbx, code)

    def ncalls():
        r = x("#calls()")
        return int(r.out) if r.ok and r.out.strip().isdigit() else -1

    held = Sipp("uac_wait_bye.xml", template={"media": SDP["pcmu"], "bye_within_ms": 20000},
                local="%s:5060" % net.ip(1), media="%s:%d" % (net.ip(1), net.media_port(0)),
                remote=pbx.sip, service="303", keys={"user": "alice"},
                auth=("alice", "alicepw"), m=CALLS, rate=CALLS, limit=CALLS, timeout=40,
                name="held").start()
    t.ok(wait_until(lambda: ncalls() == CALLS, 4),
         "sipp holds %d calls to 303 (answered; the PBX hangs up after 5 s)" % CALLS,
         diag=lambda: "calls: %d" % ncalls())
    t.is_(x('local n = 0 for _, c in ipairs(calls()) do if c.state == "answered" and'
            ' c.wait == "sleep" and c.line:match("pbx.lua:7$") then n = n + 1 end end'
            ' return n').out.strip(), str(CALLS),
          "calls(): all %d answered, each waiting in its dialplan (sleep at pbx.lua:7)"
          % CALLS)

    with open(pbx.config_path, "w") as f:
        f.write(NEW)
    t0 = time.time()
    r = x("reload()")
    took = time.time() - t0
    t.ok(r.ok and re.match(r"generation 2 in force", r.out), "reload() from the console with"
         " %d calls in progress: generation 2 (%.0f ms round trip)" % (CALLS, took * 1000),
         diag=r.diag)
    t.is_(ncalls(), CALLS, "... the %d calls are all still there" % CALLS)

    r = Sipp("uac_reject.xml", template={"media": SDP["pcmu"], "code": 486},
             local="%s:5062" % net.ip(2), media="%s:%d" % (net.ip(2), net.media_port(1)),
             remote=pbx.sip, service="303", keys={"user": "alice"},
             auth=("alice", "alicepw"), timeout=10, name="new-route").run()
    t.sipp_ok(r, "a new call to 303 takes the new route (486) while they go on")

    r = held.wait(timeout=40)
    t.sipp_ok(r, "all %d calls in progress end normally: each gets the PBX's BYE (old code)"
              % CALLS)
    m = re.search(r"Successful call\s*\|\s*\d+\s*\|\s*(\d+)", r.screen)
    t.is_(m and int(m.group(1)), CALLS, "... sipp counts %d successful calls, no failure" % CALLS)
    t.unlike(pbx.log_text(), r"dialplan error", "no dialplan error in the log")
    t.ok(wait_until(lambda: ncalls() == 0, 5), "no call left")

    pbx.finish(t)
