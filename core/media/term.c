/**
 * @file term.c  A leg whose media the PBX terminates: players, DTMF out
 * and echo on the way out, events and samples on the way in.
 */
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "media/feed.h"
#include "media/mclock.h"
#include "media/player.h"
#include "media/stream.h"
#include "media/term.h"

enum {
	PAYLOAD_MAX = 1280,     /* bytes of one packet we echo or decode */
	GAP_FRAMES = 2,         /* a longer pause gets the marker bit    */
	DTMF_GAP_FRAMES = 3,    /* silence between two digits we send   */
	DTMF_MAX = 32,
};

enum dtmf_state { DT_IDLE = 0, DT_ON, DT_ENDING, DT_GAP };

struct term {
	struct stream *stream;
	struct term_params prm;
	struct mclock_src clk;
	struct feed_ear ear;        /* a live player's: the feed sends    */
	struct mbuf *mb;            /* the one packet buffer, reused      */
	struct player *player;
	bool echo, want_audio;
	uint32_t ts_base;           /* random, RFC 3550                   */
	uint32_t next_ts;           /* after the last audio packet        */
	bool tx_started;
	uint64_t last_frame;        /* of the clock, of the last packet   */

	/* RFC 4733 out */
	struct telev *telev;
	char digits[DTMF_MAX + 1];
	size_t digit_idx;
	enum dtmf_state dt;
	uint32_t dt_frames;         /* left in this state                 */
	uint32_t dt_on_frames;
	uint32_t ev_ts;

	int16_t pcm[PAYLOAD_MAX];
	term_event_h *evh;
	term_telev_h *televh;
	term_audio_h *audioh;
	void *arg;
	term_audio_h *sinkh;        /* a mixer's, beside the owner's      */
	void *sink_arg;
	struct term_stats stats;
};


static void destructor(void *arg)
{
	struct term *t = arg;

	mclock_stop(&t->clk);
	feed_unlisten(&t->ear);
	stream_set_handler(t->stream, NULL, NULL);
	mem_deref(t->stream);
	mem_deref(t->mb);
	mem_deref(t->player);
	mem_deref(t->telev);
}


/* The stream's payload, as it goes out; mb holds it after the header. */
static void send_packet(struct term *t, bool marker, int pt, uint32_t ts)
{
	if (pt < 0)
		return;

	t->mb->pos = RTP_HEADER_SIZE;
	(void)stream_send(t->stream, marker, (uint8_t)pt, ts, t->mb);
}


/* Audio of @a n samples in mb, for the frame @a frame of the clock. */
static void send_audio(struct term *t, uint64_t frame, size_t n)
{
	uint32_t clock_ts = t->ts_base + (uint32_t)(frame * TERM_FRAME);
	int32_t ahead = (int32_t)(clock_ts - t->next_ts);
	bool marker = !t->tx_started || ahead > GAP_FRAMES * TERM_FRAME;
	uint32_t ts = ahead > 0 || !t->tx_started ? clock_ts : t->next_ts;

	t->mb->end = RTP_HEADER_SIZE + n;
	send_packet(t, marker, t->prm.tx_pt, ts);
	t->tx_started = true;
	t->next_ts = ts + (uint32_t)n;
	t->last_frame = frame;
	++t->stats.tx_audio;
}


static void emit(struct term *t, enum term_event ev)
{
	if (t->evh)
		t->evh(ev, t->arg);
}


/* RFC 4733 out, one frame: a digit lasts dt_on_frames (at least the 9
 * packets libre's telev sends), then 3 end packets, then a short gap. */
static void dtmf_frame(struct term *t, uint64_t frame)
{
	bool marker = false;
	int err;

	if (t->dt == DT_GAP) {
		if (--t->dt_frames)
			return;
		t->dt = DT_IDLE;
	}

	if (t->dt == DT_IDLE) {
		char c = t->digits[t->digit_idx];

		if (!c) {
			t->digits[0] = 0;
			t->digit_idx = 0;
			emit(t, TERM_DTMF_SENT);
			return;
		}
		(void)telev_send(t->telev, telev_digit2code(c), false);
		t->dt = DT_ON;
		t->dt_frames = t->dt_on_frames;
	}

	t->mb->pos = t->mb->end = RTP_HEADER_SIZE;
	err = telev_poll(t->telev, &marker, t->mb);
	if (!err) {
		if (marker) {
			uint32_t clock_ts = t->ts_base +
				(uint32_t)(frame * TERM_FRAME);

			t->ev_ts = (int32_t)(clock_ts - t->next_ts) > 0
				? clock_ts : t->next_ts;
		}
		send_packet(t, marker, t->prm.tx_telev_pt, t->ev_ts);
		++t->stats.tx_events;
	}

	if (t->dt == DT_ON && --t->dt_frames == 0) {
		(void)telev_send(t->telev, 0, true);
		t->dt = DT_ENDING;
	}
	else if (t->dt == DT_ENDING && err == ENOENT) {
		++t->digit_idx;
		t->dt = DT_GAP;
		t->dt_frames = DTMF_GAP_FRAMES;
	}
}


