#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from what the tests already send:
the RFC 4475 messages and every SIP message of the walkthrough's trace
(docs/traces/), the SDP bodies in them, RTP/RTCP packets and DTMF events
as the media specs build them, console frames as the console sends them.

usage: spec/fuzz/seeds.py OUTDIR     (makes OUTDIR/sip, sdp, rtp, dtmf, frame)
"""
import hashlib
import os
import re
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, os.path.join(ROOT, "spec", "support"))
from lunatest.siptrace import parse_trace  # noqa: E402


def put(d, data):
    os.makedirs(d, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()[:16]
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def trace_messages():
    path = os.path.join(ROOT, "docs", "traces", "walkthrough-trace.txt")
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for b in parse_trace(text):
        lines = b.text.rstrip("\n").split("\n")
        if "" in lines:
            i = lines.index("")
            yield ("\r\n".join(lines[:i]) + "\r\n\r\n" +
                   "\r\n".join(lines[i + 1:]) + "\r\n").encode()
        else:
            yield ("\r\n".join(lines) + "\r\n\r\n").encode()


def sip_and_sdp(out):
    tdir = os.path.join(ROOT, "spec", "support", "rfc4475")
    for fn in sorted(os.listdir(tdir)):
        if fn.endswith(".dat"):
            with open(os.path.join(tdir, fn), "rb") as f:
                put(os.path.join(out, "sip"), f.read())
    for msg in trace_messages():
        put(os.path.join(out, "sip"), msg)
        head, _, body = msg.partition(b"\r\n\r\n")
        if re.search(rb"(?im)^content-type:\s*application/sdp", head) and body:
            put(os.path.join(out, "sdp"), body)
    put(os.path.join(out, "sdp"),
        b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        b"m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
        b"a=fmtp:101 0-16\r\na=rtcp-mux\r\n"
        b"m=video 4002 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 H264/90000\r\n"
        b"a=fmtp:97 profile-level-id=42e01f\r\na=rtcp-fb:96 nack pli\r\na=sendonly\r\n")


def rtp(out):
    def pkt(kind, data):
        return bytes([kind, len(data)]) + data
    r = b""
    for seq in range(5):
        r += pkt(0, struct.pack("!BBHII", 0x80, 0, 1000 + seq, 160 * seq, 0x1234) + b"\xff" * 20)
    sr = struct.pack("!BBHIIIII", 0x81, 200, 12, 0x1234, 0xe0000000, 0, 800, 5) + \
        struct.pack("!IIIIII", 0x5678, 0x01000002, 1004, 3, 0x12340000, 0x10000)
    rr = struct.pack("!BBHI", 0x81, 201, 7, 0x5678) + \
        struct.pack("!IIIIII", 0x1234, 0x00000001, 1004, 7, 0, 0)
    sdes = struct.pack("!BBHIBB", 0x81, 202, 3, 0x1234, 1, 4) + b"fuzz" + b"\x00\x00"
    put(os.path.join(out, "rtp"), r + pkt(1, sr) + pkt(2, sr) + pkt(1, rr + sdes) + pkt(3, b"x" * 160))


def dtmf(out):
    for mode in range(4):
        ev = b"".join(struct.pack("!BBH", d, 0x0a | (0x80 if end else 0), 160 * (i + 1))
                      for d in (1, 5, 11) for i, end in ((0, False), (1, False), (2, True)))
        put(os.path.join(out, "dtmf"), bytes([mode]) + ev)
    put(os.path.join(out, "dtmf"), b"\x00Signal=5\r\nDuration=160\r\n")
    put(os.path.join(out, "dtmf"), b"\x01#")
    put(os.path.join(out, "dtmf"), b"\x04Signal= *\r\nDuration= 250\r\n")


def frame(out):
    def f(t, data):
        return t.encode() + struct.pack("!I", len(data)) + data
    put(os.path.join(out, "frame"), f("H", b"repl") + f("E", b"return 1 + 1") + f("C", b"pbx."))
    put(os.path.join(out, "frame"), f("H", b"exec") + f("E", b"calls()"))


def main(argv):
    out = argv[1] if len(argv) > 1 else "build/fuzz/seeds"
    sip_and_sdp(out)
    rtp(out)
    dtmf(out)
    frame(out)
    for d in sorted(os.listdir(out)):
        print("%s: %d seeds" % (d, len(os.listdir(os.path.join(out, d)))))


if __name__ == "__main__":
    main(sys.argv)
