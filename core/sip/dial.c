/**
 * @file dial.c  call:dial(): ring every contact of the targets at once,
 * relay their progress to the caller, bridge the first to answer, and say
 * how it ended in Asterisk's DIALSTATUS words.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "media/sdpneg.h"
#include "media/stream.h"
#include "sip/call.h"
#include "sip/call_priv.h"
#include "sip/endpoint.h"
#include "sip/registrar.h"
#include "sip/sipstack.h"
#include "sip/trunk.h"

enum { DEFAULT_TIMEOUT_S = 60 };


static void fork_destructor(void *arg)
{
	struct leg *leg = arg;

	if (leg == leg->call->peer)
		legstats_leg_end(leg->call, leg);
	list_unlink(&leg->le);
	mem_deref(leg->sess);
	mem_deref(leg->sdp);
	mem_deref(leg->stream);
	mem_deref(leg->vstream);
	mem_deref(leg->ep);
	mem_deref(leg->uri);
}


/* How a failed fork's answer reads as a DIALSTATUS (chan_sip's mapping). */
static enum dial_status status_of(uint16_t code)
{
	switch (code) {

	case 486: case 600: case 603:
		return DIAL_BUSY;
	case 408: case 480: case 487:
		return DIAL_NOANSWER;
	default:
		return code >= 500 && code < 600 ? DIAL_CONGESTION
						 : DIAL_CHANUNAVAIL;
	}
}


/* Of several forks' failures, which answer the caller should get
 * (RFC 3261 16.7: a 6xx wins, then busy, then the lowest class). */
static int rank(uint16_t code)
{
	if (code >= 600)
		return 0;
	if (code == 486)
		return 1;
	if (code >= 400 && code < 500 && code != 408 && code != 487)
		return 2;
	if (code >= 500)
		return 3;
	return 4;
}


static void note_failure(struct call *call, uint16_t code)
{
	if (!call->dial_code || rank(code) < rank(call->dial_code))
		call->dial_code = code;
}


/** The dial is over: the coroutine gets its answer. */
static void dial_finish(struct call *call, enum dial_status st)
{
	tmr_cancel(&call->dial_tmr);
	call->dial_status = st;
	call->fork_stream = mem_deref(call->fork_stream);
	call->fork_vstream = mem_deref(call->fork_vstream);
	if (call->wait == WAIT_DIAL)
		call_wake(call);
}


static void cancel_forks(struct call *call)
{
	struct le *le;

	while ((le = list_head(&call->forks))) {
		struct leg *leg = le->data;

		leg_close(leg);
		mem_deref(leg);
	}
}


void dial_abort(struct call *call, enum dial_status st, uint16_t code)
{
	cancel_forks(call);
	call->dial_code = code;
	dial_finish(call, st);
}


/* Payload types and laws between two legs, both ways. */
static void map_media(struct leg *x, struct leg *y)
{
	int rx = sdpneg_rx_pt(x->sdp, (enum codec_id)x->codec);
	int tx = sdpneg_tx_pt(y->sdp, (enum codec_id)y->codec);
	int erx = sdpneg_rx_telev_pt(x->sdp), etx = sdpneg_tx_telev_pt(y->sdp);

	stream_clear_pt_map(x->stream);
	if (rx >= 0 && tx >= 0)
		stream_set_pt_map(x->stream, (uint8_t)rx, (uint8_t)tx,
				  x->codec, y->codec);
	if (erx >= 0 && etx >= 0)
		stream_set_pt_map(x->stream, (uint8_t)erx, (uint8_t)etx,
				  CODEC_NONE, CODEC_NONE);
}


/** The caller's codec became known (late offer): map the relay again. */
void dial_relink_media(struct call *call)
{
	struct leg *b = call->peer;

	if (!b || !call->a.stream || !b->stream)
		return;

	map_media(&call->a, b);
	map_media(b, &call->a);
	log_info("call %llu: the caller answered %s (%s <-> %s)", call->id,
		 codec_get(call->a.codec)->name, codec_get(call->a.codec)->name,
		 codec_get(b->codec)->name);
}


static bool offered_by_caller(const struct call *call, enum codec_id id)
{
	uint8_t codecs[CODEC_MAX];
	size_t n = sdpneg_remote_codecs(call->a.sdp, codecs,
					ARRAY_SIZE(codecs));

	for (size_t i = 0; i < n; i++) {
		if (codecs[i] == id)
			return true;
	}
	return false;
}


