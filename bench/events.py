#!/usr/bin/python3
"""Follow lunapbx's events and send it commands: a client to copy.

    python3 bench/events.py --url ws://127.0.0.1:8088/events --token TOKEN
    python3 bench/events.py ... --events hangup,answered     # only those
    python3 bench/events.py ... --command '{"action":"originate","to":"amine","exten":"600"}'

Needs python3-websockets (Debian: apt-get install python3-websockets).
Prints one event a line, as JSON; with --command, sends it, prints the
answer, and goes on printing events (--count N: stop after N messages).
bench/run's events figure runs it as a load: --clients 10 --stats FILE
(no printing; every second FILE gets the messages and gaps counted).
"""
import argparse
import asyncio
import json
import sys
import time

import websockets


async def follow(args):
    url = args.url + ("&" if "?" in args.url else "?") + "token=" + args.token
    if args.events:
        url += "&events=" + args.events
    async with websockets.connect(url, max_size=2 ** 20) as ws:
        hello = json.loads(await ws.recv())
        print(json.dumps(hello), flush=True)
        if args.command:
            await ws.send(args.command)
        n = 0
        async for text in ws:
            msg = json.loads(text)
            print(json.dumps(msg), flush=True)
            n += 1
            if args.count and n >= args.count:
                return 0
    return 0


async def one_counter(url, counts, k):
    """A client that reads everything, counts it and the gaps in seq."""
    async with websockets.connect(url, max_size=2 ** 20, ping_interval=None) as ws:
        last = None
        async for text in ws:
            seq = json.loads(text).get("seq")
            counts["messages"][k] += 1
            if last is not None and seq is not None and seq != last + 1 and \
                    json.loads(text).get("event") != "hello":
                counts["gaps"][k] += 1
            last = seq


async def load(args):
    url = args.url + ("&" if "?" in args.url else "?") + "token=" + args.token
    counts = {"messages": [0] * args.clients, "gaps": [0] * args.clients,
              "connected": 0}
    tasks = [asyncio.create_task(one_counter(url, counts, k)) for k in range(args.clients)]
    while True:
        await asyncio.sleep(1)
        alive = sum(1 for t in tasks if not t.done())
        counts["connected"] = alive
        counts["time"] = time.time()
        with open(args.stats + ".tmp", "w") as f:
            json.dump(counts, f)
        import os
        os.replace(args.stats + ".tmp", args.stats)
        if not alive:
            return 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", default="ws://127.0.0.1:8088/events")
    ap.add_argument("--token", required=True)
    ap.add_argument("--events", help="comma-separated event names (default: all)")
    ap.add_argument("--command", help="a JSON command to send once connected")
    ap.add_argument("--count", type=int, default=0, help="stop after N messages")
    ap.add_argument("--clients", type=int, default=0, help="a load: N clients that count")
    ap.add_argument("--stats", help="with --clients: where the counts go")
    args = ap.parse_args()
    try:
        if args.clients:
            return asyncio.run(load(args))
        return asyncio.run(follow(args))
    except KeyboardInterrupt:
        return 0
    except (OSError, websockets.exceptions.WebSocketException) as e:
        print("events.py: %s" % e, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
