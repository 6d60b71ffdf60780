/**
 * @file call.c  A call's life: the caller's leg, answering, hanging up,
 * waiting, and when the call's memory goes.  Dialling is in dial.c.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "lua/runtime.h"
#include "media/codec.h"
#include "media/sdpneg.h"
#include "media/stream.h"
#include "sip/call.h"
#include "sip/call_priv.h"
#include "sip/callmedia.h"
#include "sip/endpoint.h"
#include "sip/sipstack.h"

static const char *state_names[] = {"incoming", "early", "answered", "ended"};
static const char *dial_names[] = {"", "ANSWER", "BUSY", "NOANSWER", "CANCEL",
				   "CHANUNAVAIL", "CONGESTION"};


static void call_destructor(void *arg)
{
	struct call *call = arg;

	list_unlink(&call->le);
	tmr_cancel(&call->wait_tmr);
	legstats_leg_end(call, &call->a);
	dial_free(call);
	mem_deref(call->media);
	mem_deref(call->st);
	mem_deref(call->a.sess);
	mem_deref(call->a.sdp);
	mem_deref(call->a.stream);
	mem_deref(call->a.vstream);
	mem_deref(call->invite);
	mem_deref(call->ep);
	mem_deref(call->context);
	mem_deref(call->exten);
	mem_deref(call->cid_num);
	mem_deref(call->cid_name);
	mem_deref(call->xhdrs);
	mem_deref(call->outbound);
	mem_deref(call->callee_stats);
}


/** The call goes when its script is done and its caller is gone. */
void call_maybe_free(struct call *call)
{
	if (!call->script_done || !call->a.closed || call->peer ||
	    !list_isempty(&call->forks))
		return;

	log_info("call %llu: ended after %llu ms", call->id,
		 tmr_jiffies() - call->started);
	mem_deref(call);
}


void call_wake(struct call *call)
{
	call->wait = WAIT_NONE;
	tmr_cancel(&call->wait_tmr);
	luart_wake(call->script);
}


/** Sockets for a leg that will carry media, and the SDP port to match. */
int leg_media_alloc(struct call *call, struct leg *leg)
{
	const struct pbx_settings *set = &call->pbx->set;
	struct sa rtp, rtcp;
	int err;

	if (!leg->stream) {
		err = stream_alloc(&leg->stream, &set->media_addr,
				   set->rtp_min, set->rtp_max);
		if (err) {
			log_warn("call %llu: no RTP port: %m", call->id, err);
			return err;
		}
		stream_tap(leg->stream, call->capture);
	}
	sdpneg_set_port(leg->sdp, stream_lport(leg->stream));

	if (sdpneg_remote_addr(leg->sdp, &rtp, &rtcp))
		stream_set_remote(leg->stream, &rtp, &rtcp);
	if (sdpneg_rtcp_mux(leg->sdp, false))
		stream_set_mux(leg->stream);

	return 0;
}


/* The caller's codec: the first it offered, unless already chosen.  A
 * caller that made no offer gets ours, all codecs, and picks in its ACK. */
static int caller_media(struct call *call)
{
	struct leg *a = &call->a;

	if (!a->late_offer) {
		if (a->codec == CODEC_NONE)
			a->codec = sdpneg_answered_codec(a->sdp);
		sdpneg_keep_only(a->sdp, a->codec);
	}
	video_own_media(call);

	return leg_media_alloc(call, a);
}


void leg_close(struct leg *leg)
{
	if (leg->closed)
		return;

	leg->closed = true;
	leg->sess = mem_deref(leg->sess);   /* BYE, or CANCEL if ringing */
	if (leg->stream)
		stream_unbridge(leg->stream);
	stream_unbridge(leg->vstream);
}


void caller_gone(struct call *call)
{
	call->state = CALL_ENDED;
	call->a.closed = true;
	if (call->a.stream)
		stream_unbridge(call->a.stream);
	stream_unbridge(call->a.vstream);

	switch (call->wait) {

	case WAIT_DIAL:
		dial_caller_gone(call);
		break;

	case WAIT_SLEEP:
		call_wake(call);
		break;

	default:
		break;
	}

	callmedia_caller_gone(call);   /* ends a media wait, keeps a recording */
}


void a_close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;

	if (err && err != ECONNRESET)
		log_info("call %llu: caller leg closed: %m", call->id, err);
	else
		log_info("call %llu: caller hung up", call->id);
	(void)msg;

	call->a.sess = mem_deref(call->a.sess);
	caller_gone(call);
	call_maybe_free(call);
}


