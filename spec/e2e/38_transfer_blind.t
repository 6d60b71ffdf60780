#!/usr/bin/env python3
# Blind transfer with real phones (baresip), the audio of every bridge that
# results checked: each party hears the other's tone, nobody hears a party
# that left.
#   - by keys: bob, called by alice with options "tT", keys #1 203: alice
#     talks to carol, bob's leg ends
#   - by REFER: bob's phone transfers (baresip's /transfer sends REFER):
#     202, NOTIFY 200, alice talks to carol
#   - forbidden: dave (allow_transfer = false) keys #1 203: nothing moves;
#     dave's REFER is refused 603
#   - to a number that is no extension: the parties are back together
#   - pbx.on_transfer: 205 rewritten to 203 (carol answers), 206 refused
# After each scenario nothing is left: no call, no leg, no bridge, and the
# PBX's file descriptors are back to their count before.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(38)
HZ = {"alice": 500, "bob": 800, "carol": 1250, "dave": 1700}

CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
pbx.features { blindxfer = "#1", atxfer = "*2" }
local function phone(t) t.context = "internal"; return t end
pbx.endpoint "alice" (phone { secret = "alicepw", callerid = '"Alice" <201>' })
pbx.endpoint "bob"   (phone { secret = "bobpw",   callerid = '"Bob" <202>' })
pbx.endpoint "carol" (phone { secret = "carolpw", callerid = '"Carol" <203>' })
pbx.endpoint "dave"  (phone { secret = "davepw",  callerid = '"Dave" <204>',
                              allow_transfer = false })
pbx.on_transfer(function(t)
  pbx.log("info", "on_transfer: %%s of leg %%d to %%s by leg %%d", t.kind, t.transferee.id,
          t.number, t.by.id)
  if t.number == "205" then return "203" end
  if t.number == "206" then return false end
end)
local names = { ["201"] = "alice", ["202"] = "bob", ["203"] = "carol", ["204"] = "dave",
                ["205"] = "alice", ["206"] = "alice" }
