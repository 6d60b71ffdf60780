/**
 * @file callmedia.c  Media operations of a call, and what ends them.
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
#include "sip/call.h"
#include "sip/call_priv.h"
#include "sip/callmedia.h"
#include "sip/endpoint.h"

enum { REC_POLL_MS = 50, STOP_DIGITS_MAX = 16 };

enum media_op {
	MOP_NONE = 0, MOP_PLAY, MOP_DIGIT, MOP_RECORD, MOP_ECHO,
	MOP_SEND_DTMF,
};

struct callmedia {
	struct call *call;
	struct term *term;
	struct dtmf_in *dtmf;
	enum media_op op;
	char stop[STOP_DIGITS_MAX + 1];   /* digits that end the operation */
	struct tmr tmr;

	struct player *pending;           /* to play once media is up      */
	struct recorder *rec;
	struct record_opts ro;
	bool rec_on;                      /* past the beep                 */
	uint64_t rec_start, last_loud;

	enum media_end end;               /* how the last operation ended  */
	char digit;
	uint64_t samples;
};

static const char *end_names[] = {
	"", "done", "digit", "timeout", "hangup", "silence", "error"
};


static void destructor(void *arg)
{
	struct callmedia *cm = arg;

	tmr_cancel(&cm->tmr);
	mem_deref(cm->pending);
	mem_deref(cm->rec);     /* an unfinished recording is removed */
	mem_deref(cm->term);
	mem_deref(cm->dtmf);
}


const char *media_end_name(enum media_end end)
{
	return end <= MEND_ERROR ? end_names[end] : "?";
}


/* Decode what comes in only when someone listens: in-band DTMF or a
 * recording. */
static void update_audio(struct callmedia *cm)
{
	term_want_audio(cm->term, dtmf_in_wants_audio(cm->dtmf) ||
			(cm->op == MOP_RECORD && cm->rec_on));
}


static enum media_end record_finish(struct callmedia *cm,
				    enum media_end end)
{
	if (!cm->rec)
		return end;

	if (!cm->rec_on) {                     /* ended during the beep */
		recorder_abort(cm->rec);
		cm->samples = 0;
	}
	else if (recorder_close(cm->rec, end == MEND_SILENCE)) {
		log_warn("call %llu: recording %s failed", cm->call->id,
			 recorder_path(cm->rec));
		end = MEND_ERROR;
	}
	else {
		cm->samples = recorder_samples(cm->rec);
	}

	cm->rec = mem_deref(cm->rec);
	cm->rec_on = false;

	return end;
}


static void finish(struct callmedia *cm, enum media_end end, char digit)
{
	struct call *call = cm->call;
	enum media_op op = cm->op;

	if (op == MOP_NONE)
		return;

	cm->op = MOP_NONE;
	tmr_cancel(&cm->tmr);
	cm->pending = mem_deref(cm->pending);

	switch (op) {

	case MOP_PLAY:
		term_stop(cm->term);
		break;

	case MOP_ECHO:
		term_echo(cm->term, false);
		break;

	case MOP_RECORD:
		term_stop(cm->term);
		end = record_finish(cm, end);
		break;

	default:
		break;
	}

	cm->end = end;
	cm->digit = digit;
	update_audio(cm);

	if (call->wait == WAIT_MEDIA)
		call_wake(call);
}


/* Digits queued while an operation that stops on some of them runs: all
 * are consumed, the first of the set ends it. */
static bool take_stop_digit(struct callmedia *cm)
{
	int d;

	if (!cm->stop[0])
		return false;

	while ((d = dtmf_in_pop(cm->dtmf)) >= 0) {
		if (strchr(cm->stop, d)) {
			finish(cm, MEND_DIGIT, (char)d);
			return true;
		}
	}

	return false;
}


static void digit_handler(char digit, enum dtmf_src src, void *arg)
{
	struct callmedia *cm = arg;
	int d;

	log_info("call %llu: DTMF '%c' (%s)", cm->call->id, digit,
		 dtmf_src_name(src));

	switch (cm->op) {

	case MOP_DIGIT:
		d = dtmf_in_pop(cm->dtmf);
		finish(cm, MEND_DIGIT, (char)d);
		break;

	case MOP_PLAY:
	case MOP_ECHO:
	case MOP_RECORD:
		(void)take_stop_digit(cm);
		break;

	default:
		break;
	}

	update_audio(cm);   /* auto mode stops listening in-band */
}


static void start_recording(struct callmedia *cm)
{
	cm->rec_on = true;
	cm->rec_start = cm->last_loud = tmr_jiffies();
	update_audio(cm);
}


static void term_event(enum term_event ev, void *arg)
{
	struct callmedia *cm = arg;

	if (ev == TERM_PLAYED && cm->op == MOP_PLAY)
		finish(cm, MEND_DONE, 0);
	else if (ev == TERM_PLAYED && cm->op == MOP_RECORD && !cm->rec_on)
		start_recording(cm);
	else if (ev == TERM_DTMF_SENT && cm->op == MOP_SEND_DTMF)
		finish(cm, MEND_DONE, 0);
}


