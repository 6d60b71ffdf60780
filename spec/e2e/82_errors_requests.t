#!/usr/bin/env python3
# The SIP error catalog, part 1: registration errors and requests the PBX
# refuses before anything else (docs/sip-walkthrough.md lists them; the
# table is spec/support/lunatest/catalog.py).  Each entry is provoked with
# sipp as a person would, and must get its status code and reason phrase
# (and, where it matters, the header that says why).
import os
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.catalog import Lab, check, config, entries  # noqa: E402

net = Net(82)         # 127.S.82.10-19


with Tap(timeout=90) as t:
    t.require_pbx()
    pbx = Pbx(config(net), listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started (%s)" % pbx.sip)
    lab = Lab(net, pbx)
    for e in entries("register") + entries("request"):
        check(t, e, e.run(lab))
    pbx.finish(t)
