/**
 * @file mixer_term.c  The mixer (core/media/mixer.h) on real sockets:
 * three terminated legs (core/media/term.h) over loopback UDP, each
 * "phone" sending its own tone as G.711 RTP every 20 ms; each phone hears
 * the other two and not itself, in RTP with consecutive sequence numbers
 * and timestamps; a muted one is not heard; a prompt played on one leg
 * takes its frames; one leaves and the others stop hearing it.  Paced by
 * the media clock in the event loop, as in the PBX.  The legs' RTP goes
 * through the io_uring (and is steered to one socket) where this process
 * may, else through their own sockets: run it with LUNAPBX_RTPSTEER=0 or
 * LUNAPBX_RTPRING=0 for the other paths.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include "log.h"
#include "media/codec.h"
#include "media/mclock.h"
#include "media/pcmjb.h"
#include "media/player.h"
#include "media/rtpring.h"
#include "media/rtpsteer.h"
#include "media/sound.h"
#include "media/stream.h"
#include "media/term.h"
#include "media/mixer.h"
#include "tap.h"
#include "reloop.h"
#include "audio.h"

enum { NP = 3, F = 160, WIN = 40, KEEP = 64 };

struct phone {
	enum codec_id codec;
	double hz;
	struct udp_sock *us;
	struct sa addr;
	struct stream *s;
	struct term *t;
	struct mixer_member *mb;
	uint16_t seq;
	uint32_t ts;
	uint64_t said;
	/* what it receives: the last KEEP packets' samples */
	int16_t heard[KEEP * F];
	uint64_t rx;
	uint16_t last_seq;
	uint32_t last_ts;
	bool seq_ok, ts_ok;
	uint64_t owner_samples;    /* decoded for the term's owner      */
	int talk_on;
};

static struct phone ph[NP];
static struct tmr send_tmr;
static uint64_t t0, sent_ticks;


static void phone_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct phone *p = arg;
	struct rtp_header h;
	size_t n;
	(void)src;

	if (rtp_hdr_decode(&h, mb))
		return;
	n = mbuf_get_left(mb);
	if (n != F)
		return;

	if (p->rx) {
		p->seq_ok &= (uint16_t)(h.seq - p->last_seq) == 1;
		p->ts_ok &= h.ts - p->last_ts == F;
	}
	p->last_seq = h.seq;
	p->last_ts = h.ts;

	memmove(p->heard, p->heard + F, (KEEP - 1) * F * sizeof(int16_t));
	codec_decode(p->codec, mbuf_buf(mb), p->heard + (KEEP - 1) * F, F);
	++p->rx;
}


/* Every phone sends its 20 ms, on a schedule of its own (not the PBX's
 * media clock): frame k at t0 + 20 k. */
static void send_frames(void *arg)
{
	int64_t due;
	(void)arg;

	for (int i = 0; i < NP; i++) {
		struct phone *p = &ph[i];
		struct rtp_header h = { .ver = 2, .seq = ++p->seq,
					.ts = p->ts, .ssrc = 0x4000 + i };
		struct mbuf *mb = mbuf_alloc(RTP_HEADER_SIZE + F);
		struct sa dst;
		int16_t pcm[F];
		uint8_t enc[F];

		h.pt = p->codec == CODEC_PCMA ? 8 : 0;
		for (size_t k = 0; k < F; k++)
			pcm[k] = (int16_t)(6000 * sin(2 * M_PI * p->hz *
					   (double)(p->said + k) / 8000));
		codec_encode(p->codec, pcm, enc, F);
		rtp_hdr_encode(mb, &h);
		mbuf_write_mem(mb, enc, F);
		mb->pos = 0;
		sa_set_str(&dst, "127.0.0.1", stream_lport(p->s));
		udp_send(p->us, &dst, mb);
		mem_deref(mb);
		p->ts += F;
		p->said += F;
	}

	++sent_ticks;
	due = (int64_t)(t0 + sent_ticks * 20 - tmr_jiffies());
	tmr_start(&send_tmr, due > 0 ? (uint64_t)due : 0, send_frames, NULL);
}


