#!/usr/bin/env python3
# Session timers (RFC 4028), so that no dialog outlives its phone when a
# BYE is lost (sipp as the phone; the RTP timeout is off here):
#   - Session-Expires below the PBX's minimum: 422 with Min-SE: 90
#   - refresher=uas: the PBX refreshes (a re-INVITE) before half of 90 s
#   - refresher=uac, and the phone never refreshes: the PBX hangs up at
#     90 - 30 s (RFC 4028 10: the interval minus a third, at most 32 s)
#   - the PBX's own INVITEs ask for timers (Supported: timer, Session-Expires)
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.sippfrag import ACK_2XX, ACK_ERR, KEEP_PBX_TO, answer_invite, bye, reply  # noqa: E402

net = Net(32)

CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s", rtp_timeout = 0 }
for _, n in ipairs { "alice", "carol", "dave" } do
  pbx.endpoint(n) { secret = n .. "pw", context = "internal" }
end
pbx.context "internal" {
  ["201"] = function(call) call:dial("alice", { timeout = 10 }) end,
  ["302"] = function(call) call:answer() pbx.sleep(120) end,
}
""" % net.pbx_rtp

REPLY_200_SDP = answer_invite("m=audio [media_port] RTP/AVP 0\na=rtpmap:0 PCMU/8000",
                              action=KEEP_PBX_TO)


with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))

    def invite(label, ip, hdrs, code, ack, after, timeout=90):
        return Sipp("uac_hdrs.xml", template={"media": SDP["pcmu"], "hdrs": hdrs, "code": code,
                                             "ack": ack, "after": after},
                    local="%s:5062" % ip, media="%s:%d" % (ip, net.media_port(0)),
                    remote=pbx.sip, service="302", keys={"user": "carol"},
                    auth=("carol", "carolpw"), timeout=timeout, name=label).start()

    # -- too small: 422 ---------------------------------------------------------------
    r = invite("small", net.ip(1), "Session-Expires: 30\nSupported: timer\n", 422, ACK_ERR, "",
               timeout=15).wait(timeout=20)
    t.sipp_ok(r, "Session-Expires: 30 is answered 422 Session Interval Too Small")
    m = r.first(422)
    t.ok(m and (m.header("min-se") or "").strip() == "90", "... with Min-SE: 90",
         diag=lambda: m and m.text)

    # -- refresher=uas: the PBX refreshes; refresher=uac, silent phone: hung up ----------
    mark = pbx.log_mark()
    t0 = time.time()
    uas = invite("refresh", net.ip(2), "Session-Expires: 90;refresher=uas\nSupported: timer\n",
                 200, ACK_2XX, REPLY_200_SDP + "\n" + bye(3))
    uac = invite("expire", net.ip(3), "Session-Expires: 90;refresher=uac\nSupported: timer\n",
                 200, ACK_2XX, reply("BYE"))
    ru = uas.wait(timeout=70)
    t.sipp_ok(ru, "refresher=uas: the PBX's re-INVITE comes, is answered, the phone hangs up")
    ok200 = ru.first(200)
    t.ok(ok200 and re.match(r"90;refresher=uas", (ok200.header("session-expires") or "")),
         "... its 200 said Session-Expires: 90;refresher=uas",
         diag=lambda: ok200 and ok200.header("session-expires"))
    reinv = [m for m in ru.received("INVITE")]
    t.ok(reinv and reinv[0].ts - t0 <= 50, "... the refresh came within half of 90 s")
    rc = uac.wait(timeout=80)
    took = time.time() - t0
    t.sipp_ok(rc, "refresher=uac, no refresh: the PBX sends a BYE")
    ok200 = rc.first(200)
    t.ok(ok200 and "timer" in (ok200.header("require") or ""),
         "... its 200 said Require: timer (the phone refreshes)")
    t.ok(55 <= took <= 75, "... 90 - 30 s after the answer (%.0f s)" % took)
    t.like(pbx.log_since(mark), r"session expired \(90 s without a refresh\)",
           "... with a log line")

    # -- the PBX's own INVITE asks for timers --------------------------------------------
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local="%s:5062" % net.ip(4), remote=pbx.sip, keys={"user": "alice"},
             auth=("alice", "alicepw"), timeout=10, name="register-alice").run()
    t.sipp_ok(r, "alice (sipp) registers")
    callee = Sipp("uas_answer.xml", local="%s:5062" % net.ip(4),
                  media="%s:%d" % (net.ip(4), net.media_port(1)),
                  keys={"pt": 0, "codec": "PCMU"}, timeout=20, name="alice").start()
    caller = Sipp("uac_bye.xml", template={"media": SDP["pcmu"], "hold_ms": 1000},
                  local="%s:5062" % net.ip(5), media="%s:%d" % (net.ip(5), net.media_port(2)),
                  remote=pbx.sip, service="201", keys={"user": "dave"},
                  auth=("dave", "davepw"), timeout=20, name="dave").run()
    t.sipp_ok(caller, "dave calls 201, alice answers, dave hangs up")
    rcv = callee.wait(timeout=10)
    inv = rcv.first("INVITE") if rcv else None
    t.ok(inv and "timer" in (inv.header("supported") or "") and
         (inv.header("session-expires") or "").strip() == "1800",
         "the PBX's INVITE to alice says Supported: timer, Session-Expires: 1800",
         diag=lambda: inv and inv.text)
    pbx.finish(t)
