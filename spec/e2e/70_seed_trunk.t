#!/usr/bin/env python3
# The seed's trunk lab, both ways, with real phones and audio checked:
# dialplans/seed-a.lua and dialplans/seed-b.lua run as two PBXs on their own
# loopback addresses; B registers to A as trunk_A_vers_B:azerty (SEED_A
# tells B where A is).  amine (baresip, 700 Hz) is on A, chhinyleboss
# (baresip, 1100 Hz) on B.  amine dials 900: A sends it over the trunk to
# B's registered contact, B rings chhinyleboss.  Then chhinyleboss dials
# 100: B sends it to its peer A, A rings amine.  Each phone must hear the
# other's tone.  Last, each phone calls 600 on its own PBX, the echo test:
# after the prompt it hears its own tone back.  Then chhinyleboss stops
# answering: amine's call to 900 ends in B's voicemail, across the trunk.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(70)         # 127.S.70.10-19
ROOT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
A_HZ, B_HZ = 700, 1100


def seed(name):
    with open(os.path.join(ROOT_DIR, "dialplans", name)) as f:
        return f.read()


def tones_crossed(t, caller, callee, what):
    """The last recording of each phone holds the other's tone."""
    for ph, other in ((caller, callee), (callee, caller)):
        rec = ph.wait_recording(len(ph.recordings()) or 1)
        if not rec:
            t.ok(False, "%s: %s recorded the call" % (what, ph.name))
            continue
        f, ratio, info = dominant_tone(rec["dec"], [A_HZ, B_HZ])
        secs = tone_duration(rec["dec"], other.tone_hz)
        t.ok(f == other.tone_hz and secs >= 2.0,
             "%s: %s heard %s's %d Hz tone (%.1f s, ratio %.0f)"
             % (what, ph.name, other.name, other.tone_hz, secs, ratio),
             diag=lambda: "dominant %r; %r" % (f, info))


def call(t, caller, callee, uri, what, hold=4):
    r = caller.dial(uri)
    t.ok(r and r.get("ok"), "%s: %s dials %s" % (what, caller.name, uri), diag=repr(r))
    eb = callee.wait_event("CALL_ESTABLISHED", 10)
    ea = caller.wait_event("CALL_ESTABLISHED", 5)
    t.ok(ea and eb, "%s: %s answers, the call is up on both phones" % (what, callee.name),
         diag=lambda: "caller %s, callee %s" % (caller.event_types(), callee.event_types()))
    if ea and eb:
        time.sleep(hold)
    caller.hangup()
    t.ok(callee.wait_event("CALL_CLOSED", 10), "%s: the hang-up crosses the trunk" % what)
    caller.wait_event("CALL_CLOSED", 5)
    tones_crossed(t, caller, callee, what)


