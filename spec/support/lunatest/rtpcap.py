"""RTP seen on the loopback: captured with dumpcap (pcap format), read with
the standard library.  For what a recording cannot tell: when packets left,
their sequence numbers, timestamps and marker bits.

    cap = RtpCapture([net.ip(0)]).start()     # any packet to or from these
    ...
    pkts = cap.stop()                         # [RtpPacket], in capture order
    to_phone = stream(pkts, src=net.ip(0), ports=net.phone_rtp(0), pts=(0, 8))
"""

import os
import struct
import time

from .proc import kill_proc, read_text, spawn, wait_until, workdir


class RtpPacket:
    __slots__ = ("t", "src", "sport", "dst", "dport", "pt", "marker", "seq", "ts",
                 "ssrc", "payload")

    def __repr__(self):
        return "<rtp %.3f %s:%d>%s:%d pt=%d m=%d seq=%d ts=%d len=%d>" % (
            self.t, self.src, self.sport, self.dst, self.dport, self.pt, self.marker,
            self.seq, self.ts, len(self.payload))

    def event(self):
        """(event, end, duration) of an RFC 4733 payload."""
        p = self.payload
        return p[0], bool(p[1] & 0x80), (p[2] << 8) | p[3]


def _ip(b):
    return "%d.%d.%d.%d" % tuple(b)


def _rtp(t, src, sport, dst, dport, data):
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    pt = data[1] & 0x7f
    if 64 <= pt <= 95:                      # RTCP
        return None
    cc = data[0] & 0x0f
    off = 12 + 4 * cc
    if data[0] & 0x10 and len(data) >= off + 4:
        off += 4 + 4 * struct.unpack("!H", data[off + 2:off + 4])[0]
    end = len(data)
    if data[0] & 0x20 and end > off:        # padding
        end -= data[-1]
    p = RtpPacket()
    p.t, p.src, p.sport, p.dst, p.dport = t, src, sport, dst, dport
    p.pt, p.marker = pt, bool(data[1] & 0x80)
    p.seq, p.ts, p.ssrc = struct.unpack("!HII", data[2:12])
    p.payload = data[off:end]
    return p


def read_pcap(path):
    """RTP packets of a pcap file (Ethernet or Linux cooked framing, IPv4/UDP)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xa1b2c3d4, 0xa1b23c4d):
        e = "<"
    else:
        e = ">"
        magic = struct.unpack(">I", data[:4])[0]
    scale = 1e-9 if magic == 0xa1b23c4d else 1e-6
    link = struct.unpack(e + "I", data[20:24])[0]
    l2 = {1: 14, 113: 16, 0: 4}.get(link)
    if l2 is None:
        raise ValueError("pcap link type %d not handled" % link)
    out, pos = [], 24
    while pos + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[pos:pos + 16])
        pkt = data[pos + 16:pos + 16 + incl]
        pos += 16 + incl
        ip = pkt[l2:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0f) * 4
        udp = ip[ihl:]
        sport, dport, ulen = struct.unpack("!HHH", udp[:6])
        p = _rtp(sec + frac * scale, _ip(ip[12:16]), sport, _ip(ip[16:20]), dport,
                 bytes(udp[8:ulen]))
        if p:
            out.append(p)
    return out


class RtpCapture:
    """dumpcap on lo, UDP to or from the given addresses."""

    def __init__(self, hosts, name="rtp"):
        self.dir = workdir("capture-" + name)
        self.path = os.path.join(self.dir, "rtp.pcap")
        self.log = os.path.join(self.dir, "dumpcap.log")
        filt = "udp and (%s)" % " or ".join("host %s" % h for h in hosts)
        self.argv = ["dumpcap", "-q", "-P", "-i", "lo", "-f", filt, "-w", self.path]
        self.proc = None

    def start(self, timeout=10):
        self.proc = spawn(self.argv, self.log)
        ok = wait_until(lambda: "Capturing on" in read_text(self.log)
                        or self.proc.poll() is not None, timeout)
        if not ok or self.proc.poll() is not None:
            raise RuntimeError("dumpcap did not start: %s" % read_text(self.log))
        time.sleep(0.2)
        return self

    def stop(self):
        """Stop (SIGTERM flushes the file) and return the RTP packets."""
        if self.proc is not None:
            time.sleep(0.2)
            kill_proc(self.proc, grace=3)
            self.proc = None
        return read_pcap(self.path) if os.path.exists(self.path) else []


def stream(pkts, src=None, dst=None, pts=None, ports=None):
    """Packets of one direction, by IP and/or port range, optionally of some
    payload types.  A phone's side is best told by its port range: the PBX
    latches on the source of what it receives, and baresip sends from
    127.0.0.1 (it binds 0.0.0.0) whatever its SDP says."""
    def port_ok(p):
        if ports is None:
            return True
        lo, hi = ports
        return lo <= p.dport <= hi or lo <= p.sport <= hi
    return [p for p in pkts if (src is None or p.src == src) and (dst is None or p.dst == dst)
            and (pts is None or p.pt in pts) and port_ok(p)]


def continuity(pkts):
    """Problems of one RTP stream (a list), as strings: sequence gaps,
    timestamp steps other than the payload length, markers after the first,
    SSRC changes.  Empty when the stream is continuous."""
    bad = []
    for a, b in zip(pkts, pkts[1:]):
        if (b.seq - a.seq) & 0xffff != 1:
            bad.append("seq %d -> %d" % (a.seq, b.seq))
        if (b.ts - a.ts) & 0xffffffff != len(a.payload):
            bad.append("ts %d -> %d (payload %d)" % (a.ts, b.ts, len(a.payload)))
        if b.marker:
            bad.append("marker at seq %d" % b.seq)
        if b.ssrc != a.ssrc:
            bad.append("ssrc change at seq %d" % b.seq)
    return bad
