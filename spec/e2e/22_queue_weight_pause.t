#!/usr/bin/env python3
# Queue weight, autopause and penalty limits with sipp agents and callers.
#   weight: a1 is a member of "light" (weight 0) and "heavy" (weight 10);
#     carol waits in light, then dave in heavy; a1 back from a pause in
#     light only is kept for heavy (not rung for carol, who waited
#     longer); unpaused in heavy too, it takes dave's call, then carol's;
#   autopause: a2 rings and never answers, a3 answers: autopause = "no"
#     leaves a2 alone; "yes" pauses it in that queue (queue log: PAUSE
#     Auto-Pause) and the next call does not ring it; "all" pauses it in
#     every queue it is in;
#   penalties: a1 (0), a2 (1), a3 (2): with a1 and a2 paused, a3 takes the
#     call; with max_penalty = 1 a3 is not rung (TIMEOUT); with
#     min_penalty = 1 and everyone back, a2 is rung, not a1.
import os
import re
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest import queues  # noqa: E402

net = Net(22)
AGENTS = ["a1", "a2", "a3"]

CONFIG = """
local pbx = require "lunapbx"
local queue = require "lunapbx.queue"
pbx.settings { listen = "%(pbx)s:5070", rtp_ports = "%(rtp)s" }
for i = 1, 3 do pbx.endpoint("a" .. i) { secret = "a" .. i .. "pw", context = "agents" } end
pbx.endpoint "carol" { secret = "carolpw", context = "q" }
pbx.endpoint "dave" { secret = "davepw", context = "q" }
queue.template "T" { strategy = "linear", timeout = 2, retry = 0.5 }
queue.define "light" { template = "T", weight = 0, members = { "a1" } }
queue.define "heavy" { template = "T", weight = 10, members = { "a1" } }
queue.define "apno"  { template = "T", members = { "a2", "a3" } }
queue.define "ap"    { template = "T", autopause = "yes", members = { "a2", "a3" } }
queue.define "apall" { template = "T", autopause = "all", members = { "a2", "a3" } }
queue.define "pen"   { template = "T", members = { "a1", { "a2", penalty = 1 }, { "a3", penalty = 2 } } }
local opts = { penmax1 = { queue = "pen", max_penalty = 1, timeout = 4 },
               penmin1 = { queue = "pen", min_penalty = 1 } }
local ctx = {}
for _, name in ipairs { "light", "heavy", "apno", "ap", "apall", "pen", "penmax1", "penmin1" } do
  ctx[name] = function(call)
    local o = opts[name] or { queue = name }
    local status = queue.join(call, o.queue, { timeout = o.timeout or 20,
                              max_penalty = o.max_penalty, min_penalty = o.min_penalty })
    pbx.log("info", "QUEUESTATUS %%s %%s", name, status)
    call:hangup()
  end
end
pbx.context "q" (ctx)
""" % {"pbx": net.ip(0), "rtp": net.pbx_rtp}


