#!/usr/bin/env python3
# Each strategy's order of ringing, checked over many calls with four sipp
# agents (a1..a4, registered, answering at once and hanging up 0.1 s
# later) and a sipp caller placing calls one after the other.  Who
# answered each call is read from the queue log (CONNECT rows).
#   linear       always a1
#   rrmemory     a1 a2 a3 a4 a1 ... (rotates, remembers where it stopped)
#   rrordered    the configuration's order (a3 listed first)
#   fewestcalls  a1, a2 paused for 4 calls (a3 a4 a3 a4), then a1 a2 a1 a2
#   leastrecent  the same start, then a1 a2 (never called) a3 a4
#   longest-idle the same start, then a3 a4 (idle since their calls) a1 a2
#                (idle since their unpause)
#   skills       a german speaker: a4 (german 5) over a2 (german 2)
#   wrandom      weights 1:2:3:4 over 120 calls, each share within 0.1
#   random       40 calls reach all four
#   ringall      every agent rings on every call; the one that answers wins
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401
from lunatest import queues  # noqa: E402

net = Net(25)
AGENTS = ["a1", "a2", "a3", "a4"]
STRATS = ["linear", "rrmemory", "rrordered", "fewestcalls", "leastrecent", "longest-idle",
          "skills", "wrandom", "random", "ringall"]

CONFIG = """
local pbx = require "lunapbx"
local queue = require "lunapbx.queue"
pbx.settings { listen = "%(pbx)s:5070", rtp_ports = "%(rtp)s" }
for i = 1, 4 do
  pbx.endpoint("a" .. i) { secret = "a" .. i .. "pw", context = "agents" }
end
pbx.endpoint "carol" { secret = "carolpw", context = "q" }
local M = { { "a1", weight = 1 }, { "a2", weight = 2, skills = { german = 2 } },
            { "a3", weight = 3, skills = { french = 3 } }, { "a4", weight = 4, skills = { german = 5 } } }
queue.template "T" { timeout = 5, retry = 0.5, members = M }
local ctx = {}
for _, s in ipairs { %(strats)s } do
  local name = s:gsub("-", "_")
  queue.define(name) { template = "T", strategy = s }
  ctx[name] = function(call)
    local status = queue.join(call, name, { skills = name == "skills" and { german = 1 } or nil })
    call:hangup()
  end
end
queue.define "rrordered" { template = "T", strategy = "rrordered",
                           members = { M[3], M[1], M[4], M[2] } }
pbx.context "q" (ctx)
""" % {"pbx": net.ip(0), "rtp": net.pbx_rtp, "strats": ", ".join('"%s"' % s for s in STRATS)}


