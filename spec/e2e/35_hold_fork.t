#!/usr/bin/env python3
# Hold and resume passed through the B2BUA (an endpoint with hold =
# "passthrough": re-INVITEs relayed with the direction mirrored; the default,
# music on hold, is e2e 37), forking to two contacts of one endpoint (the first 200 wins, the
# other fork is CANCELled) and wildcard unregistration (Contact: *).
# sipp on both sides: the callees are sipp UASes registered as alice.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401


net = Net(35)           # 127.S.35.10-19

CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>' }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal", callerid = '"Bob" <202>' }
pbx.endpoint "carol" { secret = "carolpw", context = "internal", callerid = '"Carol" <203>',
                       hold = "passthrough" }
pbx.context "internal" {
  ["201"] = function(call) call:dial("alice", { timeout = 10 }) end,
}
""" % net.pbx_rtp


def sdp_dir(msg):
    """The direction attribute of the first m= section (else the session's),
    or None when the SDP has none (or there is no SDP)."""
    if msg is None or not msg.body.strip():
        return None
    body = msg.body.replace("\r\n", "\n")
    head, sep, media = body.partition("\nm=")
    rx = r"^a=(sendrecv|sendonly|recvonly|inactive)\s*$"
    if sep:
        m = re.search(rx, "m=" + media.split("\nm=")[0], re.M)
        if m:
            return m.group(1)
    m = re.search(rx, head, re.M)
    return m.group(1) if m else None


def cseq_of(msg):
    cs = (msg.header("cseq") or "").split() if msg else []
    return (int(cs[0]), cs[1].upper()) if len(cs) == 2 and cs[0].isdigit() else (None, None)


def uniq(msgs):
    """Drop retransmissions: one message per (start line, CSeq)."""
    seen, out = set(), []
    for m in msgs:
        k = (m.start, m.header("cseq"))
        if k not in seen:
            seen.add(k)
            out.append(m)
    return out


def tag_of(hdr):
    m = re.search(r";\s*tag=([^;>\s]+)", hdr or "")
    return m.group(1) if m else None


def excerpt(msg, n=25):
    return "\n".join(msg.text.replace("\r\n", "\n").splitlines()[:n]) if msg else "(none)"


with Tap(timeout=90) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started (%s)" % pbx.sip)
    carol = "%s:5060" % net.ip(1)
    carol_media = "%s:%d" % (net.ip(1), net.media_port(0))
    phone1 = ("%s:5062" % net.ip(2), "%s:%d" % (net.ip(2), net.media_port(1)))
    phone2 = ("%s:5062" % net.ip(3), "%s:%d" % (net.ip(3), net.media_port(2)))

    def register(addr, label, expires=3600):
        return Sipp("register.xml", template={"expires": expires, "code": 200, "direct": ""},
                    local=addr, remote=pbx.sip, keys={"user": "alice"},
                    auth=("alice", "alicepw"), timeout=10, name=label).run()

    def unreg(binding, code, label):
        return Sipp("unreg_wildcard.xml", template={"binding": binding, "code": code},
                    local=phone1[0], remote=pbx.sip, keys={"user": "alice"},
                    auth=("alice", "alicepw"), timeout=10, name=label).run()

    def callee(scenario, phone, label, template=None, timeout=20):
        return Sipp(scenario, local=phone[0], media=phone[1], keys={"pt": 0, "codec": "PCMU"},
                    template=template, timeout=timeout, name="uas-" + label).start()

    def caller(scenario, label, timeout=20, **tmpl):
        tmpl.setdefault("media", SDP["pcmu_pcma"])
        return Sipp(scenario, template=tmpl, local=carol, media=carol_media, remote=pbx.sip,
                    service="201", keys={"user": "carol"}, auth=("carol", "carolpw"),
                    timeout=timeout, name="uac-" + label).run()

    def both(a, b):
        return lambda: a.diag() + "\n" + b.diag()

    def contacts(res):
        ok = res.first(200)
        return ok.headers_all("contact") if ok else []

    # ======================================================================
    # 1. hold and resume, relayed through the B2BUA
    # ======================================================================
    r = register(phone1[0], "register-alice-1")
    t.sipp_ok(r, "sipp registers as alice (Contact %s)" % phone1[0])

    uas = callee("hold_uas.xml", phone1, "hold")
    r = caller("hold_uac.xml", "hold", pause_ms=700)
    ru = uas.wait(timeout=10)
    t.sipp_ok(r, "carol calls 201, alice answers; carol holds (re-INVITE), resumes, hangs up",
              extra=ru.diag)

    # carol's side: the answers to her re-INVITEs (CSeq 3: hold, 4: resume)
    c_ok = {cseq_of(m)[0]: m for m in reversed(r.received(200)) if cseq_of(m)[1] == "INVITE"}
    c_hold, c_resume = c_ok.get(3), c_ok.get(4)
    c_inv = [m for m in r.sent("INVITE") if cseq_of(m)[0] in (3, 4)]
    t.ok(c_inv and all(m.header("call-id") == r.sent("INVITE")[0].header("call-id")
                       and tag_of(m.header("to")) for m in c_inv),
         "carol's re-INVITEs are in the dialog (same Call-ID, To tag)",
         diag=lambda: "\n---\n".join(excerpt(m, 12) for m in c_inv))
    t.ok(c_hold is not None, "carol's hold re-INVITE (a=sendonly) -> 200", diag=r.diag)
    t.is_(sdp_dir(c_hold), "recvonly", "... and its SDP answer says a=recvonly",
          diag=lambda: excerpt(c_hold, 40))
    t.ok(c_resume is not None, "carol's resume re-INVITE (a=sendrecv) -> 200", diag=r.diag)
    t.is_(sdp_dir(c_resume), "sendrecv", "... and its SDP answer says a=sendrecv",
          diag=lambda: excerpt(c_resume, 40))

    # alice's side: initial INVITE, then two re-INVITEs from the PBX
    t.sipp_ok(ru, "alice's leg: INVITE, re-INVITE (hold), re-INVITE (resume), each answered "
                  "and ACKed, then the BYE", extra=r.diag)
    a_inv = uniq(ru.received("INVITE"))
    a_first = a_inv[0] if a_inv else None
    a_hold = a_inv[1] if len(a_inv) > 1 else None
    a_resume = a_inv[2] if len(a_inv) > 2 else None
    t.is_(len(a_inv), 3, "alice gets 3 INVITEs (call, hold, resume)",
          diag=lambda: " | ".join(ru.flow()))
    t.ok(a_first and a_hold and a_hold.header("call-id") == a_first.header("call-id")
         and tag_of(a_hold.header("to")) and cseq_of(a_hold)[0] > cseq_of(a_first)[0],
         "... the hold re-INVITE is in alice's dialog (same Call-ID, To tag, higher CSeq)",
         diag=lambda: excerpt(a_first, 12) + "\n---\n" + excerpt(a_hold, 12))
    t.is_(sdp_dir(a_hold), "sendonly", "... and its SDP offer says a=sendonly",
          diag=lambda: excerpt(a_hold, 40))
    acks = set(cseq_of(m)[0] for m in ru.received("ACK"))
    t.ok(a_hold and cseq_of(a_hold)[0] in acks,
         "... alice answers it 200 a=recvonly and the PBX ACKs that 200",
         diag=lambda: " | ".join(ru.flow()))
    t.is_(sdp_dir(a_resume), "sendrecv", "the resume re-INVITE to alice says a=sendrecv",
          diag=lambda: excerpt(a_resume, 40))
    t.ok(a_resume and cseq_of(a_resume)[0] > cseq_of(a_hold)[0] and cseq_of(a_resume)[0] in acks,
         "... (next CSeq; alice's 200 is ACKed)", diag=lambda: " | ".join(ru.flow()))
    t.ok(ru.first("BYE") is not None, "carol's BYE reaches alice",
         diag=lambda: " | ".join(ru.flow()))

    # ======================================================================
    # 2. forking: alice registered from two contacts
    # ======================================================================
    r = register(phone2[0], "register-alice-2")
    t.sipp_ok(r, "alice registers a second contact (%s)" % phone2[0])
    cs = contacts(r)
    t.ok(len(cs) == 2 and any(phone1[0] in c for c in cs) and any(phone2[0] in c for c in cs),
         "... the 200 lists both contacts", diag=lambda: "Contact: %s" % cs)

    ua = callee("fork_uas_answer.xml", phone1, "fork-answer", template={"answer_ms": 500})
    ub = callee("uas_cancel.xml", phone2, "fork-ring")
    r = caller("uac_bye.xml", "fork", hold_ms=1000)
    ra = ua.wait(timeout=10)
    rb = ub.wait(timeout=10)
    t.sipp_ok(r, "carol calls 201: answered, carol hangs up (BYE -> 200)",
              extra=both(ra, rb))
    ia, ib = ra.first("INVITE"), rb.first("INVITE")
    t.ok(ia is not None and ib is not None, "both of alice's contacts get the INVITE",
         diag=both(ra, rb))
    t.ok(ia and ib and abs(ia.ts - ib.ts) < 0.4,
         "... at once (parallel forking): %s s apart" % (ia and ib and round(abs(ia.ts - ib.ts), 2)))
    t.sipp_ok(ra, "the first contact answers after 0.5 s, gets the ACK and carol's BYE",
              extra=both(r, rb))
    t.sipp_ok(rb, "the ringing contact gets CANCEL (answers 200 and 487, gets the ACK)",
              extra=both(r, ra))
    sent200 = [m for m in ra.messages if m.dir == "sent" and m.code == 200
               and cseq_of(m)[1] == "INVITE"]
    cancel = rb.first("CANCEL")
    t.ok(sent200 and cancel and cancel.ts >= sent200[0].ts - 0.01,
         "... the CANCEL comes after the other contact's 200",
         diag=lambda: "200 at %s, CANCEL at %s" % (sent200 and sent200[0].ts, cancel and cancel.ts))
    oks = [m for m in r.received(200) if cseq_of(m) == (2, "INVITE")]
    tags = set(tag_of(m.header("to")) for m in oks)
    t.is_(len(tags), 1, "carol gets one answer (one dialog: %s)" % sorted(tags))
    inv = [m for m in r.sent("INVITE") if cseq_of(m)[0] == 2]
    took = oks[0].ts - inv[0].ts if oks and inv else None
    t.ok(took is not None and took >= 0.4,
         "... about 0.5 s after her INVITE (%s s)" % (took and round(took, 2)))

    # ======================================================================
    # 3. wildcard unregistration
    # ======================================================================
    r = register(phone1[0], "register-alice-again")
    t.sipp_ok(r, "alice's contact is registered (refreshed)")
    t.ok(any(phone1[0] in c for c in contacts(r)), "... the 200 lists it",
         diag=lambda: "Contact: %s" % contacts(r))

    r = unreg("Contact: *\nExpires: 3600", 400, "wildcard-nonzero")
    t.sipp_ok(r, "REGISTER Contact: * with Expires: 3600 -> 400")
    r = unreg("Expires: 3600", 200, "query-1")
    t.sipp_ok(r, "REGISTER without Contact (query) -> 200")
    t.is_(len(contacts(r)), 2, "... both of alice's contacts are still there (the 400 changed nothing)",
          diag=lambda: "Contact: %s" % contacts(r))

    r = unreg("Contact: *\nExpires: 0", 200, "wildcard-zero")
    t.sipp_ok(r, "REGISTER Contact: * with Expires: 0 (authenticated) -> 200")
    t.is_(contacts(r), [], "... and the 200 lists no Contact", diag=lambda: r.first(200) and r.first(200).text)
    r = unreg("Expires: 3600", 200, "query-2")
    t.sipp_ok(r, "a query afterwards -> 200 ...")
    t.is_(contacts(r), [], "... with no Contact left", diag=lambda: r.first(200) and r.first(200).text)

    mark = pbx.log_mark()
    uas = callee("uas_answer.xml", phone1, "unreg")
    r = caller("uac_reject.xml", "unreg", code=480)
    t.sipp_ok(r, "carol calls 201 -> 480 (alice not reachable)")
    t.ok(pbx.wait_log(r"alice is not registered", 3, since=mark),
         "... the dial found no contact (CHANUNAVAIL)",
         diag=lambda: tail(pbx.log_since(mark), 15))
    time.sleep(0.3)
    t.is_([m.start for m in uas.messages()], [], "... and nothing reaches alice's old contact")
    uas.stop()

    pbx.finish(t)