pbx.context "internal" {
  ["_20X"] = function(call, exten)
    local st = call:dial(names[exten], { timeout = 10, options = "tT" })
    pbx.log("info", "dial %%s from %%s: %%s", exten, call.caller, st)
  end,
}
""" % net.pbx_rtp


with Tap(timeout=200) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    lab = PhoneLab.register(t, pbx, net, HZ)
    phones = lab.phones
    alice, bob, carol, dave = (phones[w] for w in ("alice", "bob", "carol", "dave"))
    call, order, leftovers = lab.call, lab.order, lab.leftovers
    t.ok(lab.settle_fds(carol, "204", dave), "a first call, carol to dave")

    def talk(*who):
        """Until each (listener, its recording number, speaker): the
        listener heard 1 s of the speaker's tone in that call."""
        for a, k, b in who:
            phones[a].listen(k).wait(HZ[b], 1.0, timeout=15)

    # -- 1. blind by keys ----------------------------------------------------------------
    mark = pbx.log_mark()
    t.ok(call(alice, "202", bob), "alice calls 202: bob answers")
    talk(("alice", 1, "bob"), ("bob", 1, "alice"))
    bob.send_dtmf("#1203")
    ec = carol.wait_event("CALL_ESTABLISHED", 15)
    t.ok(ec, "bob keys #1 203: carol's phone rings and answers",
         diag=lambda: tail(pbx.log_since(mark), 30))
    cb = bob.wait_event("CALL_CLOSED", 5)
    t.ok(cb, "... bob's leg ends")
    t.like(pbx.log_since(mark), r"blind transfer of leg \d+ to 203@internal",
           "... the log says the blind transfer")
    talk(("alice", 1, "carol"), ("carol", 2, "alice"))
    alice.hangup()
    t.ok(carol.wait_event("CALL_CLOSED", 5), "alice hangs up: carol's leg ends")
    alice.wait_event("CALL_CLOSED", 5)
    ra, rc = alice.wait_recording(1), carol.wait_recording(2)
    if ra and rc:
        order(ra["dec"], "bob", "carol", "alice's phone")
        lab.only(rc["dec"], "alice", ["bob"], "carol")
    else:
        t.ok(False, "recordings of alice and carol", diag=lambda: repr((ra, rc)))
    leftovers("blind by keys")

    # -- 2. blind by REFER ---------------------------------------------------------------
    mark = pbx.log_mark()
    t.ok(call(alice, "202", bob), "alice calls 202 again: bob answers")
    talk(("alice", 2, "bob"), ("bob", 2, "alice"))
    r = bob.command("transfer", "sip:203@%s" % pbx.sip)
    t.ok(r is not None, "bob's phone transfers to 203 (/transfer: a REFER)", diag=lambda: repr(r))
    t.ok(carol.wait_event("CALL_ESTABLISHED", 15), "carol answers the transferred call",
         diag=lambda: tail(pbx.log_since(mark), 30))
    t.ok(bob.wait_event("CALL_CLOSED", 8), "bob's leg ends (the NOTIFY said 200, bob's BYE)")
    t.like(pbx.log_since(mark), r"transfer request to sip:203@", "the PBX took the REFER")
    t.like(pbx.log_since(mark), r"REFER: leg \d+ to 203@internal", "... and ran it")
    talk(("alice", 2, "carol"), ("carol", 3, "alice"))
    carol.hangup()
    t.ok(alice.wait_event("CALL_CLOSED", 5), "carol hangs up: alice's leg ends")
    ra, rc = alice.wait_recording(2), carol.wait_recording(3)
    if ra and rc:
        order(ra["dec"], "bob", "carol", "alice's phone (REFER)")
        lab.only(rc["dec"], "alice", ["bob"], "carol (REFER)")
    else:
        t.ok(False, "recordings of the REFER call")
    leftovers("blind by REFER")

    # -- 3. forbidden: dave may not transfer ---------------------------------------------
    mark = pbx.log_mark()
    t.ok(call(dave, "202", bob), "dave (allow_transfer = false) calls bob")
    time.sleep(1)
    dave.send_dtmf("#1203")
    time.sleep(3)
    t.ok(not carol.wait_event("CALL_INCOMING", 0.5) and "carol" not in
         console_exec(pbx, "legs()").out, "dave keys #1 203: nobody is dialled")
    t.like(pbx.log_since(mark), r"transfer refused|not allowed to transfer",
           "... the log says the transfer was refused")
    time.sleep(1)
    t.ok(not bob.wait_event("CALL_CLOSED", 0.2), "... bob and dave still talk")
    r = dave.command("transfer", "sip:203@%s" % pbx.sip)
    t.ok(pbx.wait_log(r"transfer refused \(allow_transfer is off\)", 5, since=mark),
         "dave's REFER is refused (603)")
    t.ok(wait_until(lambda: "transfer failed: 603" in dave.log_text(), 5),
         "... dave's phone is told 603 Decline")
    dave.hangup()      # baresip ends a call whose transfer failed; if not, we do
    t.ok(bob.wait_event("CALL_CLOSED", 5), "dave's call ends: bob's leg ends")
    rd = dave.wait_recording(2)
    lab.only(rd["dec"] if rd else None, "bob", ["carol"], "dave (forbidden)")
    leftovers("forbidden")

    # -- 4. a number that is no extension: back together ----------------------------------
    def digits_at(phone):
        with phone._cv:
            return "".join(str(e.get("param")) for e in phone.events
                           if e.get("type") == "CALL_DTMF_START")

    mark = pbx.log_mark()
    before = digits_at(alice)
    t.ok(call(alice, "202", bob), "alice calls bob")
    time.sleep(1)
    bob.send_dtmf("5")
    t.ok(wait_until(lambda: digits_at(alice)[len(before):] == "5", 5),
         "bob keys 5, no feature: alice's phone gets it (RFC 4733 relayed)",
         diag=lambda: repr(digits_at(alice)))
    bob.send_dtmf("#1999#")
    time.sleep(6)
    t.ok(not alice.wait_event("CALL_CLOSED", 0.2) and not bob.wait_event("CALL_CLOSED", 0.2),
         "bob keys #1 999#: no such extension, both still in the call")
    t.like(pbx.log_since(mark), r"bridge \d+: leg \d+ joins \(2\)[\s\S]*bridge \d+: leg \d+"
           r" joins \(2\)", "... bridged again")
    t.is_(digits_at(alice)[len(before):], "5", "... and the feature keys never reached alice")
    time.sleep(2)
    lab.hang(bob, alice)
    ra = alice.wait_recording(3)
    runs = heard(ra["dec"], HZ["bob"]) if ra else None
    t.ok(runs and runs[2] >= 2.0, "alice hears bob before and after (%.1f s of his tone)"
         % (runs[2] if runs else 0))
    leftovers("no such number")

    # -- 5. the transfer hook: a number rewritten, a number refused -------------------------
    mark = pbx.log_mark()
    t.ok(call(alice, "202", bob), "alice calls bob")
    time.sleep(1)
    bob.send_dtmf("#1206")
    time.sleep(5)
    t.ok(not alice.wait_event("CALL_CLOSED", 0.2) and not bob.wait_event("CALL_CLOSED", 0.2),
         "bob keys #1 206: the hook refuses it, both still in the call")
    t.like(pbx.log_since(mark), r"on_transfer: blind of leg \d+ to 206 by leg \d+",
           "... the hook saw the transfer (kind, legs, number)")
    bob.send_dtmf("#1205")
    t.ok(carol.wait_event("CALL_ESTABLISHED", 15), "bob keys #1 205: the hook makes it 203,"
         " carol answers", diag=lambda: tail(pbx.log_since(mark), 20))
    t.ok(bob.wait_event("CALL_CLOSED", 5), "... bob's leg ends")
    time.sleep(2)
    t.ok(lab.hang(alice, carol), "alice hangs up, carol's leg ends")
    rc = carol.wait_recording(4)
    lab.only(rc and rc["dec"], "alice", ["bob"], "carol (rewritten by the hook)")
    alice.wait_recording(4)
    leftovers("the transfer hook")

    lab.stop()
    pbx.finish(t)
