#!/usr/bin/python3
# A WebSocket client that never reads must not slow anything: while a
# baresip call runs (its audio checked both ways), the dialplan floods the
# event stream (1 MB of events, 25 KB at a time); the client that does not
# read (a 4 KB receive buffer) is dropped with one log line once its socket buffer and
# its queue (queue_kb = 16) are full, the client that reads gets every event
# in order, the flood's request is answered at once, and the call goes on.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(95)
HZ = {"alice": 700, "bob": 1100}
TOKEN = "slow-client-token-95"
FLOOD, BURST, SIZE = 1000, 25, 1000
CONFIG = """\
local pbx = require "lunapbx"
pbx.settings { realm = "lunapbx", rtp_ports = "%(rtp)s",
  http = { listen = "%(http)s", tokens = { test = "%(token)s" }, queue_kb = 16 } }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.endpoint "bob"   { secret = "bobpw",   context = "internal" }
pbx.http.route("/flood", function(req)
  local pad = string.rep("x", tonumber(req.query.size))
  local t0 = pbx.now()
  for i = 1, tonumber(req.query.n) do pbx.emit("flood", { i = i, pad = pad }) end
  return 200, { seconds = pbx.now() - t0 }
end)
pbx.context "internal" {
  ["202"] = function(call) call:dial("bob", { timeout = 10 }) end,
}
""" % {"rtp": net.pbx_rtp, "http": "%s:8088" % net.ip(0), "token": TOKEN}

with Tap(timeout=120) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    base = "http://%s:8088" % net.ip(0)
    wsurl = "ws://%s:8088/events" % net.ip(0)
    lab = PhoneLab.register(t, pbx, net, HZ)
    alice, bob = lab.phones["alice"], lab.phones["bob"]

    good = EventClient(wsurl, token=TOKEN, name="good", events="flood,hangup")
    slow = EventClient(wsurl, token=TOKEN, name="slow", read=False, rcvbuf=4096)
    t.ok(good.connected() and slow.connected(), "two clients follow the events; one never"
         " reads", diag=repr((good.error, slow.error)))
    t.ok(good.wait_event("hello", 3), "the reading one is greeted")

    t.ok(lab.call(alice, "202", bob), "alice calls bob (202); bob answers")
    time.sleep(1)
    mark = pbx.log_mark()
    worst, spent, fails = 0.0, 0.0, 0
    for k in range(FLOOD // BURST):        # bursts a reader keeps up with
        t0 = time.time()
        st, js = http_json(base + "/flood?n=%d&size=%d" % (BURST, SIZE), token=TOKEN, timeout=10)
        worst = max(worst, time.time() - t0)
        spent += js.get("seconds", 0) if st == 200 else 0
        fails += st != 200
        time.sleep(0.02)
    t.ok(fails == 0 and worst < 1.0, "the dialplan emits %d events of %d bytes, %d at a time:"
         " each request answered within %.3f s (the PBX spent %.3f s in all)"
         % (FLOOD, SIZE, BURST, worst, spent))
    line = pbx.wait_log(r"WebSocket client test \(.*\) reads too slowly: 16 KB wait for it,"
                        r" dropped", 5, since=mark)
    t.ok(line, "the client that does not read is dropped, with a log line",
         diag=lambda: tail(pbx.log_since(mark), 10))
    t.is_(len(re.findall(r"reads too slowly", pbx.log_since(mark))), 1, "... one line, once")
    ok = wait_until(lambda: len(good.events("flood")) == FLOOD, 10)
    fl = good.events("flood")
    seqs = [m["seq"] for m in fl]
    t.ok(ok and [m["i"] for m in fl] == list(range(1, BURST + 1)) * (FLOOD // BURST)
         and seqs == sorted(seqs) and len(set(seqs)) == FLOOD,
         "the reading client gets all %d, in order (%d)" % (FLOOD, len(fl)))
    t.ok(good.connected(), "... and stays connected")
    kinds = sorted(set(m["event"] for m in good.events()))
    t.is_(kinds, ["flood", "hello"], "?events=flood,hangup: it got nothing else (%s: the"
          " call's answered, bridged... are filtered out)" % ", ".join(kinds))
    time.sleep(2)
    t.ok(lab.hang(alice, bob), "alice hangs up: the call ends on both sides")
    t.ok(good.wait_event("hangup", 5), "the reading client sees the hangup")
    ra, rb = alice.wait_recording(1), bob.wait_recording(1)
    t.ok(ra and rb, "both phones recorded the call")
    if ra and rb:
        lab.only(ra["dec"], "bob", [], "alice, through the flood")
        lab.only(rb["dec"], "alice", [], "bob, through the flood")
        da, db = tone_duration(ra["dec"], HZ["bob"]), tone_duration(rb["dec"], HZ["alice"])
        t.ok(da >= 2.5 and db >= 2.5, "... for the whole call (%.1f s, %.1f s)" % (da, db))
    st, text, _ = http(base + "/metrics", token=TOKEN)
    s, bad, _ = parse_prometheus(text)
    t.is_(s.get(("lunapbx_event_clients_dropped_total", ())), 1.0, "metrics: one client dropped")
    t.is_(s.get(("lunapbx_event_clients", ())), 1.0, "metrics: one client left")
    good.close()
    slow.close()
    lab.stop()
    t.ok(lab.empty(), "nothing left (calls, legs, bridges)")
    pbx.finish(t)
