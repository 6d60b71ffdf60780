"""Loopback addresses and port ranges: each test file gets its own.

File NN (0..99) of slot S owns the addresses 127.S.NN.10 .. 127.S.NN.19
(`ip(0)` is meant for the PBX, the others for clients, one each).  Since
every file has its own addresses, the PBX's RTP range and sipp's media
ports may repeat from file to file: they bind those addresses.  baresip
binds its RTP sockets to 0.0.0.0, so the phones' ranges are unique per
file and slot.  S is 0 unless LUNAPBX_E2E_SLOT=1..7 asks for another one:
two runs of the suite in different slots do not clash, and the files of
one run may run in parallel (prove -j).

Every fixed port is below 32768, out of Linux's ephemeral range: a socket
that some process bound to an ephemeral port must never take a port a test
counts on (seen: sipp's media port taken while tests ran in parallel).
"""

import os

PHONES = 5          # phone_rtp(k), k 0..4
PHONE_PORTS = 6     # audio and video, RTP and RTCP, and one spare pair


class Net:
    def __init__(self, nn):
        if not (0 <= nn <= 99):
            raise ValueError("file number must be 0..99")
        self.nn = nn
        self.slot = int(os.environ.get("LUNAPBX_E2E_SLOT", "0") or 0)
        if not (0 <= self.slot <= 7):
            raise ValueError("LUNAPBX_E2E_SLOT must be 0..7")

    def ip(self, i):
        if not (0 <= i <= 9):
            raise ValueError("ip index 0..9")
        return "127.%d.%d.%d" % (self.slot, self.nn, 10 + i)

    @property
    def pbx_rtp(self):
        """The PBX's RTP range, "28000-28199", on its own address ip(0)."""
        return "28000-28199"

    def phone_rtp(self, k):
        if not (0 <= k < PHONES):
            raise ValueError("phone index 0..%d" % (PHONES - 1))
        # 4000 + 3000 * slot + 30 * nn + 6 * k: 4000-27999 for 8 slots
        b = 4000 + 100 * PHONES * PHONE_PORTS * self.slot + PHONES * PHONE_PORTS * self.nn \
            + PHONE_PORTS * k
        return (b, b + PHONE_PORTS - 1)

    def media_port(self, k):
        """sipp media ports (-mp), on the client's own address."""
        if not (0 <= k <= 9):
            raise ValueError("media index 0..9")
        return 29000 + 10 * k
