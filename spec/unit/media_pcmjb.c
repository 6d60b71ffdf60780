/**
 * @file media_pcmjb.c  Spec of a participant's jitter buffer
 * (core/media/pcmjb.h): samples placed by RTP timestamp, one frame a tick,
 * the prefill, reordering, loss, packets of other lengths, late packets,
 * stalls, drift and new sources.
 */
#include <string.h>
#include <re.h>
#include "media/pcmjb.h"
#include "tap.h"

enum { F = 160, PREFILL = 320 };


/* A packet whose sample i is (ts + i) & 0x7fff: what comes out says
 * which timestamp it was. */
static void put(struct pcmjb *jb, uint32_t ts, size_t n)
{
	int16_t pcm[480];

	for (size_t i = 0; i < n; i++)
		pcm[i] = (int16_t)((ts + i) & 0x7fff);
	pcmjb_put(jb, pcm, n, ts);
}


/* The frame read is ts..ts+159 (ts < 0: all zeros). */
static bool frame_is(const int16_t *p, int64_t ts)
{
	if (!p)
		return false;
	for (size_t i = 0; i < F; i++) {
		int16_t exp = ts < 0 ? 0 : (int16_t)((ts + i) & 0x7fff);

		if (p[i] != exp)
			return false;
	}
	return true;
}


static void test_prefill_and_order(void)
{
	struct pcmjb *jb = NULL;
	bool seq = true;

	ok(!pcmjb_alloc(&jb, F, PREFILL), "a buffer of 20 ms frames, 40 ms"
	   " prefill");
	ok(pcmjb_get(jb) == NULL, "nothing before the first packet");

	put(jb, 1000, F);
	is_int(pcmjb_buffered(jb), PREFILL + F, "the first packet, behind"
	       " the prefill");
	ok(frame_is(pcmjb_get(jb), -1) && frame_is(pcmjb_get(jb), -1),
	   "two frames of prefill silence");
	ok(frame_is(pcmjb_get(jb), 1000), "then the packet");
	ok(pcmjb_get(jb) == NULL, "then nothing: the next is not here");

	/* steady: one packet a tick, two ahead */
	put(jb, 1160, F);
	put(jb, 1320, F);
	put(jb, 1480, F);
	for (uint32_t ts = 1160; ts < 1160 + 20 * F; ts += F) {
		seq &= frame_is(pcmjb_get(jb), ts);
		put(jb, ts + 3 * F, F);
	}
	ok(seq, "20 ticks in order, with three packets buffered");
	is_int(pcmjb_stats(jb)->missing, 1, "one tick missed (above)");

	mem_deref(jb);
}


static void test_reorder_loss(void)
{
	struct pcmjb *jb = NULL;
	const int16_t *p;

	pcmjb_alloc(&jb, F, PREFILL);
	put(jb, 0, F);
	pcmjb_get(jb);
	pcmjb_get(jb);
	ok(frame_is(pcmjb_get(jb), 0), "frame 0");

	put(jb, 2 * F, F);          /* 1 and 2 swapped */
	put(jb, F, F);
	ok(frame_is(pcmjb_get(jb), F), "swapped packets come out in order");
	ok(frame_is(pcmjb_get(jb), 2 * F), "... both");

	put(jb, 4 * F, F);          /* 3 lost */
	put(jb, 5 * F, F);
	ok(frame_is(pcmjb_get(jb), -1), "a lost packet reads as silence");
	ok(frame_is(pcmjb_get(jb), 4 * F), "and the next goes on");

	put(jb, 3 * F, F);          /* 3, now too late */
	is_int(pcmjb_stats(jb)->late, 1, "a packet after its time is late");
	p = pcmjb_get(jb);
	ok(frame_is(p, 5 * F), "and changes nothing");

	/* a duplicate of what is buffered changes nothing either */
	put(jb, 6 * F, F);
	put(jb, 6 * F, F);
	ok(frame_is(pcmjb_get(jb), 6 * F), "a duplicate is harmless");
	mem_deref(jb);
}


static void test_lengths(void)
{
	struct pcmjb *jb = NULL;
	uint32_t ts = 0, rd = 0;
	bool seq = true;
	int got = 0;

	pcmjb_alloc(&jb, F, PREFILL);
	/* 30 ms packets: 3 packets every 4.5 ticks; put them as they fall */
	for (int tick = 0; tick < 60; tick++) {
		const int16_t *p;

		while (ts < (uint32_t)(tick + 1) * F) {
			put(jb, 5000 + ts, 240);
			ts += 240;
		}
		p = pcmjb_get(jb);
		if (!p)
			continue;
		if (got++ >= 2) {
			seq &= frame_is(p, 5000 + rd);
			rd += F;
		}
	}
	ok(seq && got >= 55, "30 ms packets read as 20 ms frames, in order"
	   " (%d frames)", got);
	mem_deref(jb);

	pcmjb_alloc(&jb, F, PREFILL);
	for (uint32_t t = 0; t < 4 * 80; t += 80)
		put(jb, 700 + t, 80);
	pcmjb_get(jb);
	pcmjb_get(jb);
	ok(frame_is(pcmjb_get(jb), 700) && frame_is(pcmjb_get(jb), 860),
	   "10 ms packets read as 20 ms frames");
	mem_deref(jb);
}


