#!/usr/bin/env python3
# Digest authentication as an attacker probes it (issue 19): a replayed
# Authorization is refused (the nonce count is taken once), credentials
# made for one Request-URI do not authorize another, a nonce from before a
# restart gets 401 stale=true (not 403), and an enumeration probe is
# answered identically for a real and an unknown user, guest context
# included.  Requests are written and hashed here (lunatest/sipclient.py),
# byte for byte what a probe sends.
import os
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.sipclient import SipClient, challenge_of, digest  # noqa: E402

net = Net(11)         # 127.S.11.10-19
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s", guest_context = "public",
               security = { auth_failures = 1000 } }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal" }
pbx.context "internal" {
  ["_X."] = function(call, exten) pbx.log("info", "internal call to " .. exten) call:hangup(486) end,
}
pbx.context "public" {
  ["_X."] = function(call, exten) pbx.log("info", "guest call to " .. exten) call:hangup(480) end,
}
""" % net.pbx_rtp


def same_answer(a, b):
    """Status line and header names (values differ: tags, Call-IDs)."""
    if a is None or b is None:
        return False
    norm = lambda m: (m.start, sorted(set(m.header_names())))
    return norm(a) == norm(b)


def show(m):
    return m.text if m is not None else "no answer"


with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    remote = (pbx.ip, pbx.port)
    reg_uri = "sip:%s" % pbx.sip
    phone = SipClient(net.ip(1), 5060, remote)      # alice's phone
    probe = SipClient(net.ip(2), 5060, remote)      # someone else

    # -- a REGISTER, and its replay ---------------------------------------
    r = phone.request("REGISTER", reg_uri, user="alice")
    ch = challenge_of(r)
    t.ok(r is not None and r.code == 401 and ch.get("nonce"), "REGISTER -> 401 with a nonce",
         diag=lambda: show(r))
    auth = ("Authorization", digest(ch, "alice", "alicepw", "REGISTER", reg_uri))
    cid = "reg-%s" % net.ip(1)
    ok1 = phone.request("REGISTER", reg_uri, user="alice", auth=auth, call_id=cid)
    t.ok(ok1 is not None and ok1.code == 200, "REGISTER with the digest (nc=1) -> 200",
         diag=lambda: show(ok1))
    replay = probe.request("REGISTER", reg_uri, user="alice", auth=auth, call_id=cid)
    rch = challenge_of(replay)
    t.ok(replay is not None and replay.code == 401,
         "the same Authorization again (replayed from elsewhere, new branch): 401, not 200",
         diag=lambda: show(replay))
    t.is_((rch.get("stale") or "").lower(), "true", "... with stale=true and a fresh nonce",
          diag=lambda: show(replay))
    t.ok(rch.get("nonce") and rch.get("nonce") != ch["nonce"], "... the nonce is a new one")
    t.ok(pbx.wait_log(r"nonce count already used \(replay\?\)", 3),
         "the log says it was a replayed nonce count")
    auth2 = ("Authorization", digest(ch, "alice", "alicepw", "REGISTER", reg_uri, nc=2))
    r = phone.request("REGISTER", reg_uri, user="alice", auth=auth2, call_id=cid)
    t.ok(r is not None and r.code == 200,
         "the phone's next REGISTER on the same nonce with nc=2 -> 200 (nonce reuse works)",
         diag=lambda: show(r))

    # -- credentials bound to the Request-URI -----------------------------
    inv100 = "sip:100@%s" % pbx.sip
    inv900 = "sip:900@%s" % pbx.sip
    sdp = lambda c: SDP_BODY % {"ip": c.ip, "port": 29000}
    from lunatest.sipclient import SDP_BODY  # noqa: E402
    r = phone.request("INVITE", inv100, user="alice", to_user="100", body=sdp(phone))
    pch = challenge_of(r)
    t.ok(r is not None and r.code == 407, "INVITE 100 without credentials -> 407",
         diag=lambda: show(r))
    swapped = ("Proxy-Authorization",
               digest(pch, "alice", "alicepw", "INVITE", inv100))
    r = probe.request("INVITE", inv900, user="alice", to_user="900", auth=swapped,
                      body=sdp(probe))
    t.ok(r is not None and r.code == 403,
         "INVITE 900 with credentials computed for sip:100@...: 403 (not routed)",
         diag=lambda: show(r))
    t.ok(not pbx.wait_log(r"internal call to 900", 0.5), "... and no dialplan ran for 900")
    t.ok(pbx.wait_log(r"AuthFailed .*reason=\"digest uri is not the Request-URI\"", 3),
         "the security log says why")
    right = ("Proxy-Authorization", digest(pch, "alice", "alicepw", "INVITE", inv900, nc=2))
    r = phone.request("INVITE", inv900, user="alice", to_user="900", auth=right, body=sdp(phone))
    t.ok(r is not None and r.code == 486 and pbx.wait_log(r"internal call to 900", 3),
         "the same INVITE 900 with credentials for sip:900@... is routed (486 from the"
         " dialplan)", diag=lambda: show(r))

    # -- enumeration: known and unknown users answered alike ---------------
    def register_with(user, password):
        c = challenge_of(probe.request("REGISTER", reg_uri, user=user))
        a = ("Authorization", digest(c, user, password, "REGISTER", reg_uri)) if c else None
        return probe.request("REGISTER", reg_uri, user=user, auth=a)

    known, unknown = register_with("bob", "guess"), register_with("mallory", "guess")
    t.ok(known is not None and known.code == 403 and same_answer(known, unknown),
         "REGISTER: wrong secret of bob and unknown mallory -> the same 403",
         diag=lambda: "bob:\n%s\nmallory:\n%s" % (show(known), show(unknown)))

    def invite_with(user, password):
        # the guest context challenges no stranger's INVITE: a REGISTER's
        # nonce serves (nonces are not bound to a method)
        c = challenge_of(probe.request("REGISTER", reg_uri, user=user))
        a = ("Proxy-Authorization", digest(c, user, password, "INVITE", inv900)) if c else None
        return probe.request("INVITE", inv900, user=user, to_user="900", auth=a, body=sdp(probe))

    known, unknown = invite_with("bob", "guess"), invite_with("mallory", "guess")
    t.ok(known is not None and known.code == 403 and same_answer(known, unknown),
         "INVITE with credentials: wrong secret of bob and unknown mallory -> the same 403",
         diag=lambda: "bob:\n%s\nmallory:\n%s" % (show(known), show(unknown)))

    # guest context: a From naming an endpoint is no different from a stranger's
    g_known = probe.request("INVITE", inv900, user="bob", to_user="900", body=sdp(probe))
    g_unknown = probe.request("INVITE", inv900, user="mallory", to_user="900", body=sdp(probe))
    t.ok(g_known is not None and same_answer(g_known, g_unknown),
         "guest context: INVITE From bob and From mallory (no credentials) answered alike (%s)"
         % (g_known.start if g_known else None),
         diag=lambda: "bob:\n%s\nmallory:\n%s" % (show(g_known), show(g_unknown)))
    t.ok(g_known is not None and g_known.code == 480,
         "... both went to the guest context (its 480), neither was challenged")
    g_alice = probe.request("INVITE", inv900, user="alice", to_user="900", body=sdp(probe))
    t.ok(same_answer(g_alice, g_unknown),
         "INVITE From alice from another address than hers: a guest too, answered alike",
         diag=lambda: show(g_alice))
    r = phone.request("INVITE", inv900, user="alice", to_user="900", body=sdp(phone))
    t.ok(r is not None and r.code == 407,
         "INVITE From alice from the address she registered from: challenged (407)",
         diag=lambda: show(r))

    # -- a nonce from before a restart --------------------------------------
    r = phone.request("REGISTER", reg_uri, user="alice")
    old = challenge_of(r)
    pbx.stop()
    pbx.start()
    stale_auth = ("Authorization", digest(old, "alice", "alicepw", "REGISTER", reg_uri))
    r = phone.request("REGISTER", reg_uri, user="alice", auth=stale_auth)
    sch = challenge_of(r)
    t.ok(r is not None and r.code == 401 and (sch.get("stale") or "").lower() == "true",
         "after a restart, the phone's cached nonce with the right secret: 401 stale=true"
         " (not 403)", diag=lambda: show(r))
    a = ("Authorization", digest(sch, "alice", "alicepw", "REGISTER", reg_uri))
    r = phone.request("REGISTER", reg_uri, user="alice", auth=a)
    t.ok(r is not None and r.code == 200, "... and its retry with the new nonce -> 200",
         diag=lambda: show(r))
    bad = ("Authorization", digest(old, "alice", "wrong", "REGISTER", reg_uri))
    r = probe.request("REGISTER", reg_uri, user="alice", auth=bad)
    t.ok(r is not None and r.code == 403,
         "a pre-restart nonce with a wrong secret: 403, never stale", diag=lambda: show(r))

    phone.close()
    probe.close()
    pbx.finish(t)
