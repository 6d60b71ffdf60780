/**
 * @file mixer.c  Spec of the audio mixer (core/media/mixer.h), driven tick
 * by tick: N-1 mixes checked by their tones (Goertzel), mute, deaf, leave,
 * volumes, saturation, talk events with hysteresis, ten members, joins and
 * leaves inside a tick, late and missing frames, what silence costs, and a
 * 16 kHz mix.  spec/unit/mixer_term.c does it on real sockets.
 */
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "media/pcmjb.h"
#include "media/mixer.h"
#include "media/rtpring.h"
#include "tap.h"
#include "audio.h"

enum { MAXP = 12, WINDOW = 40, HEARD_MAX = WINDOW * 320 };

struct phone {
	struct mixer_member *mb;
	uint32_t rate;
	double hz, amp;        /* what it says; amp 0: digital silence   */
	bool square;
	bool sends;
	uint32_t ts;
	uint64_t said;         /* samples generated                      */
	bool rec;              /* keep what it hears                     */
	int16_t heard[HEARD_MAX];
	size_t nheard;
	uint64_t frames, last_frame;
	bool payload_ok, silent_ok;
	char events[16];       /* '+' on, '-' off, in order              */
	size_t nev;
	/* what a handler does during a tick */
	struct phone *kill_on_out;
	struct mixer *mix_to_join;
	struct phone *join_on_out;
	bool free_mixer_on_event;
	struct mixer **mixer_ref;
};

static struct phone ph[MAXP];
static uint64_t frame_no;


static void out_h(const struct mixer_frame *f, void *arg)
{
	struct phone *p = arg;

	++p->frames;
	p->last_frame = f->frame;

	if (f->payload) {
		uint8_t enc[320];

		codec_encode(f->codec, f->pcm, enc, f->samples);
		if (memcmp(enc, f->payload, f->len))
			p->payload_ok = false;
	}
	if (f->silent) {
		for (size_t i = 0; i < f->samples; i++)
			p->silent_ok &= f->pcm[i] == 0;
	}
	if (p->rec && p->nheard + f->samples <= HEARD_MAX) {
		memcpy(p->heard + p->nheard, f->pcm,
		       f->samples * sizeof(int16_t));
		p->nheard += f->samples;
	}

	if (p->kill_on_out) {
		p->kill_on_out->mb = mem_deref(p->kill_on_out->mb);
		p->kill_on_out = NULL;
	}
	if (p->join_on_out) {
		struct phone *q = p->join_on_out;

		p->join_on_out = NULL;
		(void)mixer_join(&q->mb, p->mix_to_join, CODEC_PCMU, out_h,
				 NULL, q);
	}
}


static void talk_h(bool talking, void *arg)
{
	struct phone *p = arg;

	if (p->nev < sizeof(p->events) - 1)
		p->events[p->nev++] = talking ? '+' : '-';

	if (p->free_mixer_on_event)
		*p->mixer_ref = mem_deref(*p->mixer_ref);
	if (p->kill_on_out && !talking) {
		p->kill_on_out->mb = mem_deref(p->kill_on_out->mb);
		p->kill_on_out = NULL;
	}
}


static struct phone *phone(int i, struct mixer *m, enum codec_id codec,
			   double hz, double amp)
{
	struct phone *p = &ph[i];

	memset(p, 0, sizeof(*p));
	p->rate = mixer_srate(m);
	p->hz = hz;
	p->amp = amp;
	p->sends = true;
	p->ts = 1000u * (uint32_t)(i + 1) * 7919u;   /* each its own */
	p->payload_ok = p->silent_ok = true;
	if (mixer_join(&p->mb, m, codec, out_h, talk_h, p))
		return NULL;

	return p;
}


/* One frame of what the phone says, into the mixer. */
static void say(struct phone *p)
{
	uint32_t n = p->rate / 50;
	int16_t pcm[320];

	for (uint32_t i = 0; i < n; i++) {
		double x = sin(2 * M_PI * p->hz * (double)(p->said + i) /
			       p->rate);

		if (p->square)
			x = x >= 0 ? 1 : -1;
		pcm[i] = (int16_t)(p->amp * x);
	}
	mixer_put(pcm, n, p->ts, p->mb);
	p->ts += n;
	p->said += n;
}


/* @a ticks frames: every phone that sends says one, then the tick. */
static void run(struct mixer *m, int np, int ticks)
{
	for (int t = 0; t < ticks; t++) {
		for (int i = 0; i < np; i++) {
			if (ph[i].mb && ph[i].sends)
				say(&ph[i]);
		}
		mixer_tick(m, frame_no++);
	}
}


