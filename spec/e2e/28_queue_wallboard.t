#!/usr/bin/env python3
# The wallboard (lunapbx.wallboard) in headless Chromium, driven through
# chromedriver: the page served by the PBX connects to its WebSocket of
# events; while it stays open, two calls are answered by a sipp agent and a
# third caller hangs up while the agent is paused.  The page's counts follow
# without a reload (the queue events come over the WebSocket), match the
# calls made and queue.stats(), and a screenshot is taken.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest import queues  # noqa: E402
from lunatest import browser  # noqa: E402

net = Net(28)
TOKEN = "wallboard-token-28"

CONFIG = """
local pbx = require "lunapbx"
local queue = require "lunapbx.queue"
local wallboard = require "lunapbx.wallboard"
pbx.settings { listen = "%(pbx)s:5070", rtp_ports = "%(rtp)s",
               http = { listen = "%(pbx)s:8088", tokens = { wallboard = "%(token)s" } } }
pbx.endpoint "a1" { secret = "a1pw", context = "q" }
pbx.endpoint "carol" { secret = "carolpw", context = "q" }
queue.define "desk" { strategy = "linear", timeout = 5, retry = 0.5, members = { "a1" } }
pbx.context "q" { ["desk"] = function(call) queue.join(call, "desk") call:hangup() end }
wallboard.serve { path = "/wallboard" }
""" % {"pbx": net.ip(0), "rtp": net.pbx_rtp, "token": TOKEN}


with Tap(timeout=150) as t:
    t.require_pbx()
    if not browser.available():
        t.skip_all("chromium and chromium-driver are not installed")
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    a1addr = "%s:5062" % net.ip(2)
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=a1addr, remote=pbx.sip, keys={"user": "a1"}, auth=("a1", "a1pw"),
             timeout=10, name="register-a1").run()
    t.sipp_ok(r, "sipp agent a1 registers")
    a1 = Sipp("uas_answer_bye.xml", local=a1addr, media="%s:%d" % (net.ip(2), net.media_port(1)),
              m=100, keys={"pt": 0, "codec": "PCMU"}, template={"hold_ms": 300}, timeout=140,
              name="agent-a1").start()

    def caller(label, scenario="uac_wait_bye.xml", **tmpl):
        tmpl.setdefault("media", SDP["pcmu_pcma"])
        if scenario == "uac_wait_bye.xml":
            tmpl.setdefault("bye_within_ms", 10000)
        return Sipp(scenario, template=tmpl, local="%s:5060" % net.ip(1),
                    media="%s:%d" % (net.ip(1), net.media_port(0)), remote=pbx.sip,
                    service="desk", keys={"user": "carol"}, auth=("carol", "carolpw"),
                    timeout=30, name="carol-" + label).run()

    b = browser.Browser(31000 + 100 * net.slot + net.nn)
    url = "http://%s:8088/wallboard?token=%s" % (net.ip(0), TOKEN)
    b.open(url)
    live = wait_until(lambda: b.script("return document.body.dataset.live") == "1"
                      and b.text("q-desk-answered") is not None, 10, interval=0.2)
    t.ok(live, "the wallboard page loads from the PBX and its WebSocket is live",
         diag=lambda: b.script("return document.body.innerHTML")[:500])
    t.is_(b.text("q-desk-answered"), "0", "the page shows 0 answered")
    t.is_(b.text("m-desk-a1"), "idle", "... and a1 idle")

    t.sipp_ok(caller("1"), "a call, answered by a1")
    t.sipp_ok(caller("2"), "a second call, answered by a1")
    console_exec(pbx, "return require('lunapbx.queue').pause('a1', { reason = 'break' })")
    t.sipp_ok(caller("3", scenario="uac_bye.xml", hold_ms=1500),
              "a third caller hangs up after 1.5 s (a1 paused)")
    ok = wait_until(lambda: b.text("q-desk-answered") == "2" and b.text("q-desk-abandoned") == "1"
                    and (b.text("m-desk-a1") or "").startswith("paused"), 8, interval=0.2)
    t.ok(ok, "without a reload the page shows 2 answered, 1 abandoned, a1 paused (%s, %s, %s)"
         % (b.text("q-desk-answered"), b.text("q-desk-abandoned"), b.text("m-desk-a1")))
    t.ok((b.script("return document.body.dataset.lastEvent") or "").startswith("queue."),
         "... the updates came from queue events on the WebSocket (last: %s)"
         % b.script("return document.body.dataset.lastEvent"))
    t.is_((b.text("q-desk-answered"), b.text("q-desk-abandoned"), b.text("q-desk-waiting")),
          (queues.stat(pbx, "desk", "answered"), queues.stat(pbx, "desk", "abandoned"),
           queues.stat(pbx, "desk", "waiting")),
          "the page's counts are queue.stats()'s")
    shot = os.path.join(pbx.dir, "wallboard.png")
    n = b.screenshot(shot)
    with open(shot, "rb") as f:
        head = f.read(8)
    t.ok(head == b"\x89PNG\r\n\x1a\n" and n > 5000, "a screenshot of the page (%d bytes PNG)" % n)
    if os.environ.get("LUNAPBX_WALLBOARD_PNG"):
        import shutil
        shutil.copy(shot, os.environ["LUNAPBX_WALLBOARD_PNG"])
    b.close()
    a1.stop()
