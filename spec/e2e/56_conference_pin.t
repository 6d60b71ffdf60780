#!/usr/bin/env python3
# The seed lab's ConfBridge(1234,,1234_participants,1234_menu) with
# baresip phones, each sending its own tone:
#   - a PIN keyed wrong three times: "invalid", then the call ends (FAILED);
#   - participants (wait_marked, end_marked, music when alone) with the
#     right PIN wait for the leader: one hears music, the other (the same
#     profile without music) hears nothing at all, not even the first;
#   - the leader (marked, admin, its own PIN) comes: all three hear each
#     other;
#   - the console locks the room: a participant with the right PIN is
#     refused; unlocked; the console kicks one participant out;
#   - the leader hangs up: the last participant is told and let go
#     (ENDMARKED); nothing is left;
#   - the room was recorded (the bridge profile's record): the file holds
#     the three participants' tones.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.conf import Room, fractions, tone_phone  # noqa: E402

net = Net(56)
HZ = {"alice": 500, "bob": 800, "carol": 1250, "dave": 1700}

CONFIG = """\
local pbx = require "lunapbx"
local confbridge = require "lunapbx.confbridge"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
local function phone(t) t.context = "internal"; return t end
local names = {}
for i, who in ipairs { "alice", "bob", "carol", "dave" } do
  pbx.endpoint(who) (phone { secret = who .. "pw", callerid = ('"%%s" <20%%d>'):format(who, i) })
  names["20" .. i] = who
end
confbridge.user_profile "1234_participants" {
  pin = "1234", wait_marked = true, end_marked = true, music_on_hold_when_empty = true,
}
-- the same without music: waiting, one hears nothing at all
confbridge.user_profile "1234_silent" { pin = "1234", wait_marked = true, end_marked = true }
confbridge.user_profile "1234_leader" { pin = "4321", marked = true, admin = true }
confbridge.menu "1234_menu" { ["1"] = "toggle_mute", ["8"] = "leave_conference" }
confbridge.bridge_profile "1234_bridge" { record = true, record_file = "conf/room-1234" }
pbx.context "internal" {
  ["1"] = function(call)
    confbridge.join(call, "1234", { bridge = "1234_bridge", user = "1234_participants",
                                  menu = "1234_menu" })
  end,
  ["2"] = function(call) confbridge.join(call, "1234", { bridge = "1234_bridge", user = "1234_leader" }) end,
  ["3"] = function(call)
    confbridge.join(call, "1234", { bridge = "1234_bridge", user = "1234_silent",
                                  menu = "1234_menu" })
  end,
  ["_20X"] = function(call, exten) call:dial(names[exten], { timeout = 10 }) end,
}
""" % net.pbx_rtp

