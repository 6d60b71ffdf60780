"""The systems under test: lunapbx with the benchmark dialplan, Kamailio
as the reference proxy, and the sipp callee behind them."""

import os
import re
import shutil
import socket
import time

from lunatest.pbx import Pbx, PbxError
from lunatest.proc import kill_proc, spawn, workdir
from lunatest.sipp import Sipp, render_template

from .common import BENCH, Addr, fd_count, group_pids, rss_kb, sip_ping
from .sippload import SippLoad, failed_calls

UAS_SECRET = "uaspw"
QUEUE_AGENTS = 200       # the queue benchmark's agents (endpoints ag001..)

# One dialplan for every figure.  Log level "warn": the per-call info
# lines would be most of the work at thousands of calls per second
# (Kamailio logs nothing per call either).
PBX_CONFIG = """\
local pbx = require "lunapbx"
local vm = require "lunapbx.voicemail"
local confbridge = require "lunapbx.confbridge"
local parking = require "lunapbx.parking"
-- One sipp address plays thousands of phones here: the per-source request
-- rate and the failure bans are for the internet, not for the benchmark.
pbx.settings { realm = "bench", guest_context = "bench", rtp_ports = "%(rtp)s",
               log_level = "%(log_level)s",
               security = { request_rate = 0, auth_failures = 0, max_calls = 0 } }
pbx.endpoint "uas" { secret = "%(secret)s", context = "bench" }
-- voicemail: the default settings (WAV, 10 s of silence ends a message),
-- room for every message of a run
vm.settings { max_messages = 1000000, max_seconds = 3600 }
vm.mailbox "8000" { pin = "8000" }
-- conference participants: no prompt, no sound (ConfBridge's quiet)
confbridge.user_profile "bench" { quiet = true, announce_only_user = false }
-- parking: a lot of 20000 spaces (a call in the lot per space, its lamp)
parking.lot "bench" { exten = "459", slots = "10000-29999", timeout = 86400 }
-- a call center: 200 agents (one sipp UAS answers for all of them), the
-- seed's StandardQueue settings; "hold": a queue whose only member never
-- registers, its callers wait with music until they hang up
local queue = require "lunapbx.queue"
local agents = {}
for i = 1, %(agents)d do
  local name = ("ag%%03d"):format(i)
  pbx.endpoint(name) { secret = "agpw", context = "bench" }
  agents[i] = name
end
queue.define "bench" { strategy = "rrmemory", ringinuse = false, autofill = true,
                       joinempty = "no", leavewhenempty = "yes", timeout = 15, retry = 5,
                       persistentmembers = false, members = agents }
queue.define "hold" { strategy = "rrmemory", members = { "nobody" }, persistentmembers = false }
pbx.endpoint "nobody" { secret = "nobodypw", context = "bench" }
local logins = 0
pbx.context "bench" {
  -- the queue: the caller waits with music, an agent answers
  ["1000"] = function(call) queue.join(call, "bench") call:hangup() end,
  ["1100"] = function(call) queue.join(call, "hold") call:hangup() end,
  ["1200"] = function(call)
    local st = queue.stats("bench")
    local stuck = 0
    for _, m in ipairs(st.members) do
      if m.state == "ringing" or m.state == "talking" then stuck = stuck + 1 end
    end
    pbx.log("warn", "bench-queue answered=%%d waiting=%%d abandoned=%%d stuck=%%d members=%%d",
            st.answered, st.waiting, st.abandoned, stuck, #st.members)
    call:hangup(404)
  end,
  -- 1. answered by the dialplan: answer, 1 s, hang up
  ["100"] = function(call) call:answer() pbx.sleep(1) call:hangup() end,
  -- 2, 3. B2BUA: the registered sipp callee, media anchored
  ["200"] = function(call) call:dial("uas", { timeout = 20 }) end,
  -- 5. answered and held (memory per call)
  ["300"] = function(call) call:answer() pbx.sleep(3600) end,
  -- 4. music on hold from the PBX
  ["400"] = function(call)
    if not call.moh then
      pbx.log("warn", "bench: this PBX has no call:moh")
      call:hangup(501)
      return
    end
    call:answer()
    call:moh()
  end,
  -- parked from the dialplan: the call leaves for the lot, hears music
  ["450"] = function(call)
    call:answer()
    parking.park(call.leg, { lot = "bench" })
  end,
  -- voicemail: a deposit (no greeting: the prompt, the beep, recording)
  ["600"] = function(call) vm.deposit(call, "8000", { skip_greeting = true }) end,
  -- VoiceMailMain: mailbox and PIN keyed, counts said
  ["800"] = function(call)
    vm.main(call)
    if call.vars.vm_mailbox then logins = logins + 1 end
  end,
  ["700"] = function(call)
    local list, shortest = vm.list("8000") or {}, math.huge
    for _, m in ipairs(list) do shortest = math.min(shortest, m.duration) end
    pbx.log("warn", "bench-vm messages=%%d shortest=%%.2f logins=%%d", #list,
            #list > 0 and shortest or 0, logins)
    call:hangup(404)
  end,
  ["710"] = function(call)
    for _, m in ipairs(vm.list("8000") or {}) do vm.delete("8000", m.id) end
    pbx.log("warn", "bench-vm cleared")
    call:hangup(404)
  end,
  -- conference: the room the caller's X-Room header names
  ["900"] = function(call)
    confbridge.join(call, call:header("X-Room") or "bench", { user = "bench" })
  end,
  -- what the PBX holds (memory figure)
  ["500"] = function(call)
    local s = pbx.stats(true)
    pbx.log("warn", "bench-stats calls=%%d lua_bytes=%%d", s.calls, s.lua_bytes)
    call:hangup(404)
  end,
}
%(extra)s"""


