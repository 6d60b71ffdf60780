/**
 * @file mixer.c  N-1 mixes of the members who talk, once per tick.
 */
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "media/mclock.h"
#include "media/pcmjb.h"
#include "media/rtpring.h"
#include "media/stream.h"
#include "media/term.h"
#include "media/mixer.h"

enum {
	FRAME_MAX = 16000 / 1000 * MIXER_PTIME,  /* samples, at 16 kHz    */
	SHARED_MAX = 8,      /* distinct listener outputs made in a tick  */
	UNITY = 256,         /* gains are Q8                              */
};

/* 3 dB steps, MIXER_VOL_MIN..MAX: round(256 * 10^(3k/20)). */
static const int32_t gains[] = { 64, 91, 128, 181, 256, 362, 511, 722,
				 1019 };

/* One listener output, shared by every member who hears the same. */
struct shared {
	enum codec_id codec;
	int32_t gain;
	int16_t pcm[FRAME_MAX];
	uint8_t enc[FRAME_MAX];
};

struct mixer {
	struct mixer_prm prm;
	uint32_t frame;              /* samples per tick                  */
	struct mclock_src clk;
	struct mixer_member **memv;  /* slots; NULL: left during a tick   */
	uint32_t memc, memcap;       /* slots used, allocated             */
	uint32_t members;
	bool in_tick, holes;
	uint32_t talkers;            /* this tick's contributions         */
	int32_t total[FRAME_MAX];    /* their sum                         */
	struct shared sharedv[SHARED_MAX];
	uint32_t nshared;
	int16_t zeros[FRAME_MAX];
	uint8_t silence[CODEC_MAX][FRAME_MAX];
	struct mixer_stats stats;
};

struct mixer_member {
	struct mixer *mix;           /* NULL once the mixer is gone       */
	uint32_t idx;                /* slot in mix->memv                 */
	struct term *term;           /* mixer_join_term()                 */
	enum codec_id codec;         /* the others                        */
	mixer_out_h *outh;
	mixer_talk_h *talkh;
	void *arg;
	struct pcmjb *jb;
	bool muted, deaf, talking, event;
	int step[2];                 /* by enum mixer_dir                 */
	uint32_t voiced_ms, quiet_ms;
	uint64_t talk_frames;
	const int16_t *contrib;      /* this tick's, NULL: not mixed      */
	int16_t *scaled;             /* contrib after a talk volume       */
	int16_t *pcm;                /* an output of its own              */
	uint8_t *enc;
};


static void mixer_destructor(void *arg)
{
	struct mixer *m = arg;

	mclock_stop(&m->clk);
	for (uint32_t i = 0; i < m->memc; i++) {
		if (m->memv[i])
			m->memv[i]->mix = NULL;
	}
	mem_deref(m->memv);
}


static void tick_handler(uint64_t frame, void *arg)
{
	mixer_tick(arg, frame);
}


/** A mixer; @a prm NULL (or its zero fields) takes the defaults. */
int mixer_alloc(struct mixer **mp, const struct mixer_prm *prm)
{
	struct mixer *m;

	if (!mp)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), mixer_destructor);
	if (!m)
		return ENOMEM;

	if (prm)
		m->prm = *prm;
	if (!m->prm.srate)
		m->prm.srate = 8000;
	if (!m->prm.talk_level)
		m->prm.talk_level = 160;
	if (!m->prm.talk_ms)
		m->prm.talk_ms = MIXER_PTIME;
	if (!m->prm.quiet_ms)
		m->prm.quiet_ms = 2500;
	if (!m->prm.jb_ms)
		m->prm.jb_ms = 2 * MIXER_PTIME;

	if ((m->prm.srate != 8000 && m->prm.srate != 16000) ||
	    m->prm.jb_ms > 8 * MIXER_PTIME) {
		mem_deref(m);
		return EINVAL;
	}

	m->frame = m->prm.srate / 1000 * MIXER_PTIME;
	for (int c = CODEC_NONE + 1; c < CODEC_MAX; c++)
		codec_encode(c, m->zeros, m->silence[c], m->frame);

	*mp = m;

	return 0;
}


static void unlink_member(struct mixer_member *mb)
{
	struct mixer *m = mb->mix;

	if (!m)
		return;

	m->memv[mb->idx] = NULL;
	mb->mix = NULL;
	--m->members;
	m->stats.members = m->members;

	if (m->in_tick) {
		m->holes = true;        /* compacted when the tick ends */
	}
	else if (mb->idx + 1 < m->memc) {
		struct mixer_member *last = m->memv[--m->memc];

		m->memv[mb->idx] = last;
		last->idx = mb->idx;
	}
	else {
		--m->memc;
	}

	if (!m->members)
		mclock_stop(&m->clk);
}


