/**
 * @file media_recorder.c  Spec of recordings (core/media/recorder.h): a
 * temporary name until complete, trailing silence trimmed, RTP gaps
 * written as silence, WAV and GSM.
 */
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "pbx.h"
#include "media/codec.h"
#include "media/recorder.h"
#include "media/sound.h"
#include "tap.h"
#include "audio.h"


static char dir[64];


static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}


/* @a frames of 20 ms: a 600 Hz tone, or silence; RTP timestamps from
 * @a *ts on. */
static void feed(struct recorder *r, unsigned frames, bool loud,
		 uint32_t *ts)
{
	int16_t pcm[160];

	for (unsigned i = 0; i < frames; i++) {
		if (loud)
			make_sine(pcm, 160, 1, 600, 8000, 6000);
		else
			memset(pcm, 0, sizeof(pcm));
		recorder_write(r, pcm, 160, *ts);
		*ts += 160;
	}
}


static size_t file_samples(const char *path, double *share)
{
	struct sound *snd = NULL;
	size_t n;

	if (sound_load(&snd, path))
		return 0;
	n = sound_samples(snd);
	if (share)
		*share = n > 800 ? tone_share(sound_pcm(snd), 4000, 600, 8000)
				 : 0;
	mem_deref(snd);

	return n;
}


static void test_rename(void)
{
	char path[128], tmp[128];
	struct recorder *r;
	uint32_t ts = 5000;
	double share = 0;

	re_snprintf(path, sizeof(path), "%s/menu1.wav", dir);
	re_snprintf(tmp, sizeof(tmp), "%s/.menu1.wav.part", dir);

	ok(!recorder_open(&r, path, REC_WAV, 8000), "open menu1.wav");
	feed(r, 50, true, &ts);
	ok(exists(tmp) && !exists(path), "while recording: only the"
	   " temporary .menu1.wav.part exists");
	feed(r, 25, false, &ts);
	is_int(recorder_samples(r), 75 * 160, "1.5 s so far");
	ok(!recorder_close(r, true), "close, trimming the silence");
	ok(exists(path) && !exists(tmp), "then menu1.wav, and no temporary"
	   " file");
	is_int(recorder_samples(r), 8000, "the 0.5 s of silence at the end"
	       " are gone");
	is_int(file_samples(path, &share), 8000, "the file holds 1 s");
	ok(share > 0.9, "... of the 600 Hz tone");
	mem_deref(r);

	re_snprintf(path, sizeof(path), "%s/keep.wav", dir);
	ok(!recorder_open(&r, path, REC_WAV, 8000), "another one");
	feed(r, 50, true, &ts);
	feed(r, 25, false, &ts);
	ok(!recorder_close(r, false) && file_samples(path, NULL) == 12000,
	   "closed without trimming: 1.5 s, silence kept");
	mem_deref(r);

	re_snprintf(path, sizeof(path), "%s/gone.wav", dir);
	re_snprintf(tmp, sizeof(tmp), "%s/.gone.wav.part", dir);
	ok(!recorder_open(&r, path, REC_WAV, 0), "a third one");
	feed(r, 10, true, &ts);
	recorder_abort(r);
	ok(!exists(path) && !exists(tmp), "aborted: no file at all");
	mem_deref(r);

	ok(!recorder_open(&r, path, REC_WAV, 0), "a fourth one");
	feed(r, 10, true, &ts);
	mem_deref(r);
	ok(!exists(path) && !exists(tmp), "freed unfinished (the call"
	   " went): no file either");

	re_snprintf(path, sizeof(path), "%s/no/such/dir/x.wav", dir);
	ok(recorder_open(&r, path, REC_WAV, 0) != 0, "a folder that does"
	   " not exist: an error");
}


static void test_gaps(void)
{
	char path[128];
	struct recorder *r;
	uint32_t ts = 0xfffff000;   /* wraps during the test */

	re_snprintf(path, sizeof(path), "%s/gaps.wav", dir);
	recorder_open(&r, path, REC_WAV, 0);
	feed(r, 10, true, &ts);
	ts += 800;                  /* 100 ms lost */
	feed(r, 10, true, &ts);
	ts += 8000 * 10;            /* a jump: a new start, not a gap */
	feed(r, 10, true, &ts);
	ok(!recorder_close(r, false), "closed");
	is_int(file_samples(path, NULL), 30 * 160 + 800, "a 100 ms gap in"
	       " the timestamps is written as silence, a 10 s jump is not");
	mem_deref(r);
}


static void test_gsm(void)
{
	char path[128];
	struct recorder *r;
	uint32_t ts = 0;
	double share = 0;
	size_t n;

	re_snprintf(path, sizeof(path), "%s/msg.gsm", dir);
	ok(!recorder_open(&r, path, REC_GSM, 0), "open msg.gsm");
	feed(r, 100, true, &ts);
	ok(!recorder_close(r, false), "closed");
	n = file_samples(path, &share);
	ok(n >= 16000 && n <= 16160 && share > 0.8, "raw GSM 6.10: 2 s of"
	   " the tone (%zu samples, %.0f %%)", n, share * 100);
	mem_deref(r);
}


static void test_formats(void)
{
	enum rec_format f = REC_GSM;

	ok(!rec_format_parse("wav", &f) && f == REC_WAV, "\"wav\"");
	ok(!rec_format_parse("GSM", &f) && f == REC_GSM, "\"GSM\"");
	ok(rec_format_parse("mp3", &f) == EINVAL, "\"mp3\" is refused");
	is_str(rec_format_ext(REC_GSM), "gsm", "extension of GSM");

	{
		int16_t quiet[160] = { 0 }, loud[160];

		make_sine(loud, 160, 1, 600, 8000, 3000);
		ok(rec_frame_silent(quiet, 160) && !rec_frame_silent(loud, 160),
		   "silence and a tone at -20 dBFS are told apart");
	}
}


int main(void)
{
	struct leakcheck lc;
	char cmd[96];

	if (libre_init())
		return 255;

	str_ncpy(dir, "/tmp/lunapbx-rec-XXXXXX", sizeof(dir));
	if (!mkdtemp(dir))
		return 255;

	test_rename();     /* libsndfile keeps some state of its own */
	sound_cache_flush();

	leak_begin(&lc);
	test_gaps();
	test_gsm();
	test_formats();
	sound_cache_flush();
	leak_end(&lc, "recorder");

	re_snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	(void)system(cmd);
	libre_close();

	return done_testing();
}
