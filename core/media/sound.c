/**
 * @file sound.c  Sound files: read with libsndfile, brought to 8000 Hz mono
 * with librem's auresamp, cached and shared.
 */
#include <string.h>
#include <sys/stat.h>
#include <sndfile.h>
#include <re.h>
#include <rem.h>
#include "media/codec.h"
#include "media/sound.h"

enum {
	MAX_SECONDS = 3600,           /* longer files are cut: 57 MB of PCM */
	CHUNK = 160,                  /* output samples per resampling step */
	MAX_RATIO = 6,                /* 48000 -> 8000 */
	MID_RATE = 48000,             /* what other rates go through     */
	TONE_LEVEL_SINGLE = 35,       /* % of full scale (about -9 dBFS)  */
	TONE_LEVEL_DUAL = 22,         /* each of two frequencies          */
};

struct sound {
	struct le he;                 /* in the cache's hash              */
	struct le lru;                /* in the cache's age list          */
	char *key;                    /* path, or "tone:f1+f2"            */
	struct timespec mtime;
	off_t size;
	int16_t *pcm;
	size_t n;
	uint8_t *enc[CODEC_MAX];      /* G.711 of pcm, made on first use  */
	bool cached;
};

static struct {
	struct hash *ht;
	struct list lru;              /* oldest first */
	size_t budget;
	struct sound_cache_stats stats;
} cache = { .budget = 64u << 20 };


static size_t sound_bytes(const struct sound *snd)
{
	size_t b = snd->n * sizeof(int16_t);

	for (int i = 0; i < CODEC_MAX; i++)
		b += snd->enc[i] ? snd->n : 0;

	return b;
}


static void cache_unlink(struct sound *snd)
{
	if (!snd->cached)
		return;

	snd->cached = false;
	hash_unlink(&snd->he);
	list_unlink(&snd->lru);
	--cache.stats.entries;
	cache.stats.bytes -= sound_bytes(snd);
}


static void destructor(void *arg)
{
	struct sound *snd = arg;

	cache_unlink(snd);
	mem_deref(snd->key);
	mem_deref(snd->pcm);
	for (int i = 0; i < CODEC_MAX; i++)
		mem_deref(snd->enc[i]);
}


/* Linear interpolation from one rate to another, channels kept: only to
 * reach 48000 Hz (from 44100, 22050, 32000...), whose low-pass filter in
 * auresamp then does the real work. */
static int lerp(int16_t **outp, size_t *outfr, const int16_t *in,
		size_t frames, unsigned ch, uint32_t from, uint32_t to)
{
	size_t n = (size_t)((uint64_t)frames * to / from);
	int16_t *out;

	out = mem_alloc((n ? n : 1) * ch * sizeof(*out), NULL);
	if (!out)
		return ENOMEM;

	for (size_t j = 0; j < n; j++) {
		uint64_t pos = ((uint64_t)j * from << 16) / to;
		size_t i = (size_t)(pos >> 16);
		int32_t frac = (int32_t)(pos & 0xffff);

		for (unsigned c = 0; c < ch; c++) {
			int32_t a = in[i * ch + c];
			int32_t b = i + 1 < frames ? in[(i + 1) * ch + c] : a;

			out[j * ch + c] = (int16_t)(a + (((b - a) * frac) >> 16));
		}
	}

	*outp = out;
	*outfr = n;

	return 0;
}


/* Down by an integer ratio with auresamp (its low-pass, then every
 * ratio-th sample); @a och 1 mixes stereo down. */
static int decimate(int16_t **outp, size_t *outfr, const int16_t *in,
		    size_t frames, uint32_t irate, unsigned ich, uint32_t orate,
		    unsigned och)
{
	struct auresamp rs;
	unsigned ratio = irate / orate;
	size_t total = frames / ratio, done = 0, off = 0;
	int16_t *out;
	int err = 0;

	out = mem_alloc((total ? total : 1) * och * sizeof(*out), NULL);
	if (!out)
		return ENOMEM;

	auresamp_init(&rs);
	if (irate == orate && ich == och) {
		memcpy(out, in, total * och * sizeof(*out));
		done = total;
	}
	else {
		err = auresamp_setup(&rs, irate, ich, orate, och);
	}

	/* auresamp filters into its output first: room for all it is given */
	while (!err && done < total) {
		int16_t tmp[CHUNK * MAX_RATIO * 2];
		size_t nfr = (size_t)CHUNK * ratio, outc = ARRAY_SIZE(tmp);

		if (nfr > (total - done) * ratio)
			nfr = (total - done) * ratio;

		err = auresamp(&rs, tmp, &outc, in + off * ich, nfr * ich);
		if (err)
			break;
		outc /= och;
		if (outc > total - done)
			outc = total - done;
		memcpy(out + done * och, tmp, outc * och * sizeof(*tmp));
		done += outc;
		off += nfr;
	}

	if (err) {
		mem_deref(out);
		return err;
	}

	*outp = out;
	*outfr = total;

	return 0;
}


