"""pcap files read back with tshark (what a person would do with Wireshark)."""

import subprocess

from .rtp import alaw_decode, ulaw_decode

_DEC = {0: ulaw_decode, 8: alaw_decode}


def tshark(path, *args, timeout=60):
    """tshark -r path ARGS; (returncode, stdout, stderr)."""
    p = subprocess.run(["tshark", "-r", path] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def fields(path, display_filter, names, opts=()):
    """Rows (lists of strings) of the given tshark fields for the frames that
    pass display_filter."""
    args = list(opts) + ["-Y", display_filter, "-T", "fields", "-E", "separator=\t"]
    for n in names:
        args += ["-e", n]
    rc, out, err = tshark(path, *args)
    if rc != 0:
        raise RuntimeError("tshark failed (%s): %s" % (rc, err.strip()))
    return [line.split("\t") for line in out.splitlines() if line.strip()]


def sip_messages(path):
    """[(frame time, transport, src, dst, first line)] of every SIP message."""
    rows = fields(path, "sip", ["frame.time_epoch", "ip.proto", "ip.src", "udp.srcport",
                                "tcp.srcport", "ip.dst", "udp.dstport", "tcp.dstport",
                                "sip.Request-Line", "sip.Status-Line", "sip.Call-ID"])
    out = []
    for r in rows:
        r += [""] * (11 - len(r))
        tp = "UDP" if r[1] == "17" else "TCP"
        sport = r[3] or r[4]
        dport = r[6] or r[7]
        out.append((float(r[0]), tp, "%s:%s" % (r[2], sport), "%s:%s" % (r[5], dport),
                    r[8] or r[9], r[10]))
    return out


def rtp_streams(path, opts=()):
    """{(src, dst): {"pt": set of payload types, "packets": n, "first": t,
    "last": t, "pcm": [samples]}} of the RTP tshark finds (G.711 decoded)."""
    rows = fields(path, "rtp", ["frame.time_epoch", "ip.src", "udp.srcport", "ip.dst",
                                "udp.dstport", "rtp.p_type", "rtp.payload"], opts)
    out = {}
    for r in rows:
        r += [""] * (7 - len(r))
        key = ("%s:%s" % (r[1], r[2]), "%s:%s" % (r[3], r[4]))
        s = out.setdefault(key, {"pt": set(), "packets": 0, "first": float(r[0]),
                                 "last": float(r[0]), "pcm": []})
        pt = int(r[5]) if r[5].isdigit() else None
        s["pt"].add(pt)
        s["packets"] += 1
        s["last"] = float(r[0])
        dec = _DEC.get(pt)
        if dec and r[6]:
            s["pcm"].extend(dec(b) for b in bytes.fromhex(r[6].replace(":", "")))
    return out


def rtcp_packets(path, opts=()):
    """[(src, dst, packet types)] of the RTCP tshark finds."""
    rows = fields(path, "rtcp", ["ip.src", "udp.srcport", "ip.dst", "udp.dstport", "rtcp.pt"],
                  opts)
    return [("%s:%s" % (r[0], r[1]), "%s:%s" % (r[2], r[3]), r[4] if len(r) > 4 else "")
            for r in rows]


def dominant_freq(pcm, candidates, rate=8000):
    """(the candidate frequency with most energy in decoded samples, its share
    of the signal's power); (None, 0) for silence."""
    from .audio import tone_powers
    powers, total, nblocks = tone_powers(pcm, rate, candidates)
    if not nblocks or total / nblocks < 100.0 ** 2:
        return None, 0.0
    best = max(candidates, key=lambda f: powers[f])
    return best, powers[best] / total
