/**
 * @file media_term.c  Spec of a terminated leg (core/media/term.h) on real
 * sockets: frames paced by the media clock, RTP sequence numbers,
 * timestamps and marker bits, RFC 4733 digits out, echo, and what comes in.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "media/mclock.h"
#include "media/player.h"
#include "media/rtpring.h"
#include "media/sound.h"
#include "media/stream.h"
#include "media/term.h"
#include "tap.h"
#include "reloop.h"
#include "audio.h"


enum { MAX_PKTS = 256, PT_TELEV = 101 };

struct pkt {
	struct rtp_header hdr;
	uint8_t payload[200];
	size_t len;
	uint64_t ms;
};

static struct {
	struct udp_sock *us;      /* the phone */
	struct sa addr;
	struct pkt pkts[MAX_PKTS];
	size_t n;
	enum term_event last_event;
	int events;
	int16_t heard[4000];      /* what the term decoded */
	size_t nheard;
	uint32_t heard_ts;
	int telev_packets;
} ph;


static void phone_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct pkt *p;
	(void)src; (void)arg;

	if (ph.n >= MAX_PKTS)
		return;
	p = &ph.pkts[ph.n];
	if (rtp_hdr_decode(&p->hdr, mb))
		return;
	p->len = mbuf_get_left(mb) < sizeof(p->payload)
		? mbuf_get_left(mb) : sizeof(p->payload);
	memcpy(p->payload, mbuf_buf(mb), p->len);
	p->ms = tmr_jiffies();
	++ph.n;
}


static void event_h(enum term_event ev, void *arg)
{
	(void)arg;
	ph.last_event = ev;
	++ph.events;
	re_cancel();
}


static void audio_h(const int16_t *pcm, size_t n, uint32_t ts, void *arg)
{
	(void)arg;
	if (ph.nheard + n <= ARRAY_SIZE(ph.heard)) {
		memcpy(ph.heard + ph.nheard, pcm, n * sizeof(*pcm));
		ph.nheard += n;
	}
	ph.heard_ts = ts;
}


static void telev_h(struct mbuf *mb, void *arg)
{
	(void)mb; (void)arg;
	++ph.telev_packets;
}


/* Run the loop until an event of the term, or @a ms; then 40 ms more,
 * for the packets still on their way to the phone socket. */
static void run(uint32_t ms)
{
	reloop_run(ms);
	reloop_run(40);
}


static struct player *prompt(size_t samples)
{
	int16_t *pcm = mem_alloc(samples * sizeof(*pcm), NULL);
	struct sound *snd = NULL;
	struct player *p = NULL;

	make_sine(pcm, samples, 1, 1000, 8000, 8000);
	(void)sound_from_pcm(&snd, pcm, samples, 8000, 1);
	player_alloc(&p, false);
	player_add(p, snd, 0, false);
	mem_deref(snd);
	mem_deref(pcm);

	return p;
}


static bool consecutive(size_t from, size_t to, bool *ts_ok, bool *m_ok)
{
	bool seq = true;

	*ts_ok = *m_ok = true;
	for (size_t i = from + 1; i < to; i++) {
		const struct rtp_header *a = &ph.pkts[i - 1].hdr;
		const struct rtp_header *b = &ph.pkts[i].hdr;

		seq &= (uint16_t)(b->seq - a->seq) == 1;
		*ts_ok &= b->ts - a->ts == 160;
		*m_ok &= !b->m;
	}

	return seq;
}


