#!/usr/bin/env python3
# Late offer (RFC 3261 13.2.1): an INVITE without SDP.  The PBX offers in its
# 200 and takes the caller's answer from the ACK.  Bridged to a callee that
# speaks PCMU while the caller answers PCMA, audio must cross both ways
# (transcoded): Python RTP peers stand behind the sipp phones' SDP and
# send/receive tones.  Once carol's media flows, RTP from anyone else to her
# leg's port is dropped (Asterisk's strictrtp), and each phone gets its RTP
# from the port the PBX's SDP gave it.  All of it twice: with the legs steered
# to one shared socket and sent through a raw one (rtp_path "steered", where
# the PBX may use BPF and raw sockets, as root), and with each leg's socket
# read on its own (LUNAPBX_RTPSTEER=0, rtp_path "ring").  Also a late offer
# answered by the PBX itself.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.rtp import RtpPeer  # noqa: E402

net = Net(36)           # 127.S.36.10-19
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>' }
pbx.endpoint "carol" { secret = "carolpw", context = "internal", callerid = '"Carol" <203>' }
pbx.context "internal" {
  ["201"] = function(call) call:dial("alice", { timeout = 10 }) end,
  ["_3XX"] = function(call) call:answer() pbx.sleep(1.5) call:hangup() end,
}
""" % net.pbx_rtp
A_HZ, C_HZ = 1100, 700      # alice sends 1100 Hz, carol 700 Hz
STRANGER_SSRC = 0x57524F4E
CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN, CAP_BPF = 12, 13, 21, 39


def may_steer():
    """Whether this process (and so the PBX it starts) may load a BPF
    sk_lookup program and open a raw socket."""
    with open("/proc/self/status") as f:
        caps = int(re.search(r"^CapEff:\s*(\w+)", f.read(), re.M).group(1), 16)
    has = lambda c: caps >> c & 1  # noqa: E731
    return has(CAP_NET_ADMIN) and has(CAP_NET_RAW) and (has(CAP_BPF) or has(CAP_SYS_ADMIN))


def rtp_path(pbx):
    """pbx.stats()'s rtp_path and steered_legs, through the console."""
    r = console_exec(pbx, 'local s = pbx.stats() print(s.rtp_path, s.steered_legs)')
    return tuple(r.out.split()[:2]) if r.ok else ("console failed: %s" % r.diag(),)


def sdp_media(msg):
    """(ip, port) of the first m=audio of a message's SDP."""
    c = re.search(r"^c=IN IP4 (\S+)", msg.body, re.M)
    m = re.search(r"^m=audio (\d+)", msg.body, re.M)
    return (c.group(1), int(m.group(1))) if c and m else None


def first_of(sipp, pred, timeout):
    return wait_until(lambda: next((m for m in sipp.messages() if pred(m)), None), timeout)


