/**
 * @file legmedia.c  Media operations on one leg, and what ends them.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "media/dtmf.h"
#include "media/player.h"
#include "media/recorder.h"
#include "media/sdpneg.h"
#include "media/sound.h"
#include "media/stream.h"
#include "media/term.h"
#include "sip/endpoint.h"
#include "call/leg.h"
#include "call/legmedia.h"
#include "call/callev.h"

enum { REC_POLL_MS = 50, STOP_DIGITS_MAX = 16, DTMF_OUT_MAX = 32,
       INFO_DURATION_MS = 160 };

enum media_op {
	MOP_NONE = 0, MOP_PLAY, MOP_DIGIT, MOP_RECORD, MOP_ECHO,
	MOP_SEND_DTMF,
};

struct legmedia {
	struct leg *leg;
	struct term *term;
	struct dtmf_in *dtmf;
	enum media_op op;
	char stop[STOP_DIGITS_MAX + 1];   /* digits that end the operation */
	struct tmr tmr;

	struct player *pending;           /* to play once media is up      */
	struct player *bg;                /* music under no operation      */
	struct recorder *rec;
	struct record_opts ro;
	bool rec_on;                      /* past the beep                 */
	uint64_t rec_start, last_loud;

	legmedia_digit_h *sinkh;          /* digits go there, not queued   */
	void *sink_arg;
	char out[DTMF_OUT_MAX + 1];       /* digits relayed, to send       */
	bool relaying;                    /* term busy with out[]          */
	bool mixed;                       /* a mixer hears it: its own
					     prompts may play in a bridge  */

	enum media_end end;               /* how the last operation ended  */
	char digit;
	uint64_t samples;
};

static const char *end_names[] = {
	"", "done", "digit", "timeout", "hangup", "silence", "error",
	"stopped"
};


static void destructor(void *arg)
{
	struct legmedia *lm = arg;

	tmr_cancel(&lm->tmr);
	leg_unwatch(lm->leg, LEG_W_MEDIA, lm);
	leg_set_info_handler(lm->leg, NULL, NULL);
	mem_deref(lm->pending);
	mem_deref(lm->bg);
	mem_deref(lm->rec);     /* an unfinished recording is removed */
	mem_deref(lm->term);
	mem_deref(lm->dtmf);
}


const char *media_end_name(enum media_end end)
{
	return end <= MEND_STOPPED ? end_names[end] : "?";
}


/* Decode what comes in only when someone listens: in-band DTMF or a
 * recording. */
static void update_audio(struct legmedia *lm)
{
	term_want_audio(lm->term, dtmf_in_wants_audio(lm->dtmf) ||
			(lm->op == MOP_RECORD && lm->rec_on));
}


static enum media_end record_finish(struct legmedia *lm,
				    enum media_end end)
{
	if (!lm->rec)
		return end;

	if (!lm->rec_on) {                     /* ended during the beep */
		recorder_abort(lm->rec);
		lm->samples = 0;
	}
	else if (recorder_close(lm->rec, end == MEND_SILENCE)) {
		log_warn("leg %llu: recording %s failed", leg_id(lm->leg),
			 recorder_path(lm->rec));
		end = MEND_ERROR;
	}
	else {
		lm->samples = recorder_samples(lm->rec);
	}

	lm->rec = mem_deref(lm->rec);
	lm->rec_on = false;

	return end;
}


static void finish(struct legmedia *lm, enum media_end end, char digit)
{
	enum media_op op = lm->op;

	if (op == MOP_NONE)
		return;

	lm->op = MOP_NONE;
	tmr_cancel(&lm->tmr);
	lm->pending = mem_deref(lm->pending);

	switch (op) {

	case MOP_PLAY:
		term_stop(lm->term);
		break;

	case MOP_ECHO:
		term_echo(lm->term, false);
		break;

	case MOP_RECORD:
		term_stop(lm->term);
		end = record_finish(lm, end);
		break;

	default:
		break;
	}

	lm->end = end;
	lm->digit = digit;
	update_audio(lm);
	leg_emit(lm->leg, LEG_EV_OP_DONE);
}


