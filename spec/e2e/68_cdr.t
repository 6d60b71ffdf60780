#!/usr/bin/env python3
# Call records (Asterisk's CDR): sipp calls through the PBX and the rows
# they leave in the state database (<state>/lunapbx.db, tables cdr and
# cdr_var), in Master.csv (cdr_csv = true) and in the console's cdr(n):
#   - answered, the caller hangs up after 2.5 s: ANSWERED, billsec 2, the
#     dialplan's accountcode, userfield and a column of its own
#   - busy (486): BUSY; never answered (dial timeout): NO ANSWER; an
#     endpoint that is not registered: FAILED; the caller CANCELs: NO ANSWER
#   - answered by the PBX itself for 1 s: ANSWERED, billsec 1, no dstchannel
#   - a transfer (the caller's REFER sends alice to 301): two rows, carol
#     -> alice and alice -> 301, with the same linkedid
#   - a field the PBX fills cannot be set from Lua (a clear error)
import csv
import os
import re
import sqlite3
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest.console import console_exec  # noqa: E402

net = Net(68)

CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%s", cdr_csv = true }
pbx.features { atxfer = "*2" }
local CID = { alice = '"Alice" <201>', carol = '"Carol" <203>', xa = "71", xb = "72", xc = "73" }
for _, n in ipairs { "alice", "bob", "carol", "dave", "xa", "xb", "xc" } do
  pbx.endpoint(n) { secret = n .. "pw", context = "internal", callerid = CID[n] }
