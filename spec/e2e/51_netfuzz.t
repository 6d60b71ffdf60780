#!/usr/bin/env python3
# The network fuzzer: batches of mutated SIP datagrams and TCP streams
# (lunatest/mutate.py on the RFC 4475 messages and the walkthrough's
# trace) sent at a running PBX -- under make test the ASan build does it
# too (build/asan-e2e/) -- which must be alive and answer an OPTIONS ping
# with 200 after every batch, and end with no sanitizer report.  The
# limits are off here (the fuzzer is one source sending fast: the parser
# is what is fuzzed, not the limiter).  LUNAPBX_FUZZ_SEED replays a run.
import os
import random
import socket
import sys
import time
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.mutate import mutate  # noqa: E402
from lunatest.siptrace import parse_trace  # noqa: E402
from torture import RawSip, load_torture, options_ping, rewrite_top_via  # noqa: E402

net = Net(51)         # 127.S.51.10-19
BATCHES, DATAGRAMS, STREAMS = 16, 250, 4
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s", guest_context = "public",
               security = { request_rate = 0, auth_failures = 0 } }
pbx.endpoint "alice" { secret = "alicepw", context = "public" }
pbx.context "public" {
  ["_1."] = function(call) call:hangup(486) end,
  ["_X."] = function(call) call:answer() call:hangup() end,
}
""" % net.pbx_rtp


def seeds(target, me):
    out = []
    for data in load_torture().values():
        d, _ = rewrite_top_via(data, me)
        out.append(d)
    with open(os.path.join(ROOT, "docs", "traces", "walkthrough-trace.txt"),
              encoding="utf-8", errors="replace") as f:
        for b in parse_trace(f.read()):
            if b.dir == "recv" and not b.msg.is_response:
                lines = b.text.rstrip("\n").split("\n")
                i = lines.index("") if "" in lines else len(lines)
                msg = ("\r\n".join(lines[:i]) + "\r\n\r\n" + "\r\n".join(lines[i + 1:])).encode()
                d, _ = rewrite_top_via(msg, me)
                out.append(d)
    return out


def tcp_stream(addr, chunks):
    try:
        s = socket.create_connection(addr, timeout=1)
        for c in chunks:
            s.sendall(c)
        s.settimeout(0.05)
        try:
            while s.recv(65536):
                pass
        except (socket.timeout, OSError):
            pass
        s.close()
    except OSError:
        pass


with Tap(timeout=170) as t:
    t.require_pbx()
    seed = int(os.environ.get("LUNAPBX_FUZZ_SEED") or time.time())
    t.note("seed %d (LUNAPBX_FUZZ_SEED=%d replays this run)" % (seed, seed))
    rng = random.Random(seed)
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0), verbose=False)
    target = (pbx.ip, pbx.port)
    fuzz = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    fuzz.bind((net.ip(1), 5060))
    fuzz.setblocking(False)
    corpus = seeds(target, "%s:5060" % net.ip(1))
    t.ok(len(corpus) > 100, "%d seed messages" % len(corpus))
    pinger = RawSip(net.ip(2), 5060, target)
    sent = 0
    for batch in range(BATCHES):
        for _ in range(DATAGRAMS):
            try:
                fuzz.sendto(mutate(rng, corpus), target)
                sent += 1
            except OSError:
                pass
            try:
                while fuzz.recv(65536):
                    pass
            except (BlockingIOError, OSError):
                pass
        for _ in range(STREAMS):
            tcp_stream(target, [mutate(rng, corpus) for _ in range(rng.randint(1, 5))])
        alive = pbx.alive()
        pong = options_ping(pinger, pbx.sip, timeout=3) if alive else None
        good = alive and pong is not None and pong.code == 200
        t.ok(good, "batch %d (%d datagrams, %d TCP streams): the PBX is alive and answers"
             " OPTIONS with 200" % (batch + 1, DATAGRAMS, STREAMS),
             diag=lambda: "PBX %s; log tail:\n%s" % (
                 "running" if alive else "exited rc=%s" % pbx.proc.returncode,
                 pbx.log_tail(40)))
        if not good:
            break
    t.note("%d mutated datagrams sent" % sent)
    fuzz.close()
    pinger.close()
    pbx.finish(t)
