/**
 * @file stream.c  RTP/RTCP sockets of one leg, and the relay between legs.
 *
 * The sockets are libre's UDP sockets, opened here rather than by
 * rtp_listen() so that the RTCP one can be closed when the phone multiplexes
 * RTCP on the RTP port.  A packet is forwarded as raw bytes: no decode, no
 * allocation of ours; once media flows on a bridged leg its socket is read
 * and written through io_uring (rtpring.h), many packets per system call.
 */
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "media/codec.h"
#include "media/rtpring.h"
#include "media/rtpstat.h"
#include "media/stream.h"

enum {
	PT_LOCAL = 0xfe,        /* bridged, yet for the PBX: feature keys */
	PT_UNMAPPED = 0xff,
	PORT_TRIES = 64,
	REPORT_MS = 5000,        /* RFC 3550 6.2: 5 s, randomized +-50 % */
	AUDIO_CLOCK = 8000,
};

struct pt_map {
	uint8_t tx_pt;
	uint8_t from, to;       /* enum codec_id, for transcoding */
};

/*
 * What a phone gets from its leg stays one RTP stream, whoever is on the
 * other side: the first packets sent set its SSRC; once the source changes
 * (the PBX's own media, another phone after a transfer, music on hold),
 * what is relayed keeps that SSRC and goes on with its sequence numbers
 * and timestamps.  Phones drop a new SSRC whose numbers seem to go back
 * (seen with baresip).  A bridged call whose source never changes is
 * relayed untouched.
 */
struct txcont {
	uint32_t ssrc;          /* of what the phone last got            */
	uint32_t ts;
	uint16_t seq;
	bool seen;
	bool fix;               /* rewriting: its source changed         */
	bool src_set;
	uint32_t src;           /* the source rewritten now              */
	uint32_t ts_delta;
	uint16_t seq_delta;
};

struct stream {
	/* what relaying a packet reads, together: the first cache line */
	struct stream *peer;
	struct udp_sock *rtp_us;
	struct sa rtp_raddr;
	int rtp_fd;             /* rtp_us's, for sends through the ring */
	uint32_t ring;          /* read through io_uring: bridged, RTP seen */
	bool rtp_latched;
	bool hold;              /* what we receive is not forwarded */
	bool tapped;            /* its packets go to the capture tap */
	bool flowing;           /* bridged (or ringed) and its RTP seen   */
	bool ringed;            /* terminated, but read like a bridged leg */
	bool connected;         /* rtp_us to rtp_raddr, while flowing */
	struct sa rtp_laddr;    /* rtp_us's own, unless the wildcard: raw sends */
	struct pt_map map[128]; /* rx payload type -> what the peer gets */
	struct txcont tx;       /* what it sends, as the phone sees it */
	struct rtpstat st;

