"""The call center: calls per second through a queue to 200 agents (one
sipp UAS answers for the 200 registered endpoints ag001..ag200), the seed's
queue settings (rrmemory, ringinuse = false, autofill), the caller waiting
with music until an agent answers; and how many callers can wait with
music at once (figure "queued", in media.py, extension 1100: a queue whose
only member never registers).  A step passes when every call was answered
by an agent and ended, and afterwards no agent is stuck (every member idle
or in wrapup, nobody waiting): the queue's own state, read from the PBX.

Reference: FreeSWITCH's mod_callcenter, whose users report trouble near
20 calls/s and 200 concurrent calls; the target is 25 times that on one
core (500 calls/s; 5000 callers waiting)."""

import time

from lunatest.sipp import Sipp

from . import callrate
from .common import Addr, say
from .servers import QUEUE_AGENTS, BenchPbx, Callee, sip_invite_once
from lunatest.pbx import PbxError

AGENT_TALK_MS = 100      # an agent's call: answered at once, 0.1 s of talk
_base_step = callrate.run_step


def register_agents(pbx, addr, count=QUEUE_AGENTS):
    """ag001..ag200 register one after the other, each from the sipp UAS's
    address (its contact) with spec/support/sipp/register.xml."""
    for i in range(1, count + 1):
        n = "ag%03d" % i
        for _ in range(10):      # the previous sipp may still hold the port
            r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
                     local=addr.sip(Addr.UAS), remote=pbx.sip, keys={"user": n},
                     auth=(n, "agpw"), timeout=20, name="register-" + n).run()
            if r.rc == 0 or "Address already in use" not in r.diag():
                break
            time.sleep(0.2)
        if r.rc != 0:
            raise PbxError("agent %s could not register:\n%s" % (n, r.diag()))


def queue_state(pbx, addr):
    """{answered, waiting, abandoned, stuck, members} of queue "bench"."""
    mark = pbx.log_mark()
    sip_invite_once(pbx.sip, "1200", addr.ip(Addr.LOAD))
    m = pbx.wait_log(r"bench-queue answered=(\d+) waiting=(\d+) abandoned=(\d+) stuck=(\d+)"
                     r" members=(\d+)", 5, since=mark)
    if not m:
        return None
    return dict(zip(("answered", "waiting", "abandoned", "stuck", "members"),
                    (int(x) for x in m.groups())))


class QueueTarget(callrate.Target):
    """callrate's target: the sipp caller calls 1000 (queue "bench")."""

    kind = "queue"
    service = "1000"

    def __init__(self, addr, agents=QUEUE_AGENTS):
        self.addr = addr
        self.agents = agents
        self.label = "lunapbx queue (rrmemory, %d agents)" % agents
        self.server = self.callee = None
        self.answered0 = 0

    def start(self):
        self.server = BenchPbx(self.addr)
        register_agents(self.server, self.addr, self.agents)
        self.callee = Callee(self.addr, "uas_call.xml",
                             template={"hold_ms": AGENT_TALK_MS}, name="agents").start()
        self.answered0 = 0
        return self


def run_step(target, rate, seconds):
    """callrate's step, then the queue itself: every call answered by an
    agent (CONNECT counted by the queue), nobody waiting, no agent stuck."""
    st = _base_step(target, rate, seconds)
    time.sleep(0.5)
    q = queue_state(target.server, target.addr) if target.alive() else None
    st.queue = q
    if st.ok:
        if q is None:
            st.ok, st.reason = False, "no answer from the queue's state"
        elif q["answered"] - target.answered0 != st.calls:
            st.ok, st.reason = False, "%d calls reached an agent, of %d" % (
                q["answered"] - target.answered0, st.calls)
        elif q["stuck"] or q["waiting"]:
            st.ok, st.reason = False, "%d agents stuck, %d callers left waiting" % (
                q["stuck"], q["waiting"])
    if q:
        target.answered0 = q["answered"]
    return st


def measure(addr, mode):
    # the smoke run (make test) registers ten agents: the scripts work,
    # no figure is judged
    target = QueueTarget(addr, 10 if mode.smoke else QUEUE_AGENTS)
    say("%s: ramping calls/s" % target.label)
    target.start()
    saved = callrate.run_step
    callrate.run_step = lambda t, rate, seconds: run_step(t, rate, seconds)
    try:
        best, steps = callrate.find_max_rate(target, mode)
    finally:
        callrate.run_step = saved
        target.stop()
    return {"label": target.label, "best": best, "steps": steps, "agents": target.agents,
            "talk_ms": AGENT_TALK_MS}