with Tap(timeout=150) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    addr = {a: "%s:5062" % net.ip(2 + k) for k, a in enumerate(AGENTS)}
    media = {a: "%s:%d" % (net.ip(2 + k), net.media_port(1 + k)) for k, a in enumerate(AGENTS)}
    cip = {"carol": "%s:5060" % net.ip(1), "dave": "%s:5060" % net.ip(5)}
    cmedia = {"carol": "%s:%d" % (net.ip(1), net.media_port(0)),
              "dave": "%s:%d" % (net.ip(5), net.media_port(5))}
    for a in AGENTS:
        r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
                 local=addr[a], remote=pbx.sip, keys={"user": a}, auth=(a, a + "pw"),
                 timeout=10, name="register-" + a).run()
        t.sipp_ok(r, "sipp agent %s registers" % a)

    def agent(a, scenario="uas_answer_bye.xml", template=None):
        return Sipp(scenario, local=addr[a], media=media[a], m=1000,
                    keys={"pt": 0, "codec": "PCMU"},
                    template=template if template is not None else {"hold_ms": 1000},
                    timeout=140, name="agent-%s-%s" % (a, scenario[:-4])).start()

    def caller(exten, label, who="carol", start=False):
        s = Sipp("uac_wait_bye.xml", template={"media": SDP["pcmu_pcma"], "bye_within_ms": 15000},
                 local=cip[who], media=cmedia[who], remote=pbx.sip, service=exten,
                 keys={"user": who}, auth=(who, who + "pw"), m=1, limit=1, timeout=40,
                 name="%s-%s" % (who, label))
        return s.start() if start else s.run()

    def lua(code):
        return console_exec(pbx, "local q = require('lunapbx.queue') " + code).out.strip()

    def connects(queue=None):
        return [(r["queuename"], r["agent"]) for r in queues.log_rows(pbx, queue, "CONNECT")]

    def invites(s):
        return len([m for m in s.messages() if m.dir == "recv" and m.start.startswith("INVITE")])

    # -- weight ---------------------------------------------------------------------
    a1 = agent("a1")
    lua("return q.pause('a1')")
    carol = caller("light", "light", start=True)
    time.sleep(1.0)
    dave = caller("heavy", "heavy", who="dave", start=True)
    time.sleep(1.0)
    lua("return q.unpause('a1', { queue = 'light' })")
    time.sleep(1.5)
    t.is_(connects(), [], "a1 unpaused in light only: kept for heavy (weight 10), where dave "
          "waits; not rung for carol")
    t.is_(queues.stat(pbx, "light", "waiting"), "1", "... carol still waits in light")
    lua("return q.unpause('a1', { queue = 'heavy' })")
    t.sipp_ok(dave.wait(), "a1 unpaused in heavy too: dave's call is answered and ended")
    t.sipp_ok(carol.wait(), "... then carol's, who waited longer")
    t.is_(connects(), [("heavy", "a1"), ("light", "a1")],
          "the queue log: a1 took heavy's caller first, then light's")

    # -- autopause -------------------------------------------------------------------
    a2 = agent("a2", "uas_cancel.xml", template={})
    a3 = agent("a3")
    t.sipp_ok(caller("apno", "apno"), "apno: a2 rings 2 s unanswered, a3 answers")
    t.is_(connects("apno"), [("apno", "a3")], "apno: ... a3 took it")
    t.is_(lua("return tostring(q.is_paused('a2'))"), "false", "autopause = no: a2 not paused")
    t.sipp_ok(caller("ap", "ap1"), "ap: a2 rings unanswered, a3 answers")
    st = queues.members(pbx, "ap")
    t.is_(st.get("a2"), "paused", "autopause = yes: a2 paused in ap")
    t.is_(lua("for _, m in ipairs(q.stats('ap').members) do "
              "if m.name == 'a2' then return m.reason end end"), "Auto-Pause",
          "... its reason Auto-Pause")
    t.is_([(r["agent"], r["data1"]) for r in queues.log_rows(pbx, "ap", "PAUSE")],
          [("a2", "Auto-Pause")], "... in the queue log: PAUSE a2 Auto-Pause")
    t.ok(queues.members(pbx, "apno").get("a2") == "idle"
         and queues.members(pbx, "apall").get("a2") == "idle",
         "... only in ap (apno, apall: idle)")
    rung = invites(a2)
    t.sipp_ok(caller("ap", "ap2"), "ap: the next call ...")
    t.is_(invites(a2), rung, "... does not ring the paused a2")
    t.is_([x[1] for x in connects("ap")], ["a3", "a3"], "... a3 takes it")
    lua("return q.unpause('a2')")
    t.sipp_ok(caller("apall", "apall"), "apall: a2 rings unanswered, a3 answers")
    paused = {qn: queues.members(pbx, qn).get("a2") for qn in ("apno", "ap", "apall")}
    t.is_(paused, {"apno": "paused", "ap": "paused", "apall": "paused"},
          "autopause = all: a2 paused in every queue it is in")
    rna = [r["agent"] for r in queues.log_rows(pbx, None, "RINGNOANSWER")]
    t.is_(rna, ["a2", "a2", "a2"], "the queue log: a2's RINGNOANSWER on each of the 3 calls")
    lua("return q.unpause('a2')")
    a2.stop()

    # -- penalties --------------------------------------------------------------------
    a2 = agent("a2")
    lua("q.pause('a1', { queue = 'pen' }) return q.pause('a2', { queue = 'pen' })")
    t.sipp_ok(caller("pen", "pen"), "pen: a1 (0) and a2 (1) paused: the call is answered")
    t.is_(connects("pen"), [("pen", "a3")], "pen: ... by a3 (penalty 2)")
    rung = invites(a3)
    mark = pbx.log_mark()
    t.sipp_ok(caller("penmax1", "penmax1"), "max_penalty = 1: the caller waits its 4 s")
    t.ok(re.search(r"QUEUESTATUS penmax1 TIMEOUT", pbx.log_since(mark)), "... TIMEOUT")
    t.is_(invites(a3), rung, "... a3 (penalty 2) was not rung")
    lua("q.unpause('a1') return q.unpause('a2')")
    t.sipp_ok(caller("penmin1", "penmin1"), "min_penalty = 1, everyone back: answered")
    t.is_(connects("pen")[1:], [("pen", "a2")],
          "... by a2 (penalty 1), not a1 (penalty 0, below the minimum)")
    for qn in ("light", "heavy", "apno", "ap", "apall", "pen"):
        ok, st = queues.all_free(pbx, qn, free=("idle", "wrapup"))
        t.ok(ok, "%s: every member idle at the end" % qn, diag=repr(st))
    for s in (a1, a2, a3):
        s.stop()
