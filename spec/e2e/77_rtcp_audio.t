#!/usr/bin/env python3
# RTCP of audio calls, counted on the wire.
# 1. alice calls bob (baresip, audio only, RTCP on its own port): each
#    phone's RTCP reaches the PBX and is relayed to the other phone, as the
#    phone sent it (its SSRC); each phone's counters say the far end's
#    reports arrived.
# 2. alice calls 300, answered by the PBX itself: the PBX receives her RTP
#    and sends its own receiver reports (its own SSRC, a report block on her
#    stream); call:stats() shows the RTCP both ways.
import os
import re
import struct
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(77)
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>' }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal", callerid = '"Bob" <202>' }
pbx.context "internal" {
  ["202"] = function(call) call:dial("bob", { timeout = 10 }) end,
  ["300"] = function(call)
    call:answer()
    pbx.sleep(9)
    local a = call:stats().caller.audio
    pbx.log("info", "STATS rx=%%d rtcp_rx=%%d rtcp_tx=%%d lost=%%d jitter=%%.2f far=%%s",
            a.rx_packets, a.rtcp_rx, a.rtcp_tx, a.lost, a.jitter_ms, tostring(a.far_lost))
    call:hangup()
  end,
}
""" % net.pbx_rtp


def sdp_of(cap, src, dst, start):
    for p in cap.packets():
        if p.src == src and p.dst == dst and p.text.startswith(start) and "m=audio" in p.text:
            return p.text
    return None


def rtcp_between(cap, pbx_ip, pbx_port):
    """RTCP packets into and out of the PBX's RTCP port pbx_port + 1."""
    into = [p for p in cap.packets() if p.dst == pbx_ip and p.dport == pbx_port + 1 and p.is_rtcp]
    out = [p for p in cap.packets() if p.src == pbx_ip and p.sport == pbx_port + 1 and p.is_rtcp]
    return into, out


def rtp_ssrcs(cap, pbx_ip, pbx_port):
    return {p.rtp_ssrc for p in cap.packets()
            if p.dst == pbx_ip and p.dport == pbx_port and p.is_rtp}


def sender_ssrc(p):
    return struct.unpack("!I", p.data[4:8])[0]


