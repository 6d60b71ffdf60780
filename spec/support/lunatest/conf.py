"""Conference rooms heard from the phones: who hears whom in which stretch
of a call.  A phone in a room hears a mix of several tones at once, so a
tone is "heard" by its share of the power over a window of the recording
(Goertzel on 50 ms blocks), not by the runs lunatest.audio.heard() looks
for.  Windows are wall-clock intervals the test noted, turned into
positions of each phone's recording from when its call was established
(baresip records from then on), with a margin at each end."""

import os
import time
from math import sqrt

from .audio import goertzel_power, make_tone, read_wav
from .phone import Phone

BLOCK = 400            # 50 ms at 8 kHz
HEARD = 0.12           # a talker among several holds at least this share
NOT_HEARD = 0.01       # a talker left out holds less than this


def tone_phone(name, ip, pbx, password, rtp_ports, hz, seconds=60, volume=0.5, limit=120,
               answermode="auto", codecs="PCMU,PCMA"):
    """A registered baresip phone sending one long tone (its own file: the
    stock one is 15 s)."""
    path = os.path.join("/tmp", "lunapbx-tone-%d-%d-%.2f.wav" % (hz, seconds, volume))
    if not os.path.exists(path):
        tmp = "%s.%d.tmp.wav" % (path, os.getpid())
        make_tone(tmp, hz, seconds, pad=20, volume=volume)
        os.replace(tmp, path)
    return Phone(name, ip, registrar=pbx.sip, password=password, rtp_ports=rtp_ports,
                 tone_hz=hz, audio_file=path, limit=limit, answermode=answermode,
                 codecs=codecs)


def fractions(path, freqs, start, end):
    """({freq: share of the power}, rms) of path between start and end
    seconds (blocks below the silence level count as nothing)."""
    samples, rate = read_wav(path)
    a, b = int(max(0, start) * rate), int(max(0, end) * rate)
    samples = samples[a:b]
    powers = {f: 0.0 for f in freqs}
    total, n = 0.0, 0
    for i in range(0, len(samples) - BLOCK + 1, BLOCK):
        blk = samples[i:i + BLOCK]
        e = sum(x * x for x in blk) / BLOCK
        total += e
        n += 1
        for f in freqs:
            powers[f] += goertzel_power(blk, f, rate)
    share = {f: (powers[f] / total if total > 0 else 0.0) for f in freqs}
    return share, (sqrt(total / n) if n else 0.0)


class Room:
    """Phones (name -> Phone, with its tone in hz[name]) and the wall-clock
    moments each call was established."""

    def __init__(self, t, pbx, phones, hz):
        self.t, self.pbx, self.phones, self.hz = t, pbx, phones, hz
        self.est = {}
        self.recs = {}

    def join(self, who, exten, wait=10):
        ph = self.phones[who]
        ph.dial("sip:%s@%s" % (exten, self.pbx.sip))
        ok = ph.wait_event("CALL_ESTABLISHED", wait)
        self.est[who] = time.time()
        return bool(ok)

    def now(self):
        return time.time()

    def rec(self, who, n=1, timeout=8):
        """The who's n-th recording (its -dec.wav: what it heard)."""
        if (who, n) not in self.recs:
            r = self.phones[who].wait_recording(n, timeout=timeout)
            self.recs[(who, n)] = r and r["dec"]
        return self.recs[(who, n)]

    def check(self, who, window, hears, never, what, n=1, margin=0.8, heard=HEARD):
        """In who's recording, over the wall-clock window (a, b): each of
        hears holds a fair share, each of never (almost) none."""
        a, b = window
        start = a - self.est[who] + margin
        end = b - self.est[who] - margin
        path = self.rec(who, n)
        freqs = sorted(set(self.hz.values()))
        share, rms = fractions(path, freqs, start, end) if path else ({}, 0)
        got = {w: share.get(self.hz[w], 0) for w in list(hears) + list(never)}
        ok = path is not None and end - start >= 1 and \
            all(got[w] >= heard for w in hears) and all(got[w] < NOT_HEARD for w in never)
        self.t.ok(ok, "%s: %s hears %s%s" % (
            what, who, " and ".join(hears) if hears else "none of them",
            (", never " + " or ".join(never)) if never else ""),
            diag=lambda: "window %.1f-%.1f s of %s: shares %s, rms %.0f" % (
                start, end, path, {w: round(v, 3) for w, v in got.items()}, rms))
        return ok

    def level(self, who, window, n=1, margin=0.8):
        """rms of who's recording over the wall-clock window."""
        a, b = window
        path = self.rec(who, n)
        if not path:
            return 0.0
        return fractions(path, [], a - self.est[who] + margin, b - self.est[who] - margin)[1]


class TonePeer:
    """The media of a sipp participant: an RtpPeer on ip:port that, once the
    PBX's first packet tells it where to send, sends a tone (hz, amplitude)
    for `seconds` in a thread of its own, and keeps what it hears."""

    def __init__(self, ip, port, hz, seconds, amplitude=2600):
        import threading
        from .rtp import RtpPeer
        self.peer, self.hz = RtpPeer(ip, port), hz
        self.seconds, self.amplitude = seconds, amplitude
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        deadline = time.time() + 30
        while not self.peer.packets and time.time() < deadline:
            time.sleep(0.02)
        if self.peer.packets:
            try:
                self.peer.send_tone(self.peer.packets[0][6], self.hz, self.seconds,
                                    amplitude=self.amplitude, ssrc=0x5000 + self.hz)
            except OSError:
                pass                 # closed at the end of the test

    def shares(self, freqs, window):
        """({freq: share}, rms) of what it heard during the wall-clock window."""
        from .rtp import _DEC
        a, b = window
        pkts = sorted((p for p in self.peer.packets if a <= p[0] <= b and p[1] == 0),
                      key=lambda p: p[3])
        samples = [_DEC[0][x] for p in pkts for x in p[5]]
        powers, total, n = {f: 0.0 for f in freqs}, 0.0, 0
        for i in range(0, len(samples) - BLOCK + 1, BLOCK):
            blk = samples[i:i + BLOCK]
            total += sum(x * x for x in blk) / BLOCK
            n += 1
            for f in freqs:
                powers[f] += goertzel_power(blk, f, 8000)
        return ({f: (powers[f] / total if total else 0.0) for f in freqs},
                sqrt(total / n) if n else 0.0)

    def close(self):
        self.peer.close()
