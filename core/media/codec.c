/**
 * @file codec.c  The codec table and G.711 u-law <-> a-law transcoding.
 */
#include <string.h>
#include <re.h>
#include <rem.h>
#include "media/codec.h"

static const struct codec codecs[CODEC_MAX] = {
	[CODEC_PCMU] = { CODEC_PCMU, "PCMU", 0, 8000 },
	[CODEC_PCMA] = { CODEC_PCMA, "PCMA", 8, 8000 },
};

/* u-law <-> a-law through linear, computed once (256 bytes each). */
static uint8_t ulaw2alaw[256], alaw2ulaw[256];
static bool tables_ready;


static void tables_init(void)
{
	for (int i = 0; i < 256; i++) {
		ulaw2alaw[i] = g711_pcm2alaw(g711_ulaw2pcm((uint8_t)i));
		alaw2ulaw[i] = g711_pcm2ulaw(g711_alaw2pcm((uint8_t)i));
	}
	tables_ready = true;
}


const struct codec *codec_get(enum codec_id id)
{
	if (id <= CODEC_NONE || id >= CODEC_MAX)
		return NULL;
	return &codecs[id];
}


const struct codec *codec_find(const char *name, uint32_t srate)
{
	for (int i = CODEC_NONE + 1; i < CODEC_MAX; i++) {
		if (0 == str_casecmp(name, codecs[i].name) &&
		    (!srate || srate == codecs[i].srate))
			return &codecs[i];
	}
	return NULL;
}


const struct codec *codec_by_pt(uint8_t pt)
{
	for (int i = CODEC_NONE + 1; i < CODEC_MAX; i++) {
		if (codecs[i].pt == pt)
			return &codecs[i];
	}
	return NULL;
}


void codec_transcode(enum codec_id from, enum codec_id to,
		     uint8_t *buf, size_t len)
{
	const uint8_t *table;

	if (from == to || codec_get(from) == NULL || codec_get(to) == NULL)
		return;
	if (!tables_ready)
		tables_init();

	table = from == CODEC_PCMU ? ulaw2alaw : alaw2ulaw;
	for (size_t i = 0; i < len; i++)
		buf[i] = table[buf[i]];
}


int16_t codec_decode_sample(enum codec_id id, uint8_t byte)
{
	return id == CODEC_PCMA ? g711_alaw2pcm(byte) : g711_ulaw2pcm(byte);
}


/* librem's encoders negate the sample: -32768 would index its tables out
 * of range (A-law) or come out as zero (u-law). */
static inline int16_t encodable(int16_t s)
{
	return s == INT16_MIN ? -INT16_MAX : s;
}


uint8_t codec_encode_sample(enum codec_id id, int16_t sample)
{
	sample = encodable(sample);

	return id == CODEC_PCMA ? g711_pcm2alaw(sample)
				: g711_pcm2ulaw(sample);
}


/** @a n samples into G.711 bytes (one table look-up each). */
void codec_encode(enum codec_id id, const int16_t *pcm, uint8_t *out,
		  size_t n)
{
	if (id == CODEC_PCMA) {
		for (size_t i = 0; i < n; i++)
			out[i] = g711_pcm2alaw(encodable(pcm[i]));
	}
	else {
		for (size_t i = 0; i < n; i++)
			out[i] = g711_pcm2ulaw(encodable(pcm[i]));
	}
}


/** @a n G.711 bytes into samples. */
void codec_decode(enum codec_id id, const uint8_t *in, int16_t *pcm,
		  size_t n)
{
	const int16_t *table = id == CODEC_PCMA ? g711_A2l : g711_u2l;

	for (size_t i = 0; i < n; i++)
		pcm[i] = table[in[i]];
}