static void play_frame(struct term *t, uint64_t frame)
{
	uint8_t *p = t->mb->buf + RTP_HEADER_SIZE;
	size_t n = player_read(t->player, t->prm.codec, p, TERM_FRAME);

	if (n) {
		if (n < TERM_FRAME)
			memset(p + n, codec_encode_sample(t->prm.codec, 0),
			       TERM_FRAME - n);
		send_audio(t, frame, TERM_FRAME);
	}

	if (player_done(t->player)) {
		t->player = mem_deref(t->player);
		emit(t, TERM_PLAYED);
	}
}


static void tick(uint64_t frame, void *arg)
{
	struct term *t = arg;

	if (t->digits[0])           /* audio pauses while digits go out */
		dtmf_frame(t, frame);
	else if (t->player && !feed_listening(&t->ear))
		play_frame(t, frame);

	if (!t->digits[0] && (!t->player || feed_listening(&t->ear)))
		mclock_stop(&t->clk);
}


/* A frame of the feed we listen to (a live player): our header on the
 * bytes every listener gets. */
static void feed_frame(uint64_t frame, const uint8_t *const *frames,
		       size_t n, void *arg)
{
	struct term *t = arg;
	const uint8_t *src = (unsigned)t->prm.codec < CODEC_MAX ?
		frames[t->prm.codec] : NULL;

	if (t->digits[0] || !src || n > PAYLOAD_MAX)
		return;             /* audio pauses while digits go out */

	memcpy(t->mb->buf + RTP_HEADER_SIZE, src, n);
	send_audio(t, frame, n);
}


static void echo_packet(struct term *t, const uint8_t *p, size_t n)
{
	if (t->player || t->digits[0])
		return;

	memcpy(t->mb->buf + RTP_HEADER_SIZE, p, n);
	send_audio(t, mclock_frame_now(), n);
}


/* Decoded once for both: the owner's handler (digits, recordings) and
 * the sink (a mixer). */
static void decode(struct term *t, const uint8_t *p, size_t n, uint32_t ts)
{
	bool owner = t->want_audio && t->audioh;

	if (!owner && !t->sinkh)
		return;

	codec_decode(t->prm.codec, p, t->pcm, n);
	if (owner)
		t->audioh(t->pcm, n, ts, t->arg);
	if (t->sinkh)
		t->sinkh(t->pcm, n, ts, t->sink_arg);
}


static void rtp_handler(const struct rtp_header *hdr, struct mbuf *mb,
			void *arg)
{
	struct term *t = arg;
	const uint8_t *p = mbuf_buf(mb);
	size_t n = mbuf_get_left(mb);

	if ((int)hdr->pt == t->prm.rx_telev_pt) {
		++t->stats.rx_events;
		if (t->televh)
			t->televh(mb, t->arg);
		return;
	}

	if ((int)hdr->pt != t->prm.rx_pt || n == 0 || n > PAYLOAD_MAX)
		return;

	++t->stats.rx_audio;
	if (t->echo)
		echo_packet(t, p, n);
	decode(t, p, n, hdr->ts);
}


int term_alloc(struct term **tp, struct stream *s,
	       const struct term_params *prm, term_event_h *evh,
	       term_telev_h *televh, term_audio_h *audioh, void *arg)
{
	struct term *t;
	int err;

	if (!tp || !s || !prm)
		return EINVAL;

	t = mem_zalloc(sizeof(*t), destructor);
	if (!t)
		return ENOMEM;

	t->stream = mem_ref(s);
	t->prm = *prm;
	t->ts_base = rand_u32();
	t->evh = evh;
	t->televh = televh;
	t->audioh = audioh;
	t->arg = arg;
	t->dt_on_frames = 5;

	t->mb = mbuf_alloc(RTP_HEADER_SIZE + PAYLOAD_MAX);
	err = t->mb ? telev_alloc(&t->telev, MCLOCK_PTIME) : ENOMEM;
	if (err) {
		mem_deref(t);
		return err;
	}

	stream_set_handler(s, rtp_handler, t);
	*tp = t;

	return 0;
}


