#!/usr/bin/env python3
# VoiceMailMain's options and advanced keys with real baresip phones, each
# sending its own tone, the audio checked:
# - greetings from the mailbox options (0): bob records 202's unavailable
#   greeting (1), carol its busy one (2), dave 203's name (3); alice then
#   leaves a message on 202 and hears bob's tone, not carol's; on busy she
#   hears carol's, not bob's; on 203 (no greeting, a name) dave's tone then
#   "is not available";
# - the temporary greeting (0 4): dave records one on 202, alice hears it
#   instead of the unavailable and the busy ones; 0 4 2 removes it and
#   alice hears bob's greeting again;
# - forward (8, mailbox, #): bob forwards alice's message to 203: the copy
#   holds alice's tone, 203's counts (console, carol's mwi NOTIFY) follow,
#   and carol, logged into 203, hears alice's tone;
# - call back (3 then 2): bob's VoiceMailMain rings alice's phone, which
#   answers: each hears the other's tone;
# - PIN change (0 5): the old PIN is refused and the new one accepted, after
#   a reload and after a restart of the PBX too (kept in the store).
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.audio import heard as tone_heard, rms  # noqa: E402
from lunatest.calls import PhoneLab  # noqa: E402
from lunatest.console import console_exec  # noqa: E402

net = Net(48)
HZ = {"alice": 500, "bob": 800, "dave": 1600}
CAROL_HZ = 1200
CONFIG = """\
local pbx = require "lunapbx"
local vm = require "lunapbx.voicemail"
pbx.settings { realm = "lunapbx", rtp_ports = "%s" }
for i, who in ipairs { "alice", "bob", "carol", "dave" } do
  pbx.endpoint(who) { secret = who .. "pw", context = "internal",
                      callerid = ("<%%d>"):format(200 + i) }
end
vm.mailbox "201" { pin = "201", endpoints = { "alice" } }
vm.mailbox "202" { pin = "202", endpoints = { "bob" } }
vm.mailbox "203" { pin = "203", endpoints = { "carol" } }
pbx.context "internal" {
  ["201"]  = function(call) call:dial("alice", { timeout = 15 }) end,
  ["7202"] = function(call) vm.deposit(call, "202") end,
  ["8202"] = function(call) vm.deposit(call, "202", { greeting = "busy" }) end,
  ["7203"] = function(call) vm.deposit(call, "203") end,
  ["9"]    = function(call) vm.main(call) end,
}
""" % net.pbx_rtp


def mwi_events(phone):
    return [e for e in phone.events if e.get("type") == "MWI_NOTIFY"]


