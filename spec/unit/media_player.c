/**
 * @file media_player.c  Spec of players (core/media/player.h): prompts one
 * after the other cut into 20 ms frames, loops, silence, and tones in
 * Asterisk's indications syntax.
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "media/codec.h"
#include "media/player.h"
#include "media/sound.h"
#include "tap.h"
#include "audio.h"


enum { FRAME = 160 };


static struct sound *sine(size_t n, double hz)
{
	int16_t *pcm = mem_alloc(n * sizeof(*pcm), NULL);
	struct sound *snd = NULL;

	make_sine(pcm, n, 1, hz, 8000, 8000);
	(void)sound_from_pcm(&snd, pcm, n, 8000, 1);
	mem_deref(pcm);

	return snd;
}


/* Read the whole player frame by frame (at most max frames): the number
 * of frames, the samples, decoded back to PCM into out. */
static size_t drain(struct player *p, enum codec_id codec, int16_t *out,
		    size_t max, size_t *frames)
{
	uint8_t buf[FRAME];
	size_t total = 0, n;

	*frames = 0;
	while (*frames < max && (n = player_read(p, codec, buf, FRAME))) {
		for (size_t i = 0; out && i < n; i++)
			out[total + i] = codec_decode_sample(codec, buf[i]);
		total += n;
		++*frames;
		if (n < FRAME)
			break;
	}

	return total;
}


static void test_sequence(void)
{
	struct sound *a = sine(1000, 500), *b = sine(450, 1500);
	int16_t out[4000];
	struct player *p;
	size_t n, frames;

	player_alloc(&p, false);
	player_add(p, a, 0, false);
	player_add(p, NULL, 200, false);
	player_add(p, b, 0, false);

	n = drain(p, CODEC_PCMU, out, 100, &frames);
	is_int(n, 1650, "a prompt, 200 samples of silence, a prompt: 1650"
	       " samples");
	is_int(frames, 11, "... in 11 frames, the last one partial (50)");
	ok(player_done(p) && player_played(p) == 1650, "... then it is done");
	ok(tone_share(out + 100, 800, 500, 8000) > 0.9 &&
	   power(out + 1000, 200) < 10 &&
	   tone_share(out + 1250, 400, 1500, 8000) > 0.9,
	   "... each part where it belongs, across frame boundaries");
	is_int(player_read(p, CODEC_PCMU, (uint8_t *)out, FRAME), 0,
	       "reading a finished player gives nothing");
	mem_deref(p);

	player_alloc(&p, false);
	player_add(p, a, 0, false);
	n = drain(p, CODEC_PCMA, out, 100, &frames);
	ok(n == 1000 && tone_share(out, 1000, 500, 8000) > 0.9,
	   "a-law frames decode to the same prompt");
	mem_deref(p);

	player_alloc(&p, false);
	is_int(player_add(p, NULL, 0, false), EINVAL, "silence needs a"
	       " length");
	ok(drain(p, CODEC_PCMU, NULL, 10, &frames) == 0 && player_done(p),
	   "an empty player is done at once");
	mem_deref(p);

	mem_deref(a);
	mem_deref(b);
}


static void test_loop(void)
{
	struct sound *a = sine(300, 700);
	struct player *p;
	size_t frames;

	player_alloc(&p, true);
	player_add(p, a, 0, true);      /* first pass only */
	player_add(p, NULL, 100, false);
	player_add(p, a, 0, false);

	ok(drain(p, CODEC_PCMU, NULL, 50, &frames) == 50 * FRAME &&
	   !player_done(p), "a looping player does not end");
	ok(player_played(p) == 8000, "... 50 frames are 8000 samples");
	mem_deref(p);

	player_alloc(&p, true);
	player_add(p, a, 0, true);
	ok(drain(p, CODEC_PCMU, NULL, 50, &frames) == 300 && player_done(p),
	   "a loop of once-only parts plays them once and ends");
	mem_deref(p);

	mem_deref(a);
}


static void test_tone_cadence(void)
{
	int16_t out[8000];
	struct player *p;
	size_t frames, n;

	ok(!player_tones(&p, "440+480/100,0/100"), "ring-like cadence"
	   " parses");
	n = drain(p, CODEC_PCMU, out, 50, &frames);
	ok(n == 8000 && !player_done(p), "it repeats for ever");
	ok(tone_share(out, 800, 440, 8000) > 0.35 &&
	   tone_share(out, 800, 480, 8000) > 0.35, "100 ms of 440+480 Hz");
	ok(power(out + 800, 800) < 10, "then 100 ms of silence");
	ok(tone_share(out + 1600, 800, 440, 8000) > 0.35, "then again");
	mem_deref(p);

	ok(!player_tones(&p, "!1400/100,!0/100,425"), "once-only elements"
	   " then a continuous tone");
	n = drain(p, CODEC_PCMU, out, 50, &frames);
	ok(tone_share(out, 800, 1400, 8000) > 0.9 && power(out + 800, 800)
	   < 10 && tone_share(out + 1600, 6000, 425, 8000) > 0.9,
	   "1400 Hz, a pause, then 425 Hz without end");
	mem_deref(p);

	p = NULL;
	ok(!player_tones(&p, " 350 + 440 / 100 , 0/100"), "spaces are"
	   " allowed around numbers");
	mem_deref(p);
}


static const struct spec_case {
	const char *spec;
	bool ok;
} specs[] = {
	{ "440+480/2000,0/4000", true },
	{ "425/500,0/500", true },
	{ "!950/330,!1400/330,!1800/330,0", true },
	{ "0", true },
	{ "350+440", true },
	{ "", false },
	{ "ring", false },
	{ "440/", false },
	{ "440/0", false },
	{ "440*480/100", false },
	{ "/100", false },
	{ "440+/100", false },
	{ "5000", false },
	{ "440,,480", false },
	{ "M6/100", false },
};


static void test_specs(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(specs); i++) {
		struct player *p = NULL;
		int err = player_tones(&p, specs[i].spec);

		ok(specs[i].ok ? !err : err != 0, "tone \"%s\" is %s",
		   specs[i].spec, specs[i].ok ? "valid" : "refused");
		mem_deref(p);
	}
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	leak_begin(&lc);
	test_sequence();
	test_loop();
	leak_end(&lc, "segments");

	leak_begin(&lc);
	test_tone_cadence();
	test_specs();
	sound_cache_flush();
	leak_end(&lc, "tones");

	libre_close();

	return done_testing();
}
