"""The PBX's SIP trace (--sip-trace, pbx.trace) read back from its log.

A block is one header line, the message, then an empty line:

    --- SIP recv 2024-05-01 12:34:56.789012 UDP 127.0.0.1:5062 -> 127.0.0.1:5060 (541 bytes) [note]
    INVITE sip:900@127.0.0.1:5060 SIP/2.0
    ...
"""

import datetime
import re

from .sipmsg import SipMsg

HEAD_RX = re.compile(
    r"^--- SIP (?P<dir>send|recv) (?P<date>\d{4}-\d\d-\d\d) (?P<time>\d\d:\d\d:\d\d\.\d{6}) "
    r"(?P<tp>\S+) (?P<src>\S+) -> (?P<dst>\S+) \((?P<size>\d+) bytes\)(?: (?P<note>\[.*\]))?$",
    re.M)


class TraceBlock:
    def __init__(self, m, text):
        self.dir = m.group("dir")                 # "send" | "recv"
        self.when = datetime.datetime.strptime(
            m.group("date") + " " + m.group("time"), "%Y-%m-%d %H:%M:%S.%f")
        self.transport = m.group("tp")
        self.src, self.dst = m.group("src"), m.group("dst")
        self.size = int(m.group("size"))
        self.note = m.group("note")
        self.head = m.group(0)
        self.text = text                          # the message, LF line ends
        self.msg = SipMsg(text, "sent" if self.dir == "send" else "recv")

    @property
    def start(self):
        return self.msg.start

    def block(self):
        """The block as the log shows it."""
        return self.head + "\n" + self.text

    def __repr__(self):
        return "<TraceBlock %s %s %s>" % (self.dir, self.transport, self.start)


def parse_trace(log_text):
    """Every trace block of a log, in order.  A block's message ends at the
    empty line after its headers, or after its body when Content-Length
    says it has one (an SDP body has no empty line of its own)."""
    heads = list(HEAD_RX.finditer(log_text))
    out = []
    for i, m in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(log_text)
        seg = log_text[m.end() + 1:end]
        cut = seg.find("\n\n")
        if cut >= 0:
            clen = SipMsg(seg[:cut + 1]).header("content-length") or "0"
            if clen.strip().isdigit() and int(clen) > 0:
                nxt = seg.find("\n\n", cut + 2)
                cut = nxt if nxt >= 0 else len(seg)
        text = seg[:cut + 1] if cut >= 0 else seg
        out.append(TraceBlock(m, text))
    return out


def find_blocks(blocks, start_rx, dir=None, call_id=None):
    """Blocks whose start line matches start_rx (and direction, Call-ID)."""
    rx = re.compile(start_rx)
    return [b for b in blocks if rx.search(b.start)
            and (dir is None or b.dir == dir)
            and (call_id is None or b.msg.header("call-id") == call_id)]
