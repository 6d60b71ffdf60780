/**
 * @file codec.h  Audio codecs the PBX speaks, and G.711 transcoding.
 *
 * Only G.711 is transcoded (a table lookup per byte); other codecs, video
 * among them, are relayed untouched when both legs agree on them.
 */

enum codec_id {
	CODEC_NONE = 0,
	CODEC_PCMU,
	CODEC_PCMA,
	CODEC_MAX,
};

#define CODEC_MASK(id)  (1u << (id))
#define CODEC_MASK_ALL  (CODEC_MASK(CODEC_PCMU) | CODEC_MASK(CODEC_PCMA))

struct codec {
	enum codec_id id;
	const char *name;     /**< SDP encoding name             */
	uint8_t pt;           /**< static RTP payload type       */
	uint32_t srate;       /**< clock rate                    */
};

const struct codec *codec_get(enum codec_id id);
const struct codec *codec_by_pt(uint8_t pt);
const struct codec *codec_find(const char *name, uint32_t srate);
void codec_transcode(enum codec_id from, enum codec_id to,
		     uint8_t *buf, size_t len);
int16_t codec_decode_sample(enum codec_id id, uint8_t byte);
uint8_t codec_encode_sample(enum codec_id id, int16_t sample);
void codec_encode(enum codec_id id, const int16_t *pcm, uint8_t *out,
		  size_t n);
void codec_decode(enum codec_id id, const uint8_t *in, int16_t *pcm,
		  size_t n);
