/**
 * @file term.h  The PBX terminates a leg's media.
 *
 * Out: what a player produces, one frame per media-clock tick, RFC 4733
 * digits, or an echo of what comes in; with the leg's own sequence numbers
 * (libre's rtp socket), timestamps that follow the wall clock across
 * pauses, and the marker bit on the first packet after one.
 * In: telephone events and, when the owner wants them, decoded samples.
 * A mixer (media/mixer.h) plugs in beside the owner: it takes the decoded
 * samples through a sink and sends its mix through term_send_frame().
 *
 * Per packet nothing is allocated and no Lua runs: the owner hears about
 * whole things only (a player ended, the digits went out).
 */

struct term;
struct player;
struct stream;

enum term_event { TERM_PLAYED, TERM_DTMF_SENT };

typedef void (term_event_h)(enum term_event ev, void *arg);
typedef void (term_audio_h)(const int16_t *pcm, size_t n, uint32_t ts,
			    void *arg);
typedef void (term_telev_h)(struct mbuf *mb, void *arg);

struct term_params {
	enum codec_id codec;   /**< the law the leg negotiated           */
	int tx_pt, rx_pt;      /**< its payload types, each way          */
	int tx_telev_pt;       /**< -1: the leg takes no telephone-event */
	int rx_telev_pt;
};

struct term_stats {
	uint64_t tx_audio, tx_events, rx_audio, rx_events;
};

enum { TERM_FRAME = 160 };   /* samples per 20 ms at 8000 Hz */

int  term_alloc(struct term **tp, struct stream *s,
		const struct term_params *prm, term_event_h *evh,
		term_telev_h *televh, term_audio_h *audioh, void *arg);
void term_set_params(struct term *t, const struct term_params *prm);
void term_play(struct term *t, struct player *p);
void term_stop(struct term *t);
bool term_playing(const struct term *t);
void term_echo(struct term *t, bool on);
void term_want_audio(struct term *t, bool on);
int  term_set_sink(struct term *t, term_audio_h *h, void *arg);
void term_send_frame(struct term *t, uint64_t frame, enum codec_id codec,
		     const uint8_t *payload, size_t n);
enum codec_id term_codec(const struct term *t);
struct stream *term_stream(const struct term *t);
int  term_send_dtmf(struct term *t, const char *digits, uint32_t dur_ms);
bool term_sending_dtmf(const struct term *t);
const struct term_stats *term_stats(const struct term *t);
uint32_t term_last_ts(const struct term *t);
