/**
 * @file media_feed.c  Spec of a music class played as one stream
 * (core/media/feed.h, moh.h): many terms on real sockets hear it, join
 * and leave; the class is read once per tick whoever listens, each
 * listener gets every frame in order with its own RTP header, a late
 * joiner hears what the others hear at that moment, and nothing leaks.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sndfile.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "media/feed.h"
#include "media/mclock.h"
#include "media/moh.h"
#include "media/player.h"
#include "media/rtpring.h"
#include "media/sound.h"
#include "media/stream.h"
#include "media/term.h"
#include "tap.h"
#include "reloop.h"
#include "wavfile.h"


enum {
	FRAME = 160,
	NFRAMES = 150,        /* the class: 3 s of noise, no frame alike */
	EARLY = 40,           /* listeners from the start        */
	LATE = 20,            /* joining later                    */
	NT = EARLY + LATE,
	LEAVERS = 20,         /* of the early ones, leaving early */
	MAX_PKTS = 12000,
};

struct pkt {
	uint16_t seq;
	uint32_t ts, ssrc;
	uint8_t pt;
	int idx;              /* the frame of the class it carries, -1 */
	uint64_t ms;
};

static struct {
	struct udp_sock *us;
	struct sa addr;
	struct pkt *pkts[NT];
	size_t n[NT];
	uint16_t port[NT];
	const uint8_t *enc[CODEC_MAX];   /* the class's file, each law */
	char dir[64];
	char path[128];
} ph;


static int listener_of(uint16_t port)
{
	for (int i = 0; i < NT; i++) {
		if (ph.port[i] == port)
			return i;
	}

	return -1;
}


static int frame_of(enum codec_id codec, const uint8_t *p, size_t n)
{
	if (n != FRAME || !ph.enc[codec])
		return -1;
	for (int k = 0; k < NFRAMES; k++) {
		if (!memcmp(ph.enc[codec] + (size_t)k * FRAME, p, FRAME))
			return k;
	}

	return -1;
}


static void phone_recv(const struct sa *src, struct mbuf *mb, void *arg)
{
	struct rtp_header hdr;
	struct pkt *p;
	int i = listener_of(sa_port(src));
	(void)arg;

	if (i < 0 || ph.n[i] >= MAX_PKTS / NT * 2 || rtp_hdr_decode(&hdr, mb))
		return;

	p = &ph.pkts[i][ph.n[i]++];
	p->seq = hdr.seq;
	p->ts = hdr.ts;
	p->ssrc = hdr.ssrc;
	p->pt = hdr.pt;
	p->idx = frame_of(hdr.pt == 8 ? CODEC_PCMA : CODEC_PCMU,
			  mbuf_buf(mb), mbuf_get_left(mb));
	p->ms = tmr_jiffies();
}


static int write_class(void)
{
	int16_t *pcm = mem_alloc(NFRAMES * FRAME * sizeof(*pcm), NULL);
	int err;

	re_snprintf(ph.path, sizeof(ph.path), "%s/moh", ph.dir);
	(void)mkdir(ph.path, 0700);
	re_snprintf(ph.path, sizeof(ph.path), "%s/moh/test", ph.dir);
	(void)mkdir(ph.path, 0700);
	re_snprintf(ph.path, sizeof(ph.path), "%s/moh/test/noise.wav", ph.dir);

	for (size_t i = 0; pcm && i < NFRAMES * FRAME; i++)
		pcm[i] = (int16_t)((int)(rand_u16() % 16000) - 8000);
	err = wavfile_write(ph.path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000,
			    1, pcm, NFRAMES * FRAME);
	mem_deref(pcm);

	return err;
}


