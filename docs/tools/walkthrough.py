#!/usr/bin/env python3
"""Regenerate docs/sip-walkthrough.md from real lunapbx traces.

    make                              # build/lunapbx
    docs/tools/walkthrough.py         # about a minute; rewrites the doc

It runs the seed lab on loopback, with the PBX's SIP trace on:
 1. two baresip phones, amine (100) and chhinyleboss (900), register and
    amine calls 900 (the PBX also writes docs/traces/walkthrough.pcap);
    then the same with video (VP8, docs/traces/video.pcap);
 2. a fresh PBX, and every entry of the error catalog
    (spec/support/lunatest/catalog.py, the same table the e2e tests 82, 83
    and 89 run) provoked with sipp;
then fills docs/tools/walkthrough.md.in with the messages the PBX really
saw and sent, explained field by field (docs/tools/fields.py), and writes
docs/sip-walkthrough.md and docs/traces/walkthrough-trace.txt.

Environment: LUNAPBX_BIN (default build/lunapbx), LUNAPBX_E2E_SLOT (the
addresses 127.S.88.x), LUNAPBX_KEEP=1 to keep the temp dir.
"""

import datetime
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(ROOT, "spec", "support"))
sys.path.insert(0, HERE)

from harness import Net, Pbx, PbxError, Phone  # noqa: E402
from lunatest import proc  # noqa: E402
from lunatest.catalog import Lab, config, entries  # noqa: E402
from lunatest.pcapread import tshark  # noqa: E402
from lunatest.siptrace import parse_trace  # noqa: E402
import fields  # noqa: E402

NET = Net(88)
TEMPLATE = os.path.join(HERE, "walkthrough.md.in")
OUT = os.path.join(ROOT, "docs", "sip-walkthrough.md")
TRACES = os.path.join(ROOT, "docs", "traces")


def say(msg):
    sys.stderr.write("walkthrough: %s\n" % msg)


# -- part 1: registration and a call between two real phones ----------------

def phone_call(pbx, video=None):
    """amine and chhinyleboss (baresip) register; amine calls 900, they talk
    6 s (long enough for the first RTCP reports), amine hangs up."""
    tag = "-video" if video else ""
    amine = Phone("amine", NET.ip(1), registrar=pbx.sip, password="test", name="amine" + tag,
                  rtp_ports=NET.phone_rtp(0), tone_hz=700, limit=60, video=video)
    chhiny = Phone("chhinyleboss", NET.ip(2), registrar=pbx.sip, password="vitrygtr",
                   name="chhinyleboss" + tag, rtp_ports=NET.phone_rtp(1), tone_hz=1100,
                   limit=60, video=video)
    if not (amine.registered(10) and chhiny.registered(10)):
        raise RuntimeError("the phones did not register:\n" + pbx.log_tail(30))
    amine.dial("sip:900@%s" % pbx.sip)
    if not (amine.wait_event("CALL_ESTABLISHED", 10) and
            chhiny.wait_event("CALL_ESTABLISHED", 5)):
        raise RuntimeError("the call was not established:\n" + pbx.log_tail(30))
    time.sleep(6)
    amine.hangup()
    chhiny.wait_event("CALL_CLOSED", 10)
    time.sleep(0.5)
    for ph in (amine, chhiny):
        ph.stop()
    time.sleep(0.5)
    pbx.stop()


def run_call(video=None):
    """One traced and captured PBX run around phone_call()."""
    name = "video" if video else "walkthrough"
    pbx = Pbx(config(NET), listen="%s:5060" % NET.ip(0), name="pbx-" + name,
              args=["--sip-trace", "--capture", name + ".pcap"])
    phone_call(pbx, video)
    pcap = os.path.join(pbx.state_dir, "captures", name + ".pcap")
    return pbx, parse_trace(pbx.log_text()), pcap


# -- part 2: the error catalog ---------------------------------------------