end
pbx.context "internal" {
  ["201"] = function(call)
    call.cdr.accountcode = "acme"
    call.cdr.userfield = "vip"
    call.cdr.campaign = "xmas"
    call.cdr.gone = 1
    call.cdr.gone = nil
    call:dial("alice", { timeout = 10 })
    call.cdr.after = call.dialstatus   -- the caller may have hung up: still its record
  end,
  ["202"] = function(call) call:dial("bob", { timeout = 2 }) end,
  ["204"] = function(call) call:dial("dave", { timeout = 5 }) end,
  ["_5X"] = function(call)         -- a conference room: each talks to the PBX
    call:answer()
    local br = pbx.bridge { room = "r" }
    br:add(call.leg)
    repeat local ev = br:wait(call.leg) until ev == "hangup" or ev == "left" or ev == nil
  end,
  ["_7X"] = function(call, exten)
    call:dial("x" .. ({ ["71"] = "a", ["72"] = "b", ["73"] = "c" })[exten], { timeout = 10, options = "tT" })
  end,
  ["206"] = function(call)         -- alice, then (she hung up) bob: a queue's next member
    for _, who in ipairs { "alice", "bob" } do
      local d = pbx.dial(who, { caller = call.leg, timeout = 5 })
      local status, code, b, br = d:wait()
      if status ~= "ANSWER" then return end
      local ev, leg = br:wait()
      if leg == call.leg then return end
    end
  end,
  ["301"] = function(call)
    call:answer()
    local ok, err = pcall(function() call.cdr.src = "x" end)
    pbx.log("info", "cdr.src: " .. tostring(err))
    pbx.log("info", "cdr read: " .. tostring(call.cdr.dst) .. " " .. tostring(call.cdr.channel))
    pbx.sleep(1.3)
    call:hangup()
  end,
}
""" % net.pbx_rtp


def rows(pbx):
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(pbx.state_dir, "lunapbx.db"), uri=True)
    db.row_factory = sqlite3.Row
    out = [dict(r) for r in db.execute("SELECT * FROM cdr ORDER BY sequence")]
    for r in out:
        r["vars"] = dict(db.execute("SELECT name, value FROM cdr_var WHERE sequence = ?",
                                    (r["sequence"],)).fetchall())
    db.close()
    return out


def wait_rows(pbx, n, timeout=10):
    got = wait_until(lambda: len(rows(pbx)) >= n, timeout)
    return rows(pbx) if got else rows(pbx)


with Tap(timeout=200) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    t.ok(pbx.alive(), "lunapbx started (%s)" % pbx.sip)
    carol = "%s:5060" % net.ip(1)
    carol_media = "%s:%d" % (net.ip(1), net.media_port(0))
    phones = {"alice": ("%s:5062" % net.ip(2), "%s:%d" % (net.ip(2), net.media_port(1)), "alicepw"),
              "bob": ("%s:5062" % net.ip(3), "%s:%d" % (net.ip(3), net.media_port(2)), "bobpw")}
    for who, (addr, _, pw) in sorted(phones.items()):
        r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
                 local=addr, remote=pbx.sip, keys={"user": who}, auth=(who, pw),
                 timeout=10, name="register-" + who).run()
        t.sipp_ok(r, "sipp registers as %s" % who)

    def callee(scenario, who, label, template=None):
        addr, media, _ = phones[who]
        return Sipp(scenario, local=addr, media=media, keys={"pt": 0, "codec": "PCMU"},
                    template=template, timeout=20, name="uas-" + label).start()

    def caller(scenario, exten, label, **tmpl):
        tmpl.setdefault("media", SDP["pcmu"])
        return Sipp(scenario, template=tmpl, local=carol, media=carol_media, remote=pbx.sip,
                    service=exten, keys={"user": "carol"}, auth=("carol", "carolpw"),
                    timeout=20, name="uac-" + label).run()

    t.is_(rows(pbx), [], "a new state database has no call record")

    # -- answered, 2.5 s of talk ----------------------------------------------
    uas = callee("uas_answer.xml", "alice", "answered")
    r = caller("uac_bye.xml", "201", "answered", hold_ms=2500)
    ru = uas.wait(timeout=10)
    t.sipp_ok(r, "carol calls 201, alice answers, carol hangs up after 2.5 s", extra=ru.diag)
    got = wait_rows(pbx, 1)
    a = got[0] if got else {}
    t.is_(a.get("disposition"), "ANSWERED", "row 1: disposition ANSWERED")
    t.is_(a.get("billsec"), 2, "... billsec 2 (2.5 s, rounded down as Asterisk does)",
          diag=lambda: repr(a))
    t.ok(a.get("duration", 0) >= a.get("billsec", 99) and a.get("duration", 99) <= 4,
         "... duration %s >= billsec" % a.get("duration"))
    t.is_((a.get("src"), a.get("dst"), a.get("context")), ("203", "201", "internal"),
          "... src 203, dst 201, context internal")
    t.ok(re.match(r"SIP/carol-[0-9a-f]{8}$", a.get("channel") or "") and
         re.match(r"SIP/alice-[0-9a-f]{8}$", a.get("dstchannel") or ""),
         "... channel %s, dstchannel %s" % (a.get("channel"), a.get("dstchannel")))
    t.is_((a.get("accountcode"), a.get("userfield"), a.get("vars")),
          ("acme", "vip", {"campaign": "xmas", "after": "ANSWER"}),
          "... the dialplan's accountcode, userfield and its own columns (one removed, one"
          " set after the dial, the caller gone)")
    t.ok(a.get("clid") == '"Carol" <203>' and a.get("uniqueid") == a.get("linkedid") and
         re.match(r"\d+\.\d+$", a.get("uniqueid") or ""),
         "... clid %s, uniqueid %s = linkedid" % (a.get("clid"), a.get("uniqueid")))
    ts = "%Y-%m-%d %H:%M:%S"
    try:
        st, an, en = [time.mktime(time.strptime(a[k], ts)) for k in ("start", "answer", "end")]
        t.ok(st <= an <= en and en - an in (2, 3) and abs(time.time() - time.timezone - en) < 30,
             "... start <= answer <= end, in UTC (%s, %s, %s)" % (a["start"], a["answer"], a["end"]))
    except (KeyError, TypeError, ValueError) as e:
        t.ok(False, "... start, answer, end are times: %s" % e)

    # -- busy -------------------------------------------------------------------
    uas = callee("uas_reject.xml", "alice", "busy", template={"code": 486, "reason": "Busy Here"})
    r = caller("uac_reject.xml", "201", "busy", code=486)
    uas.wait(timeout=10)
    t.sipp_ok(r, "alice is busy: carol gets 486")
    got = wait_rows(pbx, 2)
    b = got[1] if len(got) > 1 else {}
    t.is_((b.get("disposition"), b.get("billsec"), b.get("answer")), ("BUSY", 0, None),
          "row 2: BUSY, billsec 0, no answer time")
    t.is_(b.get("dstchannel"), "SIP/alice", "... dstchannel: what was dialled")
    t.is_(b.get("vars", {}).get("after"), "BUSY", "... its column set after the dial")

    # -- no answer ------------------------------------------------------------------
    uas = callee("uas_cancel.xml", "bob", "noanswer")
    r = caller("uac_reject.xml", "202", "noanswer", code=480)
    uas.wait(timeout=10)
    t.sipp_ok(r, "bob never answers (dial timeout 2 s): carol gets 480")
    got = wait_rows(pbx, 3)
    c = got[2] if len(got) > 2 else {}
    t.is_((c.get("disposition"), c.get("billsec"), c.get("dst")), ("NO ANSWER", 0, "202"),
          "row 3: NO ANSWER, billsec 0, dst 202")
    t.ok(2 <= (c.get("duration") or 0) <= 4, "... duration %s (the 2 s of ringing)"
         % c.get("duration"))

    # -- failed: dave has no contact ----------------------------------------------
    r = caller("uac_reject.xml", "204", "failed", code=480)
    t.sipp_ok(r, "dave is not registered: carol's call fails")
    got = wait_rows(pbx, 4)
    d = got[3] if len(got) > 3 else {}
    t.is_((d.get("disposition"), d.get("billsec")), ("FAILED", 0), "row 4: FAILED, billsec 0")

    # -- the caller gives up while alice rings ------------------------------------
    uas = callee("uas_cancel.xml", "alice", "cancel")
    r = caller("uac_cancel.xml", "201", "cancel", ring_ms=500)
    uas.wait(timeout=10)
    t.sipp_ok(r, "carol CANCELs while alice rings")
    got = wait_rows(pbx, 5)
    e = got[4] if len(got) > 4 else {}
    t.is_((e.get("disposition"), e.get("billsec")), ("NO ANSWER", 0), "row 5: NO ANSWER")

    # -- answered by the PBX ----------------------------------------------------------
    mark = pbx.log_mark()
    r = caller("uac_wait_bye.xml", "301", "pbx", bye_within_ms=5000)
    t.sipp_ok(r, "carol calls 301: the PBX answers, hangs up after 1.3 s")
    got = wait_rows(pbx, 6)
    f = got[5] if len(got) > 5 else {}
    t.is_((f.get("disposition"), f.get("billsec"), f.get("dstchannel")), ("ANSWERED", 1, ""),
          "row 6: ANSWERED, billsec 1, nobody else (dstchannel empty)")
    t.ok(pbx.wait_log(r"cdr\.src: .*the PBX fills this field", 2, since=mark),
         "call.cdr.src = ... raises: the PBX fills this field",
         diag=lambda: tail(pbx.log_since(mark), 10))
    t.ok(pbx.wait_log(r"cdr read: 301 SIP/carol-", 2, since=mark),
         "call.cdr.dst and .channel read the record's fields")

    # -- one call, two parties one after the other ------------------------------------------
    uas_a = callee("uas_answer_bye.xml", "alice", "first", template={"hold_ms": 1200})
    uas_b = callee("uas_answer.xml", "bob", "second")
    r = caller("uac_bye.xml", "206", "two", hold_ms=3700)
    uas_a.wait(timeout=10)
    uas_b.wait(timeout=10)
    t.sipp_ok(r, "carol calls 206: alice answers and hangs up after 1.2 s, then bob answers")
    got = wait_rows(pbx, 8)
    two = got[6:8] if len(got) > 7 else [{}, {}]
    t.ok([x.get("dst") for x in two] == ["206", "206"] and
         two[0].get("dstchannel", "").startswith("SIP/alice-") and
         two[1].get("dstchannel", "").startswith("SIP/bob-") and
         [x.get("disposition") for x in two] == ["ANSWERED", "ANSWERED"],
         "two records for 206: carol -> alice, then carol -> bob", diag=lambda: repr(two))
    t.ok(two[0].get("billsec") == 1 and two[1].get("billsec") == 2 and
         two[0].get("uniqueid") == two[1].get("uniqueid"),
         "... billsec 1 and 2 (each party's own time), the same uniqueid (carol's leg)",
         diag=lambda: repr(two))

    # -- two callers in a conference room ----------------------------------------------------
    n0 = len(rows(pbx))
    dave = Sipp("uac_bye.xml", template={"media": SDP["pcmu"], "hold_ms": 1500},
                local="%s:5060" % net.ip(4), media="%s:%d" % (net.ip(4), net.media_port(3)),
                remote=pbx.sip, service="52", keys={"user": "dave"}, auth=("dave", "davepw"),
                timeout=20, name="uac-room-dave").start()
    r = caller("uac_bye.xml", "51", "room", hold_ms=2500)
    rd = dave.wait(timeout=10)
    t.sipp_ok(r, "carol and dave in room r (2.5 s and 1.5 s)", extra=rd.diag)
    got = wait_rows(pbx, n0 + 2)
    room = {x.get("dst"): x for x in got[n0:n0 + 2]}
    t.ok(set(room) == {"51", "52"} and
         all(x.get("disposition") == "ANSWERED" and x.get("dstchannel") == ""
             for x in room.values()) and
         room.get("51", {}).get("billsec") == 2 and room.get("52", {}).get("billsec") == 1,
         "a room: each its own record, ANSWERED by the PBX, billsec 2 and 1 (not each"
         " other's party)", diag=lambda: repr(got[n0:]))
    n0 += 2

    # -- a transfer: carol REFERs alice to 301 ------------------------------------------
    uas = callee("uas_answer.xml", "alice", "transfer")
    def reply(method):
        return """  <recv request="%s"/>
  <send><![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Content-Length: 0
    ]]></send>""" % method
    bye = """  <pause milliseconds="300"/>
  <send retrans="500"><![CDATA[
      BYE [next_url] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      [routes]
      From: <sip:[user]@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
      To: [$pbx_to]
      Call-ID: [call_id]
      CSeq: 4 BYE
      Max-Forwards: 70
      Content-Length: 0
    ]]></send>
  <recv response="200" crlf="true"/>"""
    x = Sipp("uac_refer.xml", template={
        "media": SDP["pcmu"], "talk_ms": 1500, "refer_to": "<sip:301@%s>" % pbx.sip,
        "refer_hdrs": "", "refer_code": 202,
        "after": "\n".join([reply("NOTIFY"), reply("NOTIFY"), bye])},
        local=carol, media=carol_media, remote=pbx.sip, service="201",
        keys={"user": "carol"}, auth=("carol", "carolpw"), timeout=25, name="uac-refer").run()
    ru = uas.wait(timeout=15)
    t.sipp_ok(x, "carol calls 201, alice answers, carol REFERs her to 301, NOTIFYs, carol hangs up",
              extra=ru.diag)
    t.sipp_ok(ru, "... alice talks to 301 and gets its BYE", extra=x.diag)
    got = wait_rows(pbx, n0 + 2)
    g, h = (got[n0], got[n0 + 1]) if len(got) > n0 + 1 else ({}, {})
    by_src = {r.get("src"): r for r in (g, h)}
    g, h = by_src.get("203", {}), by_src.get("201", {})
    t.ok(g.get("disposition") == "ANSWERED" and g.get("dst") == "201" and
         g.get("dstchannel", "").startswith("SIP/alice-") and g.get("billsec") == 1,
         "row: carol -> alice, ANSWERED, billsec 1 (until the REFER)", diag=lambda: repr(g))
    t.ok(h.get("disposition") == "ANSWERED" and h.get("dst") == "301" and
         h.get("channel", "").startswith("SIP/alice-") and h.get("billsec") == 1,
         "row: alice -> 301 (her call of its own), ANSWERED, billsec 1", diag=lambda: repr(h))
    t.ok(g.get("linkedid") and g.get("linkedid") == h.get("linkedid") and
         h.get("uniqueid") != g.get("uniqueid"),
         "... both with carol's linkedid %s" % g.get("linkedid"))

    # -- an attended transfer between baresip phones ------------------------------------------
    hz = {"xa": 500, "xb": 800, "xc": 1250}
    ph = {w: Phone(w, net.ip(5 + k), registrar=pbx.sip, password=w + "pw",
                   rtp_ports=net.phone_rtp(k), tone_hz=hz[w], limit=120)
          for k, w in enumerate(hz)}
    t.ok(all(p.registered(10) for p in ph.values()), "three baresip phones register (xa, xb, xc)")
    lab = PhoneLab(t, pbx, ph, hz)
    xa, xb, xc = ph["xa"], ph["xb"], ph["xc"]
    n0 = len(rows(pbx))
    t.ok(lab.call(xa, "72", xb), "xa calls 72, xb answers")
    time.sleep(2)
    xb.send_dtmf("*273")
    t.ok(xc.wait_event("CALL_ESTABLISHED", 15), "xb keys *2 73: xc answers (xa hears music)")
    time.sleep(2.5)
    lab.hang(xb)
    time.sleep(2.5)
    t.ok(lab.hang(xa, xc), "xb hangs up: xa and xc talk; xa hangs up, xc's leg ends")
    ra = xa.wait_recording(1)
    lab.order(ra and ra["dec"], "xb", "xc", "xa")
    got = wait_rows(pbx, n0 + 3)
    new = got[n0:n0 + 3]
    by = {(x.get("src"), (x.get("dstchannel") or "")[:7]): x for x in new}
    ab, bc, ac = by.get(("71", "SIP/xb-"), {}), by.get(("72", "SIP/xc-"), {}), \
        by.get(("71", "SIP/xc-"), {})
    t.ok(len(new) == 3 and ab and bc and ac and
         all(x.get("disposition") == "ANSWERED" for x in new),
         "three records: xa -> xb, xb -> xc (the consultation), xa -> xc; all ANSWERED",
         diag=lambda: repr(new))
    t.ok(ab.get("dst") == "72" and ac.get("dst") == "72" and bc.get("dst") == "73",
         "... dst: 72 for xa's (the extension its call ran), 73 for xb's",
         diag=lambda: repr(new))
    t.ok(2 <= (ab.get("billsec") or 0) <= 4 and 2 <= (bc.get("billsec") or 0) <= 4 and
         2 <= (ac.get("billsec") or 0) <= 3,
         "... billsecs %s, %s, %s (each pair's own time)" % (ab.get("billsec"),
                                                           bc.get("billsec"), ac.get("billsec")))
    t.ok(ab.get("linkedid") and ab.get("linkedid") == bc.get("linkedid") == ac.get("linkedid"),
         "... one linkedid (xa's) for the three")
    for p_ in ph.values():
        p_.stop()

    # -- the same records in Master.csv and in the console ----------------------------------
    path = os.path.join(pbx.state_dir, "cdr-csv", "Master.csv")
    try:
        with open(path, newline="") as fh:
            lines = list(csv.reader(fh))
    except OSError as err:
        lines = []
        t.diag("Master.csv: %s" % err)
    all_rows = rows(pbx)
    t.is_(len(lines), len(all_rows), "Master.csv has a line per record (%d)" % len(all_rows))
    first = lines[0] if lines else []
    t.ok(first[:4] == ["acme", "203", "201", "internal"] and first[14] == "ANSWERED" and
         first[13] == "2" and first[17] == "vip" and "campaign=xmas" in first[20:] and "after=ANSWER" in first[20:],
         "... Asterisk's columns: accountcode, src, dst, dcontext, ... billsec, disposition,"
         " ..., userfield, then linkedid, sequence and campaign=xmas", diag=repr(first))
    res = console_exec(pbx, "cdr(3)")
    t.ok(res.rc == 0 and re.search(r"SEQ .*DISPOSITION", res.out) and
         res.out.count("ANSWERED") == 3 and "3 records" in res.out and "SIP/xc-" in res.out,
         "console: cdr(3) shows the last 3 records", diag=res.diag)
    res = console_exec(pbx, "cdr(1)[1].campaign or cdr(15)[1].campaign")
    t.ok(res.rc == 0 and "xmas" in res.out, "console: a row's own column reads as a field",
         diag=res.diag)

    pbx.finish(t)