static void test_pacing(struct term *t)
{
	struct player *p = prompt(1000);
	bool seq, ts_ok, m_ok;
	uint64_t span;
	size_t first;

	term_play(t, p);
	mem_deref(p);
	run(2000);

	is_int(ph.events, 1, "the player's end is one event");
	is_int(ph.last_event, TERM_PLAYED, "... TERM_PLAYED");
	is_int(ph.n, 7, "1000 samples go out as 7 packets");
	seq = consecutive(0, ph.n, &ts_ok, &m_ok);
	ok(seq, "sequence numbers follow each other");
	ok(ts_ok, "timestamps advance 160 a packet");
	ok(ph.pkts[0].hdr.m && m_ok, "the marker bit is on the first only");
	ok(ph.pkts[0].hdr.pt == 0 && ph.pkts[0].len == 160 &&
	   ph.pkts[6].len == 160, "PCMU, 160 bytes each (the last padded)");
	span = ph.pkts[ph.n - 1].ms - ph.pkts[0].ms;
	ok(span >= 100 && span <= 400, "paced: the 7 packets span %llu ms"
	   " (120 expected)", (unsigned long long)span);

	/* a pause, then another prompt */
	first = ph.n;
	run(100);
	p = prompt(320);
	term_play(t, p);
	mem_deref(p);
	run(2000);
	is_int(ph.n - first, 2, "after a pause, the next prompt: 2 packets");
	ok((uint16_t)(ph.pkts[first].hdr.seq - ph.pkts[first - 1].hdr.seq)
	   == 1, "its sequence numbers go on");
	ok(ph.pkts[first].hdr.m, "its first packet has the marker bit");
	ok(ph.pkts[first].hdr.ts - ph.pkts[first - 1].hdr.ts >= 160 * 4,
	   "its timestamp jumped with the clock (%u samples)",
	   ph.pkts[first].hdr.ts - ph.pkts[first - 1].hdr.ts);
	ok(ph.pkts[first].hdr.ssrc == ph.pkts[0].hdr.ssrc, "same SSRC");

	/* stopped at once */
	first = ph.n;
	ph.events = 0;
	p = prompt(8000);
	term_play(t, p);
	mem_deref(p);
	{
		/* a loaded machine runs the 70 ms late: allow what it ran */
		uint64_t t0 = tmr_jiffies(), ran;
		size_t sent;

		run(70);
		ran = tmr_jiffies() - t0;
		term_stop(t);
		sent = ph.n - first;
		run(200);
		ok(sent >= 2 && sent <= ran / 20 + 3 && ph.n - first == sent,
		   "a prompt stopped after %llu ms sent %zu packets, and"
		   " then nothing", (unsigned long long)ran, sent);
	}
	is_int(ph.events, 0, "stopping is no event");
}


static void test_dtmf_out(struct term *t)
{
	size_t first = ph.n, nev = 0, ends = 0;
	bool same_ts = true, growing = true;
	uint16_t last_dur = 0;

	ph.events = 0;
	ok(!term_send_dtmf(t, "1", 100), "send '1' as RFC 4733");
	is_int(term_send_dtmf(t, "2", 100), EBUSY, "... one string at a"
	       " time");
	run(3000);
	is_int(ph.last_event, TERM_DTMF_SENT, "TERM_DTMF_SENT at the end");

	for (size_t i = first; i < ph.n; i++) {
		const struct pkt *p = &ph.pkts[i];
		uint16_t dur = (uint16_t)(p->payload[2] << 8 | p->payload[3]);

		if (p->hdr.pt != PT_TELEV)
			continue;
		++nev;
		same_ts &= p->hdr.ts == ph.pkts[first].hdr.ts;
		growing &= dur >= last_dur;
		last_dur = dur;
		ends += (p->payload[1] & 0x80) != 0;
		if (p->payload[0] != 1)
			same_ts = false;
	}
	ok(nev >= 12 && nev <= 14, "%zu event packets (9 or more, then 3"
	   " ends)", nev);
	ok(ph.pkts[first].hdr.m, "the first has the marker bit");
	ok(same_ts, "all carry event 1 and the timestamp of its start");
	ok(growing, "the duration grows");
	is_int(ends, 3, "three end packets");
	ok(term_send_dtmf(t, "x", 100) == EINVAL, "'x' is refused");
}


