"""Packet captures on the loopback: tshark writes a pcap of one test's own
addresses, this module reads it back (UDP only) and sorts RTP from RTCP by
their bytes (RFC 5761 4: second byte 192-223 is RTCP), so a test counts
media per direction without relying on a dissector's guesses."""

import os
import re
import struct
import time

from .proc import kill_proc, read_text, spawn, wait_until, workdir


class Packet:
    __slots__ = ("t", "src", "sport", "dst", "dport", "data")

    def __init__(self, t, src, sport, dst, dport, data):
        self.t, self.src, self.sport, self.dst, self.dport, self.data = t, src, sport, dst, dport, data

    @property
    def is_rtcp(self):
        return len(self.data) >= 8 and self.data[0] >> 6 == 2 and 192 <= self.data[1] <= 223

    @property
    def is_rtp(self):
        return len(self.data) >= 12 and self.data[0] >> 6 == 2 and not self.is_rtcp

    @property
    def rtp_pt(self):
        return self.data[1] & 0x7F if self.is_rtp else None

    @property
    def rtp_ssrc(self):
        return struct.unpack("!I", self.data[8:12])[0] if self.is_rtp else None

    def rtcp_types(self):
        """Packet types of a compound RTCP packet, e.g. [200, 202]."""
        out, d = [], self.data
        while len(d) >= 4 and d[0] >> 6 == 2:
            out.append(d[1])
            d = d[4 * (struct.unpack("!H", d[2:4])[0] + 1):]
        return out

    @property
    def text(self):
        return self.data.decode("utf-8", "replace")


class Capture:
    """tshark -i lo on UDP to or from `hosts`, into a pcap file.

    Capture(["127.4.75.10"]).  stop() ends it; packets() reads it."""

    def __init__(self, hosts, name="capture", ready_timeout=15.0):
        self.dir = workdir(name)
        self.path = os.path.join(self.dir, "lo.pcap")
        self.log_path = os.path.join(self.dir, "tshark.log")
        bpf = "udp and (%s)" % " or ".join("host %s" % h for h in hosts)
        argv = ["tshark", "-q", "-n", "-i", "lo", "-f", bpf, "-F", "pcap", "-w", self.path]
        # tshark says "Capturing on" before dumpcap captures; "Capture
        # started" comes when packets are really being written.  Under load
        # tshark was seen to exit at once, silently: it gets three tries.
        for attempt in range(3):
            self.proc = spawn(argv, self.log_path)
            if not wait_until(lambda: "Capture started" in read_text(self.log_path)
                              or self.proc.poll() is not None, ready_timeout, 0.05):
                raise RuntimeError("tshark not capturing after %ss: %s"
                                   % (ready_timeout, read_text(self.log_path)))
            if self.proc.poll() is None:
                break
            time.sleep(0.5)
        else:
            raise RuntimeError("tshark exited (rc %s): %s"
                               % (self.proc.returncode, read_text(self.log_path)))
        self._packets = None

    def stop(self):
        if self.proc.poll() is None:
            time.sleep(0.3)          # the last packets reach the file
            kill_proc(self.proc, grace=5)
        return self

    def packets(self):
        if self._packets is None:
            self._packets = list(read_pcap(self.path))
        return self._packets


def read_pcap(path):
    """UDP/IPv4 packets of a libpcap file (Linux loopback: Ethernet framing)."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        t = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:           # Ethernet
            if len(frame) < 14 or frame[12:14] != b"\x08\x00":
                continue
            ip = frame[14:]
        elif linktype == 113:       # Linux cooked
            if len(frame) < 16 or frame[14:16] != b"\x08\x00":
                continue
            ip = frame[16:]
        else:
            continue
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        if struct.unpack("!H", ip[6:8])[0] & 0x3FFF:   # a fragment
            continue
        udp = ip[ihl:]
        if len(udp) < 8:
            continue
        sport, dport, ulen = struct.unpack("!HHH", udp[:6])
        yield Packet(t, ".".join(map(str, ip[12:16])), sport,
                     ".".join(map(str, ip[16:20])), dport, bytes(udp[8:ulen]))


def sdp_ports(text):
    """{"audio": port, "video": port} of the m= lines of an SDP (or SIP) text."""
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^m=(\w+) (\d+) ", text, re.M)}
