/**
 * @file fz_sdp.c  Fuzz target: SDP from a phone (core/media/sdpneg.c),
 * as an offer (then our answer is made) and as the answer to our offer,
 * with video: what is kept, which payload types map, what is printed.
 */
#include "fuzz.h"
#include "media/codec.h"
#include "media/sdpneg.h"

static const uint8_t allow[] = {CODEC_PCMU, CODEC_PCMA, CODEC_NONE};


static void inspect(struct sdpneg *n)
{
	uint8_t codecs[CODEC_MAX], pairs[16][2];
	struct sa rtp, rtcp;
	struct mbuf *pr = mbuf_alloc(256);

	(void)sdpneg_remote_codecs(n, codecs, ARRAY_SIZE(codecs));
	(void)sdpneg_answered_codec(n);
	(void)sdpneg_tx_pt(n, CODEC_PCMU);
	(void)sdpneg_rx_pt(n, CODEC_PCMA);
	(void)sdpneg_tx_telev_pt(n);
	(void)sdpneg_remote_addr(n, &rtp, &rtcp);
	(void)sdpneg_remote_dir(n);
	(void)sdpneg_rtcp_mux(n, false);
	(void)sdpneg_rtcp_mux(n, true);
	(void)sdpneg_video_remote_addr(n, &rtp, &rtcp);
	(void)sdpneg_video_pt_map(n, n, pairs, ARRAY_SIZE(pairs));
	if (pr)
		(void)mbuf_printf(pr, "%H", sdpneg_video_print, n);
	mem_deref(pr);
}


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sdpneg *n = NULL, *m = NULL;
	struct mbuf *mb, *out = NULL;
	struct sa laddr;

	fuzz_once();
	(void)sa_set_str(&laddr, "198.51.100.1", 0);

	/* as an offer: decoded, answered */
	mb = fuzz_mbuf(data, size);
	if (mb && 0 == sdpneg_alloc(&n, &laddr, 4000, allow) &&
	    0 == sdpneg_decode(n, mb, true)) {
		inspect(n);
		if (sdpneg_video_offered(n) && 0 == sdpneg_alloc(&m, &laddr,
								 4002, allow)) {
			(void)sdpneg_video_offer(m, n);
			(void)sdpneg_video_answer(n, m);
			(void)sdpneg_video_restrict(n, m);
		}
		(void)sdpneg_encode(n, false, &out);
	}
	n = mem_deref(n);
	m = mem_deref(m);
	out = mem_deref(out);
	mem_deref(mb);

	/* as the answer to our offer */
	mb = fuzz_mbuf(data, size);
	if (mb && 0 == sdpneg_alloc(&n, &laddr, 4000, allow) &&
	    0 == sdpneg_encode(n, true, &out)) {
		if (0 == sdpneg_decode(n, mb, false))
			inspect(n);
	}
	mem_deref(n);
	mem_deref(out);
	mem_deref(mb);

	return 0;
}