static void test_classes(void)
{
	struct player *a = NULL, *b = NULL, *c = NULL;
	char err[256] = "";

	ok(!moh_player(&a, ph.dir, "test", MOH_STREAM, err, sizeof(err)) &&
	   !moh_player(&b, ph.dir, "test", MOH_STREAM, err, sizeof(err)),
	   "two players of the class as a stream");
	ok(player_feed(a) && player_feed(a) == player_feed(b),
	   "... both are the class's one feed");
	is_int(moh_streams(), 1, "one stream playing");
	ok(!moh_player(&c, ph.dir, "test", MOH_RANDOM, err, sizeof(err)) &&
	   !player_feed(c), "MOH_RANDOM: the caller's own player");
	mem_deref(c);
	ok(!moh_player(&c, ph.dir, "test", MOH_FILES, err, sizeof(err)) &&
	   !player_feed(c), "MOH_FILES: the caller's own player too");
	mem_deref(c);
	is_int(moh_player(&c, ph.dir, "nope", MOH_STREAM, err, sizeof(err)),
	       ENOENT, "a class without files: ENOENT");
	ok(strstr(err, "no music-on-hold class 'nope'") != NULL, "... %s",
	   err);
	is_int(moh_player(&c, ph.dir, "../x", MOH_STREAM, err, sizeof(err)),
	       EINVAL, "'../x' is no class name: EINVAL");
	is_int(moh_streams(), 1, "still one stream");

	mem_deref(a);
	mem_deref(b);
	ok(!moh_player(&a, ph.dir, "test", MOH_STREAM, err, sizeof(err)),
	   "nobody held it: the class starts afresh");
	is_int(moh_streams(), 1, "... one stream again");
	mem_deref(a);
	moh_close();
	is_int(moh_streams(), 0, "moh_close(): no stream left");
}


/* Each listener's packets: sequence +1, timestamps +160, one SSRC, the
 * class's frames one after the other (mod its length). */
static bool in_order(int i, bool *frames_ok)
{
	bool ok = ph.n[i] > 0;

	*frames_ok = ph.n[i] > 0 && ph.pkts[i][0].idx >= 0;
	for (size_t k = 1; k < ph.n[i]; k++) {
		const struct pkt *a = &ph.pkts[i][k - 1], *b = &ph.pkts[i][k];

		ok &= (uint16_t)(b->seq - a->seq) == 1 &&
			b->ts - a->ts == FRAME && b->ssrc == a->ssrc;
		*frames_ok &= b->idx == (a->idx + 1) % NFRAMES;
	}

	return ok;
}


/* The late listener @a i's first frame went out in the same tick to the
 * early listeners: one of them got that frame within 15 ms of it. */
static bool heard_with_others(int i)
{
	const struct pkt *f = &ph.pkts[i][0];

	for (int e = LEAVERS; e < EARLY; e++) {
		for (size_t k = 0; k < ph.n[e]; k++) {
			const struct pkt *p = &ph.pkts[e][k];

			if (p->idx == f->idx && p->ms + 15 >= f->ms &&
			    f->ms + 15 >= p->ms)
				return true;
		}
	}

	return false;
}


