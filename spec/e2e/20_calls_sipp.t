#!/usr/bin/env python3
# Calls handled by the dialplan itself: INVITE auth (407), answer + hangup from
# Lua, caller hangup, 404 for an unknown extension, 500 with file:line for a
# Lua error, and calls running concurrently (pbx.sleep must not block).
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(20)         # 127.S.20.10-19
CONFIG = basic_config(net, extensions="""\
  -- ringing, early media, INVITE headers and per-call variables
  ["400"] = function(call)
    call:ringing()
    pbx.sleep(0.1)
    call:progress()
    call.vars.agent = call:header("User-Agent") or "none"
    pbx.log("info", "call %d from %s via %s in %s", call.id, call.caller, call.vars.agent, call.context)
    call:answer()
    call:hangup()
  end,
""")

with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started (%s)" % pbx.sip)
    cli = "%s:5060" % net.ip(1)
    media = "%s:%d" % (net.ip(1), net.media_port(0))

    def call(scenario, exten, label, media_sdp=SDP["pcmu_pcma"], timeout=15, **kw):
        tmpl = dict(kw.pop("template", {}))
        tmpl.setdefault("media", media_sdp)
        return Sipp(scenario, template=tmpl, local=cli, media=media, remote=pbx.sip,
                    service=exten, keys={"user": "alice"}, auth=("alice", "alicepw"),
                    timeout=timeout, name=label, **kw).run()

    # -- no credentials: 407 and nothing else ------------------------------
    r = call("uac_noauth.xml", "301", "noauth", template={"quiet_ms": 1500})
    t.sipp_ok(r, "INVITE without credentials -> 407, and the call is not routed (no 200/BYE follows)")
    p407 = r.first(407)
    scheme, ch = parse_auth_header(p407.header("proxy-authenticate") if p407 else None)
    t.ok(scheme == "Digest" and ch.get("realm") == "lunapbx" and ch.get("nonce"),
         "407 carries Proxy-Authenticate: Digest realm=\"lunapbx\" with a nonce",
         diag=lambda: p407 and p407.text)

    # -- _3XX: answered by Lua, BYE from the PBX after 1 s -------------------
    r = call("uac_wait_bye.xml", "301", "3xx-pbx-bye", template={"bye_within_ms": 4000})
    t.sipp_ok(r, "call to 301 (_3XX): answered, then BYE from the PBX, 200 sent back")
    ok200, bye = r.first(200), r.first("BYE")
    gap = bye.ts - ok200.ts if ok200 and bye else None
    t.ok(gap is not None and 0.8 <= gap <= 2.5,
         "... the BYE comes about 1 s after the 200 (pbx.sleep(1)): %s s" % (gap and round(gap, 2)))
    t.ok(ok200 and ok200.sdp_payloads()[:1] in (["0"], ["8"]),
         "... the 200 OK carries an SDP answer with PCMU or PCMA",
         diag=lambda: ok200 and ok200.text)

    # -- caller hangs up during pbx.sleep ------------------------------------
    mark = pbx.log_mark()
    r = call("uac_bye.xml", "302", "3xx-caller-bye", template={"hold_ms": 300})
    t.sipp_ok(r, "call to 302 answered; the caller hangs up (BYE) after 0.3 s -> 200")
    time.sleep(1.2)    # let pbx.sleep(1) of that call run out
    t.ok(pbx.alive(), "PBX alive after the caller hung up under pbx.sleep")

    # -- unknown extension ----------------------------------------------------
    r = call("uac_reject.xml", "999", "404", template={"code": 404})
    t.sipp_ok(r, "call to a non-existing extension (999) -> 404")

    # -- Lua error ------------------------------------------------------------
    mark = pbx.log_mark()
    r = call("uac_reject.xml", "500", "lua-error", template={"code": 500})
    t.sipp_ok(r, "extension 500 raises a Lua error -> 500")
    line = pbx.line_of('error("boom")')
    got = pbx.wait_log(r"pbx\.lua:%d\b" % line, timeout=3, since=mark)
    t.ok(got, "the PBX log names the config file and line: pbx.lua:%d" % line,
         diag=lambda: "log since the call:\n" + tail(pbx.log_since(mark), 20))
    t.like(pbx.log_since(mark), r"boom", "... and the error message (boom)")

    r = call("uac_wait_bye.xml", "303", "after-error", template={"bye_within_ms": 4000})
    t.sipp_ok(r, "the next call (303) works after the Lua error")

    # -- ringing(), progress(), header(), vars, log -------------------------
    mark = pbx.log_mark()
    r = call("uac_wait_bye.xml", "400", "ring-progress", template={"bye_within_ms": 4000})
    t.sipp_ok(r, "call to 400: 180, then 183, then answered and hung up by the PBX")
    t.ok(r.first(180) is not None, "... call:ringing() sent 180 Ringing")
    p183 = r.first(183)
    t.ok(p183 is not None and p183.sdp_payloads()[:1] in (["0"], ["8"]),
         "... call:progress() sent 183 with an SDP answer (early media)",
         diag=lambda: p183 and p183.text)
    t.ok(pbx.wait_log(r"pbx\.lua:\d+: call \d+ from 201 via \S+ in internal", timeout=3, since=mark),
         "... call:header(), call.vars, call.caller, call.context and pbx.log with file:line",
         diag=lambda: tail(pbx.log_since(mark), 10))

    # -- concurrency: 4 calls at once, each sleeping 1 s in Lua --------------
    t0 = time.time()
    r = call("uac_wait_bye.xml", "310", "concurrent", template={"bye_within_ms": 4000},
             m=4, limit=4, rate=20)
    elapsed = time.time() - t0
    t.sipp_ok(r, "4 concurrent calls to 310 all answered and hung up by the PBX")
    t.ok(r.rc == 0 and elapsed < 3.5,
         "... in %.1f s: the four pbx.sleep(1) ran concurrently (serial >= 4 s)" % elapsed)

    pbx.finish(t)
