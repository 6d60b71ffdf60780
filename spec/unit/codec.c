/**
 * @file codec.c  Spec of the codec table and G.711 transcoding
 * (core/media/codec.h).
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "media/codec.h"
#include "tap.h"



/* Looking codecs up by their SDP name */

static const struct find_case {
	const char *name;
	uint32_t srate;
	enum codec_id exp;
} find_cases[] = {
	{"PCMU",  8000, CODEC_PCMU},
	{"pcmu",  8000, CODEC_PCMU},   /* SDP names are case-insensitive */
	{"PcMa",  8000, CODEC_PCMA},
	{"PCMA",     0, CODEC_PCMA},   /* 0: any clock rate */
	{"PCMU", 16000, CODEC_NONE},
	{"G722",  8000, CODEC_NONE},
	{"opus", 48000, CODEC_NONE},
	{"",      8000, CODEC_NONE},
};


static void test_find(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(find_cases); i++) {
		const struct find_case *c = &find_cases[i];
		const struct codec *got = codec_find(c->name, c->srate);

		ok((got ? got->id : CODEC_NONE) == c->exp,
		   "codec_find(\"%s\", %u) is %s", c->name, c->srate,
		   c->exp ? codec_get(c->exp)->name : "NULL");
	}

	ok(!codec_get(CODEC_NONE) && !codec_get(CODEC_MAX),
	   "codec_get(): nothing for CODEC_NONE and beyond the table");
	ok(codec_get(CODEC_PCMU)->pt == 0 && codec_get(CODEC_PCMA)->pt == 8,
	   "static payload types: PCMU 0, PCMA 8 (RFC 3551)");
	ok(codec_get(CODEC_PCMU)->srate == 8000 &&
	   codec_get(CODEC_PCMA)->srate == 8000, "both at 8000 Hz");
}


/*
 * G.711 tolerance: a-law's step is 16 (in 16-bit linear) below 512, and
 * at most 1/16 of the value above; u-law is never coarser than that where
 * a-law is fine, so one hop or a round trip stays within one such step.
 */
static bool g711_close(int16_t got, int16_t exp)
{
	return abs(got - exp) <= 16 + abs(exp) / 16;
}


static void test_round_trip(enum codec_id from, enum codec_id to)
{
	const char *fname = codec_get(from)->name, *tname = codec_get(to)->name;
	unsigned hop_bad = 0, trip_bad = 0;

	for (int i = 0; i < 256; i++) {
		const int16_t orig = codec_decode_sample(from, (uint8_t)i);
		uint8_t b = (uint8_t)i;

		codec_transcode(from, to, &b, 1);
		if (!g711_close(codec_decode_sample(to, b), orig)) {
			diag("    %s %02x (%d) -> %s %02x (%d)", fname, i, orig,
			     tname, b, codec_decode_sample(to, b));
			++hop_bad;
		}

		codec_transcode(to, from, &b, 1);
		if (!g711_close(codec_decode_sample(from, b), orig)) {
			diag("    %s %02x (%d) -> and back %02x (%d)", fname, i,
			     orig, b, codec_decode_sample(from, b));
			++trip_bad;
		}
	}

	ok(!hop_bad, "%s to %s, all 256 code words: the same level", fname,
	   tname);
	ok(!trip_bad, "  and back to %s", fname);
}


/* Known code words, from the G.711 tables. */
static const struct pair_case {
	const char *name;
	uint8_t ulaw, alaw;
} pair_cases[] = {
	{"u-law ff, near +0: a-law d5, its smallest positive", 0xff, 0xd5},
	{"u-law 7f, near -0: a-law 55, its smallest negative", 0x7f, 0x55},
	{"u-law 80, full scale +: a-law aa",                   0x80, 0xaa},
	{"u-law 00, full scale -: a-law 2a",                   0x00, 0x2a},
};


static void test_pairs(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(pair_cases); i++) {
		const struct pair_case *c = &pair_cases[i];
		uint8_t b = c->ulaw;

		codec_transcode(CODEC_PCMU, CODEC_PCMA, &b, 1);
		is_int(b, c->alaw, c->name);
	}

	ok(abs(codec_decode_sample(CODEC_PCMU, 0xff)) <= 8,
	   "u-law ff decodes to about 0 (%d)",
	   codec_decode_sample(CODEC_PCMU, 0xff));
	is_int(codec_decode_sample(CODEC_PCMU, 0x00), -32124,
	       "u-law 00 decodes to -32124");
	is_int(codec_decode_sample(CODEC_PCMA, 0x2a), -32256,
	       "a-law 2a decodes to -32256");
	is_int(codec_encode_sample(CODEC_PCMA, 0), 0xd5,
	       "silence encodes to a-law d5");
	is_int(codec_encode_sample(CODEC_PCMU, 0), 0xff,
	       "silence encodes to u-law ff");
}


static void test_same_law(void)
{
	uint8_t buf[256], copy[256];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	memcpy(copy, buf, sizeof(buf));

	codec_transcode(CODEC_PCMU, CODEC_PCMU, buf, sizeof(buf));
	ok(!memcmp(buf, copy, sizeof(buf)), "u-law to u-law: untouched");
	codec_transcode(CODEC_PCMA, CODEC_PCMA, buf, sizeof(buf));
	ok(!memcmp(buf, copy, sizeof(buf)), "a-law to a-law: untouched");

	codec_transcode(CODEC_PCMU, CODEC_PCMA, buf, 0);
	ok(!memcmp(buf, copy, sizeof(buf)), "an empty buffer: untouched");
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	leak_begin(&lc);
	test_find();
	leak_end(&lc, "codec lookup");

	leak_begin(&lc);
	test_round_trip(CODEC_PCMU, CODEC_PCMA);
	test_round_trip(CODEC_PCMA, CODEC_PCMU);
	leak_end(&lc, "transcoding");

	leak_begin(&lc);
	test_pairs();
	test_same_law();
	leak_end(&lc, "known values");

	libre_close();

	return done_testing();
}