/* Connect the caller's media to a far leg that answered (200 or 183). */
static int bridge_media(struct call *call, struct leg *b)
{
	struct leg *a = &call->a;
	int err;

	b->codec = sdpneg_answered_codec(b->sdp);
	if (b->codec == CODEC_NONE)
		return EPROTO;

	/* the same law on both legs when the caller allows it: no transcoding;
	 * a caller that made no offer chooses in its ACK (dial_relink_media) */
	if (!a->late_offer) {
		if (a->codec == CODEC_NONE && offered_by_caller(call, b->codec))
			a->codec = b->codec;
		if (a->codec == CODEC_NONE)
			a->codec = sdpneg_answered_codec(a->sdp);
		if (call->state != CALL_ANSWERED)
			sdpneg_keep_only(a->sdp, a->codec);
	}

	err  = leg_media_alloc(call, a);
	err |= leg_media_alloc(call, b);
	if (err)
		return err;

	map_media(a, b);
	map_media(b, a);
	stream_bridge(a->stream, b->stream);
	video_bridge(call, b);

	return 0;
}


static bool is_sdp(const struct sip_msg *msg)
{
	return msg && mbuf_get_left(msg->mb) &&
		msg_ctype_cmp(&msg->ctyp, "application", "sdp");
}


/* A re-INVITE from the answered callee: answered, mirrored to the caller. */
static int b_offer(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	struct call *call = leg->call;
	int err;

	err = sdpneg_decode(leg->sdp, msg->mb, true);
	if (err)
		return err;

	if (leg->stream)
		(void)leg_media_alloc(call, leg);
	video_offer_in(call, leg);

	err = sdpneg_encode(leg->sdp, false, descp);
	if (!err && leg == call->peer && call->a.established &&
	    !call->a.closed)
		(void)dial_mirror_offer(leg, &call->a);

	return err;
}


static void b_progress(const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	struct call *call = leg->call;

	if (msg->scode < 180 || call->a.closed || call->peer)
		return;

	/* 183 with SDP: the far end plays something (ringback, a message) */
	if (is_sdp(msg) && call->state != CALL_ANSWERED &&
	    0 == sdpneg_decode(leg->sdp, msg->mb, false) &&
	    0 == bridge_media(call, leg)) {
		(void)call_reply_sdp(call, 183, "Session Progress", false);
		return;
	}

	if (!call->ringing_sent && call->state == CALL_INCOMING) {
		call->ringing_sent = true;
		call->state = CALL_EARLY;
		(void)call_reply(call, 180, "Ringing", NULL);
	}
}


static int b_answer(const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	int err = sdpneg_decode(leg->sdp, msg->mb, false);

	if (!err && leg->established && leg->stream)
		(void)leg_media_alloc(leg->call, leg);
	if (!err && leg->established)
		video_answer_in(leg->call, leg);

	return err;
}


static void b_estab(const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	struct call *call = leg->call;
	(void)msg;

	leg->established = true;

	if (call->peer || call->a.closed) {   /* lost the race */
		leg_close(leg);
		mem_deref(leg);
		return;
	}

	list_unlink(&leg->le);
	call->peer = leg;
	cancel_forks(call);
	tmr_cancel(&call->dial_tmr);
	call->dial_status = DIAL_ANSWER;
	call->dial_code = 200;

	if (bridge_media(call, leg) ||
	    call_reply_sdp(call, 200, "OK", false)) {
		log_warn("call %llu: cannot bridge %s", call->id, leg->uri);
		leg_close(leg);
		call->peer = mem_deref(leg);
		call_hangup(call, 500);
		dial_finish(call, DIAL_CHANUNAVAIL);
		return;
	}

	log_info("call %llu: answered by %s (%s <-> %s)", call->id, leg->uri,
		 call->a.codec ? codec_get(call->a.codec)->name : "offered",
		 codec_get(leg->codec)->name);
}


/* The bridged far leg hung up: so does the caller (Asterisk's default). */
static void peer_gone(struct call *call, struct leg *leg)
{
	log_info("call %llu: %s hung up", call->id, leg->uri);
	leg->sess = mem_deref(leg->sess);
	leg->closed = true;
	call->peer = mem_deref(leg);
	call_hangup(call, 0);
	dial_finish(call, DIAL_ANSWER);
}


