/**
 * @file tmrheap.c  Spec of the timers (core/tmrheap.c): libre's re_tmr.h
 * semantics, kept, on a heap.  The timers run under libre's own re_main(),
 * which only works if libre's loop calls these functions.
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "tap.h"


enum { MANY = 20000 };

static char fired[64];          /* the order, one letter per timer */
static size_t nfired;


static void note(void *arg)
{
	if (nfired < sizeof(fired) - 1)
		fired[nfired++] = *(const char *)arg;
	fired[nfired] = 0;
}


static void stop_loop(void *arg)
{
	(void)arg;
	re_cancel();
}


static void run_until_idle(uint64_t ms)
{
	struct tmr end;

	tmr_init(&end);
	tmr_start(&end, ms, stop_loop, NULL);
	(void)re_main(NULL);
	tmr_cancel(&end);
}


static void test_order(void)
{
	static const char *names = "abcde";
	struct tmr t[5];
	const uint64_t delays[5] = { 30, 10, 20, 10, 0 };
	uint64_t t0;

	nfired = 0;
	for (int i = 0; i < 5; i++) {
		tmr_init(&t[i]);
		tmr_start(&t[i], delays[i], note, (void *)&names[i]);
	}
	ok(tmr_isrunning(&t[0]) && tmr_get_expire(&t[0]) > 20,
	   "a started timer runs and says when it expires");
	is_int((long long)tmr_next_timeout(NULL), 1,
	       "the next one is due now (delay 0): 1 ms");

	t0 = tmr_jiffies();
	run_until_idle(60);
	is_str(fired, "ebdca", "they fire by expiry; same expiry: started first"
	       " fires first");
	ok(tmr_jiffies() - t0 >= 60, "re_main slept until the last timer");
	ok(!tmr_isrunning(&t[0]), "a fired timer no longer runs");
}


static struct tmr chain[3];

static void start_next(void *arg)
{
	note(arg);
	tmr_start(&chain[1], 0, note, "y");   /* from a handler, delay 0 */
	tmr_cancel(&chain[2]);               /* and cancel another one */
}


static void test_cancel_restart(void)
{
	struct tmr a, b;

	nfired = 0;
	tmr_init(&a);
	tmr_init(&b);
	tmr_start(&a, 5, note, "a");
	tmr_start(&b, 10, note, "b");
	tmr_cancel(&a);
	ok(!tmr_isrunning(&a), "a cancelled timer stops");
	tmr_cancel(&a);                      /* twice is harmless */
	tmr_start(&b, 1, note, "B");         /* restart: new delay, handler */

	for (int i = 0; i < 3; i++)
		tmr_init(&chain[i]);
	tmr_start(&chain[0], 3, start_next, "x");
	tmr_start(&chain[2], 8, note, "z");

	run_until_idle(20);
	is_str(fired, "Bxy", "cancelled never fires, restarted fires once with"
	       " its new handler; a handler starts and cancels timers");
}


/* Many timers, half cancelled: the rest fire once each, in order. */
static uint64_t last_jfs;
static unsigned nmany, out_of_order;

static void many_fired(void *arg)
{
	struct tmr *t = arg;

	if (t->jfs < last_jfs)
		++out_of_order;
	last_jfs = t->jfs;
	++nmany;
}


static void test_many(void)
{
	struct tmr *t = mem_zalloc(MANY * sizeof(*t), NULL);
	uint32_t x = 12345;

	if (!t) {
		ok(false, "memory for %d timers", MANY);
		return;
	}
	for (int i = 0; i < MANY; i++) {
		x = x * 1103515245u + 12345u;          /* a fixed sequence */
		tmr_start(&t[i], (x >> 16) % 50, many_fired, &t[i]);
	}
	for (int i = 0; i < MANY; i += 2)
		tmr_cancel(&t[i]);

	nmany = out_of_order = 0;
	last_jfs = 0;
	run_until_idle(60);
	is_int(nmany, MANY / 2, "20000 timers, 10000 cancelled: the other"
	       " 10000 fire, once each");
	is_int(out_of_order, 0, "... in the order of their expiry");
	mem_deref(t);
}


int main(void)
{
	struct leakcheck lc;
	struct tmr warm;

	if (libre_init())
		return 255;

	/* the heap's array and re_main()'s polling set live as long as the
	 * process: make them first */
	tmr_init(&warm);
	tmr_start(&warm, 1, note, "w");
	tmr_cancel(&warm);
	run_until_idle(1);

	leak_begin(&lc);
	test_order();
	test_cancel_restart();
	leak_end(&lc, "order, cancel, restart");

	test_many();

	libre_close();

	return done_testing();
}