/* Run a window of WINDOW ticks and keep what everybody hears. */
static void hear(struct mixer *m, int np)
{
	for (int i = 0; i < np; i++) {
		ph[i].rec = true;
		ph[i].nheard = 0;
	}
	run(m, np, WINDOW);
	for (int i = 0; i < np; i++)
		ph[i].rec = false;
}


static double share(const struct phone *p, double hz)
{
	return tone_share(p->heard, p->nheard, hz, p->rate);
}


/* @a p hears exactly the tones of @a who (a mask of phones) among np. */
static bool hears_only(const struct phone *p, int np, unsigned who,
		       double min_share)
{
	bool good = p->nheard == WINDOW * (size_t)(p->rate / 50);

	for (int i = 0; i < np; i++) {
		double s = share(p, ph[i].hz);

		if (who & (1u << i))
			good &= s > min_share;
		else
			good &= s < 0.001;
	}
	return good;
}


static void test_three(void)
{
	struct mixer *m = NULL;
	struct phone *a, *b, *c;
	uint64_t enc0;

	ok(!mixer_alloc(&m, NULL), "a mixer");
	a = phone(0, m, CODEC_PCMU, 400, 6000);
	b = phone(1, m, CODEC_PCMA, 700, 6000);
	c = phone(2, m, CODEC_NONE, 1100, 6000);
	ok(a && b && c, "three members: PCMU, PCMA, linear");
	is_int(mixer_count(m), 3, "... counted");

	run(m, 3, 10);
	hear(m, 3);
	ok(hears_only(a, 3, 0x6, 0.3), "A hears 700 and 1100 Hz, not its"
	   " own 400 (%.3f %.3f %.6f)", share(a, 700), share(a, 1100),
	   share(a, 400));
	ok(hears_only(b, 3, 0x5, 0.3), "B hears 400 and 1100, not 700"
	   " (%.3f %.3f %.6f)", share(b, 400), share(b, 1100),
	   share(b, 700));
	ok(hears_only(c, 3, 0x3, 0.3), "C hears 400 and 700, not 1100"
	   " (%.3f %.3f %.6f)", share(c, 400), share(c, 700),
	   share(c, 1100));
	ok(a->frames == 50 && b->frames == 50 && c->frames == 50 &&
	   a->last_frame == frame_no - 1, "one frame each per tick, numbered"
	   " by the clock");
	ok(a->payload_ok && b->payload_ok, "the payload is the mix encoded"
	   " in each one's law");
	ok(!strcmp(a->events, "+") && !strcmp(b->events, "+") &&
	   !strcmp(c->events, "+"), "each one's talking-on event, once");
	ok(mixer_talking(a->mb), "mixer_talking()");

	enc0 = mixer_stats(m)->encodes;
	run(m, 3, 10);
	is_int(mixer_stats(m)->encodes - enc0, 20, "two encodings a tick (C"
	       " takes linear samples)");
	is_int(mixer_stats(m)->talkers, 3, "three talkers mixed");

	/* mute B: nobody hears it, it hears everybody, it still talks */
	mixer_mute(b->mb, true);
	ok(mixer_muted(b->mb), "B muted");
	hear(m, 3);
	ok(hears_only(a, 3, 0x4, 0.9), "A hears C only (700 Hz: %.6f)",
	   share(a, 700));
	ok(hears_only(c, 3, 0x1, 0.9), "C hears A only (700 Hz: %.6f)",
	   share(c, 700));
	ok(hears_only(b, 3, 0x5, 0.3), "muted B still hears A and C");
	ok(mixer_talking(b->mb) && !strcmp(b->events, "+"), "muted B still"
	   " counts as talking (no event)");
	mixer_mute(b->mb, false);
	hear(m, 3);
	ok(hears_only(a, 3, 0x6, 0.3), "unmuted, B is heard again");

	/* deaf A hears silence, and is heard */
	mixer_deaf(a->mb, true);
	a->silent_ok = true;
	hear(m, 3);
	ok(mixer_deafened(a->mb) && power(a->heard, a->nheard) == 0 &&
	   a->silent_ok, "deaf A hears silence");
	ok(hears_only(b, 3, 0x5, 0.3), "... and is heard");
	mixer_deaf(a->mb, false);

	/* B leaves */
	b->mb = mem_deref(b->mb);
	is_int(mixer_count(m), 2, "B left");
	hear(m, 3);
	ok(share(a, 700) < 0.001 && share(a, 1100) > 0.9, "A stops hearing"
	   " B (700 Hz: %.6f)", share(a, 700));
	ok(share(c, 700) < 0.001 && share(c, 400) > 0.9, "C stops hearing"
	   " B (700 Hz: %.6f)", share(c, 700));

	a->mb = mem_deref(a->mb);
	c->mb = mem_deref(c->mb);
	is_int(mixer_count(m), 0, "an empty room");
	mem_deref(m);
}