with Tap(timeout=100) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    phones = {w: tone_phone(w, net.ip(1 + k), pbx, w + "pw", net.phone_rtp(k), HZ[w])
              for k, w in enumerate(HZ)}
    for w, ph in phones.items():
        t.ok(ph.registered(10), "%s (baresip) registers" % w, diag=ph.reginfo)
    alice, bob, carol, dave = (phones[w] for w in HZ)
    lab = PhoneLab(t, pbx, phones, HZ)
    t.ok(lab.settle_fds(dave, "201", alice), "a first call (dave to alice)")
    room = Room(t, pbx, phones, HZ)

    # -- a wrong PIN three times
    mark = pbx.log_mark()
    t.ok(room.join("dave", "1"), "dave calls 1: asked for the PIN")
    # keys are typed ahead: the PBX queues them until the PIN prompt (or
    # the next one, after "that PIN is not valid") takes them
    dave.send_dtmf("1111#99#12345#")
    t.ok(dave.wait_event("CALL_CLOSED", 25), "three wrong PINs: dave's call ends")
    t.ok(pbx.wait_log(r"confbridge 1234: 204 keyed a wrong PIN 3 times", 2, since=mark),
         "... CONFBRIDGE_RESULT FAILED", diag=lambda: pbx.log_since(mark)[-1500:])
    t.unlike(pbx.log_since(mark), r"204 joins", "... and dave never joined")

    # -- participants with the right PIN wait for the leader
    for w in ("alice", "bob"):
        t.ok(room.join(w, "1" if w == "alice" else "3"), "%s calls %s" % (
            w, "1" if w == "alice" else "3 (the same without music)"))
        phones[w].send_dtmf("1234#")
        t.ok(pbx.wait_log(r"confbridge 1234: %s joins" % ("201" if w == "alice" else "202"), 5),
             "%s keys 1234#: in room 1234, waiting" % w)
    time.sleep(4)                        # "the conference will begin when the leader..."
    a = room.now()
    time.sleep(4)
    waiting = (a, room.now())

    # -- the leader
    t.ok(room.join("carol", "2"), "carol, the leader, calls 2")
    carol.send_dtmf("4321#")
    t.ok(pbx.wait_log(r"203 joins \(3 in the room, admin, marked\)", 5), "carol keys 4321#")
    time.sleep(4)                        # "you will now be placed into the conference"
    a = room.now()
    time.sleep(4)
    together = (a, room.now())

    # -- locked: the right PIN is not enough
    r = console_exec(pbx, "return room_lock('1234')")
    t.like(r.out, r"true", "console room_lock('1234')", diag=r.diag)
    mark = pbx.log_mark()
    t.ok(room.join("dave", "1"), "dave calls 1 again")
    dave.send_dtmf("1234#")
    t.ok(dave.wait_event("CALL_CLOSED", 8), "the room is locked: dave's call ends")
    t.like(pbx.log_since(mark), r"204 refused \(locked\)", "... refused, locked")
    r = console_exec(pbx, "return room_lock('1234', false)")
    t.like(r.out, r"false", "console: unlocked", diag=r.diag)

    # -- the console kicks bob
    r = console_exec(pbx, "for _, m in ipairs(rooms('1234').members) do"
                     " if m.caller == '202' then return room_kick('1234', m.id) end end")
    t.like(r.out, r"^1", "console room_kick('1234', <bob's leg>)", diag=r.diag)
    t.ok(bob.wait_event("CALL_CLOSED", 8), "bob is told he was removed; his call ends")
    t.like(pbx.log_text(), r"202 leaves: KICKED", "... CONFBRIDGE_RESULT KICKED")

    # -- the leader leaves: so does alice (end_marked)
    mark = pbx.log_mark()
    carol.hangup()
    t.ok(carol.wait_event("CALL_CLOSED", 5), "carol hangs up")
    t.ok(alice.wait_event("CALL_CLOSED", 8), "alice hears the leader left; her call ends")
    t.like(pbx.log_since(mark), r"201 leaves: ENDMARKED", "... CONFBRIDGE_RESULT ENDMARKED")

    rms = room.level("alice", waiting)
    t.ok(rms > 300, "waiting for the leader: alice hears music (rms %.0f)" % rms)
    rms = room.level("bob", waiting)
    t.ok(rms < 100, "waiting for the leader, without music: bob hears nothing, not even"
         " alice (rms %.0f)" % rms)
    path = os.path.join(pbx.state_dir, "recordings", "conf", "room-1234.wav")
    t.ok(os.path.exists(path), "the room was recorded (record = true) into conf/room-1234.wav")
    if os.path.exists(path):
        share, rms = fractions(path, sorted(HZ.values()), 0, 600)
        t.ok(all(share[HZ[w]] > 0.05 for w in ("alice", "bob", "carol")),
             "... the three participants' tones are in it",
             diag=lambda: "shares %s" % {w: round(share[HZ[w]], 3) for w in HZ})
    room.check("alice", together, ["bob", "carol"], ["alice"], "the leader came")
    room.check("bob", together, ["alice", "carol"], ["bob"], "the leader came")
    room.check("carol", together, ["alice", "bob"], ["carol"], "the leader came")
    lab.leftovers("the room emptied")
    pbx.finish(t)
