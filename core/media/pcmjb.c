/**
 * @file pcmjb.c  A participant's samples, by RTP timestamp, one frame a
 * tick.
 */
#include <string.h>
#include <re.h>
#include "media/pcmjb.h"

enum {
	RING_FRAMES = 12,    /* at least this many frames of ring (240 ms) */
	SLACK_FRAMES = 3,    /* beyond prefill + this, cut back            */
	STARVE_TICKS = 5,    /* empty ticks before the stream is forgotten */
};

struct pcmjb {
	uint32_t frame;      /* samples per tick                          */
	uint32_t prefill;    /* samples of delay at a start               */
	uint32_t mask;       /* ring size - 1 (a power of two)            */
	bool synced;
	uint32_t rd;         /* timestamp of the next sample read         */
	uint32_t wr;         /* past the newest sample written; rd <= wr  */
	uint32_t starved;    /* empty ticks in a row                      */
	struct pcmjb_stats stats;
	int16_t *scratch;    /* one frame, when a read wraps              */
	int16_t ring[];
};


/** A buffer for frames of @a frame samples, reading @a prefill samples
 *  behind the first packet. */
int pcmjb_alloc(struct pcmjb **jbp, uint32_t frame, uint32_t prefill)
{
	struct pcmjb *jb;
	uint32_t size = 1;

	if (!jbp || !frame || frame > 4096 || prefill > 8 * frame)
		return EINVAL;

	while (size < RING_FRAMES * frame)
		size <<= 1;

	jb = mem_zalloc(sizeof(*jb) + (size + frame) * sizeof(int16_t),
			NULL);
	if (!jb)
		return ENOMEM;

	jb->frame = frame;
	jb->prefill = prefill;
	jb->mask = size - 1;
	jb->scratch = jb->ring + size;
	*jbp = jb;

	return 0;
}


/* Samples [from, from + n) of the ring, zeroed or copied from @a pcm. */
static void ring_write(struct pcmjb *jb, uint32_t from, const int16_t *pcm,
		       uint32_t n)
{
	uint32_t off = from & jb->mask, size = jb->mask + 1;
	uint32_t k = size - off < n ? size - off : n;

	if (pcm) {
		memcpy(jb->ring + off, pcm, k * sizeof(*pcm));
		memcpy(jb->ring, pcm + k, (n - k) * sizeof(*pcm));
	}
	else {
		memset(jb->ring + off, 0, k * sizeof(*pcm));
		memset(jb->ring, 0, (n - k) * sizeof(*pcm));
	}
}


static void sync_to(struct pcmjb *jb, uint32_t ts)
{
	jb->synced = true;
	jb->rd = jb->wr = ts - jb->prefill;
	jb->starved = 0;
	++jb->stats.resyncs;
}


/** @a n samples whose first has RTP timestamp @a ts (the term's audio
 *  handler's arguments). */
void pcmjb_put(struct pcmjb *jb, const int16_t *pcm, size_t n, uint32_t ts)
{
	uint32_t size, skip = 0;
	int32_t d;

	if (!jb || !pcm || !n)
		return;

	size = jb->mask + 1;
	if (n > size / 2)
		return;

	if (!jb->synced)
		sync_to(jb, ts);

	d = (int32_t)(ts - jb->rd);
	if (d < -(int32_t)(size / 2) ||
	    d + (int32_t)n > (int32_t)(size - jb->frame)) {
		sync_to(jb, ts);          /* another source, or far ahead */
		d = (int32_t)jb->prefill;
	}

	if (d + (int32_t)n <= 0) {
		++jb->stats.late;
		return;
	}
	if (d < 0)
		skip = (uint32_t)-d;      /* its head is already played   */

	if ((int32_t)(ts - jb->wr) > 0)   /* a gap: silence until ts      */
		ring_write(jb, jb->wr, NULL, ts - jb->wr);

	ring_write(jb, ts + skip, pcm + skip, (uint32_t)n - skip);
	if ((int32_t)(ts + (uint32_t)n - jb->wr) > 0)
		jb->wr = ts + (uint32_t)n;
}


/**
 * The next frame, or NULL when there is none this tick (nothing came yet,
 * the stream stalled or stopped).  Valid until the next put or get.
 */
const int16_t *pcmjb_get(struct pcmjb *jb)
{
	uint32_t avail, off, size;
	const int16_t *p;

	if (!jb || !jb->synced)
		return NULL;

	avail = jb->wr - jb->rd;
	if (avail > jb->prefill + SLACK_FRAMES * jb->frame) {
		jb->stats.trimmed += avail - jb->prefill;
		jb->rd = jb->wr - jb->prefill;
		avail = jb->prefill;
	}

	if (avail < jb->frame) {
		++jb->stats.missing;
		if (++jb->starved >= STARVE_TICKS)
			jb->synced = false;
		return NULL;
	}
	jb->starved = 0;

	size = jb->mask + 1;
	off = jb->rd & jb->mask;
	if (off + jb->frame <= size) {
		p = jb->ring + off;
	}
	else {
		memcpy(jb->scratch, jb->ring + off,
		       (size - off) * sizeof(int16_t));
		memcpy(jb->scratch + (size - off), jb->ring,
		       (jb->frame - (size - off)) * sizeof(int16_t));
		p = jb->scratch;
	}

	jb->rd += jb->frame;
	++jb->stats.frames;

	return p;
}


/** Forget what is buffered: the next packet starts over. */
void pcmjb_reset(struct pcmjb *jb)
{
	if (jb)
		jb->synced = false;
}


/** Samples waiting to be read. */
uint32_t pcmjb_buffered(const struct pcmjb *jb)
{
	return jb && jb->synced ? jb->wr - jb->rd : 0;
}


const struct pcmjb_stats *pcmjb_stats(const struct pcmjb *jb)
{
	return jb ? &jb->stats : NULL;
}
