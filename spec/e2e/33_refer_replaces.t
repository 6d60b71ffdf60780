#!/usr/bin/env python3
# Transfer requests in SIP, from sipp, with baresip phones as the parties
# that move (their audio checked):
#   - REFER (RFC 3515): 202, NOTIFY message/sipfrag "100 Trying" then
#     "200 OK" (subscription terminated), the transferer's leg gets a BYE,
#     alice and carol talk
#   - Refer-Sub: false (RFC 4488): 202 with Refer-Sub: false, no NOTIFY
#   - a Refer-To that is no URI: 400; a number that is no extension: NOTIFY
#     404, the call goes on
#   - INVITE with Replaces (RFC 3891) naming no dialog: 481; naming the
#     PBX's dialog with dave (sipp): erin's INVITE takes dave's place, dave
#     gets a BYE, alice hears erin's tone and erin hears alice's
#   - a real phone's attended transfer (linphone: call 201, call 203 - the
#     first call is put on hold, alice hears music -, then call-transfer 1 2,
#     a REFER with Replaces): alice and carol talk, linphone's legs end
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.rtp import RtpPeer  # noqa: E402
from lunatest.sippfrag import ACK_2XX, ACK_ERR, bye, reply  # noqa: E402

net = Net(33)
HZ = {"alice": 500, "carol": 1250, "erin": 1900}

CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
local function phone(t) t.context = "internal"; return t end
for _, n in ipairs { "alice", "carol", "xavier", "dave", "erin", "lin" } do
  pbx.endpoint(n)(phone { secret = n .. "pw" })
