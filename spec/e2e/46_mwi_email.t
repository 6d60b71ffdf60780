#!/usr/bin/env python3
# Message waiting and e-mail around one deposit.  sipp subscribes to
# message-summary (RFC 3842/6665): 401 then 200 with the Expires asked, an
# immediate NOTIFY "0/0", a NOTIFY "1/0" when a baresip phone leaves a
# message, a refresh answered with a NOTIFY, and an un-SUBSCRIBE answered
# with a final "terminated" NOTIFY; another subscription left alone ends
# with "terminated;reason=timeout".  Unknown events get 489 with
# Allow-Events, short expiries 423 with Min-Expires, someone else's
# mailbox 403, no mailbox 404.  A phone that registers (and re-registers)
# gets unsolicited NOTIFYs at its contact, and one after the deposit.  The
# deposit's e-mail goes through msmtp (the sendmail command) to a local
# SMTP server (aiosmtpd) started here, with the message's audio attached;
# the on_deposit hook runs.
import email
import email.policy
import os
import re
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.proc import kill_proc, spawn  # noqa: E402

net = Net(46)
BOB_HZ = 900
SMTP = "%s:2525" % net.ip(8)

CONFIG = """\
local pbx = require "lunapbx"
local vm = require "lunapbx.voicemail"
pbx.settings { realm = "lunapbx", rtp_ports = "%(rtp)s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.endpoint "bob"   { secret = "bobpw", context = "internal", callerid = '"Bob" <201>' }
pbx.endpoint "carol" { secret = "carolpw", context = "internal" }

vm.settings { sendmail = "msmtp -t -C %(msmtprc)s", from = "pbx@lunapbx.test" }
vm.mailbox "200" { pin = "200", name = "Alice", email = "alice@lunapbx.test",
                   attach = true, endpoints = { "alice", "carol" } }
vm.mailbox "300" { pin = "300", endpoints = { "alice" } }
vm.on_deposit(function(msg)
  pbx.log("info", "hook: message %%d in %%s, %%.1f s, from %%s, file %%s", msg.id,
          msg.mailbox, msg.duration, msg.caller_num, msg.file)
end)

pbx.context "internal" {
  ["200"] = function(call) vm.deposit(call, "200") end,
}
"""


def challenge():
    return ('<recv response="401" auth="true"/>\n  <send retrans="500"><![CDATA[\n'
            '      SUBSCRIBE sip:[service]@[remote_ip]:[remote_port] SIP/2.0\n'
            '      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]\n'
            '      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]\n'
            '      To: <sip:[service]@[remote_ip]:[remote_port]>\n'
            '      Call-ID: [call_id]\n      CSeq: 2 SUBSCRIBE\n'
            '      Contact: <sip:[user]@[local_ip]:[local_port]>\n'
            '      Event: message-summary\n      Expires: 600\n      [authentication]\n'
            '      Max-Forwards: 70\n      Content-Length: 0\n    ]]></send>')


def notify_bodies(result):
    return [m.body for m in result.messages if m.dir == "recv" and not m.is_response
            and m.method == "NOTIFY"]