/* A re-INVITE from the caller: answer it, and tell the far leg. */
int a_offer_handler(struct mbuf **descp, const struct sip_msg *msg,
		    void *arg)
{
	struct call *call = arg;
	struct leg *a = &call->a;
	int err;

	err = sdpneg_decode(a->sdp, msg->mb, true);
	if (err)
		return err;

	if (a->stream)
		(void)leg_media_alloc(call, a);
	video_offer_in(call, a);

	err = sdpneg_encode(a->sdp, false, descp);
	if (err)
		return err;

	if (call->peer && call->peer->established)
		(void)dial_mirror_offer(a, call->peer);

	return 0;
}


/* The answer to our offer: in the ACK when the caller's INVITE had none
 * (late offer), or to a re-INVITE of ours.  Its codec is the caller's. */
int a_answer_handler(const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	struct leg *a = &call->a;
	int err;

	err = sdpneg_decode(a->sdp, msg->mb, false);
	if (err)
		return 0;

	if (a->stream)
		(void)leg_media_alloc(call, a);
	video_answer_in(call, a);

	if (!a->late_offer || a->codec != CODEC_NONE)
		return 0;

	a->codec = sdpneg_answered_codec(a->sdp);
	if (a->codec == CODEC_NONE) {
		log_warn("call %llu: the caller's answer has no codec of ours",
			 call->id);
		return EPROTO;
	}

	(void)leg_media_alloc(call, a);
	if (call->peer)
		dial_relink_media(call);
	else
		(void)callmedia_attach(call);   /* what the dialplan plays */

	return 0;
}


static void a_estab_handler(const struct sip_msg *msg, void *arg)
{
	struct call *call = arg;
	(void)msg;

	call->a.established = true;
}


/* CANCEL before the dialplan said anything: libre answered the CANCEL. */
static void a_cancelled(void *arg)
{
	struct call *call = arg;

	log_info("call %llu: caller cancelled", call->id);
	(void)sip_treplyf(&call->st, NULL, sipstack_sip(call->pbx->stack),
			  call->invite, false, 487, "Request Terminated",
			  NULL);
	caller_gone(call);
	call_maybe_free(call);
}


/**
 * Answer or progress the caller.  The first such reply creates the
 * caller's session (libre accepts with 101-299 only, so 100 Trying went
 * out on our own transaction).
 */
int call_reply(struct call *call, uint16_t scode, const char *reason,
	       struct mbuf *desc)
{
	struct pbx *pbx = call->pbx;

	if (call->a.sess)
		return scode >= 200
			? sipsess_answer(call->a.sess, scode, reason, desc, "")
			: sipsess_progress(call->a.sess, scode, reason, desc,
					   "");

	call->st = mem_deref(call->st);

	return sipsess_accept(&call->a.sess, sipstack_sessock(pbx->stack),
			      call->invite, scode, reason, "lunapbx",
			      "application/sdp", desc, NULL, NULL, false,
			      a_offer_handler, a_answer_handler,
			      a_estab_handler, callmedia_info, NULL,
			      a_close_handler,
			      call, "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS,"
			      " INFO\r\n");
}


static int set_caller_id(struct call *call, const struct sip_msg *msg)
{
	const struct endpoint *ep = call->ep;
	int err = 0;

	if (ep && ep->cid_num)
		err |= str_dup(&call->cid_num, ep->cid_num);
	else
		err |= pl_strdup(&call->cid_num, &msg->from.uri.user);

	if (ep && ep->cid_name)
		err |= str_dup(&call->cid_name, ep->cid_name);
	else if (pl_isset(&msg->from.dname))
		err |= pl_strdup(&call->cid_name, &msg->from.dname);

	return err;
}


static bool has_sdp(const struct sip_msg *msg)
{
	return mbuf_get_left(msg->mb) > 0 &&
		msg_ctype_cmp(&msg->ctyp, "application", "sdp");
}


static int negotiate_caller(struct call *call, const struct sip_msg *msg)
{
	const uint8_t all[] = { CODEC_PCMU, CODEC_PCMA, CODEC_NONE };
	uint8_t codecs[CODEC_MAX];
	int err;

	err = sdpneg_alloc(&call->a.sdp, &call->pbx->set.media_addr, 0,
			   call->ep ? call->ep->codec_order : all);
	if (err)
		return err;

	if (!has_sdp(msg)) {
		call->a.late_offer = true;   /* we offer in our answer */
		return 0;
	}

	err = sdpneg_decode(call->a.sdp, msg->mb, true);
	if (err)
		return err;

	return sdpneg_remote_codecs(call->a.sdp, codecs, ARRAY_SIZE(codecs))
		? 0 : ENOTSUP;
}