static void test_ten(void)
{
	struct mixer_prm prm = { .quiet_ms = 200 };
	struct mixer *m = NULL;
	struct mixer_stats s0;
	bool all = true;
	int n = 0;

	mixer_alloc(&m, &prm);
	for (int i = 0; i < 10; i++)
		n += phone(i, m, CODEC_PCMU, 350 + 125 * i, 2000) != NULL;
	is_int(n, 10, "ten members");

	run(m, 10, 10);
	hear(m, 10);
	for (int i = 0; i < 10; i++) {
		unsigned others = 0x3ff & ~(1u << i);

		if (!hears_only(&ph[i], 10, others, 0.05)) {
			diag("member %d does not hear the nine others", i);
			all = false;
		}
	}
	ok(all, "each of ten hears the nine other tones, not its own");

	/* now two talk, eight listen (digital silence) */
	for (int i = 2; i < 10; i++)
		ph[i].amp = 0;
	run(m, 10, 20);
	s0 = *mixer_stats(m);
	hear(m, 10);
	is_int(mixer_stats(m)->talkers, 2, "two talkers");
	is_int(mixer_stats(m)->measured - s0.measured, 10 * WINDOW,
	       "every member's level measured each tick");
	is_int(mixer_stats(m)->mixed - s0.mixed, 2 * WINDOW, "two frames"
	       " added a tick");
	is_int(mixer_stats(m)->mixes - s0.mixes, 3 * WINDOW, "three mixes a"
	       " tick: each talker's, and one for the eight listeners");
	is_int(mixer_stats(m)->encodes - s0.encodes, 3 * WINDOW, "three"
	       " encodings a tick");
	is_int(mixer_stats(m)->shared - s0.shared, 7 * WINDOW, "seven"
	       " listeners reuse the shared frame");
	ok(hears_only(&ph[0], 10, 0x2, 0.9) && hears_only(&ph[1], 10, 0x1,
	   0.9), "the two talkers hear each other");
	all = true;
	for (int i = 2; i < 10; i++)
		all &= hears_only(&ph[i], 10, 0x3, 0.3);
	ok(all, "the eight listeners hear both");

	for (int i = 0; i < 10; i++)
		ph[i].mb = mem_deref(ph[i].mb);
	mem_deref(m);
}


static void test_events(void)
{
	struct mixer_prm prm = { .talk_ms = 40, .quiet_ms = 200 };
	struct mixer *m = NULL;
	struct phone *p, *q;

	mixer_alloc(&m, &prm);
	p = phone(0, m, CODEC_PCMU, 500, 50);     /* noise below the level */
	q = phone(1, m, CODEC_PCMU, 500, 50);
	mixer_mute(q->mb, true);

	run(m, 2, 10);
	ok(!p->nev && !mixer_talking(p->mb), "noise below the level: no"
	   " event");

	p->amp = q->amp = 4000;
	run(m, 2, 1);
	p->amp = q->amp = 50;
	run(m, 2, 10);
	ok(!p->nev, "one voiced frame (20 ms < talk_ms): no event");

	p->amp = q->amp = 4000;
	run(m, 2, 5);
	ok(!strcmp(p->events, "+") && mixer_talking(p->mb), "100 ms of"
	   " voice: talking on");
	ok(!strcmp(q->events, "+"), "... for a muted member too");

	p->amp = q->amp = 50;
	run(m, 2, 5);
	p->amp = q->amp = 4000;
	run(m, 2, 3);
	ok(!strcmp(p->events, "+"), "a 100 ms pause (< quiet_ms): no event");

	p->amp = q->amp = 50;
	run(m, 2, 8);
	ok(!strcmp(p->events, "+"), "160 ms of quiet: still talking");
	run(m, 2, 4);
	ok(!strcmp(p->events, "+-") && !mixer_talking(p->mb), "240 ms:"
	   " talking off, once");
	ok(!strcmp(q->events, "+-"), "... for the muted one too");

	/* a member whose stream stops goes quiet too */
	p->amp = 4000;
	run(m, 2, 5);
	p->sends = false;
	run(m, 2, 15);
	ok(!strcmp(p->events, "+-+-"), "a stream that stops: talking off");
	is_int(mixer_talk_frames(q->mb), 21, "talk time: 21 frames, from the"
	       " second voiced to the tenth quiet one (muted or not)");

	p->mb = mem_deref(p->mb);
	q->mb = mem_deref(q->mb);
	mem_deref(m);
}


