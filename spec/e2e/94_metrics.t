#!/usr/bin/python3
# /metrics scraped as Prometheus would, before and after sipp calls through
# the PBX: the page parses (every line a sample, a comment of HELP/TYPE),
# and its counters moved by exactly what was done: 10 answered calls carol
# -> 201 -> alice (a sipp UAS), one refused with 486, one REGISTER with a
# wrong password, one HTTP request without a token; the live gauges are back
# to 0 after.  Then commands over plain HTTP (POST /api/NAME): originate to
# alice's sipp phone, its result counted; bad JSON and bad fields refused.
import os
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(94)
TOKEN = "metrics-token-94"
CONFIG = basic_config(net).replace(
    'pbx.settings { realm = "lunapbx", rtp_ports = "%s" }' % net.pbx_rtp,
    'pbx.settings { realm = "lunapbx", rtp_ports = "%s",\n'
    '  http = { listen = "%s:8088", tokens = { prometheus = "%s" } } }'
    % (net.pbx_rtp, net.ip(0), TOKEN))
N = 10


def scrape(t, base, what):
    st, text, hdr = http(base + "/metrics", token=TOKEN)
    samples, bad, types = parse_prometheus(text)
    t.ok(st == 200 and samples and not bad and "text/plain" in hdr.get("Content-Type", ""),
         "%s: /metrics answers 200, text/plain, %d samples, every line parses"
         % (what, len(samples)), diag=lambda: "bad lines: %r" % bad[:5])
    return samples, types


def val(s, name, **labels):
    return s.get((name, tuple(sorted(labels.items()))))


