#!/usr/bin/env python3
# The SIP trace: --sip-trace at start, pbx.trace(false/true) from a dialplan
# at run time; every message in and out as a block (time, transport,
# addresses, size, then the message), over UDP and TCP; datagrams libre
# cannot parse are traced as they came, with what the PBX did about them.
import datetime
import os
import re
import sys
import time
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.siptrace import find_blocks, parse_trace  # noqa: E402
from torture import RawSip, load_torture, rewrite_top_via  # noqa: E402

net = Net(80)         # 127.S.80.10-19
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.context "internal" {
  ["70"] = function(call)
    pbx.trace(false)
    pbx.log("info", "trace is now %%s", tostring(pbx.trace()))
    call:hangup(480)
  end,
  ["71"] = function(call)
    pbx.trace(true)
    pbx.log("info", "trace is now %%s", tostring(pbx.trace()))
    call:hangup(480)
  end,
}
""" % net.pbx_rtp

INV2543 = (b"INVITE sip:100@%(pbx)s SIP/2.0\r\n"
           b"Via: SIP/2.0/UDP %(me)s\r\n"
           b"From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n"
           b"To: sip:100@%(pbx)s\r\n"
           b"Call-ID: rfc2543.%(tok)s@example.com\r\n"
           b"CSeq: 56 INVITE\r\n"
           b"Content-Length: 0\r\n\r\n")
BAD = (b"OPTIONS  sip:%(pbx)s  SIP/2.0\r\n"
       b"Via: SIP/2.0/UDP %(me)s;branch=z9hG4bK-bad-%(tok)s\r\n"
       b"From: <sip:x@example.com>;tag=1\r\n"
       b"To: <sip:%(pbx)s>\r\n"
       b"Call-ID: bad.%(tok)s\r\n"
       b"CSeq: 1 OPTIONS\r\n"
       b"Max-Forwards: 70\r\n"
       b"Content-Length: 0\r\n\r\n")


def blocks_since(pbx, mark):
    return parse_trace(pbx.log_since(mark))


with Tap(timeout=90) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0), args=["--sip-trace"])
    t.ok(pbx.alive(), "lunapbx started with --sip-trace (%s)" % pbx.sip)
    t.like(pbx.log_text(), r"info  sip trace on", "the log says the trace is on")
    cli = "%s:5060" % net.ip(1)

    # -- UDP: OPTIONS in, 200 out -------------------------------------------
    mark = pbx.log_mark()
    t0 = datetime.datetime.now()
    r = Sipp("options.xml", local=cli, remote=pbx.sip, timeout=10, name="options-udp").run()
    t.sipp_ok(r, "OPTIONS over UDP -> 200")
    sent = r.sent("OPTIONS")
    pbx.wait_log(r"--- SIP send .*\nSIP/2\.0 200", 3, since=mark)
    bl = blocks_since(pbx, mark)
    rin = find_blocks(bl, r"^OPTIONS ", "recv")
    rout = find_blocks(bl, r"^SIP/2\.0 200 OK", "send")
    t.ok(rin and rout, "a 'recv' block with the OPTIONS and a 'send' block with the 200",
         diag=lambda: pbx.log_since(mark))
    if rin and rout:
        b, o = rin[0], rout[0]
        t.is_((b.transport, b.src, b.dst), ("UDP", cli, pbx.sip),
              "recv header line: transport UDP, from sipp's address to the PBX's", diag=b.head)
        t.is_((o.transport, o.src, o.dst), ("UDP", pbx.sip, cli),
              "send header line: from the PBX back to sipp", diag=o.head)
        wire = sent[0].text.replace("\r\n", "\n").rstrip("\n") if sent else ""
        t.is_(b.text.rstrip("\n"), wire, "the block holds the message sipp sent, line for line")
        wire_len = len(wire.replace("\n", "\r\n")) + 4     # + the final empty line
        t.ok(b.size == wire_len,
             "the size in the header line is the datagram's (%d bytes)" % b.size,
             diag=b.head)
        dt = abs((b.when - t0).total_seconds())
        t.ok(dt < 10, "the time stamp is the wall clock, to the microsecond (%s, %.1f s off)"
             % (" ".join(b.head.split()[3:5]), dt))
        t.ok(b.when <= o.when, "the answer's time is not before the request's")
        t.is_(o.msg.header("call-id"), b.msg.header("call-id"), "same Call-ID in both blocks")

    # -- TCP -----------------------------------------------------------------
    mark = pbx.log_mark()
    r = Sipp("options.xml", local="%s:5062" % net.ip(1), remote=pbx.sip, transport="t1",
             timeout=10, name="options-tcp").run()
    t.sipp_ok(r, "OPTIONS over TCP -> 200")
    pbx.wait_log(r"--- SIP send .* TCP .*\nSIP/2\.0 200", 3, since=mark)
    bl = blocks_since(pbx, mark)
    t.ok(find_blocks(bl, r"^OPTIONS ", "recv") and
         all(b.transport == "TCP" for b in bl) and find_blocks(bl, r"^SIP/2\.0 200", "send"),
         "over TCP the blocks say TCP, both ways", diag=lambda: [b.head for b in bl])

    # -- switched off and on again from Lua, at run time -----------------------
    def call(exten, label):
        return Sipp("uac_reject.xml", template={"code": 480, "media": SDP["pcmu"]},
                    local=cli, media="%s:%d" % (net.ip(1), net.media_port(0)),
                    remote=pbx.sip, service=exten, keys={"user": "alice"},
                    auth=("alice", "alicepw"), timeout=10, name=label).run()

    mark = pbx.log_mark()
    r = call("70", "trace-off")
    t.sipp_ok(r, "a call to 70 runs pbx.trace(false) and is refused 480")
    t.ok(pbx.wait_log(r"trace is now false", 3, since=mark), "pbx.trace() then returns false")
    time.sleep(0.3)
    mark = pbx.log_mark()
    r = Sipp("options.xml", local=cli, remote=pbx.sip, timeout=10, name="options-off").run()
    t.sipp_ok(r, "OPTIONS while the trace is off -> 200")
    time.sleep(0.5)
    t.is_(blocks_since(pbx, mark), [], "... and nothing is traced",
          diag=lambda: pbx.log_since(mark))

    mark = pbx.log_mark()
    r = call("71", "trace-on")
    t.sipp_ok(r, "a call to 71 runs pbx.trace(true) and is refused 480")
    pbx.wait_log(r"--- SIP recv .*\nACK ", 3, since=mark)
    bl = blocks_since(pbx, mark)
    t.ok(not find_blocks(bl, r"^INVITE ") and find_blocks(bl, r"^SIP/2\.0 480", "send")
         and find_blocks(bl, r"^ACK ", "recv"),
         "from the switch on: its INVITE came before (not traced), its 480 and the ACK are",
         diag=lambda: [b.head + " " + b.start for b in bl])

    # -- what libre cannot parse, traced as it came ---------------------------
    raw = RawSip(net.ip(2), 5060, (pbx.ip, pbx.port))
    subst = {b"pbx": pbx.sip.encode(), b"me": raw.sent_by.encode(), b"tok": b"x80"}
    mark = pbx.log_mark()
    raw.send(BAD % subst)
    final, _, _ = raw.collect(["bad.x80"], 2.0)
    t.is_(final and final.code, 400, "an OPTIONS with two spaces in its Request-Line -> 400")
    pbx.wait_log(r"--- SIP send .*\nSIP/2\.0 400", 3, since=mark)
    bl = blocks_since(pbx, mark)
    bad_in = find_blocks(bl, r"^OPTIONS  sip:", "recv")
    t.ok(bad_in and bad_in[0].note == "[not parsed: answered by lunapbx]",
         "the trace shows it as it came (two spaces kept), noted [not parsed: answered by lunapbx]",
         diag=lambda: [b.head for b in bl])
    t.ok(find_blocks(bl, r"^SIP/2\.0 400 Bad Request", "send"), "... and the 400 sent back")

    mark = pbx.log_mark()
    raw.send(INV2543 % subst)
    final, _, _ = raw.collect(["rfc2543.x80@example.com"], 2.0)
    t.is_(final and final.code, 407, "an RFC 2543 INVITE (Via without branch) -> 407, handled like any")
    pbx.wait_log(r"--- SIP send .*\nSIP/2\.0 407", 3, since=mark)
    bl = blocks_since(pbx, mark)
    inv = find_blocks(bl, r"^INVITE ", "recv")
    t.ok(inv and inv[0].note and "RFC 2543, no Via branch: lunapbx adds branch=z9hG4bK.2543." in inv[0].note,
         "its trace block notes the branch the PBX adds", diag=lambda: [b.head for b in bl])
    t.ok(inv and "branch" not in (inv[0].msg.header("via") or "x"),
         "... and shows the Via as it came, without branch")
    p407 = find_blocks(bl, r"^SIP/2\.0 407", "send")
    t.like(p407[0].msg.header("via") if p407 else "", r";branch=z9hG4bK\.2543\.[0-9a-f]{16}",
           "the 407's Via carries that branch")
    raw.close()

    pbx.finish(t)