with Tap(timeout=420) as t:
    t.require_pbx()
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    carol = "%s:5060" % net.ip(1)
    addr = {a: "%s:5062" % net.ip(2 + k) for k, a in enumerate(AGENTS)}
    media = {a: "%s:%d" % (net.ip(2 + k), net.media_port(1 + k)) for k, a in enumerate(AGENTS)}
    for a in AGENTS:
        r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
                 local=addr[a], remote=pbx.sip, keys={"user": a}, auth=(a, a + "pw"),
                 timeout=10, name="register-" + a).run()
        t.sipp_ok(r, "sipp agent %s registers" % a)

    def agents(scenario="uas_answer_bye.xml", template=None, only=None):
        return {a: Sipp(scenario, local=addr[a], media=media[a], m=10000,
                        keys={"pt": 0, "codec": "PCMU"},
                        template=template if template is not None else {"hold_ms": 100},
                        timeout=400, name="agent-%s-%s" % (a, scenario[:-4])).start()
                for a in (only or AGENTS)}

    def stop(uas):
        for s in uas.values():
            s.stop()

    def calls(queue, n, label, scenario="uac_wait_bye.xml", **tmpl):
        tmpl.setdefault("bye_within_ms", 8000)
        tmpl.setdefault("media", SDP["pcmu_pcma"])
        r = Sipp(scenario, template=tmpl, local=carol, media="%s:%d" % (net.ip(1), net.media_port(0)),
                 remote=pbx.sip, service=queue.replace("-", "_"), keys={"user": "carol"}, auth=("carol", "carolpw"),
                 m=n, limit=1, timeout=300, name="calls-" + label).run()
        t.sipp_ok(r, "%s: %d calls, one at a time, each answered and ended by the agent"
                  % (label, n))
        return r

    def order(queue):
        return [r["agent"] for r in queues.log_rows(pbx, queue.replace("-", "_"), "CONNECT")]

    def console(code):
        return console_exec(pbx, code).out.strip()

    def pause(queue, who, on):
        fn = "pause" if on else "unpause"
        return console("return require('lunapbx.queue').%s(%r, { queue = %r })"
                       % (fn, who, queue.replace("-", "_")))

    uas = agents()
    calls("linear", 6, "linear")
    t.is_(order("linear"), ["a1"] * 6, "linear: a1 every time")

    calls("rrmemory", 9, "rrmemory")
    t.is_(order("rrmemory"), (AGENTS * 3)[:9], "rrmemory: a1 a2 a3 a4 a1 ... (rotates)")

    calls("rrordered", 6, "rrordered")
    t.is_(order("rrordered"), ["a3", "a1", "a4", "a2", "a3", "a1"],
          "rrordered: the order the configuration lists (a3 a1 a4 a2)")

    for strat, then in (("fewestcalls", ["a1", "a2", "a1", "a2"]),
                        ("leastrecent", ["a1", "a2", "a3", "a4"]),
                        ("longest-idle", ["a3", "a4", "a1", "a2"])):
        pause(strat, "a1", True)
        pause(strat, "a2", True)
        calls(strat, 4, strat + "-paused")
        time.sleep(0.3)
        pause(strat, "a1", False)
        pause(strat, "a2", False)
        calls(strat, 4, strat)
        t.is_(order(strat), ["a3", "a4", "a3", "a4"] + then,
              "%s: a1, a2 paused: a3 a4 a3 a4; unpaused: %s" % (strat, " ".join(then)))

    calls("skills", 4, "skills")
    t.is_(order("skills"), ["a4"] * 4, "skills: a german speaker gets a4 (german 5), not a2 (2)")

    calls("wrandom", 120, "wrandom")
    got = order("wrandom")
    share = {a: got.count(a) / float(len(got) or 1) for a in AGENTS}
    want = {"a1": 0.1, "a2": 0.2, "a3": 0.3, "a4": 0.4}
    t.ok(len(got) == 120 and all(abs(share[a] - want[a]) <= 0.1 for a in AGENTS),
         "wrandom: shares by weight 1:2:3:4 within 0.1 (%s)"
         % " ".join("%s %.2f" % (a, share[a]) for a in AGENTS))

    calls("random", 40, "random")
    got = order("random")
    t.ok(set(got) == set(AGENTS), "random: 40 calls reach all four agents (%s)"
         % " ".join("%s %d" % (a, got.count(a)) for a in AGENTS))
    stop(uas)

    # ringall: a1-a3 ring and are cancelled, a4 answers after 0.3 s
    uas = agents("uas_cancel.xml", template={}, only=["a1", "a2", "a3"])
    uas.update(agents("fork_uas_answer.xml", template={"answer_ms": 300}, only=["a4"]))
    calls("ringall", 5, "ringall", scenario="uac_bye.xml", hold_ms=1500)
    t.is_(order("ringall"), ["a4"] * 5, "ringall: a4, the one that answers, gets every call")
    time.sleep(0.5)
    for a in ("a1", "a2", "a3"):
        invites = [m for m in uas[a].messages() if m.dir == "recv" and m.start.startswith("INVITE")]
        cancels = [m for m in uas[a].messages() if m.dir == "recv" and m.start.startswith("CANCEL")]
        t.ok(len(invites) == 5 and len(cancels) == 5,
             "ringall: %s rang on all 5 calls, cancelled when a4 answered (%d, %d)"
             % (a, len(invites), len(cancels)))
    ok, st = queues.all_free(pbx, "ringall", free=("idle",))
    t.ok(ok, "ringall: every agent idle afterwards (none stuck ringing)", diag=repr(st))
    stop(uas)