class BenchPbx(Pbx):
    """build/lunapbx on the benchmark dialplan.  Ready when it answers
    OPTIONS (its log is quiet at level warn)."""

    def __init__(self, addr, log_level="warn", rtp="20000-39999", extra=""):
        self.addr = addr
        cfg = PBX_CONFIG % {"rtp": rtp, "log_level": log_level, "secret": UAS_SECRET,
                            "extra": extra, "agents": QUEUE_AGENTS}
        super().__init__(cfg, listen=addr.sip(Addr.PBX), verbose=False, name="pbx")

    def start(self):
        self.proc = spawn(self.argv(), self.log_path, cwd=self.dir)
        self.started_at = time.time()
        if not sip_ping(self.sip, self.addr.ip(Addr.LOAD), self.ready_timeout) \
                or not self.alive():
            raise PbxError("lunapbx does not answer OPTIONS on %s; log:\n%s"
                           % (self.sip, self.log_tail(20)))
        return self

    def pids(self):
        return [self.proc.pid] if self.alive() else []

    def rss_kb(self):
        return rss_kb(self.proc.pid)

    def fds(self):
        return fd_count(self.proc.pid)

    def stats(self):
        """{calls, lua_bytes} from the dialplan's pbx.stats(true)."""
        mark = self.log_mark()
        sip_invite_once(self.sip, "500", self.addr.ip(Addr.LOAD))
        m = self.wait_log(r"bench-stats calls=(\d+) lua_bytes=(\d+)", 5, since=mark)
        if not m:
            raise PbxError("no bench-stats line in the PBX log")
        return {"calls": int(m.group(1)) - 1, "lua_bytes": int(m.group(2))}


