#!/usr/bin/env python3
# Music on hold as one stream per class: two sipp callers put on hold a
# second apart each get the class's music (RTP with their own SSRC,
# sequence +1, timestamps +160), and at any moment the same bytes: the
# later one joined the stream where it was, not at its start.  With
# call:moh{random = true} each caller has its own playback instead: what
# they get at the same moment differs.  The RTP is read by independent
# sockets (lunatest.rtp.RtpPeer), the music decoded and checked heard.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.rtp import RtpPeer  # noqa: E402

net = Net(49)
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "carol" { secret = "carolpw", context = "hold" }
pbx.endpoint "dave"  { secret = "davepw", context = "hold" }
pbx.context "hold" {
  ["610"] = function(call)
    call:answer()
    call:moh("default", 4)
    call:hangup()
  end,
  ["611"] = function(call)
    call:answer()
    call:moh("default", 4, { random = true })
    call:hangup()
  end,
}
""" % net.pbx_rtp


def caller(user, k, exten, peer):
    answer = "m=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv" % peer.port
    return Sipp("uac_wait_bye.xml", local="%s:5060" % net.ip(k), remote=pbx.sip,
                media="%s:%d" % (net.ip(k), net.media_port(k)), service=exten,
                keys={"user": user}, auth=(user, user + "pw"), timeout=20,
                name="%s-%s" % (user, exten),
                template={"media": answer, "bye_within_ms": 9000})


def audio(peer):
    """The PCMU packets from the PBX, in arrival order."""
    return [p for p in peer.packets if p[1] == 0 and p[6][0] == net.ip(0)]


def in_order(pkts):
    ok = len(pkts) > 1
    for a, b in zip(pkts, pkts[1:]):
        ok = ok and (b[2] - a[2]) & 0xFFFF == 1 and (b[3] - a[3]) & 0xFFFFFFFF == 160 \
            and a[4] == b[4]
    return ok


def shared(a, b, window=0.012):
    """How many of b's packets carry the bytes one of a's carried within
    `window` seconds of it (the same tick of the PBX's clock)."""
    n = 0
    for pb in b:
        if any(pa[5] == pb[5] and abs(pa[0] - pb[0]) <= window for pa in a):
            n += 1
    return n


def rms(pkts):
    s = [x for p in pkts for x in (ULAW[b] for b in p[5])]
    return (sum(x * x for x in s) / max(len(s), 1)) ** 0.5


ULAW = []
for byte in range(256):
    u = ~byte & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    ULAW.append((0x84 - t) if u & 0x80 else (t - 0x84))


def pair(t, exten, label):
    pa, pb = RtpPeer(net.ip(1), net.media_port(1) + 6), RtpPeer(net.ip(2), net.media_port(2) + 6)
    a = caller("carol", 1, exten, pa).start()
    time.sleep(1.0)
    b = caller("dave", 2, exten, pb).start()
    ra, rb = a.wait(), b.wait()
    time.sleep(0.3)
    pa.close()
    pb.close()
    t.sipp_ok(ra, "%s: carol calls %s, hears music, the PBX hangs up" % (label, exten))
    t.sipp_ok(rb, "%s: dave calls %s a second later, likewise" % (label, exten))
    return audio(pa), audio(pb)


with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))

    # -- one stream: the class read once a tick, every listener its header --------------
    a, b = pair(t, "610", "stream")
    t.ok(190 <= len(a) <= 215 and 190 <= len(b) <= 215,
         "4 s of music each: %d and %d packets (200)" % (len(a), len(b)))
    t.ok(in_order(a) and in_order(b), "each: sequence +1, timestamps +160, one SSRC")
    t.ok(a and b and a[0][4] != b[0][4], "each its own SSRC")
    t.ok(rms(a) > 500 and rms(b) > 500, "both hear music (rms %.0f, %.0f)" % (rms(a), rms(b)))
    both = [p for p in b if a and p[0] <= a[-1][0] - 0.05]     # while carol listened too
    same = shared(a, both)
    t.ok(same >= 0.9 * len(both) > 100,
         "at each moment they get the same bytes: %d of dave's %d packets while both"
         " listened" % (same, len(both)))
    t.ok(a and b and b[0][5] != a[0][5] and shared(a, b[:1]) == 1,
         "dave joined the stream where it was (not at its start)")

    # -- each caller its own playback (Asterisk's mode=files) ---------------------------
    a, b = pair(t, "611", "own")
    t.ok(190 <= len(a) <= 215 and 190 <= len(b) <= 215 and in_order(a) and in_order(b),
         "4 s of music each, in order: %d and %d packets" % (len(a), len(b)))
    t.ok(rms(a) > 500 and rms(b) > 500, "both hear music (rms %.0f, %.0f)" % (rms(a), rms(b)))
    same = shared(a, b)
    t.ok(same <= 0.1 * len(b), "their own playbacks: %d of dave's %d packets match carol's"
         % (same, len(b)))

    pbx.finish(t)
