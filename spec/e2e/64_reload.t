#!/usr/bin/env python3
# reload() from the console: an error of any kind (syntax, runtime, bad
# setting, endless loop, os.exit) keeps the running configuration and
# names file:line in the console; a good one applies endpoint changes at
# once (a new secret, a removed endpoint's registrations go).  With
# reload_on_change the PBX reloads by itself when a Lua file of the
# configuration's folder changes.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(64)         # 127.S.64.10-19
V1 = """\
local pbx = require "lunapbx"
pbx.settings { rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.endpoint "bob"   { secret = "bobpw", context = "internal" }
pbx.context "internal" {
  ["301"] = function(call) call:answer() pbx.sleep(0.2) call:hangup() end,
  ["202"] = function(call) call:dial("bob", { timeout = 5 }) end,
}
""" % net.pbx_rtp
V2 = V1.replace('"alicepw"', '"newpw"').replace(
    'pbx.endpoint "bob"   { secret = "bobpw", context = "internal" }\n', "").replace(
    '["301"] = function(call) call:answer() pbx.sleep(0.2) call:hangup() end,',
    '["301"] = function(call) call:hangup(486) end,')

with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(V1, listen="%s:5070" % net.ip(0))
    alice = "%s:5060" % net.ip(1)
    bob = "%s:5062" % net.ip(2)

    def x(code):
        return console_exec(pbx, code)

    def write(text, path=None):
        with open(path or pbx.config_path, "w") as f:
            f.write(text)

    def register(who, addr, pw, code, label):
        return Sipp("register.xml", template={"expires": 3600, "code": code, "direct": ""},
                    local=addr, remote=pbx.sip, keys={"user": who}, auth=(who, pw),
                    timeout=10, name=label).run()

    def call(scenario, exten, label, pw="alicepw", **tmpl):
        tmpl.setdefault("media", SDP["pcmu"])
        return Sipp(scenario, template=tmpl, local=alice,
                    media="%s:%d" % (net.ip(1), net.media_port(0)), remote=pbx.sip,
                    service=exten, keys={"user": "alice"}, auth=("alice", pw),
                    timeout=10, name=label).run()

    def old_route_ok(label):
        r = call("uac_wait_bye.xml", "301", label, bye_within_ms=3000)
        return t.sipp_ok(r, "... 301 still answers the old way")

    t.sipp_ok(register("alice", alice, "alicepw", 200, "reg-alice"), "alice registers")
    t.sipp_ok(register("bob", bob, "bobpw", 200, "reg-bob"), "bob registers")

    # -- errors keep the running configuration ------------------------------------
    def bad_reload(text, needle, what, expect):
        write(text)
        n = text.splitlines().index(next(l for l in text.splitlines() if needle in l)) + 1
        r = x("reload()")
        t.ok(r.rc == 1 and re.search(r"reload failed, the running configuration stays: "
                                     r".*pbx\.lua:%d: %s" % (n, expect), r.err),
             "reload() of a configuration with %s: rc 1, and the console names"
             " pbx.lua:%d" % (what, n), diag=r.diag)
        return r

    bad_reload(V1.replace('["301"] = function(call)', '["301"] = function(call) if then'),
               'if then', "a syntax error", r".*near 'then'")
    old_route_ok("old-1")
    bad_reload(V1.replace("pbx.context", 'error("no dialplan today")\npbx.context', 1),
               'no dialplan today', "an error raised at load", r"no dialplan today")
    bad_reload(V1.replace('rtp_ports = "', 'colour = "blue", rtp_ports = "'),
               'colour', "an unknown setting", r"pbx.settings: unknown setting 'colour'")
    bad_reload(V1.replace("pbx.context", "os.exit(0)\npbx.context", 1),
               'os.exit', "os.exit(0)", r".*field 'exit'")
    r = bad_reload(V1.replace("pbx.context", "while true do end\npbx.context", 1),
                   'while true', "an endless loop", r"script stopped: ran 50000000 instructions")
    t.ok(pbx.alive(), "the PBX is alive after all of them")
    old_route_ok("old-2")
    t.is_(x("status().generation").out.strip(), "1", "... and still on generation 1")

    # -- a good reload ---------------------------------------------------------------
    mark = pbx.log_mark()
    write(V2)
    r = x("reload()")
    t.ok(r.ok and re.match(r"generation 2 in force \(1 endpoint\), compiled in [\d.]+ ms$",
                           r.out.strip()), "reload() of a good configuration: generation 2",
         diag=r.diag)
    t.like(r.err, r"reload: endpoint bob is gone: its contacts too", "... the console sees"
           " the log: bob was removed, and his registration goes with him", diag=r.diag)
    r = x("endpoints()")
    t.ok("bob" not in r.out and "1 endpoint, 1 registered contact" in r.out,
         "endpoints(): only alice, still registered", diag=r.diag)
    t.sipp_ok(register("alice", alice, "alicepw", 403, "reg-old-secret"),
              "alice's old secret is refused (403)")
    t.sipp_ok(register("alice", alice, "newpw", 200, "reg-new-secret"),
              "... her new one is accepted")
    r = call("uac_reject.xml", "301", "new-route", pw="newpw", code=486)
    t.sipp_ok(r, "301 takes the new route (486)")
    r = call("uac_reject.xml", "202", "no-bob", pw="newpw", code=480)
    t.sipp_ok(r, "202 dials bob, who is gone: 480")

    # -- reload_on_change ------------------------------------------------------------
    V3 = V2.replace('pbx.settings { rtp_ports', 'pbx.settings { reload_on_change = true, rtp_ports')
    V3 = V3.replace('local pbx = require "lunapbx"',
                    'local pbx = require "lunapbx"\nlocal helpers = require "helpers"')
    V3 = V3.replace('["301"] = function(call) call:hangup(486) end,',
                    '["301"] = function(call) call:hangup(helpers.code) end,')
    write("return { code = 486 }\n", os.path.join(pbx.dir, "helpers.lua"))
    write(V3)
    r = x("reload()")
    t.ok(r.ok and pbx.wait_log(r"reload: watching .* for changes", 3),
         "reload_on_change = true: the PBX watches the configuration's folder", diag=r.diag)
    t.like(x("status()").out, r"reloaded when its folder changes", "status() says so")

    mark = pbx.log_mark()
    write(V3.replace("helpers.code", "404"))           # written in place
    t.ok(pbx.wait_log(r"reload: generation 4 in force", 5, since=mark),
         "the configuration is saved: the PBX reloads by itself (generation 4)")
    t.sipp_ok(call("uac_reject.xml", "301", "auto-1", pw="newpw", code=404),
              "... and 301 takes the new route (404)")

    mark = pbx.log_mark()
    tmp = os.path.join(pbx.dir, ".helpers.tmp")
    write("return { code = 603 }\n", tmp)
    os.rename(tmp, os.path.join(pbx.dir, "helpers.lua"))   # an editor's atomic save
    write(V3)
    t.ok(pbx.wait_log(r"reload: generation 5 in force", 5, since=mark),
         "a module next to it changes (renamed into place), then the configuration:"
         " one reload (generation 5)")
    t.unlike(pbx.log_since(mark), r"generation 6", "... not one per file")
    t.sipp_ok(call("uac_reject.xml", "301", "auto-2", pw="newpw", code=603),
              "... 301 answers with the module's new code (603)")

    mark = pbx.log_mark()
    write(V3.replace("pbx.context", "pbx.context (", 1))
    t.ok(pbx.wait_log(r"reload failed, the running configuration stays: .*pbx\.lua:\d+:", 5,
                      since=mark), "a broken save: the automatic reload fails, naming"
         " pbx.lua:line")
    t.sipp_ok(call("uac_reject.xml", "301", "auto-broken", pw="newpw", code=603),
              "... and the running configuration stays (603)")

    mark = pbx.log_mark()
    write(V2)
    t.ok(pbx.wait_log(r"reload: no longer watching", 5, since=mark),
         "a configuration without reload_on_change: the watch stops")
    mark = pbx.log_mark()
    write(V2.replace("486", "480"))
    t.sipp_ok(call("uac_reject.xml", "301", "manual", pw="newpw", code=486),
              "... saving the file no longer reloads (301 still 486)")
    t.unlike(pbx.log_since(mark), r"reload:", "... nothing in the log")

    pbx.finish(t)
