"""sipp runs: scenario templates, background UASes, results."""

import os
import re
import socket
import subprocess
import time

from . import proc
from .proc import SIPP_DIR, kill_proc, read_text, spawn, tail, wait_until, workdir
from .sipmsg import parse_sipp_messages



# SDP media sections for the {media} placeholder of the uac_*.xml templates
SDP = {
    "pcmu_pcma": "m=audio [media_port] RTP/AVP 0 8 101\na=rtpmap:0 PCMU/8000\n"
                 "a=rtpmap:8 PCMA/8000\na=rtpmap:101 telephone-event/8000\n"
                 "a=fmtp:101 0-16\na=sendrecv",
    "pcmu": "m=audio [media_port] RTP/AVP 0\na=rtpmap:0 PCMU/8000\na=sendrecv",
    "pcma": "m=audio [media_port] RTP/AVP 8\na=rtpmap:8 PCMA/8000\na=sendrecv",
    "g722": "m=audio [media_port] RTP/AVP 9\na=rtpmap:9 G722/8000\na=sendrecv",
}

_render_count = [0]


def render_template(name, **values):
    """Render spec/support/sipp/NAME (with {placeholders}) to a temp file; returns its path.

    Only {identifier} placeholders are substituted; a placeholder without a
    value is an error.  sipp's own [keywords] are left alone.
    """
    src = name if os.path.isabs(name) else os.path.join(SIPP_DIR, name)
    with open(src) as f:
        text = f.read()

    def sub(m):
        k = m.group(1)
        if k not in values:
            raise KeyError("template %s: no value for {%s}" % (name, k))
        return str(values[k])

    text = re.sub(r"\{([A-Za-z_][A-Za-z0-9_]*)\}", sub, text)
    d = os.path.join(proc.tmp_root(), "scenarios") if proc.tmp_root() else None
    if d is None or not os.path.isdir(d):
        d = workdir("scenarios")
    _render_count[0] += 1
    out = os.path.join(d, "%02d-%s" % (_render_count[0], os.path.basename(name)))
    with open(out, "w") as f:
        f.write(text)
    return out


class SippResult:
    def __init__(self, sipp, rc):
        self.sipp = sipp
        self.rc = rc
        self.errors = read_text(sipp.error_file)
        self.messages = parse_sipp_messages(sipp.message_file)
        self.screen = read_text(sipp.screen_file)

    @property
    def ok(self):
        return self.rc == 0

    def received(self, code_or_method=None):
        """Received messages; filter by response code (int) or request method (str)."""
        out = []
        for m in self.messages:
            if m.dir != "recv":
                continue
            if code_or_method is None:
                out.append(m)
            elif isinstance(code_or_method, int):
                if m.code == code_or_method:
                    out.append(m)
            elif not m.is_response and m.method == code_or_method:
                out.append(m)
        return out

    def first(self, code_or_method):
        r = self.received(code_or_method)
        return r[0] if r else None

    def sent(self, method=None):
        return [m for m in self.messages if m.dir == "sent"
                and (method is None or (not m.is_response and m.method == method))]

    def codes(self):
        """Received response codes in order (retransmissions included)."""
        return [m.code for m in self.messages if m.dir == "recv" and m.is_response]

    def flow(self):
        return ["%s %s" % (">>" if m.dir == "sent" else "<<", m.start) for m in self.messages]

    def diag(self):
        s = ["sipp %s exited %s" % (self.sipp.label, self.rc),
             "command: " + " ".join(self.sipp.argv)]
        if self.messages:
            s.append("message flow: " + " | ".join(self.flow()))
        if self.errors.strip():
            s.append("---- sipp error file (tail) ----")
            s.append(tail(self.errors, 50))
        else:
            s.append("(sipp error file empty)")
            if self.screen.strip():
                s.append("---- sipp output (tail) ----")
                s.append(tail(self.screen, 12))
        return "\n".join(s)


