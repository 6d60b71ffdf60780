#!/usr/bin/env python3
# Peers (sip.conf [peer] sections) with sipp and baresip:
#  - the seed's [siptrunk] as peer "gw": alice dials 0<number>, the PBX
#    sends <number> to gw From 1040@sip.kaiba.corp and answers gw's 407,
#    then 401, with defaultuser/secret (sipp verifies the digest);
#  - gw calls in without credentials (insecure=invite): trusted by its
#    address:port, it lands in its own context; the same address from
#    another port, or another address, is challenged (407) and goes nowhere;
#  - a friend (host=dynamic, with a secret, no insecure) registers and its
#    calls, challenged like an endpoint's, land in its own context;
#  - qualify: peer "q" answers OPTIONS (reachable), then goes silent
#    (unreachable), and a dial to it fails at once with CHANUNAVAIL;
#  - qualify on an endpoint: baresip bob is reachable, then dies without
#    unregistering; a dial to him fails at once with CHANUNAVAIL.
import hashlib
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(72)         # 127.S.72.10-19
GW, Q, ALICE = "%s:5060" % net.ip(1), "%s:5060" % net.ip(2), "%s:5060" % net.ip(5)
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.endpoint "bob" { secret = "bobpw", context = "internal", qualify = 300, qualifyfreq = 1 }
-- sip.conf: [siptrunk] type=peer defaultuser=1040 secret=vitrygtr port=5600
--   insecure=invite host=sip.kaiba.corp fromuser=1040 fromdomain=... context=from-siptrunk
pbx.peer "gw" { host = "%s", port = 5060, defaultuser = "1040", secret = "vitrygtr",
                fromuser = "1040", fromdomain = "sip.kaiba.corp", insecure = "invite",
                context = "from-gw" }
