"""baresip as a headless test phone, driven over ctrl_tcp."""

import json
import os
import re
import socket
import struct
import sys
import threading
import time
import wave
from array import array

from . import proc
from .audio import SILENCE_RMS, goertzel_power, make_tone
from .proc import kill_proc, read_text, spawn, tail, wait_until, workdir



_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Phone:
    """A headless baresip 1.0 driven over ctrl_tcp.

    Phone(user, ip, registrar="127.0.0.1:5070", password="pw", rtp_ports=(a,b),
          tone_hz=700, answermode="auto", extra=";dtmfmode=info", regint=600)
    registrar=None makes a regint=0 account `<sip:user@ip:sip_port>` for direct calls.
    video="VP8" (or "VP8,VP9", "H264" with package baresip-ffmpeg) adds a fake
    camera and display (modules fakevideo, vp8, vp9) and offers m=video with
    those codecs; rtcp_mux=True offers a=rtcp-mux (RTCP on the RTP port).
    modules=("mwi.so",) loads more application modules (mwi.so subscribes
    to message-summary after registering and emits MWI_NOTIFY events).
    """

    _all = []

    def __init__(self, user, ip, registrar=None, password=None, sip_port=5060,
                 ctrl_port=4444, rtp_ports=(30000, 30019), tone_hz=700, audio_file=None,
                 answermode="auto", regint=600, codecs="PCMU,PCMA", extra="",
                 limit=120, name=None, start=True, video=None, rtcp_mux=False,
                 modules=()):
        self.user = user
        self.ip = ip
        self.sip_port = sip_port
        self.ctrl_port = ctrl_port
        self.name = name or user
        self.dir = workdir("phone-" + self.name)
        self.rec_dir = os.path.join(self.dir, "rec")
        os.makedirs(self.rec_dir)
        if audio_file is None:
            audio_file = os.path.join(self.dir, "tone-%d.wav" % tone_hz)
            make_tone(audio_file, tone_hz, 15)
        self.audio_file = audio_file
        self.tone_hz = tone_hz
        self.log_path = os.path.join(self.dir, "baresip.log")
        cfg = [
            ("poll_method", "epoll"),
            ("sip_listen", "%s:%d" % (ip, sip_port)),
            ("net_interface", ip),
            ("call_local_timeout", "30"),
            ("audio_buffer", "20-160"),
            ("audio_source", "aufile," + audio_file),
            ("audio_player", "nullplay,nil"),
            ("audio_alert", "nullplay,nil"),
            ("rtp_ports", "%d-%d" % tuple(rtp_ports)),
            ("rtcp_mux", "yes" if rtcp_mux else "no"),
            ("jitter_buffer_delay", "1-10"),
            ("rtp_stats", "yes"),
            ("module_path", "/usr/lib/baresip/modules"),
            ("module", "g711.so"),
            ("module", "aufile.so"),
            ("module", "sndfile.so"),
            ("module_tmp", "account.so"),
            ("module_app", "menu.so"),
            ("module_app", "ctrl_tcp.so"),
            ("ctrl_tcp_listen", "%s:%d" % (ip, ctrl_port)),
            ("snd_path", self.rec_dir),
        ]
        # extra application modules load first: baresip 1.0's mwi.so arms a
        # 1 ms timer at load that loops for ever if the account registered
        # before it fired (a fast registrar); loading the others after it
        # lets the timer pass first
        at = [k for k, _ in cfg].index("module_path") + 1
        cfg[at:at] = [("module_app", m) for m in modules]     # e.g. "mwi.so"
        if video:
            cfg += [("module", "fakevideo.so"), ("module", "vp8.so"), ("module", "vp9.so"),
                    ("video_source", "fakevideo,nil"), ("video_display", "fakevideo,nil"),
                    ("video_size", "352x288"), ("video_fps", "15")]
            if "H264" in video.upper():
                cfg.append(("module", "avcodec.so"))
        with open(os.path.join(self.dir, "config"), "w") as f:
            for k, v in cfg:
                f.write("%-20s%s\n" % (k, v))
        if registrar:
            aor = "<sip:%s@%s>" % (user, registrar)
            params = ""
            if password is not None:
                params += ";auth_pass=%s" % password
            params += ";answermode=%s;audio_codecs=%s;regint=%d" % (answermode, codecs, regint)
        else:
            aor = "<sip:%s@%s:%d>" % (user, ip, sip_port)
            params = ";answermode=%s;audio_codecs=%s;regint=0" % (answermode, codecs)
        if video:
            params += ";video_codecs=%s" % video
        self.account = aor + params + extra
        with open(os.path.join(self.dir, "accounts"), "w") as f:
            f.write(self.account + "\n")
        self.uri = "sip:%s@%s:%d" % (user, ip, sip_port)
        self.limit = limit
        self.proc = None
        self.sock = None
        self.events = []
        self._consumed = set()
        self.responses = {}
        self._cv = threading.Condition()
        self._token = 0
        self._send_lock = threading.Lock()
        self._reader = None
        Phone._all.append(self)
        proc.before_kill.append(self._close_ctrl)
        proc.on_fail(self._dump_log)
        if start:
            self.start()

    # -- process --
    def start(self, connect_timeout=5.0):
        self.proc = spawn(["baresip", "-f", self.dir, "-t", str(int(self.limit))],
                          self.log_path, cwd=self.dir)
        deadline = time.time() + connect_timeout
        while True:
            try:
                self.sock = socket.create_connection((self.ip, self.ctrl_port), timeout=1)
                break
            except OSError:
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("baresip %s: ctrl_tcp %s:%d not reachable (rc %s); log:\n%s"
                                       % (self.name, self.ip, self.ctrl_port, self.proc.poll(),
                                          tail(self.log_text(), 20)))
                time.sleep(0.05)
        self.sock.settimeout(None)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        self._close_ctrl()
        if self.proc is not None:
            return kill_proc(self.proc, grace=3)

    def _close_ctrl(self):
        s, self.sock = self.sock, None
        if s is not None:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def log_text(self):
        return read_text(self.log_path)

    def _dump_log(self):
        tap = proc.current_tap
        if tap is None:
            return
        tap.diag("---- tail of baresip %s log (%s) ----" % (self.name, self.log_path))
        tap.diag(tail(self.log_text(), 25))
        tap.diag("events: %s" % [(e.get("type"), e.get("param")) for e in self.events])

    # -- ctrl_tcp: netstrings of JSON --
    def _read_loop(self):
        buf = b""
        sock = self.sock
        while True:
            try:
                data = sock.recv(65536)
            except OSError:
                break
            if not data:
                break
            buf += data
            while True:
                c = buf.find(b":")
                if c < 0 or not buf[:c].isdigit():
                    if c > 12:          # garbage; resync
                        buf = b""
                    break
                n = int(buf[:c])
                if len(buf) < c + 1 + n + 1:
                    break
                payload = buf[c + 1:c + 1 + n]
                buf = buf[c + 1 + n + 1:]
                try:
                    msg = json.loads(payload.decode("utf-8", "replace"))
                except ValueError:
                    continue
                msg["_t"] = time.time()
                with self._cv:
                    if msg.get("response"):
                        self.responses[msg.get("token")] = msg
                    elif msg.get("event"):
                        self.events.append(msg)
                    self._cv.notify_all()

    def command(self, cmd, params=None, timeout=5.0):
        """Send a ctrl_tcp command; returns the response dict or None on timeout."""
        if self.sock is None:
            raise RuntimeError("baresip %s: not connected" % self.name)
        with self._send_lock:
            self._token += 1
            tok = "%s-%d" % (self.name, self._token)
            d = {"command": cmd, "token": tok}
            if params is not None:
                d["params"] = params
            b = json.dumps(d).encode()
            self.sock.sendall(str(len(b)).encode() + b":" + b + b",")
        with self._cv:
            self._cv.wait_for(lambda: tok in self.responses, timeout)
            return self.responses.pop(tok, None)

    def reginfo(self):
        r = self.command("reginfo")
        return _ANSI.sub("", r.get("data", "")) if r else ""

    def registered(self, timeout=10.0):
        """Poll `reginfo` until the account shows OK; True/False."""
        return bool(wait_until(lambda: re.search(r"\bOK\b", self.reginfo()), timeout, 0.2))

    def dial(self, uri):
        return self.command("dial", uri)

    def hangup(self):
        return self.command("hangup")

    def accept(self):
        return self.command("accept")

    def send_dtmf(self, digits):
        return self.command("sndcode", digits)

    def callstat(self):
        r = self.command("callstat")
        return _ANSI.sub("", r.get("data", "")) if r else ""

    def rtp_summary(self):
        """The statistics baresip logs when a call ends (rtp_stats yes), for
        the last call: {("audio"|"video", "tx"|"rx"): {"packets": n,
        "pkt.report": n, "lost": n, ...}}.  "pkt.report" is what the far
        end's RTCP reports said: RTCP came through."""
        text = _ANSI.sub("", self.log_text())
        out = {}
        for m in re.finditer(r"^(audio|video) +Transmit: +Receive:\n((?:[a-z. ]+:.*\n)+)",
                             text, re.M):
            for line in m.group(2).splitlines():
                k, _, v = line.partition(":")
                vals = v.split()
                for d, val in zip(("tx", "rx"), vals[:2]):
                    try:
                        out.setdefault((m.group(1), d), {})[k.strip()] = float(val)
                    except ValueError:
                        pass
        return out

    def wait_event(self, etype, timeout=10.0):
        """Wait for the next not-yet-consumed event of this type; returns it or None."""
        def find():
            for i, e in enumerate(self.events):
                if i not in self._consumed and e.get("type") == etype:
                    self._consumed.add(i)
                    return e
            return None
        with self._cv:
            found = [None]

            def pred():
                found[0] = find()
                return found[0] is not None
            self._cv.wait_for(pred, timeout)
            return found[0]

    def event_types(self):
        with self._cv:
            return [e.get("type") for e in self.events]

    # -- recordings (module sndfile) --
    def recordings(self):
        """[{'enc': path, 'dec': path}, ...] oldest first.  -dec.wav is what this
        phone received (decoded), -enc.wav what it sent."""
        recs = {}
        for fn in sorted(os.listdir(self.rec_dir)):
            m = re.match(r"(.*)-(enc|dec)\.wav$", fn)
            if m:
                recs.setdefault(m.group(1), {})[m.group(2)] = os.path.join(self.rec_dir, fn)
        return [recs[k] for k in sorted(recs)]

    def wait_recording(self, count=1, timeout=5.0):
        """Wait until `count` recordings with both files exist and stopped growing."""
        def sizes():
            recs = self.recordings()
            if len(recs) < count or not all("enc" in r and "dec" in r for r in recs):
                return None
            return tuple(os.path.getsize(p) for r in recs for p in (r["enc"], r["dec"]))
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            s = sizes()
            if s is not None and s == last:
                return self.recordings()[-1]
            last = s

    def fresh_name(self):
        """Wait, if needed, until a call dialled now records under a new
        name: baresip names recordings by the second (dump-YYYY-mm-dd-HH-
        MM-SS) and a call starting within the second of the last one's
        start would overwrite it.  No wait when that second is past."""
        recs = self.recordings()
        if not recs:
            return
        m = re.search(r"(\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d)-(?:enc|dec)\.wav$",
                      next(iter(recs[-1].values())))
        if not m:
            time.sleep(1.1)
            return
        began = time.mktime(time.strptime(m.group(1), "%Y-%m-%d-%H-%M-%S"))
        left = began + 1.05 - time.time()
        if left > 0:
            time.sleep(left)

    def wait_closed(self, count=1, timeout=15.0):
        """The count-th recording (1 = the first) once baresip closed it:
        libsndfile writes the WAV header's length only then.  None when it
        does not come within timeout."""
        def closed():
            recs = self.recordings()
            if len(recs) < count:
                return None
            r = recs[count - 1]
            if all(k in r and wav_frames(r[k]) > 0 for k in ("dec", "enc")):
                return r
            return None
        return wait_until(closed, timeout, 0.1)

    def listen(self, count):
        """A Hearing of the count-th recording (1 = the first) while its call
        goes on: what the phone heard so far, read as baresip writes it."""
        return Hearing(self, count)


