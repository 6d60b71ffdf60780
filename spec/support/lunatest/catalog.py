"""The catalog of SIP errors a person can provoke at lunapbx: one entry per
error, with how to provoke it (a sipp scenario run against the PBX, as a
person would) and what the PBX must answer.  The e2e tests 82_* and 83_*
run every entry; docs/tools/walkthrough.py runs them with the SIP trace on
and writes docs/sip-walkthrough.md from what the PBX really sent.

    lab = Lab(net, pbx)          # the PBX runs config(net)
    lab.setup()                  # the callee (chhinyleboss) registers
    for e in entries("request"):
        res = e.run(lab)
        res.ok, res.answer (SipMsg), res.checks [(ok, name, diag)]
"""

import re
import time

from .sipmsg import SipMsg
from .sipp import SDP, Sipp

# The seed lab's names: amine (100) calls chhinyleboss (900).
_CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%(rtp)s" }
pbx.endpoint "amine"        { secret = "test",     context = "internal", callerid = '"Amine" <100>',
                              hold = "passthrough" }  -- its holds reach the callee (glare)
pbx.endpoint "chhinyleboss" { secret = "vitrygtr", context = "internal", callerid = '"Chhiny" <900>' }
pbx.endpoint "carol"        { secret = "carolpw",  context = "internal" }  -- never registers
pbx.endpoint "dave"         { secret = "davepw",   context = "internal" }  -- registers, then dies
%(peer)spbx.context "internal" {
  ["100"] = function(call) call:dial("amine", { timeout = 20 }) end,
  ["900"] = function(call) call:dial("chhinyleboss", { timeout = 20 }) end,
  ["901"] = function(call) call:dial("chhinyleboss", { timeout = 2 }) end,
  ["300"] = function(call) call:dial("carol") end,
  ["400"] = function(call) call:dial("dave", { timeout = 60 }) end,
  ["500"] = function(call) error("boom") end,
  ["600"] = function(call) end,   -- returns without answering
%(trunk)s}
"""

# A trunk whose server is down (nothing answers at its address): needs the
# trunks (pbx.peer, call:dial{ trunk = ... }) of branch h/trunks.
_PEER = 'pbx.peer "provider" { host = "%s", port = 5099, qualify = 200 }\n'
_TRUNK = """\
  ["_0."] = function(call, exten)
    local st, code = call:dial { trunk = "provider", number = exten, timeout = 20 }
    pbx.log("info", "trunk dial: %s %d", st, code)
  end,