static void test_churn(void)
{
	struct mixer *m = NULL;
	uint64_t c_frames, e_frames;

	mixer_alloc(&m, NULL);
	for (int i = 0; i < 4; i++)
		phone(i, m, CODEC_PCMU, 400 + 300 * i, 3000);
	run(m, 4, 10);

	/* during one tick: A's output frees C (later) and makes E join */
	ph[0].kill_on_out = &ph[2];
	ph[0].mix_to_join = m;
	ph[0].join_on_out = &ph[4];
	memset(&ph[4], 0, sizeof(ph[4]));
	ph[4].rate = 8000;
	ph[4].hz = 2000;
	ph[4].amp = 3000;
	ph[4].payload_ok = ph[4].silent_ok = true;
	c_frames = ph[2].frames;
	run(m, 4, 1);
	ok(!ph[2].mb && ph[2].frames == c_frames, "C, freed in A's output"
	   " handler, got nothing in that tick");
	ok(ph[4].mb && ph[4].frames == 0, "E, joined in that handler, gets"
	   " nothing in that tick");
	is_int(mixer_count(m), 4, "four members (A, B, D, E)");

	e_frames = ph[4].frames;
	ph[4].sends = true;
	run(m, 5, 1);
	is_int(ph[4].frames, e_frames + 1, "E gets the next tick's frame");

	/* D's output frees D itself; B's frees A (earlier) */
	ph[3].kill_on_out = &ph[3];
	ph[1].kill_on_out = &ph[0];
	run(m, 5, 1);
	ok(!ph[3].mb && !ph[0].mb && mixer_count(m) == 2, "members freed"
	   " by their own or another's handler leave (B and E left)");
	run(m, 5, 8);
	hear(m, 5);
	ok(hears_only(&ph[1], 5, 0x10, 0.9) && hears_only(&ph[4], 5, 0x2,
	   0.9), "B and E hear each other, nobody else");

	/* B's talking-off event frees the mixer itself */
	ph[1].free_mixer_on_event = true;
	ph[1].mixer_ref = &m;
	ph[1].amp = 0;
	for (int t = 0; t < 130 && m; t++)
		run(m, 5, 1);
	ok(m == NULL, "a talk handler freed the mixer during its tick");
	mixer_put(ph[4].heard, 160, 0, ph[4].mb);
	mixer_mute(ph[4].mb, true);
	ok(mixer_set_codec(ph[4].mb, CODEC_PCMA) == EINVAL, "its members"
	   " are inert, and can still be freed");
	ph[1].mb = mem_deref(ph[1].mb);
	ph[4].mb = mem_deref(ph[4].mb);
}


static void test_late_missing(void)
{
	struct mixer *m = NULL;
	struct phone *a, *b, *c;
	uint64_t fa, fc;

	mixer_alloc(&m, NULL);
	a = phone(0, m, CODEC_PCMU, 400, 5000);
	b = phone(1, m, CODEC_PCMU, 700, 5000);
	c = phone(2, m, CODEC_PCMU, 1100, 5000);
	run(m, 3, 10);

	/* B's packets stop for three ticks, then resume (lost) */
	fa = a->frames;
	fc = c->frames;
	b->sends = false;
	run(m, 3, 3);
	b->ts += 3 * 160;
	b->said += 3 * 160;
	ok(a->frames == fa + 3 && c->frames == fc + 3, "while B sends"
	   " nothing, A and C get every tick's frame");
	b->sends = true;
	run(m, 3, 1);
	ok(mixer_jb_stats(b->mb)->missing > 0, "B's missing frames are"
	   " counted (%llu)",
	   (unsigned long long)mixer_jb_stats(b->mb)->missing);

	/* B's packets come in pairs, one tick late every other tick */
	run(m, 3, 4);
	a->rec = c->rec = true;
	a->nheard = c->nheard = 0;
	fa = mixer_jb_stats(b->mb)->missing;
	for (int t = 0; t < WINDOW; t++) {
		say(a);
		say(c);
		if (t % 2) {
			say(b);
			say(b);
		}
		mixer_tick(m, frame_no++);
	}
	a->rec = c->rec = false;
	is_int(mixer_jb_stats(b->mb)->missing, fa, "jitter of one tick: no"
	       " frame missed");
	ok(share(a, 700) > 0.3 && share(c, 700) > 0.3, "A and C hear B"
	   " through its jitter");

	/* a packet from the past is dropped, nothing else happens */
	mixer_put(a->heard, 160, a->ts - 800, a->mb);
	ok(mixer_jb_stats(a->mb)->late == 1, "a late packet is dropped");
	hear(m, 3);
	ok(hears_only(b, 3, 0x5, 0.3), "the mix goes on");

	a->mb = mem_deref(a->mb);
	b->mb = mem_deref(b->mb);
	c->mb = mem_deref(c->mb);
	mem_deref(m);
}


