#!/usr/bin/env python3
# Video through the PBX with real phones: baresip alice (VP8, RTCP muxed on
# the RTP port), bob (VP8 and VP9) and carol (no video) register.
# 1. alice calls bob: audio and video, each side's tone found in the other's
#    recording; a capture of the PBX's address counts video RTP and RTCP on
#    each leg in each direction; the phones' own counters and the PBX's
#    call:stats() agree; the PBX's answer to alice carries a=rtcp-mux.
# 2. alice calls carol: carol is offered the video and refuses it; alice's
#    answer has m=video 0; the audio works.
# 3. carol calls bob: bob is offered no video; an audio-only call.
# 4. alice calls 300, answered by the PBX itself: video refused (port 0).
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(75)
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>' }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal", callerid = '"Bob" <202>' }
pbx.endpoint "carol" { secret = "carolpw", context = "internal", callerid = '"Carol" <203>' }

-- every number of call:stats(), one line per leg and media
local function log_stats(call)
  local s = call:stats()
  for _, leg in ipairs { "caller", "callee" } do
    for _, media in ipairs { "audio", "video" } do
      local m = s[leg] and s[leg][media]
      if m then
        local keys = {}
        for k in pairs(m) do keys[#keys + 1] = k end
        table.sort(keys)
        local parts = {}
        for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(m[k]) end
        pbx.log("info", "STATS %%s %%s %%s %%s", call.exten, leg, media, table.concat(parts, " "))
      end
    end
  end
end

pbx.context "internal" {
  ["202"] = function(call) call:dial("bob", { timeout = 10 }) log_stats(call) end,
  ["203"] = function(call) call:dial("carol", { timeout = 10 }) log_stats(call) end,
  ["300"] = function(call) call:answer() pbx.sleep(1.5) call:hangup() end,
}
""" % net.pbx_rtp
TONES = {"alice": 700, "bob": 1100, "carol": 1500}


def stats_lines(text, exten):
    """{(leg, media): {key: value}} from the STATS lines the dialplan logged."""
    out = {}
    for m in re.finditer(r"STATS %s (\w+) (\w+) (.*)$" % exten, text, re.M):
        d = {}
        for kv in m.group(3).split():
            k, _, v = kv.partition("=")
            try:
                d[k] = float(v)
            except ValueError:
                d[k] = v
        out[(m.group(1), m.group(2))] = d
    return out


def sip_msgs(cap, pbx_ip):
    """SIP messages of the capture, with their direction."""
    return [p for p in cap.packets() if p.data[:3] in (b"INV", b"SIP", b"ACK", b"BYE")
            and (p.src == pbx_ip or p.dst == pbx_ip)]


def first(msgs, pred):
    for m in msgs:
        if pred(m):
            return m
    return None


def check_tones(t, a, b, ra, rb, what):
    ok = ra and rb
    if not ok:      # a loaded machine's baresip may write its files late
        t.diag("%s: no finished recording from %s" % (what, ", ".join(
            p.name for p, r in ((a, ra), (b, rb)) if not r)))
    fa = dominant_tone(ra["dec"], list(TONES.values()))[0] if ok else None
    fb = dominant_tone(rb["dec"], list(TONES.values()))[0] if ok else None
    t.is_(fa, TONES[b.name], "%s: %s hears %s's %d Hz tone" % (what, a.name, b.name, TONES[b.name]))
    t.is_(fb, TONES[a.name], "%s: %s hears %s's %d Hz tone" % (what, b.name, a.name, TONES[a.name]))


def media_counts(cap, pbx_ip, pbx_port, mux):
    """RTP and RTCP packets of one leg's media, by direction, from the PBX's
    port (RTCP on port+1 unless muxed)."""
    c = {"rtp_in": 0, "rtp_out": 0, "rtcp_in": 0, "rtcp_out": 0, "pts": set()}
    rtcp_port = pbx_port if mux else pbx_port + 1
    for p in cap.packets():
        if p.dst == pbx_ip and p.dport == pbx_port and p.is_rtp:
            c["rtp_in"] += 1
            c["pts"].add(p.rtp_pt)
        elif p.src == pbx_ip and p.sport == pbx_port and p.is_rtp:
            c["rtp_out"] += 1
        elif p.dst == pbx_ip and p.dport == rtcp_port and p.is_rtcp:
            c["rtcp_in"] += 1
        elif p.src == pbx_ip and p.sport == rtcp_port and p.is_rtcp:
            c["rtcp_out"] += 1
    return c


with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started (%s)" % pbx.sip)
    pbx_ip = net.ip(0)
    cap = Capture([pbx_ip])

    def phone(name, k, **kw):
        return Phone(name, net.ip(k + 1), registrar=pbx.sip, password=name + "pw",
                     rtp_ports=net.phone_rtp(k), tone_hz=TONES[name], limit=100, **kw)

    alice = phone("alice", 0, video="VP8", rtcp_mux=True)
    bob = phone("bob", 1, video="VP8,VP9")
    carol = phone("carol", 2)
    for ph in (alice, bob, carol):
        t.ok(ph.registered(10), "%s (baresip) registers" % ph.name, diag=ph.reginfo)

    # -- 1. alice -> bob, audio and video --
    mark = pbx.log_mark()
    alice.dial("sip:202@%s" % pbx.sip)
    ea = alice.wait_event("CALL_ESTABLISHED", 10)
    eb = bob.wait_event("CALL_ESTABLISHED", 5)
    t.ok(ea and eb, "call 1: alice -> bob established",
         diag=lambda: "alice %s bob %s" % (alice.event_types(), bob.event_types()))
    if ea and eb:
        time.sleep(9)       # RTCP comes every ~5 s
    alice.hangup()
    t.ok(bob.wait_event("CALL_CLOSED", 10), "call 1: bob's leg closed when alice hangs up")
    st = pbx.wait_log(r"STATS 202 callee video", 5, since=mark)
    ra, rb = alice.wait_recording(1, timeout=15), bob.wait_recording(1, timeout=15)
    check_tones(t, alice, bob, ra, rb, "call 1")

    cap.stop()
    msgs = sip_msgs(cap, pbx_ip)
    inv_a = first(msgs, lambda m: m.dst == pbx_ip and m.text.startswith("INVITE sip:202")
                  and "m=video" in m.text)
    ok_a = first(msgs, lambda m: m.src == pbx_ip and m.dst == net.ip(1)
                 and m.text.startswith("SIP/2.0 200") and "m=video" in m.text)
    inv_b = first(msgs, lambda m: m.src == pbx_ip and m.text.startswith("INVITE")
                  and m.dst == net.ip(2))
    ok_b = first(msgs, lambda m: m.dst == pbx_ip and m.text.startswith("SIP/2.0 200")
                 and "m=video" in m.text and m.src == net.ip(2))
    t.ok(inv_a and ok_a and inv_b and ok_b, "call 1: the INVITEs and 200s with SDP captured",
         diag=lambda: "\n".join(m.text.split("\r\n")[0] for m in msgs))
    if inv_a and ok_a and inv_b and ok_b:
        t.like(inv_b.text, r"(?m)^m=video \d+ RTP/AVP 96\r?$",
               "call 1: bob is offered alice's video (VP8 at 96)")
        t.like(inv_b.text, r"a=rtpmap:96 VP8/90000", "  ... VP8/90000")
        t.like(ok_a.text, r"(?m)^m=video [1-9]\d* RTP/AVP 96\r?$",
               "call 1: alice's answer accepts video, VP8 (what bob accepted)")
        vpart = ok_a.text[ok_a.text.find("m=video"):]
        t.like(vpart, r"a=rtcp-mux", "call 1: alice offered rtcp-mux: her video answer has it")
        t.like(vpart, r"a=rtcp-fb:\* nack pli", "  ... and bob's rtcp-fb (PLI, NACK)")
        legs = {
            "alice": (sdp_ports(ok_a.text), True),
            "bob": (sdp_ports(inv_b.text), False),
        }
        for name, (ports, mux) in legs.items():
            for media in ("audio", "video"):
                c = media_counts(cap, pbx_ip, ports.get(media, 0), mux)
                least = 60 if media == "video" else 300
                t.ok(c["rtp_in"] >= least and c["rtp_out"] >= least,
                     "call 1: %s %s RTP both ways through the PBX (%d in, %d out)"
                     % (name, media, c["rtp_in"], c["rtp_out"]))
                t.ok(c["rtcp_in"] >= 1 and c["rtcp_out"] >= 1,
                     "call 1: %s %s RTCP both ways%s (%d in, %d out)"
                     % (name, media, ", on the RTP port" if mux else "",
                        c["rtcp_in"], c["rtcp_out"]))
                if media == "video":
                    t.is_(sorted(c["pts"]), [96], "call 1: %s sends VP8 (96) only" % name)

    for ph in (alice, bob):
        s = ph.rtp_summary()
        v_tx, v_rx = s.get(("video", "tx"), {}), s.get(("video", "rx"), {})
        t.ok(v_tx.get("packets", 0) >= 60 and v_rx.get("packets", 0) >= 60,
             "call 1: %s's counters: video sent %d, received %d"
             % (ph.name, v_tx.get("packets", 0), v_rx.get("packets", 0)),
             diag=lambda ph=ph: tail(ph.log_text(), 30))
        t.ok(v_tx.get("pkt.report", 0) > 0,
             "call 1: %s got the far end's RTCP reports on video (pkt.report %d)"
             % (ph.name, v_tx.get("pkt.report", 0)))

    got = stats_lines(pbx.log_since(mark), "202")
    t.ok(st and len(got) == 4, "call 1: call:stats() has audio and video of both legs",
         diag=lambda: tail(pbx.log_since(mark), 20))
    for leg, mux in (("caller", "true"), ("callee", "false")):
        v = got.get((leg, "video"), {})
        t.is_(v.get("codec"), "VP8", "call:stats() %s video codec" % leg)
        t.ok(v.get("rx_packets", 0) >= 60 and v.get("tx_packets", 0) >= 60,
             "call:stats() %s video: %d packets in, %d out"
             % (leg, v.get("rx_packets", 0), v.get("tx_packets", 0)))
        t.ok(v.get("rtcp_rx", 0) >= 1 and v.get("rtcp_tx", 0) >= 1,
             "call:stats() %s video: RTCP %d in, %d out"
             % (leg, v.get("rtcp_rx", 0), v.get("rtcp_tx", 0)))
        t.is_(v.get("rtcp_mux"), mux, "call:stats() %s video rtcp_mux" % leg)
        t.ok(v.get("lost", -1) == 0 and "jitter_ms" in v,
             "call:stats() %s video: lost %s, jitter %s ms"
             % (leg, v.get("lost"), v.get("jitter_ms")))
    rtts = ["%s %s %.2f ms" % (k[0], k[1], v["rtt_ms"]) for k, v in sorted(got.items())
            if "rtt_ms" in v]
    t.note("call 1: round trips measured from LSR/DLSR: %s" % (", ".join(rtts) or "none yet"))
    t.like(pbx.log_since(mark), r"leg \d+: video VP8: rx \d+ pkts",
           "the hang-up log has a line per leg and media")

    # -- 2. alice -> carol: carol has no video --
    cap = Capture([pbx_ip], name="capture2")
    fresh_names()          # baresip names recordings by the second
    mark = pbx.log_mark()
    alice.dial("sip:203@%s" % pbx.sip)
    ea = alice.wait_event("CALL_ESTABLISHED", 10)
    ec = carol.wait_event("CALL_ESTABLISHED", 5)
    t.ok(ea and ec, "call 2: alice (video) -> carol (no video) established")
    if ea and ec:
        time.sleep(3)
    carol.hangup()
    t.ok(alice.wait_event("CALL_CLOSED", 10), "call 2: carol hangs up, alice's leg closes")
    cap.stop()
    msgs = sip_msgs(cap, pbx_ip)
    inv_c = first(msgs, lambda m: m.src == pbx_ip and m.text.startswith("INVITE")
                  and m.dst == net.ip(3))
    ok_c = first(msgs, lambda m: m.dst == pbx_ip and m.src == net.ip(3)
                 and m.text.startswith("SIP/2.0 200") and "m=audio" in m.text)
    ok_a = first(msgs, lambda m: m.src == pbx_ip and m.dst == net.ip(1)
                 and m.text.startswith("SIP/2.0 200") and "m=audio" in m.text)
    t.like(inv_c.text if inv_c else "", r"(?m)^m=video [1-9]\d* RTP/AVP 96",
           "call 2: carol is offered alice's video")
    t.like(ok_c.text if ok_c else "", r"(?m)^m=video 0 ",
           "call 2: carol refuses it (port 0)")
    t.like(ok_a.text if ok_a else "", r"(?m)^m=video 0 ",
           "call 2: alice's answer has m=video 0")
    ra, rc = alice.wait_recording(2, timeout=15), carol.wait_recording(1, timeout=15)
    check_tones(t, alice, carol, ra, rc, "call 2")
    got = stats_lines(pbx.log_since(mark), "203")
    t.ok(("caller", "audio") in got and ("caller", "video") not in got
         and ("callee", "video") not in got, "call 2: no video stream on either leg",
         diag=lambda: repr(got))

    # -- 3. carol -> bob: no video offered --
    cap = Capture([pbx_ip], name="capture3")
    fresh_names()          # baresip names recordings by the second
    carol.dial("sip:202@%s" % pbx.sip)
    ec = carol.wait_event("CALL_ESTABLISHED", 10)
    eb = bob.wait_event("CALL_ESTABLISHED", 5)
    t.ok(ec and eb, "call 3: carol (no video) -> bob (video) established")
    if ec and eb:
        time.sleep(3)
    carol.hangup()
    t.ok(bob.wait_event("CALL_CLOSED", 10), "call 3: bob's leg closes")
    cap.stop()
    msgs = sip_msgs(cap, pbx_ip)
    inv_b = first(msgs, lambda m: m.src == pbx_ip and m.text.startswith("INVITE")
                  and m.dst == net.ip(2))
    t.ok(inv_b and "m=audio" in inv_b.text and "m=video" not in inv_b.text,
         "call 3: bob is offered audio only")
    rc, rb = carol.wait_recording(2, timeout=15), bob.wait_recording(2, timeout=15)
    check_tones(t, carol, bob, rc, rb, "call 3")

    # -- 4. alice -> 300: the PBX answers and shows nothing --
    cap = Capture([pbx_ip], name="capture4")
    alice.dial("sip:300@%s" % pbx.sip)
    t.ok(alice.wait_event("CALL_ESTABLISHED", 10), "call 4: alice -> 300, answered by the PBX")
    t.ok(alice.wait_event("CALL_CLOSED", 10), "call 4: the PBX hangs up")
    cap.stop()
    ok_a = first(sip_msgs(cap, pbx_ip), lambda m: m.src == pbx_ip and m.dst == net.ip(1)
                 and m.text.startswith("SIP/2.0 200") and "m=audio" in m.text)
    t.ok(ok_a and re.search(r"(?m)^m=audio [1-9]", ok_a.text)
         and re.search(r"(?m)^m=video 0 ", ok_a.text),
         "call 4: the PBX's own answer has audio and m=video 0",
         diag=lambda: ok_a and ok_a.text)

    for ph in (alice, bob, carol):
        ph.stop()
    pbx.finish(t)