/* Digits queued while an operation that stops on some of them runs: all
 * are consumed, the first of the set ends it. */
static bool take_stop_digit(struct legmedia *lm)
{
	int d;

	if (!lm->stop[0])
		return false;

	while ((d = dtmf_in_pop(lm->dtmf)) >= 0) {
		if (strchr(lm->stop, d)) {
			finish(lm, MEND_DIGIT, (char)d);
			return true;
		}
	}

	return false;
}


static void digit_handler(char digit, enum dtmf_src src, void *arg)
{
	struct legmedia *lm = arg;
	int d;

	log_info("leg %llu: DTMF '%c' (%s)", leg_id(lm->leg), digit,
		 dtmf_src_name(src));
	callev_dtmf(lm->leg, digit, dtmf_src_name(src));

	if (lm->sinkh) {   /* a bridge's feature keys */
		d = dtmf_in_pop(lm->dtmf);
		if (d >= 0)
			lm->sinkh(lm->leg, (char)d, lm->sink_arg);
		update_audio(lm);
		return;
	}

	switch (lm->op) {

	case MOP_DIGIT:
		d = dtmf_in_pop(lm->dtmf);
		finish(lm, MEND_DIGIT, (char)d);
		break;

	case MOP_PLAY:
	case MOP_ECHO:
	case MOP_RECORD:
		(void)take_stop_digit(lm);
		break;

	default:
		break;
	}

	update_audio(lm);   /* auto mode stops listening in-band */
	if (dtmf_in_pending(lm->dtmf))
		leg_emit(lm->leg, LEG_EV_DTMF);
}


static void start_recording(struct legmedia *lm)
{
	lm->rec_on = true;
	lm->rec_start = lm->last_loud = tmr_jiffies();
	update_audio(lm);
}


static void relay_next(struct legmedia *lm);


static void term_event(enum term_event ev, void *arg)
{
	struct legmedia *lm = arg;

	if (ev == TERM_PLAYED && lm->op == MOP_PLAY)
		finish(lm, MEND_DONE, 0);
	else if (ev == TERM_PLAYED && lm->op == MOP_RECORD && !lm->rec_on)
		start_recording(lm);
	else if (ev == TERM_DTMF_SENT && lm->op == MOP_SEND_DTMF)
		finish(lm, MEND_DONE, 0);
	else if (ev == TERM_DTMF_SENT && lm->relaying)
		relay_next(lm);
}


static void telev_handler(struct mbuf *mb, void *arg)
{
	struct legmedia *lm = arg;

	dtmf_in_event(lm->dtmf, mb);
}


static void audio_handler(const int16_t *pcm, size_t n, uint32_t ts,
			  void *arg)
{
	struct legmedia *lm = arg;

	dtmf_in_audio(lm->dtmf, pcm, n);

	if (lm->op == MOP_RECORD && lm->rec_on &&
	    !recorder_write(lm->rec, pcm, n, ts))
		lm->last_loud = tmr_jiffies();
}


static void term_params(const struct leg *leg, struct term_params *p)
{
	const struct sdpneg *sdp = leg_sdp(leg);

	p->codec = leg_codec(leg);
	p->tx_pt = sdpneg_tx_pt(sdp, p->codec);
	p->rx_pt = sdpneg_rx_pt(sdp, p->codec);
	p->tx_telev_pt = sdpneg_tx_telev_pt(sdp);
	p->rx_telev_pt = sdpneg_rx_telev_pt(sdp);
}


/* The media came up while an operation waited for it. */
static void resume(struct legmedia *lm)
{
	if (lm->pending) {
		term_play(lm->term, lm->pending);
		lm->pending = mem_deref(lm->pending);
	}
	if (lm->op == MOP_ECHO)
		term_echo(lm->term, true);
	update_audio(lm);
}


