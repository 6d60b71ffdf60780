/**
 * @file sound.h  Sound files decoded once and shared by every call that
 * plays them.
 *
 * A sound is 8000 Hz mono 16-bit PCM, whatever the file was (any rate,
 * mono or stereo, 16-bit, float or GSM: libsndfile reads it, librem's
 * auresamp brings it to 8000 Hz).  Its G.711 encodings are made on first
 * use, so sending a frame of a prompt or of music on hold is a copy.
 *
 * sound_load() keeps what it loaded in a cache keyed by path; a file that
 * changed on disk (size or time) is loaded again.  Sounds nobody plays are
 * dropped, oldest first, when the cache grows past its budget.
 */

enum { SOUND_RATE = 8000 };

struct sound;

int  sound_load(struct sound **sndp, const char *path);
int  sound_tone(struct sound **sndp, uint32_t f1, uint32_t f2);
size_t sound_samples(const struct sound *snd);
const int16_t *sound_pcm(const struct sound *snd);
const uint8_t *sound_encoded(struct sound *snd, enum codec_id codec);
int  sound_from_pcm(struct sound **sndp, const int16_t *pcm, size_t n,
		    uint32_t rate, unsigned ch);

struct sound_cache_stats {
	uint32_t entries;
	size_t bytes;
	uint64_t hits, loads;
};

void sound_cache_flush(void);
void sound_cache_set_budget(size_t bytes);
const struct sound_cache_stats *sound_cache_stats(void);

bool sound_name_ok(const char *name);