with Tap(timeout=90) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started (%s)" % pbx.sip)
    pbx_ip = net.ip(0)
    alice = Phone("alice", net.ip(1), registrar=pbx.sip, password="alicepw",
                  rtp_ports=net.phone_rtp(0), tone_hz=700, limit=80)
    bob = Phone("bob", net.ip(2), registrar=pbx.sip, password="bobpw",
                rtp_ports=net.phone_rtp(1), tone_hz=1100, limit=80)
    for ph in (alice, bob):
        t.ok(ph.registered(10), "%s (baresip) registers" % ph.name, diag=ph.reginfo)

    # -- 1. relayed --
    cap = Capture([pbx_ip])
    alice.dial("sip:202@%s" % pbx.sip)
    ea = alice.wait_event("CALL_ESTABLISHED", 10)
    eb = bob.wait_event("CALL_ESTABLISHED", 5)
    t.ok(ea and eb, "1: alice -> bob established")
    if ea and eb:
        time.sleep(9)
    bob.hangup()
    t.ok(alice.wait_event("CALL_CLOSED", 10), "1: bob hangs up, alice's leg closes")
    cap.stop()
    sdp_a = sdp_of(cap, pbx_ip, net.ip(1), "SIP/2.0 200")
    sdp_b = sdp_of(cap, pbx_ip, net.ip(2), "INVITE")
    t.ok(sdp_a and sdp_b, "1: the PBX's SDP to each phone captured")
    port_a = sdp_ports(sdp_a or "").get("audio", 0)
    port_b = sdp_ports(sdp_b or "").get("audio", 0)
    t.ok(port_a % 2 == 0 and port_b % 2 == 0, "1: RTP on even ports (%d, %d), RTCP on the next"
         % (port_a, port_b))
    t.ok("a=rtcp-mux" not in (sdp_a or "x"), "1: alice did not offer rtcp-mux: not answered")
    a_in, a_out = rtcp_between(cap, pbx_ip, port_a)
    b_in, b_out = rtcp_between(cap, pbx_ip, port_b)
    t.ok(len(a_in) >= 1 and len(b_out) >= 1,
         "1: alice's RTCP reaches the PBX (%d) and goes on to bob (%d)" % (len(a_in), len(b_out)))
    t.ok(len(b_in) >= 1 and len(a_out) >= 1,
         "1: bob's RTCP reaches the PBX (%d) and goes on to alice (%d)" % (len(b_in), len(a_out)))
    a_ssrc, b_ssrc = rtp_ssrcs(cap, pbx_ip, port_a), rtp_ssrcs(cap, pbx_ip, port_b)
    t.ok({sender_ssrc(p) for p in b_out} <= a_ssrc and {sender_ssrc(p) for p in a_out} <= b_ssrc,
         "1: relayed as sent: bob gets alice's SSRC, alice gets bob's",
         diag=lambda: "alice RTP %s, to bob %s; bob RTP %s, to alice %s" % (
             a_ssrc, {sender_ssrc(p) for p in b_out}, b_ssrc, {sender_ssrc(p) for p in a_out}))
    t.ok(any(p.rtcp_types()[:1] == [200] for p in a_out)
         and any(p.rtcp_types()[:1] == [200] for p in b_out),
         "1: sender reports among them, both ways",
         diag=lambda: "to alice %s, to bob %s" % ([p.rtcp_types() for p in a_out],
                                                  [p.rtcp_types() for p in b_out]))
    for ph in (alice, bob):
        s = ph.rtp_summary().get(("audio", "tx"), {})
        t.ok(s.get("pkt.report", 0) > 0,
             "1: %s's counters: the far end reported %d of its packets" % (ph.name,
                                                                            s.get("pkt.report", 0)))

    # -- 2. terminated by the PBX --
    cap = Capture([pbx_ip], name="capture2")
    fresh_names()          # baresip names recordings by the second
    mark = pbx.log_mark()
    alice.dial("sip:300@%s" % pbx.sip)
    t.ok(alice.wait_event("CALL_ESTABLISHED", 10), "2: alice -> 300, answered by the PBX")
    ca = alice.wait_event("CALL_CLOSED", 15)
    t.ok(ca, "2: the PBX hangs up after 9 s")
    cap.stop()
    sdp_a = sdp_of(cap, pbx_ip, net.ip(1), "SIP/2.0 200")
    port_a = sdp_ports(sdp_a or "").get("audio", 0)
    a_in, a_out = rtcp_between(cap, pbx_ip, port_a)
    a_ssrc = rtp_ssrcs(cap, pbx_ip, port_a)
    rrs = [p for p in a_out if p.rtcp_types()[:1] == [201]]
    t.ok(len(rrs) >= 1, "2: the PBX sends its own receiver reports to alice (%d)" % len(rrs),
         diag=lambda: "to alice: %s" % [p.rtcp_types() for p in a_out])
    if rrs:
        p = rrs[-1]
        count = p.data[0] & 0x1F
        own = sender_ssrc(p)
        t.ok(own not in a_ssrc, "2: ... with the PBX's own SSRC (%08x)" % own)
        if count:
            blk = struct.unpack("!IIIIII", p.data[8:32])
            t.ok(blk[0] in a_ssrc and blk[1] & 0xFFFFFF == 0,
                 "2: ... a report block on alice's stream, nothing lost (%08x)" % blk[0])
            srs = [q.t for q in a_in if q.rtcp_types()[:1] == [200]]
            later = [q for q in rrs if srs and q.t > srs[0] + 0.05 and q.data[0] & 0x1F]
            if later:
                lsr = struct.unpack("!I", later[-1].data[24:28])[0]
                t.ok(lsr != 0, "2: ... after alice's first SR, its LSR names it (%08x)" % lsr)
            else:
                t.note("2: no report of ours came after alice's first SR (timing)")
        else:
            t.ok(False, "2: ... a report block on alice's stream")
        t.ok(202 in p.rtcp_types(), "2: ... and an SDES CNAME (compound packet)")
    t.ok(alice.rtp_summary().get(("audio", "tx"), {}).get("pkt.report", 0) > 0,
         "2: alice's counters: the PBX's reports arrived")
    m = pbx.wait_log(r"STATS rx=(\d+) rtcp_rx=(\d+) rtcp_tx=(\d+) lost=(\d+) jitter=([\d.]+)",
                     3, since=mark)
    t.ok(m and int(m.group(1)) > 300 and int(m.group(2)) >= 1 and int(m.group(3)) >= 1,
         "2: call:stats(): %s packets in, RTCP %s in, %s out" % (
             m and m.group(1), m and m.group(2), m and m.group(3)))

    for ph in (alice, bob):
        ph.stop()
    pbx.finish(t)