def sip_invite_once(addr, exten, src_ip):
    """One INVITE from a raw socket; waits for the final answer and ACKs
    it.  Returns the status code (or None)."""
    ip, port = addr.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((src_ip, 0))
    lp = s.getsockname()[1]
    cid = "stats-%d-%f@bench" % (os.getpid(), time.time())
    sdp = ("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"
           "m=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n" % (src_ip, src_ip))
    head = ("sip:%s@%s SIP/2.0\r\nVia: SIP/2.0/UDP %s:%d;branch=z9hG4bK-%s;rport\r\n"
            "From: <sip:bench@%s>;tag=stats\r\nTo: <sip:%s@%s>%%s\r\nCall-ID: %s\r\n"
            % (exten, addr, src_ip, lp, cid.split("@")[0], src_ip, exten, addr, cid))
    inv = ("INVITE " + head % "" + "CSeq: 1 INVITE\r\nContact: <sip:bench@%s:%d>\r\n"
           "Max-Forwards: 70\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s"
           % (src_ip, lp, len(sdp), sdp))
    code = None
    try:
        s.settimeout(0.5)
        deadline = time.time() + 5
        s.sendto(inv.encode(), (ip, int(port)))
        while time.time() < deadline and code is None:
            try:
                data = s.recv(65536).decode("utf-8", "replace")
            except socket.timeout:
                s.sendto(inv.encode(), (ip, int(port)))
                continue
            m = re.match(r"SIP/2.0 (\d+)", data)
            if m and int(m.group(1)) >= 200:
                code = int(m.group(1))
                tag = re.search(r"^To:.*?(;tag=[^;\r\n]+)", data, re.M | re.I)
                ack = ("ACK " + head % (tag.group(1) if tag else "")
                       + "CSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
                s.sendto(ack.encode(), (ip, int(port)))
    finally:
        s.close()
    return code


def register_uas(pbx, addr):
    """The sipp callee registers as endpoint "uas" from its own address."""
    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=addr.sip(Addr.UAS), remote=pbx.sip, keys={"user": "uas"},
             auth=("uas", UAS_SECRET), timeout=10, name="register-uas").run()
    if r.rc != 0:
        raise PbxError("the sipp callee could not register:\n" + r.diag())


class Kamailio:
    """Kamailio from Debian, a stateful proxy routing in Lua
    (bench/kamailio/), its allocator set as the issue's notes say."""

    def __init__(self, addr, children=2):
        self.addr = addr
        self.sip = addr.sip(Addr.KAM)
        self.dir = workdir("kamailio")
        script = render_template(os.path.join(BENCH, "kamailio", "route.lua"),
                                 uas=addr.sip(Addr.UAS))
        self.cfg = render_template(os.path.join(BENCH, "kamailio", "kamailio.cfg"),
                                   listen=self.sip, children=children, script=script)
        self.log_path = os.path.join(self.dir, "kamailio.log")
        self.proc = None

    @staticmethod
    def available():
        return shutil.which("kamailio") is not None and os.path.exists(
            "/usr/lib/x86_64-linux-gnu/kamailio/modules/app_lua.so")

    def start(self):
        run = os.path.join(self.dir, "run")
        os.makedirs(run, exist_ok=True)
        self.proc = spawn(["kamailio", "-f", self.cfg, "-DD", "-E", "-x", "tlsf",
                           "-m", "2048", "-Y", run, "-P", os.path.join(run, "k.pid")],
                          self.log_path, cwd=self.dir)
        if not sip_ping(self.sip, self.addr.ip(Addr.LOAD)) or not self.alive():
            raise PbxError("kamailio did not start; log in %s" % self.log_path)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def pids(self):
        return group_pids(self.proc.pid) if self.alive() else []

    def stop(self):
        if self.proc is not None:
            kill_proc(self.proc, grace=3)


class Callee:
    """The sipp UAS behind the PBX or Kamailio, for the whole of a figure."""

    def __init__(self, addr, scenario, template=None, media=None, name="uas"):
        self.sipp = SippLoad(scenario, local=addr.sip(Addr.UAS), media=media,
                             template=template, name=name)

    def start(self):
        self.sipp.start()
        time.sleep(0.3)
        return self

    def failed(self):
        return failed_calls(self.sipp.stats())

    def stop(self):
        self.sipp.stop()
