"""Voicemail: concurrent deposits (sipp callers whose RTP rtpload streams
into the PBX while it records each into a message of mailbox 8000), and
VoiceMailMain logins per second (sipp keys mailbox and PIN by SIP INFO).

Deposits: each step puts N calls through extension 600 (vm.deposit with
no greeting: "leave your message", the beep, then recording) at 200
calls/s; every call streams 20 ms PCMU packets until it hangs up, after
hold = 12 s + N/200 s.  The PBX's CPU is read over a window where every
call is recording.  A step holds when no call failed and, after the last
BYE, the index has N more messages, none shorter than it should be
(the hold less the prompt and the set-up time): no message lost or cut.
Then N x 1.5.

Logins: sipp calls 800 (vm.main) at R calls/s for S seconds; each keys
8000# and 8000# by SIP INFO, hears its counts and hangs up.  A step holds
when no call failed and the PBX counted R x S logins.  Then R x 2.
"""

import os
import time

from .common import SIPP_DIR, Addr, CpuMeter, say
from .media import MediaRun
from .servers import sip_invite_once
from .sippload import SippLoad, failed_calls, ok_calls

SETUP_RATE = 200
PROMPT_S = 4.8            # "leave your message after the tone" and the beep
MODES = {
    "smoke": dict(dep_start=10, dep_steps=1, login_rate=5, login_steps=1, login_s=2),
    "quick": dict(dep_start=100, dep_steps=9, login_rate=20, login_steps=7, login_s=5),
    "full": dict(dep_start=200, dep_steps=10, login_rate=25, login_steps=8, login_s=10),
}


def vm_state(pbx):
    """(messages in 8000, the shortest one's seconds, logins so far)."""
    mark = pbx.log_mark()
    sip_invite_once(pbx.sip, "700", pbx.addr.ip(Addr.LOAD))
    m = pbx.wait_log(r"bench-vm messages=(\d+) shortest=([0-9.]+) logins=(\d+)", 10,
                     since=mark)
    if not m:
        raise RuntimeError("no bench-vm line in the PBX log")
    return int(m.group(1)), float(m.group(2)), int(m.group(3))


def clear(pbx):
    mark = pbx.log_mark()
    sip_invite_once(pbx.sip, "710", pbx.addr.ip(Addr.LOAD))
    pbx.wait_log(r"bench-vm cleared", 60, since=mark)


def deposits(addr, mode):
    p = MODES[mode.name]
    run = MediaRun("voicemail", addr).start()
    steps, best = [], None
    window = min(mode.conc_window_s, 5)
    try:
        target = p["dep_start"]
        for _ in range(p["dep_steps"]):
            n = target
            hold_s = 12 + n / SETUP_RATE
            before, _, _ = vm_state(run.pbx)
            first_id = run.load.next_id
            t0 = time.time()
            answered = run.add_calls(n, hold_ms=int(hold_s * 1000))
            s = {"calls": n, "hold_s": round(hold_s, 1)}
            if answered:
                # every call answered; each records PROMPT_S after its answer
                time.sleep(max(0.0, t0 + n / SETUP_RATE + PROMPT_S + 0.5 - time.time()))
                meter = CpuMeter(run.pbx.pids)
                time.sleep(window)
                s["pbx_cpu"] = meter.share()
            uac = run.callers[-1]
            uac.wait(hold_s + 40)
            for i in range(first_id, run.load.next_id):
                run.load.proc.stdin.write("del %d\n" % i)
            run.load.proc.stdin.flush()
            time.sleep(1.0)
            st = uac.stats()
            after, shortest, _ = vm_state(run.pbx)
            s.update(failed=failed_calls(st), stored=after - before, shortest_s=shortest)
            expect = hold_s - PROMPT_S - n / SETUP_RATE - 1.5
            reasons = []
            if not answered:
                reasons.append(run.setup_error)
            if s["failed"]:
                reasons.append("%d calls failed" % s["failed"])
            if s["stored"] != n:
                reasons.append("%d messages stored for %d calls" % (s["stored"], n))
            elif shortest < expect:
                reasons.append("a message of %.1f s (at least %.1f expected)" % (shortest, expect))
            s["ok"] = not reasons
            s["reason"] = "; ".join(reasons)
            steps.append(s)
            say("  voicemail deposits: %d calls recording: PBX %.0f%% CPU (%.3f%% per deposit),"
                " %d messages stored, shortest %.1f s%s"
                % (n, 100 * s.get("pbx_cpu", 0), 100 * s.get("pbx_cpu", 0) / n, s["stored"],
                   shortest, "" if s["ok"] else " FAILED: " + s["reason"]))
            clear(run.pbx)
            if not s["ok"]:
                break
            best = s
            target = int(target * 1.5)
    finally:
        run.stop()
    return {"best": best, "steps": steps}


def logins(addr, mode):
    p = MODES[mode.name]
    run = MediaRun("voicemail", addr, rtp=False).start()
    steps, best = [], None
    try:
        rate = p["login_rate"]
        for k in range(p["login_steps"]):
            n = rate * p["login_s"]
            _, _, before = vm_state(run.pbx)
            uac = SippLoad("uac_vmlogin.xml", local="%s:%d" % (addr.ip(Addr.UAC), 5060 + k),
                           media="%s:%d" % (addr.ip(Addr.UAC), 10000 + 10 * k),
                           remote=run.pbx.sip, service="800", rate=rate, calls=n,
                           limit=rate * 12, name="vmlogin-%d" % rate)
            meter = CpuMeter(run.pbx.pids)
            uac.start()
            rc = uac.wait(p["login_s"] + 40)
            cpu_s, wall = meter.read()
            st = uac.stats()
            time.sleep(0.5)
            _, _, after = vm_state(run.pbx)
            s = {"rate": rate, "calls": n, "failed": failed_calls(st), "ok_calls": ok_calls(st),
                 "logins": after - before, "cpu_s": round(cpu_s, 2),
                 "us_per_login": round(1e6 * cpu_s / max(1, n)), "wall_s": round(wall, 1)}
            s["ok"] = rc == 0 and s["failed"] == 0 and s["logins"] == n
            s["reason"] = "" if s["ok"] else "%d failed, %d logins of %d (sipp exit %s)" % (
                s["failed"], s["logins"], n, rc)
            steps.append(s)
            say("  VoiceMailMain: %d logins/s x %ds: %s, %d us of PBX CPU per login session%s"
                % (rate, p["login_s"], "ok" if s["ok"] else "FAILED", s["us_per_login"],
                   "" if s["ok"] else " (%s)" % s["reason"]))
            if not s["ok"]:
                break
            best = s
            rate *= 2
    finally:
        run.stop()
    return {"best": best, "steps": steps}


def measure(addr, mode):
    say("voicemail: concurrent deposits, then VoiceMailMain logins")
    if not os.path.exists(os.path.join(SIPP_DIR, "uac_vmlogin.xml")):
        return {"skipped": "bench/sipp/uac_vmlogin.xml is missing"}
    return {"deposits": deposits(addr, mode), "logins": logins(addr, mode)}
