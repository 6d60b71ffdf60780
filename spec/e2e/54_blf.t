#!/usr/bin/env python3
# Busy lamps (RFC 4235 dialog events) on dialplans/default.lua: two sipp
# BLF keys SUBSCRIBE (Event: dialog), one to extension 6002 (xlite), one
# to parking space 701, and read every NOTIFY's dialog-info document;
# baresip phones make the calls, the audio is checked:
#   - amine calls 6002, xlite rings: 6002's lamp says trying, then early,
#     with the dialog's Call-ID and tags; a sipp phone (bria) sends an INVITE
#     with Replaces built from them (what a BLF key does): it picks the
#     call up, xlite stops ringing (terminated, cancelled), amine and bria
#     talk (tones both ways)
#   - the configuration is reloaded: both subscriptions go on
#   - amine is parked at 701 (#1 700): 701's lamp says confirmed, showing
#     amine; xlite retrieves it: terminated
#   - amine calls 6002 and xlite answers: trying, early, confirmed, then
#     terminated when amine hangs up
#   - the keys un-SUBSCRIBE: a final NOTIFY "terminated"
# Each document: full state, its version counting up from 0, the entity.
import os
import re
import signal
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.rtp import RtpPeer  # noqa: E402
from lunatest.sippfrag import ACK_2XX, reply  # noqa: E402

net = Net(54)
HZ = {"amine": 600, "xlite": 1000, "chhinyleboss": 1450, "bria": 1800}

with open(os.path.join(ROOT, "dialplans", "default.lua")) as f:
    CONFIG = f.read()

WAIT_BYE = reply("BYE", timeout_ms=30000)


def notifies(sipp):
    """The NOTIFY documents a key received so far, in order."""
    return [m.body for m in sipp.messages() if m.dir == "recv" and m.start.startswith("NOTIFY")]


def states(doc):
    return re.findall(r"<state[^>]*>(\w+)</state>", doc)


def wait_doc(sipp, pred, timeout=10):
    found = wait_until(lambda: next((d for d in notifies(sipp) if pred(d)), None), timeout)
    return found


