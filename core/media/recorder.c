/**
 * @file recorder.c  Recording to a temporary name, renamed when complete.
 */
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sndfile.h>
#include <re.h>
#include "media/codec.h"
#include "media/recorder.h"
#include "media/sound.h"

enum {
	BUF_SAMPLES = 8000,        /* written to the file once a second   */
	MAX_GAP = 2 * SOUND_RATE,  /* larger timestamp jumps: a new start */
	SILENCE_LEVEL = 200,       /* mean |sample| below this is silence */
};

struct recorder {
	SNDFILE *sf;
	char *path, *tmp;
	int16_t buf[BUF_SAMPLES];
	size_t nbuf;
	int16_t *hold;             /* silence held back                   */
	size_t nhold, hold_max;
	uint64_t samples;          /* written or held                     */
	uint32_t next_ts;
	bool ts_valid;
	bool failed;
};

static const char *exts[] = { "wav", "gsm" };


static void destructor(void *arg)
{
	struct recorder *r = arg;

	if (r->sf) {
		sf_close(r->sf);
		(void)unlink(r->tmp);   /* never completed */
	}
	mem_deref(r->path);
	mem_deref(r->tmp);
	mem_deref(r->hold);
}


int rec_format_parse(const char *s, enum rec_format *fmt)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(exts); i++) {
		if (0 == str_casecmp(s, exts[i])) {
			*fmt = (enum rec_format)i;
			return 0;
		}
	}

	return EINVAL;
}


const char *rec_format_ext(enum rec_format fmt)
{
	return fmt <= REC_GSM ? exts[fmt] : "?";
}


bool rec_frame_silent(const int16_t *pcm, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		sum += (uint64_t)abs(pcm[i]);

	return n == 0 || sum < (uint64_t)SILENCE_LEVEL * n;
}


/**
 * Start recording to @a path (a full path with its extension); the data
 * goes to a dot file next to it until recorder_close().
 *
 * @param hold_samples silence to hold back (the silence limit), 0 for none
 */
int recorder_open(struct recorder **rp, const char *path,
		  enum rec_format fmt, uint32_t hold_samples)
{
	const char *slash;
	struct recorder *r;
	SF_INFO info;
	int err;

	if (!rp || !path || fmt > REC_GSM)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), destructor);
	if (!r)
		return ENOMEM;

	slash = strrchr(path, '/');
	err = str_dup(&r->path, path);
	if (!err)
		err = re_sdprintf(&r->tmp, "%b.%s.part",
				  path, slash ? (size_t)(slash + 1 - path) : 0,
				  slash ? slash + 1 : path);
	if (!err && hold_samples) {
		r->hold = mem_alloc(hold_samples * sizeof(int16_t), NULL);
		r->hold_max = hold_samples;
		err = r->hold ? 0 : ENOMEM;
	}
	if (err)
		goto out;

	memset(&info, 0, sizeof(info));
	info.samplerate = SOUND_RATE;
	info.channels = 1;
	info.format = fmt == REC_GSM ? SF_FORMAT_RAW | SF_FORMAT_GSM610
				     : SF_FORMAT_WAV | SF_FORMAT_PCM_16;
	r->sf = sf_open(r->tmp, SFM_WRITE, &info);
	if (!r->sf)
		err = EACCES;

 out:
	if (err)
		mem_deref(r);
	else
		*rp = r;

	return err;
}


static void flush_buf(struct recorder *r)
{
	if (r->nbuf && !r->failed &&
	    sf_write_short(r->sf, r->buf, (sf_count_t)r->nbuf) !=
	    (sf_count_t)r->nbuf)
		r->failed = true;   /* disk full: recorder_close() says so */
	r->nbuf = 0;
}


static void put(struct recorder *r, const int16_t *pcm, size_t n)
{
	while (n) {
		size_t k = BUF_SAMPLES - r->nbuf;

		if (k > n)
			k = n;
		if (pcm)
			memcpy(r->buf + r->nbuf, pcm, k * sizeof(*pcm));
		else
			memset(r->buf + r->nbuf, 0, k * sizeof(*pcm));
		r->nbuf += k;
		n -= k;
		if (pcm)
			pcm += k;
		if (r->nbuf == BUF_SAMPLES)
			flush_buf(r);
	}
}


