/**
 * @file player.c  Segments of sound, silence and tone, read frame by frame.
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "media/feed.h"
#include "media/player.h"
#include "media/sound.h"

enum {
	MAX_SEGMENTS = 256,
	SEG_FOREVER = 0xffffffffu,   /* a tone element without duration */
};

struct seg {
	struct sound *snd;     /* NULL: silence            */
	uint32_t len;          /* samples                  */
	bool once;             /* not repeated on a loop   */
};

struct player {
	struct seg *segv;      /* grown as segments come */
	size_t segc, segcap;
	struct feed *feed;     /* a live player: what the feed plays */
	size_t idx;            /* current segment          */
	uint32_t pos;          /* samples into it          */
	bool loop;
	bool looped;           /* past the first pass      */
	bool pass_empty;       /* nothing read this pass   */
	bool done;
	uint64_t played;
};


static void destructor(void *arg)
{
	struct player *p = arg;

	for (size_t i = 0; i < p->segc; i++)
		mem_deref(p->segv[i].snd);
	mem_deref(p->segv);
	mem_deref(p->feed);
}


int player_alloc(struct player **pp, bool loop)
{
	struct player *p;

	if (!pp)
		return EINVAL;

	p = mem_zalloc(sizeof(*p), destructor);
	if (!p)
		return ENOMEM;

	p->loop = loop;
	p->pass_empty = true;
	*pp = p;

	return 0;
}


/**
 * A live player: what @a f plays now, the same frame for every listener
 * (a term joins the feed rather than reading the player: feed.h).  It
 * never ends; player_read() gives it nothing.
 */
int player_alloc_feed(struct player **pp, struct feed *f)
{
	int err;

	if (!f)
		return EINVAL;

	err = player_alloc(pp, true);
	if (!err)
		(*pp)->feed = mem_ref(f);

	return err;
}


/** The feed of a live player, NULL for any other. */
struct feed *player_feed(const struct player *p)
{
	return p ? p->feed : NULL;
}


/**
 * Add a segment: @a snd whole (samples 0), @a snd for @a samples (looping
 * inside it), or silence (snd NULL).  @a once: skipped when the player
 * loops (Asterisk's `!`).
 */
int player_add(struct player *p, struct sound *snd, uint32_t samples,
	       bool once)
{
	struct seg *s;

	if (!p || (!snd && !samples) || p->feed)
		return EINVAL;
	if (p->segc >= MAX_SEGMENTS)
		return EOVERFLOW;
	if (p->segc == p->segcap) {
		size_t cap = p->segcap ? 2 * p->segcap : 4;
		struct seg *v = p->segv ? mem_realloc(p->segv,
						      cap * sizeof(*v))
			: mem_alloc(cap * sizeof(*v), NULL);

		if (!v)
			return ENOMEM;
		p->segv = v;
		p->segcap = cap;
	}

	s = &p->segv[p->segc++];
	s->snd = mem_ref(snd);
	s->len = samples ? samples : (uint32_t)sound_samples(snd);
	s->once = once;

	return 0;
}


static void next_segment(struct player *p)
{
	p->pos = 0;
	if (++p->idx < p->segc)
		return;

	if (!p->loop || p->pass_empty) {
		p->done = true;
		return;
	}

	p->idx = 0;
	p->looped = true;
	p->pass_empty = true;
}


static void copy_sound(uint8_t *out, const uint8_t *enc, size_t sn,
		       uint32_t pos, size_t take)
{
	while (take) {
		size_t off = pos % sn, k = sn - off;

		if (k > take)
			k = take;
		memcpy(out, enc + off, k);
		out += k;
		pos += (uint32_t)k;
		take -= k;
	}
}


/* Up to @a n samples of the next frame into outs[codec] for each law
 * whose buffer is given. */
static size_t read_laws(struct player *p, uint8_t *const *outs, size_t n)
{
	size_t w = 0;

	while (w < n && !p->done) {
		const struct seg *s;
		size_t take;

		if (p->idx >= p->segc) {
			p->done = true;
			break;
		}

		s = &p->segv[p->idx];
		if ((p->looped && s->once) || s->len == 0 ||
		    (s->snd && !sound_samples(s->snd))) {
			next_segment(p);
			continue;
		}

		take = s->len - p->pos;
		if (take > n - w)
			take = n - w;

		for (int c = CODEC_NONE + 1; c < CODEC_MAX; c++) {
			const uint8_t *enc;

			if (!outs[c])
				continue;
			enc = s->snd ? sound_encoded(s->snd, c) : NULL;
			if (enc)
				copy_sound(outs[c] + w, enc,
					   sound_samples(s->snd), p->pos,
					   take);
			else
				memset(outs[c] + w, codec_encode_sample(c, 0),
				       take);
		}

		w += take;
		p->pos += (uint32_t)take;
		p->pass_empty = false;
		if (p->pos >= s->len)
			next_segment(p);
	}

	p->played += w;

	return w;
}


