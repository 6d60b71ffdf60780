/**
 * @file rtpstat.c  Per-stream RTP statistics and RTCP reports (see
 * rtpstat.h).  Encoding goes through libre's rtcp_encode(); reading RTCP
 * walks the raw bytes, since libre's rtcp_decode() allocates per message.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include "media/rtpstat.h"

enum {
	MAX_DROPOUT  = 3000,   /* RFC 3550 A.1 */
	MAX_MISORDER = 100,
	RTCP_HDR     = 4,
	SENDER_INFO  = 24,     /* SSRC and the SR's sender info */
	REPORT_BLOCK = 24,
};

static const uint64_t NTP_EPOCH_OFFSET = 2208988800ULL;  /* 1900 -> 1970 */


static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}


/** A monotonic clock in microseconds.  Linux serves CLOCK_MONOTONIC from
 *  the vDSO: reading it costs no system call. */
uint64_t rtpstat_now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}


/* Microseconds in units of a clock rate, without overflow for any uptime. */
static uint64_t us_to_units(uint64_t us, uint32_t rate)
{
	return us / 1000000u * rate + us % 1000000u * rate / 1000000u;
}


static uint32_t units_to_us(uint64_t units, uint32_t rate)
{
	return rate ? (uint32_t)(units * 1000000u / rate) : 0;
}


void rtpstat_init(struct rtpstat *st, uint32_t clock_rate)
{
	memset(st, 0, sizeof(*st));
	st->pub.rtt_us = -1;
	st->pub.remote_lost = -1;
	st->pub.clock_rate = clock_rate;
}


/** The payload's clock changed (the codec did): jitter starts over. */
void rtpstat_set_clock(struct rtpstat *st, uint32_t clock_rate)
{
	if (st->pub.clock_rate == clock_rate)
		return;

	st->pub.clock_rate = clock_rate;
	st->jitter = 0;
	st->received_prior = st->received;   /* no jitter sample across */
	st->seq_init = false;
}


static uint32_t expected(const struct rtpstat *st)
{
	return st->cycles + st->max_seq - st->base_seq + 1;
}


static uint32_t lost_now(const struct rtpstat *st)
{
	uint32_t exp = expected(st);

	return exp > st->received ? exp - st->received : 0;
}


/* A new source, or the old one jumped: its counting starts over. */
static void seq_restart(struct rtpstat *st, uint32_t ssrc, uint16_t seq)
{
	if (st->seq_init)
		st->lost_before += lost_now(st);

	st->ssrc = ssrc;
	st->base_seq = seq;
	st->max_seq = seq;
	st->cycles = 0;
	st->received = 0;
	st->expected_prior = 0;
	st->received_prior = 0;
	st->seq_init = true;
}


static void jitter_update(struct rtpstat *st, uint32_t ts, uint64_t now_us)
{
	int32_t transit, d;
	uint32_t ad;

	if (!st->pub.clock_rate)
		return;

	transit = (int32_t)((uint32_t)us_to_units(now_us, st->pub.clock_rate)
			    - ts);
	if (st->received > 1) {
		/* in 32-bit two's complement, as RFC 3550 A.8 means it: a
		 * time stamp jump must not overflow an int (found by fuzzing) */
		d = (int32_t)((uint32_t)transit - (uint32_t)st->transit);
		ad = d < 0 ? 0u - (uint32_t)d : (uint32_t)d;
		st->jitter += ad - ((st->jitter + 8) >> 4);
	}
	st->transit = transit;
}


/** One RTP packet from the phone.  Its caller checked the header; the
 *  12 bytes read here are checked again all the same (found by fuzzing:
 *  a shorter packet was read past its end when a caller did not). */
void rtpstat_rtp_in(struct rtpstat *st, const uint8_t *p, size_t len,
		    uint64_t now_us)
{
	uint16_t seq;
	uint32_t ssrc;

	if (len < 12)
		return;

	seq = (uint16_t)(p[2] << 8 | p[3]);
	ssrc = be32(p + 8);

	++st->pub.rx_packets;
	st->pub.rx_bytes += len;

	if (!st->seq_init || ssrc != st->ssrc) {
		seq_restart(st, ssrc, seq);
	}
	else {
		uint16_t udelta = (uint16_t)(seq - st->max_seq);

		if (udelta < MAX_DROPOUT) {
			if (seq < st->max_seq)
				st->cycles += 65536;
			st->max_seq = seq;
		}
		else if (udelta <= 65535 - MAX_MISORDER) {
			seq_restart(st, ssrc, seq);   /* the sender restarted */
		}
		/* else late or duplicated: received, nothing moves */
	}

	++st->received;
	jitter_update(st, be32(p + 4), now_us);
	st->pub.lost = st->lost_before + lost_now(st);
	st->pub.jitter_us = units_to_us(st->jitter >> 4, st->pub.clock_rate);
}


