/**
 * @file media_sound.c  Spec of sound files (core/media/sound.h): any rate
 * and channel count brought to 8000 Hz mono through auresamp, files read
 * with libsndfile, the shared cache, and which names are safe.
 */
#include <string.h>
#include <unistd.h>
#include <sndfile.h>
#include <re.h>
#include "pbx.h"
#include "media/codec.h"
#include "media/sound.h"
#include "tap.h"
#include "audio.h"
#include "wavfile.h"


static char tmpdir[64];


/* One second of @a hz at @a rate, @a ch channels, as a sound. */
static struct sound *converted(uint32_t rate, unsigned ch, double hz)
{
	int16_t *pcm = mem_alloc(rate * ch * sizeof(*pcm), NULL);
	struct sound *snd = NULL;

	make_sine(pcm, rate, ch, hz, rate, 10000);
	if (sound_from_pcm(&snd, pcm, rate, rate, ch))
		snd = NULL;
	mem_deref(pcm);

	return snd;
}


static void test_rates(void)
{
	static const uint32_t rates[] = {
		8000, 11025, 16000, 22050, 24000, 32000, 44100, 48000, 6000,
		96000,
	};

	for (size_t i = 0; i < ARRAY_SIZE(rates); i++) {
		for (unsigned ch = 1; ch <= 2; ch++) {
			struct sound *snd = converted(rates[i], ch, 1000);
			size_t n = sound_samples(snd);
			double share, rms;

			ok(snd && n >= 7990 && n <= 8000,
			   "%u Hz, %u channel(s): one second is %zu samples"
			   " at 8000 Hz", rates[i], ch, n);
			if (!snd)
				continue;
			/* skip the filter's start-up */
			share = tone_share(sound_pcm(snd) + 400, 7200, 1000,
					   8000);
			rms = sqrt(power(sound_pcm(snd) + 400, 7200));
			/* within 1.5 dB */
			ok(share > 0.95 && rms > 5950 && rms < 8400,
			   "... still a 1000 Hz tone (%.0f %% of the power,"
			   " rms %.0f of 7071)", share * 100, rms);
			mem_deref(snd);
		}
	}
}


/* Above 4000 Hz nothing may fold back into the band: the low-pass of
 * auresamp is in the path, also for rates it cannot divide. */
static void test_antialias(void)
{
	static const uint32_t rates[] = { 48000, 44100, 16000 };

	for (size_t i = 0; i < ARRAY_SIZE(rates); i++) {
		struct sound *snd = converted(rates[i], 1, 6000);
		double alias = 8000.0 - 6000;   /* where 6 kHz would fold */
		double p = snd ? goertzel(sound_pcm(snd) + 400, 7200, alias,
					  8000) : 1e9;

		ok(snd && sqrt(p * 2) < 2000,
		   "%u Hz: a 6000 Hz tone is filtered, not folded to 2000 Hz"
		   " (amplitude %.0f of 10000)", rates[i], sqrt(p * 2));
		mem_deref(snd);
	}
}


static int write_file(const char *path, int format, int rate, int ch,
		      double hz, double seconds)
{
	size_t frames = (size_t)(rate * seconds);
	int16_t *pcm = mem_alloc(frames * ch * sizeof(*pcm), NULL);
	int err;

	if (pcm)
		make_sine(pcm, frames, ch, hz, rate, 8000);
	err = wavfile_write(path, format, rate, ch, pcm, frames);
	mem_deref(pcm);

	return err;
}


static void test_files(void)
{
	static const struct {
		const char *name;
		int format, rate, ch;
	} files[] = {
		{ "a.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 44100, 2 },
		{ "b.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 16000, 1 },
		{ "c.wav", SF_FORMAT_WAV | SF_FORMAT_GSM610, 8000, 1 },
		{ "d.gsm", SF_FORMAT_RAW | SF_FORMAT_GSM610, 8000, 1 },
		{ "e.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_U8, 22050, 1 },
	};
	char path[256];
	struct sound *snd;
	size_t n;
	int err;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		re_snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i].name);
		if (!ok(!write_file(path, files[i].format, files[i].rate,
				    files[i].ch, 700, 0.5),
			"libsndfile writes %s", files[i].name))
			continue;

		snd = NULL;
		err = sound_load(&snd, path);
		n = sound_samples(snd);
		/* GSM rounds up to whole 160-sample frames (and WAV49 more) */
		ok(!err && n >= 3990 && n <= 4500,
		   "%s (%d Hz, %d ch) loads as %zu samples at 8000 Hz",
		   files[i].name, files[i].rate, files[i].ch, n);
		ok(snd && tone_share(sound_pcm(snd) + 400, 3200, 700, 8000)
		   > 0.9, "... and is still the 700 Hz tone");
		mem_deref(snd);
	}

	/* the same file read again and again: always the same result */
	re_snprintf(path, sizeof(path), "%s/a.wav", tmpdir);
	{
		unsigned good = 0;

		for (int i = 0; i < 40; i++) {
			sound_cache_flush();
			snd = NULL;
			good += !sound_load(&snd, path) &&
				sound_samples(snd) == 4000;
			mem_deref(snd);
		}
		is_int(good, 40, "a 44.1 kHz stereo file read 40 times: 40"
		       " times 4000 samples");
	}

	re_snprintf(path, sizeof(path), "%s/none.wav", tmpdir);
	is_int(sound_load(&snd, path), ENOENT, "a missing file: ENOENT");

	re_snprintf(path, sizeof(path), "%s/junk.wav", tmpdir);
	{
		FILE *f = fopen(path, "w");

		fputs("not a sound at all, just text\n", f);
		fclose(f);
	}
	is_int(sound_load(&snd, path), EBADMSG, "a file that is no sound:"
	       " EBADMSG");
	is_int(sound_load(&snd, tmpdir), ENOENT, "a folder: ENOENT");
}