with Tap(timeout=420) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    vmdir = os.path.join(pbx.state_dir, "recordings", "voicemail")
    lab = PhoneLab.register(t, pbx, net, HZ, limit=400)
    alice, bob, dave = lab.phones["alice"], lab.phones["bob"], lab.phones["dave"]
    # carol watches 203's lamp with baresip's mwi module (see 45 for its
    # start-up race and why a looping phone is replaced)
    for attempt in range(3):
        carol = Phone("carol", net.ip(5), registrar=pbx.sip, password="carolpw",
                      rtp_ports=net.phone_rtp(3), tone_hz=CAROL_HZ, modules=("mwi.so",),
                      limit=400, name="carol-%d" % attempt)
        wait_until(lambda: "subscribing" in carol.log_text(), 5)
        time.sleep(1.0)
        if carol.log_text().count("mwi: subscribing") <= 2:
            break
        t.diag("baresip's mwi module is looping (its start-up race): a new carol")
        carol.stop()
    t.ok(carol.registered(10), "carol (baresip, mwi) registers", diag=carol.reginfo)
    hz = dict(HZ, carol=CAROL_HZ)

    # Keys are typed ahead: the PBX queues a call's digits until a prompt
    # or a collect takes them (a prompt ends at once on a queued key), so
    # the waits are for what the PBX logs, not for its prompts.
    def dial(phone, exten):
        phone.fresh_name()   # baresip names recordings by the second
        n = len(phone.recordings())
        phone.dial("sip:%s@%s" % (exten, pbx.sip))
        return n, phone.wait_event("CALL_ESTABLISHED", 15)

    def heard(phone, n):
        r = phone.wait_closed(n + 1, timeout=15)   # later on a loaded machine
        if not r:
            t.diag("no finished recording %d from %s" % (n + 1, phone.name))
        return r["dec"] if r else None

    def hears(phone, n, who, secs):
        """Until phone, in its call being recorded as n + 1, has heard secs
        of who's tone and then 0.5 s without it (what played it ended)."""
        return phone.listen(n + 1).wait(hz[who], secs, timeout=30, then_quiet=0.5)

    def secs(rec, who):
        return tone_duration(rec, hz[who]) if rec else 0

    def hang(phone):
        phone.hangup()
        phone.wait_event("CALL_CLOSED", 5)

    def login(phone, box, pin, what=None):
        mark = pbx.log_mark()
        n, est = dial(phone, "9")
        phone.send_dtmf(box + "#" + pin + "#")
        ok = est and pbx.wait_log(r"voicemail %s: logged in from" % box, 10, since=mark)
        if what:
            t.ok(ok, what, diag=lambda: tail(pbx.log_since(mark), 15))
        return n, mark, ok

    def refused(phone, box, pin, what):
        mark = pbx.log_mark()
        n, est = dial(phone, "9")
        phone.send_dtmf(box + "#" + pin + "#")
        ok = est and pbx.wait_log(r"voicemail: login to mailbox %s from \d+ refused" % box, 10,
                                  since=mark)
        t.ok(ok and not re.search(r"voicemail %s: logged in" % box, pbx.log_since(mark)),
             what, diag=lambda: tail(pbx.log_since(mark), 15))
        hang(phone)

    def record_greeting(phone, box, key, kind):
        who = "carol" if phone is carol else phone.name
        n, mark, ok = login(phone, box, box)
        phone.send_dtmf("0" + key)      # mailbox options, then the greeting
        ok = ok and pbx.wait_log(r"voicemail %s: recording the %s greeting" % (box, kind), 12,
                                 since=mark)
        time.sleep(3.0)                 # the beep, then 2 s or more of the phone's tone
        phone.send_dtmf("#")
        ok = ok and pbx.wait_log(r"voicemail %s: %s greeting recorded" % (box, kind), 8,
                                 since=mark)
        hang(phone)
        path = os.path.join(vmdir, box, "greet-%s.wav" % kind)
        d = tone_duration(path, hz[who]) if os.path.exists(path) else 0
        t.ok(ok and d >= 1.5, "%s logs into %s, keys 0 %s: the %s greeting is recorded, with"
             " %s's tone (%.1f s)" % (who, box, key, kind, who, d),
             diag=lambda: tail(pbx.log_since(mark), 15))

    def deposit(exten, keep=0.0, skip=None):
        """alice calls exten (voicemail); keep > 0: she leaves keep s of her
        tone, else she hangs up at the beep.  skip: once she heard that
        one's greeting to its end (its tone, then 1 s without it), # skips
        "leave your message after the tone".  What she heard."""
        mark = pbx.log_mark()
        n, est = dial(alice, exten)
        if est and skip:
            alice.listen(n + 1).wait(hz[skip], 1.5, timeout=20, then_quiet=1.0)
            alice.send_dtmf("#")
        ok = est and pbx.wait_log(r"voicemail \d+: recording a message from 201", 25,
                                  since=mark)
        if keep:
            time.sleep(keep)
        hang(alice)
        if keep:
            ok = ok and pbx.wait_log(r"voicemail \d+: message \d+ from 201", 5, since=mark)
        return ok, heard(alice, n)

    def greeting_heard(exten, who, never, what, keep=0.0, skip=True):
        ok, rec = deposit(exten, keep, who if skip and not keep else None)
        got = secs(rec, who)
        bad = {n: secs(rec, n) for n in never}
        t.ok(ok and got >= 1.5 and all(v < 0.3 for v in bad.values()),
             "%s: alice hears %s's tone (%.1f s)%s" % (what, who, got, "".join(
                 ", not %s's (%.1f s)" % kv for kv in bad.items())))
        return rec

    def console(code):
        return console_exec(pbx, code)

    def counts(box):
        r = console('for _, b in ipairs(voicemail()) do if b.number == "%s" then'
                    ' return b.new .. "/" .. b.old end end' % box)
        return r.out.strip()

    # -- greetings from the mailbox options, heard by a caller ----------------------------
    record_greeting(bob, "202", "1", "unavail")
    record_greeting(carol, "202", "2", "busy")
    record_greeting(dave, "203", "3", "name")

    greeting_heard("7202", "bob", ("carol", "dave"), "202 unavailable", keep=3.0)
    files = [f for f in os.listdir(os.path.join(vmdir, "202")) if f.startswith("m-")]
    t.ok(len(files) == 1 and tone_duration(os.path.join(vmdir, "202", files[0]),
                                           HZ["alice"]) >= 2.0,
         "alice's message is kept in 202, her tone in it (%s)" % files)
    greeting_heard("8202", "carol", ("bob", "dave"), "202 busy")
    rec = greeting_heard("7203", "dave", ("bob", "carol"), "203, no greeting but a name",
                         skip=False)
    run = rec and tone_heard(rec, HZ["dave"])
    words = rms(rec, run[1] + 0.2, run[1] + 1.0) if run else 0
    t.ok(words > 300, "... then words (\"is not available\": rms %.0f after the name)" % words)
    t.is_(counts("202"), "1/0", "console voicemail(): 202 has 1 new, 0 old")

    # -- the temporary greeting wins, then goes ----------------------------------------------
    record_greeting(dave, "202", "4", "temp")
    greeting_heard("7202", "dave", ("bob", "carol"), "202 with a temporary greeting, unavailable")
    greeting_heard("8202", "dave", ("bob", "carol"), "202 with a temporary greeting, busy")
    n, mark, ok = login(dave, "202", "202")
    dave.send_dtmf("042")               # 0 4: a temporary greeting exists: 1 record, 2 remove
    ok = ok and pbx.wait_log(r"voicemail 202: temporary greeting removed", 8, since=mark)
    hang(dave)
    t.ok(ok and not os.path.exists(os.path.join(vmdir, "202", "greet-temp.wav")),
         "dave keys 0 4 2: the temporary greeting is removed",
         diag=lambda: tail(pbx.log_since(mark), 15))
    greeting_heard("7202", "bob", ("carol", "dave"), "the temporary greeting removed")

    # -- forward: 8, 203# ----------------------------------------------------------------
    n, mark, ok = login(bob, "202", "202", "bob logs into 202")
    bob.send_dtmf("1")                  # the envelope, then alice's message
    hears(bob, n, "alice", 2.2)
    bob.send_dtmf("8203#")
    m = pbx.wait_log(r"voicemail 202: message \d+ forwarded to 203 \((\d+)\)", 8, since=mark)
    t.ok(m, "8 then 203#: the message is forwarded", diag=lambda: tail(pbx.log_since(mark), 15))
    bob.send_dtmf("##")                 # back to the main menu, then goodbye
    t.ok(bob.wait_event("CALL_CLOSED", 10), "# #: goodbye, the PBX hangs up")
    rec = heard(bob, n)
    t.ok(secs(rec, "alice") >= 2.0, "bob heard alice's message (%.1f s of her tone)"
         % secs(rec, "alice"))
    r = console('local l = voicemail("203") return #l .. " " .. (l[1] and l[1].folder or "-")'
                ' .. " " .. tostring(l[1] and l[1].caller_num) .. " " .. tostring(l[1] and'
                ' l[1].heard)')
    t.is_(r.out.strip(), "1 INBOX 201 false", "203 has the copy: in INBOX, from 201, not heard",
          diag=r.diag)
    r = console('return voicemail("202")[1].received .. " " .. voicemail("203")[1].received')
    got = r.out.split()
    t.ok(len(got) == 2 and got[0] == got[1], "the copy keeps the time the message was left"
         " (%s)" % r.out.strip(), diag=r.diag)
    t.is_(counts("202"), "0/1", "202: 0 new, 1 old (the original, heard)")
    t.is_(counts("203"), "1/0", "203: 1 new")
    copies = [f for f in os.listdir(os.path.join(vmdir, "203")) if f.startswith("m-")]
    d = tone_duration(os.path.join(vmdir, "203", copies[0]), HZ["alice"]) if copies else 0
    t.ok(len(copies) == 1 and d >= 2.0, "the copy's file holds alice's tone (%.1f s)" % d)
    t.ok(wait_until(lambda: any(re.search(r"Voice-Message: 1/0", str(e.get("param", "")))
                                for e in mwi_events(carol)), 8),
         "carol's mwi module got 203's NOTIFY: 1 new", diag=lambda: repr(mwi_events(carol)))

    n, mark, ok = login(carol, "203", "203", "carol logs into 203")
    carol.send_dtmf("1")
    hears(carol, n, "alice", 2.2)
    carol.send_dtmf("##")
    t.ok(carol.wait_event("CALL_CLOSED", 10), "carol leaves")
    rec = heard(carol, n)
    t.ok(secs(rec, "alice") >= 2.0, "carol heard the forwarded message: alice's tone (%.1f s)"
         % secs(rec, "alice"))
    t.is_(counts("203"), "0/1", "203: 0 new, 1 old")
    t.ok(wait_until(lambda: re.search(r"Voice-Message: 0/1", str(
        (mwi_events(carol) or [{}])[-1].get("param", ""))), 8),
         "carol's lamp: NOTIFY 0 new, 1 old", diag=lambda: repr(mwi_events(carol)[-2:]))

    # -- call back: 3 then 2 ---------------------------------------------------------------
    n, mark, ok = login(bob, "202", "202", "bob logs into 202 again")
    na = len(alice.recordings())
    bob.send_dtmf("132")                # 1 plays: 3 (advanced options) ends the envelope,
                                        # 2 calls the caller back
    rang = (pbx.wait_log(r"voicemail 202: calling back 201", 10, since=mark)
            and pbx.wait_log(r"dial \d+: ringing alice", 3, since=mark))
    t.ok(rang, "3 then 2: alice's phone rings (her number in bob's context)",
         diag=lambda: tail(pbx.log_since(mark), 15))
    t.ok(alice.wait_event("CALL_ESTABLISHED", 10), "alice (auto answer) answers")
    bob.listen(n + 1).wait(hz["alice"], 2.7, timeout=15)
    alice.listen(na + 1).wait(hz["bob"], 2.7, timeout=15)
    hang(bob)
    t.ok(alice.wait_event("CALL_CLOSED", 5), "bob hangs up: alice's call ends too")
    rec_b = heard(bob, n)
    rec_a = heard(alice, na)
    t.ok(secs(rec_b, "alice") >= 2.5, "bob hears alice in the call back (%.1f s of her tone)"
         % secs(rec_b, "alice"))
    t.ok(secs(rec_a, "bob") >= 2.5, "alice hears bob (%.1f s of his tone)" % secs(rec_a, "bob"))
    t.ok(lab.empty(), "nothing left (calls, legs, bridges)",
         diag=lambda: console("calls() legs()").out)

    # -- PIN change: 0 5, twice --------------------------------------------------------------
    n, mark, ok = login(bob, "202", "202", "bob logs into 202 to change the PIN")
    bob.send_dtmf("054321#4321#")       # 0 5, the new PIN, again
    t.ok(pbx.wait_log(r"voicemail 202: PIN changed", 8, since=mark), "0 5, 4321# twice: the"
         " PIN is changed", diag=lambda: tail(pbx.log_since(mark), 15))
    hang(bob)
    refused(bob, "202", "202", "the old PIN is refused")
    login(bob, "202", "4321", "the new PIN is accepted")
    hang(bob)

    r = console("reload()")
    t.ok(r.ok, "reload()", diag=r.diag)
    refused(bob, "202", "202", "after a reload the old PIN is still refused")
    login(bob, "202", "4321", "... and the new one accepted")
    hang(bob)

    rc, killed, _ = pbx.stop()
    t.ok(rc == 0 and not killed, "the PBX stops")
    pbx.start()
    refused(bob, "202", "202", "after a restart the old PIN is still refused")
    login(bob, "202", "4321", "... and the new one accepted")
    hang(bob)
    greeting_heard("7202", "bob", ("carol", "dave"), "after the restart, the greeting")

    lab.stop()
    carol.stop()
    pbx.finish(t)