def fresh_names():
    """Phone.fresh_name for every phone still running: a call started now
    records under new names on all of them."""
    for ph in Phone._all:
        if ph.alive():
            ph.fresh_name()


def wav_frames(path):
    """Frames in a WAV file's header (0 until libsndfile closes it)."""
    try:
        with wave.open(path, "rb") as w:
            return w.getnframes()
    except (OSError, EOFError, wave.Error):
        return 0


class Hearing:
    """What a phone heard in a call still going on, from the decoded WAV
    baresip is writing (its header's length stays 0 until the call ends:
    the samples are read up to the end of the file).  wait(hz, secs) waits
    until the tone hz was heard for secs in all, by the same 50 ms blocks
    as audio.tone_duration, so the finished file holds at least as much."""

    BLOCK = 400

    def __init__(self, phone, count):
        self.phone, self.count = phone, count
        self.path = None
        self.data_at = None
        self.rate = 8000
        self.channels = 1
        self.done = 0            # bytes of samples already read
        self.samples = array("h")
        self.hits = {}           # hz -> [blocks counted, [blocks where it dominates]]

    def _open(self):
        if self.path is None:
            recs = self.phone.recordings()
            if len(recs) < self.count or "dec" not in recs[self.count - 1]:
                return False
            self.path = recs[self.count - 1]["dec"]
        if self.data_at is None:
            with open(self.path, "rb") as f:
                head = f.read(4096)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return False
            pos = 12
            while pos + 8 <= len(head):
                cid = head[pos:pos + 4]
                size = struct.unpack("<I", head[pos + 4:pos + 8])[0]
                if cid == b"fmt ":
                    fmt, ch, rate, _, _, bits = struct.unpack("<HHIIHH", head[pos + 8:pos + 24])
                    if bits != 16:
                        raise ValueError("%s: %d-bit samples" % (self.path, bits))
                    self.channels, self.rate = ch, rate
                elif cid == b"data":
                    self.data_at = pos + 8
                    return True
                pos += 8 + size + (size & 1)
            return False
        return True

    def _read(self):
        """Take the samples written since the last read."""
        if not self._open():
            return
        step = 2 * self.channels
        with open(self.path, "rb") as f:
            f.seek(self.data_at + self.done)
            raw = f.read()
        raw = raw[:len(raw) - len(raw) % step]
        if not raw:
            return
        self.done += len(raw)
        a = array("h")
        a.frombytes(raw)
        if sys.byteorder == "big":
            a.byteswap()
        if self.channels > 1:
            a = a[0::self.channels]
        self.samples.extend(a)

    def _count(self, hz):
        """The blocks where hz dominates, counted up to the last whole one."""
        at, hits = self.hits.setdefault(hz, [0, []])
        n = len(self.samples) // self.BLOCK
        for k in range(at, n):
            b = self.samples[k * self.BLOCK:(k + 1) * self.BLOCK]
            e = sum(x * x for x in b) / self.BLOCK
            if e >= SILENCE_RMS * SILENCE_RMS and goertzel_power(b, hz, self.rate) / e >= 0.5:
                hits.append(k)
        self.hits[hz][0] = n
        return n, hits

    def seconds(self, hz):
        """The seconds of hz heard so far."""
        self._read()
        return len(self._count(hz)[1]) * self.BLOCK / float(self.rate)

    def wait(self, hz, secs, timeout=30.0, then_quiet=0.0):
        """Until hz was heard for secs in all (and, then_quiet > 0, has
        not been heard for the last then_quiet s since: what played it
        ended).  The seconds heard, or None at the timeout."""
        quiet = int(then_quiet * self.rate / self.BLOCK)

        def enough():
            self._read()
            n, hits = self._count(hz)
            if len(hits) * self.BLOCK < secs * self.rate:
                return False
            return not quiet or n - 1 - hits[-1] >= quiet
        if not wait_until(enough, timeout, 0.2):
            return None
        return len(self.hits[hz][1]) * self.BLOCK / float(self.rate)