def run_catalog():
    try:
        pbx = Pbx(config(NET, trunk_host=NET.ip(9)), listen="%s:5060" % NET.ip(0),
                  name="pbx-catalog", args=["--sip-trace"])
        with_trunk = True
        time.sleep(1.5)                 # the dead peer's first OPTIONS goes unanswered
    except PbxError:
        say("no trunks in this build: the trunk-down entry is left out")
        pbx = Pbx(config(NET), listen="%s:5060" % NET.ip(0), name="pbx-catalog",
                  args=["--sip-trace"])
        with_trunk = False
    lab = Lab(NET, pbx)
    for r in lab.setup():
        if r.rc != 0:
            raise RuntimeError("catalog set-up failed:\n" + r.diag())
    todo = [e for e in entries() if with_trunk or e.section != "trunk"]
    results = {}
    background = [(e, e.run(lab)) for e in todo if e.background]
    for e in todo:
        if not e.background:
            say("catalog: %s" % e.key)
            results[e.key] = e.run(lab)
    for e, sipp in background:
        say("catalog: %s (waiting for timer B)" % e.key)
        results[e.key] = e.finish(sipp, timeout=60)
    failed = [k for k, r in results.items() if not r.ok]
    if failed:
        raise RuntimeError("catalog entries that did not get their answer: %s\n%s"
                           % (failed, "\n".join(results[k].diag() for k in failed)))
    time.sleep(0.3)
    pbx.stop()
    return pbx, parse_trace(pbx.log_text()), todo, results


# -- rendering --------------------------------------------------------------

def fence(text, lang="text"):
    return "```%s\n%s\n```" % (lang, text.rstrip("\n"))


def md_cell(s):
    return s.replace("|", "\\|")


def names_of(pbx, extra):
    names = {pbx.sip: "lunapbx"}
    names.update(extra)
    return names


def who(addr, names):
    if addr in names:
        return names[addr]
    ip = addr.rsplit(":", 1)[0]
    for a, n in names.items():
        if a.rsplit(":", 1)[0] == ip:
            return n
    return addr


def short(block):
    m = block.msg
    if m.is_response:
        return "%d %s" % (m.code, m.reason)
    s = m.method
    if m.body.strip():
        s += " (SDP)"
    if m.header("proxy-authorization") or m.header("authorization"):
        s += " + credentials"
    return s


