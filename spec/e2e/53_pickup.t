#!/usr/bin/env python3
# Call pickup with real phones (baresip) on dialplans/default.lua: the four
# lab phones are in callgroup 1 and pickupgroup 1; xlite is registered
# from two phones (two contacts: a call to 6002 rings both).  A pickup hook
# (pbx.on_pickup) refuses bria's directed pickups.  Audio checked:
#   - *8: amine calls 6002, both xlite phones ring; bria dials *8 and talks
#     with amine; both xlite phones stop ringing (CANCEL)
#   - **6002 (Asterisk's Pickup()): chhinyleboss, in no group, takes the
#     call ringing 6002
#   - refused: chhinyleboss dials *8 (not in pickup group 1) and bria dials
#     **6002 (the hook says no): each hears "no call to pick up", xlite
#     rings on
# After each, no call, no leg, and the PBX's descriptors back.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.audio import SILENCE_RMS  # noqa: E402

net = Net(53)
HZ = {"amine": 600, "xlite": 1000, "xlite2": 1200, "bria": 1450, "chhinyleboss": 1800}
USER = {"xlite2": "xlite"}

with open(os.path.join(ROOT, "dialplans", "default.lua")) as f:
    CONFIG = f.read() + """
-- the test's: bria may not pick up a given phone's call
pbx.on_pickup(function(p)
  pbx.log("info", "on_pickup: %s by %s of %s", p.kind, p.by.endpoint, p.endpoint)
  if p.kind == "directed" and p.by.endpoint == "bria" then return false end
end)
"""


with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ, manual=("xlite", "xlite2"), limit=140,
                            password=demo_password, users=USER)
    phones = lab.phones
    amine, xa, xb = phones["amine"], phones["xlite"], phones["xlite2"]
    bria, chhiny = phones["bria"], phones["chhinyleboss"]
    t.ok(lab.settle_fds(amine, "6004", bria), "a first call: amine calls 6004 (bria)")
    rec = lab.recorder()

    def ring_6002():
        amine.dial("sip:6002@%s" % pbx.sip)
        ok = xa.wait_event("CALL_INCOMING", 10) and xb.wait_event("CALL_INCOMING", 10)
        t.ok(ok, "amine calls 6002: both xlite phones ring")
        time.sleep(1)

    def picked(picker, what):
        t.ok(picker.wait_event("CALL_ESTABLISHED", 10) and
             amine.wait_event("CALL_ESTABLISHED", 5),
             "%s: the picker and amine are answered" % what)
        t.ok(xa.wait_event("CALL_CLOSED", 5) and xb.wait_event("CALL_CLOSED", 5),
             "%s: both xlite phones stop ringing" % what)
        time.sleep(3)
        t.ok(lab.hang(amine, picker), "%s: amine hangs up, the picker's call ends" % what)
        ra, rp = rec("amine"), rec(picker.name)
        lab.only(ra, picker.name, ["xlite", "xlite2"], "%s: amine" % what)
        lab.only(rp, "amine", [], "%s: %s" % (what, picker.name))

    # -- 1. *8 ---------------------------------------------------------------------------
    mark = pbx.log_mark()
    ring_6002()
    bria.dial("sip:*8@%s" % pbx.sip)
    picked(bria, "*8 by bria")
    t.like(pbx.log_since(mark), r"picks up dial \d+ \(xlite ringing, group\)",
           "the log says bria picked up the call ringing xlite")
    lab.leftovers("*8")

    # -- 2. **6002 -----------------------------------------------------------------------
    mark = pbx.log_mark()
    ring_6002()
    chhiny.dial("sip:**6002@%s" % pbx.sip)
    picked(chhiny, "**6002 by chhinyleboss")
    t.like(pbx.log_since(mark), r"\(xlite ringing, directed\)", "... a directed pickup")
    lab.leftovers("**6002")

    # -- 3. refused --------------------------------------------------------------------------
    mark = pbx.log_mark()
    ring_6002()
    chhiny.dial("sip:*8@%s" % pbx.sip)
    t.ok(chhiny.wait_event("CALL_ESTABLISHED", 10) and chhiny.wait_event("CALL_CLOSED", 10),
         "chhinyleboss (no pickup group) dials *8: told there is none, hung up")
    bria.dial("sip:**6002@%s" % pbx.sip)
    t.ok(bria.wait_event("CALL_ESTABLISHED", 10) and bria.wait_event("CALL_CLOSED", 10),
         "bria dials **6002: the hook refuses, told there is none, hung up")
    t.like(pbx.log_since(mark), r"on_pickup: directed by bria of xlite", "... the hook was asked")
    t.ok(not xa.wait_event("CALL_CLOSED", 0.2) and not amine.wait_event("CALL_ESTABLISHED", 0.2),
         "xlite still rings, amine still waits")
    amine.hangup()
    t.ok(xa.wait_event("CALL_CLOSED", 5) and xb.wait_event("CALL_CLOSED", 5),
         "amine gives up: the xlite phones stop ringing")
    rc, rb = rec("chhinyleboss"), rec("bria")
    t.ok(rc and rms(rc, 0.2, 1.5) > 2 * SILENCE_RMS, "chhinyleboss hears it said")
    t.ok(rb and rms(rb, 0.2, 1.5) > 2 * SILENCE_RMS, "bria hears it said")
    lab.leftovers("refused")

    for ph in phones.values():
        ph.stop()
    pbx.finish(t)