/*
 * Any rate, mono or stereo, to 8000 Hz mono.  Of auresamp's filters the
 * 48000 -> 8000 Hz one is flat in the voice band (its 16000 -> 8000 one
 * loses 2 dB at 1 kHz): a 96000 Hz file goes through 48000 Hz, any other
 * rate is brought to 48000 Hz by linear interpolation first, so that the
 * 4 kHz low-pass is always that one.
 */
static int to_8k(int16_t **outp, size_t *outn, const int16_t *in,
		 size_t frames, uint32_t rate, unsigned ch)
{
	int16_t *mid = NULL;
	size_t midfr = 0;
	int err;

	if (!rate || ch < 1 || ch > 2)
		return ENOTSUP;

	if (rate == SOUND_RATE || rate == MID_RATE)
		return decimate(outp, outn, in, frames, rate, ch, SOUND_RATE, 1);

	if (rate == 2 * MID_RATE)
		err = decimate(&mid, &midfr, in, frames, rate, ch, MID_RATE, ch);
	else
		err = lerp(&mid, &midfr, in, frames, ch, rate, MID_RATE);
	if (!err)
		err = decimate(outp, outn, mid, midfr, MID_RATE, ch,
			       SOUND_RATE, 1);
	mem_deref(mid);

	return err;
}


static int sound_new(struct sound **sndp, int16_t *pcm, size_t n)
{
	struct sound *snd = mem_zalloc(sizeof(*snd), destructor);

	if (!snd) {
		mem_deref(pcm);
		return ENOMEM;
	}

	snd->pcm = pcm;
	snd->n = n;
	*sndp = snd;

	return 0;
}


/** A sound from PCM of any rate, 1 or 2 channels (not cached). */
int sound_from_pcm(struct sound **sndp, const int16_t *pcm, size_t frames,
		   uint32_t rate, unsigned ch)
{
	int16_t *out = NULL;
	size_t n = 0;
	int err;

	if (!sndp || (!pcm && frames))
		return EINVAL;

	err = to_8k(&out, &n, pcm, frames, rate, ch);
	if (err)
		return err;

	return sound_new(sndp, out, n);
}


static bool has_ext(const char *path, const char *ext)
{
	size_t lp = strlen(path), le = strlen(ext);

	return lp > le && 0 == str_casecmp(path + lp - le, ext);
}


static int read_file(struct sound **sndp, const char *path)
{
	SF_INFO info;
	SNDFILE *sf;
	int16_t *buf;
	sf_count_t frames, got;
	int err;

	memset(&info, 0, sizeof(info));
	if (has_ext(path, ".gsm")) {   /* raw GSM 6.10, as Asterisk writes */
		info.format = SF_FORMAT_RAW | SF_FORMAT_GSM610;
		info.samplerate = SOUND_RATE;
		info.channels = 1;
	}

	sf = sf_open(path, SFM_READ, &info);
	if (!sf)
		return EBADMSG;

	frames = info.frames;
	if (info.channels < 1 || info.channels > 2 || info.samplerate <= 0) {
		sf_close(sf);
		return ENOTSUP;
	}
	if (frames > (sf_count_t)info.samplerate * MAX_SECONDS)
		frames = (sf_count_t)info.samplerate * MAX_SECONDS;

	buf = mem_alloc((size_t)(frames ? frames : 1) * info.channels *
			sizeof(*buf), NULL);
	if (!buf) {
		sf_close(sf);
		return ENOMEM;
	}

	got = sf_readf_short(sf, buf, frames);
	sf_close(sf);

	err = sound_from_pcm(sndp, buf, got > 0 ? (size_t)got : 0,
			     (uint32_t)info.samplerate,
			     (unsigned)info.channels);
	mem_deref(buf);

	return err;
}


static bool key_cmp(struct le *le, void *arg)
{
	const struct sound *snd = le->data;

	return 0 == strcmp(snd->key, arg);
}


static struct sound *cache_find(const char *key)
{
	if (!cache.ht)
		return NULL;

	return list_ledata(hash_lookup(cache.ht, hash_joaat_str(key),
				       key_cmp, (void *)key));
}


/* Drop sounds no call plays, oldest first, while over budget. */
static void cache_trim(void)
{
	struct le *le = list_head(&cache.lru);

	while (le && cache.stats.bytes > cache.budget) {
		struct sound *snd = le->data;

		le = le->next;
		if (mem_nrefs(snd) == 1)
			mem_deref(snd);   /* the cache's reference */
	}
}


static int cache_add(struct sound *snd, const char *key)
{
	int err;

	if (!cache.ht) {
		err = hash_alloc(&cache.ht, 256);
		if (err)
			return err;
	}

	err = str_dup(&snd->key, key);
	if (err)
		return err;

	hash_append(cache.ht, hash_joaat_str(key), &snd->he, snd);
	list_append(&cache.lru, &snd->lru, snd);
	snd->cached = true;
	mem_ref(snd);
	++cache.stats.entries;
	cache.stats.bytes += sound_bytes(snd);
	cache_trim();

	return 0;
}


