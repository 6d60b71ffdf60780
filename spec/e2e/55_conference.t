#!/usr/bin/env python3
# Conference room `main` of dialplans/default.lua (extension 6, ConfBridge's
# default profiles), with three baresip phones each sending its own tone:
#   - each hears the other two and never itself, the last one joining
#     after a reload (the room is the same for every generation);
#   - one keys 1 (muted): the others stop hearing it, it still hears them;
#     1 again and it is heard again;
#   - one hangs up: the two others hear each other and not it any more;
#   - one keys 8 (leave): its call ends; the last one hangs up;
#   - the console's rooms() shows the room and who is muted, while it is up;
#   - nothing is left once the room empties: no call, no leg, and the
#     PBX's file descriptors back to where they were.
# First, a caller without SDP in its INVITE (sipp, a late offer) joins
# alone: "you are the only person" waits for the ACK's answer, then plays.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.conf import Room, tone_phone  # noqa: E402
from lunatest.rtp import RtpPeer  # noqa: E402

net = Net(55)
HZ = {"zoiper": 500, "xlite": 800, "blink": 1250}

with Tap(timeout=90) as t:
    t.require_pbx()
    with open(os.path.join(ROOT, "dialplans", "default.lua")) as f:
        config = f.read()
    pbx = Pbx(config, listen="%s:5070" % net.ip(0))
    phones = {w: tone_phone(w, net.ip(1 + k), pbx, "vitrygtr", net.phone_rtp(k), HZ[w])
              for k, w in enumerate(HZ)}
    for w, ph in phones.items():
        t.ok(ph.registered(10), "%s (baresip) registers" % w, diag=ph.reginfo)
    zoiper, xlite, blink = (phones[w] for w in HZ)
    lab = PhoneLab(t, pbx, phones, HZ)
    t.ok(lab.settle_fds(zoiper, "6002", xlite), "a first call (zoiper to 6002) opens the"
         " media machinery")
    room = Room(t, pbx, phones, HZ)

    # -- a late offer joins alone: its prompt plays once the ACK came
    peer = RtpPeer(net.ip(5), net.media_port(5))
    mark = pbx.log_mark()
    late = Sipp("uac_late_offer.xml", local="%s:5060" % net.ip(5),
                media="%s:%d" % (net.ip(5), net.media_port(4)), remote=pbx.sip, service="6",
                keys={"user": "bria"}, auth=("bria", "vitrygtr"), timeout=20, template={
                    "answer_ip": net.ip(5), "hold_ms": 5000,
                    "answer": "m=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000" % peer.port})
    r = late.run()
    t.sipp_ok(r, "bria (sipp, INVITE without SDP) calls 6, answers the PBX's offer in its"
              " ACK, hangs up 5 s later")
    log = pbx.log_since(mark)
    t.like(log, r"confbridge main: 6004 joins \(1 in the room\)", "... bria was in room main")
    t.unlike(log, r"dialplan error", "... no dialplan error")
    pcm = peer.pcm(0)
    loud = sum(1 for i in range(0, len(pcm) - 160, 160)
               if sum(abs(x) for x in pcm[i:i + 160]) / 160 > 300)
    t.ok(loud >= 50, "... and heard \"you are the only person\" (%.1f s of speech)" % (loud / 50.0))
    peer.close()
    t.ok(pbx.wait_log(r"room main ends", 5, since=mark), "... then the room ended")

    # -- three join: zoiper alone first ("you are the only person"), then the
    # others; the configuration is reloaded before the last one: the new
    # generation's scripts find the same room
    for w in HZ:
        if w == "blink":
            r = console_exec(pbx, "reload()")
            t.like(r.out, r"generation 2 in force", "console reload(): generation 2",
                   diag=r.diag)
        t.ok(room.join(w, "6"), "%s calls 6 and is answered" % w)
        time.sleep(2)
    t.like(pbx.log_text(), r"confbridge main: 6003 joins \(3 in the room\)",
           "the three are in room main")
    a = room.now()
    time.sleep(5)
    all3 = (a, room.now())
    r = console_exec(pbx, "rooms()")
    t.like(r.out, r"main\s+3\s", "console rooms(): main with 3 parties", diag=r.diag)

    # -- blink mutes itself (1), then unmutes (1)
    blink.send_dtmf("1")
    t.ok(pbx.wait_log(r"DTMF '1'", 3), "blink keys 1")
    time.sleep(2.5)                          # "you are now muted"
    r = console_exec(pbx, "rooms('main')")
    t.like(r.out, r"Blink <6003>\s+-\s+yes", "console rooms('main'): blink muted",
           diag=r.diag)
    a = room.now()
    time.sleep(4)
    muted = (a, room.now())
    blink.send_dtmf("1")
    time.sleep(3)                            # "you are no longer muted"

    # -- xlite hangs up: zoiper and blink go on
    xlite.hangup()
    t.ok(xlite.wait_event("CALL_CLOSED", 5), "xlite hangs up")
    time.sleep(1)
    a = room.now()
    time.sleep(4)
    two = (a, room.now())

    # -- blink leaves with 8; zoiper, alone, hangs up
    blink.send_dtmf("8")
    t.ok(blink.wait_event("CALL_CLOSED", 6), "blink keys 8: it leaves the room, its call ends")
    t.like(pbx.log_text(), r"6003 leaves: DTMF", "... CONFBRIDGE_RESULT DTMF")
    time.sleep(1)
    zoiper.hangup()
    t.ok(zoiper.wait_event("CALL_CLOSED", 5), "zoiper hangs up")
    t.ok(pbx.wait_log(r"room main ends", 5), "the room ends with its last participant")

    room.check("zoiper", all3, ["xlite", "blink"], ["zoiper"], "all three")
    room.check("xlite", all3, ["zoiper", "blink"], ["xlite"], "all three")
    room.check("blink", all3, ["zoiper", "xlite"], ["blink"], "all three")
    room.check("zoiper", muted, ["xlite"], ["blink"], "blink muted")
    room.check("xlite", muted, ["zoiper"], ["blink"], "blink muted")
    room.check("blink", muted, ["zoiper", "xlite"], ["blink"], "blink muted")
    room.check("zoiper", two, ["blink"], ["xlite"], "xlite gone")
    room.check("blink", two, ["zoiper"], ["xlite"], "xlite gone")
    lab.leftovers("the room emptied")
    pbx.finish(t)
