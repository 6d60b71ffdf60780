#!/usr/bin/env python3
# The protections of issue 19, each seen from the network: a brute force
# banned after auth_failures (refused before any challenge or digest, the
# security log quiet meanwhile, the ban lifted after ban_seconds), a
# source over request_rate answered 503 + Retry-After while others are
# not, trusted addresses never limited, an endpoint's permit/deny and the
# guest context's, and the concurrent-call limits (an endpoint's
# call_limit, max_calls in all) with their slots given back when calls end.
import os
import re
import sys
import time
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.sipclient import SDP_BODY, SipClient, challenge_of, digest  # noqa: E402

net = Net(12)         # 127.S.12.10-19
BAN_S = 4
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%(rtp)s", guest_context = "public",
  security = { auth_failures = 5, auth_window = 60, ban_seconds = %(ban)d,
               request_rate = 20, request_burst = 20, max_calls = 3,
               trusted = "%(trusted)s", guest_deny = { "%(nogst)s" } } }
pbx.endpoint "alice"  { secret = "alicepw", context = "internal", call_limit = 1 }
pbx.endpoint "office" { secret = "officepw", context = "internal",
                        deny = "0.0.0.0/0.0.0.0", permit = { "%(office)s/32" } }
local function hold(call) call:answer() call:silence(3) call:hangup() end
pbx.context "internal" { ["_X."] = hold }
pbx.context "public" { ["_X."] = hold }
"""
IP_BRUTE, IP_OTHER, IP_FLOOD, IP_TRUSTED, IP_OFFICE, IP_NOGUEST, IP_CALLS = (
    net.ip(1), net.ip(2), net.ip(3), net.ip(4), net.ip(5), net.ip(6), net.ip(7))


def show(m):
    return m.text if m is not None else "no answer"


with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG % {"rtp": net.pbx_rtp, "ban": BAN_S, "trusted": IP_TRUSTED,
                        "nogst": IP_NOGUEST, "office": IP_OFFICE},
              listen="%s:5070" % net.ip(0))
    remote = (pbx.ip, pbx.port)
    reg = "sip:%s" % pbx.sip
    seclog = os.path.join(pbx.state_dir, "security.log")

    def sec_lines():
        try:
            with open(seclog) as f:
                return f.read().splitlines()
        except FileNotFoundError:
            return []

    def register(c, user, password):
        """(challenge answer, final answer) of a REGISTER with a digest."""
        first = c.request("REGISTER", reg, user=user)
        ch = challenge_of(first)
        if not ch:
            return first, None
        return first, c.request("REGISTER", reg, user=user, auth=(
            "Authorization", digest(ch, user, password, "REGISTER", reg)))

    # -- brute force: banned after 5 failures ------------------------------
    brute = SipClient(IP_BRUTE, 5060, remote)
    codes = [register(brute, "alice", "guess%d" % i)[1] for i in range(5)]
    t.ok(all(r is not None and r.code == 403 for r in codes),
         "5 wrong secrets for alice from one address: 401 then 403 each time",
         diag=lambda: [r and r.start for r in codes])
    t.ok(pbx.wait_log(r"security: Banned remote=%s .*5 failures in 60 s" % re.escape(IP_BRUTE), 3),
         "the 5th failure bans the address (log: Banned)")
    first, final = register(brute, "alice", "alicepw")
    t.ok(first is not None and first.code == 403 and final is None,
         "the right secret from the banned address: 403 at once, no challenge, no digest",
         diag=lambda: show(first))
    lines = sec_lines()
    t.is_(len([l for l in lines if " SECURITY AuthFailed remote=%s " % IP_BRUTE in l]), 5,
          "security.log: 5 AuthFailed lines for it", diag=lambda: "\n".join(lines))
    t.ok(any(" SECURITY Banned remote=%s " % IP_BRUTE in l for l in lines),
         "security.log: its Banned line")
    before = len(lines)
    refused = 0
    for i in range(200):
        r = brute.request("REGISTER", reg, user="alice", timeout=1)
        refused += r is not None and r.code == 403
    t.is_(refused, 200, "200 more requests from it: all 403")
    t.is_(len(sec_lines()), before, "... and not one line more in the security log")
    other = SipClient(IP_OTHER, 5060, remote)
    _, r = register(other, "alice", "alicepw")
    t.ok(r is not None and r.code == 200, "another address registers alice meanwhile -> 200",
         diag=lambda: show(r))
    time.sleep(BAN_S + 0.5)
    _, r = register(brute, "alice", "alicepw")
    t.ok(r is not None and r.code == 200,
         "after ban_seconds (%d s) the address registers with the right secret" % BAN_S,
         diag=lambda: show(r))
    t.ok(any(re.search(r" SECURITY Unbanned remote=%s port=\d+ transport=- refused=20[0-9]"
                       % re.escape(IP_BRUTE), l) for l in sec_lines()),
         "security.log: Unbanned, with how many requests were refused meanwhile",
         diag=lambda: "\n".join(sec_lines()[-5:]))

    # -- request rate: 20/s, bursts of 20 ------------------------------------
    flood = SipClient(IP_FLOOD, 5060, remote)
    datas = [flood.build("OPTIONS", reg) for _ in range(60)]
    for d in datas:
        flood.send(d)
    got = flood.drain(1.0)
    ok200 = [m for m in got if m.code == 200]
    busy = [m for m in got if m.code == 503]
    t.ok(20 <= len(ok200) <= 25 and len(busy) == 60 - len(ok200),
         "60 OPTIONS at once from one address: the burst (20, +1 a 50 ms) answered 200,"
         " the rest 503 (%d / %d)" % (len(ok200), len(busy)),
         diag=lambda: [m.start for m in got])
    t.ok(busy and all(m.header("retry-after") == "5" for m in busy),
         "... each 503 with Retry-After: 5")
    t.ok(pbx.wait_log(r"security: RateLimited remote=%s " % re.escape(IP_FLOOD), 2),
         "the security log has RateLimited once")
    t.is_(len([l for l in sec_lines() if "RateLimited remote=%s " % IP_FLOOD in l]), 1,
          "... once, not once per refusal")
    time.sleep(1.1)
    r = flood.request("OPTIONS", reg)
    t.ok(r is not None and r.code == 200, "a second later it is served again",
         diag=lambda: show(r))
    trusted = SipClient(IP_TRUSTED, 5060, remote)
    for _ in range(60):
        trusted.send(trusted.build("OPTIONS", reg))
    got = trusted.drain(1.0)
    t.is_(len([m for m in got if m.code == 200]), 60,
          "a trusted address: 60 OPTIONS at once, all 200")

    # -- permit / deny -------------------------------------------------------
    office = SipClient(IP_OFFICE, 5060, remote)
    _, r = register(office, "office", "officepw")
    t.ok(r is not None and r.code == 200, "endpoint with permit %s: registers from there"
         % IP_OFFICE, diag=lambda: show(r))
    _, r = register(other, "office", "officepw")
    t.ok(r is not None and r.code == 403,
         "... and gets 403 from elsewhere, right secret and all", diag=lambda: show(r))
    t.ok(pbx.wait_log(r"AclDenied remote=%s .*user=\"office\"" % re.escape(IP_OTHER), 2),
         "the security log says AclDenied")
    noguest = SipClient(IP_NOGUEST, 5060, remote)
    sdp = lambda c: SDP_BODY % {"ip": c.ip, "port": 29000}
    r = noguest.request("INVITE", "sip:123@%s" % pbx.sip, to_user="123", body=sdp(noguest))
    t.ok(r is not None and r.code == 403, "a guest call from a guest_deny address: 403",
         diag=lambda: show(r))

    # -- call limits -----------------------------------------------------------
    # alice's phone registers from IP_CALLS: her INVITEs from there are
    # challenged (with a guest context, only those are)
    caller = SipClient(IP_CALLS, 5060, remote)
    _, r = register(caller, "alice", "alicepw")
    t.ok(r is not None and r.code == 200, "alice registers from %s" % IP_CALLS,
         diag=lambda: show(r))
    c1 = Sipp("uac_wait_bye.xml", local="%s:5062" % IP_CALLS, remote=pbx.sip, service="100",
              keys={"user": "alice"}, auth=("alice", "alicepw"), timeout=20, name="alice-1",
              media="%s:%d" % (IP_CALLS, net.media_port(0)),
              template={"media": SDP["pcmu"], "bye_within_ms": 8000}).start()
    wait_until(lambda: pbx.wait_log(r"call \d+: .*alice.* -> 100@internal", 0.2), 5)
    inv = "sip:101@%s" % pbx.sip
    ch = challenge_of(caller.request("INVITE", inv, user="alice", to_user="101",
                                     body=sdp(caller)))
    r = caller.request("INVITE", inv, user="alice", to_user="101", body=sdp(caller), auth=(
        "Proxy-Authorization", digest(ch, "alice", "alicepw", "INVITE", inv)))
    t.ok(r is not None and r.code == 503 and r.header("retry-after") == "5",
         "alice (call_limit 1) in a call: her second call gets 503 + Retry-After",
         diag=lambda: show(r))
    t.ok(pbx.wait_log(r"CallLimit remote=%s .*user=\"alice\" limit=endpoint calls=1"
                      % re.escape(IP_CALLS), 2), "security log: CallLimit (endpoint)")
    guests = Sipp("uac_trusted_bye.xml", local="%s:5064" % IP_CALLS, remote=pbx.sip,
                  service="200", keys={"user": "guest"}, m=2, timeout=20, name="guests",
                  media="%s:%d" % (IP_CALLS, net.media_port(1)),
                  template={"media": SDP["pcmu"], "bye_within_ms": 8000}).start()
    wait_until(lambda: len(re.findall(r"-> 200@public", pbx.log_text())) >= 2, 5)
    r = caller.request("INVITE", "sip:300@%s" % pbx.sip, user="guest", to_user="300",
                       body=sdp(caller))
    t.ok(r is not None and r.code == 503 and r.header("retry-after") == "5",
         "three calls up (max_calls 3): a fourth gets 503 + Retry-After", diag=lambda: show(r))
    t.ok(pbx.wait_log(r"CallLimit remote=%s .*limit=total calls=3" % re.escape(IP_CALLS), 2),
         "security log: CallLimit (total)")
    r1, rg = c1.wait(timeout=20), guests.wait(timeout=20)
    t.sipp_ok(r1, "alice's call went on and was hung up by the PBX")
    t.sipp_ok(rg, "so did both guest calls")
    again = Sipp("uac_wait_bye.xml", local="%s:5062" % IP_CALLS, remote=pbx.sip, service="100",
                 keys={"user": "alice"}, auth=("alice", "alicepw"), timeout=20, name="alice-2",
                 media="%s:%d" % (IP_CALLS, net.media_port(0)),
                 template={"media": SDP["pcmu"], "bye_within_ms": 8000}).run()
    t.sipp_ok(again, "once her call ended, alice calls again (its slot was given back)")

    for c in (brute, other, flood, trusted, office, noguest, caller):
        c.close()
    pbx.finish(t)
