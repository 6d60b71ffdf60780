#!/usr/bin/env python3
# Live statistics and the console: callers waiting (a priority caller goes
# first), the longest wait, answered and abandoned counts, the service
# level, each agent's state, from queue.stats() and the console's queues();
# members added, removed, paused and unpaused from the console.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest import queues  # noqa: E402

net = Net(27)

CONFIG = """
local pbx = require "lunapbx"
local queue = require "lunapbx.queue"
pbx.settings { listen = "%(pbx)s:5070", rtp_ports = "%(rtp)s" }
pbx.endpoint "a1" { secret = "a1pw", context = "q" }
for _, who in ipairs { "carol", "dave", "erin" } do
  pbx.endpoint(who) { secret = who .. "pw", context = "q" }
end
queue.define "desk" { strategy = "linear", timeout = 5, retry = 0.5, servicelevel = 1,
                      members = { "a1" } }
pbx.context "q" {
  ["desk"] = function(call) queue.join(call, "desk") call:hangup() end,
  ["vip"]  = function(call) queue.join(call, "desk", { prio = 10 }) call:hangup() end,
}
""" % {"pbx": net.ip(0), "rtp": net.pbx_rtp}


def console(pbx, code):
    r = console_exec(pbx, code)
    return (r.out + r.err).strip()


with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    a1addr = "%s:5062" % net.ip(2)
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=a1addr, remote=pbx.sip, keys={"user": "a1"}, auth=("a1", "a1pw"),
             timeout=10, name="register-a1").run()
    t.sipp_ok(r, "sipp agent a1 registers")
    a1 = Sipp("uas_answer_bye.xml", local=a1addr, media="%s:%d" % (net.ip(2), net.media_port(1)),
              m=100, keys={"pt": 0, "codec": "PCMU"}, template={"hold_ms": 300}, timeout=140,
              name="agent-a1").start()
    who_ip = {"carol": net.ip(3), "dave": net.ip(4), "erin": net.ip(5)}

    def caller(who, exten, scenario="uac_wait_bye.xml", **tmpl):
        tmpl.setdefault("media", SDP["pcmu_pcma"])
        if scenario == "uac_wait_bye.xml":
            tmpl.setdefault("bye_within_ms", 30000)
        return Sipp(scenario, template=tmpl, local="%s:5060" % who_ip[who],
                    media="%s:%d" % (who_ip[who], net.media_port(2)), remote=pbx.sip,
                    service=exten, keys={"user": who}, auth=(who, who + "pw"),
                    timeout=60, name="%s-%s" % (who, exten)).start()

    out = console(pbx, "queue_pause('a1', 'desk', 'meeting')")
    t.is_(out, "true", "console: queue_pause('a1', 'desk', 'meeting')")
    carol = caller("carol", "desk")
    time.sleep(1.0)
    dave = caller("dave", "vip")
    time.sleep(1.5)
    t.is_(queues.stat(pbx, "desk", "waiting"), "2", "two callers waiting (the agent paused)")
    lw = float(queues.stat(pbx, "desk", "longest_wait") or 0)
    t.ok(2.0 <= lw <= 5.0, "the longest wait is carol's, %.1f s" % lw)
    view = console(pbx, "queues('desk')")
    rows = re.findall(r"^\s*(\d+)\s+(\w+)\s", view, re.M)
    t.ok(("1", "dave") in rows and ("2", "carol") in rows,
         "queues('desk'): dave (priority 10) is first, carol second", diag=view)
    t.ok(re.search(r"^a1\s+paused\s+meeting", view, re.M),
         "... a1 shows paused (meeting)", diag=view)
    summary = console(pbx, "queues()")
    t.ok(re.search(r"^desk\s+linear\s+2\s", summary, re.M), "queues(): desk, linear, 2 waiting",
         diag=summary)

    t.is_(console(pbx, "queue_unpause('a1')"), "true", "console: queue_unpause('a1')")
    t.sipp_ok(dave.wait(), "dave is answered by a1 (then a1 hangs up)")
    t.sipp_ok(carol.wait(), "then carol")
    enter = {r["callid"]: r.get("data2") for r in queues.log_rows(pbx, "desk", "ENTERQUEUE")}
    order = [enter.get(r["callid"]) for r in queues.log_rows(pbx, "desk", "CONNECT")]
    t.is_(order, ["dave", "carol"], "CONNECT order: the priority caller first")
    t.sipp_ok(caller("erin", "desk").wait(), "erin calls while a1 is free: answered at once")
    t.is_(queues.stat(pbx, "desk", "answered"), "3", "answered: 3")
    sl = float(queues.stat(pbx, "desk", "service_level") or -1)
    t.ok(abs(sl - 100.0 / 3) < 1, "service level (answered within 1 s): 1 of 3 (%.1f %%)" % sl)

    console(pbx, "queue_pause('a1')")
    r = caller("erin", "desk", scenario="uac_bye.xml", hold_ms=1500).wait()
    t.sipp_ok(r, "erin calls while a1 is paused and hangs up after 1.5 s")
    t.is_(queues.stat(pbx, "desk", "abandoned"), "1", "abandoned: 1")
    t.is_(queues.stat(pbx, "desk", "waiting"), "0", "nobody waiting any more")

    t.is_(console(pbx, "queue_add('desk', 'erin', 1)"), "true", "console: queue_add('desk', 'erin', 1)")
    st = queues.members(pbx, "desk")
    t.is_(st.get("a1"), "paused", "a1 paused")
    t.ok(st.get("erin") in ("idle", "unavailable"), "erin a member (%s)" % st.get("erin"))
    t.ok("a static member" in console(pbx, "queue_remove('desk', 'a1')"),
         "queue_remove of a static member says why it cannot")
    t.is_(console(pbx, "queue_remove('desk', 'erin')"), "true", "queue_remove('desk', 'erin')")
    t.ok("erin" not in queues.members(pbx, "desk"), "erin is no member any more")
    t.ok("no queue nope" in console(pbx, "queue_add('nope', 'x')"), "an unknown queue: an error")
    a1.stop()