static void test_stall_and_starve(void)
{
	struct pcmjb *jb = NULL;
	uint32_t resyncs;

	pcmjb_alloc(&jb, F, PREFILL);
	put(jb, 0, F);
	pcmjb_get(jb);
	pcmjb_get(jb);
	pcmjb_get(jb);

	ok(pcmjb_get(jb) == NULL, "a stalled stream: nothing this tick");
	put(jb, F, F);
	ok(frame_is(pcmjb_get(jb), F), "a packet one tick late is still"
	   " played (the delay grew by a frame)");
	is_int(pcmjb_stats(jb)->late, 0, "... and not counted late");

	resyncs = (uint32_t)pcmjb_stats(jb)->resyncs;
	for (int i = 0; i < 5; i++)
		pcmjb_get(jb);
	ok(pcmjb_get(jb) == NULL && pcmjb_buffered(jb) == 0,
	   "five empty ticks: the stream is forgotten");
	put(jb, 90000, F);
	is_int(pcmjb_stats(jb)->resyncs, resyncs + 1, "the next packet"
	       " starts over");
	pcmjb_get(jb);
	pcmjb_get(jb);
	ok(frame_is(pcmjb_get(jb), 90000), "... behind a new prefill");
	mem_deref(jb);
}


static void test_drift_wrap_jump(void)
{
	struct pcmjb *jb = NULL;
	uint32_t ts = 0xffffff00u, max = 0;
	bool seq = true;
	int64_t expect = -1;

	pcmjb_alloc(&jb, F, PREFILL);

	/* a sender 5 % fast, across the timestamp's wrap-around */
	for (int tick = 0; tick < 400; tick++) {
		uint64_t trimmed = pcmjb_stats(jb)->trimmed;
		const int16_t *p;

		put(jb, ts, F);
		ts += F;
		if (tick % 20 == 0) {
			put(jb, ts, F);
			ts += F;
		}
		p = pcmjb_get(jb);
		if (pcmjb_buffered(jb) > max)
			max = pcmjb_buffered(jb);
		if (tick < 2 || !p)
			continue;
		/* continuous, but where a cut skipped samples */
		if (expect >= 0 && trimmed == pcmjb_stats(jb)->trimmed &&
		    !frame_is(p, expect))
			seq = false;
		expect = (int64_t)(p[0] & 0x7fff) + F;
	}
	ok(seq, "in order across the wrap-around");
	ok(pcmjb_stats(jb)->trimmed > 0, "a fast sender is cut back (%llu"
	   " samples)", (unsigned long long)pcmjb_stats(jb)->trimmed);
	ok(max <= PREFILL + 4 * F, "the delay stays bounded (%u samples at"
	   " most)", max);

	put(jb, ts + 100000, F);
	ok(pcmjb_buffered(jb) == PREFILL + F, "a timestamp far ahead (a new"
	   " source) starts over");
	put(jb, ts + 100000 - 600, F);
	is_int(pcmjb_stats(jb)->late, 1, "one behind what was read is late");
	put(jb, 12345, F);
	ok(pcmjb_buffered(jb) == PREFILL + F, "one from another epoch starts"
	   " over too");

	pcmjb_reset(jb);
	ok(pcmjb_get(jb) == NULL, "reset: nothing until the next packet");
	mem_deref(jb);
}


static void test_bad_input(void)
{
	struct pcmjb *jb = NULL;
	int16_t big[8192] = { 0 };

	is_int(pcmjb_alloc(&jb, 0, 0), EINVAL, "a frame of 0 samples is"
	       " refused");
	is_int(pcmjb_alloc(&jb, F, 9 * F), EINVAL, "a prefill of 9 frames"
	       " is refused");
	pcmjb_alloc(&jb, F, PREFILL);
	pcmjb_put(jb, big, ARRAY_SIZE(big), 0);
	ok(pcmjb_get(jb) == NULL, "a packet longer than half the ring is"
	   " ignored");
	pcmjb_put(jb, NULL, 160, 0);
	pcmjb_put(jb, big, 0, 0);
	ok(pcmjb_get(jb) == NULL, "as are empty ones");
	mem_deref(jb);
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	leak_begin(&lc);
	test_prefill_and_order();
	test_reorder_loss();
	test_lengths();
	test_stall_and_starve();
	test_drift_wrap_jump();
	test_bad_input();
	leak_end(&lc, "pcmjb");

	libre_close();

	return done_testing();
}
