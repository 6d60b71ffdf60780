/**
 * @file stream.c  RTP/RTCP sockets of one leg, and the relay between legs.
 *
 * The sockets come from libre's rtp_listen(); the relay replaces their UDP
 * handlers so a packet is forwarded as raw bytes: no decode, no copy, no
 * allocation of ours per packet.
 */
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "media/stream.h"

enum { PT_UNMAPPED = 0xff };

struct pt_map {
	uint8_t tx_pt;
	uint8_t from, to;       /* enum codec_id, for transcoding */
};

struct stream {
	struct rtp_sock *rtp;
	struct sa rtp_raddr, rtcp_raddr;
	bool rtp_latched, rtcp_latched;
	bool hold;              /* what we receive is not forwarded */
	struct stream *peer;
	struct pt_map map[128]; /* rx payload type -> what the peer gets */
	stream_rtp_h *rtph;
	void *arg;
	uint16_t last_seq;
	bool seq_valid;
	struct stream_stats stats;
	bool tapped;            /* its packets go to the capture tap */
};

/* Packet capture (pcap): the tap sees the packets of tapped streams, or
 * of all streams, in and out, as they are on the wire. */
static struct {
	stream_tap_h *h;
	void *arg;
	bool all;
} tap;

#define TAP(s, tx, sock, peer, mb) \
	do { if (tap.h && (tap.all || (s)->tapped)) \
		tap.h(tx, sock, peer, mb, tap.arg); } while (0)


static void destructor(void *arg)
{
	struct stream *s = arg;

	stream_unbridge(s);
	mem_deref(s->rtp);
}


/* Header length of a raw RTP packet, or 0 when it is not one. */
static size_t rtp_header_len(const uint8_t *p, size_t len)
{
	size_t hlen;

	if (len < RTP_HEADER_SIZE || (p[0] >> 6) != RTP_VERSION)
		return 0;

	hlen = RTP_HEADER_SIZE + 4 * (p[0] & 0x0f);
	if (p[0] & 0x10) {
		if (len < hlen + 4)
			return 0;
		hlen += 4 + 4 * (size_t)(p[hlen + 2] << 8 | p[hlen + 3]);
	}

	return hlen <= len ? hlen : 0;
}


static void count_rx(struct stream *s, const uint8_t *p, size_t len)
{
	uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);

	++s->stats.rx_packets;
	s->stats.rx_bytes += len;
	if (s->seq_valid) {
		uint16_t gap = (uint16_t)(seq - s->last_seq);

		if (gap > 1 && gap < 3000)
			s->stats.lost += gap - 1u;
	}
	s->last_seq = seq;
	s->seq_valid = true;
}


static void relay_rtcp(struct stream *s, struct mbuf *mb)
{
	struct stream *peer = s->peer;

	++s->stats.rx_rtcp;
	if (!peer || !sa_isset(&peer->rtcp_raddr, SA_ALL))
		return;

	if (0 == udp_send(rtcp_sock(peer->rtp), &peer->rtcp_raddr, mb)) {
		++peer->stats.tx_rtcp;
		TAP(peer, true, rtcp_sock(peer->rtp), &peer->rtcp_raddr, mb);
	}
}


static void deliver_local(struct stream *s, struct mbuf *mb)
{
	struct rtp_header hdr;

	if (rtp_hdr_decode(&hdr, mb))
		return;

	s->rtph(&hdr, mb, s->arg);
}


static void rtp_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct stream *s = arg;
	uint8_t *p = mbuf_buf(mb);
	size_t len = mbuf_get_left(mb), hlen;
	struct stream *peer = s->peer;
	const struct pt_map *m;
	uint8_t pt;

	TAP(s, false, rtp_sock(s->rtp), src, mb);

	/* RTCP multiplexed on the RTP port (RFC 5761): types 64-95 */
	if (len >= 2 && (p[1] & 0x7f) >= 64 && (p[1] & 0x7f) <= 95) {
		relay_rtcp(s, mb);
		return;
	}

	hlen = rtp_header_len(p, len);
	if (!hlen)
		return;

	if (!s->rtp_latched) {
		s->rtp_raddr = *src;
		s->rtp_latched = true;
	}
	count_rx(s, p, len);

	if (!peer) {
		if (s->rtph)
			deliver_local(s, mb);
		return;
	}

	pt = p[1] & 0x7f;
	m = &s->map[pt];
	if (s->hold || m->tx_pt == PT_UNMAPPED ||
	    !sa_isset(&peer->rtp_raddr, SA_ALL)) {
		++s->stats.dropped;
		return;
	}

	if (m->from != m->to)
		codec_transcode(m->from, m->to, p + hlen, len - hlen);
	p[1] = (uint8_t)((p[1] & 0x80) | m->tx_pt);

	if (0 == udp_send(rtp_sock(peer->rtp), &peer->rtp_raddr, mb)) {
		++peer->stats.tx_packets;
		TAP(peer, true, rtp_sock(peer->rtp), &peer->rtp_raddr, mb);
	}
}