static void member_destructor(void *arg)
{
	struct mixer_member *mb = arg;

	unlink_member(mb);
	if (mb->term) {
		(void)term_set_sink(mb->term, NULL, NULL);
		stream_ring(term_stream(mb->term), false);
	}
	mem_deref(mb->term);
	mem_deref(mb->jb);
}


static bool codec_fits(const struct mixer *m, enum codec_id codec)
{
	const struct codec *c = codec_get(codec);

	return codec == CODEC_NONE ? true : c && c->srate == m->prm.srate;
}


static int grow(struct mixer *m)
{
	struct mixer_member **v;
	uint32_t cap;

	if (m->memc < m->memcap)
		return 0;

	cap = m->memcap ? 2 * m->memcap : 8;
	v = m->memv ? mem_realloc(m->memv, cap * sizeof(*v))
		    : mem_zalloc(cap * sizeof(*v), NULL);  /* libre's
					  mem_realloc() takes no NULL */
	if (!v)
		return ENOMEM;

	m->memv = v;
	m->memcap = cap;

	return 0;
}


/**
 * A new member hearing the others in @a codec (CODEC_NONE: linear
 * samples only) through @a outh; @a talkh hears its talking on and off.
 * It is mixed from the next tick; mem_deref() makes it leave.
 *
 * @return 0, EINVAL, ENOTSUP (a codec of another rate than the mix's)
 */
int mixer_join(struct mixer_member **mbp, struct mixer *m,
	       enum codec_id codec, mixer_out_h *outh, mixer_talk_h *talkh,
	       void *arg)
{
	struct mixer_member *mb;
	size_t f;
	int err;

	if (!mbp || !m)
		return EINVAL;
	if (!codec_fits(m, codec))
		return ENOTSUP;

	f = m->frame;
	/* scaled, pcm and enc: one frame each, after the struct */
	mb = mem_zalloc(sizeof(*mb) + f * (2 * sizeof(int16_t) + 1),
			member_destructor);
	if (!mb)
		return ENOMEM;

	mb->scaled = (int16_t *)(mb + 1);
	mb->pcm = mb->scaled + f;
	mb->enc = (uint8_t *)(mb->pcm + f);
	mb->codec = codec;
	mb->outh = outh;
	mb->talkh = talkh;
	mb->arg = arg;

	err = pcmjb_alloc(&mb->jb, (uint32_t)f,
			  m->prm.jb_ms * (m->prm.srate / 1000));
	if (!err)
		err = grow(m);
	if (err) {
		mem_deref(mb);
		return err;
	}

	mb->mix = m;
	mb->idx = m->memc;
	m->memv[m->memc++] = mb;
	m->stats.members = ++m->members;
	mclock_start(&m->clk, tick_handler, m);

	*mbp = mb;

	return 0;
}


/**
 * A member on a terminated leg: the term's decoded audio comes in, the
 * mix goes out on it, in the leg's codec (followed when it changes).
 *
 * @return as mixer_join(), or EBUSY when the term feeds another mixer
 */
int mixer_join_term(struct mixer_member **mbp, struct mixer *m,
		    struct term *t, mixer_talk_h *talkh, void *arg)
{
	struct mixer_member *mb;
	int err;

	if (!t)
		return EINVAL;

	err = mixer_join(&mb, m, term_codec(t), NULL, talkh, arg);
	if (err)
		return err;

	err = term_set_sink(t, mixer_put, mb);
	if (err) {
		mem_deref(mb);
		return err;
	}
	mb->term = mem_ref(t);
	stream_ring(term_stream(t), true);   /* 50 packets/s each way */
	*mbp = mb;

	return 0;
}


/** Samples of a member (@a arg), as a term hands them: a term_audio_h. */
void mixer_put(const int16_t *pcm, size_t n, uint32_t ts, void *arg)
{
	struct mixer_member *mb = arg;

	if (mb && mb->mix)
		pcmjb_put(mb->jb, pcm, n, ts);
}


/* Mean magnitude of a frame. */
static uint32_t level(const int16_t *x, size_t n)
{
	uint32_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (uint32_t)(x[i] < 0 ? -x[i] : x[i]);

	return sum / (uint32_t)n;
}


/* ConfBridge's hysteresis: talk_ms of voice on, quiet_ms of quiet off. */
static void detect(struct mixer *m, struct mixer_member *mb,
		   const int16_t *in)
{
	bool voiced = false;

	if (in) {
		voiced = level(in, m->frame) >= m->prm.talk_level;
		++m->stats.measured;
	}

	if (voiced) {
		mb->quiet_ms = 0;
		mb->voiced_ms += MIXER_PTIME;
		if (!mb->talking && mb->voiced_ms >= m->prm.talk_ms) {
			mb->talking = true;
			mb->event = true;
		}
	}
	else {
		mb->voiced_ms = 0;
		mb->quiet_ms += MIXER_PTIME;
		if (mb->talking && mb->quiet_ms >= m->prm.quiet_ms) {
			mb->talking = false;
			mb->event = true;
		}
	}
}


