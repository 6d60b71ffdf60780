#!/usr/bin/env python3
# Transfers across the seed's trunk (dialplans/seed-a.lua, seed-b.lua as
# shipped: features #1 and *2, Dial's tT options), real phones and audio:
#   - amine (A) calls 900 over the trunk; chhinyleboss (B) keys #1 6000: the
#     call from A goes to zoiper, the other phone of B
#   - zoiper (B) calls 900; chhinyleboss keys *2 100, a number across the
#     trunk: amine (A) answers, chhinyleboss hangs up, zoiper and amine talk
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(73)
HZ = {"amine": 700, "chhinyleboss": 1100, "zoiper": 1500}


def seed(name):
    with open(os.path.join(ROOT, "dialplans", name)) as f:
        return f.read()


with Tap(timeout=150) as t:
    t.require_pbx()
    a_sip, b_sip = "%s:5060" % net.ip(0), "%s:5060" % net.ip(1)
    pbx_a = Pbx(seed("seed-a.lua"), listen=a_sip, name="pbx-a")
    os.environ["SEED_A"] = a_sip
    pbx_b = Pbx(seed("seed-b.lua"), listen=b_sip, name="pbx-b")
    t.ok(pbx_b.wait_log(r"register trunk_A_vers_B: registered with", 10),
         "B registers to A over the trunk", diag=lambda: pbx_b.log_tail(10))
    phones = {
        "amine": Phone("amine", net.ip(2), registrar=a_sip, password="test",
                       rtp_ports=net.phone_rtp(0), tone_hz=HZ["amine"], limit=140),
        "chhinyleboss": Phone("chhinyleboss", net.ip(3), registrar=b_sip, password="vitrygtr",
                              rtp_ports=net.phone_rtp(1), tone_hz=HZ["chhinyleboss"],
                              limit=140),
        "zoiper": Phone("zoiper", net.ip(4), registrar=b_sip, password="vitrygtr",
                        rtp_ports=net.phone_rtp(2), tone_hz=HZ["zoiper"], limit=140),
    }
    for who, ph in phones.items():
        t.ok(ph.registered(10), "%s registers" % who, diag=ph.reginfo)
    amine, chhiny, zoiper = phones["amine"], phones["chhinyleboss"], phones["zoiper"]
    lab = PhoneLab(t, pbx_b, phones, HZ)

    # -- 1. a call from A, blind-transferred to another phone of B -------------------
    mb = pbx_b.log_mark()
    amine.dial("sip:900@%s" % a_sip)
    t.ok(chhiny.wait_event("CALL_ESTABLISHED", 10) and amine.wait_event("CALL_ESTABLISHED", 5),
         "amine (A) calls 900: chhinyleboss (B) answers over the trunk")
    time.sleep(2)
    chhiny.send_dtmf("#16000")
    t.ok(zoiper.wait_event("CALL_ESTABLISHED", 15), "chhinyleboss keys #1 6000: zoiper answers",
         diag=lambda: tail(pbx_b.log_since(mb), 25))
    t.ok(chhiny.wait_event("CALL_CLOSED", 5), "... chhinyleboss's leg ends")
    time.sleep(3)
    t.ok(lab.hang(amine, zoiper), "amine hangs up: the hang-up crosses the trunk, zoiper's ends")
    ra, rz = amine.wait_recording(1), zoiper.wait_recording(1)
    lab.order(ra and ra["dec"], "chhinyleboss", "zoiper", "amine (A)")
    lab.only(rz and rz["dec"], "amine", ["chhinyleboss"], "zoiper (B)")
    chhiny.wait_recording(1)
    fresh_names()          # baresip names recordings by the second

    # -- 2. an attended transfer to a number across the trunk --------------------------
    mb = pbx_b.log_mark()
    t.ok(lab.call(zoiper, "900", chhiny), "zoiper calls 900: chhinyleboss answers")
    time.sleep(2)
    chhiny.send_dtmf("*2100")
    t.ok(amine.wait_event("CALL_ESTABLISHED", 15),
         "chhinyleboss keys *2 100: amine answers on A, across the trunk",
         diag=lambda: tail(pbx_b.log_since(mb), 25))
    time.sleep(3)
    lab.hang(chhiny)
    time.sleep(3)
    t.ok(not zoiper.wait_event("CALL_CLOSED", 0.2) and not amine.wait_event("CALL_CLOSED", 0.2),
         "chhinyleboss hangs up: zoiper and amine talk")
    t.like(pbx_b.log_since(mb), r"transfer done: leg \d+ with leg \d+", "... transfer done on B")
    t.ok(lab.hang(zoiper, amine), "zoiper hangs up: amine's call ends")
    ra, rz, rc = amine.wait_recording(2), zoiper.wait_recording(2), chhiny.wait_recording(2)
    lab.order(ra and ra["dec"], "chhinyleboss", "zoiper", "amine (A, attended)")
    lab.order(rz and rz["dec"], "chhinyleboss", "amine", "zoiper (attended)")
    lab.order(rc and rc["dec"], "zoiper", "amine", "chhinyleboss (attended)")

    for ph in phones.values():
        ph.stop()
    pbx_a.finish(t)
    pbx_b.finish(t)
