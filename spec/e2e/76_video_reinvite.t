#!/usr/bin/env python3
# Video added in the middle of a call by a re-INVITE, mirrored to the other
# leg.  sipp plays one side (its video is sent and received by an RtpPeer of
# this test, on the port its SDP names); baresip phones play the other.
# 1. sam (sipp) calls bob (baresip, VP8) audio only, then re-INVITEs with
#    video: answered with video, bob is re-INVITEd with it and accepts;
#    video crosses the PBX both ways.
# 2. sam calls carol (baresip, no video) and adds video: answered at once,
#    carol refuses it, so the PBX re-offers sam the video with port 0.
# 3. alice (baresip, VP8) calls a sipp callee that answers without video
#    and later re-INVITEs with video: alice is re-INVITEd, accepts, and her
#    video reaches the callee.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.rtppeer import RtpPeer  # noqa: E402
from lunatest.sippfrag import answer_invite  # noqa: E402

net = Net(76)
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "sam"   { secret = "sampw",   context = "internal", callerid = '"Sam" <200>' }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>' }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal", callerid = '"Bob" <202>' }
pbx.endpoint "carol" { secret = "carolpw", context = "internal", callerid = '"Carol" <203>' }
pbx.endpoint "uas"   { secret = "uaspw",   context = "internal", callerid = '"Uas" <204>' }
pbx.context "internal" {
  ["202"] = function(call) call:dial("bob", { timeout = 10 }) end,
  ["203"] = function(call) call:dial("carol", { timeout = 10 }) end,
  ["204"] = function(call) call:dial("uas", { timeout = 10 }) end,
}
""" % net.pbx_rtp

AUDIO = ("m=audio [media_port] RTP/AVP 0 101\na=rtpmap:0 PCMU/8000\n"
         "a=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=sendrecv")
VIDEO_OFFSET = 10      # the video port in sipp's SDP: [media_port+10] (sipp binds +2)
VIDEO = ("m=video [media_port+%d] RTP/AVP 96\na=rtpmap:96 VP8/90000\na=sendrecv"
         % VIDEO_OFFSET)
VIDEO_OFF = "m=video 0 RTP/AVP 96"

# sam's answer to the PBX's re-offer in part 2: the video must come back
# with port 0 (check_it fails the scenario otherwise)
REOFFER = answer_invite(AUDIO + "\n" + VIDEO_OFF, version=3, headers="X-Seen: [$refused]",
                        action="""
    <action>
      <ereg regexp="m=video 0 " search_in="body" check_it="true" assign_to="refused"/>
    </action>
  """)


def video_line(msg):
    m = re.search(r"^m=video (\d+) \S+ ([\d ]+)", msg.body if msg else "", re.M)
    return (int(m.group(1)), m.group(2).split()) if m else None


def answer_to(res, cseq):
    """The 200 to our request with this CSeq, in a sipp result."""
    for m in res.received(200):
        if (m.header("cseq") or "").startswith("%d INVITE" % cseq):
            return m
    return None


def sip_from_capture(cap, pbx_ip, peer_ip, start):
    return [p for p in cap.packets() if p.text.startswith(start)
            and {p.src, p.dst} == {pbx_ip, peer_ip}]


with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started (%s)" % pbx.sip)
    pbx_ip = net.ip(0)
    cap = Capture([pbx_ip])
    sam = "%s:5060" % net.ip(1)
    sam_media = (net.ip(1), net.media_port(0))
    uas_addr = "%s:5062" % net.ip(4)
    uas_media = (net.ip(4), net.media_port(1))

    bob = Phone("bob", net.ip(2), registrar=pbx.sip, password="bobpw",
                rtp_ports=net.phone_rtp(0), video="VP8", limit=120)
    carol = Phone("carol", net.ip(3), registrar=pbx.sip, password="carolpw",
                  rtp_ports=net.phone_rtp(1), tone_hz=1100, limit=120)
    alice = Phone("alice", net.ip(5), registrar=pbx.sip, password="alicepw",
                  rtp_ports=net.phone_rtp(2), video="VP8", limit=120)
    for ph in (bob, carol, alice):
        t.ok(ph.registered(10), "%s (baresip) registers" % ph.name, diag=ph.reginfo)

    def sam_calls(exten, label, reoffer="", hold_ms=7000):
        return Sipp("video_add_uac.xml", local=sam, media="%s:%d" % sam_media,
                    remote=pbx.sip, service=exten, keys={"user": "sam"},
                    auth=("sam", "sampw"), timeout=30, name="sam-" + label,
                    template={"media": AUDIO, "media2": AUDIO + "\n" + VIDEO,
                              "pause_ms": 2000, "hold_ms": hold_ms, "reoffer": reoffer})

    # -- 1. sam -> bob, video added by sam (7 s: RTCP comes every ~5 s) -----
    peer = RtpPeer(sam_media[0], sam_media[1] + VIDEO_OFFSET)
    peer.start()
    r = sam_calls("202", "bob").run()
    peer.stop()
    t.sipp_ok(r, "1: sam calls bob (audio), re-INVITEs with video, hangs up")
    first200, re200 = answer_to(r, 2), answer_to(r, 3)
    t.is_(video_line(first200), None, "1: the first answer has no video (none offered)")
    vl = video_line(re200)
    t.ok(vl and vl[0] > 0 and vl[1] == ["96"],
         "1: the re-INVITE's answer accepts video, VP8 at 96 (%s)" % (vl,),
         diag=lambda: re200 and re200.body)
    eb = bob.wait_event("CALL_CLOSED", 5)
    t.ok(eb, "1: bob's leg is closed with sam's BYE")
    s = bob.rtp_summary()
    t.ok(s.get(("video", "tx"), {}).get("packets", 0) >= 40,
         "1: bob was re-INVITEd with video and sent %d video packets"
         % s.get(("video", "tx"), {}).get("packets", 0), diag=lambda: tail(bob.log_text(), 30))
    t.ok(peer.rx_rtp >= 40, "1: bob's video reached sam's side (%d packets)" % peer.rx_rtp)
    t.ok(s.get(("video", "rx"), {}).get("packets", 0) >= 40,
         "1: sam's side's video reached bob (%d of %d packets)"
         % (s.get(("video", "rx"), {}).get("packets", 0), peer.tx_rtp))
    t.ok(peer.rx_rtcp >= 1 and s.get(("video", "tx"), {}).get("pkt.report", 0) > 0,
         "1: video RTCP relayed both ways (sam's side got %d, bob's reports counted %d)"
         % (peer.rx_rtcp, s.get(("video", "tx"), {}).get("pkt.report", 0)))

    # -- 2. sam -> carol, video added by sam, refused by carol ----------------
    peer = RtpPeer(sam_media[0], sam_media[1] + VIDEO_OFFSET)
    peer.start()
    r = sam_calls("203", "carol", reoffer=REOFFER, hold_ms=1000).run()
    peer.stop()
    t.sipp_ok(r, "2: sam calls carol, adds video; the PBX re-offers it with port 0")
    vl = video_line(answer_to(r, 3))
    t.ok(vl and vl[0] > 0, "2: sam's re-INVITE is answered at once with video (%s)" % (vl,))
    reoffers = r.received("INVITE")
    t.ok(reoffers and video_line(reoffers[0]) and video_line(reoffers[0])[0] == 0,
         "2: then the PBX's own re-INVITE sets sam's video to port 0",
         diag=lambda: reoffers and reoffers[0].text)
    t.ok(reoffers and re.search(r"^m=audio [1-9]", reoffers[0].body, re.M),
         "2: ... keeping the audio")
    t.ok(carol.wait_event("CALL_CLOSED", 5), "2: carol's leg is closed with sam's BYE")

    # -- 3. alice -> uas; the callee adds video ------------------------------
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=uas_addr, remote=pbx.sip, keys={"user": "uas"}, auth=("uas", "uaspw"),
             timeout=10, name="register-uas").run()
    t.sipp_ok(r, "3: a sipp callee registers as uas")
    peer = RtpPeer(uas_media[0], uas_media[1] + VIDEO_OFFSET)
    peer.start()
    uas = Sipp("video_add_uas.xml", local=uas_addr, media="%s:%d" % uas_media, timeout=30,
               name="uas", template={"media": AUDIO + "\n" + VIDEO_OFF,
                                     "media2": AUDIO + "\n" + VIDEO,
                                     "pause_ms": 2000, "hold_ms": 4500}).start()
    alice.dial("sip:204@%s" % pbx.sip)
    ea = alice.wait_event("CALL_ESTABLISHED", 10)
    t.ok(ea, "3: alice -> uas established")
    ru = uas.wait(timeout=40)
    peer.stop()
    t.sipp_ok(ru, "3: the callee answers without video, re-INVITEs with video, hangs up")
    inv = ru.first("INVITE")
    vl = video_line(inv)
    t.ok(vl and vl[0] > 0, "3: the callee was offered alice's video (%s)" % (vl,))
    re200 = ru.first(200)
    vl = video_line(re200)
    t.ok(vl and vl[0] > 0 and vl[1] == ["96"],
         "3: its re-INVITE is answered with video, VP8 (%s)" % (vl,))
    t.ok(alice.wait_event("CALL_CLOSED", 5), "3: alice's leg is closed with the callee's BYE")
    cap.stop()
    a_invites = sip_from_capture(cap, pbx_ip, net.ip(5), "INVITE")
    a_200s = sip_from_capture(cap, pbx_ip, net.ip(5), "SIP/2.0 200")
    to_alice = [m for m in a_invites if m.src == pbx_ip]
    t.ok(to_alice and re.search(r"^m=video [1-9]\d* RTP/AVP 96", to_alice[-1].text, re.M),
         "3: the PBX re-INVITEs alice with the callee's video",
         diag=lambda: "\n---\n".join(m.text for m in a_invites))
    first_ok = [m for m in a_200s if m.src == pbx_ip and "m=video" in m.text]
    t.ok(first_ok and re.search(r"^m=video 0 ", first_ok[0].text, re.M),
         "3: ... after alice's first answer had m=video 0")
    s = alice.rtp_summary()
    t.ok(peer.rx_rtp >= 40, "3: alice's video reached the callee's side (%d packets)"
         % peer.rx_rtp, diag=lambda: tail(alice.log_text(), 30))
    t.ok(s.get(("video", "rx"), {}).get("packets", 0) >= 40,
         "3: the callee's side's video reached alice (%d packets)"
         % s.get(("video", "rx"), {}).get("packets", 0))

    for ph in (bob, carol, alice):
        ph.stop()
    pbx.finish(t)
