#!/usr/bin/python3
# The event and command API with a real WebSocket client (python3-websockets):
#   - no token, a wrong one: 401 (HTTP and the WebSocket handshake)
#   - a baresip call alice -> 202 -> bob, the audio checked both ways: the
#     client sees newcall, ringing, answered, bridged, hangup, callend of it,
#     in order, seq without gaps, and a custom event the dialplan emits
#   - the Lua side: pbx.on handlers saw the same events (a pbx.http.route
#     page returns what they counted), a reload replaces the handlers
#   - the client originates a call (alice's phone answers, 202 rings bob,
#     audio both ways) and hangs it up with a command
#   - registrations and DTMF as events
# Runs /usr/bin/python3: Debian's python3-websockets is a module of it.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(93)
HZ = {"alice": 600, "bob": 1300}
TOKEN = "wallboard-token-93"
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%(rtp)s",
  http = { listen = "%(http)s", tokens = { wallboard = "%(token)s", other = "other-token-0093" } } }
pbx.endpoint "alice" { secret = "alicepw", context = "internal", callerid = '"Alice" <201>' }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal", callerid = '"Bob" <202>' }
local seen = { generation = "%(gen)s" }
pbx.on("*", function(ev) seen[ev.event] = (seen[ev.event] or 0) + 1 end)
pbx.on("hangup", function(ev) seen.last_hangup_code = ev.code end)
pbx.on("newcall", function(ev) error("a broken handler") end)
pbx.http.route("/seen", function(req) return 200, seen end)
pbx.http.route("/page", function(req)
  return 201, "<p>" .. (req.query.who or "?") .. "</p>", "text/html"
end)
pbx.context "internal" {
  ["202"] = function(call)
    pbx.emit("wallboard.dialing", { from = call.caller, to = "bob", n = 1, tags = { "a", "b" } })
    call:dial("bob", { timeout = 10 })
  end,
  ["305"] = function(call) call:answer() call:collect{ max = 2, timeout = 5 } call:hangup() end,
}
"""


def config(gen):
    return CONFIG % {"rtp": net.pbx_rtp, "http": "%s:8088" % net.ip(0), "token": TOKEN,
                     "gen": gen}


with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(config("one"), listen="%s:5070" % net.ip(0))
    base = "http://%s:8088" % net.ip(0)
    wsurl = "ws://%s:8088/events" % net.ip(0)

    # -- tokens ------------------------------------------------------------------------
    st, body, hdr = http(base + "/seen")
    t.is_(st, 401, "no token: 401", diag=body)
    t.like(hdr.get("WWW-Authenticate", ""), r"Bearer", "... with WWW-Authenticate: Bearer")
    st, _, _ = http(base + "/seen", token="wrong-token-000")
    t.is_(st, 401, "a wrong token: 401")
    st, _, _ = http(base + "/seen?token=" + TOKEN[:-1])
    t.is_(st, 401, "a token one character short, in the URL: 401")
    bad = EventClient(wsurl, token="wrong-token-000", name="bad")
    t.ok(not bad.connected() and bad.error is not None,
         "the WebSocket handshake with a wrong token is refused (%s)" % bad.error)
    t.like(pbx.log_text(), r"GET /events refused: no valid token", "... and logged")
    st, body, hdr = http(base + "/page?who=x&token=" + TOKEN)
    t.ok(st == 201 and body == "<p>x</p>" and hdr.get("Content-Type") == "text/html",
         "?token= works; a pbx.http.route page: its status, body and type", diag=(st, body, hdr))
    st, js = http_json(base + "/seen", token="other-token-0093")
    t.ok(st == 200 and js.get("generation") == "one", "a second token; a table body is JSON",
         diag=(st, js))
    st, js = http_json(base + "/nothing", token=TOKEN)
    t.is_(st, 404, "a path nobody serves: 404")

    # -- a client follows; phones register -----------------------------------------------
    ws = EventClient(wsurl, token=TOKEN, name="ws")
    t.ok(ws.connected(), "a WebSocket client connects with the token", diag=repr(ws.error))
    hello = ws.wait_event("hello", 3)
    t.ok(hello and hello.get("who") == "wallboard", "... and is greeted: who it is",
         diag=repr(hello))
    lab = PhoneLab.register(t, pbx, net, HZ)
    alice, bob = lab.phones["alice"], lab.phones["bob"]
    for who in ("alice", "bob"):
        r = ws.wait_event("registered", 5, endpoint=who)
        t.ok(r and r.get("contact", "").startswith("sip:") and r.get("expires", 0) > 0,
             "registered: %s, its contact and expiry" % who, diag=repr(r))

    # -- a baresip call ------------------------------------------------------------------
    seq0 = max(m.get("seq", 0) for m in ws.events())
    t.ok(lab.call(alice, "202", bob), "alice calls 202: bob answers")
    time.sleep(3)
    t.ok(lab.hang(alice, bob), "alice hangs up, bob's call ends")
    end = ws.wait_event("callend", 8)
    t.ok(end and end.get("duration", 0) >= 3, "callend: the call's duration (%s s)"
         % (end and end.get("duration")), diag=repr(end))
    evs = [m for m in ws.events() if m["seq"] > seq0]
    names = [m["event"] for m in evs]
    t.note("events of the call: %s" % names)
    new = ws.wait_event("newcall", 1, exten="202")
    t.ok(new and new.get("caller") == "201" and new.get("endpoint") == "alice"
         and new.get("context") == "internal" and new.get("originated") is False,
         "newcall: alice (201) dialled 202 in internal", diag=repr(new))
    call_id = new and new.get("call")
    custom = ws.wait_event("wallboard.dialing", 1)
    t.ok(custom and custom.get("from") == "201" and custom.get("tags") == ["a", "b"]
         and custom.get("n") == 1, "the custom event the dialplan emitted, its fields as given",
         diag=repr(custom))
    ring = ws.wait_event("ringing", 1, direction="out", endpoint="bob")
    t.ok(ring, "ringing: bob's leg (out)", diag=repr(names))
    ans_b = ws.wait_event("answered", 1, direction="out", endpoint="bob")
    ans_a = ws.wait_event("answered", 1, direction="in", endpoint="alice")
    t.ok(ans_a and ans_b, "answered: bob's leg (out) and alice's (in)", diag=repr(names))
    br = ws.wait_event("bridged", 1)
    t.ok(br and br.get("count") == 2 and len(br.get("legs", [])) == 2
         and ans_a and ans_b and set(br["legs"]) == {ans_a["leg"], ans_b["leg"]},
         "bridged: the two legs", diag=repr(br))
    hups = [m for m in evs if m["event"] == "hangup"]
    t.ok(len(hups) == 2 and all(h.get("code") is not None for h in hups)
         and ans_a and hups[0]["leg"] == ans_a["leg"],
         "hangup: both legs, alice's (who hung up) first, with their codes", diag=repr(hups))
    order = [names.index(n) if n in names else -1 for n in
             ("newcall", "ringing", "answered", "bridged", "hangup", "callend")]
    t.ok(-1 not in order and order == sorted(order),
         "the order: newcall, ringing, answered, bridged, hangup, callend", diag=repr(names))
    seqs = [m["seq"] for m in ws.events()]
    t.ok(seqs == list(range(seqs[0], seqs[0] + len(seqs))), "seq counts up without a gap (%d"
         " events)" % len(seqs))
    t.ok(all(m.get("call") == call_id for m in evs if m["event"] in ("newcall", "callend")),
         "newcall and callend name the same call (%s)" % call_id)
    ra, rb = alice.wait_recording(1), bob.wait_recording(1)
    t.ok(ra and rb, "both phones recorded the call")
    if ra and rb:
        lab.only(ra["dec"], "bob", [], "alice")
        lab.only(rb["dec"], "alice", [], "bob")

    # -- the Lua handlers counted the same ------------------------------------------------
    seen = None
    ok = wait_until(lambda: http_json(base + "/seen", token=TOKEN)[1].get("callend"), 3)
    st, seen = http_json(base + "/seen", token=TOKEN)
    counts = {n: names.count(n) for n in set(names)}
    t.ok(ok and all(seen.get(n) == c for n, c in counts.items() if n != "registered"),
         "pbx.on(\"*\") saw each event of the call as often as the client (%s)" % counts,
         diag=repr(seen))
    t.is_(seen.get("last_hangup_code"), hups[-1].get("code") if hups else None,
          "pbx.on(\"hangup\") got the event's fields (code)")
    t.like(pbx.log_text(), r'warn .*pbx\.on\("newcall"\): .*a broken handler',
           "a handler that raises is logged (its error, where), the others ran")

    # -- a reload replaces the handlers ----------------------------------------------------
    with open(pbx.config_path, "w") as f:
        f.write(config("two"))
    r = ws.command({"action": "reload"})
    t.ok(r and r.get("ok") and r.get("response") == "reload",
         "the reload command (over the WebSocket) answers ok", diag=repr(r))
    st, seen = http_json(base + "/seen", token=TOKEN)
    t.ok(seen.get("generation") == "two" and not seen.get("hangup"),
         "the new generation's route and handlers are in force (nothing counted yet)",
         diag=repr(seen))

    # -- originate and hang up by command -------------------------------------------------
    fresh_names()          # baresip names recordings by the second
    r = ws.command({"action": "originate", "to": "alice", "exten": "202", "timeout": 10})
    t.ok(r and r.get("ok") and isinstance(r.get("result", {}).get("call"), int),
         "originate: the new call's id", diag=repr(r))
    oid = r and r.get("result", {}).get("call")
    ea = alice.wait_event("CALL_ESTABLISHED", 10)
    eb = bob.wait_event("CALL_ESTABLISHED", 10)
    t.ok(ea and eb, "alice's phone rings and answers; 202 rings bob, who answers")
    new = ws.wait_event("newcall", 5, call=oid)
    t.ok(new and new.get("originated") is True and new.get("endpoint") == "alice",
         "newcall: originated, alice's leg", diag=repr(new))
    time.sleep(3)
    r = ws.command({"action": "hangup", "call": oid})
    t.ok(r and r.get("ok"), "hangup {call = id}", diag=repr(r))
    t.ok(alice.wait_event("CALL_CLOSED", 5) and bob.wait_event("CALL_CLOSED", 5),
         "... both phones' calls end")
    t.ok(ws.wait_event("callend", 5, call=oid), "... callend of that call")
    ra, rb = alice.wait_recording(2), bob.wait_recording(2)
    if ra and rb:
        lab.only(ra["dec"], "bob", [], "alice (originated)")
        lab.only(rb["dec"], "alice", [], "bob (originated)")
    else:
        t.ok(False, "both phones recorded the originated call")
    r = ws.command({"action": "hangup", "call": oid})
    t.ok(r and not r.get("ok") and r.get("error") == "no such call",
         "hangup of a call that is gone: not ok, why", diag=repr(r))
    r = ws.command({"action": "no_such_thing"})
    t.ok(r and not r.get("ok") and "no command" in r.get("error", ""), "an unknown command: why",
         diag=repr(r))

    # -- DTMF --------------------------------------------------------------------------------
    alice.dial("sip:305@%s" % pbx.sip)
    t.ok(alice.wait_event("CALL_ESTABLISHED", 10), "alice calls 305 (collects 2 digits)")
    time.sleep(0.5)
    alice.send_dtmf("47")
    d = ws.wait(lambda m: m.get("event") == "dtmf" and m.get("digit") == "7", 5)
    t.ok(d and d.get("endpoint") == "alice" and ws.wait_event("dtmf", 1, digit="4"),
         "dtmf: 4 then 7 from alice's leg", diag=repr(ws.events("dtmf")))
    alice.wait_event("CALL_CLOSED", 8)

    lab.stop()
    r = ws.wait_event("unregistered", 8, endpoint="alice")
    t.ok(r, "unregistered: alice's phone stopped", diag=repr(ws.events("unregistered")))
    t.ok(lab.empty(), "nothing left (calls, legs, bridges)")
    ws.close()
    pbx.finish(t)
