/**
 * @file fz_rtp.c  Fuzz target: RTP and RTCP packets as a stream counts
 * them (core/media/rtpstat.c: sequence, jitter, SR/RR report blocks,
 * round trips), then its own report and the statistics line.  The input
 * is a series of packets: a kind byte (RTP in, RTCP in, RTCP out), a
 * length byte, the packet.
 */
#include <string.h>
#include "fuzz.h"
#include "media/rtpstat.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rtpstat st;
	struct mbuf *mb;
	uint64_t now = 1000000;
	size_t i = 0;

	fuzz_once();
	rtpstat_init(&st, 8000);

	while (i + 2 <= size) {
		uint8_t kind = data[i], len = data[i + 1];
		const uint8_t *p = data + i + 2;
		size_t n = min((size_t)len, size - i - 2);

		now += 20000 + (kind >> 4) * 1000;
		switch (kind % 4) {

		case 0:  rtpstat_rtp_in(&st, p, n, now);          break;
		case 1:  rtpstat_rtcp_in(&st, p, n, now);         break;
		case 2:  rtpstat_rtcp_out(&st, p, n, now);        break;
		default: rtpstat_own_rtp(&st, (uint32_t)now, n, now); break;
		}
		i += 2 + n;
	}

	mb = mbuf_alloc(512);
	if (mb) {
		(void)rtpstat_report(&st, mb, 0x12345678, "fuzz@lunapbx", now);
		mb->pos = 0;
		rtpstat_rtcp_in(&st, mbuf_buf(mb), mbuf_get_left(mb), now);
		mb->pos = mb->end;
		(void)mbuf_printf(mb, "%H", rtpstat_print, &st.pub);
	}
	mem_deref(mb);

	return 0;
}