static void owner_audio(const int16_t *pcm, size_t n, uint32_t ts,
			void *arg)
{
	struct phone *p = arg;
	(void)pcm; (void)ts;

	p->owner_samples += n;
}


static void talk_h(bool talking, void *arg)
{
	struct phone *p = arg;

	if (talking)
		++p->talk_on;
}


/* The last WIN frames the phone heard. */
static double share(const struct phone *p, double hz)
{
	return tone_share(p->heard + (KEEP - WIN) * F, WIN * F, hz, 8000);
}


static bool hears(const struct phone *p, unsigned who)
{
	bool good = true;

	for (int i = 0; i < NP; i++) {
		double s = share(p, ph[i].hz);

		good &= (who & (1u << i)) ? s > 0.3 : s < 0.002;
	}
	if (!good)
		diag("phone %.0f Hz hears %.4f %.4f %.4f", p->hz,
		     share(p, ph[0].hz), share(p, ph[1].hz),
		     share(p, ph[2].hz));
	return good;
}


static struct player *prompt(void)
{
	int16_t pcm[8000];
	struct sound *snd = NULL;
	struct player *pl = NULL;

	make_sine(pcm, ARRAY_SIZE(pcm), 1, 2000, 8000, 6000);
	(void)sound_from_pcm(&snd, pcm, ARRAY_SIZE(pcm), 8000, 1);
	player_alloc(&pl, false);
	player_add(pl, snd, 0, false);
	mem_deref(snd);

	return pl;
}


static int setup(struct mixer *m)
{
	static const double hz[NP] = { 400, 700, 1100 };
	struct sa local;
	int err = 0;

	sa_set_str(&local, "127.0.0.1", 0);
	for (int i = 0; i < NP && !err; i++) {
		struct phone *p = &ph[i];
		struct term_params prm = { CODEC_PCMU, 0, 0, -1, -1 };

		memset(p, 0, sizeof(*p));
		p->codec = i == 1 ? CODEC_PCMA : CODEC_PCMU;
		p->hz = hz[i];
		p->ts = rand_u32();
		p->seq_ok = p->ts_ok = true;
		prm.codec = p->codec;
		prm.tx_pt = prm.rx_pt = p->codec == CODEC_PCMA ? 8 : 0;

		err = udp_listen(&p->us, &local, phone_recv, p);
		err |= udp_local_get(p->us, &p->addr);
		err |= stream_alloc(&p->s, &local, 30000, 40000);
		if (err)
			break;
		stream_set_remote(p->s, &p->addr, NULL);
		err = term_alloc(&p->t, p->s, &prm, NULL, NULL, owner_audio,
				 p);
		if (!err)
			err = mixer_join_term(&p->mb, m, p->t, talk_h, p);
	}

	return err;
}


