#!/usr/bin/env python3
# The console's live views and controls on real calls (sipp on every side):
# endpoints() and their registrations, calls() (state, bridge, codecs, the
# dialplan function and line, Lua memory per call), hangup(id) of an
# answered, a bridged and a ringing call, a call over its Lua memory cap.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(62)         # 127.S.62.10-19
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { rtp_ports = "%s", call_memory_mb = 16 }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>' }
pbx.endpoint "bob"   { secret = "bobpw", context = "internal", allow = { "PCMA" } }
pbx.endpoint "carol" { secret = "carolpw", context = "internal", callerid = '"Carol" <203>' }
pbx.endpoint "dave"  { secret = "davepw", context = "internal", qualify = 300, qualifyfreq = 1 }
pbx.endpoint "erin"  { secret = "erinpw", context = "internal", qualify = 300, qualifyfreq = 1 }
pbx.context "internal" {
  ["201"] = function(call) call:dial("alice", { timeout = 20 }) end,
  ["202"] = function(call) call:dial("bob", { timeout = 20 }) end,
  ["301"] = function(call)
    call:answer()
    pbx.sleep(30)
  end,
  ["302"] = function(call)           -- holds 4 MB of Lua memory while it waits
    local big = string.rep("m", 4 * 1024 * 1024)
    call:answer()
    pbx.sleep(30)
    return #big
  end,
  ["303"] = function(call)           -- wants more than its 16 MB
    local t = {}
    for i = 1, 1e6 do t[i] = string.rep("x", 1000) .. i end
  end,
  ["304"] = function(call) call:answer() pbx.sleep(0.2) call:hangup() end,
}
""" % net.pbx_rtp

with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    phones = {"alice": ("%s:5062" % net.ip(2), "%s:%d" % (net.ip(2), net.media_port(1)), "alicepw"),
              "bob": ("%s:5062" % net.ip(3), "%s:%d" % (net.ip(3), net.media_port(2)), "bobpw")}
    n_carol = [0]

    def x(code):
        return console_exec(pbx, code)

    def value(code):
        r = x(code)
        return r.out.strip() if r.ok else "ERROR " + r.err

    def callee(scenario, who, label, pt=0, codec="PCMU", template=None):
        addr, media, _ = phones[who]
        return Sipp(scenario, local=addr, media=media, keys={"pt": pt, "codec": codec},
                    template=template, timeout=30, name="uas-" + label).start()

    def caller(scenario, exten, label, **tmpl):
        n_carol[0] += 1
        port = 5060 + 2 * n_carol[0]
        tmpl.setdefault("media", SDP["pcmu"])
        return Sipp(scenario, template=tmpl, local="%s:%d" % (net.ip(1), port),
                    media="%s:%d" % (net.ip(1), net.media_port(n_carol[0] % 10)),
                    remote=pbx.sip, service=exten, keys={"user": "carol"},
                    auth=("carol", "carolpw"), timeout=40, name="uac-" + label).start()

    def call_id(exten):
        v = value('for _, c in ipairs(calls()) do if c.exten == "%s" then return c.id end end'
                  % exten)
        return int(v) if v.isdigit() else None

    def wait_call(exten, state="answered"):
        return wait_until(lambda: value('for _, c in ipairs(calls()) do if c.exten == "%s"'
                                        ' then return c.state end end' % exten) == state, 8)

    # -- registrations ---------------------------------------------------------
    for who, (addr, _, pw) in sorted(phones.items()):
        r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
                 local=addr, remote=pbx.sip, keys={"user": who}, auth=(who, pw),
                 timeout=10, name="register-" + who).run()
        t.sipp_ok(r, "sipp registers as %s" % who)

    r = x("endpoints()")
    lines = r.out.splitlines()
    t.like(r.out, r"^ENDPOINT\s+CONTEXT\s+CALLER ID\s+CONTACT\s+VIA\s+EXPIRES\s+REACHABLE",
           "endpoints(): a table with a header", diag=r.diag)
    t.like(r.out, r"(?m)^alice\s+internal\s+Alice <201>\s+sip:alice@%s:5062\S*\s+UDP %s:5062\s+"
           r"3[56]\d\d s\s+-$" % (re.escape(net.ip(2)), re.escape(net.ip(2))),
           "... alice: context, caller id, contact, where it registered from, expiry in s",
           diag=r.diag)
    t.like(r.out, r"(?m)^carol\s+internal\s+Carol <203>\s+\(not registered\)", "... carol is"
           " not registered", diag=r.diag)
    t.like(r.out, r"5 endpoints, 2 registered contacts$", "... and a summary", diag=r.diag)
    t.is_(value("#endpoints()[1].contacts .. ' ' .. endpoints()[1].name"), "1 alice",
          "endpoints() is also data: a list of tables, sorted by name")

    # -- reachability, where qualify knows it ----------------------------------------
    silent, live = "%s:5062" % net.ip(4), "%s:5062" % net.ip(5)
    for who, addr in (("dave", silent), ("erin", live)):
        r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
                 local=addr, remote=pbx.sip, keys={"user": who}, auth=(who, who + "pw"),
                 timeout=10, name="register-" + who).run()
        t.sipp_ok(r, "%s registers (qualify = 300 ms)" % who)
    opts = Sipp("uas_options.xml", local=live, m=1000, timeout=60, name="erin-options").start()
    t.ok(wait_until(lambda: re.search(r"(?m)^dave .* no$", x("endpoints()").out) and
                    re.search(r"(?m)^erin .* yes, \d+ ms$", x("endpoints()").out), 8),
         "endpoints(): dave's contact (nobody answers the OPTIONS) is not reachable, erin's"
         " (sipp answers them) is, with its round trip", diag=lambda: x("endpoints()").out)
    opts.stop()

    # -- calls(): an answered call and one holding 4 MB --------------------------
    t.is_(value("calls()"), "no calls", "calls() before any call: no calls")
    held = caller("uac_wait_bye.xml", "301", "held", bye_within_ms=40000)
    t.ok(wait_call("301"), "carol calls 301: answered, its dialplan sleeps")
    big = caller("uac_wait_bye.xml", "302", "big", bye_within_ms=40000)
    t.ok(wait_call("302"), "carol calls 302: answered, holding a 4 MB string")

    r = x("calls()")
    line301 = pbx.line_of('["301"]')
    t.like(r.out, r"^\s*ID\s+STATE\s+AGE\s+CALLER\s+EXTEN\s+BRIDGED TO\s+CODEC\s+DIALPLAN\s+"
           r"NOW AT\s+LUA MEM$", "calls(): a table with a header", diag=r.diag)
    t.like(r.out, r"(?m)^\s*\d+\s+answered\s+0:0\d\s+Carol <203>\s+301@internal\s+-\s+PCMU\s+"
           r"pbx\.lua:%d\s+pbx\.lua:%d \(sleep\)\s+[\d.]+ [KB]+$" % (line301, line301 + 2),
           "... 301: answered, its age, caller, extension, codec, the dialplan function"
           " (pbx.lua:%d) and the line it waits at (sleep)" % line301, diag=r.diag)
    t.like(r.out, r"2 calls$", "... and a count", diag=r.diag)
    mem = value('local m = {} for _, c in ipairs(calls()) do m[c.exten] = c.lua_mem end'
                ' return m["301"] .. " " .. m["302"]').split()
    t.ok(len(mem) == 2 and int(mem[1]) >= 4 * 1024 * 1024 and int(mem[0]) < 256 * 1024,
         "Lua memory per call: 302 holds >= 4 MB (%s), 301 little (%s)"
         % tuple(mem + ["?", "?"])[:2])
    t.like(r.out, r"(?m)302@internal.*\s4\.\d MB$", "... calls() shows it in MB", diag=r.diag)

    # -- hangup(id) ----------------------------------------------------------------
    r = x("hangup(%s)" % call_id("301"))
    t.ok(r.ok, "hangup(id of 301)", diag=r.diag)
    t.sipp_ok(held.wait(), "... carol gets a BYE")
    r = x("hangup(%s)" % call_id("302"))
    t.sipp_ok(big.wait(), "hangup(id of 302): carol gets a BYE")
    t.ok(wait_until(lambda: value("#calls()") == "0", 5), "... no call left")
    r = x("hangup(999)")
    t.ok(r.rc == 1 and "no call 999" in r.err, "hangup(999): no call 999, rc 1", diag=r.diag)

    # -- a bridged call, with transcoding ------------------------------------------
    uas = callee("uas_answer.xml", "bob", "bridged", pt=8, codec="PCMA")
    uac = caller("uac_wait_bye.xml", "202", "bridged", bye_within_ms=40000)
    t.ok(wait_until(lambda: "bob" in value("calls()"), 8), "carol calls 202: bob answers")
    r = x("calls()")
    line202 = pbx.line_of('["202"]')
    t.like(r.out, r"(?m)^\s*\d+\s+answered\s+\S+\s+Carol <203>\s+202@internal\s+bob\s+"
           r"PCMU/PCMA\s+pbx\.lua:%d\s+pbx\.lua:%d \(bridge\)" % (line202, line202),
           "calls(): bridged to bob, PCMU on carol's leg and PCMA on bob's, waiting in"
           " its bridge at pbx.lua:%d" % line202, diag=r.diag)
    x("hangup(%s)" % call_id("202"))
    t.sipp_ok(uac.wait(), "hangup(id): carol gets a BYE...")
    t.sipp_ok(uas.wait(), "... and so does bob")

    # -- a ringing call ------------------------------------------------------------
    uas = callee("uas_cancel.xml", "alice", "ringing")
    uac = caller("uac_reject.xml", "201", "ringing", code=486)
    t.ok(wait_until(lambda: "ringing 1" in value("calls()"), 8),
         "carol calls 201: alice rings (calls() says ringing 1)", diag=lambda: value("calls()"))
    x("hangup(%s, 486)" % call_id("201"))
    t.sipp_ok(uac.wait(), "hangup(id, 486) of a ringing call: carol gets 486...")
    t.sipp_ok(uas.wait(), "... and alice a CANCEL")

    # -- over the call's memory cap -----------------------------------------------
    mark = pbx.log_mark()
    uac = caller("uac_reject.xml", "303", "memory", code=500)
    t.sipp_ok(uac.wait(), "a dialplan that asks for more than call_memory_mb (16): its caller"
              " gets 500")
    t.like(pbx.log_since(mark), r"call \d+: out of Lua memory: the call holds (1[0-6]\d{3}) KB",
           "... the log says it ran out of its Lua memory, about 16 MB")
    t.like(value("status()"), r"Lua memory\s+[\d.]+ [KM]B of 512\.0 MB; a call may hold 16\.0 MB",
           "status() shows the caps")
    uac = caller("uac_wait_bye.xml", "304", "after-memory", bye_within_ms=3000)
    t.sipp_ok(uac.wait(), "the next call works")

    pbx.finish(t)
