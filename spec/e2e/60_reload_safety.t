#!/usr/bin/env python3
# Hot reload and runaway scripts: a reload that fails keeps the running
# dialplan and names file:line; a good reload routes new calls the new way
# while calls in progress finish on the code they started with; an endless
# loop in an extension is stopped, its caller gets 500 and the next call works.
import os
import signal
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(60)         # 127.S.60.10-19
OLD = """\
local pbx = require "lunapbx"
pbx.settings { rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.context "internal" {
  ["301"] = function(call) call:answer() pbx.sleep(0.3) call:hangup() end,
  -- in progress across the reload: 2.5 s, then the PBX hangs up
  ["303"] = function(call) call:answer() pbx.sleep(2.5) call:hangup() end,
  ["666"] = function(call) while true do end end,
}
""" % net.pbx_rtp
BROKEN = OLD.replace('["301"] = function(call)', '["301"] = function(call) if then')
NEW = OLD.replace(
    '["301"] = function(call) call:answer() pbx.sleep(0.3) call:hangup() end,',
    '["301"] = function(call) call:hangup(486) end,').replace(
    '["303"] = function(call) call:answer() pbx.sleep(2.5) call:hangup() end,', '')

with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(OLD, listen="%s:5070" % net.ip(0))
    cli = "%s:5060" % net.ip(1)

    def call(scenario, exten, label, port=5060, **tmpl):
        tmpl.setdefault("media", SDP["pcmu_pcma"])
        return Sipp(scenario, template=tmpl, local="%s:%d" % (net.ip(1), port),
                    media="%s:%d" % (net.ip(1), net.media_port(port - 5060)),
                    remote=pbx.sip, service=exten, keys={"user": "alice"},
                    auth=("alice", "alicepw"), timeout=15, name=label)

    def write_config(text):
        with open(pbx.config_path, "w") as f:
            f.write(text)

    def reload(text, expect):
        mark = pbx.log_mark()
        write_config(text)
        os.kill(pbx.proc.pid, signal.SIGHUP)
        if not pbx.wait_log(expect, timeout=5, since=mark):
            return None
        return pbx.log_since(mark)

    # -- runaway script -----------------------------------------------------
    mark = pbx.log_mark()
    r = call("uac_reject.xml", "666", "runaway", code=500).run()
    t.sipp_ok(r, "an extension running `while true do end` is stopped: the caller gets 500")
    t.like(pbx.log_since(mark), r"script stopped: ran \d+ instructions",
           "... the log says the script was stopped for running without yielding")
    r = call("uac_wait_bye.xml", "301", "after-runaway", bye_within_ms=3000).run()
    t.sipp_ok(r, "the next call works (answered, BYE from the PBX)")

    # -- a reload that fails keeps the old dialplan -------------------------
    line = reload(BROKEN, r"reload failed")
    t.ok(line, "reload of a configuration with a syntax error fails",
         diag=lambda: pbx.log_tail(10))
    n = pbx.line_of('["301"]')
    t.like(line or "", r"pbx\.lua:%d:" % n, "... and the error names pbx.lua:%d" % n)
    r = call("uac_wait_bye.xml", "301", "old-route", bye_within_ms=3000).run()
    t.sipp_ok(r, "301 still answers the old way after the failed reload")

    # -- a good reload while calls are in progress --------------------------
    held = call("uac_wait_bye.xml", "303", "in-progress", port=5062,
                bye_within_ms=6000).start()
    t.ok(pbx.wait_log(r"-> 303@internal", timeout=5),
         "a call to 303 is in progress (answered, 2.5 s to go)")
    line = reload(NEW, r"reload: generation 2")
    t.ok(line, "reload of the new configuration succeeds", diag=lambda: pbx.log_tail(10))
    r = call("uac_reject.xml", "301", "new-route", code=486).run()
    t.sipp_ok(r, "a new call to 301 takes the new route (486)")
    r = call("uac_reject.xml", "303", "removed", code=404).run()
    t.sipp_ok(r, "303 is gone from the new dialplan: a new call gets 404")
    r = held.wait()
    t.sipp_ok(r, "the call in progress finished on its old code (BYE from the PBX after 2.5 s)")

    pbx.finish(t)
