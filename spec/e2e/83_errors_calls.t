#!/usr/bin/env python3
# The SIP error catalog, part 2: calls that fail (docs/sip-walkthrough.md;
# table in spec/support/lunatest/catalog.py).  amine calls with sipp;
# chhinyleboss's phone is a sipp UAS that rings, refuses or never answers;
# dave registered and his phone died (408 after RFC 3261 timer B, 32 s: that
# entry runs in the background while the others do).
import os
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.catalog import Lab, check, config, entries  # noqa: E402

net = Net(83)         # 127.S.83.10-19


with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(config(net), listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started (%s)" % pbx.sip)
    lab = Lab(net, pbx)
    callee, dave = lab.setup()
    t.sipp_ok(callee, "chhinyleboss's phone (sipp) registers")
    t.sipp_ok(dave, "dave's phone registers, then goes away without unregistering")

    calls = entries("call")
    background = [(e, e.run(lab)) for e in calls if e.background]
    for e in calls:
        if not e.background:
            check(t, e, e.run(lab))
    for e, sipp in background:
        check(t, e, e.finish(sipp, timeout=60))
    pbx.finish(t)