/* The leg's end ends its operation (a recording is kept) and frees the
 * term, which holds its socket; new media (a late offer's ACK, a
 * re-INVITE) gives the term the new codec. */
static void leg_handler(struct leg *leg, enum leg_event ev, void *arg)
{
	struct legmedia *lm = arg;

	switch (ev) {

	case LEG_EV_CLOSED:
		finish(lm, MEND_HANGUP, 0);
		lm->bg = mem_deref(lm->bg);
		lm->term = mem_deref(lm->term);
		lm->sinkh = NULL;
		break;

	case LEG_EV_MEDIA:
		if (lm->term || lm->op != MOP_NONE || lm->pending)
			(void)legmedia_attach(leg);
		break;

	default:
		break;
	}
}


static void info_handler(struct leg *leg, struct sip *sip,
			 const struct sip_msg *msg, void *arg);


static struct legmedia *get(struct leg *leg)
{
	const struct endpoint *ep = leg_endpoint(leg);
	enum dtmf_mode mode = ep ? (enum dtmf_mode)ep->dtmf : DTMF_AUTO;
	struct legmedia *lm = leg_media(leg);

	if (lm || leg_closed(leg))
		return lm;

	lm = mem_zalloc(sizeof(*lm), destructor);
	if (!lm)
		return NULL;

	lm->leg = leg;
	tmr_init(&lm->tmr);
	if (dtmf_in_alloc(&lm->dtmf, mode, digit_handler, lm)) {
		mem_deref(lm);
		return NULL;
	}

	leg_set_media(leg, lm);   /* the leg owns it */
	leg_watch(leg, LEG_W_MEDIA, leg_handler, lm);
	leg_set_info_handler(leg, info_handler, lm);

	return lm;
}


/**
 * The leg's media is up (answered with the PBX's SDP, a callee that
 * answered, ...): from now on the PBX hears its digits and can play to it.
 */
int legmedia_attach(struct leg *leg)
{
	struct legmedia *lm = get(leg);
	struct term_params prm;
	int err;

	if (!lm)
		return leg_closed(leg) ? ENOTCONN : ENOMEM;
	if (!leg_stream(leg) || leg_codec(leg) == CODEC_NONE)
		return ENOTCONN;

	term_params(leg, &prm);
	if (lm->term) {
		term_set_params(lm->term, &prm);
		return 0;
	}

	err = term_alloc(&lm->term, leg_stream(leg), &prm, term_event,
			 telev_handler, audio_handler, lm);
	if (!err)
		resume(lm);

	return err;
}


/** SIP INFO in the leg's dialog: DTMF relay, 200; else 415. */
static void info_handler(struct leg *leg, struct sip *sip,
			 const struct sip_msg *msg, void *arg)
{
	struct legmedia *lm = arg;
	struct pl body;
	char ctype[64];
	int err;
	(void)leg;

	re_snprintf(ctype, sizeof(ctype), "%r/%r", &msg->ctyp.type,
		    &msg->ctyp.subtype);
	body.p = (const char *)mbuf_buf(msg->mb);
	body.l = mbuf_get_left(msg->mb);

	err = dtmf_in_info(lm->dtmf, ctype, &body);
	if (err == ENOTSUP)
		(void)sip_treplyf(NULL, NULL, sip, msg, false, 415,
				  "Unsupported Media Type",
				  "Accept: application/dtmf-relay,"
				  " application/dtmf\r\n"
				  "Content-Length: 0\r\n\r\n");
	else if (err == EPROTO)
		(void)sip_reply(sip, msg, 400, "Bad DTMF Body");
	else if (err)
		(void)sip_reply(sip, msg, 500, "Server Internal Error");
	else
		(void)sip_reply(sip, msg, 200, "OK");
}


