#!/usr/bin/env python3
# Agents and queue statuses with sipp: wrapup honoured; ringinuse = false:
# an agent on another call is not rung; an agent that rejects (486) is
# passed over and not stuck; a caller that hangs up while ringall rings
# leaves everyone idle; QUEUESTATUS JOINEMPTY, JOINUNAVAIL, FULL, TIMEOUT,
# LEAVEEMPTY; an exit key (EXITWITHKEY); dynamic members and pauses
# survive a kill -9 and a restart.
import os
import re
import signal
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest import queues  # noqa: E402

net = Net(26)
AGENTS = ["a1", "a2", "a3"]

CONFIG = """
local pbx = require "lunapbx"
local queue = require "lunapbx.queue"
pbx.settings { listen = "%(pbx)s:5070", rtp_ports = "%(rtp)s" }
for i = 1, 4 do pbx.endpoint("a" .. i) { secret = "a" .. i .. "pw", context = "agents" } end
pbx.endpoint "carol" { secret = "carolpw", context = "q" }
pbx.endpoint "dave" { secret = "davepw", context = "q" }
queue.template "T" { strategy = "linear", timeout = 3, retry = 0.5 }
queue.define "wrap"  { template = "T", wrapuptime = 2, members = { "a1", "a2" } }
queue.define "inuse" { template = "T", ringinuse = false, members = { "a1", "a2" } }
queue.define "rej"   { template = "T", members = { "a1", "a2" } }
queue.define "all"   { template = "T", strategy = "ringall", members = { "a1", "a2" } }
queue.define "empty" { template = "T", joinempty = "no", members = {} }
queue.define "unav"  { template = "T", joinempty = "strict", members = { "a4" } }
queue.define "full"  { template = "T", maxlen = 1, members = { "a4" } }
queue.define "leave" { template = "T", leavewhenempty = "strict", members = { "a2" } }
queue.define "key"   { template = "T", members = { "a4" },
                       exits = { ["0"] = function(call, key) pbx.log("info", "EXIT to the operator by %%s", key) end } }
local ctx = {
  ["direct"] = function(call) call:dial("a1", { timeout = 10 }) end,
}
for _, name in ipairs(queue.names()) do
  ctx[name] = function(call)
    local status = queue.join(call, name, { timeout = name == "full" and 3 or 20 })
    pbx.log("info", "QUEUESTATUS %%s %%s", name, status)
    call:hangup()
  end
end
pbx.context "q" (ctx)
""" % {"pbx": net.ip(0), "rtp": net.pbx_rtp}


