"""Helpers for sending raw SIP datagrams (the RFC 4475 torture messages) at
the PBX and collecting what comes back (Python 3 standard library only).

    msgs = load_torture()                       # {"wsinv": b"INVITE ...", ...}
    data, changed = rewrite_top_via(msgs["wsinv"], "127.0.0.151:5060")
    cli = RawSip("127.0.0.151", 5060, ("127.0.0.150", 5070))
    cli.send(data)
    final, got = cli.collect(call_ids_of(data), timeout=1.0)

Only the addressing of a message is ever rewritten (the sent-by and the
transport of its top Via, so that replies come back to our socket); every
other byte, including the defects a message tests, is sent unchanged.
"""

import os
import random
import re
import select
import socket
import time

from harness import SipMsg

__all__ = ["TORTURE_DIR", "load_torture", "split_head", "raw_headers", "header_values",
           "call_ids_of", "trailing_call_ids", "start_method", "rewrite_top_via",
           "RawSip", "options_ping", "make_ack", "rand_token"]

# The messages live in the repository (public test data from the RFC's
# appendix, see rfc4475/README.md): every clone runs them.
TORTURE_DIR = os.environ.get("LUNAPBX_RFC4475_DIR") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "rfc4475")

_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
            "l": "content-length", "c": "content-type", "k": "supported",
            "s": "subject", "e": "content-encoding"}


def rand_token(n=10):
    return "".join(random.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(n))


def load_torture(directory=TORTURE_DIR):
    """{name: bytes} for every NAME.dat in directory, read in binary."""
    out = {}
    for fn in sorted(os.listdir(directory)):
        if fn.endswith(".dat"):
            with open(os.path.join(directory, fn), "rb") as f:
                out[fn[:-4]] = f.read()
    return out


def split_head(data):
    """(start+header bytes, rest) at the first empty line (CRLFCRLF, or LFLF)."""
    i = data.find(b"\r\n\r\n")
    j = data.find(b"\n\n")
    if i < 0 and j < 0:
        return data, b""
    if i >= 0 and (j < 0 or i <= j):
        return data[:i], data[i + 4:]
    return data[:j], data[j + 2:]


def raw_headers(data):
    """[(lower-case long name, unfolded value)] of the first message in data."""
    head, _ = split_head(data)
    lines = re.split(rb"\r?\n", head)[1:]
    out = []
    for line in lines:
        if line[:1] in (b" ", b"\t") and out:
            n, v = out[-1]
            out[-1] = (n, v + b" " + line.strip())
            continue
        if b":" in line:
            n, v = line.split(b":", 1)
            n = n.strip().lower().decode("latin-1")
            out.append((_COMPACT.get(n, n), v.strip()))
    return out


def header_values(data, name):
    name = name.lower()
    return [v.decode("utf-8", "replace") for n, v in raw_headers(data) if n == name]


def call_ids_of(data):
    """Call-ID values (usually one) of the first message in data."""
    return header_values(data, "call-id")


def trailing_call_ids(data):
    """Call-IDs found in the octets after the first message's headers (the
    body, or the extra trailing octets of a datagram such as dblreq's)."""
    _, rest = split_head(data)
    return [m.decode("utf-8", "replace").strip()
            for m in re.findall(rb"(?im)^(?:call-id|i)[ \t]*:[ \t]*(\S+)", rest)]


def start_method(data):
    line = re.split(rb"\r?\n", data, 1)[0]
    return line.split(b" ", 1)[0].decode("utf-8", "replace")


# The first Via header (long or compact name, any case, LWS before the colon),
# through its folded continuation lines, then inside it: SIP / 2.0 / TRANSPORT
# (LWS, even line folds, allowed around the slashes) and the sent-by host[:port].
_VIA_RX = re.compile(
    rb"(?im)^(?:via|v)[ \t]*:[ \t]*(?:\r?\n[ \t]+)?"
    rb"SIP[ \t\r\n]*/[ \t\r\n]*2\.0[ \t\r\n]*/[ \t\r\n]*"
    rb"(?P<tp>[A-Za-z0-9._!%*+`'~-]+)"
    rb"(?P<lws>(?:[ \t]|\r?\n[ \t])+)"
    rb"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?P<port>:[0-9]+)?")


def rewrite_top_via(data, sent_by, transport="UDP"):
    """Point the top Via of the first message at sent_by ("ip:port") over
    `transport`; every other octet (folding, whitespace, parameters such as a
    strange branch, the other Via values, the body) is kept. Returns
    (new_data, True) or (data, False) when no parsable top Via was found."""
    head, _ = split_head(data)
    m = _VIA_RX.search(head)
    if not m:
        return data, False
    out = (data[:m.start("tp")] + transport.encode() + m.group("lws") +
           sent_by.encode() + data[m.end("port") if m.group("port") else m.end("host"):])
    return out, True