"""


def config(net, trunk_host=None):
    """The catalog's configuration on this file's addresses; with a dead
    trunk peer at trunk_host when given."""
    return _CONFIG % {"rtp": net.pbx_rtp, "peer": _PEER % trunk_host if trunk_host else "",
                      "trunk": _TRUNK if trunk_host else ""}


CALLER = ("amine", "test")
CALLEE = ("chhinyleboss", "vitrygtr")


class Result:
    def __init__(self, sipp_result, code, extra=()):
        self.sipp = sipp_result
        self.ok = sipp_result.rc == 0
        self.answer = sipp_result.first(code)
        self.checks = list(extra)
        sent = sipp_result.sent()
        self.call_id = sent[0].header("call-id") if sent else None

    def diag(self):
        return self.sipp.diag()


class Lab:
    """The clients around one PBX: a caller (amine), a callee (chhinyleboss)
    and a dead phone (dave), each on its own address of `net`."""

    def __init__(self, net, pbx):
        self.net, self.pbx = net, pbx
        self.caller_addr = "%s:5060" % net.ip(1)
        self.caller_media = "%s:%d" % (net.ip(1), net.media_port(0))
        self.callee_addr = "%s:5062" % net.ip(2)
        self.callee_media = "%s:%d" % (net.ip(2), net.media_port(1))
        self.dead_addr = "%s:5064" % net.ip(3)
        self.raw_addr = "%s:5066" % net.ip(4)
        self.caller2_addr = "%s:5068" % net.ip(5)     # a second caller, in the background
        self.caller2_media = "%s:%d" % (net.ip(5), net.media_port(2))
        self.n = 0

    def label(self, what):
        self.n += 1
        return "%02d-%s" % (self.n, what)

    def register(self, user, password, code, addr=None, expires=3600, label="register",
                 direct=False, keys=None):
        tmpl = {"expires": expires, "code": code,
                "direct": '<recv response="%d" optional="true" next="done"/>' % code
                if direct else ""}
        k = {"user": user}
        k.update(keys or {})
        return Sipp("register.xml", template=tmpl, local=addr or self.caller_addr,
                    remote=self.pbx.sip, keys=k, auth=(user, password), timeout=10,
                    name=self.label(label)).run()

    def setup(self):
        """The callee registers (its UAS scenarios listen on that address);
        so does dave, whose phone then dies (nothing listens there)."""
        a = self.register(*CALLEE, 200, addr=self.callee_addr, label="register-callee")
        b = self.register("dave", "davepw", 200, addr=self.dead_addr, label="register-dave")
        return a, b

    def caller(self, scenario, exten, label, user=CALLER, media="pcmu_pcma", timeout=15,
               second=False, **tmpl):
        tmpl.setdefault("media", SDP[media])
        local, rtp = ((self.caller2_addr, self.caller2_media) if second
                      else (self.caller_addr, self.caller_media))
        return Sipp(scenario, template=tmpl, local=local, media=rtp,
                    remote=self.pbx.sip, service=exten, keys={"user": user[0]}, auth=user,
                    timeout=timeout, name=self.label(label))

    def callee(self, scenario, label, **tmpl):
        return Sipp(scenario, local=self.callee_addr, media=self.callee_media,
                    keys={"pt": 0, "codec": "PCMU"}, template=tmpl or None, timeout=20,
                    name=self.label(label)).start()

    def raw(self, request, code, label, ack=None):
        """One request (text with sipp keywords), expecting `code`."""
        ack_xml = ""
        if ack:
            ack_xml = ("<send><![CDATA[\n%s\n[last_Via:]\n[last_From:]\n[last_To:]\n"
                       "[last_Call-ID:]\nCSeq: 1 ACK\nMax-Forwards: 70\nContent-Length: 0\n"
                       "]]></send>" % ack)
        return Sipp("req_expect.xml", template={"request": request, "code": code, "ack": ack_xml},
                    local=self.raw_addr, remote=self.pbx.sip, timeout=10,
                    name=self.label(label)).run()


def _hdr_check(res, name, rx, what):
    v = res.answer.header(name) if res.answer else None
    return (bool(v and re.search(rx, v)), "%s (%s: %s)" % (what, name, v),
            res.answer.text if res.answer else res.diag())


def _log_check(lab, rx, what):
    m = lab.pbx.wait_log(rx, 3)
    return (bool(m), what, lab.pbx.log_tail(15))


def _same_status(res, other, what):
    a = res.answer.start if res.answer else None
    b = other.answer.start if other and other.answer else None
    return (a is not None and a == b, "%s (%s / %s)" % (what, a, b), None)


# Requests written out in full for req_expect.xml ---------------------------

def _request(method, ruri="sip:900@[remote_ip]:[remote_port]", headers=(), body="",
             cseq=None, max_forwards=70, to_tag=""):
    lines = ["%s %s SIP/2.0" % (method, ruri),
             "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
             "From: <sip:amine@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]",
             "To: <sip:900@[remote_ip]:[remote_port]>%s" % to_tag,
             "Call-ID: [call_id]",
             "CSeq: %s" % (cseq or "1 %s" % method),
             "Contact: <sip:amine@[local_ip]:[local_port]>"]
    if max_forwards is not None:
        lines.append("Max-Forwards: %d" % max_forwards)
    lines += list(headers)
    lines.append("User-Agent: lunapbx-catalog")
    if body:
        lines.append("Content-Length: [len]")
        lines.append("")
        lines += body.splitlines()
    else:
        lines.append("Content-Length: 0")
    return "\n".join(lines)


_SDP_BODY = ("v=0\no=- 1 1 IN IP4 [local_ip]\ns=-\nc=IN IP4 [local_ip]\nt=0 0\n"
             "m=audio [media_port] RTP/AVP 0\na=rtpmap:0 PCMU/8000")
_ACK900 = "ACK sip:900@[remote_ip]:[remote_port] SIP/2.0"


class Entry:
    """One error: `run(lab)` provokes it and returns a Result; a background
    entry's run() returns the started Sipp, and finish(sipp) the Result."""

    def __init__(self, key, section, title, french, code, reason, how, tool, run,
                 background=False):
        self.key, self.section, self.title, self.french = key, section, title, french
        self.code, self.reason, self.how, self.tool = code, reason, how, tool
        self._run = run
        self.background = background

    def run(self, lab):
        return self._run(lab, self)

    def finish(self, sipp, timeout=60):
        res = Result(sipp.wait(timeout=timeout), self.code)
        inv = res.sipp.sent("INVITE")
        if inv and res.answer:
            took = res.answer.ts - inv[-1].ts
            res.checks.append((took >= 30, "%.0f s after the INVITE (timer B: 64 x T1 = 32 s)"
                               % took, None))
        return res

    def __repr__(self):
        return "<Entry %s %d>" % (self.key, self.code)