static struct call *call_new(struct pbx *pbx, struct endpoint *ep,
			     const char *context)
{
	struct call *call = mem_zalloc(sizeof(*call), call_destructor);

	if (!call)
		return NULL;

	call->pbx = pbx;
	call->id = ++pbx->call_seq;
	call->started = tmr_jiffies();
	call->a.call = call;
	call->ep = mem_ref(ep);
	tmr_init(&call->wait_tmr);
	list_init(&call->forks);

	return str_dup(&call->context, context) ? mem_deref(call) : call;
}


/**
 * A call the PBX places to endpoint @a ep (originate.c): its caller leg
 * comes when the callee answers, and then it runs @a exten as if the
 * phone had dialled it.
 */
int call_outbound(struct call **callp, struct pbx *pbx, struct endpoint *ep,
		  const char *context, const char *exten)
{
	struct call *call = call_new(pbx, ep, context);
	int err;

	if (!call)
		return ENOMEM;

	err  = str_dup(&call->exten, exten);
	err |= str_dup(&call->cid_num, ep->cid_num ? ep->cid_num : ep->name);
	if (ep->cid_name)
		err |= str_dup(&call->cid_name, ep->cid_name);
	if (err) {
		mem_deref(call);
		return err;
	}

	list_append(&pbx->calls, &call->le, call);
	*callp = call;

	return 0;
}


/**
 * A new, authenticated INVITE.  Answers it with 100 Trying and hands the
 * call to the dialplan (or refuses it: 488 when no codec is common).
 */
int call_incoming(struct pbx *pbx, const struct sip_msg *msg,
		  struct endpoint *ep, const char *context)
{
	struct call *call;
	int err;

	call = call_new(pbx, ep, context);
	if (!call)
		return ENOMEM;

	call->a.inbound = true;
	call->invite = mem_ref((void *)msg);

	err  = pl_strdup(&call->exten, &msg->uri.user);
	err |= set_caller_id(call, msg);
	if (err)
		goto refuse;

	err = negotiate_caller(call, msg);
	if (err) {
		log_info("call %llu: no common codec with %J (%m)", call->id,
			 &msg->src, err);
		(void)sip_treplyf(NULL, NULL, sipstack_sip(pbx->stack), msg,
				  false,
				  488, "Not Acceptable Here",
				  "Warning: 305 lunapbx \"Incompatible media"
				  " format\"\r\nContent-Length: 0\r\n\r\n");
		mem_deref(call);
		return err;
	}

	/* 100 Trying on a transaction of ours: retransmissions and a CANCEL
	 * are handled until the dialplan answers, rings or refuses. */
	err = sip_strans_alloc(&call->st, sipstack_sip(pbx->stack), msg,
			       a_cancelled, call);
	if (!err)
		err = sip_treplyf(&call->st, NULL, sipstack_sip(pbx->stack),
				  msg, false, 100, "Trying", NULL);
	if (err)
		goto refuse;

	list_append(&pbx->calls, &call->le, call);
	log_info("call %llu: %s <%s> -> %s@%s", call->id,
		 call->cid_name ? call->cid_name : "", call->cid_num,
		 call->exten, call->context);

	err = luart_call_start(pbx->lua, call);
	if (err) {
		call->script_done = true;
		call_hangup(call, 500);
		call_maybe_free(call);
	}
	/* the call may be gone here: the script can end at once */
	return 0;

 refuse:
	log_warn("call %llu: refused: %m", call->id, err);
	(void)sip_treply(NULL, sipstack_sip(pbx->stack), msg, 500,
			 "Server Internal Error");
	mem_deref(call);
	return err;
}


/**
 * 200 or 183 to the caller with our SDP answer; the caller's media is set
 * up first when the PBX itself terminates it (no far leg bridged yet).
 */
int call_reply_sdp(struct call *call, uint16_t scode, const char *reason,
		   bool own_media)
{
	struct mbuf *mb = NULL;
	int err = 0;

	if (call->state == CALL_ENDED)
		return ENOTCONN;
	if (call->state == CALL_ANSWERED)
		return 0;

	if (own_media)
		err = caller_media(call);

	/* Without the caller's offer ours goes in the 200 (RFC 3261 13.2.1:
	 * a 183 is not reliable without 100rel, so it carries no SDP). */
	if (!err && !(call->a.late_offer && scode < 200))
		err = sdpneg_encode(call->a.sdp, call->a.late_offer, &mb);
	if (!err)
		err = call_reply(call, scode, reason, mb);
	mem_deref(mb);

	if (!err)
		call->state = scode >= 200 ? CALL_ANSWERED : CALL_EARLY;
	if (!err && own_media)
		(void)callmedia_attach(call);   /* its digits, our prompts */

	return err;
}


int call_answer(struct call *call)
{
	return call_reply_sdp(call, 200, "OK", true);
}