static void send_to_term(struct term *t, struct stream *s, uint8_t pt,
			 uint16_t seq, uint32_t ts, uint8_t fill, size_t len)
{
	struct rtp_header h = { .ver = 2, .pt = pt, .seq = seq, .ts = ts,
				.ssrc = 0x1234 };
	struct mbuf *mb = mbuf_alloc(200);
	struct sa dst;
	(void)t;

	sa_set_str(&dst, "127.0.0.1", stream_lport(s));
	rtp_hdr_encode(mb, &h);
	for (size_t i = 0; i < len; i++)
		mbuf_write_u8(mb, fill);
	mb->pos = 0;
	udp_send(ph.us, &dst, mb);
	mem_deref(mb);
}


static void test_incoming(struct term *t, struct stream *s)
{
	uint8_t ulaw = codec_encode_sample(CODEC_PCMU, 1000);
	size_t first;

	term_want_audio(t, true);
	send_to_term(t, s, 0, 1, 1000, ulaw, 160);
	run(100);
	ok(ph.nheard == 160 && ph.heard[0] > 900 && ph.heard[0] < 1100,
	   "audio in: 160 samples decoded (%d)", ph.heard[0]);
	is_int(ph.heard_ts, 1000, "... with their RTP timestamp");

	send_to_term(t, s, PT_TELEV, 2, 1160, 0, 4);
	run(100);
	is_int(ph.telev_packets, 1, "a telephone-event goes to its handler");

	term_want_audio(t, false);
	send_to_term(t, s, 0, 3, 1320, ulaw, 160);
	run(100);
	is_int(ph.nheard, 160, "no decoding when nobody listens");

	first = ph.n;
	term_echo(t, true);
	send_to_term(t, s, 0, 4, 1480, 0x55, 160);
	send_to_term(t, s, 0, 5, 1640, 0x56, 160);
	run(150);
	ok(ph.n - first == 2 && ph.pkts[first].payload[0] == 0x55 &&
	   ph.pkts[first + 1].payload[0] == 0x56, "echo: what comes in goes"
	   " back");
	ok(ph.n - first == 2 &&
	   ph.pkts[first + 1].hdr.ts - ph.pkts[first].hdr.ts == 160 &&
	   ph.pkts[first].hdr.ssrc == ph.pkts[0].hdr.ssrc,
	   "... with our own SSRC and timestamps");
	term_echo(t, false);
}


int main(void)
{
	struct term_params prm = { CODEC_PCMU, 0, 0, PT_TELEV, PT_TELEV };
	struct leakcheck lc;
	struct stream *s;
	struct term *t;
	struct sa local;

	if (libre_init())
		return 255;

	/* libre makes its poll set on the first socket, for good */
	sa_set_str(&local, "127.0.0.1", 0);
	udp_listen(&ph.us, &local, phone_recv, NULL);
	ph.us = mem_deref(ph.us);
	run(1);
	if (rtpring_batch_begin())    /* the clock's sends go through the */
		rtpring_batch_end();  /* ring, made on first use          */

	leak_begin(&lc);
	ok(!udp_listen(&ph.us, &local, phone_recv, NULL) &&
	   !udp_local_get(ph.us, &ph.addr), "a phone socket");
	ok(!stream_alloc(&s, &local, 30000, 40000), "a stream");
	stream_set_remote(s, &ph.addr, NULL);
	ok(!term_alloc(&t, s, &prm, event_h, telev_h, audio_h, NULL),
	   "a term on it");

	test_pacing(t);
	test_dtmf_out(t);
	test_incoming(t, s);

	ok(mclock_stats()->late < 5,
	   "the media clock kept up (%llu late frames)",
	   (unsigned long long)mclock_stats()->late);
	mem_deref(t);
	mem_deref(s);
	mem_deref(ph.us);
	sound_cache_flush();
	leak_end(&lc, "term");

	rtpring_close();
	libre_close();

	return done_testing();
}