def ladder(blocks, names, order):
    """A ladder diagram of the blocks between the actors in `order`."""
    col = 40
    width = col * (len(order) - 1) + 1
    pos = {n: i * col for i, n in enumerate(order)}
    lines = ["".join(n.ljust(col) for n in order).rstrip()]
    t0 = blocks[0].when if blocks else None
    for b in blocks:
        a, z = who(b.src, names), who(b.dst, names)
        if a not in pos or z not in pos:
            continue
        row = [" "] * width
        for p in pos.values():
            row[p] = "|"
        x, y = sorted((pos[a], pos[z]))
        label = " %s " % short(b)
        for i in range(x + 1, y):
            row[i] = "-"
        if pos[a] < pos[z]:
            row[y - 1] = ">"
        else:
            row[x + 1] = "<"
        start = x + 2 + max(0, (y - x - 3 - len(label)) // 2)
        for i, ch in enumerate(label[: y - x - 3]):
            row[start + i] = ch
        dt = (b.when - t0).total_seconds()
        lines.append("".join(row).rstrip() + "   %6.3f s" % dt)
    return fence("\n".join(lines))


def field_table(block):
    rows = ["| header line | what it says | *en français* |", "| --- | --- | --- |"]
    for n, v in block.msg.headers:
        meaning, fr = fields.header_meaning(n)
        line = "%s: %s" % (fields.header_name(n), v)
        if len(line) > 90:
            line = line[:87] + "..."
        rows.append("| `%s` | %s | *%s* |" % (md_cell(line), md_cell(meaning), fr))
    return "\n".join(rows)


def sdp_table(block, start=None):
    """The SDP of a block, line by line; from the line starting with
    `start` when given (one media section)."""
    rows = ["| SDP line | what it says | *en français* |", "| --- | --- | --- |"]
    lines = block.msg.body.strip().splitlines()
    if start:
        lines = lines[next((i for i, l in enumerate(lines) if l.startswith(start)),
                           len(lines)):]
    for line in lines:
        meaning, fr = fields.sdp_meaning(line)
        rows.append("| `%s` | %s | *%s* |" % (md_cell(line), md_cell(meaning), fr))
    return "\n".join(rows)


def first(blocks, pred, what):
    for b in blocks:
        if pred(b):
            return b
    raise RuntimeError("no %s in the trace" % what)


def call_snippets(pbx, blocks, pcap):
    amine = "%s:5060" % NET.ip(1)
    chhiny = "%s:5060" % NET.ip(2)
    names = names_of(pbx, {amine: "amine", chhiny: "chhinyleboss"})
    s = {"pbx": pbx.sip, "amine": amine, "chhiny": chhiny}

    def from_amine(b):
        return who(b.src, names) == "amine"

    reg = [b for b in blocks if b.msg.header("call-id") == first(
        blocks, lambda b: from_amine(b) and b.start.startswith("REGISTER"),
        "REGISTER").msg.header("call-id")]
    s["register_flow"] = "\n\n".join(fence(b.block()) for b in reg[:4])
    s["register_auth_fields"] = field_table(reg[2]) if len(reg) > 2 else ""
    s["register_ladder"] = ladder(reg[:4], names, ["amine", "lunapbx"])

    inv1 = first(blocks, lambda b: from_amine(b) and b.start.startswith("INVITE"), "INVITE")
    a_cid = inv1.msg.header("call-id")
    b_inv = first(blocks, lambda b: b.dir == "send" and b.start.startswith("INVITE")
                  and who(b.dst, names) == "chhinyleboss", "INVITE to chhinyleboss")
    b_cid = b_inv.msg.header("call-id")
    call = [b for b in blocks if b.msg.header("call-id") in (a_cid, b_cid)]
    s["call_ladder"] = ladder(call, names, ["amine", "lunapbx", "chhinyleboss"])
    s["invite_first"] = fence(inv1.block())
    p407 = first(call, lambda b: b.msg.code == 407, "407")
    s["invite_407"] = fence(p407.block())
    inv2 = first(call, lambda b: from_amine(b) and b.start.startswith("INVITE")
                 and b.msg.header("proxy-authorization"), "authenticated INVITE")
    s["invite_auth"] = fence(inv2.block())
    s["invite_fields"] = field_table(inv2)
    s["invite_sdp_fields"] = sdp_table(inv2)
    s["b_invite"] = fence(b_inv.block())
    b_ok = first(call, lambda b: b.msg.code == 200 and b.msg.method == "INVITE"
                 and who(b.src, names) == "chhinyleboss", "200 from chhinyleboss")
    s["b_answer"] = fence(b_ok.block())
    a_ok = first(call, lambda b: b.msg.code == 200 and b.msg.method == "INVITE"
                 and who(b.dst, names) == "amine", "200 to amine")
    s["a_answer"] = fence(a_ok.block())
    s["a_answer_sdp_fields"] = sdp_table(a_ok)
    bye = [b for b in call if b.start.startswith("BYE") or
           (b.msg.is_response and b.msg.method == "BYE")]
    s["bye_blocks"] = "\n\n".join(fence(b.block()) for b in bye)
    s["a_callid"], s["b_callid"] = a_cid, b_cid

    rc, out, err = tshark(pcap, "-q", "-z", "rtp,streams")
    s["rtp_streams"] = fence(out.strip() if rc == 0 else err)
    rc, out, err = tshark(pcap, "-Y", "rtcp", "-T", "fields", "-e", "frame.time_relative",
                          "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e",
                          "udp.dstport", "-e", "rtcp.pt", "-e", "rtcp.ssrc.fraction",
                          "-e", "rtcp.ssrc.jitter", "-E", "header=y")
    s["rtcp_packets"] = fence(out.strip() if rc == 0 else err)
    rc, out, err = tshark(pcap, "-Y", "rtp", "-T", "fields", "-e", "frame.number")
    num = out.split()[0] if rc == 0 and out.split() else "0"
    rc, out, err = tshark(pcap, "-Y", "frame.number == %s" % num, "-V", "-O", "rtp")
    m = re.search(r"Real-Time Transport Protocol.*?(?=\n\S|\Z)", out, re.S)
    s["rtp_packet"] = fence(m.group(0) if m else out[:1500] or err)
    s["pcap_summary"] = fence(tshark(pcap, "-Y", "sip")[1].strip())
    return s


def video_snippets(pbx, blocks, pcap):
    amine = "%s:5060" % NET.ip(1)
    names = names_of(pbx, {amine: "amine"})
    s = {}
    inv = first(blocks, lambda b: who(b.src, names) == "amine" and b.start.startswith("INVITE")
                and b.msg.header("proxy-authorization"), "video INVITE")
    s["video_invite_sdp"] = fence(inv.msg.body.strip())
    s["video_sdp_fields"] = sdp_table(inv, start="m=video")
    ok = first(blocks, lambda b: b.msg.code == 200 and b.msg.method == "INVITE"
               and who(b.dst, names) == "amine", "200 to amine (video)")
    s["video_answer_sdp"] = fence(ok.msg.body.strip())
    rc, out, err = tshark(pcap, "-q", "-z", "rtp,streams")
    s["video_rtp_streams"] = fence(out.strip() if rc == 0 else err)
    rows = [r.split("\t") for r in tshark(pcap, "-Y", "rtp.p_type >= 96", "-T", "fields",
                                           "-e", "frame.number", "-e", "udp.srcport",
                                           "-e", "udp.dstport", "-e", "rtp.marker",
                                           "-e", "rtp.timestamp")[1].splitlines() if r]
    num = rows[0][0] if rows else "0"
    rc, out, err = tshark(pcap, "-Y", "frame.number == %s" % num, "-V", "-O", "rtp,vp8")
    m = re.search(r"Real-Time Transport Protocol.*", out, re.S)
    s["video_rtp_packet"] = fence(m.group(0).strip() if m else out[:1500] or err)
    # one stream: the first (source, destination) pair
    one = [r for r in rows if rows and r[1:3] == rows[0][1:3]]
    stamps = sorted(set(int(r[4]) for r in one if len(r) > 4 and r[4].isdigit()))
    steps = [b - a for a, b in zip(stamps, stamps[1:])]
    marks = sum(1 for r in one if len(r) > 3 and r[3] in ("1", "True"))
    s["video_frames"] = ("In the first video stream of the capture: %d packets, %d frames "
                         "(distinct time stamps), %d packets with the marker bit, time stamps "
                         "%d apart on average (%.1f frames a second at 90 kHz)."
                         % (len(one), len(stamps), marks,
                            sum(steps) / len(steps) if steps else 0,
                            90000 * len(steps) / sum(steps) if steps and sum(steps) else 0))
    rc, out, err = tshark(pcap, "-Y", "rtcp", "-T", "fields", "-e", "frame.time_relative",
                          "-e", "ip.src", "-e", "udp.srcport", "-e", "ip.dst", "-e",
                          "udp.dstport", "-e", "rtcp.pt", "-E", "header=y")
    s["video_rtcp"] = fence(out.strip() if rc == 0 else err)
    return s


def answer_of(blocks, res, code):
    """The PBX's final answer for this entry, and the request it answers."""
    cid = res.call_id
    ans = [b for b in blocks if b.dir == "send" and b.msg.header("call-id") == cid
           and b.msg.code == code]
    if not ans:
        return None, None
    a = ans[0]
    cseq = a.msg.header("cseq")
    req = [b for b in blocks if b.dir == "recv" and b.msg.header("call-id") == cid
           and not b.msg.is_response and b.msg.header("cseq") == cseq]
    return a, (req[0] if req else None)


def callee_answer(blocks, names, code):
    got = [b for b in blocks if b.dir == "recv" and who(b.src, names) == "chhinyleboss"
           and b.msg.code == code]
    return got[-1] if got else None


def catalog_snippets(pbx, blocks, todo, results):
    names = names_of(pbx, {"%s:5062" % NET.ip(2): "chhinyleboss"})
    rows = ["| code | reason | case | *en français* |", "| --- | --- | --- | --- |"]
    secs = []
    groups = {"register": "Registration", "call": "Calls", "trunk": "Trunks",
              "request": "Requests refused before anything else"}
    section = None
    for e in todo:
        if e.section != section:
            section = e.section
            secs.append("### %s\n" % groups[section])
        res = results[e.key]
        rows.append("| %d | %s | [%s](#%s) | *%s* |" % (e.code, e.reason, e.title, e.key,
                                                       e.french))
        ans, req = answer_of(blocks, res, e.code)
        parts = ['<a id="%s"></a>' % e.key,
                 "#### %d %s: %s" % (e.code, e.reason, e.title),
                 "*%s*" % e.french, "",
                 "**How to provoke it.** %s" % e.how, "",
                 "**Tool.** `%s` (%s)" % (e.tool, "the test is spec/e2e/%s" % {
                     "register": "82_errors_requests.t", "request": "82_errors_requests.t",
                     "call": "83_errors_calls.t", "trunk": "89_errors_trunk.t"}[e.section]),
                 ""]
        if req is not None:
            parts += ["The request, as lunapbx received it%s:" % (
                " " + req.note if req.note else ""), "", fence(req.block()), ""]
        if e.section == "call" and e.key in ("busy", "declined"):
            cb = callee_answer(blocks, names, e.code)
            if cb is not None:
                parts += ["chhinyleboss's phone answered the PBX:", "", fence(cb.block()), ""]
        if ans is not None:
            parts += ["**What lunapbx answers:**", "", fence(ans.block()), ""]
        for ok, name, _ in res.checks:
            parts.append("- %s %s" % ("checked:" if ok else "NOT as expected:", name))
        secs.append("\n".join(parts).rstrip() + "\n")
    return {"catalog_table": "\n".join(rows), "catalog_sections": "\n".join(secs),
            "catalog_count": str(len(todo))}


def render(snippets):
    with open(TEMPLATE) as f:
        text = f.read()

    def sub(m):
        k = m.group(1)
        if k not in snippets:
            raise KeyError("template: no snippet {{%s}}" % k)
        return snippets[k]

    return re.sub(r"\{\{([a-z0-9_]+)\}\}", sub, text)


def version():
    try:
        out = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             capture_output=True, text=True).stdout.strip()
    except OSError:
        out = ""
    return out or "unknown"


