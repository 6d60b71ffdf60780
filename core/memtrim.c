/**
 * @file memtrim.c  What the heap holds, and free heap pages given back to
 * the kernel.
 *
 * The PBX is linked with jemalloc (the Makefile's MALLOC): under a load
 * that rises and falls (calls, their transactions lingering 32 s,
 * registrations) glibc's malloc returns memory to the kernel only from
 * the top of the heap, and fragments.  A 60-minute soak saw the PBX's RSS
 * climb from 268 to 330 MB with malloc's bytes in use flat at 155 MB;
 * trimming now and then (below) cut that to +19 MB, still not flat.  The
 * same load under jemalloc kept RSS flat (it returns dirty pages itself,
 * after jemalloc's decay time) and cost a little less CPU, which is why
 * Redis ships with it too.  Whether jemalloc is there is known when the
 * program runs (mallctl, a weak symbol, is set or not): the sanitized
 * builds and the unit tests keep glibc (ASan and tap.h bring their own
 * malloc), and so the trimming: once a period, when more than TRIM_MIN
 * bytes lie free, malloc_trim(0) releases the free pages (MADV_DONTNEED);
 * nothing moves, no pointer changes.
 */
#include <malloc.h>
#include <time.h>
#include <re.h>
#include "log.h"
#include "memtrim.h"

enum { TRIM_MIN = 8 << 20 };

static struct tmr tmr;
static uint32_t period_ms;


/* jemalloc's, when the program is linked with it (NULL otherwise) */
extern int mallctl(const char *name, void *oldp, size_t *oldlenp,
		   void *newp, size_t newlen) __attribute__((weak));


/* jemalloc's statistics are a snapshot, taken anew when "epoch" is written */
static size_t je_stat(const char *name)
{
	uint64_t epoch = 1;
	size_t sz = sizeof(epoch), v = 0, vsz = sizeof(v);

	(void)mallctl("epoch", &epoch, &sz, &epoch, sz);
	if (mallctl(name, &v, &vsz, NULL, 0))
		return 0;

	return v;
}


size_t memtrim_heap_in_use(void)
{
	struct mallinfo2 mi;

	if (mallctl)
		return je_stat("stats.allocated");

	mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}


size_t memtrim_heap_free(void)
{
	size_t active, used;

	if (!mallctl)
		return mallinfo2().fordblks;

	active = je_stat("stats.active");
	used = je_stat("stats.allocated");

	return active > used ? active - used : 0;
}


static uint64_t now_us(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);

	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}


static void trim(void *arg)
{
	size_t free_b = memtrim_heap_free();
	(void)arg;

	if (free_b > TRIM_MIN) {
		uint64_t t0 = now_us();

		(void)malloc_trim(0);
		log_debug("memtrim: %zu KB free in the heap, trimmed in %llu us",
			  free_b / 1024,
			  (unsigned long long)(now_us() - t0));
	}
	tmr_start(&tmr, period_ms, trim, NULL);
}


/** Trim every @a period_s seconds (0: never; jemalloc: never, it gives
 *  pages back itself). */
void memtrim_start(uint32_t period_s)
{
	if (mallctl)
		period_s = 0;
	period_ms = period_s * 1000;
	tmr_cancel(&tmr);
	if (period_ms)
		tmr_start(&tmr, period_ms, trim, NULL);
}


void memtrim_stop(void)
{
	tmr_cancel(&tmr);
}