end
local names = { ["201"] = "alice", ["203"] = "carol", ["205"] = "dave" }
pbx.context "internal" {
  ["_20X"] = function(call, exten) call:dial(names[exten], { timeout = 10 }) end,
}
""" % net.pbx_rtp


BYE = bye(4, pause_ms=1500)


def bodies(res, method):
    return [m.body.strip() for m in res.received(method)]


with Tap(timeout=200) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ, names=("alice", "carol"), limit=190)
    alice, carol = lab.phones["alice"], lab.phones["carol"]
    xavier = "%s:5062" % net.ip(3)
    dave = "%s:5062" % net.ip(4)
    erin = "%s:5062" % net.ip(5)
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=dave, remote=pbx.sip, keys={"user": "dave"}, auth=("dave", "davepw"),
             timeout=10, name="register-dave").run()
    t.sipp_ok(r, "dave (sipp) registers")

    def refer(label, refer_to, code, after, hdrs=""):
        return Sipp("uac_refer.xml", template={
            "media": SDP["pcmu"], "talk_ms": 2000, "refer_to": refer_to,
            "refer_hdrs": hdrs, "refer_code": code, "after": after},
            local=xavier, media="%s:%d" % (net.ip(3), net.media_port(0)), remote=pbx.sip,
            service="201", keys={"user": "xavier"}, auth=("xavier", "xavierpw"),
            timeout=25, name="xavier-" + label).start()

    n_alice = [0]

    def alice_rec():
        n_alice[0] += 1
        return alice.wait_recording(n_alice[0])

    # -- 1. REFER, with its NOTIFYs --------------------------------------------------------
    mark = pbx.log_mark()
    x = refer("notify", "<sip:203@%s>" % pbx.sip, 202,
              "\n".join([reply("NOTIFY"), reply("NOTIFY"), BYE]))
    t.ok(carol.wait_event("CALL_ESTABLISHED", 15), "xavier's REFER to 203: carol answers",
         diag=lambda: pbx.log_since(mark)[-3000:])
    res = x.wait(timeout=20)
    t.sipp_ok(res, "xavier: 202, two NOTIFYs answered, then xavier hangs up (RFC 3515 7.1)")
    nb = bodies(res, "NOTIFY")
    t.ok(len(nb) == 2 and nb[0].startswith("SIP/2.0 100") and nb[1].startswith("SIP/2.0 200"),
         "the NOTIFYs carry SIP/2.0 100 Trying, then SIP/2.0 200 OK", diag=repr(nb))
    notes = res.received("NOTIFY")
    t.ok(notes and all((m.header("event") or "").startswith("refer") and
                       "sipfrag" in (m.header("content-type") or "") for m in notes),
         "... Event: refer, Content-Type: message/sipfrag")
    t.ok(len(notes) == 2 and "active" in (notes[0].header("subscription-state") or "") and
         "terminated" in (notes[1].header("subscription-state") or ""),
         "... the subscription active, then terminated",
         diag=lambda: [m.header("subscription-state") for m in notes])
    time.sleep(3)
    t.ok(lab.hang(carol, alice), "carol hangs up, alice's leg ends")
    ra, rc = alice_rec(), carol.wait_recording(1)
    lab.only(rc and rc["dec"], "alice", [], "carol")
    lab.only(ra and ra["dec"], "carol", [], "alice")
    lab.leftovers("REFER")

    # -- 2. Refer-Sub: false ---------------------------------------------------------------
    t0 = time.time()
    x = refer("nosub", "<sip:203@%s>" % pbx.sip, 202, reply("BYE"),
              hdrs="Refer-Sub: false\r\n")
    t.ok(carol.wait_event("CALL_ESTABLISHED", 15), "REFER with Refer-Sub: false: carol answers")
    res = x.wait(timeout=20)
    took = time.time() - t0
    t.sipp_ok(res, "xavier: 202, then, as it does not hang up, the PBX's BYE; no NOTIFY")
    t.ok(took >= 9, "... the PBX waited 8 s for xavier's own BYE first (%.1f s in all)" % took)
    acc = res.first(202)
    t.ok(acc and (acc.header("refer-sub") or "").strip().lower() == "false",
         "... the 202 says Refer-Sub: false")
    t.is_(len(res.received("NOTIFY")), 0, "... no NOTIFY came")
    time.sleep(2)
    t.ok(lab.hang(alice, carol), "alice hangs up, carol's leg ends")
    alice_rec()
    carol.wait_recording(2)
    lab.leftovers("Refer-Sub: false")

    # -- 3. bad Refer-To; a number that is no extension ------------------------------------
    x = refer("bad", "not a uri", 400, BYE)
    t.sipp_ok(x.wait(timeout=20), "Refer-To that is no URI: 400; xavier hangs up")
    t.ok(alice.wait_event("CALL_CLOSED", 5), "... alice's leg ends with it")
    alice_rec()
    lab.leftovers("bad Refer-To")
    x = refer("nosuch", "<sip:999@%s>" % pbx.sip, 202,
              "\n".join([reply("NOTIFY"), reply("NOTIFY"), BYE]))
    res = x.wait(timeout=20)
    t.sipp_ok(res, "REFER to 999: 202, NOTIFYs, then xavier hangs up (the call went on)")
    nb = bodies(res, "NOTIFY")
    t.ok(len(nb) == 2 and nb[1].startswith("SIP/2.0 404"), "... the last NOTIFY says 404",
         diag=repr(nb))
    t.ok(alice.wait_event("CALL_CLOSED", 5), "... alice's leg ends when xavier hangs up")
    alice_rec()
    lab.leftovers("REFER to no extension")

    # -- 4. INVITE with Replaces ---------------------------------------------------------
    erin_port = net.media_port(3)     # erin's RTP is the test's (RtpPeer), not sipp's

    def replaces(label, value, code, ack, after):
        media = "m=audio %d RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv" % erin_port
        return Sipp("uac_hdrs.xml", template={
            "media": media, "hdrs": "Replaces: %s\n" % value, "code": code, "ack": ack,
            "after": after},
            local=erin, media="%s:%d" % (net.ip(5), net.media_port(1)), remote=pbx.sip,
            service="201", keys={"user": "erin"}, auth=("erin", "erinpw"),
            timeout=25, name="erin-" + label).start()

    t.sipp_ok(replaces("481", "nosuchcall@x;to-tag=a;from-tag=b", 481, ACK_ERR, "").wait(),
              "INVITE with Replaces naming no dialog: 481")

    uas = Sipp("uas_answer.xml", local=dave, media="%s:%d" % (net.ip(4), net.media_port(2)),
               keys={"pt": 0, "codec": "PCMU"}, timeout=30, name="dave").start()
    alice.dial("sip:205@%s" % pbx.sip)
    t.ok(alice.wait_event("CALL_ESTABLISHED", 10), "alice calls 205: dave (sipp) answers")
    inv = None
    for _ in range(50):
        msgs = uas.messages()
        inv = next((m for m in msgs if m.dir == "recv" and m.start.startswith("INVITE")), None)
        ok200 = next((m for m in msgs if m.dir == "sent" and m.start.startswith("SIP/2.0 200")),
                     None)
        if inv and ok200:
            break
        time.sleep(0.1)
    callid = inv.header("call-id") if inv else "?"
    tag1 = re.search(r"tag=([^;>\s]+)", inv.header("from") if inv else "") if inv else None
    tag2 = re.search(r"tag=([^;>\s]+)", ok200.header("to") if inv else "") if inv else None
    value = "%s;to-tag=%s;from-tag=%s" % (callid, tag2 and tag2.group(1), tag1 and tag1.group(1))
    erin_rtp = RtpPeer(net.ip(5), erin_port)
    x = replaces("ok", value, 200, ACK_2XX, reply("BYE"))
    t.sipp_ok(uas.wait(timeout=10), "erin's INVITE with Replaces of dave's dialog: dave gets a BYE")
    ans = None
    for _ in range(50):
        ans = next((m for m in x.messages() if m.dir == "recv" and
                    m.start.startswith("SIP/2.0 200")), None)
        if ans:
            break
        time.sleep(0.1)
    ports = sdp_ports(ans.body) if ans else []
    t.ok(ports, "... erin's INVITE is answered 200 with the PBX's SDP")
    if ports:
        erin_rtp.send_tone((net.ip(0), ports["audio"]), HZ["erin"], 3)
    time.sleep(1)
    alice.hangup()
    alice.wait_event("CALL_CLOSED", 5)
    t.sipp_ok(x.wait(timeout=15), "... alice hangs up: erin gets the BYE")
    ra = alice_rec()
    lab.only(ra and ra["dec"], "erin", [], "alice (Replaces)")
    wav = os.path.join(workdir("erin-rx"), "erin.wav")
    erin_rtp.write_wav(wav, 0)
    erin_rtp.close()
    t.ok(lab.heard(wav, "alice"), "erin hears alice")
    lab.leftovers("INVITE/Replaces")

    # -- 5. linphone's attended transfer (REFER with Replaces) --------------------------
    lin = Linphone(net)
    lin.register("lin", "linpw", pbx.sip)
    t.ok(pbx.wait_log(r"registrar: lin: new contact", 10), "linphone registers as lin")
    mark = pbx.log_mark()
    lin.command("call sip:201@%s" % pbx.sip)
    t.ok(alice.wait_event("CALL_ESTABLISHED", 10) and
         lin.wait_event("LinphoneCallStreamsRunning", 1), "linphone calls 201: alice answers")
    time.sleep(1)
    lin.command("call sip:203@%s" % pbx.sip)
    t.ok(carol.wait_event("CALL_ESTABLISHED", 10) and
         lin.wait_event("LinphoneCallStreamsRunning", 2),
         "linphone calls 203 (holding alice first): carol answers")
    t.ok(pbx.wait_log(r"bridge \d+: on hold", 5, since=mark), "... alice is on hold (music)")
    time.sleep(2)
    lin.command("call-transfer 1 2")
    t.ok(pbx.wait_log(r"REFER/Replaces: leg \d+ replaces leg \d+", 8, since=mark),
         "call-transfer 1 2: linphone's REFER with Replaces joins alice to carol",
         diag=lambda: pbx.log_since(mark)[-2500:])
    t.ok(lin.wait_event("LinphoneCallReleased", 1, 10) and
         lin.wait_event("LinphoneCallReleased", 2, 10), "... both of linphone's calls end")
    time.sleep(3)
    t.ok(not alice.wait_event("CALL_CLOSED", 0.2) and not carol.wait_event("CALL_CLOSED", 0.2),
         "... alice and carol still talk")
    t.ok(lab.hang(carol, alice), "carol hangs up: alice's leg ends")
    ra, rc = alice_rec(), carol.wait_recording(3)
    lab.only(ra and ra["dec"], "carol", [], "alice (linphone's transfer)")
    lab.only(rc and rc["dec"], "alice", [], "carol (linphone's transfer)")
    lab.leftovers("linphone's attended transfer")
    lin.stop()

    alice.stop()
    carol.stop()
    pbx.finish(t)