static void b_close(int err, const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	struct call *call = leg->call;
	uint16_t code;

	if (leg == call->peer) {
		peer_gone(call, leg);
		call_maybe_free(call);
		return;
	}

	code = msg && !msg->req && msg->scode >= 300 ? msg->scode
		: err == ETIMEDOUT ? 408 : 503;
	log_info("call %llu: %s failed: %u", call->id, leg->uri, code);
	note_failure(call, code);

	leg->sess = mem_deref(leg->sess);
	leg->closed = true;
	mem_deref(leg);

	if (list_isempty(&call->forks) && !call->peer)
		dial_finish(call, status_of(call->dial_code));

	call_maybe_free(call);
}


static void dial_timeout(void *arg)
{
	struct call *call = arg;

	log_info("call %llu: no answer", call->id);
	dial_abort(call, DIAL_NOANSWER, 480);
}


/** The caller hung up or cancelled while the dial was under way. */
void dial_caller_gone(struct call *call)
{
	if (call->peer) {
		leg_close(call->peer);
		call->peer = mem_deref(call->peer);
		dial_finish(call, DIAL_ANSWER);
		return;
	}

	dial_abort(call, DIAL_CANCEL, 487);
}


/* Codecs to offer a callee: the caller's, in its order, then the others
 * the callee allows (we transcode G.711). */
static void offer_codecs(const struct call *call, const struct endpoint *ep,
			 uint8_t *out)
{
	uint8_t theirs[CODEC_MAX];
	size_t n = 0, m;

	if (call->a.codec != CODEC_NONE)
		theirs[0] = (uint8_t)call->a.codec, m = 1;
	else
		m = sdpneg_remote_codecs(call->a.sdp, theirs,
					 ARRAY_SIZE(theirs));

	for (size_t i = 0; i < m; i++) {
		if (ep->codecs & CODEC_MASK(theirs[i]))
			out[n++] = theirs[i];
	}
	for (size_t i = 0; ep->codec_order[i] != CODEC_NONE; i++) {
		if (!memchr(out, ep->codec_order[i], n))
			out[n++] = ep->codec_order[i];
	}
	out[n] = CODEC_NONE;
}


static int fork_start(struct call *call, struct endpoint *ep,
		      const char *uri, const struct dial_opts *opts,
		      const struct dial_route *rt)
{
	struct pbx *pbx = call->pbx;
	uint8_t codecs[CODEC_MAX + 1];
	char from[256];
	struct mbuf *offer = NULL;
	struct leg *leg;
	int err;

	leg = mem_zalloc(sizeof(*leg), fork_destructor);
	if (!leg)
		return ENOMEM;

	leg->call = call;
	leg->ep = mem_ref(ep);
	leg->stream = mem_ref(call->fork_stream);
	err = str_dup(&leg->uri, uri);
	if (err)
		goto out;

	offer_codecs(call, ep, codecs);
	err = sdpneg_alloc(&leg->sdp, &pbx->set.media_addr,
			   stream_lport(leg->stream), codecs);
	if (!err)
		err = video_fork_offer(call, leg);
	if (!err)
		err = sdpneg_encode(leg->sdp, true, &offer);
	if (!err)
		err = sipstack_local_uri(pbx->stack, from, sizeof(from),
					 opts->caller_num ? opts->caller_num
					 : call->cid_num);
	if (err)
		goto out;

	err = sipsess_connect(&leg->sess, sipstack_sessock(pbx->stack),
			      leg->uri,
			      opts->caller_name ? opts->caller_name
			      : call->cid_name,
			      rt && rt->from_uri ? rt->from_uri : from,
			      "lunapbx", NULL, 0, "application/sdp", offer,
			      rt ? rt->authh : NULL, rt ? rt->aarg : NULL,
			      rt && rt->aarg, b_offer, b_answer,
			      b_progress, b_estab, NULL, NULL, b_close, leg,
			      "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO\r\n"
			      "%b", call->xhdrs ? call->xhdrs->buf : NULL,
			      call->xhdrs ? call->xhdrs->end : (size_t)0);
 out:
	mem_deref(offer);
	if (err) {
		log_warn("call %llu: cannot call %s: %m", call->id,
			 uri, err);
		mem_deref(leg);
		return err;
	}

	list_append(&call->forks, &leg->le, leg);
	log_info("call %llu: ringing %s (%s)", call->id, ep->name, uri);

	return 0;
}


