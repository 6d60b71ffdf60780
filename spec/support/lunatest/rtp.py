"""RTP from Python, for tests where sipp speaks SIP but the test must hear
the audio: an RtpPeer binds a UDP port, keeps the G.711 packets it gets
(decoded to 16-bit PCM, writable as a WAV) and can send a tone."""

import math
import socket
import struct
import threading
import time
import wave


def ulaw_decode(b):
    b = ~b & 0xFF
    t = ((b & 0x0F) << 3) + 0x84
    t <<= (b & 0x70) >> 4
    return (0x84 - t) if b & 0x80 else (t - 0x84)


def alaw_decode(b):
    b ^= 0x55
    t = (b & 0x0F) << 4
    seg = (b & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if b & 0x80 else -t


def ulaw_encode(x):
    sign = 0x80 if x < 0 else 0
    x = min(abs(x), 32635) + 0x84
    exp = 7
    mask = 0x4000
    while exp > 0 and not (x & mask):
        exp -= 1
        mask >>= 1
    mant = (x >> (exp + 3)) & 0x0F
    return ~(sign | (exp << 4) | mant) & 0xFF


def alaw_encode(x):
    sign = 0x80 if x >= 0 else 0
    x = min(abs(x), 32767) >> 3
    if x < 32:
        v = x >> 1
    else:
        exp = 1
        while x >= 64 and exp < 7:
            x >>= 1
            exp += 1
        v = (exp << 4) | ((x >> 1) & 0x0F)
    return (v | sign) ^ 0x55


_DEC = {0: [ulaw_decode(i) for i in range(256)], 8: [alaw_decode(i) for i in range(256)]}
_ENC = {0: ulaw_encode, 8: alaw_encode}


class RtpPeer:
    """A UDP socket on ip:port that keeps what arrives.

    packets: [(time, payload type, seq, ts, ssrc, payload bytes, source)]."""

    def __init__(self, ip, port):
        self.ip, self.port = ip, port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, port))
        self.sock.settimeout(0.2)
        self.packets = []
        self._stop = False
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop:
            try:
                data, src = self.sock.recvfrom(2048)
            except socket.timeout:
                continue
            except OSError:
                break
            if len(data) < 12 or data[0] >> 6 != 2:
                continue
            cc = data[0] & 0x0F
            pt = data[1] & 0x7F
            seq, ts, ssrc = struct.unpack("!HII", data[2:12])
            self.packets.append((time.time(), pt, seq, ts, ssrc, data[12 + 4 * cc:], src))

    def close(self):
        self._stop = True
        self.sock.close()
        self._thread.join(1)

    def payload_types(self):
        return sorted({p[1] for p in self.packets})

    def pcm(self, pt):
        """The samples of the packets of payload type pt (0 or 8), in order."""
        dec = _DEC[pt]
        out = []
        for p in sorted((p for p in self.packets if p[1] == pt), key=lambda p: p[3]):
            out.extend(dec[b] for b in p[5])
        return out

    def write_wav(self, path, pt):
        samples = self.pcm(pt)
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(struct.pack("<%dh" % len(samples), *samples))
        return path

    def send_tone(self, dest, freq, seconds, pt=0, amplitude=12000, ssrc=0x1234):
        """Send a tone as G.711 RTP to dest (ip, port), paced at 20 ms."""
        enc = _ENC[pt]
        n = int(seconds * 50)
        t0 = time.time()
        for i in range(n):
            payload = bytes(enc(int(amplitude * math.sin(2 * math.pi * freq * (i * 160 + k) / 8000.0)))
                            for k in range(160))
            hdr = struct.pack("!BBHII", 0x80, pt | (0x80 if i == 0 else 0), i & 0xFFFF,
                              i * 160, ssrc)
            self.sock.sendto(hdr + payload, dest)
            delay = t0 + (i + 1) * 0.02 - time.time()
            if delay > 0:
                time.sleep(delay)
