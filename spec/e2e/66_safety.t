#!/usr/bin/env python3
# What a dialplan cannot do to the PBX: loop forever (plainly, behind a
# pcall, in a coroutine, in a finalizer), exit the process or reach io, or
# eat the Lua state's memory.  Each time the caller gets 500, the log says
# why, and the next call works.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(66)         # 127.S.66.10-19
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { rtp_ports = "%s", lua_memory_mb = 48, call_memory_mb = 0 }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.context "internal" {
  ["301"] = function(call) call:answer() pbx.sleep(0.2) call:hangup() end,
  ["600"] = function(call) while true do end end,
  ["601"] = function(call) while true do pcall(function() while true do end end) end end,
  ["602"] = function(call) coroutine.wrap(function() while true do end end)() end,
  ["603"] = function(call) os.exit(0) end,
  ["604"] = function(call) io.write("x") end,
  ["605"] = function(call) load("return 1")() end,
  ["606"] = function(call) require("os").exit(0) end,
  ["607"] = function(call)           -- Lua runs finalizers with hooks off
    setmetatable({}, { __gc = function() while true do end end })
  end,
  ["609"] = function(call)           -- a __gc added later is never called
    local mt = {}
    setmetatable({}, mt)
    mt.__gc = function() while true do end end
    call:hangup(486)
  end,
  ["608"] = function(call)           -- more than the whole state may hold
    local t = {}
    for i = 1, 1e7 do t[i] = string.rep("y", 1000) .. i end
  end,
}
""" % net.pbx_rtp

CASES = [
    ("600", "while true do end", r"pbx\.lua:%d: script stopped: ran 50000000 instructions"),
    ("601", "while true do pcall(<loop>) end", r"script stopped"),
    ("602", "a loop in a coroutine of the call", r"script stopped"),
    ("603", "os.exit(0)", r"attempt to call a nil value \(field 'exit'\)"),
    ("604", "io.write()", r"attempt to index a nil value \(global 'io'\)"),
    ("605", "load()", r"attempt to call a nil value \(global 'load'\)"),
    ("606", "require('os').exit()", r"module 'os' not found"),
    ("607", "setmetatable with an endless __gc", r"setmetatable: __gc is not allowed here"),
]

with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    n = [0]

    def call(scenario, exten, label, **tmpl):
        n[0] += 1
        tmpl.setdefault("media", SDP["pcmu"])
        return Sipp(scenario, template=tmpl, local="%s:%d" % (net.ip(1), 5060 + 2 * n[0]),
                    media="%s:%d" % (net.ip(1), net.media_port(n[0] % 10)), remote=pbx.sip,
                    service=exten, keys={"user": "alice"}, auth=("alice", "alicepw"),
                    timeout=15, name=label).run()

    def next_call_works(label):
        r = call("uac_wait_bye.xml", "301", label, bye_within_ms=3000)
        return t.sipp_ok(r, "... the next call works")

    for exten, what, why in CASES:
        mark = pbx.log_mark()
        t0 = time.time()
        r = call("uac_reject.xml", exten, "case-" + exten, code=500)
        t.sipp_ok(r, "%s in a dialplan: the caller gets 500 (%.1f s)" % (what, time.time() - t0))
        if "%d" in why:
            why = why % pbx.line_of('["%s"]' % exten)
        t.like(pbx.log_since(mark), r"dialplan error: .*" + why, "... the log says why")
        t.ok(pbx.alive(), "... the PBX is running")
        next_call_works("after-" + exten)

    # -- a finalizer set the other way: Lua never calls it ---------------------------
    r = call("uac_reject.xml", "609", "gc", code=486)
    t.sipp_ok(r, "a dialplan adds an endless __gc to a metatable already set (486)")
    t0 = time.time()
    r = console_exec(pbx, "reload()")   # a full collection after the switch
    t.ok(r.ok and time.time() - t0 < 5, "a reload (which collects everything) comes back"
         " at once (%.1f s): Lua does not run a __gc added later" % (time.time() - t0),
         diag=r.diag)
    next_call_works("after-gc")

    # -- the state's memory cap ----------------------------------------------------
    mark = pbx.log_mark()
    r = call("uac_reject.xml", "608", "memory", code=500)
    t.sipp_ok(r, "a dialplan that asks for more than lua_memory_mb (48): 500")
    t.like(pbx.log_since(mark), r"out of Lua memory: the call holds \d+ KB .* Lua 4\d{4} KB",
           "... the log says the Lua state was full (~48 MB)")
    r = console_exec(pbx, "local t = {} for i = 1, 1e7 do t[i] = ('z'):rep(1000) .. i end")
    t.ok(r.rc == 1 and "not enough memory" in r.err, "the same in a console chunk: an error"
         " in the console", diag=r.diag)
    r = console_exec(pbx, "status()")
    t.like(r.out, r"Lua memory\s+[\d.]+ [KM]B of 48\.0 MB", "status() shows the 48 MB cap",
           diag=r.diag)
    r = console_exec(pbx, "status().lua_mem < 8 * 1024 * 1024")
    t.is_(r.out.strip(), "true", "... and the memory back under 8 MB", diag=r.diag)
    next_call_works("after-memory")

    pbx.finish(t)