class RawSip:
    """A UDP socket bound on (ip, port) talking to remote (ip, port)."""

    def __init__(self, ip, port, remote):
        self.local = (ip, port)
        self.remote = remote
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(self.local)
        self.sock.setblocking(False)
        self.seen_call_ids = set()     # Call-IDs of everything sent before

    @property
    def sent_by(self):
        return "%s:%d" % self.local

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendto(data, self.remote)

    def drain(self):
        """Read and return whatever is queued, without waiting."""
        out = []
        while True:
            try:
                d, src = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return out
            out.append((d, src))

    def collect(self, call_ids, timeout=1.0, want_final=True, exact=False):
        """Wait up to `timeout` s for responses to the request just sent.

        A datagram counts as an answer to it when it is a SIP response whose
        Call-ID is one of call_ids, or one not seen before in this run (a
        malformed request may be answered without or with a mangled Call-ID);
        retransmissions answering earlier requests are set aside.
        Returns (first final response or None, [every answer], [other datagrams]).
        With want_final=False the whole timeout is always waited for; with
        exact=True only the given Call-IDs count (a stray answer to another
        message, sent to this socket's address, is set aside)."""
        deadline = time.time() + timeout
        answers, others, final = [], [], None
        wanted = set(call_ids)
        while True:
            left = deadline - time.time()
            if left <= 0:
                break
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                continue
            for d, src in self.drain():
                msg = SipMsg(d.decode("utf-8", "replace"), "recv")
                cid = msg.header("call-id")
                if msg.is_response and (cid in wanted or
                                        (not exact and cid not in self.seen_call_ids)):
                    answers.append(msg)
                    if final is None and msg.code is not None and msg.code >= 200:
                        final = msg
                else:
                    others.append((d, src))
            if final is not None and want_final:
                break
        return final, answers, others

    def remember(self, call_ids):
        self.seen_call_ids.update(call_ids)


def options_ping(cli, target, timeout=1.0):
    """Send a well-formed OPTIONS to target ("ip:port"); the final response or None."""
    cid = "ping-%s@%s" % (rand_token(12), cli.local[0])
    req = ("OPTIONS sip:%s SIP/2.0\r\n"
           "Via: SIP/2.0/UDP %s;branch=z9hG4bK-%s;rport\r\n"
           "Max-Forwards: 70\r\n"
           "From: <sip:torture@%s>;tag=%s\r\n"
           "To: <sip:%s>\r\n"
           "Call-ID: %s\r\n"
           "CSeq: 1 OPTIONS\r\n"
           "Accept: application/sdp\r\n"
           "Content-Length: 0\r\n\r\n"
           % (target, cli.sent_by, rand_token(), cli.local[0], rand_token(), target, cid))
    cli.remember([cid])
    # sent again as RFC 3261's timer E would (0.5 s, then doubling): UDP may
    # drop a datagram when the PBX's socket is full of a fuzzer's burst
    deadline, wait = time.time() + timeout, 0.5
    while True:
        cli.send(req.encode())
        final, _, _ = cli.collect([cid], min(wait, max(0.0, deadline - time.time())),
                                  exact=True)
        if final is not None or time.time() >= deadline:
            return final
        wait = min(2 * wait, 4.0)


def make_ack(request, resp):
    """The ACK (RFC 3261 17.1.1.3) for a non-2xx final response `resp` (SipMsg)
    to the INVITE `request` (bytes): Request-URI of the request, top Via,
    From, Call-ID and CSeq number of the request as echoed in the response,
    To of the response."""
    line = re.split(rb"\r?\n", request, 1)[0].decode("utf-8", "replace")
    ruri = line[len("INVITE"):].rsplit("SIP/", 1)[0].strip()
    via = (resp.header("via") or "").split(",")[0].strip()
    cseq = (resp.header("cseq") or "1").split()[0]
    hdrs = ["ACK %s SIP/2.0" % ruri, "Via: %s" % via, "Max-Forwards: 70"]
    for name in ("from", "to", "call-id"):
        v = resp.header(name)
        if v is not None:
            hdrs.append("%s: %s" % ({"call-id": "Call-ID"}.get(name, name.title()), v))
    hdrs += ["CSeq: %s ACK" % cseq, "Content-Length: 0"]
    return ("\r\n".join(hdrs) + "\r\n\r\n").encode("utf-8")
