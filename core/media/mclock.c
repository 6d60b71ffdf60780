/**
 * @file mclock.c  One 20 ms timer for all PBX-originated media.
 */
#include <string.h>
#include <re.h>
#include "media/mclock.h"
#include "media/rtpring.h"

static struct {
	struct list srcs;
	struct tmr tmr;
	uint64_t epoch;         /* jiffies of frame 0                */
	uint64_t next;          /* first frame not yet produced      */
	bool epoch_set;
	struct le *cursor;      /* the source produce() runs next     */
	struct mclock_stats stats;
} clk;


static uint64_t epoch(void)
{
	if (!clk.epoch_set) {
		clk.epoch = tmr_jiffies();
		clk.epoch_set = true;
	}

	return clk.epoch;
}


/** The frame whose 20 ms contain now. */
uint64_t mclock_frame_now(void)
{
	uint64_t e = epoch();

	return (tmr_jiffies() - e) / MCLOCK_PTIME;
}


/* Every source's frame; what they send in it leaves in one system call
 * (rtpring.h), not one per packet.  A handler may take any source off
 * the clock, itself or another (mclock_stop() moves the cursor on). */
static void produce(uint64_t frame)
{
	bool batch = rtpring_batch_begin();

	clk.cursor = list_head(&clk.srcs);
	while (clk.cursor) {
		struct mclock_src *src = clk.cursor->data;

		clk.cursor = clk.cursor->next;
		src->h(frame, src->arg);
		++clk.stats.frames;
	}
	if (batch)
		rtpring_batch_end();
}


static void tick(void *arg)
{
	uint64_t now = mclock_frame_now(), lag;
	int64_t due;
	(void)arg;

	++clk.stats.ticks;
	if (now >= clk.next + MCLOCK_CATCHUP) {
		clk.stats.skipped += now - clk.next;
		clk.next = now;
	}

	while (clk.next <= now && !list_isempty(&clk.srcs)) {
		lag = tmr_jiffies() - (clk.epoch + clk.next * MCLOCK_PTIME);
		if (lag > clk.stats.max_lag_ms)
			clk.stats.max_lag_ms = (uint32_t)lag;
		if (lag >= MCLOCK_PTIME)
			clk.stats.late += clk.stats.sources;
		produce(clk.next++);
	}

	if (list_isempty(&clk.srcs))
		return;

	due = (int64_t)(clk.epoch + clk.next * MCLOCK_PTIME - tmr_jiffies());
	tmr_start(&clk.tmr, due > 0 ? (uint64_t)due : 0, tick, NULL);
}


/** Join the clock: @a h runs for every frame from the next one due. */
void mclock_start(struct mclock_src *src, mclock_h *h, void *arg)
{
	if (!src || !h || mclock_running(src))
		return;

	src->h = h;
	src->arg = arg;
	if (list_isempty(&clk.srcs)) {
		clk.next = mclock_frame_now();
		tmr_start(&clk.tmr, 0, tick, NULL);
	}
	list_append(&clk.srcs, &src->le, src);
	++clk.stats.sources;
}


void mclock_stop(struct mclock_src *src)
{
	if (!mclock_running(src))
		return;

	if (clk.cursor == &src->le)
		clk.cursor = src->le.next;
	list_unlink(&src->le);
	--clk.stats.sources;
	if (list_isempty(&clk.srcs))
		tmr_cancel(&clk.tmr);
}


bool mclock_running(const struct mclock_src *src)
{
	return src && src->le.list != NULL;
}


const struct mclock_stats *mclock_stats(void)
{
	return &clk.stats;
}


void mclock_reset_stats(void)
{
	uint32_t n = clk.stats.sources;

	memset(&clk.stats, 0, sizeof(clk.stats));
	clk.stats.sources = n;
}
