#!/usr/bin/env python3
# pcap capture of a real call: two baresip phones call through the PBX while
# it writes <state>/captures/*.pcap; tshark then finds the INVITE, its 200,
# the ACK, the BYE on both legs, SIP over TCP, and the RTP of each leg both
# ways (found by Wireshark from the SDP alone), whose G.711 payload carries
# each phone's own tone.  The capture is started by --capture, switched by
# a dialplan (pbx.capture, rtp = false), limited to one chosen call
# (call:capture), stopped, and a name that would leave the folder refused.
import os
import sys
import time
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.pcapread import dominant_freq, rtcp_packets, rtp_streams, sip_messages  # noqa: E402

net = Net(81)         # 127.S.81.10-19
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal", allow = { "PCMA" } }
pbx.context "internal" {
  ["202"] = function(call) call:dial("bob", { timeout = 10 }) end,
  ["203"] = function(call) call:capture(true) call:dial("bob", { timeout = 10 }) end,
  ["91"] = function(call)
    local path, rtp = pbx.capture { file = "calls.pcap", rtp = false }
    pbx.log("info", "capture now %%s rtp=%%s", path, tostring(rtp))
    call:hangup(480)
  end,
  ["92"] = function(call)
    pbx.capture(false)
    pbx.log("info", "capture state %%s", tostring(pbx.capture()))
    call:hangup(480)
  end,
  ["93"] = function(call)
    local ok, err = pcall(pbx.capture, { file = "../escape.pcap" })
    pbx.log("info", "escape: %%s %%s", tostring(ok), err)
    call:hangup(480)
  end,
}
""" % net.pbx_rtp
A_HZ, B_HZ = 700, 1100


def talk(t, alice, bob, exten, seconds, what):
    """alice calls exten (bob answers), both send their tone, alice hangs up."""
    alice.dial("sip:%s@%s" % (exten, pbx.sip))
    ea = alice.wait_event("CALL_ESTABLISHED", 10)
    eb = bob.wait_event("CALL_ESTABLISHED", 5)
    t.ok(ea and eb, "%s: alice calls %s, bob answers" % (what, exten),
         diag=lambda: "alice %s / bob %s" % (alice.event_types(), bob.event_types()))
    if ea and eb:
        time.sleep(seconds)
    t0 = time.time()
    alice.hangup()
    bob.wait_event("CALL_CLOSED", 10)
    alice.wait_event("CALL_CLOSED", 5)
    return t0


def feature(t, alice, exten, what):
    alice.dial("sip:%s@%s" % (exten, pbx.sip))
    c = alice.wait_event("CALL_CLOSED", 10)
    t.ok(c, "%s (%s -> %s)" % (what, exten, c and c.get("param")))


def legs_of(msgs, method_or_status):
    return [(m[2], m[3]) for m in msgs if m[4].startswith(method_or_status)]


with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0), args=["--capture", "boot.pcap"])
    cap_dir = os.path.join(pbx.state_dir, "captures")
    boot = os.path.join(cap_dir, "boot.pcap")
    t.ok(pbx.alive() and os.path.isfile(boot), "lunapbx started with --capture boot.pcap: %s"
         " exists" % os.path.relpath(boot, pbx.dir))
    a_ip, b_ip = net.ip(1), net.ip(2)
    alice = Phone("alice", a_ip, registrar=pbx.sip, password="alicepw",
                  rtp_ports=net.phone_rtp(0), tone_hz=A_HZ, limit=110)
    bob = Phone("bob", b_ip, registrar=pbx.sip, password="bobpw",
                rtp_ports=net.phone_rtp(1), tone_hz=B_HZ, limit=110)
    t.ok(alice.registered(10) and bob.registered(10), "alice and bob (baresip) register")
    r = Sipp("options.xml", local="%s:5062" % net.ip(3), remote=pbx.sip, transport="t1",
             timeout=10, name="options-tcp").run()
    t.sipp_ok(r, "an OPTIONS over TCP")

    talk(t, alice, bob, "202", 6, "call 1")
    fresh_names()          # baresip names recordings by the second

    # -- the dialplan switches to calls.pcap, SIP only; call 3 asks for its RTP
    mark = pbx.log_mark()
    feature(t, alice, "91", "a dialplan runs pbx.capture{ file = 'calls.pcap', rtp = false }")
    calls = os.path.join(cap_dir, "calls.pcap")
    t.ok(pbx.wait_log(r"capture now %s rtp=false" % calls, 3, since=mark),
         "... it returns the file's path and rtp=false", diag=lambda: pbx.log_since(mark))
    t.like(pbx.log_since(mark), r"capture: %s closed \(\d+ packets\)" % boot,
           "boot.pcap is closed, with its packet count in the log")
    t2 = talk(t, alice, bob, "202", 3, "call 2 (not chosen)")
    fresh_names()          # baresip names recordings by the second
    t3 = time.time()
    talk(t, alice, bob, "203", 4, "call 3 (call:capture(true))")
    mark = pbx.log_mark()
    feature(t, alice, "92", "a dialplan runs pbx.capture(false)")
    t.ok(pbx.wait_log(r"capture state nil", 3, since=mark), "... pbx.capture() is then nil")
    size_after_stop = os.path.getsize(calls)
    mark = pbx.log_mark()
    feature(t, alice, "93", "a dialplan asks for the file ../escape.pcap")
    t.ok(pbx.wait_log(r"escape: false .*not a plain file name", 3, since=mark),
         "... pbx.capture raises: not a plain file name", diag=lambda: pbx.log_since(mark))
    t.ok(not os.path.exists(os.path.join(pbx.state_dir, "escape.pcap")) and
         sorted(os.listdir(cap_dir)) == ["boot.pcap", "calls.pcap"],
         "no file outside <state>/captures, none but the two captures (%s)" % os.listdir(cap_dir))
    t.is_(os.path.getsize(calls), size_after_stop, "nothing written after the stop")

    # -- boot.pcap: SIP of every leg, RTP of every call ------------------------
    msgs = sip_messages(boot)
    starts = [m[4] for m in msgs]
    t.ok(any(s.startswith("REGISTER") for s in starts) and
         any(s.startswith("SIP/2.0 401") for s in starts),
         "tshark reads boot.pcap: REGISTER and its 401 challenge", diag=lambda: starts)
    tcp = [m for m in msgs if m[1] == "TCP"]
    t.ok([m[4] for m in tcp if m[4].startswith("OPTIONS")] and
         [m[4] for m in tcp if m[4].startswith("SIP/2.0 200")],
         "... the OPTIONS over TCP and its 200, dissected as SIP over TCP",
         diag=lambda: [m[4] for m in tcp])
    pbx_a = lambda src, dst: src.startswith(pbx.ip + ":") and dst.startswith(a_ip + ":")
    a_pbx = lambda src, dst: src.startswith(a_ip + ":") and dst.startswith(pbx.ip + ":")
    pbx_b = lambda src, dst: src.startswith(pbx.ip + ":") and dst.startswith(b_ip + ":")
    b_pbx = lambda src, dst: src.startswith(b_ip + ":") and dst.startswith(pbx.ip + ":")
    for name, fw, bw in (("alice's leg", a_pbx, pbx_a), ("bob's leg", pbx_b, b_pbx)):
        inv = [l for l in legs_of(msgs, "INVITE") if fw(*l)]
        ok200 = [m for m in msgs if m[4].startswith("SIP/2.0 200") and bw(m[2], m[3])]
        ack = [l for l in legs_of(msgs, "ACK") if fw(*l)]
        bye = [l for l in legs_of(msgs, "BYE") if fw(*l) or bw(*l)]
        t.ok(inv and ok200 and ack and bye,
             "boot.pcap, %s: INVITE, its 200, the ACK and a BYE" % name,
             diag=lambda: [(m[2], m[3], m[4]) for m in msgs])

    # baresip's RTP sockets bind 0.0.0.0: its packets leave from 127.0.0.1,
    # whatever its SDP says; its own port range tells which phone it is
    def phone(k):
        lo, hi = net.phone_rtp(k)
        return lambda addr: lo <= int(addr.rsplit(":", 1)[1]) <= hi
    is_a, is_b, is_pbx = phone(0), phone(1), lambda addr: addr.startswith(pbx.ip + ":")
    a_pbx = lambda src, dst: is_a(src) and is_pbx(dst)
    pbx_a = lambda src, dst: is_pbx(src) and is_a(dst)
    b_pbx = lambda src, dst: is_b(src) and is_pbx(dst)
    pbx_b = lambda src, dst: is_pbx(src) and is_b(dst)

    streams = rtp_streams(boot)
    def stream(pred):
        return [(k, v) for k, v in streams.items() if pred(*k)]
    t.ok(len(streams) >= 4, "tshark finds RTP from the SDP alone (no decode-as): %d streams"
         % len(streams), diag=lambda: list(streams))
    t.note("streams: %s" % {k: v["packets"] for k, v in streams.items()})
    for name, pred, hz, pts in (("alice -> PBX", a_pbx, A_HZ, {0, 8}),
                                ("PBX -> bob", pbx_b, A_HZ, {8}),
                                ("bob -> PBX", b_pbx, B_HZ, {8}),
                                ("PBX -> alice", pbx_a, B_HZ, {0, 8})):
        s = stream(pred)
        n = sum(v["packets"] for _, v in s)
        t.ok(n >= 150, "boot.pcap: RTP %s: %d packets (call of 6 s)" % (name, n))
        got = max((v for _, v in s), key=lambda v: v["packets"],
                  default={"pt": set(), "pcm": []})
        t.ok(got["pt"] and got["pt"] <= pts, "... payload type %s" % sorted(got["pt"], key=str))
        f, share = dominant_freq(got["pcm"], [A_HZ, B_HZ])
        t.is_(f, hz, "... its G.711 payload carries the %d Hz tone (%.0f %% of the power)"
              % (hz, 100 * share))
    rtcp = rtcp_packets(boot)
    t.ok([p for p in rtcp if a_pbx(p[0], p[1])] and [p for p in rtcp if pbx_b(p[0], p[1])],
         "RTCP too: alice's reports to the PBX, and relayed on to bob (%d RTCP packets)" % len(rtcp),
         diag=lambda: rtcp)

    # -- calls.pcap: SIP of both calls, RTP of the chosen one only --------------
    msgs = sip_messages(calls)
    invites = [m for m in msgs if m[4].startswith("INVITE") and m[2].startswith(a_ip + ":")]
    t.ok(any(" sip:202@" in m[4] for m in invites) and any(" sip:203@" in m[4] for m in invites),
         "calls.pcap has the SIP of call 2 (202) and call 3 (203)", diag=lambda: [m[4] for m in msgs])
    streams = rtp_streams(calls)
    times = [v["first"] for v in streams.values()]
    t.ok(len(streams) >= 4 and min(times) >= t3 - 0.5,
         "... but RTP only from call 3, the one that ran call:capture(true) (%d streams, first"
         " packet %.1f s after call 2 ended)" % (len(streams), min(times) - t2 if times else -1),
         diag=lambda: {k: v["first"] for k, v in streams.items()})
    s = stream(b_pbx)
    f, _ = dominant_freq(s[0][1]["pcm"] if s else [], [A_HZ, B_HZ])
    t.is_(f, B_HZ, "... and that RTP is the call's audio (bob's tone from bob)")

    for ph in (alice, bob):
        ph.stop()
    pbx.finish(t)
