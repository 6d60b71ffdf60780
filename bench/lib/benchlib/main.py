"""bench/run: the command line, the figures in order, the table."""

import argparse
import json
import os
import platform
import signal
import time

from lunatest import proc

from . import (callrate, conference, events, media, memory, mixer, queuebench, reload, report,
               voicemail)
from .common import BUILD, Addr, Mode, say

FIGURES = ["answer", "b2bua", "kamailio", "events", "relay", "bridged", "moh", "parking",
           "voicemail", "memory", "reload", "mixer", "conference", "queue", "queued"]


def _on_signal(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def conditions():
    load = os.getloadavg()
    return {"date": time.strftime("%Y-%m-%d %H:%M"), "cpus": os.cpu_count(),
            "cpu": platform.processor() or _cpu_model(), "kernel": platform.release(),
            "load_before": round(load[0], 2)}


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def run_figure(name, addr, mode, results):
    if name in ("answer", "b2bua", "kamailio"):
        if name == "kamailio":
            from .servers import Kamailio
            if not Kamailio.available():
                results[name] = {"skipped": "kamailio and kamailio-lua-modules are not"
                                 " installed (make bench installs them)"}
                return
        results[name] = callrate.measure(name, addr, mode)
    elif name == "events":
        results[name] = events.measure(addr, mode)
    elif name == "relay":
        results[name] = media.relay_ceiling(addr, mode)
    elif name in ("bridged", "moh"):
        results[name] = media.find_max_calls(name, addr, mode)
    elif name == "parking":
        results[name] = media.find_max_calls("parked", addr, mode)
    elif name == "voicemail":
        results[name] = voicemail.measure(addr, mode)
    elif name == "memory":
        results[name] = memory.measure(addr, mode)
    elif name == "reload":
        results[name] = reload.measure(addr, mode)
    elif name == "mixer":
        results[name] = mixer.measure(addr, mode)
    elif name == "conference":
        results[name] = conference.measure(addr, mode)
    elif name == "queue":
        results[name] = queuebench.measure(addr, mode)
    elif name == "queued":
        results[name] = media.find_max_calls("queued", addr, mode)


def run_soak(args):
    from . import soak
    addr = Addr(args.net)
    t0 = time.time()
    try:
        res = soak.run(addr, args.minutes, soak.parse_load(args.load), args.figures,
                       args.share)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    except RuntimeError as e:
        say("soak: %s" % e)
        return 1
    finally:
        proc.cleanup()
    res["conditions"] = conditions()
    res["conditions"]["minutes_total"] = round((time.time() - t0) / 60, 1)
    print(soak.table(res))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report.as_json(res), f, indent=1)
    return 0 if res["ok"] else 1


def main(argv):
    ap = argparse.ArgumentParser(prog="bench/run", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", default="full", choices=["smoke", "quick", "full", "soak"])
    ap.add_argument("--minutes", type=float, default=60,
                    help="soak: how long the load lasts")
    ap.add_argument("--figures", default=None,
                    help="soak: take 80%% of the figures of this bench/run --json file")
    ap.add_argument("--share", type=float, default=0.5,
                    help="soak: each load at 80%% of its figure times this")
    ap.add_argument("--load", default=None,
                    help="soak: answer=CALLS_PER_S,bridged=CALLS,register=PER_S (no ramp)")
    ap.add_argument("--only", default=",".join(FIGURES))
    ap.add_argument("--net", type=int, default=91,
                    help="address block 127.S.NET.10-19 (S = $LUNAPBX_E2E_SLOT)")
    ap.add_argument("--json", default=None, help="write the results here too")
    args = ap.parse_args(argv)

    only = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = [f for f in only if f not in FIGURES]
    if unknown:
        ap.error("unknown figure(s): %s" % ", ".join(unknown))
    for tool in ("lunapbx", "bench/relay", "bench/rtpload") + (
            ("bench/mixbench",) if "mixer" in only else ()):
        if not os.access(os.path.join(BUILD, tool), os.X_OK):
            ap.error("build/%s is missing: run `make bench`" % tool)

    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, _on_signal)
    if args.mode == "soak":
        return run_soak(args)
    mode = Mode(args.mode)
    addr = Addr(args.net)
    results = {"mode": mode.name, "conditions": conditions()}
    say("mode %s, figures: %s, addresses %s-19" % (mode.name, ", ".join(only), addr.ip(0)))
    t0 = time.time()
    try:
        for name in FIGURES:
            if name in only:
                run_figure(name, addr, mode, results)
    except KeyboardInterrupt:
        say("interrupted")
        return 130
    finally:
        proc.cleanup()
    results["conditions"]["minutes"] = round((time.time() - t0) / 60, 1)
    results["conditions"]["load_after"] = round(os.getloadavg()[0], 2)

    table = report.table(results)
    print(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report.as_json(results), f, indent=1)
    return 0
