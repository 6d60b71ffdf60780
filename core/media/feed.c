/**
 * @file feed.c  One source, many listeners (feed.h).
 *
 * What a listener costs is its RTP header and its send: the player is read
 * once per tick for everybody, in both laws (a copy each from the sounds'
 * own encodings, made once per file), and the sends of the tick leave in
 * one system call (the media clock opens a batch around its sources).
 */
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "media/mclock.h"
#include "media/player.h"
#include "media/feed.h"

enum { FRAME = 160 };   /* samples per 20 ms at 8000 Hz */

struct feed {
	struct list ears;
	struct mclock_src clk;
	struct player *player;
	uint8_t buf[CODEC_MAX][FRAME];
	const uint8_t *frames[CODEC_MAX];
	struct feed_stats stats;
};


static void destructor(void *arg)
{
	struct feed *f = arg;
	struct le *le;

	mclock_stop(&f->clk);
	while ((le = list_head(&f->ears))) {
		struct feed_ear *ear = le->data;

		list_unlink(le);
		ear->feed = NULL;
	}
	mem_deref(f->player);
}


/* The player's next frame, in each law from the sounds' own encodings
 * (not transcoded from one another); false once it ended (a class of
 * empty files). */
static bool read_frame(struct feed *f)
{
	uint8_t *outs[CODEC_MAX] = { NULL };
	size_t n;

	outs[CODEC_PCMU] = f->buf[CODEC_PCMU];
	outs[CODEC_PCMA] = f->buf[CODEC_PCMA];
	n = player_read_laws(f->player, outs, FRAME);
	if (!n)
		return false;

	for (int c = CODEC_PCMU; n < FRAME && c < CODEC_MAX; c++)
		memset(f->buf[c] + n, codec_encode_sample(c, 0), FRAME - n);
	++f->stats.frames;

	return true;
}


/**
 * Frame @a frame for every listener: the media clock calls this every
 * tick while someone listens (a test may call it itself).
 */
void feed_tick(struct feed *f, uint64_t frame)
{
	struct le *le;

	if (!f || list_isempty(&f->ears) || !read_frame(f))
		return;

	mem_ref(f);
	le = list_head(&f->ears);
	while (le) {
		struct feed_ear *ear = le->data;

		le = le->next;   /* a listener may leave (never another) */
		ear->h(frame, f->frames, FRAME, ear->arg);
		++f->stats.sent;
	}
	mem_deref(f);
}


static void clock_h(uint64_t frame, void *arg)
{
	feed_tick(arg, frame);
}


/** A feed of @a p (a looped player), which it holds. */
int feed_alloc(struct feed **fp, struct player *p)
{
	struct feed *f;

	if (!fp || !p)
		return EINVAL;

	f = mem_zalloc(sizeof(*f), destructor);
	if (!f)
		return ENOMEM;

	f->player = mem_ref(p);
	f->frames[CODEC_PCMU] = f->buf[CODEC_PCMU];
	f->frames[CODEC_PCMA] = f->buf[CODEC_PCMA];
	*fp = f;

	return 0;
}


/**
 * @a ear hears @a f from the next frame on (it leaves whatever feed it
 * heard before).  The feed does not hold its listeners, nor they it: the
 * owner holds the feed (through a live player) while it listens.
 */
void feed_listen(struct feed *f, struct feed_ear *ear, feed_h *h, void *arg)
{
	if (!f || !ear || !h)
		return;

	feed_unlisten(ear);
	ear->feed = f;
	ear->h = h;
	ear->arg = arg;
	list_append(&f->ears, &ear->le, ear);
	++f->stats.listeners;
	mclock_start(&f->clk, clock_h, f);
}


void feed_unlisten(struct feed_ear *ear)
{
	struct feed *f = ear ? ear->feed : NULL;

	if (!f)
		return;

	list_unlink(&ear->le);
	ear->feed = NULL;
	--f->stats.listeners;
	if (list_isempty(&f->ears))
		mclock_stop(&f->clk);
}


bool feed_listening(const struct feed_ear *ear)
{
	return ear && ear->feed;
}


const struct feed_stats *feed_stats(const struct feed *f)
{
	return f ? &f->stats : NULL;
}
