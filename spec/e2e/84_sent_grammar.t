#!/usr/bin/env python3
# Every SIP message the PBX sends is well-formed (issue 19: at start the PBX
# sent itself an OPTIONS with two Max-Forwards, and refused it with 400).
# A --sip-trace run drives many scenarios (registrations, the error
# catalog's requests and calls, a bridged call put on hold and back, a call
# the PBX hangs up, a trunk registration, a peer that challenges the PBX,
# qualify OPTIONS, malformed datagrams answered from their own lines, the
# shutdown's un-REGISTER), then every message of the trace the PBX sent is
# checked against the grammar (lunatest/sipgrammar.py: start line, header
# names, single-valued headers once, the mandatory ones, CSeq, Via and its
# branch, From/To/Contact, tags, lists, Content-Length against the bytes
# that went out, SDP).
import os
import re
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.catalog import CALLER, Lab, config, entries  # noqa: E402
from lunatest.sipgrammar import check_message  # noqa: E402
from lunatest.siptrace import parse_trace  # noqa: E402

net = Net(84)         # 127.S.84.10-19
REGISTRAR, GW = "%s:5060" % net.ip(6), "%s:5060" % net.ip(8)
EXTRA = """\
pbx.register "trunkuser:pw@%(reg)s" { name = "up", timeout = 2 }
pbx.peer "gw" { host = "%(gwip)s", port = 5060, defaultuser = "1040", secret = "vitrygtr" }
""" % {"reg": REGISTRAR, "gwip": net.ip(8)}
EXTENS = """\
  ["700"] = function(call) call:answer() call:silence(1) call:hangup() end,
  ["701"] = function(call) call:ringing() call:progress() call:silence(0.5) call:hangup(486) end,
  ["_00X."] = function(call, exten) call:dial { trunk = "gw", number = exten:sub(3), timeout = 10 } end,
"""


def as_sent(block):
    """The trace's message with its CRLF line ends back."""
    lines = block.text.rstrip("\n").split("\n")
    if "" in lines:
        i = lines.index("")
        return "\r\n".join(lines[:i]) + "\r\n\r\n" + "\r\n".join(lines[i + 1:]) + "\r\n"
    return "\r\n".join(lines) + "\r\n\r\n"


def kind(msg):
    return msg.method if not msg.is_response else "%d %s" % (msg.code, msg.method or "")


with Tap(timeout=150) as t:
    t.require_pbx()

    # the checker itself refuses what it must
    bad = ("OPTIONS sip:lunapbx@127.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060"
           ";branch=z9hG4bKx\r\nMax-Forwards: 70\r\nTo: <sip:a@b>\r\nFrom: <sip:a@b>;tag=1\r\n"
           "Call-ID: x\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 1\r\nContent-Length: 0\r\n\r\n")
    t.ok(check_message(bad), "the checker refuses two Max-Forwards (the OPTIONS of issue 19)")
    t.ok(check_message(bad.replace("Max-Forwards: 1\r\n", "").replace("CSeq: 1 OPTIONS",
                                                                     "CSeq: 1 INVITE")),
         "... and a CSeq method that is not the request's")
    t.ok(check_message(bad.replace("Max-Forwards: 1\r\n", "").replace(";tag=1", "")),
         "... and a request without From tag")
    t.is_(check_message(bad.replace("Max-Forwards: 1\r\n", "")), [],
          "... and takes the same OPTIONS with one Max-Forwards")

    cfg = config(net, trunk_host=net.ip(7)).replace(
        'pbx.context "internal" {', EXTRA + 'pbx.context "internal" {\n' + EXTENS, 1)
    registrar = Sipp("registrar.xml", local=REGISTRAR, m=1000, timeout=80, name="registrar",
                     template={"code": 200, "reason": "OK",
                               "contact": "Contact: <[$curi]>;expires=60"}).start()
    pbx = Pbx(cfg, listen="%s:5070" % net.ip(0), args=["--sip-trace"])
    lab = Lab(net, pbx)
    lab.setup()
    t.ok(pbx.wait_log(r"OPTIONS sip:lunapbx@.*\n(?:.*\n)*?SIP/2\.0 200 OK", 3),
         "the OPTIONS the PBX sends itself at start is answered 200 (it was 400)")

    for e in entries("register") + entries("request") + entries("call"):
        if not e.background and e.key != "trunk-down":
            e.run(lab)
    # a bridged call put on hold and back, a call the PBX hangs up
    uas = lab.callee("hold_uas.xml", "hold-callee")
    lab.caller("hold_uac.xml", "900", "hold", pause_ms=300, timeout=20).run()
    uas.wait(timeout=10)
    lab.caller("uac_wait_bye.xml", "700", "pbx-bye", bye_within_ms=5000).run()
    lab.caller("uac_reject.xml", "701", "early-486", code=486).run()
    gw = Sipp("uas_auth.xml", local=GW, keys={"pt": 0, "codec": "PCMU"}, timeout=15,
              name="gw", template={"code": 407, "reason": "Proxy Authentication Required",
                                   "hdr": "Proxy-Authenticate"}).start()
    lab.caller("uac_bye.xml", "00123", "trunk-gw", hold_ms=300).run()
    gw.wait(10)
    t.ok(pbx.alive(), "the PBX went through every scenario alive")
    rc, killed, _ = pbx.stop(grace=10)   # the shutdown's un-REGISTER is traced too
    t.ok(rc == 0 and not killed, "... and stops cleanly on SIGTERM (rc %s)" % rc)
    if pbx.sanitized():
        t.ok(not re.search(r"ERROR: (Address|Leak)Sanitizer", pbx.log_text()),
             "no memory error or leak found by the sanitizers")
    registrar.stop()

    sent = [b for b in parse_trace(pbx.log_text()) if b.dir == "send"]
    kinds = {}
    for b in sent:
        kinds.setdefault(kind(b.msg), []).append(b)
    t.note("%d messages sent by the PBX: %s" % (
        len(sent), ", ".join("%s x%d" % (k, len(v)) for k, v in sorted(kinds.items()))))
    methods = set(b.msg.method for b in sent if not b.msg.is_response)
    want = {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER"}
    t.ok(want <= methods, "the run made the PBX send every kind of request: %s"
         % ", ".join(sorted(methods)), diag=lambda: "missing: %s" % (want - methods))
    codes = set(b.msg.code for b in sent if b.msg.is_response)
    t.ok({100, 180, 183, 200, 400, 401, 403, 404, 407, 420, 423, 481, 486, 488, 500, 505}
         <= codes, "... and a wide range of responses (%d codes)" % len(codes),
         diag=lambda: sorted(codes))
    for k in sorted(kinds):
        bad = []
        for b in kinds[k]:
            p = check_message(as_sent(b), size=b.size)
            if p:
                bad.append((b, p))
        t.ok(not bad, "every %s the PBX sent is well-formed (%d)" % (k, len(kinds[k])),
             diag=lambda: "\n".join("%s\n  %s\n%s" % (b.head, "; ".join(p), b.text)
                                    for b, p in bad[:3]))
