/**
 * @file rtpstat.c  Spec of the per-stream RTP/RTCP statistics
 * (core/media/rtpstat.h): loss and jitter as RFC 3550 counts them, the
 * round trip from LSR/DLSR, and our own SR/RR, read back with libre's
 * RTCP decoder.
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "media/rtpstat.h"
#include "tap.h"


enum { SSRC_PHONE = 0x11223344, SSRC_OURS = 0x55667788, AUDIO = 8000 };


/* A 12-byte RTP header and `payload` bytes, into `buf`. */
static size_t rtp_packet(uint8_t *buf, uint32_t ssrc, uint16_t seq,
			 uint32_t ts, size_t payload)
{
	memset(buf, 0, RTP_HEADER_SIZE + payload);
	buf[0] = 0x80;
	buf[1] = 0;
	buf[2] = (uint8_t)(seq >> 8);
	buf[3] = (uint8_t)seq;
	for (int i = 0; i < 4; i++) {
		buf[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
		buf[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
	}

	return RTP_HEADER_SIZE + payload;
}


/* Packets with these sequence numbers, 20 ms apart, on time. */
static void feed(struct rtpstat *st, uint32_t ssrc, const int *seqs,
		 size_t n)
{
	uint8_t buf[RTP_HEADER_SIZE + 160];

	for (size_t i = 0; i < n; i++) {
		size_t len = rtp_packet(buf, ssrc, (uint16_t)seqs[i],
					(uint32_t)seqs[i] * 160, 160);

		rtpstat_rtp_in(st, buf, len, 1000000u + 20000u *
			       (uint64_t)(uint16_t)(seqs[i] - seqs[0]));
	}
}


static const struct seq_case {
	const char *name;
	int seqs[12];
	size_t n;
	uint32_t exp_lost;
} seq_cases[] = {
	{"in order: nothing lost", {10, 11, 12, 13, 14}, 5, 0},
	{"two gaps: 2 lost", {100, 101, 102, 104, 106, 107}, 6, 2},
	{"reordered: nothing lost", {1, 2, 4, 3, 5, 6}, 6, 0},
	{"duplicated: nothing lost", {1, 2, 2, 3}, 4, 0},
	{"sequence wraps: nothing lost", {65533, 65534, 65535, 0, 1, 2}, 6, 0},
	{"lost across the wrap", {65534, 65535, 1, 2}, 4, 1},
};


static void test_seq(const struct seq_case *c)
{
	struct rtpstat st;

	rtpstat_init(&st, AUDIO);
	feed(&st, SSRC_PHONE, c->seqs, c->n);
	is_int(st.pub.lost, c->exp_lost, c->name);
	is_int(st.pub.rx_packets, c->n, "  every packet counted");
	is_int(st.pub.rx_bytes, c->n * (RTP_HEADER_SIZE + 160),
	       "  bytes with headers");
}


static void test_ssrc_change(void)
{
	static const int first[] = {1, 2, 4}, second[] = {500, 501, 503};
	struct rtpstat st;

	rtpstat_init(&st, AUDIO);
	feed(&st, SSRC_PHONE, first, ARRAY_SIZE(first));
	feed(&st, SSRC_PHONE + 1, second, ARRAY_SIZE(second));
	is_int(st.pub.lost, 2, "a new SSRC: its losses add to the old one's");
	is_int(st.ssrc, SSRC_PHONE + 1, "  the new source is followed");
}


/* 20 ms packets arriving alternately 5 ms late and on time: the
 * transit time changes by 5 ms every packet, and RFC 3550's estimator
 * converges to that. */
static void test_jitter(void)
{
	uint8_t buf[RTP_HEADER_SIZE + 160];
	struct rtpstat st;

	rtpstat_init(&st, AUDIO);
	for (int i = 0; i < 50; i++) {
		size_t len = rtp_packet(buf, SSRC_PHONE, (uint16_t)i,
					(uint32_t)i * 160, 160);

		rtpstat_rtp_in(&st, buf, len, 1000000u + 20000u * (uint64_t)i);
	}
	is_int(st.pub.jitter_us, 0, "on time: no jitter");

	for (int i = 50; i < 400; i++) {
		size_t len = rtp_packet(buf, SSRC_PHONE, (uint16_t)i,
					(uint32_t)i * 160, 160);

		rtpstat_rtp_in(&st, buf, len, 1000000u + 20000u *
			       (uint64_t)i + (i % 2 ? 5000u : 0));
	}
	ok(st.pub.jitter_us > 4500 && st.pub.jitter_us <= 5000,
	   "5 ms late every other packet: jitter %u us, about 5 ms",
	   st.pub.jitter_us);

	rtpstat_init(&st, 90000);
	for (int i = 0; i < 400; i++) {
		size_t len = rtp_packet(buf, SSRC_PHONE, (uint16_t)i,
					(uint32_t)i * 6000, 160);

		rtpstat_rtp_in(&st, buf, len, 1000000u + 66666u *
			       (uint64_t)i + (i % 2 ? 5000u : 0));
	}
	ok(st.pub.jitter_us > 4500 && st.pub.jitter_us <= 5100,
	   "the same at a 90 kHz video clock: %u us", st.pub.jitter_us);
}


static int sr_info(struct mbuf *mb, uint32_t ntp_sec, uint32_t ntp_frac)
{
	return rtcp_encode(mb, RTCP_SR, 0, SSRC_PHONE, ntp_sec, ntp_frac,
			   (uint32_t)1234, (uint32_t)10, (uint32_t)1600,
			   NULL, NULL);
}


struct rr_block {
	uint32_t lost, jitter, lsr, dlsr;
};


static int rr_block_encode(struct mbuf *mb, void *arg)
{
	const struct rr_block *b = arg;
	int err;

	err  = mbuf_write_u32(mb, htonl(SSRC_OURS));
	err |= mbuf_write_u32(mb, htonl(b->lost & 0xffffff));
	err |= mbuf_write_u32(mb, htonl(1000));
	err |= mbuf_write_u32(mb, htonl(b->jitter));
	err |= mbuf_write_u32(mb, htonl(b->lsr));
	err |= mbuf_write_u32(mb, htonl(b->dlsr));

	return err;
}


/* An SR leaves toward the phone at t = 1 s; its RR names it (LSR) and held
 * it 0.5 s (DLSR): arriving at 1.52 s, the round trip was 20 ms. */
static void test_rtt(void)
{
	struct rr_block b = {7, 80, 0x56781234, 32768};
	struct mbuf *mb = mbuf_alloc(256);
	struct rtpstat st;
	int err;

	rtpstat_init(&st, AUDIO);
	is_int(st.pub.rtt_us, -1, "no RTT before any report");
	is_int(st.pub.remote_lost, -1, "  nor the far end's losses");

	err = sr_info(mb, 0x00005678, 0x12340000);
	rtpstat_rtcp_out(&st, mb->buf, mb->end, 1000000);
	is_int(st.pub.tx_rtcp, 1, "an SR leaves toward the phone");

	mb->pos = mb->end = 0;
	err |= rtcp_encode(mb, RTCP_RR, 1, SSRC_PHONE, rr_block_encode, &b);
	is_int(err, 0, "  and its RR comes back");
	rtpstat_rtcp_in(&st, mb->buf, mb->end, 1520000);
	is_int(st.pub.rx_rtcp, 1, "  counted");
	is_int(st.pub.rtt_us, 20000, "  RTT = arrival - departure - DLSR");
	is_int(st.pub.remote_lost, 7, "  the far end lost 7 packets");
	is_int(st.pub.remote_jitter_us, 10000,
	       "  its jitter, 80 units of 8 kHz: 10 ms");

	b.lsr = 0x0bad0bad;
	mb->pos = mb->end = 0;
	(void)rtcp_encode(mb, RTCP_RR, 1, SSRC_PHONE, rr_block_encode, &b);
	rtpstat_rtcp_in(&st, mb->buf, mb->end, 9000000);
	is_int(st.pub.rtt_us, 20000, "an LSR we never sent: RTT unchanged");

	mem_deref(mb);
}


/* Our own report read back by libre's decoder. */
static void test_report(void)
{
	static const int seqs[] = {1, 2, 3, 5, 6, 7, 8, 9, 10, 11};
	struct mbuf *mb = mbuf_alloc(256), *sr = mbuf_alloc(64);
	struct rtcp_msg *msg = NULL;
	struct rtpstat st;
	int err;

	rtpstat_init(&st, AUDIO);
	err = rtpstat_report(&st, mb, SSRC_OURS, "lunapbx@test", 1000000);
	mb->pos = 0;
	err |= rtcp_decode(&msg, mb);
	ok(!err && msg && msg->hdr.pt == RTCP_RR && msg->hdr.count == 0,
	   "nothing sent or received: an empty RR");
	msg = mem_deref(msg);
	err = rtcp_decode(&msg, mb);
	ok(!err && msg && msg->hdr.pt == RTCP_SDES && msg->hdr.count == 1 &&
	   msg->r.sdesv[0].src == SSRC_OURS &&
	   msg->r.sdesv[0].itemv[0].type == RTCP_SDES_CNAME &&
	   msg->r.sdesv[0].itemv[0].length == 12,
	   "  then the SDES CNAME, in the same compound packet");
	msg = mem_deref(msg);

	/* the phone sends 10 packets (one lost) and an SR at 2 s */
	feed(&st, SSRC_PHONE, seqs, ARRAY_SIZE(seqs));
	err = sr_info(sr, 0x00000001, 0x80000000);
	rtpstat_rtcp_in(&st, sr->buf, sr->end, 2000000);
	is_int(st.sr_key, 0x00018000, "the phone's SR is kept (LSR)");

	/* we send 3 packets of 160 bytes */
	for (uint32_t i = 0; i < 3; i++)
		rtpstat_own_rtp(&st, 8000 + 160 * i, 160, 2000000 + 20000 * i);

	mb->pos = mb->end = 0;
	err |= rtpstat_report(&st, mb, SSRC_OURS, "lunapbx@test", 2250000);
	mb->pos = 0;
	err |= rtcp_decode(&msg, mb);
	if (!ok(!err && msg && msg->hdr.pt == RTCP_SR && msg->hdr.count == 1,
		"we sent RTP: an SR with one report block"))
		goto out;
	is_int(msg->r.sr.ssrc, SSRC_OURS, "  our SSRC");
	is_int(msg->r.sr.psent, 3, "  3 packets sent");
	is_int(msg->r.sr.osent, 480, "  480 payload octets");
	is_int(msg->r.sr.rtp_ts, 8000 + 160 * 2 + 1680,
	       "  RTP time of now (210 ms after the last packet)");
	is_int(msg->r.sr.rrv[0].ssrc, SSRC_PHONE, "  about the phone's SSRC");
	is_int(msg->r.sr.rrv[0].lost, 1, "  1 lost");
	is_int(msg->r.sr.rrv[0].fraction, 256 / 11,
	       "  fraction lost: 1 of 11 expected");
	is_int(msg->r.sr.rrv[0].last_seq, 11, "  highest sequence 11");
	is_int(msg->r.sr.rrv[0].lsr, 0x00018000, "  LSR: the phone's SR");
	is_int(msg->r.sr.rrv[0].dlsr, 16384, "  DLSR: held 0.25 s");
	msg = mem_deref(msg);

	mb->pos = mb->end = 0;
	err = rtpstat_report(&st, mb, SSRC_OURS, "lunapbx@test", 7000000);
	mb->pos = 0;
	err |= rtcp_decode(&msg, mb);
	ok(!err && msg && msg->hdr.pt == RTCP_RR &&
	   msg->r.rr.rrv[0].fraction == 0,
	   "nothing sent since: an RR, no new loss");
 out:
	mem_deref(msg);
	mem_deref(mb);
	mem_deref(sr);
}


static void test_print(void)
{
	struct rtpstat st;
	char line[256];

	rtpstat_init(&st, AUDIO);
	st.pub.rx_packets = 250;
	st.pub.rx_bytes = 43000;
	st.pub.jitter_us = 1250;
	st.pub.tx_packets = 249;
	st.pub.tx_bytes = 42828;
	st.pub.rx_rtcp = 2;
	st.pub.tx_rtcp = 3;
	re_snprintf(line, sizeof(line), "%H", rtpstat_print, &st.pub);
	is_str(line, "rx 250 pkts 43000 B lost 0 jitter 1.2 ms, tx 249 pkts"
	       " 42828 B, rtcp rx 2 tx 3", "one line, no RTT yet");

	st.pub.rtt_us = 310;
	st.pub.remote_lost = 4;
	st.pub.remote_jitter_us = 20000;
	re_snprintf(line, sizeof(line), "%H", rtpstat_print, &st.pub);
	ok(strstr(line, ", rtt 0.3 ms, far end lost 4 jitter 20.0 ms") != NULL,
	   "with RTT and the far end's report: %s", line);
}


#define EACH(table, fn, title) \
	for (size_t i = 0; i < ARRAY_SIZE(table); i++) { \
		leak_begin(&lc); \
		fn(&table[i]); \
		leak_end(&lc, table[i].title); \
	}

#define ONE(fn, title) \
	do { leak_begin(&lc); fn(); leak_end(&lc, title); } while (0)

int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	EACH(seq_cases, test_seq, name);
	ONE(test_ssrc_change, "SSRC change");
	ONE(test_jitter, "jitter");
	ONE(test_rtt, "round trip");
	ONE(test_report, "our report");
	ONE(test_print, "the log line");

	libre_close();

	return done_testing();
}