	struct udp_sock *rtcp_us;  /* NULL once muxed */
	uint16_t lport;
	struct sa rtcp_raddr;
	bool rtcp_latched;
	bool mux;               /* RTCP on the RTP port, both ways */
	stream_rtp_h *rtph;
	void *arg;
	/* what the PBX itself sends */
	uint32_t ssrc;
	uint16_t seq;
	struct tmr report_tmr;
	char cname[64];
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


static void flow_stop(struct stream *s);


static void destructor(void *arg)
{
	struct stream *s = arg;

	stream_unbridge(s);
	if (s->flowing)
		flow_stop(s);     /* a ringed one: the ring lets go first */
	tmr_cancel(&s->report_tmr);
	mem_deref(s->rtp_us);
	mem_deref(s->rtcp_us);
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


/* RTCP toward the phone: on the RTCP socket, or the RTP one when muxed. */
static int rtcp_out(struct stream *s, struct mbuf *mb, uint64_t now)
{
	struct udp_sock *us = s->mux ? s->rtp_us : s->rtcp_us;
	const struct sa *dst = s->mux ? &s->rtp_raddr : &s->rtcp_raddr;
	const uint8_t *p = mbuf_buf(mb);
	size_t len = mbuf_get_left(mb);
	int err;

	if (!us || !sa_isset(dst, SA_ALL))
		return EINVAL;

	err = udp_send(us, dst, mb);
	if (!err) {
		rtpstat_rtcp_out(&s->st, p, len, now);
		TAP(s, true, us, dst, mb);
	}

	return err;
}


static void relay_rtcp(struct stream *s, struct mbuf *mb)
{
	uint64_t now = rtpstat_now_us();

	rtpstat_rtcp_in(&s->st, mbuf_buf(mb), mbuf_get_left(mb), now);
	if (s->peer)
		(void)rtcp_out(s->peer, mb, now);
}


static uint32_t report_interval(void)
{
	return REPORT_MS / 2 + rand_u32() % REPORT_MS;
}


/* Our own report, while the PBX terminates the stream. */
static void report_tick(void *arg)
{
	struct stream *s = arg;
	uint64_t now = rtpstat_now_us();
	struct mbuf *mb;

	if (s->peer)
		return;   /* bridged: the phones report to each other */

	mb = mbuf_alloc(128);
	if (mb && 0 == rtpstat_report(&s->st, mb, s->tx.seen ? s->tx.ssrc
				      : s->ssrc, s->cname, now)) {
		mb->pos = 0;
		(void)rtcp_out(s, mb, now);
	}
	mem_deref(mb);

	tmr_start(&s->report_tmr, report_interval(), report_tick, s);
}


static void report_arm(struct stream *s)
{
	if (!tmr_isrunning(&s->report_tmr))
		tmr_start(&s->report_tmr, report_interval(), report_tick, s);
}


static void deliver_local(struct stream *s, struct mbuf *mb)
{
	struct rtp_header hdr;

	if (rtp_hdr_decode(&hdr, mb))
		return;

	s->rtph(&hdr, mb, s->arg);
}


static void rtp_recv(const struct sa *src, struct mbuf *mb, void *arg);


static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, uint16_t v) { p[0] = v >> 8; p[1] = v & 0xff; }
static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = (v >> 16) & 0xff; p[2] = (v >> 8) & 0xff;
	p[3] = v & 0xff;
}


/* A relayed packet on its way to @a to (see struct txcont). */
static void tx_relay(struct stream *to, uint8_t *p)
{
	struct txcont *c = &to->tx;
	uint32_t ssrc = rd32(p + 8);

	if (!c->fix) {
		if (c->seen && ssrc != c->ssrc) {
			c->fix = true;
			c->src_set = false;
		}
		else {
			c->ssrc = ssrc;
			c->seq = rd16(p + 2);
			c->ts = rd32(p + 4);
			c->seen = true;
			return;
		}
	}

	if (!c->src_set || ssrc != c->src) {
		c->src = ssrc;
		c->src_set = true;
		c->seq_delta = (uint16_t)(c->seq + 1 - rd16(p + 2));
		c->ts_delta = c->ts + 160 - rd32(p + 4);
		p[1] |= 0x80;   /* the marker: a new talk spurt */
	}

	c->seq = (uint16_t)(rd16(p + 2) + c->seq_delta);
	c->ts = rd32(p + 4) + c->ts_delta;
	wr16(p + 2, c->seq);
	wr32(p + 4, c->ts);
	wr32(p + 8, c->ssrc);
}


/* Media flows on a bridged leg: the ring reads it from now on (a call that
 * never sends RTP never costs the ring anything), and only from the latched
 * address (Asterisk's strictrtp).  Steered, the ring filters; else the
 * socket is connected to that address: the kernel drops anyone else's
 * packets, and keeps the route instead of looking it up per packet. */
static void flow_start(struct stream *s)
{
	s->flowing = true;
	(void)rtpring_attach(s->rtp_us, &s->rtp_laddr, &s->rtp_raddr,
			     rtp_recv, s, &s->ring);
	if (!rtpring_steered(s->ring))
		s->connected = 0 == connect(s->rtp_fd, &s->rtp_raddr.u.sa,
					    s->rtp_raddr.len);
}