/** One leg to where a trunk says (trunk.c): its URI, From, credentials. */
int dial_fork(struct call *call, const struct dial_route *rt,
	      const struct dial_opts *opts)
{
	return fork_start(call, rt->ep, rt->uri, opts, rt);
}


static int fork_endpoint(struct call *call, const char *name,
			 const struct dial_opts *opts)
{
	struct pbx *pbx = call->pbx;
	struct endpoint *ep = endpoint_table_find_str(pbx->endpoints, name);
	const struct list *contacts;
	int started = 0;

	if (!ep) {
		log_warn("call %llu: dial: no endpoint '%s'", call->id, name);
		return 0;
	}

	contacts = registrar_contacts(pbx->registrar, name);
	for (struct le *le = list_head(contacts); le; le = le->next) {
		const struct contact *c = le->data;

		if (trunk_contact_down(pbx->trunks, c->uri)) {
			log_info("call %llu: %s at %s is unreachable"
				 " (qualify)", call->id, name, c->uri);
			continue;
		}
		if (0 == fork_start(call, ep, c->uri, opts, NULL))
			++started;
	}
	if (!started)
		log_info("call %llu: %s is not registered", call->id, name);

	return started;
}


/**
 * Start ringing.  Returns 0 with the call waiting (WAIT_DIAL), or 0 with
 * the dial already over when nobody could be rung (CHANUNAVAIL).
 */
int call_dial(struct call *call, const char **targets, size_t n,
	      const struct dial_opts *opts)
{
	const struct pbx_settings *set = &call->pbx->set;
	int started = 0, err;

	call->dial_status = DIAL_NONE;
	call->dial_code = 0;

	if (call->a.closed) {
		call->dial_status = DIAL_CANCEL;
		call->dial_code = 487;
		return 0;
	}

	err = stream_alloc(&call->fork_stream, &set->media_addr,
			   set->rtp_min, set->rtp_max);
	if (err) {
		dial_abort(call, DIAL_CONGESTION, 503);
		return 0;
	}
	stream_tap(call->fork_stream, call->capture);
	(void)video_dial_start(call);   /* no port: audio only */

	for (size_t i = 0; i < n; i++) {
		int k = trunk_dial(call->pbx->trunks, call, targets[i], opts);

		started += k >= 0 ? k : fork_endpoint(call, targets[i], opts);
	}

	if (!started) {
		dial_abort(call, DIAL_CHANUNAVAIL, 480);
		return 0;
	}

	call->wait = WAIT_DIAL;
	tmr_start(&call->dial_tmr, 1000ULL * (opts->timeout_s ? opts->timeout_s
					      : DEFAULT_TIMEOUT_S),
		  dial_timeout, call);

	return 0;
}


static enum sdp_dir mirror_dir(enum sdp_dir d)
{
	switch (d) {

	case SDP_SENDONLY: return SDP_RECVONLY;
	case SDP_RECVONLY: return SDP_SENDONLY;
	default:           return d;
	}
}


/**
 * A re-INVITE on one leg (hold, resume): offer the other leg the same
 * direction, seen from its side.
 */
int dial_mirror_offer(struct leg *from, struct leg *to)
{
	struct mbuf *mb = NULL;
	int err;

	if (!to->sess)
		return ENOTCONN;

	/* what `from` does to us is what we do to `to` */
	sdpneg_set_local_dir(to->sdp, mirror_dir(sdpneg_remote_dir(from->sdp)));
	video_mirror(from->call, from, to);
	err = sdpneg_encode(to->sdp, true, &mb);
	if (!err)
		err = sipsess_modify(to->sess, mb);
	mem_deref(mb);

	return err;
}


void dial_free(struct call *call)
{
	tmr_cancel(&call->dial_tmr);
	cancel_forks(call);
	if (call->peer) {
		leg_close(call->peer);
		call->peer = mem_deref(call->peer);
	}
	call->fork_stream = mem_deref(call->fork_stream);
	call->fork_vstream = mem_deref(call->fork_vstream);
}