/* A report block from the phone about a source it receives. */
static void block_in(struct rtpstat *st, const uint8_t *b, uint64_t now_us)
{
	uint32_t lsr = be32(b + 16), dlsr = be32(b + 20);
	int32_t lost = (int32_t)(be32(b + 4) << 8) >> 8;   /* 24-bit signed */

	st->pub.remote_lost = lost < 0 ? 0 : lost;
	st->pub.remote_jitter_us = units_to_us(be32(b + 12),
					       st->pub.clock_rate);
	if (!lsr)
		return;

	for (unsigned i = 0; i < RTPSTAT_SR_KEEP; i++) {
		int64_t rtt;

		if (st->sent[i].key != lsr || !st->sent[i].at_us)
			continue;

		rtt = (int64_t)(now_us - st->sent[i].at_us)
			- (int64_t)((uint64_t)dlsr * 1000000u >> 16);
		st->pub.rtt_us = rtt < 0 ? 0 : (int32_t)rtt;
		return;
	}
}


typedef void (rtcp_pkt_h)(struct rtpstat *st, uint8_t pt, uint8_t count,
			  const uint8_t *body, size_t blen, uint64_t now_us);

/* Each packet of a compound RTCP packet; stops at the first bad one. */
static void rtcp_walk(struct rtpstat *st, const uint8_t *p, size_t len,
		      uint64_t now_us, rtcp_pkt_h *pkth)
{
	while (len >= RTCP_HDR && (p[0] >> 6) == RTCP_VERSION) {
		size_t plen = RTCP_HDR + 4 * (size_t)(p[2] << 8 | p[3]);

		if (plen > len)
			return;

		pkth(st, p[1], p[0] & 0x1f, p + RTCP_HDR, plen - RTCP_HDR,
		     now_us);
		p += plen;
		len -= plen;
	}
}


static void pkt_in(struct rtpstat *st, uint8_t pt, uint8_t count,
		   const uint8_t *body, size_t blen, uint64_t now_us)
{
	size_t off;

	if (pt == RTCP_SR && blen >= SENDER_INFO) {
		st->sr_key = (be32(body + 4) << 16) | (be32(body + 8) >> 16);
		st->sr_at_us = now_us;
		off = SENDER_INFO;
	}
	else if (pt == RTCP_RR && blen >= 4) {
		off = 4;
	}
	else {
		return;
	}

	if (count && off + REPORT_BLOCK <= blen)
		block_in(st, body + off, now_us);
}


/** RTCP from the phone. */
void rtpstat_rtcp_in(struct rtpstat *st, const uint8_t *p, size_t len,
		     uint64_t now_us)
{
	++st->pub.rx_rtcp;
	rtcp_walk(st, p, len, now_us, pkt_in);
}


static void pkt_out(struct rtpstat *st, uint8_t pt, uint8_t count,
		    const uint8_t *body, size_t blen, uint64_t now_us)
{
	(void)count;

	if (pt != RTCP_SR || blen < SENDER_INFO)
		return;

	st->sent[st->sent_idx].key = (be32(body + 4) << 16) |
		(be32(body + 8) >> 16);
	st->sent[st->sent_idx].at_us = now_us;
	st->sent_idx = (st->sent_idx + 1) % RTPSTAT_SR_KEEP;
}


/** RTCP leaving toward the phone (relayed, or our own report). */
void rtpstat_rtcp_out(struct rtpstat *st, const uint8_t *p, size_t len,
		      uint64_t now_us)
{
	++st->pub.tx_rtcp;
	rtcp_walk(st, p, len, now_us, pkt_out);
}


/** RTP the PBX itself sent (played) on this stream. */
void rtpstat_own_rtp(struct rtpstat *st, uint32_t ts, size_t payload_len,
		     uint64_t now_us)
{
	++st->own_packets;
	st->own_octets += (uint32_t)payload_len;
	st->own_ts = ts;
	st->own_at_us = now_us;
	st->own_sent = true;
}


struct report_ctx {
	struct rtpstat *st;
	uint64_t now_us;
	uint32_t ssrc;
	const char *cname;
};


