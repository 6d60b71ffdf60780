#!/usr/bin/python3
# The API's commands on live calls of real phones (baresip), the audio of
# each outcome checked, the legs found from the event stream:
#   - transfer: bob's leg (alice -> 202 -> bob) goes to 203: bob talks to carol
#   - play: a tone to alice's leg waiting in 310, then on to 311
#   - record: carol's leg for 2 s into recordings/api/rec.wav (her tone in it)
#   - bridge: alice and bob, each waiting in 310, joined: each hears the other;
#     alice hangs up, bob's leg ends
#   - park: bob's leg (alice -> 202 -> bob) into lot default, its space
#     back; carol dials the space: she talks to bob
#   - queue commands without their module, bad arguments: why
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(96)
HZ = {"alice": 600, "bob": 900, "carol": 1400}
TONE = 2000
TOKEN = "api-commands-token-96"
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%(rtp)s",
  http = { listen = "%(http)s", tokens = { ops = "%(token)s" } } }
local function phone(t) t.context = "internal"; return t end
pbx.endpoint "alice" (phone { secret = "alicepw", callerid = '"Alice" <201>' })
pbx.endpoint "bob"   (phone { secret = "bobpw",   callerid = '"Bob" <202>' })
pbx.endpoint "carol" (phone { secret = "carolpw", callerid = '"Carol" <203>' })
local parking = require "lunapbx.parking"
parking.lot "default" { exten = "700", slots = "701-702", timeout = 60 }
pbx.context "internal" {
  include = { "parkedcalls" },
  ["202"] = function(call) call:dial("bob", { timeout = 10 }) end,
  ["203"] = function(call) call:dial("carol", { timeout = 10 }) end,
  ["310"] = function(call) call:answer() call:silence(30) call:hangup() end,
  ["311"] = function(call) pbx.log("info", "311 runs for leg %%d", call.leg.id) call:silence(1) call:hangup() end,
}
""" % {"rtp": net.pbx_rtp, "http": "%s:8088" % net.ip(0), "token": TOKEN}


with Tap(timeout=200) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    base = "http://%s:8088" % net.ip(0)
    os.makedirs(os.path.join(pbx.state_dir, "recordings", "api"))
    make_tone(os.path.join(pbx.state_dir, "recordings", "api", "tone.wav"), TONE, 2, pad=0)
    ws = EventClient("ws://%s:8088/events" % net.ip(0), token=TOKEN, name="ops")
    lab = PhoneLab.register(t, pbx, net, HZ)
    alice, bob, carol = (lab.phones[w] for w in ("alice", "bob", "carol"))

    def cmd(name, **args):
        return http_json(base + "/api/" + name, token=TOKEN, body=args)

    def leg_of(who, since):
        m = ws.wait(lambda e: e.get("event") == "answered" and e.get("endpoint") == who
                    and e["seq"] > since, 5)
        return m and m["leg"]

    def last_seq():
        return max([m.get("seq", 0) for m in ws.events()] or [0])

    # -- transfer ------------------------------------------------------------------------
    s = last_seq()
    t.ok(lab.call(alice, "202", bob), "alice calls 202: bob answers")
    bleg = leg_of("bob", s)
    time.sleep(2)
    st, js = cmd("transfer", leg=bleg, exten="203")
    t.ok(st == 200 and js.get("ok"), "transfer {leg = bob's, exten = 203}: ok", diag=(st, js))
    t.ok(carol.wait_event("CALL_ESTABLISHED", 10), "... carol's phone rings and answers")
    t.ok(alice.wait_event("CALL_CLOSED", 5), "... alice, left alone, is hung up")
    tr = ws.wait_event("transferred", 3, leg=bleg)
    t.ok(tr and tr.get("how") == "redirect" and tr.get("exten") == "203",
         "the event: transferred, leg, how, where to", diag=repr(tr))
    time.sleep(3)
    t.ok(lab.hang(bob, carol), "bob hangs up: carol's call ends")
    rb, rc = bob.wait_recording(1), carol.wait_recording(1)
    if rb and rc:
        lab.order(rb["dec"], "alice", "carol", "bob's phone")
        lab.only(rc["dec"], "bob", ["alice"], "carol")
    else:
        t.ok(False, "bob and carol recorded the calls")
    t.ok(lab.empty(), "transfer: nothing left")
    fresh_names()          # baresip names recordings by the second

    # -- play, then on to an extension ---------------------------------------------------
    s = last_seq()
    alice.dial("sip:310@%s" % pbx.sip)
    t.ok(alice.wait_event("CALL_ESTABLISHED", 10), "alice calls 310 (answered, silence)")
    aleg = leg_of("alice", s)
    time.sleep(1)
    mark = pbx.log_mark()
    st, js = cmd("play", leg=aleg, sound="api/tone", exten="311")
    t.ok(st == 200 and js.get("ok") and js.get("result", {}).get("leg") == aleg,
         "play {leg = alice's, sound = api/tone, exten = 311}: ok", diag=(st, js))
    t.ok(pbx.wait_log(r"311 runs for leg %d" % aleg, 8, since=mark), "... then 311 runs for her leg")
    t.ok(alice.wait_event("CALL_CLOSED", 8), "... which hangs up")
    ra = alice.wait_recording(2)
    h = ra and heard(ra["dec"], TONE)
    t.ok(h and h[2] >= 1.5, "alice heard the %d Hz tone (%s)" % (TONE, h))
    fresh_names()          # baresip names recordings by the second

    # -- record ------------------------------------------------------------------------------
    s = last_seq()
    carol.dial("sip:310@%s" % pbx.sip)
    t.ok(carol.wait_event("CALL_ESTABLISHED", 10), "carol calls 310")
    cleg = leg_of("carol", s)
    st, js = cmd("record", leg=cleg, file="api/rec", max_seconds=2)
    t.ok(st == 200 and js.get("ok"), "record {leg = carol's, file = api/rec, max_seconds = 2}",
         diag=(st, js))
    t.ok(carol.wait_event("CALL_CLOSED", 8), "... then her call is hung up")
    path = os.path.join(pbx.state_dir, "recordings", "api", "rec.wav")
    t.ok(wait_until(lambda: os.path.exists(path), 3), "recordings/api/rec.wav is written")
    if os.path.exists(path):
        d = tone_duration(path, HZ["carol"])
        t.ok(1.5 <= d <= 2.5, "... with carol's %d Hz tone, %.1f s of it" % (HZ["carol"], d))
    else:
        t.ok(False, "... with carol's tone")
    fresh_names()          # baresip names recordings by the second

    # -- bridge ---------------------------------------------------------------------------------
    s = last_seq()
    alice.dial("sip:310@%s" % pbx.sip)
    bob.dial("sip:310@%s" % pbx.sip)
    t.ok(alice.wait_event("CALL_ESTABLISHED", 10) and bob.wait_event("CALL_ESTABLISHED", 10),
         "alice and bob each call 310")
    aleg, bleg = leg_of("alice", s), leg_of("bob", s)
    st, js = cmd("bridge", leg=aleg, **{"with": bleg})
    t.ok(st == 200 and js.get("ok"), "bridge {leg = alice's, with = bob's}", diag=(st, js))
    br = ws.wait(lambda m: m.get("event") == "bridged" and m["seq"] > s, 5)
    t.ok(br and set(br.get("legs", [])) == {aleg, bleg}, "the event: bridged, their legs",
         diag=repr(br))
    time.sleep(3)
    t.ok(lab.hang(alice, bob), "alice hangs up: bob's call ends")
    ra, rb = alice.wait_recording(3), bob.wait_recording(2)
    if ra and rb:
        lab.only(ra["dec"], "bob", ["carol"], "alice, bridged")
        lab.only(rb["dec"], "alice", ["carol"], "bob, bridged")
    else:
        t.ok(False, "alice and bob recorded the bridged call")
    t.ok(lab.empty(), "bridge: nothing left",
         diag=lambda: console_exec(pbx, "calls() legs() status()").out)

    # -- park ----------------------------------------------------------------------------------
    fresh_names()          # baresip names recordings by the second
    s = last_seq()
    t.ok(lab.call(alice, "202", bob), "alice calls 202: bob answers")
    bleg = leg_of("bob", s)
    time.sleep(1)
    st, js = cmd("park", leg=bleg)
    t.ok(st == 200 and js.get("ok") and js.get("result", {}).get("slot") == "701"
         and js.get("result", {}).get("lot") == "default",
         "park {leg = bob's}: lot default, space 701", diag=(st, js))
    t.ok(alice.wait_event("CALL_CLOSED", 5), "... alice, left alone, is hung up")
    time.sleep(1)
    carol.dial("sip:701@%s" % pbx.sip)
    t.ok(carol.wait_event("CALL_ESTABLISHED", 10), "carol dials 701: she gets the parked call")
    time.sleep(3)
    t.ok(lab.hang(carol, bob), "carol hangs up: bob's call ends")
    rb, rc = bob.wait_recording(3), carol.wait_recording(3)
    if rb and rc:
        lab.only(rc["dec"], "bob", ["alice"], "carol, the retrieved call")
        h = heard(rb["dec"], HZ["carol"])
        t.ok(h, "bob hears carol after the parking (%s)" % (h,))
    else:
        t.ok(False, "bob and carol recorded the parked call")
    t.ok(lab.empty(), "park: nothing left")
    st, js = cmd("park", leg=bleg)
    t.ok(st == 409 and js.get("error") == "no such leg", "park of a leg that is gone: why",
         diag=(st, js))

    # -- what is refused ----------------------------------------------------------------------
    st, js = cmd("queue_pause", queue="q", member="x")
    t.ok(st == 409 and "queue" in js.get("error", ""), "queue_pause without queues: refused",
         diag=(st, js))
    st, js = cmd("play", leg=999999, sound="x")
    t.ok(st == 409 and js.get("error") == "no such leg", "play on no leg: no such leg",
         diag=(st, js))
    st, js = cmd("bridge", leg=1)
    t.ok(st == 409 and "with" in js.get("error", ""), "bridge without with: why", diag=(st, js))
    st, js = cmd("transfer", leg=999999, exten="1")
    t.ok(st == 404, "transfer of no leg: 404", diag=(st, js))
    ws.close()
    lab.stop()
    pbx.finish(t)