/* Media that comes with the ACK: an answered late offer still waiting
 * for the caller's answer. */
static bool media_coming(const struct leg *leg)
{
	return leg_state(leg) == LEG_ANSWERED && leg_late_offer(leg) &&
		leg_codec(leg) == CODEC_NONE;
}


/* Make sure the leg's media is ours (answering an incoming leg if need
 * be), stop what played under no operation, and clear the last result.
 * With a late offer the operation starts before the media: its sound
 * plays when the ACK brings the caller's answer. */
static int begin(struct leg *leg, struct legmedia **lmp)
{
	enum leg_state st = leg_state(leg);
	struct legmedia *lm;
	int err = 0;

	if (leg_closed(leg))
		return ENOTCONN;
	lm = leg_media(leg);
	if (leg_bridge(leg) && !(lm && lm->mixed))
		return EBUSY;

	if (st != LEG_ANSWERED && !(st == LEG_EARLY && leg_stream(leg)))
		err = leg_answer(leg);
	if (!err && !media_coming(leg))
		err = legmedia_attach(leg);   /* codec and payload types */
	if (err)
		return err;

	lm = get(leg);
	if (!lm || (!lm->term && !media_coming(leg)))
		return ENOTCONN;

	finish(lm, MEND_STOPPED, 0);   /* one operation at a time */
	lm->bg = mem_deref(lm->bg);
	term_stop(lm->term);
	lm->end = MEND_NONE;
	lm->digit = 0;
	lm->samples = 0;
	lm->stop[0] = 0;
	*lmp = lm;

	return 0;
}


/* Play now, or as soon as the leg's media is up. */
static void play(struct legmedia *lm, struct player *p)
{
	if (lm->term) {
		term_play(lm->term, p);
		return;
	}

	mem_deref(lm->pending);
	lm->pending = mem_ref(p);
}


static void timeout_handler(void *arg)
{
	finish(arg, MEND_TIMEOUT, 0);
}


/* The operation is under way unless something already ended it. */
static int wait_for(struct legmedia *lm, const struct media_stop *stop)
{
	if (!stop)
		return 0;

	str_ncpy(lm->stop, stop->digits ? stop->digits : "",
		 sizeof(lm->stop));
	if (take_stop_digit(lm))
		return 0;
	if (stop->timeout_ms && lm->op != MOP_NONE)
		tmr_start(&lm->tmr, stop->timeout_ms, timeout_handler, lm);

	return 0;
}


/**
 * Play @a p (prompts, music, a tone) until it ends, or until @a stop says.
 * Digits already queued end it at once when they are stop digits.
 */
int legmedia_play(struct leg *leg, struct player *p,
		  const struct media_stop *stop)
{
	struct legmedia *lm;
	int err = begin(leg, &lm);

	if (err)
		return err;

	lm->op = MOP_PLAY;
	play(lm, p);

	return wait_for(lm, stop);
}


/** The next digit, queued or to come; @a timeout_ms 0 waits for ever. */
int legmedia_read_digit(struct leg *leg, uint32_t timeout_ms)
{
	struct media_stop stop = { timeout_ms, NULL };
	struct legmedia *lm;
	int err = begin(leg, &lm), d;

	if (err)
		return err;

	d = dtmf_in_pop(lm->dtmf);
	if (d >= 0) {
		lm->end = MEND_DIGIT;
		lm->digit = (char)d;
		return 0;
	}

	lm->op = MOP_DIGIT;

	return wait_for(lm, &stop);
}


static void rec_poll(void *arg)
{
	struct legmedia *lm = arg;
	uint64_t now = tmr_jiffies();

	if (lm->rec_on && lm->ro.max_ms && now - lm->rec_start >= lm->ro.max_ms) {
		finish(lm, MEND_TIMEOUT, 0);
		return;
	}
	if (lm->rec_on && lm->ro.silence_ms &&
	    now - lm->last_loud >= lm->ro.silence_ms) {
		finish(lm, MEND_SILENCE, 0);
		return;
	}

	tmr_start(&lm->tmr, REC_POLL_MS, rec_poll, lm);
}