/** After a re-INVITE: the leg's codec and payload types. */
void term_set_params(struct term *t, const struct term_params *prm)
{
	if (t && prm)
		t->prm = *prm;
}


/** Send @a p from the next frame on, instead of what played before
 *  (which is dropped without an event).  NULL stops. */
void term_play(struct term *t, struct player *p)
{
	if (!t)
		return;

	feed_unlisten(&t->ear);
	mem_deref(t->player);
	t->player = mem_ref(p);
	if (player_feed(p))
		feed_listen(player_feed(p), &t->ear, feed_frame, t);
	else if (p)
		mclock_start(&t->clk, tick, t);
}


/** Stop playing at once: the frame under way is the last one sent. */
void term_stop(struct term *t)
{
	term_play(t, NULL);
}


bool term_playing(const struct term *t)
{
	return t && t->player;
}


void term_echo(struct term *t, bool on)
{
	if (t)
		t->echo = on;
}


void term_want_audio(struct term *t, bool on)
{
	if (t)
		t->want_audio = on;
}


/**
 * A second consumer of the decoded samples, whatever term_want_audio()
 * says: a mixer (media/mixer.h).  One at a time; NULL removes it.
 *
 * @return 0, EBUSY when another sink is set
 */
int term_set_sink(struct term *t, term_audio_h *h, void *arg)
{
	if (!t)
		return EINVAL;
	if (h && t->sinkh && (t->sinkh != h || t->sink_arg != arg))
		return EBUSY;

	t->sinkh = h;
	t->sink_arg = h ? arg : NULL;

	return 0;
}


/**
 * Send one frame made elsewhere (a mixer's output, encoded once and
 * shared by many terms) as the frame @a frame of the media clock, with
 * this leg's sequence numbers and timestamps.  What the term plays itself
 * (a prompt, digits, echo) has precedence: the frame is then dropped, as
 * is a second frame for the same tick.  @a codec is the payload's; it is
 * transcoded when the leg's law differs.
 */
void term_send_frame(struct term *t, uint64_t frame, enum codec_id codec,
		     const uint8_t *payload, size_t n)
{
	uint8_t *p;

	if (!t || !payload || !n || n > PAYLOAD_MAX)
		return;
	if (t->player || t->digits[0] || t->echo)
		return;
	if (t->tx_started && frame <= t->last_frame)
		return;

	p = t->mb->buf + RTP_HEADER_SIZE;
	memcpy(p, payload, n);
	if (codec != t->prm.codec)
		codec_transcode(codec, t->prm.codec, p, n);
	send_audio(t, frame, n);
}


struct stream *term_stream(const struct term *t)
{
	return t ? t->stream : NULL;
}


enum codec_id term_codec(const struct term *t)
{
	return t ? t->prm.codec : CODEC_NONE;
}


/**
 * Send digits as RFC 4733 events, each for @a dur_ms (at least 180 ms:
 * libre's telev sends 9 packets), 60 ms apart.
 *
 * @return 0, EINVAL (a character that is no digit, too many), EBUSY
 *         (digits still going out), ENOTSUP (the leg takes no events)
 */
int term_send_dtmf(struct term *t, const char *digits, uint32_t dur_ms)
{
	size_t n;

	if (!t || !digits)
		return EINVAL;
	if (t->prm.tx_telev_pt < 0)
		return ENOTSUP;
	if (t->digits[0])
		return EBUSY;

	n = strlen(digits);
	if (!n || n > DTMF_MAX)
		return EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (telev_digit2code(digits[i]) < 0)
			return EINVAL;
	}

	memcpy(t->digits, digits, n + 1);
	t->digit_idx = 0;
	t->dt = DT_IDLE;
	t->dt_on_frames = dur_ms / MCLOCK_PTIME ? dur_ms / MCLOCK_PTIME : 1;
	mclock_start(&t->clk, tick, t);

	return 0;
}


bool term_sending_dtmf(const struct term *t)
{
	return t && t->digits[0];
}


const struct term_stats *term_stats(const struct term *t)
{
	return t ? &t->stats : NULL;
}


uint32_t term_last_ts(const struct term *t)
{
	return t ? t->next_ts : 0;
}
