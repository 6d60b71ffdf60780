#!/usr/bin/env python3
# B2BUA with sipp on both sides: sipp UASes register as alice and bob, a sipp
# UAC (carol) calls 201/202 through the dialplan's call:dial.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(30)         # 127.S.30.10-19
CONFIG = basic_config(net)

with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started (%s)" % pbx.sip)
    carol = "%s:5060" % net.ip(1)
    carol_media = "%s:%d" % (net.ip(1), net.media_port(0))
    phones = {"alice": ("%s:5062" % net.ip(2), "%s:%d" % (net.ip(2), net.media_port(1)), "alicepw"),
              "bob": ("%s:5062" % net.ip(3), "%s:%d" % (net.ip(3), net.media_port(2)), "bobpw")}

    # -- the callees register from the address their UAS will listen on ------
    for who, (addr, _, pw) in sorted(phones.items()):
        r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
                 local=addr, remote=pbx.sip, keys={"user": who}, auth=(who, pw),
                 timeout=10, name="register-" + who).run()
        t.sipp_ok(r, "sipp registers as %s (Contact %s)" % (who, addr))

    def callee(scenario, who, label, pt=0, codec="PCMU", keys=None, template=None, timeout=20):
        addr, media, _ = phones[who]
        k = {"pt": pt, "codec": codec}
        k.update(keys or {})
        return Sipp(scenario, local=addr, media=media, keys=k, template=template,
                    timeout=timeout, name="uas-" + label).start()

    def caller(scenario, exten, label, media_sdp=SDP["pcmu_pcma"], timeout=20, **tmpl):
        tmpl.setdefault("media", media_sdp)
        return Sipp(scenario, template=tmpl, local=carol, media=carol_media, remote=pbx.sip,
                    service=exten, keys={"user": "carol"}, auth=("carol", "carolpw"),
                    timeout=timeout, name="uac-" + label).run()

    def both(a, b):
        return lambda: a.diag() + "\n" + b.diag()

    # -- no credentials: 407, and alice's phone never rings -----------------
    uas = callee("uas_answer.xml", "alice", "caller-bye")
    r = caller("uac_noauth.xml", "201", "noauth", quiet_ms=1000)
    t.sipp_ok(r, "INVITE to 201 without credentials -> 407 only")
    t.is_([m.start for m in uas.messages()], [],
          "... and nothing reaches alice (the call is not routed)")

    # -- answered; caller hangs up -------------------------------------------
    # (same UAS as above, still waiting for its INVITE)
    r = caller("uac_bye.xml", "201", "caller-bye", hold_ms=1000)
    ru = uas.wait(timeout=10)
    t.sipp_ok(r, "carol calls 201: alice answers, carol hangs up (BYE -> 200)", extra=ru.diag)
    t.sipp_ok(ru, "... alice's leg gets INVITE, ACK and the BYE (both legs ended)", extra=r.diag)
    inv = ru.first("INVITE")
    t.ok(inv is not None and inv.sdp_payloads(), "... alice's INVITE carries an SDP offer",
         diag=lambda: inv and inv.text)
    frm = inv.header("from") if inv else ""
    t.ok(re.search(r"203|Carol", frm or ""), "... and presents carol's callerid in From (%s)" % frm)

    # -- answered; callee hangs up -------------------------------------------
    uas = callee("uas_answer_bye.xml", "alice", "callee-bye", template={"hold_ms": 800})
    r = caller("uac_wait_bye.xml", "201", "callee-bye", bye_within_ms=5000)
    ru = uas.wait(timeout=10)
    t.sipp_ok(ru, "alice answers and hangs up (BYE -> 200)", extra=r.diag)
    t.sipp_ok(r, "... carol's leg gets the BYE (both legs ended)", extra=ru.diag)

    # -- CANCEL while ringing ---------------------------------------------------
    uas = callee("uas_cancel.xml", "alice", "cancel")
    r = caller("uac_cancel.xml", "201", "cancel", ring_ms=500)
    ru = uas.wait(timeout=10)
    t.sipp_ok(r, "carol CANCELs while alice rings -> 200 (CANCEL) and 487 (INVITE)", extra=ru.diag)
    t.sipp_ok(ru, "... alice gets the CANCEL (answers 200/487, gets the ACK)", extra=r.diag)

    # -- busy -----------------------------------------------------------------
    uas = callee("uas_reject.xml", "alice", "busy", template={"code": 486, "reason": "Busy Here"})
    r = caller("uac_reject.xml", "201", "busy", code=486)
    ru = uas.wait(timeout=10)
    t.sipp_ok(r, "alice answers 486 -> carol gets 486", extra=ru.diag)
    t.sipp_ok(ru, "... and alice's 486 is ACKed", extra=r.diag)

    # -- no answer: bob rings, dial timeout 5 s -------------------------------
    mark = pbx.log_mark()
    uas = callee("uas_cancel.xml", "bob", "noanswer", pt=8, codec="PCMA")
    t0 = time.time()
    r = caller("uac_reject.xml", "202", "noanswer", code=480)
    ru = uas.wait(timeout=10)
    t.sipp_ok(r, "bob never answers: after the dial timeout carol gets 480", extra=ru.diag)
    inv = r.sent("INVITE")
    fin = r.first(480)
    took = fin.ts - inv[-1].ts if fin and inv else None
    t.ok(took is not None and 4.0 <= took <= 8.0,
         "... about 5 s after the INVITE (timeout = 5): %s s" % (took and round(took, 1)))
    t.sipp_ok(ru, "... and bob's ringing leg is CANCELled", extra=r.diag)
    t.ok(pbx.wait_log(r"dial status NOANSWER", 3, since=mark),
         "call:dial returned NOANSWER (logged by the dialplan)",
         diag=lambda: tail(pbx.log_since(mark), 15))

    # -- codecs: carol offers only PCMU, bob allows only PCMA -----------------
    uas = callee("uas_answer.xml", "bob", "transcode", pt=8, codec="PCMA")
    r = caller("uac_bye.xml", "202", "transcode", media_sdp=SDP["pcmu"], hold_ms=1000)
    ru = uas.wait(timeout=10)
    t.sipp_ok(r, "carol (PCMU only) calls 202: bob (PCMA only) answers, carol hangs up",
              extra=ru.diag)
    t.sipp_ok(ru, "... bob's leg ends with the BYE", extra=r.diag)
    binv, cok = ru.first("INVITE"), r.first(200)
    bp = binv.sdp_payloads() if binv else []
    cp = cok.sdp_payloads() if cok else []
    t.ok("8" in bp and "0" not in bp, "the offer to bob has PCMA and not PCMU (m= %s)" % bp,
         diag=lambda: binv and binv.body)
    t.ok(cp[:1] == ["0"] and "8" not in cp, "the answer to carol is PCMU (m= %s)" % cp,
         diag=lambda: cok and cok.body)

    # -- no common codec at all: 488, alice never rings ------------------------
    uas = callee("uas_answer.xml", "alice", "g722")
    r = caller("uac_reject.xml", "201", "g722", media_sdp=SDP["g722"], code=488)
    t.sipp_ok(r, "carol offers only G722 -> 488")
    time.sleep(0.5)
    t.is_([m.start for m in uas.messages()], [], "... and nothing reaches alice")
    uas.stop()

    pbx.finish(t)