def _udp_in_use(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind((ip, port))
        return False
    except OSError:
        return True
    finally:
        s.close()



class Sipp:
    """One sipp run.

    scenario: a built-in name ("uac", "uas", ...), a file name in
    spec/support/sipp/, or a path (e.g. from render_template()).
    local: "IP:PORT" for -i/-p; media: "IP:PORT" for -mi/-mp (default: local IP,
    port from Net.media_port, else 29500 + local port - 5000); remote: "IP:PORT" target.
    """

    def __init__(self, scenario, local, remote=None, media=None, m=1, timeout=15,
                 auth=None, service=None, keys=None, inf=None, transport=None,
                 rate=None, limit=None, extra=(), name=None, template=None):
        self.dir = workdir("sipp-" + (name or os.path.splitext(os.path.basename(scenario))[0]))
        self.label = name or os.path.basename(scenario)
        if template is not None:
            scenario = render_template(scenario, **template)
        self.local_ip, lp = local.rsplit(":", 1)
        self.local_port = int(lp)
        if media is None:
            # on its own address, below the ephemeral range, clear of the
            # phones' ranges (see net.py)
            media = "%s:%d" % (self.local_ip, 29500 + (self.local_port - 5000) % 500)
        mip, mp = media.rsplit(":", 1)
        self.error_file = os.path.join(self.dir, "errors.log")
        self.message_file = os.path.join(self.dir, "messages.log")
        self.screen_file = os.path.join(self.dir, "screen.log")
        a = ["sipp"]
        if os.path.sep in scenario or scenario.endswith(".xml"):
            path = scenario if os.path.isabs(scenario) else os.path.join(SIPP_DIR, scenario)
            a += ["-sf", path]
        else:
            a += ["-sn", scenario]
        a += ["-i", self.local_ip, "-p", str(self.local_port), "-mi", mip, "-mp", mp,
              "-m", str(m), "-timeout", "%ds" % int(timeout), "-timeout_error", "-nostdin",
              "-trace_err", "-error_file", self.error_file,
              "-trace_msg", "-message_file", self.message_file]
        if transport:
            a += ["-t", transport]
        if auth:
            a += ["-au", auth[0], "-ap", auth[1]]
            # sipp's digest-uri defaults to sip:remote; the PBX wants the
            # Request-URI (RFC 2617 3.2.2.5), sip:[service]@remote here
            if service and remote:
                a += ["-auth_uri", "%s@%s" % (service, remote)]
        if service:
            a += ["-s", str(service)]
        for k, v in (keys or {}).items():
            a += ["-key", str(k), str(v)]
        if inf:
            a += ["-inf", inf]
        if rate:
            a += ["-r", str(rate)]
        if limit:
            a += ["-l", str(limit)]
        a += list(extra)
        if remote:
            a.append(remote)
        self.argv = a
        self.timeout = timeout
        self.proc = None

    def start(self, wait_bound=True):
        """Start in the background; by default wait (max 2 s) until sipp holds its
        UDP port, so that a peer started next finds it listening."""
        self.proc = spawn(self.argv, self.screen_file, cwd=self.dir)
        self.started_at = time.time()
        if wait_bound and "-t" not in self.argv:
            wait_until(lambda: _udp_in_use(self.local_ip, self.local_port) or not self.running(), 2)
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def messages(self):
        return parse_sipp_messages(self.message_file)

    def wait(self, timeout=None):
        """Wait for sipp to exit; kill it after `timeout` s (default: its own
        -timeout + 5 s).  Returns a SippResult."""
        if self.proc is None:
            self.start()
        limit = timeout if timeout is not None else self.timeout + 5
        try:
            rc = self.proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            kill_proc(self.proc, grace=1)
            rc = "killed after %ss" % limit
        return SippResult(self, rc)

    def run(self, timeout=None):
        return self.start().wait(timeout)

    def stop(self):
        """Kill a background sipp (by its process group) and return its SippResult."""
        rc = kill_proc(self.proc, grace=1) if self.proc else None
        return SippResult(self, rc)