with Tap(timeout=300) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    addr = {a: "%s:5062" % net.ip(2 + k) for k, a in enumerate(AGENTS)}
    media = {a: "%s:%d" % (net.ip(2 + k), net.media_port(1 + k)) for k, a in enumerate(AGENTS)}
    cmedia = {"carol": "%s:%d" % (net.ip(1), net.media_port(0)),
              "dave": "%s:%d" % (net.ip(5), net.media_port(5))}
    cip = {"carol": "%s:5060" % net.ip(1), "dave": "%s:5060" % net.ip(5)}

    def register(a):
        r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
                 local=addr[a], remote=pbx.sip, keys={"user": a}, auth=(a, a + "pw"),
                 timeout=10, name="register-" + a).run()
        t.sipp_ok(r, "sipp agent %s registers" % a)

    for a in ("a1", "a2"):
        register(a)

    def agent(a, scenario="uas_answer_bye.xml", template=None, m=1000):
        return Sipp(scenario, local=addr[a], media=media[a], m=m, keys={"pt": 0, "codec": "PCMU"},
                    template=template if template is not None else {"hold_ms": 300},
                    timeout=250, name="agent-%s-%s" % (a, scenario[:-4])).start()

    def caller(exten, label, scenario="uac_wait_bye.xml", who="carol", m=1, start=False, **tmpl):
        tmpl.setdefault("media", SDP["pcmu_pcma"])
        if scenario == "uac_wait_bye.xml":
            tmpl.setdefault("bye_within_ms", 10000)
        s = Sipp(scenario, template=tmpl, local=cip[who], media=cmedia[who], remote=pbx.sip,
                 service=exten, keys={"user": who}, auth=(who, who + "pw"), m=m, limit=1,
                 timeout=60, name="%s-%s" % (who, label))
        return s.start() if start else s.run()

    def connects(queue):
        return [r["agent"] for r in queues.log_rows(pbx, queue, "CONNECT")]

    def status_of(name, mark):
        m = pbx.wait_log(r"QUEUESTATUS %s (\S+)" % name, 10, since=mark)
        found = re.findall(r"QUEUESTATUS %s (\S+)" % name, pbx.log_since(mark))
        return found[-1] if found else None

    a1, a2 = agent("a1"), agent("a2")

    # -- wrapup: a1 takes a call, then is in wrapup for 2 s ----------------------------
    t.sipp_ok(caller("wrap", "wrap1"), "wrap: a call, answered and ended by the agent")
    st = queues.members(pbx, "wrap")
    t.is_(st.get("a1"), "wrapup", "wrap: a1 is in wrapup after its call")
    t.sipp_ok(caller("wrap", "wrap2"), "wrap: a second call at once")
    time.sleep(2.2)
    t.sipp_ok(caller("wrap", "wrap3"), "wrap: a third call after the 2 s wrapup")
    t.is_(connects("wrap"), ["a1", "a2", "a1"],
          "wrap: linear gives a1, a2 while a1 wraps up, a1 again once it is over")

    # -- ringinuse = false: a1 in a direct call is not rung --------------------------------
    a1.stop()
    a1 = agent("a1", "fork_uas_answer.xml", template={"answer_ms": 100}, m=1)
    direct = caller("direct", "direct", scenario="uac_bye.xml", who="dave", start=True,
                    hold_ms=4000)
    time.sleep(1.0)
    t.is_(queues.members(pbx, "inuse").get("a1"), "inuse", "inuse: a1 talks to dave directly")
    t.sipp_ok(caller("inuse", "inuse"), "inuse: a queue call meanwhile is answered")
    t.is_(connects("inuse"), ["a2"], "inuse: ... by a2; a1, on a call, was not rung")
    t.sipp_ok(direct.wait(), "inuse: dave's direct call to a1 went on undisturbed")
    a1.wait(timeout=5)
    a1 = agent("a1", "uas_reject.xml", template={"code": 486, "reason": "Busy Here"})

    # -- rej: a1 rejects; a2 gets the call; nobody stuck -----------------------------------
    mark = pbx.log_mark()
    t.sipp_ok(caller("rej", "rej"), "rej: a1 answers 486, the caller still gets an agent")
    t.is_(connects("rej"), ["a2"], "rej: ... a2")
    rna = [r["agent"] for r in queues.log_rows(pbx, "rej", "RINGNOANSWER")]
    t.is_(rna, ["a1"], "rej: the queue log has a1's RINGNOANSWER")
    ok, st = queues.all_free(pbx, "rej", free=("idle",))
    t.ok(ok, "rej: a1 and a2 idle afterwards", diag=repr(st))
    a1.stop()
    a2.stop()

    # -- all: ringall; the caller hangs up while both ring -------------------------------
    a1 = agent("a1", "uas_cancel.xml", template={})
    a2 = agent("a2", "uas_cancel.xml", template={})
    t.sipp_ok(caller("all", "all-cancel", scenario="uac_bye.xml", hold_ms=1500),
              "all: the caller hangs up after 1.5 s while a1 and a2 ring")
    ok, st = queues.all_free(pbx, "all", free=("idle",))
    t.ok(ok, "all: both agents idle again (their ringing cancelled, none 'reserved')",
         diag=repr(st))
    t.is_(queues.stat(pbx, "all", "abandoned"), "1", "all: one abandoned call counted")
    t.is_(queues.stat(pbx, "all", "waiting"), "0", "all: nobody left waiting")
    a1.stop()
    a2.stop()

    # -- statuses -------------------------------------------------------------------
    mark = pbx.log_mark()
    caller("empty", "empty", scenario="uac_reject.xml", code=603)
    t.is_(status_of("empty", mark), "JOINEMPTY", "joinempty = no, no members: JOINEMPTY")
    caller("unav", "unav", scenario="uac_reject.xml", code=603)
    t.is_(status_of("unav", mark), "JOINUNAVAIL",
          "joinempty = strict, its member not registered: JOINUNAVAIL")
    first = caller("full", "full1", start=True, bye_within_ms=8000)
    time.sleep(1.0)
    caller("full", "full2", scenario="uac_reject.xml", who="dave", code=603)
    t.is_(status_of("full", mark), "FULL", "maxlen 1: a second caller gets FULL")
    t.sipp_ok(first.wait(), "the first one waits (no agent available), its 3 s run out ...")
    t.ok(re.search(r"QUEUESTATUS full TIMEOUT", pbx.log_since(mark)), "... TIMEOUT")
    mark = pbx.log_mark()
    waiting = caller("leave", "leave", start=True, bye_within_ms=10000)
    time.sleep(1.0)
    console_exec(pbx, "return require('lunapbx.queue').pause('a2', { queue = 'leave' })")
    t.sipp_ok(waiting.wait(), "leave: the caller waits; its only member pauses ...")
    t.is_(status_of("leave", mark), "LEAVEEMPTY", "... leavewhenempty = strict: LEAVEEMPTY")

    # -- an exit key while waiting ------------------------------------------------------
    mark = pbx.log_mark()
    r = Sipp("uac_info_dtmf.xml", local=cip["carol"], media=cmedia["carol"], remote=pbx.sip,
             service="key", keys={"user": "carol"}, auth=("carol", "carolpw"), timeout=30,
             template={"media": SDP["pcmu_pcma"], "pause_ms": 1500,
                       "ctype": "application/dtmf-relay", "body": "Signal=0\nDuration=160",
                       "bye_within_ms": 5000}, name="carol-key").run()
    t.sipp_ok(r, "key: a waiting caller keys 0 (SIP INFO), the PBX hangs up after")
    t.is_(status_of("key", mark), "EXITWITHKEY", "... QUEUESTATUS EXITWITHKEY")
    t.ok(re.search(r"EXIT to the operator by 0", pbx.log_since(mark)),
         "... after the exit's function ran (exits = { [\"0\"] = function ... })")
    t.ok([x["data1"] for x in queues.log_rows(pbx, "key", "EXITWITHKEY")] == ["0"],
         "... and the queue log has EXITWITHKEY 0")

    # -- persistent members: kill -9, restart ---------------------------------------------
    r = console_exec(pbx, "local q = require('lunapbx.queue') "
                     "return tostring(q.add('wrap', 'a3')) .. ' ' .. "
                     "tostring(q.pause('a2', { queue = 'wrap', reason = 'lunch' }))")
    t.is_(r.out.strip(), "true 1", "console: a3 joins wrap, a2 pauses there (lunch)")
    os.kill(pbx.proc.pid, signal.SIGKILL)
    pbx.proc.wait(5)
    mark = pbx.log_mark()
    pbx.start()
    pbx.wait_log(r"ready", 10, since=mark)
    st = {}
    wait_until(lambda: st.update(queues.members(pbx, "wrap")) or st, 10, interval=0.3)
    t.ok(set(st) == {"a1", "a2", "a3"} and st.get("a2") == "paused",
         "after kill -9 and a restart: a3 still a member of wrap, a2 still paused", diag=repr(st))
    r = console_exec(pbx, "for _, m in ipairs(require('lunapbx.queue').stats('wrap').members) do "
                     "if m.name == 'a2' then return m.reason end end")
    t.is_(r.out.strip(), "lunch", "... with its reason")
    events = [x["event"] for x in queues.log_rows(pbx, "wrap")]
    t.ok("ADDMEMBER" in events and "PAUSE" in events and events.count("CONNECT") == 3,
         "the queue log kept every event across the kill", diag=repr(events))
