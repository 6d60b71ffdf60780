#!/usr/bin/env python3
# The SIP error catalog, part 3: a trunk whose server is down (catalog.py
# entry trunk-down).  Needs the trunks (pbx.peer, call:dial{ trunk = ... },
# qualify): in a build without them the PBX refuses the configuration and
# every assertion here is a TODO.
import os
import sys
import time
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.catalog import Lab, check, config, entries  # noqa: E402

net = Net(89)         # 127.S.89.10-19; the dead provider is ip(9)
TODO = "trunks (pbx.peer) are not in this build"

with Tap(timeout=60) as t:
    t.require_pbx()
    try:
        pbx = Pbx(config(net, trunk_host=net.ip(9)), listen="%s:5070" % net.ip(0))
    except PbxError as err:
        if "peer" not in str(err):
            raise
        for e in entries("trunk"):
            t.ok(False, "%s: %s -> %d %s" % (e.key, e.title, e.code, e.reason), todo=TODO,
                 diag=str(err)[-400:])
        t.done()
    t.ok(pbx.alive(), "lunapbx started with a peer 'provider' at %s:5099, qualify 200 ms"
         % net.ip(9))
    time.sleep(1.5)           # the first OPTIONS goes unanswered: unreachable
    lab = Lab(net, pbx)
    for e in entries("trunk"):
        check(t, e, e.run(lab))
    pbx.finish(t)
