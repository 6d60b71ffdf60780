"""linphone-daemon (Debian's linphone-cli) as a second, independent phone:
it does what baresip 1.0 cannot, an attended transfer by REFER with
Replaces (`call-transfer <id> <id2>`).

It binds the wildcard address, so its SIP and RTP ports are unique per file
and slot (below 32768, away from the other ranges of lunatest.net)."""

import os
import re
import select
import subprocess
import time

from . import proc
from .proc import workdir

_CONFIG = """[sip]
sip_port=-1
sip_tcp_port=-1
sip_tls_port=-1
guess_hostname=0
register_only_when_network_is_up=0
[rtp]
audio_rtp_port=%(rtp)d
[sound]
echocancellation=0
[misc]
enable_call_logs_db=0
[video]
capture=0
display=0
automatically_initiate=0
automatically_accept=0
"""


class Linphone:
    """Linphone(net, index): linphone-daemon on SIP port 31000 + 40*slot +
    4*index (mod the file), RTP on the next ports."""

    def __init__(self, net, index=0, name="linphone"):
        self.port = 31000 + 40 * net.slot + 4 * ((net.nn + index) % 10)
        self.dir = workdir(name)
        self.log_path = os.path.join(self.dir, "linphone.log")
        with open(os.path.join(self.dir, "factory"), "w") as f:
            f.write(_CONFIG % {"rtp": self.port + 2})
        self.out = ""
        self.proc = subprocess.Popen(
            ["linphone-daemon", "--config", os.path.join(self.dir, "rc"),
             "--factory-config", os.path.join(self.dir, "factory"),
             "--log", self.log_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd=self.dir, start_new_session=True,
            env=dict(os.environ, HOME=self.dir))
        proc._procs.append(self.proc)
        self.command("port sip %d udp" % self.port, 3)

    def _pump(self, timeout):
        end = time.time() + timeout
        while True:
            left = end - time.time()
            if left <= 0:
                return
            r, _, _ = select.select([self.proc.stdout], [], [], min(left, 0.1))
            if r:
                data = os.read(self.proc.stdout.fileno(), 65536)
                if not data:
                    return
                self.out += data.decode("utf-8", "replace")

    def command(self, cmd, timeout=5.0):
        """Send a command; the text of its answer block (Status: ...)."""
        mark = len(self.out)
        self.proc.stdin.write((cmd + "\n").encode())
        self.proc.stdin.flush()
        end = time.time() + timeout
        while time.time() < end:
            self._pump(0.1)
            m = re.search(r"Status: (\w+)[\s\S]*?(?=daemon-linphone>|\Z)", self.out[mark:])
            if m and "daemon-linphone>" in self.out[mark + m.start():]:
                return m.group(0)
        return self.out[mark:]

    def wait_event(self, event, call_id=None, timeout=10.0, since=0):
        """Wait for `Event: <event>` (of that call Id); True when it came."""
        rx = re.compile(r"Event: %s\s+(?:From: .*\s+)?Id: %s" % (
            re.escape(event), call_id if call_id is not None else r"\d+"))
        end = time.time() + timeout
        while time.time() < end:
            if rx.search(self.out, since):
                return True
            self._pump(0.2)
        return bool(rx.search(self.out, since))

    def register(self, user, password, registrar):
        return self.command("register sip:%s@%s sip:%s %s %s NULL"
                            % (user, registrar, registrar, password, user), 5)

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.flush()
            except OSError:
                pass
            proc.kill_proc(self.proc, grace=3)
