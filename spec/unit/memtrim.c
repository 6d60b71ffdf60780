/**
 * @file memtrim.c  Spec of the heap trim (core/memtrim.c): free pages in
 * the middle of the heap go back to the kernel on the loop's timer, and
 * nothing held is touched.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "log.h"
#include "memtrim.h"
#include "tap.h"
#include "reloop.h"

enum { BLOCK = 64 << 10, BLOCKS = 512 };   /* 32 MB below mmap's size */


/* Resident pages of the process, in KB. */
static long rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}

	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}


int main(void)
{
	static uint8_t *blocks[BLOCKS];
	long before, after;
	bool intact = true;

	if (reloop_init())
		return 255;

	/* the heap grows by 32 MB, every page touched */
	for (int i = 0; i < BLOCKS; i++) {
		blocks[i] = malloc(BLOCK);
		if (!blocks[i])
			return 255;
		memset(blocks[i], i & 0xff, BLOCK);
	}
	/* all but every 16th freed: the top stays in use, glibc keeps it */
	for (int i = 0; i < BLOCKS; i++) {
		if (i % 16 != 15)
			blocks[i] = (free(blocks[i]), NULL);
	}
	ok(memtrim_heap_free() > 24 << 20, "%zu KB free in the heap",
	   memtrim_heap_free() / 1024);

	before = rss_kb();
	memtrim_start(1);
	reloop_run(1300);
	after = rss_kb();
	ok(before - after > 16 << 10, "the trim on the loop gave %ld KB of"
	   " %ld back", before - after, before);

	for (int i = 15; i < BLOCKS; i += 16) {
		for (int k = 0; k < BLOCK; k += 4096)
			intact &= blocks[i][k] == (i & 0xff);
		free(blocks[i]);
	}
	ok(intact, "the blocks still held kept their bytes");

	memtrim_start(0);
	is_int(memtrim_heap_in_use() > 0, 1, "malloc's bytes in use read");

	memtrim_stop();
	libre_close();

	return done_testing();
}