def bridged_late_offer(t, mode, steer_env):
    """carol (offerless) calls alice, bridged, tones both ways, a stranger;
    rtp_path must read mode.  Returns the PBX, still running."""
    env_before = os.environ.get("LUNAPBX_RTPSTEER")
    if steer_env is not None:
        os.environ["LUNAPBX_RTPSTEER"] = steer_env
    try:
        pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0), name="pbx-" + mode)
    finally:
        os.environ.pop("LUNAPBX_RTPSTEER", None)
        if env_before is not None:
            os.environ["LUNAPBX_RTPSTEER"] = env_before
    t.diag("RTP path expected: %s" % mode)
    carol, alice = "%s:5060" % net.ip(1), "%s:5062" % net.ip(2)
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=alice, remote=pbx.sip, keys={"user": "alice"}, auth=("alice", "alicepw"),
             timeout=10, name="register-alice-" + mode).run()
    t.sipp_ok(r, "sipp registers as alice")

    # alice's UAS declares a Python RTP peer's port in its SDP (PCMU)
    peer_a = RtpPeer(net.ip(2), net.media_port(5))
    peer_c = RtpPeer(net.ip(1), net.media_port(6))
    with open(os.path.join(SIPP_DIR, "uas_answer.xml")) as f:
        uas_text = f.read().replace("m=audio [media_port]", "m=audio %d" % peer_a.port)
    uas_path = os.path.join(workdir("scenarios-36-" + mode), "uas_answer_peer.xml")
    with open(uas_path, "w") as f:
        f.write(uas_text)
    uas = Sipp(uas_path, local=alice, media="%s:%d" % (net.ip(2), net.media_port(1)),
               keys={"pt": 0, "codec": "PCMU"}, timeout=20, name="uas-alice-" + mode).start()

    # carol: INVITE without SDP; answers PCMA in the ACK
    uac = Sipp("uac_late_offer.xml", local=carol, media="%s:%d" % (net.ip(1), net.media_port(0)),
               remote=pbx.sip, service="201", keys={"user": "carol"}, auth=("carol", "carolpw"),
               timeout=20, name="uac-late-" + mode, template={
                   "answer_ip": net.ip(1), "hold_ms": 5000,
                   "answer": "m=audio %d RTP/AVP 8\na=rtpmap:8 PCMA/8000" % peer_c.port}).start()

    ok200 = first_of(uac, lambda m: m.dir == "recv" and m.code == 200 and m.method == "INVITE", 8)
    inv_a = first_of(uas, lambda m: m.dir == "recv" and m.method == "INVITE" and not m.is_response, 8)
    t.ok(ok200 is not None, "carol's offerless INVITE is answered 200")
    offer = ok200.sdp_payloads() if ok200 else []
    t.ok("0" in offer and "8" in offer, "... the 200 carries the PBX's offer, PCMU and PCMA (m= %s)"
         % offer, diag=lambda: ok200 and ok200.text)
    t.ok(inv_a is not None and inv_a.sdp_payloads(), "alice's leg gets an INVITE with an offer")

    pbx_c = pbx_a = None
    path = ()
    if ok200 and inv_a:
        time.sleep(0.3)          # the ACK with carol's answer
        pbx_c, pbx_a = sdp_media(ok200), sdp_media(inv_a)
        import threading
        th = threading.Thread(target=peer_a.send_tone, args=(pbx_a, A_HZ, 2.0, 0))
        th.start()
        peer_c.send_tone(pbx_c, C_HZ, 2.0, 8)
        th.join()
        path = rtp_path(pbx)
        stranger = RtpPeer(net.ip(3), net.media_port(8))
        stranger.send_tone(pbx_c, 1900, 0.5, 8, ssrc=STRANGER_SSRC)
        stranger.close()
        time.sleep(0.3)
    ra, rc = uas.wait(timeout=15), uac.wait(timeout=15)
    t.sipp_ok(rc, "carol's call: 200 with offer, ACK with answer, BYE -> 200", extra=ra.diag)
    t.sipp_ok(ra, "alice's leg ends with the BYE", extra=rc.diag)
    t.ok(pbx.wait_log(r"the caller answered PCMA", 2), "the PBX took PCMA from carol's ACK",
         diag=lambda: pbx.log_tail(20))

    t.is_(path, (mode, "2" if mode == "steered" else "0"),
          "while media flows, pbx.stats() says rtp_path %s (and how many legs are steered)"
          % mode)
    t.is_(rtp_path(pbx), (mode, "0"), "... after the call, no leg is steered")
    t.is_(peer_a.payload_types(), [0], "alice's peer got PCMU from the PBX")
    t.is_(len([p for p in peer_a.packets if p[4] == STRANGER_SSRC]), 0,
          "RTP sent to carol's leg from another address is not relayed to alice")
    t.is_(peer_c.payload_types(), [8], "carol's peer got PCMA from the PBX (her answer's codec)")
    for peer, leg, who in ((peer_a, pbx_a, "alice"), (peer_c, pbx_c, "carol")):
        srcs = sorted({p[6] for p in peer.packets})
        t.is_(srcs, [leg] if leg else [], "%s's RTP all came from the port the PBX's SDP gave her"
              % who)
    d = workdir("audio-36-" + mode)
    for peer, pt, hz, who in ((peer_a, 0, C_HZ, "alice"), (peer_c, 8, A_HZ, "carol")):
        if peer.pcm(pt):
            path = peer.write_wav(os.path.join(d, who + ".wav"), pt)
            f, ratio, _ = dominant_tone(path, [A_HZ, C_HZ])
            t.is_(f, hz, "%s hears the other side's %d Hz tone (ratio %.0f)" % (who, hz, ratio))
            t.ok(tone_duration(path, hz) >= 1.5, "... for %.1f s of 2 s" % tone_duration(path, hz))
        else:
            t.ok(False, "%s hears the other side's %d Hz tone (no audio)" % (who, hz))
            t.ok(False, "... duration")
    peer_a.close()
    peer_c.close()
    return pbx


with Tap(timeout=120) as t:
    t.require_pbx()
    steered = may_steer()
    if not steered:
        t.diag("this process may not use BPF and raw sockets: the steered path is not tested")
    off = bridged_late_offer(t, "ring", "0")
    off.finish(t)
    pbx = bridged_late_offer(t, "steered" if steered else "ring", None)
    carol = "%s:5060" % net.ip(1)

    # -- a late offer answered by the PBX itself ------------------------------
    r = Sipp("uac_late_offer.xml", local=carol, media="%s:%d" % (net.ip(1), net.media_port(0)),
             remote=pbx.sip, service="301", keys={"user": "carol"}, auth=("carol", "carolpw"),
             timeout=15, name="uac-late-pbx", template={
                 "answer_ip": net.ip(1), "hold_ms": 500,
                 "answer": "m=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000" % net.media_port(7)}).run()
    t.sipp_ok(r, "an offerless INVITE answered by the dialplan: 200 with offer, ACK, BYE")

    pbx.finish(t)