with Tap(timeout=150) as t:
    t.require_pbx()
    t.ok("http = {" in CONFIG, "the configuration has the http server")
    pbx = Pbx(CONFIG, listen="%s:5070" % net.ip(0))
    base = "http://%s:8088" % net.ip(0)
    carol = "%s:5060" % net.ip(1)
    alice = "%s:5062" % net.ip(2)
    alice_media = "%s:%d" % (net.ip(2), net.media_port(1))

    r = Sipp("register.xml", template={"expires": 3600, "code": 200, "direct": ""},
             local=alice, remote=pbx.sip, keys={"user": "alice"}, auth=("alice", "alicepw"),
             timeout=10, name="register-alice").run()
    t.sipp_ok(r, "sipp registers as alice")
    s0, types = scrape(t, base, "before")
    for name, typ in (("calls_total", "counter"), ("calls", "gauge"),
                      ("rtp_jitter_seconds", "histogram"), ("registrations", "gauge"),
                      ("auth_failures_total", "counter"), ("lua_bytes", "gauge"),
                      ("open_fds", "gauge"), ("calls_per_second", "gauge")):
        t.is_(types.get("lunapbx_" + name), typ, "lunapbx_%s is a %s" % (name, typ))
    t.is_(val(s0, "lunapbx_registrations"), 1.0, "one registered contact (alice)")
    t.ok((val(s0, "lunapbx_open_fds") or 0) > 5 and (val(s0, "lunapbx_lua_bytes") or 0) > 10000,
         "open fds (%s) and Lua memory (%s) are there" % (val(s0, "lunapbx_open_fds"),
                                                        val(s0, "lunapbx_lua_bytes")))

    # -- what moves the counters ----------------------------------------------------
    uas = Sipp("uas_answer.xml", local=alice, media=alice_media, m=N, timeout=40,
               keys={"pt": 0, "codec": "PCMU"}, name="uas-alice").start()
    r = Sipp("uac_bye.xml", template={"media": SDP["pcmu_pcma"], "hold_ms": 300},
             local=carol, remote=pbx.sip, service="201", keys={"user": "carol"},
             auth=("carol", "carolpw"), m=N, rate=5, timeout=40, name="uac-10").run()
    t.sipp_ok(r, "carol makes %d calls to 201, each answered by alice, then hangs up" % N,
              extra=uas.wait(timeout=15).diag)
    s_mid, _ = scrape(t, base, "right after the calls")
    t.ok((val(s_mid, "lunapbx_calls_per_second") or 0) > 0,
         "calls_per_second over the last 10 s: %s" % val(s_mid, "lunapbx_calls_per_second"))

    uas = Sipp("uas_reject.xml", template={"code": 486, "reason": "Busy Here"}, local=alice,
               media=alice_media, timeout=20, name="uas-busy").start()
    r = Sipp("uac_reject.xml", template={"media": SDP["pcmu_pcma"], "code": 486},
             local=carol, remote=pbx.sip, service="201", keys={"user": "carol"},
             auth=("carol", "carolpw"), timeout=20, name="uac-busy").run()
    t.sipp_ok(r, "a call alice refuses: carol gets 486", extra=uas.wait(timeout=10).diag)
    r = Sipp("register.xml", template={"expires": 3600, "code": 403, "direct": ""},
             local="%s:5064" % net.ip(3), remote=pbx.sip, keys={"user": "bob"},
             auth=("bob", "wrong-password"), timeout=10, name="register-bad").run()
    t.sipp_ok(r, "bob REGISTERs with a wrong password: 403")
    st, _, _ = http(base + "/metrics")
    t.is_(st, 401, "a scrape without the token: 401")
    wait_until(lambda: console_exec(pbx, "return #calls() + #legs()").out.strip() == "0", 5)

    s1, _ = scrape(t, base, "after")

    def delta(name, **labels):
        a, b = val(s0, name, **labels), val(s1, name, **labels)
        return None if a is None or b is None else b - a

    t.is_(delta("lunapbx_calls_total"), N + 1.0, "calls_total: +%d (the answered and the"
          " refused one)" % (N + 1))
    t.is_(delta("lunapbx_legs_answered_total"), 2.0 * N, "legs_answered_total: +%d (both"
          " legs of each answered call)" % (2 * N))
    t.is_(delta("lunapbx_legs_bridged_total"), 2.0 * N, "legs_bridged_total: +%d" % (2 * N))
    t.is_(delta("lunapbx_legs_ended_total", cause="normal"), 2.0 * N,
          "legs_ended_total{cause=\"normal\"}: +%d" % (2 * N))
    t.is_(delta("lunapbx_legs_ended_total", cause="busy"), 2.0,
          "legs_ended_total{cause=\"busy\"}: +2 (alice's 486, passed on to carol)")
    t.is_(delta("lunapbx_auth_failures_total", proto="sip"), 1.0,
          "auth_failures_total{proto=\"sip\"}: +1 (the wrong password)")
    t.is_(delta("lunapbx_auth_failures_total", proto="http"), 1.0,
          "auth_failures_total{proto=\"http\"}: +1 (the scrape without a token)")
    for g in ("lunapbx_calls", "lunapbx_legs", "lunapbx_bridges"):
        t.is_(val(s1, g), 0.0, "%s is back to 0" % g)
    t.ok(delta("lunapbx_http_requests_total") >= 2, "http_requests_total counts the scrapes")

    # -- commands by POST -------------------------------------------------------------------
    uas = Sipp("uas_answer.xml", local=alice, media=alice_media, timeout=20,
               keys={"pt": 0, "codec": "PCMU"}, name="uas-originate").start()
    st, js = http_json(base + "/api/originate", token=TOKEN,
                       body={"to": "alice", "exten": "301", "id": "o1"})
    t.ok(st == 200 and js.get("ok") and js.get("id") == "o1" and js.get("response") == "originate"
         and isinstance(js.get("result", {}).get("call"), int),
         "POST /api/originate: 200, ok, the id echoed, the call's id", diag=(st, js))
    t.sipp_ok(uas.wait(timeout=10), "alice's sipp phone is called, answers, and gets the BYE of"
              " 301 (answered by the PBX for 1 s)")
    st, js = http_json(base + "/api/originate", token=TOKEN, body={"to": "nobody", "exten": "1"})
    t.ok(st == 409 and js.get("ok") is False and "no endpoint" in js.get("error", ""),
         "originate to an unknown endpoint: 409, why", diag=(st, js))
    st, js = http_json(base + "/api/originate", token=TOKEN, body={"to": "alice"})
    t.ok(st == 400 and "exten" in js.get("error", ""), "originate without exten: 400, why",
         diag=(st, js))
    st, js = http_json(base + "/api/hangup", token=TOKEN, body="{not json")
    t.ok(st == 400 and js.get("ok") is False, "a body that is not JSON: 400", diag=(st, js))
    st, text, _ = http(base + "/api/hangup", token=TOKEN)
    t.is_(st, 405, "a GET of a command: 405")
    wait_until(lambda: console_exec(pbx, "return #calls()").out.strip() == "0", 5)
    s2, _ = scrape(t, base, "after the originate")
    t.is_(val(s2, "lunapbx_calls_total") - val(s1, "lunapbx_calls_total"), 1.0,
          "calls_total: +1 (the originated call)")
    t.is_(val(s2, "lunapbx_http_commands_total") - val(s1, "lunapbx_http_commands_total"), 3.0,
          "http_commands_total: +3 (the originates; what was refused before parsing is not"
          " a command)")
    pbx.finish(t)