with Tap(timeout=200) as t:
    t.require_pbx()
    work = workdir("mail")
    maildir = os.path.join(work, "maildir")
    msmtprc = os.path.join(work, "msmtprc")
    with open(msmtprc, "w") as f:
        f.write("account default\nhost %s\nport 2525\nfrom pbx@lunapbx.test\n"
                "auth off\ntls off\nlogfile %s/msmtp.log\n" % (net.ip(8), work))
    os.chmod(msmtprc, 0o600)
    smtpd = spawn(["/usr/bin/python3", "-m", "aiosmtpd", "-n", "-l", SMTP,
                   "-c", "aiosmtpd.handlers.Mailbox", maildir],
                  os.path.join(work, "aiosmtpd.log"))
    t.ok(wait_until(lambda: os.path.isdir(os.path.join(maildir, "new")), 5),
         "a local SMTP server (python3-aiosmtpd) listens on %s" % SMTP)

    pbx = Pbx(CONFIG % {"rtp": net.pbx_rtp, "msmtprc": msmtprc},
              listen="%s:5070" % net.ip(0))

    # -- refusals ---------------------------------------------------------------------
    cases = [("489", "dialog-info-foo", "600", "", "alice", "200", r"Allow-Events: message-summary",
              "an unknown event: 489 Bad Event, Allow-Events: message-summary"),
             ("423", "message-summary", "30", "", "alice", "200", r"Min-Expires: 60",
              "Expires: 30: 423 Interval Too Brief, Min-Expires: 60"),
             ("403", "message-summary", "600", challenge(), "bob", "200", r"403",
              "bob subscribing to alice's mailbox: 403 after authenticating"),
             ("404", "message-summary", "600", challenge(), "alice", "999", r"404",
              "a mailbox that does not exist: 404")]
    for code, event, expires, ch, user, target, header, what in cases:
        r = Sipp("subscribe_expect.xml", local="%s:5064" % net.ip(2), remote=pbx.sip,
                 keys={"user": user}, service=target, auth=(user, user + "pw"), timeout=10,
                 template={"code": code, "event": event, "expires": expires,
                           "challenge": ch, "header": header}, name="sub-" + code).run()
        t.ok(r.ok, what, diag=r.diag)

    # -- an expiring subscription, left alone (mailbox 300) -----------------------------
    expiring = Sipp("mwi_expire.xml", local="%s:5066" % net.ip(3), remote=pbx.sip,
                    keys={"user": "alice"}, service="300", auth=("alice", "alicepw"),
                    timeout=90, template={}, name="expire").start()

    # -- unsolicited: carol's contact is a sipp receiver ----------------------------------
    uas = Sipp("mwi_notify_uas.xml", local="%s:5062" % net.ip(5), timeout=120, m=3,
               name="unsolicited").start()
    reg = lambda: Sipp("mwi_register.xml", local="%s:5061" % net.ip(5), remote=pbx.sip,
                       keys={"user": "carol"}, auth=("carol", "carolpw"), timeout=10,
                       template={"contact": "%s:5062" % net.ip(5)}, name="reg-carol").run()
    r = reg()
    t.ok(r.ok, "carol registers (her contact: the sipp receiver)", diag=r.diag)

    # -- the subscription that watches the deposit ---------------------------------------
    sub = Sipp("mwi_subscribe.xml", local="%s:5060" % net.ip(2), remote=pbx.sip,
               keys={"user": "alice"}, service="200", auth=("alice", "alicepw"), timeout=90,
               template={"expires": 600, "first": r"Messages-Waiting: no",
                         "second": r"Voice-Message: 1/0 \(0/0\)"}, name="subscribe").start()
    t.ok(pbx.wait_log(r"subscr: alice subscribes to message-summary of 200 for 600 s", 8),
         "alice (sipp) subscribes to mailbox 200 for 600 s")

    # -- bob leaves a message -----------------------------------------------------------
    bob = Phone("bob", net.ip(1), registrar=pbx.sip, password="bobpw",
                rtp_ports=net.phone_rtp(0), tone_hz=BOB_HZ, limit=150)
    t.ok(bob.registered(10), "bob (baresip) registers", diag=bob.reginfo)
    mark = pbx.log_mark()
    fresh_names()          # baresip names recordings by the second
    bob.dial("sip:200@%s" % pbx.sip)
    t.ok(bob.wait_event("CALL_ESTABLISHED", 10), "bob calls 200: voicemail answers")
    t.ok(pbx.wait_log(r"voicemail 200: recording a message from 201", 20, since=mark),
         "the stock greeting, the beep, then the recording",
         diag=lambda: tail(pbx.log_since(mark), 20))
    time.sleep(3.0)
    bob.hangup()
    bob.wait_event("CALL_CLOSED", 5)
    m = pbx.wait_log(r"hook: message (\d+) in 200, ([0-9.]+) s, from 201, file (voicemail/200/\S+)",
                     5, since=mark)
    t.ok(m, "the on_deposit hook ran with the message (%s)" % (m and m.group(0)),
         diag=lambda: tail(pbx.log_since(mark), 15))
    t.ok(pbx.wait_log(r"sendmail: voicemail 200 message \d+ to alice@lunapbx.test: handed over"
                      r" \(exit 0\)", 10, since=mark),
         "msmtp took the e-mail (exit 0), without the call waiting for it",
         diag=lambda: tail(pbx.log_since(mark), 10))

    # -- the subscription: NOTIFY 1/0, refresh, un-SUBSCRIBE ------------------------------
    r = sub.wait()
    t.ok(r.ok, "sipp's subscription: 200 with Expires 600, NOTIFY 'no' then 'Voice-Message:"
         " 1/0 (0/0)', refresh (60 s) answered by a NOTIFY, un-SUBSCRIBE by 'terminated'",
         diag=r.diag)
    bodies = notify_bodies(r)
    t.ok(bodies and "Message-Account: sip:200@%s" % pbx.sip in bodies[0],
         "the body names the account (Message-Account: sip:200@%s)" % pbx.sip,
         diag=lambda: repr(bodies))

    # -- unsolicited NOTIFYs: on register, on deposit, on re-register ----------------------
    r = reg()
    t.ok(r.ok, "carol registers again", diag=r.diag)
    r = uas.wait(timeout=20)
    bodies = notify_bodies(r)
    counts = [re.search(r"Voice-Message: (\d+/\d+)", b).group(1) for b in bodies
              if re.search(r"Voice-Message: (\d+/\d+)", b)]
    t.ok(r.ok, "carol's contact got 3 NOTIFYs outside any subscription, Event and"
         " Content-Type right", diag=r.diag)
    t.is_(counts, ["0/0", "1/0", "1/0"], "... saying 0/0 at registration, 1/0 after the"
          " deposit, 1/0 again at re-registration")

    # -- the e-mail ---------------------------------------------------------------------
    newdir = os.path.join(maildir, "new")
    t.ok(wait_until(lambda: os.listdir(newdir), 5), "the SMTP server received an e-mail")
    files = os.listdir(newdir)
    if files:
        with open(os.path.join(newdir, files[0]), "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        t.like(str(msg["To"]), r"alice@lunapbx\.test", "To: the mailbox's e-mail address")
        t.like(str(msg["Subject"]), r"New voicemail \d+ in mailbox 200", "Subject names the mailbox")
        body = msg.get_body(preferencelist=("plain",))
        t.like(body.get_content() if body else "", r"from Bob <201>",
               "the text says who called")
        att = [p for p in msg.iter_attachments()]
        wav = os.path.join(work, "attached.wav")
        if att:
            with open(wav, "wb") as f:
                f.write(att[0].get_payload(decode=True))
        d = tone_duration(wav, BOB_HZ) if att else 0
        t.ok(att and att[0].get_content_type() == "audio/x-wav" and d >= 2.0,
             "the message is attached (audio/x-wav, %.1f s of bob's %d Hz)" % (d, BOB_HZ))
    else:
        t.ok(False, "the e-mail's content")

    # -- expiry ---------------------------------------------------------------------------
    r = expiring.wait(timeout=90)
    t.ok(r.ok, "the subscription left alone (Expires 60) ends with a NOTIFY"
         " 'terminated;reason=timeout'", diag=r.diag)
    t.ok(pbx.wait_log(r"subscr: message-summary of alice to 300 ended \(expired", 2),
         "... and the PBX says so in its log")

    bob.stop()
    kill_proc(smtpd, grace=2)
    pbx.finish(t)
