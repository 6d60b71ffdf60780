"""The PBX's HTTP API from a test: a real WebSocket client (python3-websockets,
Debian's package: the files that use it run /usr/bin/python3) following the
event stream in a thread of its own, HTTP requests (urllib), and Prometheus
text parsed as a scraper would."""

import asyncio
import json
import re
import threading
import time
import urllib.error
import urllib.request


def http(url, token=None, body=None, method=None, timeout=5, headers=None):
    """(status, body text, headers) of one request; body: a dict goes as JSON."""
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    data = None
    if body is not None:
        data = (json.dumps(body) if isinstance(body, (dict, list)) else body).encode()
    req = urllib.request.Request(url, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)
    except OSError as e:
        return None, str(e), {}


def http_json(url, token=None, body=None, timeout=5):
    st, text, _ = http(url, token, body, timeout=timeout)
    try:
        return st, json.loads(text)
    except ValueError:
        return st, {"_text": text}


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)(\s+\d+)?$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text):
    """{(name, (("label", "v"), ...)): value}, and the lines that do not parse
    (a scraper would refuse the page)."""
    samples, bad, types = {}, [], {}
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("#"):
            m = re.match(r"^# (HELP|TYPE) (\S+) (.*)$", line)
            if not m:
                bad.append(line)
            elif m.group(1) == "TYPE":
                if m.group(3) not in ("counter", "gauge", "summary", "histogram", "untyped"):
                    bad.append(line)
                types[m.group(2)] = m.group(3)
            continue
        m = _SAMPLE.match(line)
        if not m:
            bad.append(line)
            continue
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        try:
            v = float(m.group(3))
        except ValueError:
            bad.append(line)
            continue
        samples[(m.group(1), labels)] = v
    return samples, bad, types


class EventClient:
    """A WebSocket client of /events in a thread: every message it gets is kept
    (events and command answers), in order."""

    def __init__(self, url, token=None, events=None, name="ws", read=True, rcvbuf=None):
        import websockets  # noqa: F401  (fails early when the package is missing)
        q = []
        if token:
            q.append("token=" + token)
        if events:
            q.append("events=" + events)
        self.url = url + ("?" + "&".join(q) if q else "")
        self.name, self.read, self.rcvbuf = name, read, rcvbuf
        self.msgs, self.error, self.closed = [], None, False
        self.lock = threading.Lock()
        self.loop = asyncio.new_event_loop()
        self.ws = None
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self):
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except Exception as e:  # noqa: BLE001 (kept for the test to report)
            self.error = e
        finally:
            self.closed = True
            self.ready.set()

    async def _main(self):
        import websockets
        kw = {"max_size": 2 ** 22, "ping_interval": None}
        if self.rcvbuf:
            import socket
            host, port = re.match(r"ws://([^:/]+):(\d+)", self.url).groups()
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            s.connect((host, int(port)))
            kw["sock"] = s
        async with websockets.connect(self.url, **kw) as ws:
            self.ws = ws
            self.ready.set()
            if not self.read:
                while not self.closed:       # never reads: the PBX must drop it
                    await asyncio.sleep(0.1)
                return
            async for text in ws:
                with self.lock:
                    self.msgs.append(json.loads(text))

    def connected(self):
        return self.ws is not None and self.error is None and not self.closed

    def events(self, name=None):
        with self.lock:
            return [m for m in self.msgs if "event" in m and (name is None or m["event"] == name)]

    def wait(self, pred, timeout=5):
        """The first message pred(msg) holds for, waited for."""
        end = time.time() + timeout
        while time.time() < end:
            with self.lock:
                for m in self.msgs:
                    if pred(m):
                        return m
            if self.closed:
                break
            time.sleep(0.05)
        return None

    def wait_event(self, name, timeout=5, **fields):
        return self.wait(lambda m: m.get("event") == name and all(
            m.get(k) == v for k, v in fields.items()), timeout)

    def command(self, cmd, timeout=5):
        """Send a command ({"action": ...}); its answer (matched by id)."""
        cmd = dict(cmd)
        cmd.setdefault("id", "%s-%f" % (self.name, time.time()))
        asyncio.run_coroutine_threadsafe(self.ws.send(json.dumps(cmd)), self.loop).result(timeout)
        return self.wait(lambda m: m.get("response") is not None and m.get("id") == cmd["id"],
                         timeout)

    def close(self):
        if self.ws is not None and not self.closed:
            try:
                asyncio.run_coroutine_threadsafe(self.ws.close(), self.loop).result(3)
            except Exception:  # noqa: BLE001
                pass
        self.closed = True
        self.thread.join(3)