/**
 * Record what the leg's party says into @a rec (which this takes), after
 * @a beep has played if given.  Digits queued before are dropped.
 */
int legmedia_record(struct leg *leg, struct recorder *rec,
		    struct player *beep, const struct record_opts *o)
{
	struct legmedia *lm;
	int err = begin(leg, &lm);

	if (err) {
		mem_deref(rec);
		return err;
	}

	dtmf_in_flush(lm->dtmf);
	lm->op = MOP_RECORD;
	lm->rec = rec;
	lm->ro = *o;
	lm->ro.terminator = NULL;
	lm->rec_on = false;

	if (beep)
		play(lm, beep);
	else
		start_recording(lm);

	tmr_start(&lm->tmr, REC_POLL_MS, rec_poll, lm);
	str_ncpy(lm->stop, o->terminator ? o->terminator : "",
		 sizeof(lm->stop));

	return 0;
}


/** Send back what the leg sends until @a stop says (or it hangs up). */
int legmedia_echo(struct leg *leg, const struct media_stop *stop)
{
	struct legmedia *lm;
	int err = begin(leg, &lm);

	if (err)
		return err;

	lm->op = MOP_ECHO;
	term_echo(lm->term, true);

	return wait_for(lm, stop);
}


int legmedia_send_dtmf(struct leg *leg, const char *digits, uint32_t dur_ms)
{
	struct legmedia *lm;
	int err = begin(leg, &lm);

	if (err)
		return err;

	err = term_send_dtmf(lm->term, digits, dur_ms);
	if (err)
		return err;

	lm->op = MOP_SEND_DTMF;

	return 0;
}


/** Music under no operation (StartMusicOnHold): it plays until an
 *  operation starts, the leg joins a bridge, or legmedia_stop(). */
int legmedia_background(struct leg *leg, struct player *p)
{
	struct legmedia *lm;
	int err;

	if (leg_closed(leg))
		return ENOTCONN;
	if (leg_codec(leg) == CODEC_NONE && !media_coming(leg) &&
	    leg_state(leg) != LEG_ANSWERED && (err = leg_answer(leg)))
		return err;

	err = legmedia_attach(leg);
	lm = get(leg);
	if (!lm)
		return err ? err : ENOMEM;
	if (err && !media_coming(leg))
		return err;

	finish(lm, MEND_STOPPED, 0);
	mem_deref(lm->bg);
	lm->bg = mem_ref(p);
	play(lm, p);

	return 0;
}


/** End the operation under way (@a end says how) and stop what plays. */
void legmedia_stop(struct leg *leg, enum media_end end)
{
	struct legmedia *lm = leg_media(leg);

	if (!lm)
		return;

	finish(lm, end, 0);
	lm->bg = mem_deref(lm->bg);
	lm->pending = mem_deref(lm->pending);
	term_stop(lm->term);
	term_echo(lm->term, false);
}


bool legmedia_busy(const struct leg *leg)
{
	const struct legmedia *lm = leg_media(leg);

	return lm && lm->op != MOP_NONE;
}


enum media_end legmedia_result(const struct leg *leg, char *digit,
			       uint64_t *samples)
{
	const struct legmedia *lm = leg_media(leg);

	if (digit)
		*digit = lm ? lm->digit : 0;
	if (samples)
		*samples = lm ? lm->samples : 0;

	if (lm && lm->end != MEND_NONE)
		return lm->end;

	return leg_closed(leg) ? MEND_HANGUP : MEND_NONE;
}


void legmedia_flush_digits(struct leg *leg)
{
	struct legmedia *lm = leg_media(leg);

	if (lm)
		dtmf_in_flush(lm->dtmf);
}