int call_ringing(struct call *call)
{
	if (call->state == CALL_ENDED)
		return ENOTCONN;
	if (call->state != CALL_INCOMING)
		return 0;

	call->state = CALL_EARLY;
	call->ringing_sent = true;

	return call_reply(call, 180, "Ringing", NULL);
}


/** 183 with SDP: early media from the PBX (tones, prompts). */
int call_progress(struct call *call)
{
	return call_reply_sdp(call, 183, "Session Progress", true);
}


/** End the caller's leg: BYE when answered, else a final @a code. */
void call_hangup(struct call *call, uint16_t code)
{
	struct leg *a = &call->a;

	if (call->state == CALL_ENDED || a->closed)
		return;

	if (call->state != CALL_ANSWERED) {
		const char *reason;

		if (!code)
			code = call->final_code ? call->final_code : 603;
		reason = code == 500 ? "Server Internal Error"
			: code == 603 ? "Decline"
			: code == 486 ? "Busy Here"
			: code == 404 ? "Not Found"
			: code == 487 ? "Request Terminated"
			: code == 488 ? "Not Acceptable Here"
			: code == 503 ? "Service Unavailable"
			: code == 408 ? "Request Timeout"
			: "Temporarily Unavailable";
		if (a->sess)
			(void)sipsess_reject(a->sess, code, reason, NULL);
		else
			(void)sip_treplyf(&call->st, NULL,
					  sipstack_sip(call->pbx->stack),
					  call->invite, false, code, reason,
					  NULL);
	}

	leg_close(a);
	call->state = CALL_ENDED;
}


static void sleep_done(void *arg)
{
	call_wake(arg);
}


int call_sleep(struct call *call, uint32_t ms)
{
	if (call->state == CALL_ENDED)
		return ENOTCONN;

	call->wait = WAIT_SLEEP;
	tmr_start(&call->wait_tmr, ms, sleep_done, call);

	return 0;
}


/**
 * The dialplan function returned (or raised).  A caller still waiting for
 * an answer gets the code the dialplan chose, else the last dial's, else
 * 603 Decline, as Asterisk does; 500 when the script failed.
 */
void call_script_done(struct call *call, bool failed)
{
	call->script_done = true;
	call->script = NULL;

	if (call->state != CALL_ENDED) {
		uint16_t code = failed ? 500 : call->final_code;

		if (!code)
			code = call->dial_code;
		call_hangup(call, code);
	}

	call_maybe_free(call);
}


int call_add_header(struct call *call, const char *name, const char *value)
{
	if (!call->xhdrs)
		call->xhdrs = mbuf_alloc(128);
	if (!call->xhdrs)
		return ENOMEM;

	return mbuf_printf(call->xhdrs, "%s: %s\r\n", name, value);
}


/** Capture this call's RTP/RTCP (pcap): its streams now and to come. */
void call_set_capture(struct call *call, bool on)
{
	call->capture = on;
	stream_tap(call->a.stream, on);
	stream_tap(call->a.vstream, on);
	stream_tap(call->fork_stream, on);
	stream_tap(call->fork_vstream, on);
	if (call->peer) {
		stream_tap(call->peer->stream, on);
		stream_tap(call->peer->vstream, on);
	}
}


uint64_t call_id(const struct call *call) { return call->id; }
enum call_state call_state(const struct call *call) { return call->state; }
bool call_hungup(const struct call *call)
{
	return call->a.closed;
}
enum call_wait call_waiting(const struct call *call) { return call->wait; }
const char *call_exten(const struct call *call) { return call->exten; }
const char *call_context(const struct call *call) { return call->context; }
const char *call_caller_num(const struct call *call)
{
	return call->cid_num;
}
const char *call_caller_name(const struct call *call)
{
	return call->cid_name;
}
const char *call_endpoint_name(const struct call *call)
{
	return call->ep ? call->ep->name : NULL;
}
const struct sip_msg *call_invite(const struct call *call)
{
	return call->invite;
}
uint64_t call_started(const struct call *call) { return call->started; }
void *call_script(const struct call *call) { return call->script; }
void call_set_script(struct call *call, void *script)
{
	call->script = script;
}


const char *call_state_name(enum call_state st)
{
	return st <= CALL_ENDED ? state_names[st] : "?";
}


const char *dial_status_name(enum dial_status st)
{
	return st <= DIAL_CONGESTION ? dial_names[st] : "?";
}


enum dial_status call_dial_status(const struct call *call, uint16_t *code)
{
	if (code)
		*code = call->dial_code;

	return call->dial_status;
}


const char *call_codec_name(const struct call *call)
{
	const struct codec *c = codec_get(call->a.codec);

	return c ? c->name : NULL;
}


const char *call_peer_name(const struct call *call)
{
	if (call->peer && call->peer->ep)
		return call->peer->ep->name;

	return NULL;
}