with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ, names=("amine", "xlite", "chhinyleboss"),
                            manual=("xlite",), limit=140, password=demo_password)
    phones = lab.phones
    amine, xlite, chhiny = phones["amine"], phones["xlite"], phones["chhinyleboss"]

    def key(user, resource, stop_version, port):
        return Sipp("dialog_subscribe.xml", local="%s:%d" % (net.ip(4), port), remote=pbx.sip,
                    service=resource, keys={"user": user}, auth=(user, "vitrygtr"), timeout=120,
                    template={"stop_version": stop_version, "idle_ms": 60000},
                    name="blf-" + resource).start()

    # 6002: v0 idle; the pickup: trying, early, terminated; xlite's own call
    # to 701: trying, confirmed, terminated; the answered call: trying,
    # early, confirmed, terminated (v10).  701: v0, confirmed, terminated.
    k6002 = key("bria", "6002", 10, 5061)
    k701 = key("blink", "701", 2, 5062)
    d0 = wait_doc(k6002, lambda d: True, 5)
    t.ok(d0 and 'version="0"' in d0 and 'state="full"' in d0 and
         ('entity="sip:6002@%s"' % pbx.sip) in d0 and not states(d0),
         "a key SUBSCRIBEs to 6002: a full dialog-info document, version 0, no dialog",
         diag=repr(d0))
    d1 = wait_doc(k701, lambda d: True, 5)
    t.ok(d1 and ('entity="sip:701@%s"' % pbx.sip) in d1 and not states(d1),
         "another to parking space 701: idle", diag=repr(d1))

    # -- 1. early, then picked up by INVITE/Replaces ----------------------------------------
    mark = pbx.log_mark()
    amine.dial("sip:6002@%s" % pbx.sip)
    t.ok(xlite.wait_event("CALL_INCOMING", 10), "amine calls 6002: xlite rings")
    early = wait_doc(k6002, lambda d: "early" in states(d))
    t.ok(early, "6002's lamp: early", diag=lambda: repr(notifies(k6002)))
    t.ok(any("trying" in states(d) for d in notifies(k6002)), "... after trying")
    m = early and re.search(r'<dialog id="[^"]+" call-id="([^"]+)" local-tag="([^"]+)"'
                            r' remote-tag="([^"]+)" direction="recipient">', early)
    t.ok(m, "... the dialog's Call-ID, tags, direction recipient", diag=repr(early))
    t.ok(early and re.search(r'<local><identity display="Xlite">sip:6002@', early) and
         re.search(r'<remote><identity display="Amine">sip:100@', early),
         "... local: Xlite 6002, remote: Amine 100", diag=repr(early))
    bria_port = net.media_port(3)
    bria_rtp = RtpPeer(net.ip(5), bria_port)
    media = "m=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv" % bria_port
    value = "%s;to-tag=%s;from-tag=%s" % m.groups() if m else "x;to-tag=y;from-tag=z"
    picker = Sipp("uac_hdrs.xml", local="%s:5060" % net.ip(5),
                  media="%s:%d" % (net.ip(5), net.media_port(1)), remote=pbx.sip,
                  service="6002", keys={"user": "bria"}, auth=("bria", "vitrygtr"), timeout=40,
                  name="bria-replaces", template={"media": media, "hdrs": "Replaces: %s\n" % value,
                                                  "code": 200, "ack": ACK_2XX,
                                                  "after": WAIT_BYE}).start()
    t.ok(xlite.wait_event("CALL_CLOSED", 10), "bria's INVITE with Replaces: xlite stops ringing",
         diag=lambda: tail(pbx.log_since(mark), 20))
    t.ok(amine.wait_event("CALL_ESTABLISHED", 5), "... amine is answered")
    t.like(pbx.log_since(mark), r"Replaces names leg \d+, ringing .*\n(.*\n)*.*picks up dial \d+"
           r" by Replaces", "... the PBX took it as a pickup")
    ans = wait_until(lambda: next((x for x in picker.messages() if x.dir == "recv" and
                                   x.start.startswith("SIP/2.0 200")), None), 5)
    ports = sdp_ports(ans.body) if ans else {}
    if ports:
        bria_rtp.send_tone((net.ip(0), ports["audio"]), HZ["bria"], 3)
    time.sleep(1)
    term = wait_doc(k6002, lambda d: "terminated" in states(d))
    t.ok(term and 'event="cancelled"' in term and m and m.group(1) in term,
         "6002's lamp: that dialog terminated (cancelled)", diag=repr(term))
    amine.hangup()
    t.sipp_ok(picker.wait(15), "amine hangs up: bria gets the BYE")
    ra = amine.wait_recording(1)
    lab.only(ra and ra["dec"], "bria", ["xlite"], "amine (picked up by Replaces)")
    wav = os.path.join(workdir("bria-rx"), "bria.wav")
    bria_rtp.write_wav(wav, 0)
    bria_rtp.close()
    t.ok(lab.heard(wav, "amine"), "bria hears amine")
    fresh_names()          # baresip names recordings by the second
    t.ok(lab.empty(), "nothing left after the pickup")

    # -- 2. reload ---------------------------------------------------------------------------
    mark = pbx.log_mark()
    os.kill(pbx.proc.pid, signal.SIGHUP)
    t.ok(pbx.wait_log(r"reload: generation 2 in force", 10, since=mark), "the PBX reloads")
    n6002 = len(notifies(k6002))

    # -- 3. a parked call's lamp ---------------------------------------------------------------
    mark = pbx.log_mark()
    t.ok(lab.call(amine, "900", chhiny), "amine calls 900: chhinyleboss answers")
    time.sleep(1)
    chhiny.send_dtmf("#1700")
    conf = wait_doc(k701, lambda d: "confirmed" in states(d), 15)
    t.ok(conf and re.search(r'<remote><identity display="Amine">sip:100@', conf),
         "#1 700 parks amine at 701: 701's lamp says confirmed, amine (the subscription"
         " outlived the reload)", diag=repr(notifies(k701)))
    chhiny.wait_event("CALL_CLOSED", 10)
    xlite.dial("sip:701@%s" % pbx.sip)
    t.ok(xlite.wait_event("CALL_ESTABLISHED", 10), "xlite dials 701")
    t.ok(wait_doc(k701, lambda d: "terminated" in states(d), 5),
         "701's lamp: terminated once retrieved")
    time.sleep(2)
    t.ok(lab.hang(xlite, amine), "xlite hangs up: amine's call ends")
    t.ok(len(notifies(k6002)) > n6002,
         "6002's lamp showed xlite's call to 701 (a dialog of xlite's)")

    # -- 4. confirmed, terminated -------------------------------------------------------------
    fresh_names()          # baresip names recordings by the second
    amine.dial("sip:6002@%s" % pbx.sip)
    t.ok(xlite.wait_event("CALL_INCOMING", 10), "amine calls 6002 again")
    time.sleep(1)
    xlite.accept()
    t.ok(xlite.wait_event("CALL_ESTABLISHED", 5), "xlite answers")
    t.ok(wait_doc(k6002, lambda d: "confirmed" in states(d) and 'direction="recipient"' in d),
         "6002's lamp: confirmed")
    time.sleep(2)
    t.ok(lab.hang(amine, xlite), "amine hangs up")
    t.sipp_ok(k6002.wait(15), "6002's key saw its last document, un-SUBSCRIBEs:"
              " the final NOTIFY says terminated")
    t.sipp_ok(k701.wait(15), "701's key too")
    docs = notifies(k6002)
    vers = [int(re.search(r'info[^>]* version="(\d+)"', d).group(1)) for d in docs[:-1]
            if re.search(r'info[^>]* version="(\d+)"', d)]
    t.ok(vers == list(range(len(vers))), "the versions count 0, 1, 2 ... (%s)" % vers)
    t.ok(all('state="full"' in d for d in docs[:-1]), "every document is the full state")
    seq = [states(d) for d in docs]
    t.note("6002's lamp: %s" % seq)
    lab.leftovers("BLF")

    for ph in phones.values():
        ph.stop()
    pbx.finish(t)