size_t legmedia_pending_digits(const struct leg *leg)
{
	const struct legmedia *lm = leg_media(leg);

	return lm ? dtmf_in_pending(lm->dtmf) : 0;
}


/** The oldest queued digit, or -1. */
int legmedia_pop_digit(struct leg *leg)
{
	struct legmedia *lm = leg_media(leg);

	return lm ? dtmf_in_pop(lm->dtmf) : -1;
}


/** Digits go to @a h instead of the queue (NULL: back to the queue). */
void legmedia_set_sink(struct leg *leg, legmedia_digit_h *h, void *arg)
{
	struct legmedia *lm = h ? get(leg) : leg_media(leg);

	if (!lm)
		return;

	lm->sinkh = h;
	lm->sink_arg = arg;
}


static int info_digit(struct leg *leg, char digit)
{
	struct mbuf *mb = mbuf_alloc(64);
	int err;

	if (!mb)
		return ENOMEM;

	err = mbuf_printf(mb, "Signal=%c\r\nDuration=%u\r\n", digit,
			  INFO_DURATION_MS);
	mb->pos = 0;
	if (!err)
		err = sipsess_info(leg_sess(leg), "application/dtmf-relay",
				   mb, NULL, NULL);
	mem_deref(mb);

	return err;
}


static void relay_next(struct legmedia *lm)
{
	size_t n = strlen(lm->out);

	lm->relaying = false;
	if (!n)
		return;

	if (0 == term_send_dtmf(lm->term, lm->out, 100)) {
		lm->relaying = true;
		lm->out[0] = 0;
	}
}


/**
 * A digit of another leg, passed on to this one: as an RFC 4733 event
 * when the leg takes them, else by SIP INFO.  Digits that come while
 * some are still going out wait their turn.
 */
int legmedia_dtmf_out(struct leg *leg, char digit)
{
	struct legmedia *lm;
	size_t n;

	if (leg_closed(leg))
		return ENOTCONN;
	if (sdpneg_tx_telev_pt(leg_sdp(leg)) < 0 || legmedia_attach(leg))
		return info_digit(leg, digit);

	lm = leg_media(leg);
	n = strlen(lm->out);
	if (n >= DTMF_OUT_MAX)
		return EOVERFLOW;

	lm->out[n] = digit;
	lm->out[n + 1] = 0;
	if (!lm->relaying && !term_sending_dtmf(lm->term))
		relay_next(lm);

	return 0;
}


/** The leg's RFC 4733 events come to the PBX even while its audio is
 *  relayed (a bridge's feature keys), or are relayed with it. */
void legmedia_telev_local(struct leg *leg, bool local)
{
	int pt = sdpneg_rx_telev_pt(leg_sdp(leg));

	if (pt < 0)
		return;
	if (local)
		(void)legmedia_attach(leg);
	stream_set_pt_local(leg_stream(leg), (uint8_t)pt, local);
}


/** The leg's terminated media (NULL until legmedia_attach()): a mixer
 *  plugs it in (media/mixer.h). */
struct term *legmedia_term(const struct leg *leg)
{
	const struct legmedia *lm = leg_media(leg);

	return lm ? lm->term : NULL;
}


/** A mixer hears the leg and sends it its mix: prompts may play to it
 *  while it is in its bridge (they take the mix's place meanwhile). */
void legmedia_set_mixed(struct leg *leg, bool mixed)
{
	struct legmedia *lm = mixed ? get(leg) : leg_media(leg);

	if (lm)
		lm->mixed = mixed;
}


/** Stop the music of legmedia_background(), not an operation. */
void legmedia_stop_background(struct leg *leg)
{
	struct legmedia *lm = leg_media(leg);

	if (!lm || !lm->bg)
		return;

	if (lm->pending == lm->bg)
		lm->pending = mem_deref(lm->pending);
	lm->bg = mem_deref(lm->bg);
	if (lm->op == MOP_NONE)
		term_stop(lm->term);
}