with Tap(timeout=180) as t:
    t.require_pbx()
    a_sip, b_sip = "%s:5060" % net.ip(0), "%s:5060" % net.ip(1)
    pbx_a = Pbx(seed("seed-a.lua"), listen=a_sip, name="pbx-a")
    os.environ["SEED_A"] = a_sip
    mark_a = pbx_a.log_mark()
    pbx_b = Pbx(seed("seed-b.lua"), listen=b_sip, name="pbx-b")
    t.ok(pbx_a.alive() and pbx_b.alive(), "seed-a.lua (%s) and seed-b.lua (%s) run side by side"
         % (a_sip, b_sip))

    t.ok(pbx_b.wait_log(r"register trunk_A_vers_B: registered with %s" % net.ip(0), 10),
         "B registers to A as trunk_A_vers_B (digest, secret azerty)",
         diag=lambda: pbx_b.log_tail(10))
    t.ok(pbx_a.wait_log(r"registrar: trunk_A_vers_B: new contact sip:trunk_A_vers_B@%s"
                        % net.ip(1), 5, since=mark_a),
         "A holds B's contact under the trunk's name")

    amine = Phone("amine", net.ip(2), registrar=a_sip, password="test",
                  rtp_ports=net.phone_rtp(0), tone_hz=A_HZ, limit=100)
    chhiny = Phone("chhinyleboss", net.ip(3), registrar=b_sip, password="vitrygtr",
                   rtp_ports=net.phone_rtp(1), tone_hz=B_HZ, limit=100)
    t.ok(amine.registered(10), "amine registers to A", diag=amine.reginfo)
    t.ok(chhiny.registered(10), "chhinyleboss registers to B", diag=chhiny.reginfo)

    # -- A -> B: 900 over the trunk -------------------------------------------
    ma, mb = pbx_a.log_mark(), pbx_b.log_mark()
    call(t, amine, chhiny, "sip:900@%s" % a_sip, "amine -> 900")
    t.like(pbx_a.log_since(ma), r"ringing trunk_A_vers_B \(sip:900@%s" % net.ip(1).replace(".", r"\."),
           "A dials 900 at B's registered contact, the number as user")
    t.like(pbx_b.log_since(mb), r"peer A: INVITE from %s:5060 trusted" % net.ip(0).replace(".", r"\."),
           "B takes A's INVITE as its peer A's (insecure=invite), in context internal")
    t.like(pbx_b.log_since(mb), r"-> 900@internal", "... extension 900")

    # -- B -> A: 100 over the trunk -------------------------------------------
    fresh_names()          # baresip names recordings by the second
    ma, mb = pbx_a.log_mark(), pbx_b.log_mark()
    call(t, chhiny, amine, "sip:100@%s" % b_sip, "chhinyleboss -> 100")
    t.like(pbx_b.log_since(mb), r"ringing A \(sip:100@%s:5060\)" % net.ip(0).replace(".", r"\."),
           "B sends 100 to its peer A")
    t.like(pbx_a.log_since(ma), r"peer trunk_A_vers_B: INVITE from %s:5060 trusted"
           % net.ip(1).replace(".", r"\."),
           "A takes it as the trunk's, known by the address B registered from")
    t.like(pbx_a.log_since(ma), r'"?Chhiny"? <900> -> 100@internal',
           "... with B's caller id (900) and extension 100")

    # -- 600 on each side: the echo test --------------------------------------
    for ph, sip, who in ((amine, a_sip, "A"), (chhiny, b_sip, "B")):
        fresh_names()          # baresip names recordings by the second
        n = len(ph.recordings())
        ph.dial("sip:600@%s" % sip)
        est = ph.wait_event("CALL_ESTABLISHED", 10)
        t.ok(est, "%s calls 600 on %s: the echo test answers" % (ph.name, who))
        if est:
            # the prompt, then its own tone echoed back
            ph.listen(n + 1).wait(ph.tone_hz, 2.0, timeout=20)
        ph.hangup()
        ph.wait_event("CALL_CLOSED", 5)
        rec = ph.wait_recording(n + 1)
        d = tone_duration(rec["dec"], ph.tone_hz) if rec else 0
        t.ok(d >= 1.5, "... and %s hears its own %d Hz tone back (%.1f s)"
             % (ph.name, ph.tone_hz, d))

    # -- voicemail across the trunk: chhinyleboss does not answer ----------------
    chhiny.stop()
    quiet = Phone("chhinyleboss", net.ip(4), registrar=b_sip, password="vitrygtr",
                  rtp_ports=net.phone_rtp(2), tone_hz=B_HZ, answermode="manual",
                  limit=100, name="chhiny-quiet")
    t.ok(quiet.registered(10), "chhinyleboss registers again, answering nothing")
    fresh_names()          # baresip names recordings by the second
    mb = pbx_b.log_mark()
    n = len(amine.recordings())
    amine.dial("sip:900@%s" % a_sip)
    est = amine.wait_event("CALL_ESTABLISHED", 30)
    t.ok(est and pbx_b.wait_log(r"voicemail 900: recording a message", 15, since=mb),
         "amine calls 900 on A: after B's 20 s of ringing, B's voicemail answers over"
         " the trunk", diag=lambda: tail(pbx_b.log_since(mb), 15))
    time.sleep(3)
    amine.hangup()
    amine.wait_event("CALL_CLOSED", 5)
    t.ok(pbx_b.wait_log(r"voicemail 900: message \d+ from \d*", 5, since=mb),
         "amine hangs up: the message is in mailbox 900 on B")
    vmdir = os.path.join(pbx_b.state_dir, "recordings", "voicemail", "900")
    msgs = [f for f in os.listdir(vmdir) if f.startswith("m-")] if os.path.isdir(vmdir) else []
    d = tone_duration(os.path.join(vmdir, msgs[0]), A_HZ) if msgs else 0
    t.ok(len(msgs) == 1 and d >= 2.0, "... holding amine's %d Hz tone (%.1f s)" % (A_HZ, d))

    for ph in (amine, quiet):
        ph.stop()
    pbx_b.finish(t)
    pbx_a.finish(t)
