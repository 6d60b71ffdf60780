/**
 * @file tmrheap.c  libre's timer API (re_tmr.h) on a binary heap.
 *
 * Why: libre keeps its timers in one sorted linked list, and a new timer
 * is inserted by walking that list from its tail.  A SIP stack keeps a
 * timer of 32 s (64*T1) for every finished transaction, so at 1000 calls/s
 * the list holds ~60000 timers and every short one (retransmission, a
 * dialplan's sleep) walks nearly all of them: at 300 calls/s that walk was
 * 68% of the PBX's CPU (perf, bench/).  Here a timer starts, stops and
 * fires in O(log n).
 *
 * How: the executable defines tmr_start() and the rest of re_tmr.h; libre
 * calls them through its PLT, so its transactions, dialogs and main loop
 * (tmr_poll, tmr_next_timeout) use these, as does the PBX: one timer
 * implementation in the process.  The semantics are libre's: a timer fires
 * from tmr_poll() once its expiry (ms, tmr_jiffies()) has come, timers due
 * at the same millisecond in the order they were started, and a handler
 * may start or cancel any timer.  struct tmr keeps its layout; its list
 * element is ours: le.data is the timer, le.prev its heap slot + 1.  One
 * heap per thread, as libre has one timer list per thread.
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "tmrheap.h"

struct slot {
	uint64_t jfs;
	uint64_t seq;        /* start order: ties fire first-started first */
	struct tmr *tmr;
};

struct heap {
	struct slot *v;
	size_t n, cap;
	uint64_t seq;
};

static __thread struct heap heap;


static bool before(const struct slot *a, const struct slot *b)
{
	return a->jfs < b->jfs || (a->jfs == b->jfs && a->seq < b->seq);
}


static void place(size_t i, struct slot s)
{
	heap.v[i] = s;
	s.tmr->le.prev = (struct le *)(uintptr_t)(i + 1);
}


static size_t slot_of(const struct tmr *tmr)
{
	return (size_t)(uintptr_t)tmr->le.prev - 1;
}


static void sift_up(size_t i, struct slot s)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!before(&s, &heap.v[parent]))
			break;
		place(i, heap.v[parent]);
		i = parent;
	}
	place(i, s);
}


static void sift_down(size_t i, struct slot s)
{
	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= heap.n)
			break;
		if (c + 1 < heap.n && before(&heap.v[c + 1], &heap.v[c]))
			++c;
		if (!before(&heap.v[c], &s))
			break;
		place(i, heap.v[c]);
		i = c;
	}
	place(i, s);
}


static void heap_remove(struct tmr *tmr)
{
	size_t i = slot_of(tmr);
	struct slot last;

	tmr->le.prev = NULL;
	if (i >= heap.n || heap.v[i].tmr != tmr)
		return;                  /* not ours: never started here */

	last = heap.v[--heap.n];
	if (i == heap.n)
		return;
	if (i > 0 && before(&last, &heap.v[(i - 1) / 2]))
		sift_up(i, last);
	else
		sift_down(i, last);
}


static bool heap_insert(struct tmr *tmr)
{
	struct slot s;

	if (heap.n == heap.cap) {
		size_t cap = heap.cap ? 2 * heap.cap : 1024;
		struct slot *v = realloc(heap.v, cap * sizeof(*v));

		if (!v)
			return false;
		heap.v = v;
		heap.cap = cap;
	}

	s.jfs = tmr->jfs;
	s.seq = ++heap.seq;
	s.tmr = tmr;
	sift_up(heap.n++, s);

	return true;
}


void tmr_init(struct tmr *tmr)
{
	if (tmr)
		memset(tmr, 0, sizeof(*tmr));
}


void tmr_start(struct tmr *tmr, uint64_t delay, tmr_h *th, void *arg)
{
	if (!tmr)
		return;

	if (tmr->th)
		heap_remove(tmr);

	tmr->th  = th;
	tmr->arg = arg;
	if (!th)
		return;

	tmr->jfs = tmr_jiffies() + delay;
	tmr->le.data = tmr;
	if (!heap_insert(tmr))
		tmr->th = NULL;          /* out of memory: it never fires */
}


void tmr_cancel(struct tmr *tmr)
{
	tmr_start(tmr, 0, NULL, NULL);
}


/** Run the handlers of every timer due by now (libre's main loop). */
void tmr_poll(struct list *tmrl)
{
	const uint64_t now = tmr_jiffies();
	(void)tmrl;

	while (heap.n && heap.v[0].jfs <= now) {
		struct tmr *tmr = heap.v[0].tmr;
		tmr_h *th = tmr->th;
		void *arg = tmr->arg;

		heap_remove(tmr);
		tmr->th = NULL;
		if (th)
			th(arg);
	}
}


/** Milliseconds until the next timer is due: 0 when none, 1 when late. */
uint64_t tmr_next_timeout(struct list *tmrl)
{
	const uint64_t now = tmr_jiffies();
	(void)tmrl;

	if (!heap.n)
		return 0;

	return heap.v[0].jfs <= now ? 1 : heap.v[0].jfs - now;
}


uint64_t tmr_get_expire(const struct tmr *tmr)
{
	uint64_t now;

	if (!tmr || !tmr->th)
		return 0;

	now = tmr_jiffies();

	return tmr->jfs > now ? tmr->jfs - now : 0;
}


/** Timers running now on this thread (libre's and the PBX's). */
size_t tmrheap_count(void)
{
	return heap.n;
}


int tmr_status(struct re_printf *pf, void *unused)
{
	(void)unused;

	if (!heap.n)
		return 0;

	return re_hprintf(pf, "Timers (%zu), next in %llu ms\n", heap.n,
			  (unsigned long long)tmr_next_timeout(NULL));
}


void tmr_debug(void)
{
	(void)re_fprintf(stderr, "%H", tmr_status, NULL);
}