static void flow_stop(struct stream *s)
{
	static const struct sockaddr unspec = { .sa_family = AF_UNSPEC };

	s->flowing = false;
	rtpring_detach(&s->ring, s->rtp_us);
	if (s->connected) {
		(void)connect(s->rtp_fd, &unspec, sizeof(unspec));
		s->connected = false;
	}
}


static void rtp_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct stream *s = arg;
	uint8_t *p = mbuf_buf(mb);
	size_t len = mbuf_get_left(mb), hlen;
	struct stream *peer = s->peer;
	const struct pt_map *m;
	uint8_t pt;

	TAP(s, false, s->rtp_us, src, mb);

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
	if ((peer || s->ringed) && !s->flowing)
		flow_start(s);
	rtpstat_rtp_in(&s->st, p, len, rtpstat_now_us());

	if (!peer) {
		report_arm(s);
		if (s->rtph)
			deliver_local(s, mb);
		return;
	}

	pt = p[1] & 0x7f;
	m = &s->map[pt];
	if (s->hold || m->tx_pt >= PT_LOCAL ||
	    !sa_isset(&peer->rtp_raddr, SA_ALL)) {
		if (m->tx_pt == PT_LOCAL && s->rtph)
			deliver_local(s, mb);
		else
			++s->st.pub.dropped;
		return;
	}

	if (m->from != m->to)
		codec_transcode(m->from, m->to, p + hlen, len - hlen);
	p[1] = (uint8_t)((p[1] & 0x80) | m->tx_pt);
	tx_relay(peer, p);

	if (0 == rtpring_send(peer->rtp_us, peer->rtp_fd, &peer->rtp_laddr,
			      &peer->rtp_raddr,
			      peer->connected, mb)) {
		++peer->st.pub.tx_packets;
		peer->st.pub.tx_bytes += len;
		TAP(peer, true, peer->rtp_us, &peer->rtp_raddr, mb);
	}
}


static void rtcp_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct stream *s = arg;

	TAP(s, false, s->rtcp_us, src, mb);
	if (!s->rtcp_latched) {
		s->rtcp_raddr = *src;
		s->rtcp_latched = true;
	}
	relay_rtcp(s, mb);
}


/* RTP on an even port of the range, RTCP on the next (RFC 3550 11). */
static int sockets_listen(struct stream *s, const struct sa *laddr,
			  uint16_t port_min, uint16_t port_max)
{
	uint16_t first = (uint16_t)((port_min + 1) & 0xfffe);  /* even */
	uint32_t pairs = first < port_max ? (port_max - first + 1u) / 2 : 0;
	struct sa a = *laddr;
	int err = pairs ? EADDRINUSE : EINVAL;

	for (int i = 0; pairs && i < PORT_TRIES; i++) {
		uint16_t port = (uint16_t)(first + 2 * (rand_u16() % pairs));

		sa_set_port(&a, port);
		if (udp_listen(&s->rtp_us, &a, rtp_recv, s))
			continue;

		sa_set_port(&a, port + 1);
		err = udp_listen(&s->rtcp_us, &a, rtcp_recv, s);
		if (!err) {
			s->lport = port;
			s->rtp_fd = udp_sock_fd(s->rtp_us, sa_af(laddr));
			sa_set_port(&a, port);
			if (!sa_is_any(&a))    /* else unset: no raw sends */
				s->rtp_laddr = a;
			break;
		}
		s->rtp_us = mem_deref(s->rtp_us);
	}

	return err;
}


int stream_alloc(struct stream **sp, const struct sa *laddr,
		 uint16_t port_min, uint16_t port_max)
{
	struct stream *s;
	int err;

	if (!sp || !laddr || port_min >= port_max)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;

	stream_clear_pt_map(s);
	rtpstat_init(&s->st, AUDIO_CLOCK);
	tmr_init(&s->report_tmr);
	s->ssrc = rand_u32();
	s->seq = rand_u16() & 0x7fff;

	err = sockets_listen(s, laddr, port_min, port_max);
	if (err)
		goto out;

	re_snprintf(s->cname, sizeof(s->cname), "lunapbx@%j", laddr);

 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;

	return err;
}