def _register_fail(user, password, code, keys=None, expires=3600, direct=False):
    def run(lab, e):
        r = lab.register(user, password, code, expires=expires, direct=direct, keys=keys,
                         label=e.key)
        return Result(r, code)
    return run


def _wrong_password(lab, e):
    r = lab.register("amine", "not-the-password", 403, label=e.key)
    res = Result(r, 403)
    other = Result(lab.register("mallory", "whatever", 403, label=e.key + "-unknown"), 403)
    res.checks.append(_same_status(res, other, "an unknown user gets exactly the same answer"))
    return res


def _brief(lab, e):
    res = Result(lab.register("amine", "test", 423, expires=10, direct=True, label=e.key), 423)
    res.checks.append(_hdr_check(res, "min-expires", r"^60$", "the 423 says the minimum"))
    return res


def _challenge(lab, e):
    r = Sipp("register_challenge.xml", local=lab.caller_addr, remote=lab.pbx.sip,
             keys={"user": "amine"}, timeout=10, name=lab.label(e.key)).run()
    res = Result(r, 401)
    res.checks.append(_hdr_check(res, "www-authenticate", r'^Digest realm="lunapbx", nonce="[0-9a-f]+", '
                                 r'qop="auth", algorithm=MD5$', "a digest challenge"))
    return res


def _noauth(lab, e):
    r = lab.caller("uac_noauth.xml", "900", e.key, quiet_ms=500).run()
    res = Result(r, 407)
    res.checks.append(_hdr_check(res, "proxy-authenticate", r'^Digest realm="lunapbx"',
                                 "a digest challenge for the proxy"))
    return res


def _reject(exten, code, media="pcmu_pcma", user=CALLER, check=None):
    def run(lab, e):
        r = lab.caller("uac_reject.xml", exten, e.key, user=user, media=media, code=code).run()
        res = Result(r, code)
        if check:
            res.checks.append(check(res, lab))
        return res
    return run


def _callee_says(code, reason, exten="900"):
    def run(lab, e):
        uas = lab.callee("uas_reject.xml", e.key + "-callee", code=code, reason=reason)
        r = lab.caller("uac_reject.xml", exten, e.key, code=code).run()
        ru = uas.wait(timeout=10)
        res = Result(r, code)
        res.checks.append((ru.rc == 0, "the callee's %d was ACKed by the PBX" % code, ru.diag()))
        return res
    return run


def _no_answer(lab, e):
    uas = lab.callee("uas_cancel.xml", e.key + "-callee")
    t0 = time.time()
    r = lab.caller("uac_reject.xml", "901", e.key, code=480).run()
    took = time.time() - t0
    ru = uas.wait(timeout=10)
    res = Result(r, 480)
    res.checks.append((ru.rc == 0, "the ringing callee got a CANCEL when the dial timed out",
                       ru.diag()))
    res.checks.append((1.5 <= took <= 6, "after the dial timeout (2 s): %.1f s" % took, None))
    return res


def _cancel(lab, e):
    uas = lab.callee("uas_cancel.xml", e.key + "-callee")
    r = lab.caller("uac_cancel.xml", "900", e.key, ring_ms=500).run()
    ru = uas.wait(timeout=10)
    res = Result(r, 487)
    res.checks.append((ru.rc == 0, "the callee got the CANCEL too", ru.diag()))
    return res


def _glare(lab, e):
    uas = lab.callee("uas_glare.xml", e.key + "-callee")
    r = lab.caller("hold_uac.xml", "900", e.key, pause_ms=500, timeout=20).run()
    ru = uas.wait(timeout=15)
    res = Result(ru, 491)
    res.checks.append((r.rc == 0, "the caller's hold and resume are answered 200 all the same",
                       r.diag()))
    return res


def _trunk_down(lab, e):
    t0 = time.time()
    res = Result(lab.caller("uac_reject.xml", "0123456789", e.key, code=480).run(), 480)
    took = time.time() - t0
    res.checks.append((took < 5, "at once, not after 32 s of retransmissions (%.1f s)" % took,
                       None))
    res.checks.append(_log_check(lab, r"trunk dial: CHANUNAVAIL", "call:dial says CHANUNAVAIL"))
    return res


