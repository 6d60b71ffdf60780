"""A media endpoint in the test process, for the side of a call that sipp
plays (sipp sends no video): it listens where that side's SDP says (RTP and
RTCP on the next port), learns from the first packet where the PBX sends
from, and then sends back RTP (and an RTCP SR every second) to that port."""

import select
import socket
import struct
import threading
import time

from . import proc


class RtpPeer(threading.Thread):
    """RtpPeer(ip, port, pt=96, clock=90000, fps=15, size=400).start()

    rx_rtp / rx_rtcp count what arrived, tx_rtp / tx_rtcp what was sent,
    pbx is the (ip, port) the PBX sends from (None until a packet came)."""

    def __init__(self, ip, port, pt=96, clock=90000, fps=15, size=400, ssrc=0x4C554E41):
        super().__init__(daemon=True)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind((ip, port))
        self.rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtcp.bind((ip, port + 1))
        self.pt, self.clock, self.fps, self.size, self.ssrc = pt, clock, fps, size, ssrc
        self.rx_rtp = self.rx_rtcp = self.tx_rtp = self.tx_rtcp = 0
        self.pbx = None
        self._halt = threading.Event()
        proc.before_kill.append(self.stop)

    def stop(self):
        """Stop sending and close the sockets (the ports are free again)."""
        self._halt.set()
        if self.is_alive() and threading.current_thread() is not self:
            self.join(2)

    def _send_rtp(self, seq, ts):
        # a VP8 payload descriptor (start of partition 0), then filler
        payload = b"\x10" + bytes(self.size - 1)
        hdr = struct.pack("!BBHII", 0x80, self.pt | (0x80 if seq % 2 == 0 else 0),
                          seq & 0xFFFF, ts & 0xFFFFFFFF, self.ssrc)
        self.rtp.sendto(hdr + payload, self.pbx)
        self.tx_rtp += 1

    def _send_sr(self, ts):
        now = time.time() + 2208988800
        sr = struct.pack("!BBHIIIIII", 0x80, 200, 6, self.ssrc, int(now),
                         int((now % 1) * (1 << 32)), ts & 0xFFFFFFFF, self.tx_rtp,
                         self.tx_rtp * self.size)
        cname = b"rtppeer"
        item = bytes([1, len(cname)]) + cname + b"\x00"
        item += bytes((4 - len(item) % 4) % 4)
        sdes = struct.pack("!BBHI", 0x81, 202, (4 + len(item)) // 4, self.ssrc) + item
        self.rtcp.sendto(sr + sdes, (self.pbx[0], self.pbx[1] + 1))
        self.tx_rtcp += 1

    def run(self):
        seq, ts, next_frame, next_sr = 1, 0, 0.0, 0.0
        while not self._halt.is_set():
            r, _, _ = select.select([self.rtp, self.rtcp], [], [], 1.0 / self.fps / 2)
            for s in r:
                try:
                    data, src = s.recvfrom(2048)
                except OSError:
                    continue
                if s is self.rtp and len(data) >= 12 and not 192 <= data[1] <= 223:
                    self.rx_rtp += 1
                    if self.pbx is None:
                        self.pbx = src
                else:
                    self.rx_rtcp += 1
            now = time.time()
            if self.pbx and now >= next_frame:
                try:
                    self._send_rtp(seq, ts)
                    if now >= next_sr:
                        self._send_sr(ts)
                        next_sr = now + 1.0
                except OSError:
                    pass
                seq += 1
                ts += self.clock // self.fps
                next_frame = now + 1.0 / self.fps
        self.rtp.close()
        self.rtcp.close()