static inline int16_t sat16(int32_t v)
{
	return v > INT16_MAX ? INT16_MAX : v < -INT16_MAX ? -INT16_MAX
							 : (int16_t)v;
}


/* The member's frame as the others hear it (its talk volume). */
static const int16_t *contribution(struct mixer *m, struct mixer_member *mb,
				   const int16_t *in)
{
	int32_t g = gains[mb->step[MIXER_TALK] - MIXER_VOL_MIN];

	if (g == UNITY)
		return in;

	for (uint32_t i = 0; i < m->frame; i++)
		mb->scaled[i] = sat16((in[i] * g) >> 8);

	return mb->scaled;
}


static void add(struct mixer *m, const int16_t *c)
{
	if (!m->talkers) {
		for (uint32_t i = 0; i < m->frame; i++)
			m->total[i] = c[i];
	}
	else {
		for (uint32_t i = 0; i < m->frame; i++)
			m->total[i] += c[i];
	}
	++m->talkers;
	++m->stats.mixed;
}


/* Read, measure and sum every member's frame: the first pass. */
static void gather(struct mixer *m, uint32_t n)
{
	m->talkers = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct mixer_member *mb = m->memv[i];
		const int16_t *in;

		if (!mb)
			continue;

		mb->contrib = NULL;
		in = pcmjb_get(mb->jb);
		detect(m, mb, in);
		if (!in || !mb->talking)
			continue;

		++mb->talk_frames;
		if (!mb->muted) {
			mb->contrib = contribution(m, mb, in);
			add(m, mb->contrib);
		}
	}

	m->stats.talkers = m->talkers;
}


/* total - own, at a listen gain, saturated: one output frame. */
static void mix_out(struct mixer *m, const int16_t *own, int32_t g,
		    int16_t *out)
{
	const int32_t *t = m->total;

	if (own && g == UNITY) {
		for (uint32_t i = 0; i < m->frame; i++)
			out[i] = sat16(t[i] - own[i]);
	}
	else if (own) {
		for (uint32_t i = 0; i < m->frame; i++)
			out[i] = sat16((int32_t)(((int64_t)(t[i] - own[i]) *
						  g) >> 8));
	}
	else if (g == UNITY) {
		for (uint32_t i = 0; i < m->frame; i++)
			out[i] = sat16(t[i]);
	}
	else {
		for (uint32_t i = 0; i < m->frame; i++)
			out[i] = sat16((int32_t)(((int64_t)t[i] * g) >> 8));
	}
	++m->stats.mixes;
}


static void encode(struct mixer *m, enum codec_id codec, const int16_t *pcm,
		   uint8_t *enc)
{
	if (codec == CODEC_NONE)
		return;

	codec_encode(codec, pcm, enc, m->frame);
	++m->stats.encodes;
}


/* The total as heard at @a gain in @a codec: made once per tick. */
static const struct shared *shared_out(struct mixer *m, enum codec_id codec,
				       int32_t gain)
{
	struct shared *sh;

	for (uint32_t i = 0; i < m->nshared; i++) {
		sh = &m->sharedv[i];
		if (sh->codec == codec && sh->gain == gain) {
			++m->stats.shared;
			return sh;
		}
	}

	if (m->nshared >= SHARED_MAX)
		return NULL;

	sh = &m->sharedv[m->nshared++];
	sh->codec = codec;
	sh->gain = gain;
	mix_out(m, NULL, gain, sh->pcm);
	encode(m, codec, sh->pcm, sh->enc);

	return sh;
}


static enum codec_id out_codec(const struct mixer_member *mb)
{
	return mb->term ? term_codec(mb->term) : mb->codec;
}


/* What @a mb hears this tick, into @a f. */
static void output(struct mixer *m, struct mixer_member *mb,
		   struct mixer_frame *f)
{
	int32_t g = gains[mb->step[MIXER_LISTEN] - MIXER_VOL_MIN];
	const struct shared *sh = NULL;

	f->codec = out_codec(mb);
	f->silent = mb->deaf || !m->talkers ||
		(m->talkers == 1 && mb->contrib);

	if (f->silent) {
		f->pcm = m->zeros;
		f->payload = f->codec ? m->silence[f->codec] : NULL;
		++m->stats.silent;
		return;
	}

	if (!mb->contrib)
		sh = shared_out(m, f->codec, g);

	if (sh) {
		f->pcm = sh->pcm;
		f->payload = f->codec ? sh->enc : NULL;
		return;
	}

