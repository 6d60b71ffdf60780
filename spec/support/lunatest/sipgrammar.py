"""Is a SIP message well-formed?  A checker of what RFC 3261 (section 25's
grammar, 7.3, 8.1.1, 8.2.6, 20) asks of every message an element sends,
used on every message the PBX sent in a --sip-trace run (e2e 84).

    problems = check_message(text_with_crlf, size=None)   # [] when fine

`text` is the message as sent (CRLF line ends); `size`, when known (the
trace's "(N bytes)"), is the datagram's length, so Content-Length is
checked against what really went out.
"""

import re

TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
_TOKEN_RX = re.compile(r"^%s$" % TOKEN)
_COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact",
            "l": "content-length", "c": "content-type", "k": "supported",
            "s": "subject", "e": "content-encoding", "o": "event", "r": "refer-to",
            "u": "allow-events", "x": "session-expires"}

# Headers that appear once at most (RFC 3261 20, and 7.3.1: only headers
# whose grammar is a comma-separated list may repeat)
SINGLE = {"to", "from", "call-id", "cseq", "max-forwards", "content-length",
          "content-type", "expires", "min-expires", "retry-after", "server",
          "user-agent", "date", "timestamp", "organization", "priority", "subject",
          "reply-to", "mime-version", "content-disposition", "min-se",
          "session-expires", "rack", "rseq", "refer-to", "event"}
REQ_MANDATORY = ("to", "from", "cseq", "call-id", "max-forwards", "via")
RESP_MANDATORY = ("to", "from", "cseq", "call-id", "via")
_URI_RX = re.compile(r"^(sips?):([^\s<>]+)$", re.I)
_NAME_ADDR_RX = re.compile(r'^\s*(?:(?:"(?:[^"\\]|\\.)*"|%s(?:\s+%s)*)\s*)?<([^<>\s]+)>(.*)$'
                           % (TOKEN, TOKEN))
_ADDR_SPEC_RX = re.compile(r"^\s*(sips?:[^\s;<>,]+)(.*)$", re.I)
_VIA_RX = re.compile(r"^SIP\s*/\s*2\.0\s*/\s*(%s)\s+([^\s;]+)(.*)$" % TOKEN, re.I)
_SDP_LINE = re.compile(r"^[a-z]=.*$")


def split(text):
    """(start line, [(raw name, value)], body) of a CRLF message."""
    head, sep, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    hdrs = []
    for line in lines[1:]:
        if line[:1] in (" ", "\t") and hdrs:
            n, v = hdrs[-1]
            hdrs[-1] = (n, v + " " + line.strip())
            continue
        n, c, v = line.partition(":")
        hdrs.append((n if c else None, v.strip() if c else line))
    return lines[0], hdrs, body, bool(sep)


def _canon(name):
    n = name.strip().lower()
    return _COMPACT.get(n, n)


def _addr_ok(value, need_tag=False):
    """name-addr / addr-spec, with its parameters; problems or []."""
    m = _NAME_ADDR_RX.match(value)
    if m:
        uri, params = m.group(1), m.group(2)
    else:
        m = _ADDR_SPEC_RX.match(value)
        if not m:
            return ["not a name-addr or addr-spec: %r" % value]
        uri, params = m.group(1), m.group(2)
    out = []
    if not _URI_RX.match(uri) and not re.match(r"^tel:", uri, re.I):
        out.append("bad URI %r" % uri)
    if params.strip() and not re.match(r"^(\s*;\s*%s(\s*=\s*(%s|\"[^\"]*\"|\[[0-9a-fA-F:.]+\]))?)*\s*$"
                                       % (TOKEN, TOKEN), params):
        out.append("bad parameters %r" % params)
    if need_tag and not re.search(r";\s*tag\s*=\s*%s" % TOKEN, params):
        out.append("no tag in %r" % value)
    return out