static void release_hold(struct recorder *r)
{
	put(r, r->hold, r->nhold);
	r->nhold = 0;
}


static void hold_or_put(struct recorder *r, const int16_t *pcm, size_t n,
			bool silent)
{
	if (!silent || !r->hold) {
		release_hold(r);
		put(r, pcm, n);
		return;
	}

	if (r->nhold + n > r->hold_max)
		release_hold(r);
	if (n > r->hold_max) {
		put(r, pcm, n);
		return;
	}

	if (pcm)
		memcpy(r->hold + r->nhold, pcm, n * sizeof(*pcm));
	else
		memset(r->hold + r->nhold, 0, n * sizeof(*pcm));
	r->nhold += n;
}


/**
 * Samples received in a packet with RTP timestamp @a ts; a gap since the
 * previous packet is written as silence.
 *
 * @return true if the frame was silent
 */
bool recorder_write(struct recorder *r, const int16_t *pcm, size_t n,
		    uint32_t ts)
{
	bool silent = rec_frame_silent(pcm, n);

	if (!r || !r->sf)
		return silent;

	if (r->ts_valid) {
		uint32_t gap = ts - r->next_ts;

		if (gap > 0 && gap <= MAX_GAP) {
			hold_or_put(r, NULL, gap, true);
			r->samples += gap;
		}
	}
	r->next_ts = ts + (uint32_t)n;
	r->ts_valid = true;

	hold_or_put(r, pcm, n, silent);
	r->samples += n;

	return silent;
}


/**
 * Finish: the trailing silence dropped when @a trim_silence, the file
 * renamed to its final name.
 *
 * @return 0, or EIO when the file could not be written (it is removed)
 */
int recorder_close(struct recorder *r, bool trim_silence)
{
	int err = 0;

	if (!r || !r->sf)
		return EINVAL;

	if (trim_silence) {
		r->samples -= r->nhold;
		r->nhold = 0;
	}
	release_hold(r);
	flush_buf(r);

	if (sf_close(r->sf) || r->failed)
		err = EIO;
	r->sf = NULL;

	if (!err && rename(r->tmp, r->path))
		err = errno;
	if (err)
		(void)unlink(r->tmp);

	return err;
}


/** Give up: the temporary file goes, nothing appears under the name. */
void recorder_abort(struct recorder *r)
{
	if (!r || !r->sf)
		return;

	sf_close(r->sf);
	r->sf = NULL;
	(void)unlink(r->tmp);
}


uint64_t recorder_samples(const struct recorder *r)
{
	return r ? r->samples : 0;
}


const char *recorder_path(const struct recorder *r)
{
	return r ? r->path : NULL;
}


static bool is_partial(const char *name)
{
	size_t n = strlen(name);

	return name[0] == '.' && n > 6 && 0 == strcmp(name + n - 5, ".part");
}


/**
 * The partial recordings a crash left in @a dir and its folders (the
 * ".<name>.part" files a kill -9 interrupted): removed at start, before
 * any call records.  Returns how many went.
 */
unsigned recorder_clean(const char *dir)
{
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	d = dir ? opendir(dir) : NULL;
	if (!d)
		return 0;

	while ((de = readdir(d))) {
		char path[1024];
		struct stat st;

		if (0 == strcmp(de->d_name, ".") || 0 == strcmp(de->d_name, ".."))
			continue;
		if (re_snprintf(path, sizeof(path), "%s/%s", dir,
				de->d_name) < 0 || lstat(path, &st))
			continue;
		if (S_ISDIR(st.st_mode))
			n += recorder_clean(path);
		else if (S_ISREG(st.st_mode) && is_partial(de->d_name) &&
			 0 == unlink(path))
			++n;
	}
	closedir(d);

	return n;
}
