#!/usr/bin/python3
# The HTTP server with a certificate (tls_cert): HTTPS and wss://, the
# token still asked for; a reload that changes the listen address moves
# the server (the old address refused, the new one answers); a reload that
# drops the http settings stops it; bad http settings are refused with
# why, the running configuration kept.
import os
import socket
import ssl
import subprocess
import sys
import time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from harness import *  # noqa: E402,F401

net = Net(97)
TOKEN = "https-token-000097"
BASE = """\
local pbx = require "lunapbx"
pbx.settings { rtp_ports = "%s" }
pbx.endpoint "alice" { secret = "alicepw", context = "internal" }
pbx.http.route("/hello", function(req) return 200, "hello over " .. req.path end)
""" % net.pbx_rtp


def config(http):
    return BASE + ("pbx.settings { http = %s }\n" % http if http else "")


def refused(host, port):
    s = socket.socket()
    s.settimeout(1)
    try:
        s.connect((host, port))
        return False
    except OSError:
        return True
    finally:
        s.close()


with Tap(timeout=90) as t:
    t.require_pbx()
    d = workdir("cert")
    key, crt, pem = (os.path.join(d, n) for n in ("k.pem", "c.pem", "https.pem"))
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "1", "-subj", "/CN=%s" % net.ip(0),
                    "-addext", "subjectAltName=IP:%s" % net.ip(0)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(pem, "w") as f:
        f.write(open(crt).read() + open(key).read())
    http_tls = '{ listen = "%s:8443", tokens = { t = "%s" }, tls_cert = "%s" }' % (
        net.ip(0), TOKEN, pem)
    pbx = Pbx(config(http_tls), listen="%s:5070" % net.ip(0))
    t.like(pbx.log_text(), r"http: listening on https://%s:8443" % net.ip(0),
           "the server listens with the certificate (https)")

    ctx = ssl.create_default_context(cafile=crt)
    base = "https://%s:8443" % net.ip(0)
    import urllib.request
    req = urllib.request.Request(base + "/hello", headers={"Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as r:
            st, body = r.status, r.read().decode()
    except Exception as e:  # noqa: BLE001
        st, body = None, repr(e)
    t.ok(st == 200 and body == "hello over /hello", "HTTPS with the token: the route answers,"
         " the certificate verified against its CA", diag=body)
    try:
        urllib.request.urlopen(base + "/hello", context=ctx, timeout=5)
        st = 200
    except urllib.error.HTTPError as e:
        st = e.code
    except Exception as e:  # noqa: BLE001
        st = repr(e)
    t.is_(st, 401, "HTTPS without the token: 401")
    st, body, _ = http("http://%s:8443/hello" % net.ip(0), token=TOKEN, timeout=3)
    t.ok(st != 200, "plain HTTP on the TLS port gets nothing (%s)" % st)

    import asyncio
    import websockets

    async def wss():
        async with websockets.connect("wss://%s:8443/events?token=%s" % (net.ip(0), TOKEN),
                                      ssl=ctx) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 5))
    import json
    try:
        hello = asyncio.run(wss())
    except Exception as e:  # noqa: BLE001
        hello = {"error": repr(e)}
    t.ok(hello.get("event") == "hello" and hello.get("who") == "t",
         "a wss:// client is greeted", diag=repr(hello))

    # -- reloads move and stop the server ----------------------------------------------
    mark = pbx.log_mark()
    with open(pbx.config_path, "w") as f:
        f.write(config('{ listen = "%s:8089", tokens = { t = "%s" } }' % (net.ip(0), TOKEN)))
    os.kill(pbx.proc.pid, 1)
    t.ok(pbx.wait_log(r"http: listening on http://%s:8089" % net.ip(0), 5, since=mark),
         "a reload with another listen: the server moves (plain HTTP now)")
    st, body, _ = http("http://%s:8089/hello" % net.ip(0), token=TOKEN)
    t.ok(st == 200 and body == "hello over /hello", "... it answers there", diag=body)
    t.ok(refused(net.ip(0), 8443), "... and the old address is closed")

    # the reload command itself moves the server it came through: answered first
    with open(pbx.config_path, "w") as f:
        f.write(config('{ listen = "%s:8090", tokens = { t = "%s" } }' % (net.ip(0), TOKEN)))
    st, js = http_json("http://%s:8089/api/reload" % net.ip(0), token=TOKEN, body={})
    t.ok(st == 200 and js.get("ok"), "POST /api/reload with a new listen: answered ok", diag=(st, js))
    t.ok(wait_until(lambda: http("http://%s:8090/hello" % net.ip(0), token=TOKEN)[0] == 200, 3),
         "... then the server moves to the new address")
    t.ok(wait_until(lambda: refused(net.ip(0), 8089), 3), "... and leaves the old one")

    mark = pbx.log_mark()
    with open(pbx.config_path, "w") as f:
        f.write(config('{ tokens = { t = "short" } }'))
    os.kill(pbx.proc.pid, 1)
    t.ok(pbx.wait_log(r"reload failed.*http: tokens: .*12 to 127", 5, since=mark),
         "a token shorter than 12 characters: the reload fails and says why")
    st, _, _ = http("http://%s:8090/hello" % net.ip(0), token=TOKEN)
    t.is_(st, 200, "... the running server goes on")
    mark = pbx.log_mark()
    with open(pbx.config_path, "w") as f:
        f.write(config('{ listen = "%s:8090" }' % net.ip(0)))
    os.kill(pbx.proc.pid, 1)
    t.ok(pbx.wait_log(r"reload failed.*http: tokens = .* is needed", 5, since=mark),
         "no tokens at all: refused (every request shows one)")

    mark = pbx.log_mark()
    with open(pbx.config_path, "w") as f:
        f.write(config(None))
    os.kill(pbx.proc.pid, 1)
    t.ok(pbx.wait_log(r"http: .*8090 closed", 5, since=mark),
         "a reload without http: the server stops")
    t.ok(refused(net.ip(0), 8090), "... nothing listens any more")
    pbx.finish(t)