	mix_out(m, mb->contrib, g, mb->pcm);
	encode(m, f->codec, mb->pcm, mb->enc);
	f->pcm = mb->pcm;
	f->payload = f->codec ? mb->enc : NULL;
}


/* Every member's frame out: the second pass. */
static void deliver(struct mixer *m, uint32_t n, uint64_t frame)
{
	struct mixer_frame f = { .frame = frame, .samples = m->frame,
				 .len = m->frame };

	m->nshared = 0;

	for (uint32_t i = 0; i < n; i++) {
		struct mixer_member *mb = m->memv[i];

		if (!mb)
			continue;

		output(m, mb, &f);
		++m->stats.sent;
		if (mb->term)
			term_send_frame(mb->term, frame, f.codec, f.payload,
					f.len);
		else if (mb->outh)
			mb->outh(&f, mb->arg);
	}
}


/* Talking on and off, once the frames are out: the third pass. */
static void events(struct mixer *m, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		struct mixer_member *mb = m->memv[i];

		if (!mb || !mb->event)
			continue;

		mb->event = false;
		if (mb->talkh)
			mb->talkh(mb->talking, mb->arg);
	}
}


/* Close the slots emptied during the tick, in order. */
static void compact(struct mixer *m)
{
	uint32_t w = 0;

	for (uint32_t r = 0; r < m->memc; r++) {
		struct mixer_member *mb = m->memv[r];

		if (!mb)
			continue;
		mb->idx = w;
		m->memv[w++] = mb;
	}
	m->memc = w;
	m->holes = false;
}


/**
 * Mix the frame @a frame: the media clock calls this every tick while the
 * mixer has members (a test or a benchmark outside the event loop may
 * call it itself).
 */
void mixer_tick(struct mixer *m, uint64_t frame)
{
	bool batch;
	uint32_t n;

	if (!m || m->in_tick)
		return;

	mem_ref(m);                 /* a handler may free the mixer */
	m->in_tick = true;
	n = m->memc;
	++m->stats.ticks;

	gather(m, n);
	batch = rtpring_batch_begin();   /* the members' sends: one call */
	deliver(m, n, frame);
	if (batch)
		rtpring_batch_end();
	events(m, n);

	m->in_tick = false;
	if (m->holes)
		compact(m);
	mem_deref(m);
}


/** Muted: still measured (talk events come), never mixed. */
void mixer_mute(struct mixer_member *mb, bool on)
{
	if (mb)
		mb->muted = on;
}


/** Deaf: hears silence. */
void mixer_deaf(struct mixer_member *mb, bool on)
{
	if (mb)
		mb->deaf = on;
}


/**
 * The volume the others hear the member at (MIXER_TALK) or it hears them
 * at (MIXER_LISTEN): @a step from MIXER_VOL_MIN to MIXER_VOL_MAX, 3 dB
 * each, 0 as received.
 *
 * @return 0, EINVAL out of range
 */
int mixer_set_volume(struct mixer_member *mb, enum mixer_dir dir, int step)
{
	if (!mb || (dir != MIXER_TALK && dir != MIXER_LISTEN) ||
	    step < MIXER_VOL_MIN || step > MIXER_VOL_MAX)
		return EINVAL;

	mb->step[dir] = step;

	return 0;
}


int mixer_volume(const struct mixer_member *mb, enum mixer_dir dir)
{
	if (!mb || (dir != MIXER_TALK && dir != MIXER_LISTEN))
		return 0;

	return mb->step[dir];
}


/** The codec of a mixer_join() member's frames (a term's follows its
 *  leg). @return 0, EINVAL, ENOTSUP */
int mixer_set_codec(struct mixer_member *mb, enum codec_id codec)
{
	if (!mb || !mb->mix)
		return EINVAL;
	if (!codec_fits(mb->mix, codec))
		return ENOTSUP;

	mb->codec = codec;

	return 0;
}


bool mixer_muted(const struct mixer_member *mb)
{
	return mb && mb->muted;
}


bool mixer_deafened(const struct mixer_member *mb)
{
	return mb && mb->deaf;
}


bool mixer_talking(const struct mixer_member *mb)
{
	return mb && mb->talking;
}


uint32_t mixer_count(const struct mixer *m)
{
	return m ? m->members : 0;
}


uint32_t mixer_srate(const struct mixer *m)
{
	return m ? m->prm.srate : 0;
}


const struct mixer_stats *mixer_stats(const struct mixer *m)
{
	return m ? &m->stats : NULL;
}


const struct pcmjb_stats *mixer_jb_stats(const struct mixer_member *mb)
{
	return mb ? pcmjb_stats(mb->jb) : NULL;
}


/** Ticks the member was talking (muted or not). */
uint64_t mixer_talk_frames(const struct mixer_member *mb)
{
	return mb ? mb->talk_frames : 0;
}