static void test_room(struct mixer *m)
{
	struct mixer_member *other = NULL;
	struct mixer *m2 = NULL;
	struct player *pl;
	uint64_t rx;

	ok(!setup(m), "three legs (PCMU, PCMA, PCMU) plugged into a mixer");
	is_int(mixer_join_term(&other, m, ph[0].t, NULL, NULL), EBUSY,
	       "a leg feeds one mixer at a time");

	t0 = tmr_jiffies();
	sent_ticks = 0;
	send_frames(NULL);
	reloop_run(1500);

	ok(ph[0].rx >= 60 && ph[1].rx >= 60 && ph[2].rx >= 60,
	   "each phone received the mix: %llu, %llu, %llu packets in 1.5 s",
	   (unsigned long long)ph[0].rx, (unsigned long long)ph[1].rx,
	   (unsigned long long)ph[2].rx);
	ok(hears(&ph[0], 0x6), "phone 1 hears 700 and 1100 Hz, not 400");
	ok(hears(&ph[1], 0x5), "phone 2 (PCMA) hears 400 and 1100, not 700");
	ok(hears(&ph[2], 0x3), "phone 3 hears 400 and 700, not 1100");
	ok(ph[0].seq_ok && ph[1].seq_ok && ph[2].seq_ok &&
	   ph[0].ts_ok && ph[1].ts_ok && ph[2].ts_ok, "consecutive RTP"
	   " sequence numbers and timestamps on every leg");
	ok(ph[0].talk_on == 1 && ph[1].talk_on == 1 && ph[2].talk_on == 1,
	   "one talking event each");
	diag("RTP path: %s", rtpring_mode());
	if (!strcmp(rtpring_mode(), "steered"))
		is_int(rtpsteer_count(), NP, "the three legs are steered to one"
		       " socket");
	is_int(ph[0].owner_samples, 0, "the owner decodes nothing it did not"
	       " ask for");
	term_want_audio(ph[0].t, true);
	reloop_run(400);
	ok(ph[0].owner_samples >= 2400, "asked, it gets the samples too"
	   " (%llu), beside the mixer",
	   (unsigned long long)ph[0].owner_samples);

	/* mute phone 2 */
	mixer_mute(ph[1].mb, true);
	reloop_run(1000);
	ok(hears(&ph[0], 0x4) && hears(&ph[2], 0x1), "phone 2 muted: the"
	   " others stop hearing it");
	mixer_mute(ph[1].mb, false);
	reloop_run(1000);
	ok(hears(&ph[0], 0x6), "unmuted: heard again");

	/* a prompt on leg 1 takes its frames, then the mix comes back */
	pl = prompt();
	term_play(ph[0].t, pl);
	mem_deref(pl);
	reloop_run(700);
	ok(tone_share(ph[0].heard + (KEEP - 25) * F, 25 * F, 2000, 8000)
	   > 0.9, "a prompt played on leg 1 is what phone 1 hears");
	reloop_run(1500);
	ok(hears(&ph[0], 0x6), "after it, the mix again");
	ok(ph[0].seq_ok && ph[0].ts_ok, "one stream throughout: sequence"
	   " numbers and timestamps consecutive");

	/* phone 3 leaves */
	ph[2].mb = mem_deref(ph[2].mb);
	rx = ph[2].rx;
	reloop_run(1000);
	ok(ph[2].rx <= rx + 1, "the leg that left gets no more mix");
	if (!strcmp(rtpring_mode(), "steered"))
		is_int(rtpsteer_count(), NP - 1, "... nor is it steered");
	ok(hears(&ph[0], 0x2) && hears(&ph[1], 0x1), "the two others stop"
	   " hearing it");

	/* its term can join another mixer now */
	mixer_alloc(&m2, NULL);
	ok(!mixer_join_term(&other, m2, ph[2].t, NULL, NULL), "the leg"
	   " that left may join another mixer");
	mem_deref(other);
	mem_deref(m2);

	tmr_cancel(&send_tmr);
	/* a busy machine delays a tick now and then: only a stall of 200 ms
	 * (frames skipped) says the mixer could not keep up */
	ok(mclock_stats()->skipped == 0, "the media clock kept up (%llu late"
	   " frames, worst %u ms, none skipped)",
	   (unsigned long long)mclock_stats()->late,
	   mclock_stats()->max_lag_ms);
	ok(mixer_jb_stats(ph[0].mb)->late == 0, "no packet came too late"
	   " for the mix");
}


int main(void)
{
	struct leakcheck lc;
	struct mixer *m = NULL;
	struct udp_sock *us = NULL;
	struct sa local;

	if (libre_init())
		return 255;

	/* libre makes its poll set on the first socket, for good */
	sa_set_str(&local, "127.0.0.1", 0);
	udp_listen(&us, &local, phone_recv, NULL);
	mem_deref(us);
	reloop_run(1);

	/* without io_uring the ring logs a warning: the time zone glibc
	 * loads for its first line stays loaded */
	{
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
	}

	leak_begin(&lc);
	tmr_init(&send_tmr);
	mixer_alloc(&m, NULL);
	test_room(m);

	for (int i = 0; i < NP; i++) {
		mem_deref(ph[i].mb);
		mem_deref(ph[i].t);
		mem_deref(ph[i].s);
		mem_deref(ph[i].us);
	}
	ok(!mclock_stats()->sources, "the mixer left the media clock");
	mem_deref(m);
	sound_cache_flush();
	rtpring_close();      /* the ring's buffers, made on first use */
	leak_end(&lc, "mixer on terms");

	libre_close();

	return done_testing();
}