static struct sound *cache_hit(struct sound *snd)
{
	list_unlink(&snd->lru);                 /* now the youngest */
	list_append(&cache.lru, &snd->lru, snd);
	++cache.stats.hits;

	return mem_ref(snd);
}


/**
 * The sound in a file, from the cache when the file did not change.
 *
 * @return 0, ENOENT (no such file), EBADMSG (not a sound file libsndfile
 *         reads), ENOTSUP (more than 2 channels), ENOMEM
 */
int sound_load(struct sound **sndp, const char *path)
{
	struct sound *snd;
	struct stat st;
	int err;

	if (!sndp || !path)
		return EINVAL;

	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return ENOENT;

	snd = cache_find(path);
	if (snd && snd->size == st.st_size &&
	    snd->mtime.tv_sec == st.st_mtim.tv_sec &&
	    snd->mtime.tv_nsec == st.st_mtim.tv_nsec) {
		*sndp = cache_hit(snd);
		return 0;
	}
	if (snd) {        /* changed on disk: players keep the old one */
		cache_unlink(snd);
		mem_deref(snd);
	}

	err = read_file(&snd, path);
	if (err)
		return err;

	snd->mtime = st.st_mtim;
	snd->size = st.st_size;
	++cache.stats.loads;
	err = cache_add(snd, path);
	if (err) {
		mem_deref(snd);
		return err;
	}

	*sndp = snd;

	return 0;
}


/** One second of f1 + f2 Hz (f2 may be 0), from librem's autone: whole
 *  periods, so it loops without a click.  Cached like files. */
int sound_tone(struct sound **sndp, uint32_t f1, uint32_t f2)
{
	struct sound *snd;
	struct mbuf *mb;
	char key[32];
	int l1 = f2 ? TONE_LEVEL_DUAL : TONE_LEVEL_SINGLE;
	int err;

	if (!sndp || !f1 || f1 >= SOUND_RATE / 2 || f2 >= SOUND_RATE / 2)
		return EINVAL;

	re_snprintf(key, sizeof(key), "tone:%u+%u", f1, f2);
	snd = cache_find(key);
	if (snd) {
		*sndp = cache_hit(snd);
		return 0;
	}

	mb = mbuf_alloc(SOUND_RATE * sizeof(int16_t));
	if (!mb)
		return ENOMEM;

	err = autone_sine(mb, SOUND_RATE, f1, l1, f2, f2 ? l1 : 0);
	if (!err)
		err = sound_from_pcm(&snd, (const int16_t *)mb->buf,
				     mb->end / sizeof(int16_t), SOUND_RATE, 1);
	mem_deref(mb);
	if (err)
		return err;

	err = cache_add(snd, key);
	if (err) {
		mem_deref(snd);
		return err;
	}

	*sndp = snd;

	return 0;
}


size_t sound_samples(const struct sound *snd)
{
	return snd ? snd->n : 0;
}


const int16_t *sound_pcm(const struct sound *snd)
{
	return snd ? snd->pcm : NULL;
}


/** The sound in G.711, made once per law (a copy per frame after that). */
const uint8_t *sound_encoded(struct sound *snd, enum codec_id codec)
{
	uint8_t *enc;

	if (!snd || !codec_get(codec))
		return NULL;
	if (snd->enc[codec])
		return snd->enc[codec];

	enc = mem_alloc(snd->n ? snd->n : 1, NULL);
	if (!enc)
		return NULL;

	for (size_t i = 0; i < snd->n; i++)
		enc[i] = codec_encode_sample(codec, snd->pcm[i]);

	snd->enc[codec] = enc;
	if (snd->cached) {
		cache.stats.bytes += snd->n;
		cache_trim();
	}

	return enc;
}


void sound_cache_flush(void)
{
	struct le *le;

	while ((le = list_head(&cache.lru))) {
		struct sound *snd = le->data;

		cache_unlink(snd);   /* players keep theirs */
		mem_deref(snd);
	}

	cache.ht = mem_deref(cache.ht);
}


void sound_cache_set_budget(size_t bytes)
{
	cache.budget = bytes;
	cache_trim();
}


const struct sound_cache_stats *sound_cache_stats(void)
{
	return &cache.stats;
}


/**
 * A sound name or recording path relative to its folder: components of
 * letters, digits and `_ - + .`, separated by `/`; none empty, none
 * starting with a dot (no `..`, no hidden or temporary files).  What a
 * caller dials cannot leave the folder.
 */
bool sound_name_ok(const char *name)
{
	bool start = true;
	size_t len;

	if (!name)
		return false;

	len = strlen(name);
	if (len == 0 || len > 200)
		return false;

	for (const char *p = name; *p; p++) {
		char c = *p;

		if (c == '/') {
			if (start)
				return false;   /* leading or doubled '/' */
			start = true;
			continue;
		}
		if (start && c == '.')
			return false;
		if (!(('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') ||
		      ('0' <= c && c <= '9') || c == '_' || c == '-' ||
		      c == '+' || c == '.'))
			return false;
		start = false;
	}

	return !start;   /* no trailing '/' */
}