/**
 * Up to @a n samples of the next frame, in @a codec.
 *
 * @return samples written: fewer than @a n only when the player ended
 */
size_t player_read(struct player *p, enum codec_id codec, uint8_t *out,
		   size_t n)
{
	uint8_t *outs[CODEC_MAX] = { NULL };

	if (!p || !out || p->feed || codec <= CODEC_NONE ||
	    codec >= CODEC_MAX)
		return 0;

	outs[codec] = out;

	return read_laws(p, outs, n);
}


/**
 * The next frame in every law at once, each from the sounds' own
 * encoding: outs[codec] (indexed by enum codec_id, NULL: not wanted).
 *
 * @return samples written to each: fewer than @a n when the player ended
 */
size_t player_read_laws(struct player *p, uint8_t *const *outs, size_t n)
{
	if (!p || !outs || p->feed)
		return 0;

	return read_laws(p, outs, n);
}


bool player_done(const struct player *p)
{
	return !p || (p->done && !p->feed);
}


uint64_t player_played(const struct player *p)
{
	return p ? p->played : 0;
}


static void trim(struct pl *pl)
{
	while (pl->l && (pl->p[0] == ' ' || pl->p[0] == '\t'))
		pl_advance(pl, 1);
	while (pl->l && (pl->p[pl->l - 1] == ' ' || pl->p[pl->l - 1] == '\t'))
		--pl->l;
}


/* A decimal number of at most 6 digits, nothing else. */
static int number(const struct pl *pl, uint32_t *v)
{
	if (!pl->l || pl->l > 6)
		return EINVAL;
	for (size_t i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return EINVAL;
	}
	*v = pl_u32(pl);

	return 0;
}


/* "f1", "f1+f2" in Hz; 0 is silence. */
static int parse_freqs(const struct pl *pl, uint32_t *f1, uint32_t *f2)
{
	const char *plus = pl_strchr(pl, '+');
	struct pl a = *pl, b;

	*f2 = 0;
	if (!plus) {
		trim(&a);
		return number(&a, f1);
	}

	a.l = (size_t)(plus - pl->p);
	b.p = plus + 1;
	b.l = pl->l - a.l - 1;
	trim(&a);
	trim(&b);

	return number(&a, f1) || number(&b, f2) ? EINVAL : 0;
}


/* One element: [!]f1[+f2][/ms] */
static int add_element(struct player *p, struct pl el)
{
	struct pl freqs, ms = PL_INIT;
	const char *slash;
	uint32_t f1, f2, len = SEG_FOREVER;
	struct sound *snd = NULL;
	bool once = false;
	int err;

	trim(&el);
	if (el.l && el.p[0] == '!') {
		once = true;
		pl_advance(&el, 1);
	}

	slash = pl_strchr(&el, '/');
	freqs = el;
	if (slash) {
		freqs.l = (size_t)(slash - el.p);
		ms.p = slash + 1;
		ms.l = el.l - freqs.l - 1;
		trim(&ms);
		if (number(&ms, &len) || !len)
			return EINVAL;
		len *= SOUND_RATE / 1000;
	}

	if (parse_freqs(&freqs, &f1, &f2))
		return EINVAL;

	if (f1 || f2) {
		err = sound_tone(&snd, f1 ? f1 : f2, f1 ? f2 : 0);
		if (err)
			return err;
	}

	err = player_add(p, snd, len, once);
	mem_deref(snd);

	return err;
}


/**
 * A player for a tone in Asterisk's indications.conf syntax, e.g.
 * "440+480/2000,0/4000" (US ring): comma-separated elements
 * `[!]f1[+f2][/ms]`, frequency 0 for silence, `!` for an element played
 * only the first time; the list repeats.  An element without a duration
 * lasts for ever.
 *
 * @return 0, EINVAL on a malformed spec
 */
int player_tones(struct player **pp, const char *spec)
{
	struct player *p;
	struct pl rest, el;
	int err = 0;

	if (!pp || !spec)
		return EINVAL;

	err = player_alloc(&p, true);
	if (err)
		return err;

	pl_set_str(&rest, spec);
	while (!err && rest.l) {
		const char *comma = pl_strchr(&rest, ',');

		el.p = rest.p;
		el.l = comma ? (size_t)(comma - rest.p) : rest.l;
		err = add_element(p, el);
		pl_advance(&rest, el.l + (comma ? 1 : 0));
	}
	if (!err && !p->segc)
		err = EINVAL;

	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}
