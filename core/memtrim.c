/**
 * @file memtrim.c  Free heap pages given back to the kernel now and then.
 *
 * Why: glibc returns memory to the kernel only from the top of the heap.
 * Under a load that rises and falls (calls, their transactions lingering
 * 32 s, registrations), the top stays in use while whole pages in the
 * middle are free: a 60-minute soak saw the PBX's RSS climb from 268 to
 * 330 MB while malloc's bytes in use stayed at 155 MB, and one
 * malloc_trim() gave 72 MB back.  So once a period, when more than
 * TRIM_MIN bytes lie free, malloc_trim(0) releases the free pages
 * (MADV_DONTNEED); nothing moves, no pointer changes.
 */
#include <malloc.h>
#include <time.h>
#include <re.h>
#include "log.h"
#include "memtrim.h"

enum { TRIM_MIN = 8 << 20 };

static struct tmr tmr;
static uint32_t period_ms;


size_t memtrim_heap_in_use(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}


size_t memtrim_heap_free(void)
{
	return mallinfo2().fordblks;
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


/** Trim every @a period_s seconds (0: never). */
void memtrim_start(uint32_t period_s)
{
	period_ms = period_s * 1000;
	tmr_cancel(&tmr);
	if (period_ms)
		tmr_start(&tmr, period_ms, trim, NULL);
}


void memtrim_stop(void)
{
	tmr_cancel(&tmr);
}