static void rtcp_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct stream *s = arg;

	TAP(s, false, rtcp_sock(s->rtp), src, mb);
	if (!s->rtcp_latched) {
		s->rtcp_raddr = *src;
		s->rtcp_latched = true;
	}
	relay_rtcp(s, mb);
}


/* rtp_listen() wants a handler; ours replaces it on the socket at once. */
static void unused_rtp_handler(const struct sa *src,
			       const struct rtp_header *hdr,
			       struct mbuf *mb, void *arg)
{
	(void)src; (void)hdr; (void)mb; (void)arg;
}


int stream_alloc(struct stream **sp, const struct sa *laddr,
		 uint16_t port_min, uint16_t port_max)
{
	struct stream *s;
	int err;

	if (!sp || !laddr)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;

	stream_clear_pt_map(s);

	err = rtp_listen(&s->rtp, IPPROTO_UDP, laddr, port_min, port_max,
			 false, unused_rtp_handler, NULL, s);
	if (err)
		goto out;

	udp_handler_set(rtp_sock(s->rtp), rtp_recv, s);
	udp_handler_set(rtcp_sock(s->rtp), rtcp_recv, s);

 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;

	return err;
}


uint16_t stream_lport(const struct stream *s)
{
	struct sa la;

	if (!s || udp_local_get(rtp_sock(s->rtp), &la))
		return 0;

	return sa_port(&la);
}


/** From the SDP; a latched address (what really arrives) wins. */
void stream_set_remote(struct stream *s, const struct sa *rtp,
		       const struct sa *rtcp)
{
	if (!s)
		return;

	if (rtp && !s->rtp_latched)
		s->rtp_raddr = *rtp;
	if (rtcp && !s->rtcp_latched)
		s->rtcp_raddr = *rtcp;
}


void stream_set_pt_map(struct stream *s, uint8_t rx_pt, uint8_t tx_pt,
		       enum codec_id from, enum codec_id to)
{
	if (!s || rx_pt > 127 || tx_pt > 127)
		return;

	s->map[rx_pt].tx_pt = tx_pt;
	s->map[rx_pt].from = (uint8_t)from;
	s->map[rx_pt].to = (uint8_t)to;
}


void stream_clear_pt_map(struct stream *s)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(s->map); i++) {
		s->map[i].tx_pt = PT_UNMAPPED;
		s->map[i].from = s->map[i].to = CODEC_NONE;
	}
}


void stream_bridge(struct stream *a, struct stream *b)
{
	if (!a || !b)
		return;

	stream_unbridge(a);
	stream_unbridge(b);
	a->peer = b;
	b->peer = a;
}


void stream_unbridge(struct stream *s)
{
	if (!s || !s->peer)
		return;

	s->peer->peer = NULL;
	s->peer = NULL;
}


void stream_set_handler(struct stream *s, stream_rtp_h *rtph, void *arg)
{
	if (!s)
		return;

	s->rtph = rtph;
	s->arg = arg;
}


void stream_hold(struct stream *s, bool hold)
{
	if (s)
		s->hold = hold;
}


/** Send one packet we produce; @a mb has RTP_HEADER_SIZE bytes of room
 *  before its position. */
int stream_send(struct stream *s, bool marker, uint8_t pt, uint32_t ts,
		struct mbuf *mb)
{
	int err;

	if (!s || !sa_isset(&s->rtp_raddr, SA_ALL))
		return EINVAL;

	err = rtp_send(s->rtp, &s->rtp_raddr, false, marker, pt, ts, mb);
	if (!err) {
		++s->stats.tx_packets;
		TAP(s, true, rtp_sock(s->rtp), &s->rtp_raddr, mb);
	}

	return err;
}


const struct stream_stats *stream_stats(const struct stream *s)
{
	return s ? &s->stats : NULL;
}


/** The capture tap (NULL: none): packets of tapped streams, or of all
 *  streams when @a all. */
void stream_set_tap(stream_tap_h *taph, void *arg, bool all)
{
	tap.h = taph;
	tap.arg = arg;
	tap.all = all;
}


/** Tap this stream's packets (a call asked to be captured). */
void stream_tap(struct stream *s, bool on)
{
	if (s)
		s->tapped = on;
}