static void telev_handler(struct mbuf *mb, void *arg)
{
	struct callmedia *cm = arg;

	dtmf_in_event(cm->dtmf, mb);
}


static void audio_handler(const int16_t *pcm, size_t n, uint32_t ts,
			  void *arg)
{
	struct callmedia *cm = arg;

	dtmf_in_audio(cm->dtmf, pcm, n);

	if (cm->op == MOP_RECORD && cm->rec_on &&
	    !recorder_write(cm->rec, pcm, n, ts))
		cm->last_loud = tmr_jiffies();
}


static struct callmedia *get(struct call *call)
{
	struct callmedia *cm;
	enum dtmf_mode mode = call->ep ? (enum dtmf_mode)call->ep->dtmf
				       : DTMF_AUTO;

	if (call->media)
		return call->media;

	cm = mem_zalloc(sizeof(*cm), destructor);
	if (!cm)
		return NULL;

	cm->call = call;
	tmr_init(&cm->tmr);
	if (dtmf_in_alloc(&cm->dtmf, mode, digit_handler, cm)) {
		mem_deref(cm);
		return NULL;
	}

	call->media = cm;

	return cm;
}


/* Play now, or as soon as the caller's media is up (a late offer: the
 * caller's answer comes with its ACK). */
static void play(struct callmedia *cm, struct player *p)
{
	if (cm->term) {
		term_play(cm->term, p);
		return;
	}

	mem_deref(cm->pending);
	cm->pending = mem_ref(p);
}


/* The media came up while an operation waited for it. */
static void resume(struct callmedia *cm)
{
	if (cm->pending) {
		term_play(cm->term, cm->pending);
		cm->pending = mem_deref(cm->pending);
	}
	if (cm->op == MOP_ECHO)
		term_echo(cm->term, true);
	update_audio(cm);
}


static void term_params(const struct call *call, struct term_params *p)
{
	const struct leg *a = &call->a;

	p->codec = a->codec;
	p->tx_pt = sdpneg_tx_pt(a->sdp, a->codec);
	p->rx_pt = sdpneg_rx_pt(a->sdp, a->codec);
	p->tx_telev_pt = sdpneg_tx_telev_pt(a->sdp);
	p->rx_telev_pt = sdpneg_rx_telev_pt(a->sdp);
}


/**
 * The caller's media is up with the PBX's own SDP (200 or 183): from now
 * on the PBX hears its digits and can play to it.
 */
int callmedia_attach(struct call *call)
{
	struct callmedia *cm = get(call);
	struct term_params prm;
	int err;

	if (!cm)
		return ENOMEM;
	if (!call->a.stream || call->a.codec == CODEC_NONE)
		return ENOTCONN;

	term_params(call, &prm);
	if (cm->term) {
		term_set_params(cm->term, &prm);
		return 0;
	}

	err = term_alloc(&cm->term, call->a.stream, &prm, term_event,
			 telev_handler, audio_handler, cm);
	if (!err)
		resume(cm);

	return err;
}


void callmedia_caller_gone(struct call *call)
{
	struct callmedia *cm = call->media;

	if (!cm)
		return;

	finish(cm, MEND_HANGUP, 0);
	term_stop(cm->term);
	term_echo(cm->term, false);
}