def _dead_phone(lab, e):
    """Started early (it takes 32 s); finish() gives the Result."""
    return lab.caller("uac_reject.xml", "400", e.key, code=408, timeout=50,
                      second=True).start()


def _raw(request, code, ack=None, check=None):
    def run(lab, e):
        res = Result(lab.raw(request, code, e.key, ack=ack), code)
        if check:
            res.checks.append(check(res, lab))
        return res
    return run


ENTRIES = [
    # -- registration ---------------------------------------------------------
    Entry("register-challenge", "register", "REGISTER without credentials", "enregistrement sans identifiants",
          401, "Unauthorized",
          "A phone's first REGISTER carries no credentials: the registrar answers with a challenge "
          "(a nonce to hash the password with). Every phone sees this once per registration; it is "
          "not an error.", "sipp register_challenge.xml", _challenge),
    Entry("wrong-password", "register", "Wrong password (or unknown user)", "mauvais mot de passe / utilisateur inconnu",
          403, "Forbidden",
          "Register with a wrong secret: the second REGISTER carries a digest computed with it. "
          "An unknown user gets exactly the same answer, so nobody can probe which accounts exist.",
          "sipp register.xml -au amine -ap wrong", _wrong_password),
    Entry("register-other", "register", "Registering someone else's account", "enregistrer le compte d'un autre",
          403, "Forbidden",
          "Authenticate as amine but put chhinyleboss in To (the address of record): an endpoint "
          "only registers itself.", "sipp register.xml -key user chhinyleboss -au amine -ap test",
          _register_fail("amine", "test", 403, keys={"user": "chhinyleboss"})),
    Entry("interval-too-brief", "register", "Registration interval too brief", "durée d'enregistrement trop courte",
          423, "Interval Too Brief",
          "Ask for Expires: 10: the registrar wants at least 60 s and says so in Min-Expires.",
          "sipp register.xml with Expires: 10", _brief),
    # -- calls ----------------------------------------------------------------
    Entry("invite-no-credentials", "call", "Call without credentials", "appel sans identifiants",
          407, "Proxy Authentication Required",
          "Every INVITE from an endpoint is challenged; the phone answers with an ACK and sends the "
          "INVITE again with Proxy-Authorization.", "sipp uac_noauth.xml", _noauth),
    Entry("invite-wrong-password", "call", "Call with a wrong password", "appel avec un mauvais mot de passe",
          403, "Forbidden", "Answer the 407 with a digest made from a wrong secret.",
          "sipp uac_reject.xml -au amine -ap wrong", _reject("900", 403, user=("amine", "wrong"))),
    Entry("unknown-number", "call", "Unknown number", "numéro inconnu",
          404, "Not Found", "Dial an extension no context matches (999).",
          "sipp uac_reject.xml -s 999", _reject("999", 404)),
    Entry("busy", "call", "Busy", "occupé",
          486, "Busy Here", "The callee's phone answers 486 (already in a call, or the user pressed "
          "'busy'); the PBX relays it (DIALSTATUS BUSY).", "sipp uas_reject.xml (486) as the callee",
          _callee_says(486, "Busy Here")),
    Entry("declined", "call", "Callee declines", "l'appelé refuse",
          603, "Decline", "The callee rejects the call (603 Decline); relayed as such "
          "(DIALSTATUS BUSY, as Asterisk maps it).", "sipp uas_reject.xml (603) as the callee",
          _callee_says(603, "Decline")),
    Entry("no-answer", "call", "No answer", "pas de réponse",
          480, "Temporarily Unavailable",
          "The callee rings and nobody picks up: when call:dial's timeout (2 s for 901) runs out the "
          "PBX cancels the callee's leg and answers 480 (DIALSTATUS NOANSWER).",
          "sipp uas_cancel.xml as the callee, call 901", _no_answer),
    Entry("cancel", "call", "Caller hangs up while it rings", "l'appelant raccroche pendant la sonnerie",
          487, "Request Terminated",
          "The caller sends CANCEL before anyone answered: 200 for the CANCEL, 487 for the INVITE, "
          "and the callee's leg is cancelled too (DIALSTATUS CANCEL).", "sipp uac_cancel.xml",
          _cancel),
    Entry("unregistered", "call", "Callee not registered", "appelé non enregistré",
          480, "Temporarily Unavailable",
          "Dial an endpoint that has no registered phone (carol, extension 300): nothing can ring "
          "(DIALSTATUS CHANUNAVAIL).", "sipp uac_reject.xml -s 300", _reject("300", 480)),
    Entry("codec-mismatch", "call", "No common codec", "aucun codec commun",
          488, "Not Acceptable Here",
          "Offer only G.722 (m=audio ... RTP/AVP 9): the PBX speaks PCMU and PCMA; it refuses before "
          "any phone rings, with a Warning: 305 (incompatible media format).",
          "sipp uac_reject.xml with a G.722-only SDP",
          _reject("900", 488, media="g722",
                  check=lambda res, lab: _hdr_check(res, "warning", r"^305 lunapbx",
                                               "Warning: 305 says why"))),
    Entry("dialplan-error", "call", "The dialplan raises an error", "erreur dans le plan de numérotation",
          500, "Server Internal Error",
          "Extension 500 runs error(\"boom\"): the caller gets 500, the log has the traceback with "
          "file:line, the PBX goes on.", "sipp uac_reject.xml -s 500",
          _reject("500", 500, check=lambda res, lab: _log_check(
              lab, r'pbx\.lua:%d: boom' % lab.pbx.line_of('error("boom")'),
              "the log says where: pbx.lua:LINE: boom"))),
    Entry("dialplan-refuses", "call", "The dialplan ends without answering", "le plan de numérotation ne répond pas",
          603, "Decline",
          "Extension 600 returns without answering or dialling: like Asterisk, the PBX declines.",
          "sipp uac_reject.xml -s 600", _reject("600", 603)),
    Entry("request-pending", "call", "Both ends re-INVITE at once (glare)",
          "ré-INVITE croisés (collision)",
          491, "Request Pending",
          "amine puts the call on hold (a re-INVITE); the PBX passes it on to chhinyleboss's "
          "phone with its own re-INVITE, and that phone, before answering it, sends a "
          "re-INVITE of its own. Two offers cross: the PBX refuses the one it received (RFC "
          "3261 14.2); the phone waits a little and tries again after answering.",
          "sipp hold_uac.xml as the caller, uas_glare.xml as the callee", _glare),
    Entry("request-timeout", "call", "The callee's phone is gone", "le téléphone de l'appelé ne répond plus",
          408, "Request Timeout",
          "dave registered, then his phone vanished without unregistering (pulled cable, crashed "
          "softphone). The PBX's INVITE is retransmitted for 32 s (RFC 3261 timer B), then the "
          "caller gets 408.", "sipp register.xml as dave, then nothing; call 400",
          lambda lab, e: _dead_phone(lab, e), background=True),
    Entry("trunk-down", "trunk", "Trunk down", "trunk hors service",
          480, "Temporarily Unavailable",
          "The provider's server stops answering. With qualify on its peer, the OPTIONS "
          "keep-alives go unanswered and the peer is marked unreachable; a call over it then "
          "fails at once (DIALSTATUS CHANUNAVAIL) instead of retransmitting into the void for "
          "32 s and ending in 408.", "pbx.peer with qualify, nothing at its address; call 0...",
          _trunk_down),
    # -- requests the PBX refuses before anything else -------------------------
    Entry("malformed", "request", "Malformed request", "requête mal formée",
          400, "Bad Request",
          "A CSeq number of 4294967296: RFC 3261 8.1.1.5 keeps it below 2^31. Any header the "
          "PBX cannot make sense of (a missing To, two Content-Length...) gets the same.",
          "sipp req_expect.xml",
          _raw(_request("OPTIONS", cseq="4294967296 OPTIONS"), 400)),
    Entry("bad-request-line", "request", "Request-Line that libre cannot parse", "ligne de requête illisible",
          400, "Bad Request",
          "Two spaces between the method and the URI: libre's parser refuses the datagram; the PBX "
          "still answers, from the request's own Via/From/To/Call-ID/CSeq, with a Warning.",
          "sipp req_expect.xml",
          _raw(_request("OPTIONS ", ruri="sip:[remote_ip]:[remote_port]"), 400,
               check=lambda res, lab: _hdr_check(res, "warning", r'399 lunapbx "malformed Request-Line"',
                                            "Warning: 399 says what was wrong"))),
    Entry("version", "request", "Another SIP version", "autre version de SIP",
          505, "Version Not Supported", "Send OPTIONS ... SIP/3.0.", "sipp req_expect.xml",
          _raw(_request("OPTIONS", ruri="sip:[remote_ip]:[remote_port]").replace(
              "SIP/2.0\n", "SIP/3.0\n", 1), 505)),
    Entry("too-many-hops", "request", "Too many hops", "trop de sauts",
          483, "Too Many Hops",
          "An INVITE with Max-Forwards: 0 (a routing loop between servers ends like this).",
          "sipp req_expect.xml",
          _raw(_request("INVITE", max_forwards=0, headers=["Content-Type: application/sdp"],
                        body=_SDP_BODY), 483, ack=_ACK900)),
    Entry("method-not-allowed", "request", "Method not allowed", "méthode non autorisée",
          405, "Method Not Allowed",
          "Send a MESSAGE (instant message) outside a call: the PBX does not take it, and its "
          "Allow header lists what it does take.", "sipp req_expect.xml",
          _raw(_request("MESSAGE", headers=["Content-Type: text/plain"], body="hello"), 405,
               check=lambda res, lab: _hdr_check(res, "allow", r"INVITE.*REGISTER",
                                            "Allow lists the methods"))),
    Entry("not-implemented", "request", "Unknown method", "méthode inconnue",
          501, "Not Implemented", "Send a request with a method nobody defined (FOO).",
          "sipp req_expect.xml", _raw(_request("FOO"), 501)),
    Entry("bad-extension", "request", "Unsupported extension required", "extension exigée non prise en charge",
          420, "Bad Extension",
          "Require: 100rel (reliable provisional responses, RFC 3262), which lunapbx does not do: "
          "the Unsupported header names it.", "sipp req_expect.xml",
          _raw(_request("INVITE", headers=["Require: 100rel", "Content-Type: application/sdp"],
                        body=_SDP_BODY), 420, ack=_ACK900,
               check=lambda res, lab: _hdr_check(res, "unsupported", r"^100rel$",
                                            "Unsupported: 100rel"))),
    Entry("unsupported-media-type", "request", "Body that is not SDP", "corps qui n'est pas du SDP",
          415, "Unsupported Media Type",
          "An INVITE whose body is text/plain: the Accept header of the answer says SDP is needed.",
          "sipp req_expect.xml",
          _raw(_request("INVITE", headers=["Content-Type: text/plain"], body="hello"), 415,
               ack=_ACK900,
               check=lambda res, lab: _hdr_check(res, "accept", r"application/sdp",
                                            "Accept: application/sdp"))),
    Entry("not-acceptable", "request", "Caller accepts no SDP", "l'appelant n'accepte pas le SDP",
          406, "Not Acceptable",
          "An INVITE with Accept: text/html: the PBX could not send its SDP answer.",
          "sipp req_expect.xml",
          _raw(_request("INVITE", headers=["Accept: text/html", "Content-Type: application/sdp"],
                        body=_SDP_BODY), 406, ack=_ACK900)),
    Entry("unsupported-uri-scheme", "request", "Request-URI that is not SIP", "URI qui n'est pas SIP",
          416, "Unsupported URI Scheme", "Call tel:+33123456789 instead of a sip: URI.",
          "sipp req_expect.xml",
          _raw(_request("INVITE", ruri="tel:+33123456789",
                        headers=["Content-Type: application/sdp"], body=_SDP_BODY), 416,
               ack="ACK tel:+33123456789 SIP/2.0")),
    Entry("no-such-call", "request", "BYE for a call that does not exist", "BYE pour un appel inexistant",
          481, "Call Does Not Exist",
          "Hang up (BYE) a call the PBX does not know: wrong Call-ID or tags, or the call already "
          "ended.", "sipp req_expect.xml",
          _raw(_request("BYE", to_tag=";tag=nosuchdialog"), 481)),
    Entry("no-such-transaction", "request", "CANCEL for nothing", "CANCEL sans requête à annuler",
          481, "Transaction Does Not Exist",
          "CANCEL an INVITE the PBX never received (or already answered).", "sipp req_expect.xml",
          _raw(_request("CANCEL"), 481)),
]


def check(t, e, res):
    """The assertions of one entry: its status code (sipp got it), the
    reason phrase, and the entry's own checks."""
    t.ok(res.ok, "%s: %s -> %d %s" % (e.key, e.title, e.code, e.reason), diag=res.diag)
    got = res.answer.reason if res.answer else None
    t.is_(got, e.reason, "%s: ... reason phrase '%s'" % (e.key, e.reason))
    for ok, name, diag in res.checks:
        t.ok(ok, "%s: ... %s" % (e.key, name), diag=diag)


def entries(section=None):
    return [e for e in ENTRIES if section is None or e.section == section]


def entry(key):
    return next(e for e in ENTRIES if e.key == key)