def main():
    if not os.path.exists(proc.pbx_binary()):
        sys.exit("walkthrough: %s not built (run make)" % proc.pbx_binary())
    try:
        say("part 1: registration and a call (baresip)")
        pbx1, blocks1, pcap = run_call()
        say("part 3: a video call (baresip, VP8)")
        pbx3, blocks3, vpcap = run_call(video="VP8")
        say("part 2: the error catalog (sipp)")
        pbx2, blocks2, todo, results = run_catalog()
        snippets = {"date": datetime.date.today().isoformat(), "version": version()}
        snippets.update(call_snippets(pbx1, blocks1, pcap))
        snippets.update(video_snippets(pbx3, blocks3, vpcap))
        snippets.update(catalog_snippets(pbx2, blocks2, todo, results))
        os.makedirs(TRACES, exist_ok=True)
        for src, name in ((pcap, "walkthrough.pcap"), (vpcap, "video.pcap")):
            shutil.copyfile(src, os.path.join(TRACES, name))
            os.chmod(os.path.join(TRACES, name), 0o644)
        with open(os.path.join(TRACES, "walkthrough-trace.txt"), "w") as f:
            f.write("# lunapbx --sip-trace: registration and a call (docs/tools/walkthrough.py)\n\n")
            f.write("\n".join(b.block() for b in blocks1))
            f.write("\n# a video call\n\n")
            f.write("\n".join(b.block() for b in blocks3))
            f.write("\n# the error catalog\n\n")
            f.write("\n".join(b.block() for b in blocks2))
        with open(OUT, "w") as f:
            f.write(render(snippets))
        say("wrote %s and docs/traces/" % os.path.relpath(OUT, ROOT))
    finally:
        proc.cleanup()


if __name__ == "__main__":
    main()
