#!/usr/bin/env python3
# Ten participants in one room: three baresip phones (one speaking PCMA,
# the others PCMU) and seven sipp calls, each sending its own tone (the
# sipp calls' RTP from the test, one socket each), quietly enough that
# nine of them add up without clipping.  Every
# participant hears the nine others and never itself; then they all hang
# up and nothing is left (calls, legs, file descriptors).
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.conf import Room, TonePeer, tone_phone  # noqa: E402

net = Net(57)
PHONES = {"alice": 400, "bob": 550, "carol": 700}
PEERS = [850, 1000, 1150, 1300, 1550, 1700, 1850]     # the room's sounds: 350, 1400 Hz
HZ = dict(PHONES, **{"sipp%d" % i: hz for i, hz in enumerate(PEERS)})
SHARE = 0.04             # one of nine talkers holds ~0.11 of what is heard
HOLD_S = 24

CONFIG = """\
local pbx = require "lunapbx"
local confbridge = require "lunapbx.confbridge"
pbx.settings { realm = "lunapbx", rtp_ports = "%s", guest_context = "guests" }
local function phone(t) t.context = "internal"; return t end
pbx.endpoint "alice" (phone { secret = "alicepw", callerid = '"Alice" <201>' })
pbx.endpoint "bob"   (phone { secret = "bobpw",   callerid = '"Bob" <202>' })
pbx.endpoint "carol" (phone { secret = "carolpw", callerid = '"Carol" <203>' })
local function room(call) confbridge.join(call, "big") end
pbx.context "guests" { ["6"] = room }
pbx.context "internal" {
  ["6"] = room,
  ["202"] = function(call) call:dial("bob", { timeout = 10 }) end,
}
""" % net.pbx_rtp

with Tap(timeout=100) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    phones = {w: tone_phone(w, net.ip(1 + k), pbx, w + "pw", net.phone_rtp(k), hz,
                            volume=0.08, codecs="PCMA" if w == "carol" else "PCMU,PCMA")
              for k, (w, hz) in enumerate(PHONES.items())}
    for w, ph in phones.items():
        t.ok(ph.registered(10), "%s (baresip) registers" % w, diag=ph.reginfo)
    lab = PhoneLab(t, pbx, phones, HZ)
    t.ok(lab.settle_fds(phones["alice"], "202", phones["bob"]), "a first call (alice to bob)")
    room = Room(t, pbx, phones, HZ)

    # -- seven sipp participants, each with its own RTP peer and tone
    peers = [TonePeer(net.ip(6), 29100 + 2 * i, hz, HOLD_S) for i, hz in enumerate(PEERS)]
    inf = os.path.join(workdir("inf"), "ports.csv")
    with open(inf, "w") as f:
        f.write("SEQUENTIAL\n" + "".join("%d;\n" % p.peer.port for p in peers))
    sipp = Sipp("uac_conf.xml", local="%s:5060" % net.ip(5), remote=pbx.sip, service="6",
                m=len(PEERS), rate=len(PEERS), limit=len(PEERS), inf=inf, timeout=60,
                template={"rtp_ip": net.ip(6), "hold_ms": HOLD_S * 1000}).start()
    for w in PHONES:
        t.ok(room.join(w, "6"), "%s calls 6" % w)
    t.ok(pbx.wait_log(r"confbridge big: \S+ joins \(10 in the room\)", 10),
         "ten participants in room big")
    time.sleep(3)                # the last join sound, the talkers detected
    a = room.now()
    time.sleep(6)
    ten = (a, room.now())
    r = console_exec(pbx, "rooms()")
    t.like(r.out, r"big\s+10\s", "console rooms(): big, 10 parties", diag=r.diag)

    for w, ph in phones.items():
        ph.hangup()
        t.ok(ph.wait_event("CALL_CLOSED", 5), "%s hangs up" % w)
    res = sipp.wait(timeout=HOLD_S + 20)
    t.sipp_ok(res, "the seven sipp participants hang up in turn (BYE answered)")
    t.ok(pbx.wait_log(r"room big ends", 5), "the room ends")

    for w in PHONES:
        room.check(w, ten, [o for o in HZ if o != w], [w], "ten in the room", heard=SHARE)
    freqs = sorted(HZ.values())
    for i, p in enumerate(peers):
        who = "sipp%d" % i
        share, rms = p.shares(freqs, (ten[0] + 0.5, ten[1] - 0.5))
        missing = [o for o in HZ if o != who and share[HZ[o]] < SHARE]
        t.ok(not missing and share[p.hz] < 0.01,
             "ten in the room: %s (sipp) hears the nine others, never itself" % who,
             diag=lambda: "shares %s, rms %.0f, missing %s" % (
                 {f: round(v, 3) for f, v in share.items()}, rms, missing))
        p.close()
    lab.leftovers("the room emptied")
    pbx.finish(t)
