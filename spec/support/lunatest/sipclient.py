"""A raw SIP client over UDP that computes its own digest responses
(RFC 2617 / 7616, MD5, qop=auth): what an attacker or a probe sends,
byte for byte, for the security tests (replays, digest-uri swaps, stale
nonces, brute force, enumeration probes).

    c = SipClient("127.0.0.11", 5060, ("127.0.0.10", 5070))
    r = c.request("REGISTER", "sip:127.0.0.10:5070", user="alice")   # 401
    ch = challenge_of(r)
    auth = digest(ch, "alice", "alicepw", "REGISTER", "sip:127.0.0.10:5070")
    r = c.request("REGISTER", ..., auth=("Authorization", auth))       # 200
"""

import hashlib
import random
import re
import select
import socket
import time

from .sipmsg import SipMsg, parse_auth_header


def _md5(s):
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def token(n=12):
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def challenge_of(resp):
    """The digest challenge of a 401/407 as a dict (realm, nonce, qop,
    stale...), or {}."""
    if resp is None:
        return {}
    v = resp.header("www-authenticate") or resp.header("proxy-authenticate")
    scheme, params = parse_auth_header(v)
    return params if scheme and scheme.lower() == "digest" else {}


def digest(ch, user, password, method, uri, nc=1, cnonce=None, qop="auth", nonce=None):
    """The value of an Authorization header answering challenge `ch`."""
    nonce = nonce or ch["nonce"]
    realm = ch["realm"]
    cnonce = cnonce or token(8)
    ha1 = _md5("%s:%s:%s" % (user, realm, password))
    ha2 = _md5("%s:%s" % (method, uri))
    if qop:
        ncs = "%08x" % nc
        resp = _md5("%s:%s:%s:%s:%s:%s" % (ha1, nonce, ncs, cnonce, qop, ha2))
        return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s",'
                ' algorithm=MD5, qop=%s, nc=%s, cnonce="%s"'
                % (user, realm, nonce, uri, resp, qop, ncs, cnonce))
    resp = _md5("%s:%s:%s" % (ha1, nonce, ha2))
    return ('Digest username="%s", realm="%s", nonce="%s", uri="%s", response="%s",'
            ' algorithm=MD5' % (user, realm, nonce, uri, resp))


SDP_BODY = ("v=0\r\no=- 1 1 IN IP4 %(ip)s\r\ns=-\r\nc=IN IP4 %(ip)s\r\nt=0 0\r\n"
            "m=audio %(port)d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")


class SipClient:
    """One UDP socket at (ip, port) talking to `remote` (ip, port)."""

    def __init__(self, ip, port, remote):
        self.ip, self.port = ip, port
        self.remote = remote
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, port))
        self.cseq = 0
        self.last_request = None

    def close(self):
        self.sock.close()

    def build(self, method, ruri, user="probe", to_user=None, auth=None, call_id=None,
              cseq=None, branch=None, headers=(), body="", from_tag=None, to_tag=None):
        """The request's bytes (a new branch, CSeq and Call-ID unless given)."""
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        host = "%s:%d" % self.remote
        lines = ["%s %s SIP/2.0" % (method, ruri),
                 "Via: SIP/2.0/UDP %s:%d;branch=%s;rport"
                 % (self.ip, self.port, branch or "z9hG4bK-" + token()),
                 "Max-Forwards: 70",
                 "From: <sip:%s@%s>;tag=%s" % (user, host, from_tag or token(8)),
                 "To: <sip:%s@%s>%s" % (to_user or user, host,
                                        ";tag=" + to_tag if to_tag else ""),
                 "Call-ID: %s" % (call_id or token(16) + "@" + self.ip),
                 "CSeq: %d %s" % (cseq, method),
                 "Contact: <sip:%s@%s:%d>" % (user, self.ip, self.port)]
        if auth:
            lines.append("%s: %s" % auth)
        lines += list(headers)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append("Content-Length: %d" % len(body.encode()))
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def send(self, data):
        self.last_request = data
        self.sock.sendto(data, self.remote)

    def final(self, data, timeout=2.0, ack=True):
        """Send `data` (a request) and return its final response (SipMsg),
        or None; an INVITE's non-2xx final answer is ACKed."""
        self.send(data)
        req = SipMsg(data.decode("utf-8", "replace"))
        cid = req.header("call-id")
        deadline = time.time() + timeout
        while time.time() < deadline:
            r, _, _ = select.select([self.sock], [], [], max(0, deadline - time.time()))
            if not r:
                continue
            d, _ = self.sock.recvfrom(65535)
            m = SipMsg(d.decode("utf-8", "replace"), "recv")
            if not m.is_response or m.header("call-id") != cid or m.code < 200:
                continue
            if ack and req.method == "INVITE" and m.code >= 300:
                self.send(self.ack_for(data, m))
            return m
        return None

    def request(self, method, ruri, **kw):
        """Build, send and wait: the final response (or None)."""
        timeout = kw.pop("timeout", 2.0)
        return self.final(self.build(method, ruri, **kw), timeout=timeout)

    def ack_for(self, data, resp):
        req = SipMsg(data.decode("utf-8", "replace"))
        ruri = req.start.split(" ")[1]
        cseq = (req.header("cseq") or "1").split()[0]
        lines = ["ACK %s SIP/2.0" % ruri, "Via: %s" % req.header("via"), "Max-Forwards: 70",
                 "From: %s" % req.header("from"), "To: %s" % resp.header("to"),
                 "Call-ID: %s" % req.header("call-id"), "CSeq: %s ACK" % cseq,
                 "Content-Length: 0"]
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def drain(self, wait=0.0):
        """Every datagram that came (within `wait` s), as SipMsg."""
        out = []
        deadline = time.time() + wait
        while True:
            r, _, _ = select.select([self.sock], [], [], max(0, deadline - time.time()))
            if not r:
                return out
            d, _ = self.sock.recvfrom(65535)
            out.append(SipMsg(d.decode("utf-8", "replace"), "recv"))
