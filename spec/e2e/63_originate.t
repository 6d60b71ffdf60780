#!/usr/bin/env python3
# originate{ to=, exten=, context= } from the console: the PBX rings a
# phone (a sipp UAS registered as alice or bob) and, when it answers, runs
# the extension for it; the extension may dial another phone, and the two
# are bridged.  Busy, unregistered, unknown and hung-up-while-ringing too.
import os
import re
import sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(63)         # 127.S.63.10-19
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>' }
pbx.endpoint "bob"   { secret = "bobpw", context = "internal", callerid = '"Bob" <202>',
                       allow = { "PCMA" } }
pbx.endpoint "carol" { secret = "carolpw", context = "internal" }
pbx.context "internal" {
  ["201"] = function(call) call:dial("alice", { timeout = 20 }) end,
  ["305"] = function(call)
    pbx.log("info", "305 runs for %%s <%%s>, %%s", call.caller_name, call.caller, call.state)
    pbx.sleep(1)
    call:hangup()
  end,
}
pbx.context "other" {
  ["305"] = function(call) pbx.log("info", "other context runs for %%s", call.caller) call:hangup() end,
}
""" % net.pbx_rtp

with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    phones = {"alice": ("%s:5062" % net.ip(2), "%s:%d" % (net.ip(2), net.media_port(1)), "alicepw"),
              "bob": ("%s:5062" % net.ip(3), "%s:%d" % (net.ip(3), net.media_port(2)), "bobpw")}

    def x(code):
        return console_exec(pbx, code)

    def phone(scenario, who, label, pt=0, codec="PCMU", template=None):
        addr, media, _ = phones[who]
        return Sipp(scenario, local=addr, media=media, keys={"pt": pt, "codec": codec},
                    template=template, timeout=20, name="uas-" + label).start()

    for who, (addr, _, pw) in sorted(phones.items()):
        r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
                 local=addr, remote=pbx.sip, keys={"user": who}, auth=(who, pw),
                 timeout=10, name="register-" + who).run()
        t.sipp_ok(r, "sipp registers as %s" % who)

    # -- the phone answers: the extension runs for it ----------------------------
    mark = pbx.log_mark()
    uas = phone("uas_answer.xml", "alice", "answer")
    r = x('originate{ to = "alice", exten = "305" }')
    t.ok(r.ok and re.match(r"^\d+\n$", r.out), "originate{to = \"alice\", exten = \"305\"}"
         " returns the new call's id (%s)" % r.out.strip(), diag=r.diag)
    t.like(r.err, r"call \d+: originate to alice, then 305@internal",
           "... the console sees the log line of its command", diag=r.diag)
    ru = uas.wait()
    t.sipp_ok(ru, "alice's phone gets the INVITE, answers, and gets the BYE the extension"
              " sends a second later")
    inv = ru.first("INVITE")
    t.like(inv.text if inv else "", r"m=audio \d+ RTP/AVP 0 8 101",
           "... the INVITE carries the PBX's offer (alice's codecs, PCMU first)")
    t.like(inv.header("from") if inv else "", r"sip:305@", "... from the extension it will"
           " reach (305)")
    t.like(pbx.log_since(mark), r"305 runs for Alice <201>, answered",
           "the dialplan ran for the answered phone: the call is alice's, answered, as if"
           " she had dialled 305")

    # -- the context may be given ----------------------------------------------
    mark = pbx.log_mark()
    uas = phone("uas_answer.xml", "alice", "context")
    r = x('originate{ to = "alice", exten = "305", context = "other" }')
    t.sipp_ok(uas.wait(), "originate with context = \"other\": answered, then BYE")
    t.like(pbx.log_since(mark), r"other context runs for 201", "... 305 of context other ran")

    # -- the extension dials another phone: both are bridged -----------------------
    ub = phone("uas_answer.xml", "bob", "bridge-bob", pt=8, codec="PCMA")
    ua = phone("uas_answer.xml", "alice", "bridge-alice")
    r = x('originate{ to = "bob", exten = "201" }')
    t.ok(r.ok, "originate{to = \"bob\", exten = \"201\"}: bob's phone rings", diag=r.diag)
    oid = r.out.strip()
    t.ok(wait_until(lambda: "alice" in x("calls()").out, 8),
         "bob answers, 201 dials alice, alice answers", diag=lambda: x("calls()").out)
    r = x("calls()")
    t.like(r.out, r"(?m)^\s*%s\s+answered\s+\S+\s+Bob <202>\s+201@internal\s+alice\s+PCMA/PCMU"
           % oid, "calls(): the originated call, bob's leg bridged to alice (PCMA/PCMU)",
           diag=r.diag)
    x("hangup(%s)" % oid)
    t.sipp_ok(ub.wait(), "hangup(id): bob gets a BYE...")
    t.sipp_ok(ua.wait(), "... and alice too")

    # -- busy ------------------------------------------------------------------------
    mark = pbx.log_mark()
    uas = phone("uas_reject.xml", "alice", "busy", template={"code": 486, "reason": "Busy Here"})
    r = x('originate{ to = "alice", exten = "305" }')
    t.sipp_ok(uas.wait(), "originate to a busy phone: it answers 486 (ACKed)")
    t.ok(pbx.wait_log(r"call \d+: originate to alice failed: 486", 3, since=mark),
         "... the log says the originate failed: 486")
    t.ok(wait_until(lambda: x("#calls()").out.strip() == "0", 3), "... and the call is gone")

    # -- hung up while it rings --------------------------------------------------
    uas = phone("uas_cancel.xml", "alice", "cancel")
    r = x('originate{ to = "alice", exten = "305", timeout = 10 }')
    oid = r.out.strip()
    t.ok(wait_until(lambda: re.search(r"(?m)^\s*%s\s+ringing\s.*ringing 1" % oid,
                                      x("calls()").out), 5),
         "calls(): the originate is ringing", diag=lambda: x("calls()").out)
    x("hangup(%s)" % oid)
    t.sipp_ok(uas.wait(), "hangup(id) while it rings: the phone gets a CANCEL")

    # -- two contacts: both ring, the first to answer wins ---------------------------
    second = "%s:5062" % net.ip(4)
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=second, remote=pbx.sip, keys={"user": "alice"}, auth=("alice", "alicepw"),
             timeout=10, name="register-alice-2").run()
    t.sipp_ok(r, "alice registers a second contact")
    mark = pbx.log_mark()
    loser = phone("uas_cancel.xml", "alice", "fork-loser")
    winner = Sipp("fork_uas_answer.xml", local=second, media="%s:%d" % (net.ip(4), net.media_port(3)),
                  keys={"pt": 0, "codec": "PCMU"}, template={"answer_ms": 300}, timeout=20,
                  name="uas-fork-winner").start()
    r = x('originate{ to = "alice", exten = "305" }')
    t.sipp_ok(winner.wait(), "originate rings both of alice's contacts: the second answers"
              " (after 300 ms), runs 305 and gets its BYE")
    t.sipp_ok(loser.wait(), "... the first, still ringing, gets a CANCEL")
    t.like(pbx.log_since(mark), r"305 runs for Alice <201>", "... and 305 ran once")

    # -- nobody to ring ----------------------------------------------------------------
    for code, why, name in [
            ('to = "carol", exten = "305"', "carol is not registered",
             "originate to an endpoint that is not registered: an error, rc 1"),
            ('to = "zoe", exten = "305"', "no endpoint 'zoe'", "... to an unknown endpoint"),
            ('to = "alice"', "exten=", "... without an extension")]:
        r = x("originate{ %s }" % code)
        t.ok(r.rc == 1 and why in r.err, name, diag=r.diag)

    pbx.finish(t)
