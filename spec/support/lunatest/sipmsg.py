"""SIP messages as sipp traces them: parsing and a few accessors."""

import re
import time


_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
            "l": "content-length", "c": "content-type", "k": "supported",
            "s": "subject", "e": "content-encoding", "o": "event", "r": "refer-to",
            "u": "allow-events", "x": "session-expires"}


class SipMsg:
    def __init__(self, text, direction="?", ts=0.0, transport="UDP"):
        self.text = text
        self.dir = direction          # "sent" | "recv"
        self.ts = ts
        self.transport = transport
        head, _, body = text.replace("\r\n", "\n").partition("\n\n")
        lines = head.split("\n")
        self.start = lines[0].strip()
        self.headers = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t") and self.headers:
                n, v = self.headers[-1]
                self.headers[-1] = (n, v + " " + line.strip())
                continue
            if ":" in line:
                n, v = line.split(":", 1)
                n = n.strip().lower()
                self.headers.append((_COMPACT.get(n, n), v.strip()))
        self.body = body
        m = re.match(r"SIP/2\.0\s+(\d{3})\s*(.*)", self.start)
        if m:
            self.is_response = True
            self.code = int(m.group(1))
            self.reason = m.group(2)
            cs = (self.header("cseq") or "").split()
            self.method = cs[1] if len(cs) > 1 else None
        else:
            self.is_response = False
            self.code = None
            self.reason = None
            self.method = self.start.split(" ", 1)[0]

    def header(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def headers_all(self, name):
        name = name.lower()
        return [v for n, v in self.headers if n == name]

    def header_names(self):
        return [n for n, _ in self.headers]

    def sdp_payloads(self):
        """Payload types of the first m=audio line of the body, as strings."""
        m = re.search(r"^m=audio\s+\d+\s+\S+\s+([0-9 ]+)", self.body, re.M)
        return m.group(1).split() if m else []

    def sdp_rtpmap(self):
        return dict(re.findall(r"^a=rtpmap:(\d+)\s+(\S+)", self.body, re.M))

    def __repr__(self):
        return "<SipMsg %s %s>" % (self.dir, self.start)


def parse_sipp_messages(path):
    """Parse a sipp -message_file into a list of SipMsg (sent and received)."""
    try:
        with open(path, "rb") as f:
            data = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    out = []
    parts = re.split(r"^-{20,}\s+(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)\s*$", data, flags=re.M)
    # parts: [prefix, ts1, chunk1, ts2, chunk2, ...]
    for i in range(1, len(parts) - 1, 2):
        ts_s, chunk = parts[i], parts[i + 1]
        m = re.match(r"\s*(\w+) message (sent|received)[^\n]*\n", chunk)
        if not m:
            continue
        msg = chunk[m.end():].strip("\r\n")
        if not msg.strip():
            continue
        try:
            ts = time.mktime(time.strptime(ts_s.split(".")[0], "%Y-%m-%d %H:%M:%S"))
            if "." in ts_s:
                ts += float("0." + ts_s.split(".")[1])
        except ValueError:
            ts = 0.0
        out.append(SipMsg(msg, "sent" if m.group(2) == "sent" else "recv", ts, m.group(1)))
    return out


def parse_auth_header(value):
    """'Digest realm="x", nonce="y", qop="auth"' -> ('Digest', {realm:x, nonce:y, qop:auth})."""
    if value is None:
        return (None, {})
    scheme, _, rest = value.strip().partition(" ")
    params = {}
    for m in re.finditer(r'([A-Za-z0-9_-]+)\s*=\s*("((?:[^"\\]|\\.)*)"|[^,\s]+)', rest):
        params[m.group(1).lower()] = m.group(3) if m.group(3) is not None else m.group(2)
    return (scheme, params)