static void test_cache(void)
{
	const struct sound_cache_stats *st = sound_cache_stats();
	struct sound *a, *b, *c;
	char path[256];
	uint64_t loads;

	re_snprintf(path, sizeof(path), "%s/cache.wav", tmpdir);
	write_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 500, 1);

	loads = st->loads;
	ok(!sound_load(&a, path) && !sound_load(&b, path) && a == b,
	   "the same file twice: one sound, shared");
	is_int(st->loads - loads, 1, "... decoded once");

	usleep(20000);   /* a newer time stamp */
	write_file(path, SF_FORMAT_WAV | SF_FORMAT_PCM_16, 8000, 1, 900, 2);
	ok(!sound_load(&c, path) && c != a && sound_samples(c) == 16000,
	   "a file rewritten on disk is read again");
	ok(sound_samples(a) == 8000 &&
	   tone_share(sound_pcm(a), 8000, 500, 8000) > 0.9,
	   "... while a player of the old one keeps it intact");
	mem_deref(a);
	mem_deref(b);
	mem_deref(c);

	ok(!sound_tone(&a, 440, 480) && !sound_tone(&b, 440, 480) && a == b,
	   "tones are cached too");
	ok(sound_samples(a) == 8000 &&
	   tone_share(sound_pcm(a), 8000, 440, 8000) > 0.4 &&
	   tone_share(sound_pcm(a), 8000, 480, 8000) > 0.4,
	   "440+480: one second holding both frequencies");
	is_int(sound_tone(&c, 5000, 0), EINVAL, "a tone above 4000 Hz:"
	       " EINVAL");
	mem_deref(a);
	mem_deref(b);

	sound_cache_set_budget(0);
	is_int(st->entries, 0, "over budget: sounds nobody plays are"
	       " dropped");
	sound_cache_set_budget(64u << 20);
}


static void test_encoded(void)
{
	struct sound *snd = converted(8000, 1, 1234);
	const uint8_t *u = sound_encoded(snd, CODEC_PCMU);
	const uint8_t *a = sound_encoded(snd, CODEC_PCMA);
	bool same = u && a;

	for (size_t i = 0; same && i < sound_samples(snd); i++)
		same = u[i] == codec_encode_sample(CODEC_PCMU,
						   sound_pcm(snd)[i]) &&
			a[i] == codec_encode_sample(CODEC_PCMA,
						    sound_pcm(snd)[i]);
	ok(same, "the G.711 encodings are the samples, encoded");
	ok(sound_encoded(snd, CODEC_PCMU) == u, "... made once");
	ok(!sound_encoded(snd, CODEC_NONE), "no encoding for CODEC_NONE");
	mem_deref(snd);
}


static const struct name_case {
	const char *name;
	bool ok;
} names[] = {
	{ "menu1", true },
	{ "digits/7", true },
	{ "voicemail/6000/msg0001.wav", true },
	{ "vm-intro", true },
	{ "a_b+c-d.e", true },
	{ "..", false },
	{ "../etc/passwd", false },
	{ "a/../b", false },
	{ "a/./b", false },
	{ "/etc/passwd", false },
	{ ".hidden", false },
	{ "menu1.wav.part", true },
	{ "a/.menu1.wav.part", false },
	{ "a//b", false },
	{ "a/", false },
	{ "", false },
	{ "x y", false },
	{ "a\\b", false },
	{ "%2e%2e/x", false },
	{ "4menu1;rm", false },
	{ "caf\xc3\xa9", false },
};


static void test_names(void)
{
	char longname[202];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		ok(sound_name_ok(names[i].name) == names[i].ok,
		   "name '%s' is %s", names[i].name,
		   names[i].ok ? "safe" : "refused");

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	ok(!sound_name_ok(longname), "a 201-character name is refused");
	ok(!sound_name_ok(NULL), "NULL is refused");
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	str_ncpy(tmpdir, "/tmp/lunapbx-sound-XXXXXX", sizeof(tmpdir));
	if (!mkdtemp(tmpdir))
		return 255;

	leak_begin(&lc);
	test_rates();
	test_antialias();
	leak_end(&lc, "resampling");

	test_files();      /* libsndfile keeps some state of its own */
	sound_cache_flush();

	leak_begin(&lc);
	test_cache();
	test_encoded();
	sound_cache_flush();
	leak_end(&lc, "cache and encodings");

	leak_begin(&lc);
	test_names();
	leak_end(&lc, "names");

	{
		char cmd[128];

		re_snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		(void)system(cmd);
	}
	libre_close();

	return done_testing();
}