static void test_silence_cost(void)
{
	struct mixer *m = NULL;
	struct mixer_stats s0;
	bool silent = true;

	mixer_alloc(&m, NULL);
	for (int i = 0; i < 10; i++)
		phone(i, m, i % 2 ? CODEC_PCMA : CODEC_PCMU, 300, 100);
	ph[9].sends = false;
	run(m, 10, 5);
	s0 = *mixer_stats(m);
	hear(m, 10);
	is_int(mixer_stats(m)->measured - s0.measured, 9 * WINDOW, "nine"
	       " senders measured (one sends nothing: not even that)");
	ok(mixer_stats(m)->mixed == s0.mixed &&
	   mixer_stats(m)->mixes == s0.mixes &&
	   mixer_stats(m)->encodes == s0.encodes, "quiet members: nothing"
	   " added, mixed or encoded");
	is_int(mixer_stats(m)->silent - s0.silent, 10 * WINDOW, "everybody"
	       " gets the silence frame made at allocation");
	for (int i = 0; i < 10; i++)
		silent &= power(ph[i].heard, ph[i].nheard) == 0 &&
			ph[i].payload_ok;
	ok(silent, "which is silence, in each one's law");

	for (int i = 0; i < 10; i++)
		ph[i].mb = mem_deref(ph[i].mb);
	mem_deref(m);
}


static void test_clip_volume(void)
{
	struct mixer *m = NULL;
	struct phone *a, *b, *c, *d;
	struct mixer_stats s0;
	double pa, pb, loud;
	int16_t hi = 0, lo = 0;

	mixer_alloc(&m, NULL);
	a = phone(0, m, CODEC_PCMU, 100, 30000);
	b = phone(1, m, CODEC_PCMU, 100, 30000);
	c = phone(2, m, CODEC_PCMU, 100, 0);
	a->square = b->square = true;
	run(m, 3, 10);
	hear(m, 3);
	for (size_t i = 0; i < c->nheard; i++) {
		hi = c->heard[i] > hi ? c->heard[i] : hi;
		lo = c->heard[i] < lo ? c->heard[i] : lo;
	}
	ok(hi == 32767 && lo == -32767, "two talkers at +-30000 saturate to"
	   " +-32767 (%d..%d), never wrap", hi, lo);
	ok(c->payload_ok, "... and encode");
	mixer_set_volume(c->mb, MIXER_LISTEN, MIXER_VOL_MAX);
	hear(m, 3);
	ok(c->heard[0] == 32767 || c->heard[0] == -32767, "louder still:"
	   " saturated");
	a->mb = mem_deref(a->mb);
	b->mb = mem_deref(b->mb);
	c->mb = mem_deref(c->mb);
	mem_deref(m);

	/* volumes: A talks at -6 dB; D listens at +6 dB */
	mixer_alloc(&m, NULL);
	a = phone(0, m, CODEC_PCMU, 400, 4000);
	b = phone(1, m, CODEC_PCMU, 700, 4000);
	c = phone(2, m, CODEC_PCMU, 1100, 0);
	d = phone(3, m, CODEC_PCMU, 1300, 0);
	phone(4, m, CODEC_PCMU, 1500, 0);
	is_int(mixer_set_volume(a->mb, MIXER_TALK, 5), EINVAL, "a step"
	       " beyond +4 is refused");
	is_int(mixer_set_volume(a->mb, MIXER_TALK, -2), 0, "A talks 2 steps"
	       " lower");
	is_int(mixer_volume(a->mb, MIXER_TALK), -2, "mixer_volume()");
	mixer_set_volume(d->mb, MIXER_LISTEN, 2);
	run(m, 5, 10);
	s0 = *mixer_stats(m);
	hear(m, 5);
	pa = goertzel(c->heard, c->nheard, 400, 8000);
	pb = goertzel(c->heard, c->nheard, 700, 8000);
	ok(pa / pb > 0.22 && pa / pb < 0.28, "A is heard 6 dB lower (power"
	   " ratio %.3f)", pa / pb);
	loud = goertzel(d->heard, d->nheard, 700, 8000) / pb;
	ok(loud > 3.7 && loud < 4.3, "D hears 6 dB louder (x%.2f)", loud);
	is_int(mixer_stats(m)->mixes - s0.mixes, 4 * WINDOW, "four mixes a"
	       " tick: two talkers, two listening volumes");
	is_int(mixer_stats(m)->shared - s0.shared, WINDOW, "E shares C's");
	for (int i = 0; i < 5; i++)
		ph[i].mb = mem_deref(ph[i].mb);
	mem_deref(m);
}