uint16_t stream_lport(const struct stream *s)
{
	return s ? s->lport : 0;
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


/** Packets of payload type @a pt come to the stream's handler even while
 *  it is bridged (the PBX hears a leg's keys), or are dropped again. */
void stream_set_pt_local(struct stream *s, uint8_t pt, bool local)
{
	if (!s || pt > 127)
		return;

	s->map[pt].tx_pt = local ? PT_LOCAL : PT_UNMAPPED;
	s->map[pt].from = s->map[pt].to = CODEC_NONE;
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

	flow_stop(s->peer);
	flow_stop(s);
	s->peer->peer = NULL;
	s->peer = NULL;
}


/**
 * Read and write a terminated stream like a bridged one once its RTP
 * flows (rtpring.h): its packets come through the ring (steered to the
 * shared socket where the process may), only from the phone it latched
 * on, and what it sends during rtpring_batch_begin()/end() leaves with
 * everybody else's in one system call.  For a leg that takes and sends a
 * packet every 20 ms, a conference member (media/mixer.h).
 */
void stream_ring(struct stream *s, bool on)
{
	if (!s || s->ringed == on)
		return;

	s->ringed = on;
	if (!on && !s->peer && s->flowing)
		flow_stop(s);
}


void stream_set_handler(struct stream *s, stream_rtp_h *rtph, void *arg)
{
	if (!s)
		return;

	s->rtph = rtph;
	s->arg = arg;
	if (rtph && !s->peer)
		report_arm(s);
}


/** The phone agreed to RTCP on the RTP port: the RTCP socket closes (a
 *  file descriptor less per leg); there is no way back (RFC 5761 5.1.3). */
void stream_set_mux(struct stream *s)
{
	if (!s || s->mux)
		return;

	s->mux = true;
	s->rtcp_us = mem_deref(s->rtcp_us);
}


bool stream_muxed(const struct stream *s)
{
	return s && s->mux;
}


/** The clock of the payload (8000 for G.711, 90000 for video): the
 *  jitter is counted in its units. */
void stream_set_clock(struct stream *s, uint32_t clock_rate)
{
	if (s)
		rtpstat_set_clock(&s->st, clock_rate);
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
	struct rtp_header hdr;
	size_t pos, len;
	int err;

	if (!s || !mb || mb->pos < RTP_HEADER_SIZE || pt > 127 ||
	    !sa_isset(&s->rtp_raddr, SA_ALL))
		return EINVAL;

	/* one stream for the phone: ours go on from what it got before (the
	 * relay rewrites from then on, see struct txcont) */
	memset(&hdr, 0, sizeof(hdr));
	hdr.ver = RTP_VERSION;
	hdr.m = marker;
	hdr.pt = pt;
	if (s->tx.seen) {
		hdr.ssrc = s->tx.ssrc;
		hdr.seq = ++s->tx.seq;
		s->tx.fix = true;
		s->tx.src_set = false;
	}
	else {
		hdr.ssrc = s->ssrc;
		hdr.seq = ++s->seq;
		s->tx.ssrc = s->ssrc;
		s->tx.seen = true;
	}
	s->tx.seq = hdr.seq;
	s->tx.ts = ts;
	hdr.ts = ts;

	mb->pos -= RTP_HEADER_SIZE;
	pos = mb->pos;
	err = rtp_hdr_encode(mb, &hdr);
	mb->pos = pos;
	if (!err)  /* queued in a batch (a tick of the media clock), else
		      at once */
		err = rtpring_send(s->rtp_us, s->rtp_fd, &s->rtp_laddr,
				   &s->rtp_raddr, s->connected, mb);
	if (err)
		return err;
	TAP(s, true, s->rtp_us, &s->rtp_raddr, mb);

	len = mbuf_get_left(mb);
	++s->st.pub.tx_packets;
	s->st.pub.tx_bytes += len;
	rtpstat_own_rtp(&s->st, ts, len - RTP_HEADER_SIZE, rtpstat_now_us());
	if (!s->peer)
		report_arm(s);

	return 0;
}


const struct stream_stats *stream_stats(const struct stream *s)
{
	return s ? &s->st.pub : NULL;
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