static void test_listeners(void)
{
	struct term_params prm = { CODEC_PCMU, 0, 0, -1, -1 };
	struct term_params prma = { CODEC_PCMA, 8, 8, -1, -1 };
	struct stream *s[NT];
	struct term *t[NT];
	struct player *p = NULL;
	struct feed *f;
	char err[256] = "";
	size_t at_leave[LEAVERS], total = 0;
	uint64_t t0, ran, frames0, sent0;
	bool seq_ok = true, frames_ok = true, joined_ok = true, left_ok = true;
	bool ssrcs_ok = true, alaw_ok;
	struct sa local;
	int fails = 0;

	sa_set_str(&local, "127.0.0.1", 0);
	for (int i = 0; i < NT; i++) {
		fails += stream_alloc(&s[i], &local, 30000, 50000) != 0;
		if (fails)
			break;
		stream_set_remote(s[i], &ph.addr, NULL);
		ph.port[i] = stream_lport(s[i]);
		fails += term_alloc(&t[i], s[i], i == 0 ? &prma : &prm,
				    NULL, NULL, NULL, NULL) != 0;
	}
	if (!ok(!fails, "%d legs, each a stream and a term", NT))
		return;

	ok(!moh_player(&p, ph.dir, "test", MOH_STREAM, err, sizeof(err)),
	   "the class as a stream %s", err);
	f = player_feed(p);
	frames0 = feed_stats(f)->frames;
	sent0 = feed_stats(f)->sent;

	t0 = tmr_jiffies();
	for (int i = 0; i < EARLY; i++)
		term_play(t[i], p);
	ok(feed_stats(f)->listeners == EARLY, "%d listen", EARLY);
	is_int(mclock_stats()->sources, 1, "one source on the media clock"
	       " for all of them");
	reloop_run(500);

	for (int i = EARLY; i < NT; i++)
		term_play(t[i], p);
	ok(feed_stats(f)->listeners == NT, "%d more join: %d", LATE, NT);
	reloop_run(400);

	for (int i = 0; i < LEAVERS; i++)
		term_stop(t[i]);
	ok(feed_stats(f)->listeners == NT - LEAVERS, "%d leave: %d",
	   LEAVERS, NT - LEAVERS);
	reloop_run(40);                /* what was on its way */
	for (int i = 0; i < LEAVERS; i++)
		at_leave[i] = ph.n[i];
	reloop_run(300);
	for (int i = LEAVERS; i < NT; i++)
		term_stop(t[i]);
	ran = tmr_jiffies() - t0;
	reloop_run(40);                /* the last tick's on their way */

	for (int i = 0; i < LEAVERS; i++)
		left_ok &= ph.n[i] == at_leave[i];
	for (int i = 0; i < NT; i++) {
		bool fr;

		seq_ok &= in_order(i, &fr);
		frames_ok &= fr;
		total += ph.n[i];
		for (int j = 0; j < i && ph.n[i] && ph.n[j]; j++)
			ssrcs_ok &= ph.pkts[i][0].ssrc != ph.pkts[j][0].ssrc;
	}
	for (int i = EARLY; i < NT; i++)
		joined_ok &= ph.n[i] && ph.pkts[i][0].idx > 0 &&
			heard_with_others(i);
	alaw_ok = ph.n[0] > 10 && ph.pkts[0][0].pt == 8 &&
		ph.pkts[0][0].idx >= 0;

	ok(seq_ok, "each listener: sequence +1, timestamps +160, one SSRC");
	ok(ssrcs_ok, "each listener its own SSRC");
	ok(frames_ok, "each listener hears every frame of the class, in"
	   " order");
	ok(alaw_ok, "the A-law listener gets the class in A-law");
	ok(joined_ok, "the late ones join mid-stream, on the frame the"
	   " others hear then");
	ok(left_ok, "those who left get nothing more");
	ok(feed_stats(f)->frames - frames0 <= ran / MCLOCK_PTIME + 3,
	   "the class was read once a tick: %llu frames in %llu ms for %zu"
	   " packets", (unsigned long long)(feed_stats(f)->frames - frames0),
	   (unsigned long long)ran, total);
	ok(feed_stats(f)->sent - sent0 == total, "every frame handed out"
	   " reached its listener (%llu, %zu)",
	   (unsigned long long)(feed_stats(f)->sent - sent0), total);

	for (int i = 0; i < NT; i++) {
		mem_deref(t[i]);
		mem_deref(s[i]);
	}
	is_int(feed_stats(f)->listeners, 0, "the terms gone: nobody"
	       " listens");
	reloop_run(60);
	is_int(mclock_stats()->sources, 0, "... and the class is off the"
	       " clock");
	mem_deref(p);
	moh_close();
}


int main(void)
{
	struct leakcheck lc;
	struct sound *snd = NULL;
	struct sa local;

	if (reloop_init())
		return 255;

	str_ncpy(ph.dir, "/tmp/lunapbx-feed-XXXXXX", sizeof(ph.dir));
	if (!mkdtemp(ph.dir) || write_class())
		return 255;

	/* libre makes its poll set on the first socket, for good */
	sa_set_str(&local, "127.0.0.1", 0);
	udp_listen(&ph.us, &local, phone_recv, NULL);
	ph.us = mem_deref(ph.us);
	reloop_run(1);

	leak_begin(&lc);
	for (int i = 0; i < NT; i++)
		ph.pkts[i] = mem_zalloc(MAX_PKTS / NT * 2 * sizeof(struct pkt),
					NULL);
	ok(!udp_listen(&ph.us, &local, phone_recv, NULL) &&
	   !udp_local_get(ph.us, &ph.addr), "a phone socket for them all");
	(void)udp_sockbuf_set(ph.us, 4 << 20);
	ok(!sound_load(&snd, ph.path), "the class's file");
	ph.enc[CODEC_PCMU] = sound_encoded(snd, CODEC_PCMU);
	ph.enc[CODEC_PCMA] = sound_encoded(snd, CODEC_PCMA);
	ok(sound_samples(snd) == NFRAMES * FRAME, "%d frames of noise",
	   NFRAMES);

	test_classes();
	test_listeners();

	mem_deref(snd);
	mem_deref(ph.us);
	rtpring_close();               /* the clock's batches opened it */
	for (int i = 0; i < NT; i++)
		ph.pkts[i] = mem_deref(ph.pkts[i]);
	sound_cache_flush();
	leak_end(&lc, "classes, feeds, listeners");

	unlink(ph.path);
	re_snprintf(ph.path, sizeof(ph.path), "%s/moh/test", ph.dir);
	rmdir(ph.path);
	re_snprintf(ph.path, sizeof(ph.path), "%s/moh", ph.dir);
	rmdir(ph.path);
	rmdir(ph.dir);
	libre_close();

	return done_testing();
}