def check_message(text, size=None):
    """Every way the message breaks the grammar; [] when it is fine."""
    problems = []
    start, hdrs, body, ended = split(text)
    if not ended:
        problems.append("no empty line after the headers")
    req = re.match(r"^(%s) (\S+) SIP/2\.0$" % TOKEN, start)
    resp = re.match(r"^SIP/2\.0 ([1-6]\d\d) ([^\r\n]*)$", start)
    if not req and not resp:
        return ["bad start line %r" % start]
    if req and not _URI_RX.match(req.group(2)):
        problems.append("bad Request-URI %r" % req.group(2))

    names = {}
    for raw, value in hdrs:
        if raw is None:
            problems.append("a line that is no header: %r" % value)
            continue
        if not _TOKEN_RX.match(raw.strip()) or raw != raw.rstrip():
            problems.append("bad header name %r" % raw)
        if any(ord(c) < 0x20 and c != "\t" for c in value):
            problems.append("control character in %s" % raw)
        names.setdefault(_canon(raw), []).append(value)

    for n, vals in names.items():
        if n in SINGLE and len(vals) > 1:
            problems.append("%s %d times: %s" % (n, len(vals), vals))
    for n in (REQ_MANDATORY if req else RESP_MANDATORY):
        if n not in names:
            problems.append("no %s" % n)

    cseq = (names.get("cseq") or [""])[0]
    m = re.match(r"^(\d{1,10})\s+(%s)$" % TOKEN, cseq)
    # a response copies its request's CSeq (RFC 3261 8.2.6.2), even one
    # out of range that it refuses: only a request must keep below 2^31
    if not m or (req and int(m.group(1)) >= 2 ** 31):
        problems.append("bad CSeq %r" % cseq)
    elif req and m.group(2) != req.group(1):
        problems.append("CSeq method %s in a %s" % (m.group(2), req.group(1)))
    mf = names.get("max-forwards")
    if mf and not re.match(r"^\d{1,3}$", mf[0]) or mf and int(mf[0]) > 255:
        problems.append("bad Max-Forwards %r" % mf)

    for v in names.get("via", []):
        for part in re.split(r",(?=\s*SIP\s*/)", v):
            vm = _VIA_RX.match(part.strip())
            if not vm:
                problems.append("bad Via %r" % part)
    if req and names.get("via"):
        top = re.split(r",(?=\s*SIP\s*/)", names["via"][0])[0]
        if not re.search(r";\s*branch=z9hG4bK%s" % "[A-Za-z0-9\\-.!%*_+`'~]*", top):
            problems.append("top Via without a z9hG4bK branch: %r" % top)

    for n in ("from", "to"):
        for v in names.get(n, []):
            problems += ["%s: %s" % (n, p) for p in _addr_ok(v, need_tag=(n == "from"))]
    if resp and int(resp.group(1)) > 100:
        for v in names.get("to", []):
            if not re.search(r";\s*tag\s*=", v):
                problems.append("a %s without a To tag" % resp.group(1))
    for v in names.get("contact", []):
        if v.strip() != "*":
            for c in re.split(r",(?=\s*[<\"a-zA-Z])", v):
                problems += ["contact: %s" % p for p in _addr_ok(c)]
    for n in ("allow", "supported", "require", "unsupported"):
        for v in names.get(n, []):
            if not re.match(r"^\s*(%s\s*(,\s*%s\s*)*)?$" % (TOKEN, TOKEN), v):
                problems.append("bad %s list %r" % (n, v))
    for v in names.get("retry-after", []) + names.get("expires", []) + \
            names.get("min-expires", []):
        if not re.match(r"^\d+(\s*;.*)?(\s*\(.*\))?$", v):
            problems.append("bad delta-seconds %r" % v)

    clen = names.get("content-length")
    blen = len(body.encode("utf-8", "surrogateescape"))
    if clen:
        if not re.match(r"^\d+$", clen[0]):
            problems.append("bad Content-Length %r" % clen[0])
        else:
            n = int(clen[0])
            if size is not None:
                head_len = len(text.partition("\r\n\r\n")[0].encode()) + 4
                if head_len + n != size:
                    problems.append("Content-Length %d but %d bytes of body went out"
                                    % (n, size - head_len))
            elif n != blen:
                problems.append("Content-Length %d, body %d" % (n, blen))
    if blen and "content-type" not in names:
        problems.append("a body without Content-Type")
    ctype = (names.get("content-type") or [""])[0].lower()
    if blen and ctype.startswith("application/sdp"):
        problems += ["sdp: %s" % p for p in check_sdp(body)]
    return problems


def check_sdp(body):
    """RFC 4566 5: the lines and their order (v o s ... t ... m ...)."""
    lines = body.replace("\r\n", "\n").rstrip("\n").split("\n")
    out = []
    if "\r\n" not in body and body:
        out.append("lines not ended by CRLF")
    for l in lines:
        if not _SDP_LINE.match(l):
            out.append("bad line %r" % l)
    kinds = [l[0] for l in lines if l]
    if kinds[:3] != ["v", "o", "s"]:
        out.append("does not start with v= o= s=: %s" % kinds[:3])
    if "t" not in kinds:
        out.append("no t=")
    for l in lines:
        if l.startswith("v=") and l != "v=0":
            out.append("version %r" % l)
        if l.startswith("o=") and len(l[2:].split()) != 6:
            out.append("bad o= %r" % l)
        if l.startswith("m=") and not re.match(r"^m=\w+ \d+(/\d+)? [A-Za-z0-9/]+( \S+)+$", l):
            out.append("bad m= %r" % l)
        if l.startswith("c=") and not re.match(r"^c=IN IP[46] \S+$", l):
            out.append("bad c= %r" % l)
    return out