/* RFC 3550 6.4.1 and A.3: one report block about the source we receive. */
static int block_encode(struct mbuf *mb, void *arg)
{
	struct report_ctx *ctx = arg;
	struct rtpstat *st = ctx->st;
	uint32_t exp = expected(st), lost = lost_now(st) + st->lost_before;
	uint32_t exp_int = exp - st->expected_prior;
	uint32_t rcv_int = st->received - st->received_prior;
	uint32_t fraction = 0, dlsr = 0;
	int err;

	st->expected_prior = exp;
	st->received_prior = st->received;
	if (exp_int > rcv_int)
		fraction = ((exp_int - rcv_int) << 8) / exp_int;
	if (lost > 0x7fffff)
		lost = 0x7fffff;
	if (st->sr_key)
		dlsr = (uint32_t)(((ctx->now_us - st->sr_at_us) << 16)
				  / 1000000u);

	err  = mbuf_write_u32(mb, htonl(st->ssrc));
	err |= mbuf_write_u32(mb, htonl(fraction << 24 | lost));
	err |= mbuf_write_u32(mb, htonl(st->cycles + st->max_seq));
	err |= mbuf_write_u32(mb, htonl(st->jitter >> 4));
	err |= mbuf_write_u32(mb, htonl(st->sr_key));
	err |= mbuf_write_u32(mb, htonl(dlsr));

	return err;
}


static int sdes_encode(struct mbuf *mb, void *arg)
{
	const struct report_ctx *ctx = arg;

	return rtcp_sdes_encode(mb, ctx->ssrc, 1, RTCP_SDES_CNAME,
				ctx->cname);
}


/**
 * Our own compound report for a stream the PBX terminates: an SR when we
 * sent RTP since the last report, else an RR; a report block when the
 * phone sends us RTP; the SDES CNAME every compound packet needs.
 */
int rtpstat_report(struct rtpstat *st, struct mbuf *mb, uint32_t ssrc,
		   const char *cname, uint64_t now_us)
{
	struct report_ctx ctx = { st, now_us, ssrc, cname };
	uint32_t blocks = st->seq_init ? 1 : 0;
	int err;

	if (st->own_sent) {
		struct timespec wall;
		uint64_t frac;
		uint32_t ts = st->own_ts + (uint32_t)us_to_units(
			now_us - st->own_at_us, st->pub.clock_rate);

		(void)clock_gettime(CLOCK_REALTIME, &wall);
		frac = ((uint64_t)wall.tv_nsec << 32) / 1000000000u;
		err = rtcp_encode(mb, RTCP_SR, blocks, ssrc,
				  (uint32_t)(wall.tv_sec + NTP_EPOCH_OFFSET),
				  (uint32_t)frac, ts, st->own_packets,
				  st->own_octets,
				  blocks ? block_encode : NULL, &ctx);
	}
	else {
		err = rtcp_encode(mb, RTCP_RR, blocks, ssrc,
				  blocks ? block_encode : NULL, &ctx);
	}
	st->own_sent = false;

	if (!err)
		err = rtcp_encode(mb, RTCP_SDES, 1, sdes_encode, &ctx);

	return err;
}


static int ms_print(struct re_printf *pf, uint32_t us)
{
	return re_hprintf(pf, "%u.%u ms", us / 1000, us % 1000 / 100);
}


/** One line: what came from the phone, what went to it, RTCP, RTT. */
int rtpstat_print(struct re_printf *pf, const struct stream_stats *s)
{
	int err;

	err  = re_hprintf(pf, "rx %llu pkts %llu B lost %u jitter %H",
			  s->rx_packets, s->rx_bytes, s->lost,
			  ms_print, s->jitter_us);
	err |= re_hprintf(pf, ", tx %llu pkts %llu B", s->tx_packets,
			  s->tx_bytes);
	if (s->dropped)
		err |= re_hprintf(pf, " (%u dropped)", s->dropped);
	err |= re_hprintf(pf, ", rtcp rx %llu tx %llu", s->rx_rtcp,
			  s->tx_rtcp);
	if (s->rtt_us >= 0)
		err |= re_hprintf(pf, ", rtt %H", ms_print,
				  (uint32_t)s->rtt_us);
	if (s->remote_lost >= 0)
		err |= re_hprintf(pf, ", far end lost %d jitter %H",
				  s->remote_lost, ms_print,
				  s->remote_jitter_us);

	return err;
}