/** SIP INFO in the caller's dialog: DTMF relay, 200; else 415. */
void callmedia_info(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	struct callmedia *cm = get(call);
	struct pl body;
	char ctype[64];
	int err;

	re_snprintf(ctype, sizeof(ctype), "%r/%r", &msg->ctyp.type,
		    &msg->ctyp.subtype);
	body.p = (const char *)mbuf_buf(msg->mb);
	body.l = mbuf_get_left(msg->mb);

	if (call->peer) {   /* bridged: not for an IVR that ran before */
		(void)sip_reply(sip, msg, 200, "OK");
		return;
	}

	err = cm ? dtmf_in_info(cm->dtmf, ctype, &body) : ENOMEM;
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
static bool media_coming(const struct call *call)
{
	return call->state == CALL_ANSWERED && call->a.late_offer &&
		call->a.codec == CODEC_NONE;
}


/* Make sure the caller's media is ours (answering if need be), and clear
 * the last result.  With a late offer the operation starts before the
 * media: its sound plays when the ACK brings the caller's answer. */
static int begin(struct call *call, struct callmedia **cmp)
{
	struct callmedia *cm;
	int err = 0;

	if (call->state == CALL_ENDED || call->a.closed)
		return ENOTCONN;

	if (call->state != CALL_ANSWERED &&
	    !(call->state == CALL_EARLY && call->a.stream))
		err = call_answer(call);
	if (!err && !media_coming(call))
		err = callmedia_attach(call);   /* codec and payload types */
	if (err)
		return err;

	cm = get(call);
	if (!cm || (!cm->term && !media_coming(call)))
		return ENOTCONN;

	cm->end = MEND_NONE;
	cm->digit = 0;
	cm->samples = 0;
	*cmp = cm;

	return 0;
}


static void timeout_handler(void *arg)
{
	finish(arg, MEND_TIMEOUT, 0);
}


/* The operation is under way unless something already ended it. */
static int wait_for(struct callmedia *cm, const struct media_stop *stop)
{
	if (stop) {
		str_ncpy(cm->stop, stop->digits ? stop->digits : "",
			 sizeof(cm->stop));
		if (take_stop_digit(cm))
			return 0;
		if (stop->timeout_ms)
			tmr_start(&cm->tmr, stop->timeout_ms,
				  timeout_handler, cm);
	}

	if (cm->op != MOP_NONE)
		cm->call->wait = WAIT_MEDIA;

	return 0;
}


/**
 * Play @a p (prompts, music, a tone) until it ends, or until @a stop says.
 * Digits already queued end it at once when they are stop digits.
 */
int callmedia_play(struct call *call, struct player *p,
		   const struct media_stop *stop)
{
	struct callmedia *cm;
	int err = begin(call, &cm);

	if (err)
		return err;

	cm->op = MOP_PLAY;
	play(cm, p);

	return wait_for(cm, stop);
}


/** The next digit, queued or to come; @a timeout_ms 0 waits for ever. */
int callmedia_read_digit(struct call *call, uint32_t timeout_ms)
{
	struct media_stop stop = { timeout_ms, NULL };
	struct callmedia *cm;
	int err = begin(call, &cm), d;

	if (err)
		return err;

	d = dtmf_in_pop(cm->dtmf);
	if (d >= 0) {
		cm->end = MEND_DIGIT;
		cm->digit = (char)d;
		return 0;
	}

	cm->op = MOP_DIGIT;

	return wait_for(cm, &stop);
}


static void rec_poll(void *arg)
{
	struct callmedia *cm = arg;
	uint64_t now = tmr_jiffies();

	if (cm->rec_on && cm->ro.max_ms && now - cm->rec_start >= cm->ro.max_ms) {
		finish(cm, MEND_TIMEOUT, 0);
		return;
	}
	if (cm->rec_on && cm->ro.silence_ms &&
	    now - cm->last_loud >= cm->ro.silence_ms) {
		finish(cm, MEND_SILENCE, 0);
		return;
	}

	tmr_start(&cm->tmr, REC_POLL_MS, rec_poll, cm);
}


/**
 * Record what the caller says into @a rec (which this takes), after
 * @a beep has played if given.  Digits queued before are dropped.
 */
int callmedia_record(struct call *call, struct recorder *rec,
		     struct player *beep, const struct record_opts *o)
{
	struct media_stop stop = { 0, o->terminator };
	struct callmedia *cm;
	int err = begin(call, &cm);

	if (err) {
		mem_deref(rec);
		return err;
	}

	dtmf_in_flush(cm->dtmf);
	cm->op = MOP_RECORD;
	cm->rec = rec;
	cm->ro = *o;
	cm->ro.terminator = NULL;
	cm->rec_on = false;

	if (beep)
		play(cm, beep);
	else
		start_recording(cm);

	tmr_start(&cm->tmr, REC_POLL_MS, rec_poll, cm);
	str_ncpy(cm->stop, stop.digits ? stop.digits : "", sizeof(cm->stop));
	cm->call->wait = WAIT_MEDIA;

	return 0;
}


/** Send back what the caller sends until @a stop says (or hang up). */
int callmedia_echo(struct call *call, const struct media_stop *stop)
{
	struct callmedia *cm;
	int err = begin(call, &cm);

	if (err)
		return err;

	term_stop(cm->term);
	cm->op = MOP_ECHO;
	term_echo(cm->term, true);

	return wait_for(cm, stop);
}


int callmedia_send_dtmf(struct call *call, const char *digits,
			uint32_t dur_ms)
{
	struct callmedia *cm;
	int err = begin(call, &cm);

	if (err)
		return err;

	err = term_send_dtmf(cm->term, digits, dur_ms);
	if (err)
		return err;

	cm->op = MOP_SEND_DTMF;

	return wait_for(cm, NULL);
}


enum media_end callmedia_result(const struct call *call, char *digit,
				uint64_t *samples)
{
	const struct callmedia *cm = call->media;

	if (digit)
		*digit = cm ? cm->digit : 0;
	if (samples)
		*samples = cm ? cm->samples : 0;

	return cm ? cm->end : (call->a.closed ? MEND_HANGUP : MEND_NONE);
}


void callmedia_flush_digits(struct call *call)
{
	if (call->media)
		dtmf_in_flush(call->media->dtmf);
}


size_t callmedia_pending_digits(const struct call *call)
{
	return call->media ? dtmf_in_pending(call->media->dtmf) : 0;
}