static void test_codecs_rates(void)
{
	struct mixer_prm prm = { .srate = 16000 };
	struct mixer_member *mb = NULL;
	struct mixer *m = NULL;
	struct mixer_stats s0;
	struct phone *a, *c;

	/* two laws: one shared frame per law */
	mixer_alloc(&m, NULL);
	for (int i = 0; i < 7; i++)
		phone(i, m, i < 5 ? CODEC_PCMU : CODEC_PCMA, 400 + 200 * i,
		      i < 2 ? 3000 : 0);
	run(m, 7, 10);
	s0 = *mixer_stats(m);
	run(m, 7, 10);
	is_int(mixer_stats(m)->encodes - s0.encodes, 40, "two talkers and"
	       " listeners in two laws: four encodings a tick");
	is_int(mixer_set_codec(ph[6].mb, CODEC_PCMU), 0, "a member changes"
	       " law");
	s0 = *mixer_stats(m);
	run(m, 7, 10);
	is_int(mixer_stats(m)->encodes - s0.encodes, 40, "still four");
	for (int i = 0; i < 7; i++)
		ph[i].mb = mem_deref(ph[i].mb);
	mem_deref(m);

	is_int(mixer_alloc(&m, &(struct mixer_prm){ .srate = 11025 }),
	       EINVAL, "a mix rate of 11025 is refused");
	ok(!mixer_alloc(&m, &prm), "a 16 kHz mixer");
	is_int(mixer_join(&mb, m, CODEC_PCMU, out_h, NULL, NULL), ENOTSUP,
	       "a G.711 member cannot join it (no resampling yet)");
	a = phone(0, m, CODEC_NONE, 400, 5000);
	phone(1, m, CODEC_NONE, 5000, 5000);
	c = phone(2, m, CODEC_NONE, 6500, 5000);
	run(m, 3, 10);
	hear(m, 3);
	ok(a->nheard == WINDOW * 320, "frames of 320 samples");
	ok(hears_only(a, 3, 0x6, 0.3) && hears_only(c, 3, 0x3, 0.3),
	   "wideband: 5000 and 6500 Hz heard (above narrowband)");
	for (int i = 0; i < 3; i++)
		ph[i].mb = mem_deref(ph[i].mb);
	mem_deref(m);
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	/* the timer heap (core/tmrheap.c) grows on the first timer, for
	 * good: a mixer with a member is on the media clock */
	{
		struct mixer *m = NULL;
		struct mixer_member *mb = NULL;

		mixer_alloc(&m, NULL);
		mixer_join(&mb, m, CODEC_PCMU, NULL, NULL, NULL);
		mem_deref(mb);
		mem_deref(m);
	}
	if (rtpring_batch_begin())    /* the ring, made on first use */
		rtpring_batch_end();

	leak_begin(&lc);
	test_three();
	leak_end(&lc, "three members");

	leak_begin(&lc);
	test_ten();
	test_events();
	leak_end(&lc, "ten members, events");

	leak_begin(&lc);
	test_churn();
	test_late_missing();
	leak_end(&lc, "churn, late and missing frames");

	leak_begin(&lc);
	test_silence_cost();
	test_clip_volume();
	test_codecs_rates();
	leak_end(&lc, "silence, clipping, volumes, codecs, rates");

	rtpring_close();
	libre_close();

	return done_testing();
}