pbx.peer "q" { host = "%s", port = 5060, qualify = 300, qualifyfreq = 1 }
pbx.peer "f" { host = "dynamic", secret = "fpw", context = "from-f" }
pbx.context "internal" {
  -- exten => _0.,1,Dial(SIP/siptrunk/${EXTEN:1},20)
  ["_0X."] = function(call, exten)
    local st, code = call:dial { trunk = "gw", number = exten:sub(2), timeout = 10 }
    pbx.log("info", "dial gw: %%s %%d", st, code)
  end,
  ["_8X."] = function(call, exten)
    local q, t0 = pbx.trunk("q"), pbx.now()
    pbx.log("info", "peer q: state=%%s reachable=%%s", q.state, tostring(q.reachable))
    local st, code = call:dial { trunk = "q", number = exten, timeout = 10 }
    pbx.log("info", "dial q: %%s %%d after %%d ms", st, code, math.floor((pbx.now() - t0) * 1000))
  end,
  ["202"] = function(call)
    local t0 = pbx.now()
    local st, code = call:dial("bob", { timeout = 10 })
    pbx.log("info", "dial bob: %%s %%d after %%d ms", st, code, math.floor((pbx.now() - t0) * 1000))
  end,
}
pbx.context "from-f" { include = { "from-gw" } }
pbx.context "from-gw" {
  ["9999"] = function(call)
    pbx.log("info", "landed %%s in %%s from peer %%s, caller %%s", call.exten, call.context,
            tostring(call.endpoint), tostring(call.caller))
    call:answer()
    pbx.sleep(0.3)
    call:hangup()
  end,
}
""" % (net.pbx_rtp, net.ip(1), net.ip(2))


def md5(s):
    return hashlib.md5(s.encode()).hexdigest()


def digest_ok(p, method, password):
    """RFC 2617 (qop=auth): the response an honest client computes."""
    ha1 = md5("%s:%s:%s" % (p.get("username"), p.get("realm"), password))
    ha2 = md5("%s:%s" % (method, p.get("uri")))
    want = md5(":".join([ha1, p.get("nonce", ""), p.get("nc", ""), p.get("cnonce", ""),
                         p.get("qop", ""), ha2]))
    return p.get("response") == want


def alice(scenario, exten, label, **tmpl):
    tmpl.setdefault("media", SDP["pcmu"])
    return Sipp(scenario, local=ALICE, remote=pbx.sip, service=exten, keys={"user": "alice"},
                auth=("alice", "alicepw"), timeout=15, name=label, template=tmpl)


def stranger(scenario, local, exten, label, **tmpl):
    tmpl.setdefault("media", SDP["pcmu"])
    return Sipp(scenario, local=local, remote=pbx.sip, service=exten, keys={"user": "gw"},
                timeout=10, name=label, template=tmpl)


def options_peer(label):
    return Sipp("uas_options.xml", local=Q, m=1000, timeout=60, name=label).start()


with Tap(timeout=100) as t:
    t.require_pbx()
    q = options_peer("q-up")
    pbx = Pbx(CONFIG, listen="%s:5060" % net.ip(0))
    t.ok(pbx.wait_log(r"qualify: q \(sip:%s\) is reachable \(\d+ ms\)" % re.escape(Q), 3),
         "qualify: peer q answers OPTIONS, reachable", diag=lambda: pbx.log_tail(10))

    # -- outbound over gw, which challenges: 407 then 401 --------------------
    for code, reason, hdr in ((407, "Proxy Authentication Required", "Proxy-Authenticate"),
                              (401, "Unauthorized", "WWW-Authenticate")):
        mark = pbx.log_mark()
        gw = Sipp("uas_auth.xml", local=GW, keys={"pt": 0, "codec": "PCMU"}, timeout=15,
                  name="gw-%d" % code,
                  template={"code": code, "reason": reason, "hdr": hdr}).start()
        r = alice("uac_bye.xml", "00123456", "alice-gw-%d" % code, hold_ms=500).run()
        g = gw.wait(10)
        t.sipp_ok(r, "alice calls 00123456 over gw (answering its %d): answered, hung up" % code)
        t.sipp_ok(g, "gw: challenged (%d), called again, answered, BYE" % code)
        invites = g.received("INVITE")
        first = invites[0] if invites else None
        t.like(first and first.start, r"^INVITE sip:0123456@%s SIP/2.0" % re.escape(GW),
               "... the request asks gw for 0123456 (${EXTEN:1})")
        t.like(first and first.header("from"), r"<sip:1040@sip\.kaiba\.corp>",
               "... From 1040@sip.kaiba.corp (fromuser, fromdomain)")
        auth = invites[1].header("proxy-authorization" if code == 407 else "authorization") \
            if len(invites) > 1 else None
        scheme, params = parse_auth_header(auth)
        t.is_((scheme, params.get("username"), params.get("realm"), params.get("nonce")),
              ("Digest", "1040", "peer.example", "5b2f0c4e9d1a"),
              "... the second INVITE carries %s for 1040, gw's realm and nonce"
              % ("Proxy-Authorization" if code == 407 else "Authorization"))
        t.ok(digest_ok(params, "INVITE", "vitrygtr"),
             "... its digest response is right for secret vitrygtr", diag=repr(params))
        t.like(pbx.log_since(mark), r"dial gw: ANSWER 200", "... call:dial said ANSWER")

    # -- inbound from gw: trusted by address, lands in from-gw ---------------
    mark = pbx.log_mark()
    r = stranger("uac_trusted_bye.xml", GW, "9999", "gw-in", bye_within_ms=3000).run()
    t.sipp_ok(r, "gw calls 9999 without credentials: answered (insecure=invite)")
    log = pbx.log_since(mark)
    t.like(log, r"peer gw: INVITE from %s trusted by its address" % re.escape(GW),
           "... trusted by its address and port")
    t.like(log, r"landed 9999 in from-gw from peer gw, caller gw",
           "... it lands in gw's context, from-gw, as peer gw")

    for local, what in (("%s:5062" % net.ip(1), "gw's address from another port"),
                        ("%s:5060" % net.ip(6), "another address")):
        mark = pbx.log_mark()
        r = stranger("uac_noauth.xml", local, "9999", "untrusted", quiet_ms=800).run()
        t.sipp_ok(r, "a call from %s without credentials is challenged (407) and goes"
                  " nowhere" % what)
        t.unlike(pbx.log_since(mark), r"landed|trusted", "... not taken for gw")

    # -- a friend: registers, authenticates, lands in its context ------------
    F = "%s:5060" % net.ip(7)
    r = Sipp("register.xml", local=F, remote=pbx.sip, keys={"user": "f"}, auth=("f", "fpw"),
             name="f-register", template={"expires": 60, "code": 200, "direct": ""}).run()
    t.sipp_ok(r, "friend f registers with its secret (401, then 200)")
    mark = pbx.log_mark()
    r = Sipp("uac_wait_bye.xml", local=F, remote=pbx.sip, service="9999", keys={"user": "f"},
             auth=("f", "fpw"), timeout=10, name="f-call",
             template={"media": SDP["pcmu"], "bye_within_ms": 3000}).run()
    t.sipp_ok(r, "f calls 9999: challenged (407), authenticated, answered")
    t.like(pbx.log_since(mark), r"landed 9999 in from-f from peer f, caller f",
           "... it lands in f's own context, from-f")

    # -- qualify: q goes silent, a dial to it fails at once -----------------
    mark = pbx.log_mark()
    q.stop()
    t.ok(pbx.wait_log(r"qualify: q \(sip:%s\) is unreachable" % re.escape(Q), 4, since=mark),
         "q stops answering OPTIONS: unreachable", diag=lambda: pbx.log_tail(10))
    mark = pbx.log_mark()
    t0 = time.time()
    r = alice("uac_reject.xml", "8123", "alice-q", code=480).run()
    took = time.time() - t0
    t.sipp_ok(r, "alice calls 8123 over q: 480")
    t.like(pbx.log_since(mark), r"peer q: state=unreachable reachable=false",
           "pbx.trunk('q') says unreachable")
    m = re.search(r"dial q: (\w+) (\d+) after (\d+) ms", pbx.log_since(mark))
    t.ok(m and m.group(1) == "CHANUNAVAIL" and int(m.group(3)) < 100,
         "call:dial{trunk='q'} fails at once: %s" % (m and m.group(0)),
         diag=lambda: pbx.log_tail(10))
    t.ok(took < 3, "... the caller had the answer in %.1f s" % took)
    mark = pbx.log_mark()
    q = options_peer("q-back")
    t.ok(pbx.wait_log(r"qualify: q \(sip:%s\) is reachable" % re.escape(Q), 4, since=mark),
         "q answers again: reachable")
    q.stop()

    # -- qualify on an endpoint: baresip bob dies without unregistering ------
    bob = Phone("bob", net.ip(3), registrar=pbx.sip, password="bobpw",
                rtp_ports=net.phone_rtp(0), limit=60)
    t.ok(bob.registered(10), "bob (baresip) registers", diag=bob.reginfo)
    t.ok(pbx.wait_log(r"qualify: bob \(sip:bob-\S+@%s:5060\) is reachable" % re.escape(net.ip(3)), 4),
         "qualify: bob answers OPTIONS, reachable")
    mark = pbx.log_mark()
    bob.proc.kill()             # SIGKILL: no un-REGISTER, the contact stays
    bob.proc.wait()
    t.ok(pbx.wait_log(r"qualify: bob \(\S+\) is unreachable", 4, since=mark),
         "bob is killed: unreachable, though still registered")
    mark = pbx.log_mark()
    r = alice("uac_reject.xml", "202", "alice-bob", code=480).run()
    t.sipp_ok(r, "alice calls 202 (bob): 480")
    log = pbx.log_since(mark)
    m = re.search(r"dial bob: (\w+) (\d+) after (\d+) ms", log)
    t.ok(m and m.group(1) == "CHANUNAVAIL" and int(m.group(3)) < 100,
         "call:dial('bob') fails at once: %s" % (m and m.group(0)), diag=lambda: tail(log, 10))
    t.like(log, r"bob at \S+ is unreachable \(qualify\)", "... the log says why")

    pbx.finish(t)
