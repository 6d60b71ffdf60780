/**
 * @file leg.c  A leg's life: its SIP dialog, in or out, its SDP and RTP
 * sockets, and the events its watchers get.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "media/sdpneg.h"
#include "media/stream.h"
#include "sip/endpoint.h"
#include "sip/sipstack.h"
#include "call/leg.h"
#include "call/leg_priv.h"
#include "call/callev.h"

#define ALLOW "Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER\r\n" \
	"Supported: replaces, timer\r\n"

/* Every live leg: the console lists them, Replaces and REFER find them. */
static struct list legs;
static uint64_t leg_seq;


static void destructor(void *arg)
{
	struct leg *leg = arg;

	list_unlink(&leg->le);
	legrefer_close(leg);
	legtimer_stop(leg);
	mem_deref(leg->st);
	mem_deref(leg->sess);
	mem_deref(leg->sdp);
	mem_deref(leg->stream);
	mem_deref(leg->vstream);
	mem_deref(leg->invite);
	mem_deref(leg->ep);
	mem_deref(leg->uri);
	mem_deref(leg->cid_num);
	mem_deref(leg->cid_name);
	mem_deref(leg->callid);
	mem_deref(leg->ltag);
	mem_deref(leg->rtag);
	mem_deref(leg->far_num);
	mem_deref(leg->far_name);
	mem_deref(leg->media);
	mem_deref(leg->final_stats);
}


static struct leg *leg_new(struct pbx *pbx, struct endpoint *ep)
{
	struct leg *leg = mem_zalloc(sizeof(*leg), destructor);

	if (!leg)
		return NULL;

	leg->pbx = pbx;
	leg->id = ++leg_seq;
	leg->started = tmr_jiffies();
	leg->ep = mem_ref(ep);
	leg->no_transfer = ep && ep->no_transfer;
	tmr_init(&leg->se_tmr);
	list_append(&legs, &leg->le, leg);

	return leg;
}


/* Its dialog state moves on: the observers hear of it (LEG_EV_STATE). */
static void set_state(struct leg *leg, enum leg_state st)
{
	if (leg->state == st)
		return;

	leg->state = st;
	mem_ref(leg);
	legwatch_observe(leg, LEG_EV_STATE);
	mem_deref(leg);
}


static void closed(struct leg *leg, uint16_t code)
{
	if (leg->closed)
		return;

	mem_ref(leg);   /* a watcher may let go of the last reference */
	leg->closed = true;
	leg->state = LEG_ENDED;   /* observers hear LEG_EV_CLOSED */
	if (!leg->code)
		leg->code = code;
	leg->sess = mem_deref(leg->sess);
	leg->st = mem_deref(leg->st);
	legrefer_close(leg);
	legtimer_stop(leg);
	legstats_close(leg);   /* before its sockets go */
	stream_unbridge(leg->stream);
	stream_unbridge(leg->vstream);

	leg_emit(leg, LEG_EV_CLOSED);

	/* nothing of a dead leg holds a socket, however long Lua keeps it */
	leg->stream = mem_deref(leg->stream);
	leg->vstream = mem_deref(leg->vstream);
	mem_deref(leg);
}


/* Nobody holds it and no bridge has it: it would talk to nobody. */
static void check_orphan(struct leg *leg)
{
	if (!leg->holder && !leg->bridge && !leg->closed) {
		log_info("leg %llu: left alone: hung up", leg->id);
		leg_hangup(leg, 0);
	}
}


void leg_set_holder(struct leg *leg, void *holder)
{
	if (!leg)
		return;

	leg->holder = holder;
	if (!holder)
		check_orphan(leg);
}


void *leg_holder(const struct leg *leg)
{
	return leg ? leg->holder : NULL;
}


void leg_set_bridge(struct leg *leg, void *bridge)
{
	if (!leg)
		return;

	leg->bridge = bridge;
	if (!bridge)
		check_orphan(leg);
}


void *leg_bridge(const struct leg *leg)
{
	return leg ? leg->bridge : NULL;
}


/** Sockets for a leg that will carry media, and the SDP port to match. */
int leg_media_alloc(struct leg *leg)
{
	const struct pbx_settings *set = &leg->pbx->set;
	struct sa rtp, rtcp;
	int err;

	if (!leg->stream) {
		err = stream_alloc(&leg->stream, &set->media_addr,
				   set->rtp_min, set->rtp_max);
		if (err) {
			log_warn("leg %llu: no RTP port: %m", leg->id, err);
			return err;
		}
		stream_tap(leg->stream, leg->capture);
	}
	sdpneg_set_port(leg->sdp, stream_lport(leg->stream));

	if (sdpneg_remote_addr(leg->sdp, &rtp, &rtcp))
		stream_set_remote(leg->stream, &rtp, &rtcp);
	if (sdpneg_rtcp_mux(leg->sdp, false))
		stream_set_mux(leg->stream);

	return 0;
}


/* An offer from the far end (a re-INVITE): answered at once, its media
 * followed; the bridge, if any, shapes the answer and tells the other leg. */
static int offer_handler(struct mbuf **descp, const struct sip_msg *msg,
			 void *arg)
{
	struct leg *leg = arg;
	int err;

	err = sdpneg_decode(leg->sdp, msg->mb, true);
	if (err)
		return err;

	legtimer_refreshed(leg);
	if (leg->stream)
		(void)leg_media_alloc(leg);
	if (leg->mediah)
		leg->mediah(leg, true, leg->media_arg);
	else
		legvideo_offer_alone(leg);

	err = sdpneg_encode(leg->sdp, false, descp);
	if (!err)
		leg_emit(leg, LEG_EV_MEDIA);

	return err;
}


/* The answer to an offer of ours: the ACK of a late offer, or the answer
 * to a re-INVITE.  The first answer of a leg we dialled waits for its
 * establishment (estab_handler). */
static int answer_handler(const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	int err;

	err = sdpneg_decode(leg->sdp, msg->mb, false);
	if (err)
		return leg->inbound ? 0 : err;
	if (!leg->inbound && !leg->established)
		return 0;

	if (leg->stream)
		(void)leg_media_alloc(leg);

	if (leg->inbound && leg->late_offer && leg->codec == CODEC_NONE) {
		leg->codec = sdpneg_answered_codec(leg->sdp);
		if (leg->codec == CODEC_NONE) {
			log_warn("leg %llu: its answer has no codec of ours",
				 leg->id);
			return EPROTO;
		}
		log_info("leg %llu: the caller answered %s", leg->id,
			 codec_get(leg->codec)->name);
		(void)leg_media_alloc(leg);
	}

	if (leg->mediah)
		leg->mediah(leg, false, leg->media_arg);
	else
		(void)legvideo_media(leg);
	leg_emit(leg, LEG_EV_MEDIA);

	return 0;
}


static void estab_handler(const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;

	leg->established = true;
	legdlg_learn(leg, msg);
	if (leg->inbound)
		return;

	leg->answered = tmr_jiffies();
	leg->codec = sdpneg_answered_codec(leg->sdp);
	legtimer_answer(leg, msg);
	set_state(leg, LEG_ANSWERED);
	leg_emit(leg, LEG_EV_ANSWER);
}


static bool is_sdp(const struct sip_msg *msg)
{
	return msg && mbuf_get_left(msg->mb) &&
		msg_ctype_cmp(&msg->ctyp, "application", "sdp");
}


/** A 18x with SDP: the far end plays something (ringback, a message). */
int leg_early_sdp(struct leg *leg, const struct sip_msg *msg)
{
	int err;

	if (!is_sdp(msg))
		return ENOENT;

	err = sdpneg_decode(leg->sdp, msg->mb, false);
	if (!err)
		leg->codec = sdpneg_answered_codec(leg->sdp);

	return err ? err : leg->codec == CODEC_NONE ? EPROTO : 0;
}


static void progress_handler(const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;

	if (msg->scode < 180)
		return;

	legdlg_learn(leg, msg);
	leg->progress_code = msg->scode;
	leg->progress_sdp = 0 == leg_early_sdp(leg, msg);
	set_state(leg, LEG_EARLY);
	leg_emit(leg, LEG_EV_PROGRESS);
}


static void info_handler(struct sip *sip, const struct sip_msg *msg,
			 void *arg)
{
	struct leg *leg = arg;

	if (leg->infoh)
		leg->infoh(leg, sip, msg, leg->info_arg);
	else
		(void)sip_reply(sip, msg, 200, "OK");
}


static void close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	uint16_t code = 0;

	if (msg && !msg->req && msg->scode >= 300)
		code = msg->scode;
	else if (!leg->established && leg->inbound && err == ECONNRESET)
		code = 487;   /* the caller's CANCEL: what it was answered */
	else if (!leg->established)
		code = err == ETIMEDOUT ? 408 : 503;

	if (leg->established)
		log_info("leg %llu: %s hung up%s", leg->id, leg->uri,
			 err && err != ECONNRESET ? " (lost)" : "");
	else
		log_info("leg %llu: %s failed: %u", leg->id, leg->uri, code);

	leg->sess = mem_deref(leg->sess);
	closed(leg, code);
}


/* CANCEL before anyone answered: libre answered the CANCEL, we the
 * INVITE. */
static void cancel_handler(void *arg)
{
	struct leg *leg = arg;

	log_info("leg %llu: caller cancelled", leg->id);
	(void)sip_treplyf(&leg->st, NULL, sipstack_sip(leg->pbx->stack),
			  leg->invite, false, 487, "Request Terminated", NULL);
	closed(leg, 487);
}


static int set_caller_id(struct leg *leg, const struct sip_msg *msg)
{
	const struct endpoint *ep = leg->ep;
	int err = 0;

	if (ep && ep->cid_num)
		err |= str_dup(&leg->cid_num, ep->cid_num);
	else
		err |= pl_strdup(&leg->cid_num, &msg->from.uri.user);

	if (ep && ep->cid_name)
		err |= str_dup(&leg->cid_name, ep->cid_name);
	else if (pl_isset(&msg->from.dname))
		err |= pl_strdup(&leg->cid_name, &msg->from.dname);

	return err;
}


static int negotiate_offer(struct leg *leg, const struct sip_msg *msg)
{
	const uint8_t all[] = { CODEC_PCMU, CODEC_PCMA, CODEC_NONE };
	uint8_t codecs[CODEC_MAX];
	int err;

	err = sdpneg_alloc(&leg->sdp, &leg->pbx->set.media_addr, 0,
			   leg->ep ? leg->ep->codec_order : all);
	if (err)
		return err;

	if (!is_sdp(msg)) {
		leg->late_offer = true;   /* we offer in our answer */
		return 0;
	}

	err = sdpneg_decode(leg->sdp, msg->mb, true);
	if (err)
		return err;

	return sdpneg_remote_codecs(leg->sdp, codecs, ARRAY_SIZE(codecs))
		? 0 : ENOTSUP;
}


/**
 * A new, authenticated INVITE: its leg, answered 100 Trying on a
 * transaction of ours (retransmissions and CANCEL are handled until a
 * reply).  No codec in common: 488, and ENOTSUP.
 */
int leg_incoming(struct leg **legp, struct pbx *pbx,
		 const struct sip_msg *msg, struct endpoint *ep)
{
	struct sip *sip = sipstack_sip(pbx->stack);
	struct leg *leg = leg_new(pbx, ep);
	int err;

	if (!leg)
		return ENOMEM;

	leg->inbound = true;
	leg->invite = mem_ref((void *)msg);
	err  = re_sdprintf(&leg->uri, "%r", &msg->from.auri);
	err |= set_caller_id(leg, msg);
	err |= legdlg_incoming(leg, msg);
	if (err)
		goto out;

	err = negotiate_offer(leg, msg);
	if (err) {
		log_info("leg %llu: no common codec with %J (%m)", leg->id,
			 &msg->src, err);
		(void)sip_treplyf(NULL, NULL, sip, msg, false, 488,
				  "Not Acceptable Here",
				  "Warning: 305 lunapbx \"Incompatible media"
				  " format\"\r\nContent-Length: 0\r\n\r\n");
		leg->closed = true;
		goto out;
	}

	err = legtimer_incoming(leg, msg, sip);
	if (err) {
		leg->closed = true;   /* answered 422 */
		goto out;
	}

	err = sip_strans_alloc(&leg->st, sip, msg, cancel_handler, leg);
	if (!err)
		err = sip_treplyf(&leg->st, NULL, sip, msg, false, 100,
				  "Trying", NULL);
 out:
	if (err) {
		if (!leg->closed)
			(void)sip_treply(NULL, sip, msg, 500,
					 "Server Internal Error");
		leg->closed = true;
		mem_deref(leg);
		return err;
	}

	*legp = leg;
	legwatch_observe(leg, LEG_EV_STATE);   /* trying */
	return 0;
}


/** A leg to @a d->uri: our offer goes now, the events tell the rest. */
int leg_connect(struct leg **legp, struct pbx *pbx, const struct leg_dial *d)
{
	struct mbuf *offer = NULL;
	char from[256], timer[96];
	struct leg *leg;
	int err;

	leg = leg_new(pbx, d->ep);
	if (!leg)
		return ENOMEM;

	/* the party on this leg is what was dialled (From is the caller's) */
	leg->stream = mem_ref(d->stream);
	err  = str_dup(&leg->uri, d->uri);
	if (d->ep)
		err |= str_dup(&leg->cid_num, d->ep->cid_num ? d->ep->cid_num
			       : d->ep->name);
	if (d->ep && d->ep->cid_name)
		err |= str_dup(&leg->cid_name, d->ep->cid_name);
	if (!err)
		err = sdpneg_alloc(&leg->sdp, &pbx->set.media_addr,
				   stream_lport(leg->stream), d->codecs);
	if (!err && d->vstream)
		err = legvideo_fork_offer(leg, d->vstream, d->video_src);
	if (!err)
		err = sdpneg_encode(leg->sdp, true, &offer);
	if (!err && !d->from_uri)
		err = sipstack_local_uri(pbx->stack, from, sizeof(from),
					 d->from_num);
	if (!err)
		err = legtimer_request(pbx, timer, sizeof(timer));
	if (err)
		goto out;

	err = sipsess_connect(&leg->sess, sipstack_sessock(pbx->stack),
			      leg->uri, d->from_name,
			      d->from_uri ? d->from_uri : from,
			      "lunapbx", NULL, 0, "application/sdp", offer,
			      d->authh, d->aarg, d->authh && d->aarg,
			      offer_handler, answer_handler,
			      progress_handler, estab_handler, info_handler,
			      legrefer_handler, close_handler, leg,
			      ALLOW "%s%s", timer, d->xhdrs ? d->xhdrs : "");
	if (!err)
		err = legdlg_outgoing(leg, d);
 out:
	mem_deref(offer);
	if (err) {
		log_warn("leg %llu: cannot call %s: %m", leg->id, d->uri, err);
		leg->closed = true;
		mem_deref(leg);
		return err;
	}

	*legp = leg;
	legwatch_observe(leg, LEG_EV_STATE);   /* trying */
	return 0;
}


/* The first reply with a session makes the caller's session (libre
 * accepts 101-299 only, so 100 Trying went on our own transaction). */
static int reply(struct leg *leg, uint16_t scode, const char *reason,
		 struct mbuf *desc)
{
	const char *se = scode >= 200 ? leg->se_hdrs : "";

	if (leg->sess)
		return scode >= 200
			? sipsess_answer(leg->sess, scode, reason, desc, "%s",
					 se)
			: sipsess_progress(leg->sess, scode, reason, desc,
					   "");

	leg->st = mem_deref(leg->st);

	return sipsess_accept(&leg->sess, sipstack_sessock(leg->pbx->stack),
			      leg->invite, scode, reason, "lunapbx",
			      "application/sdp", desc, NULL, NULL, false,
			      offer_handler, answer_handler, estab_handler,
			      info_handler, legrefer_handler, close_handler,
			      leg, ALLOW "%s", se);
}


static bool can_reply(const struct leg *leg)
{
	return leg->inbound && !leg->closed && leg->state != LEG_ANSWERED;
}


/**
 * 200 or 183 with the leg's SDP as it stands (its codec chosen by who
 * calls this: the PBX's own media, or a bridge).  Without the caller's
 * offer ours goes in the 200 (RFC 3261 13.2.1: a 183 is not reliable
 * without 100rel, so it carries no SDP).
 */
int leg_answer_sdp(struct leg *leg, uint16_t scode)
{
	struct mbuf *mb = NULL;
	int err = 0;

	if (!can_reply(leg))
		return leg->closed ? ENOTCONN : 0;

	if (!(leg->late_offer && scode < 200))
		err = sdpneg_encode(leg->sdp, leg->late_offer, &mb);
	if (!err)
		err = reply(leg, scode, scode >= 200 ? "OK"
			    : "Session Progress", mb);
	mem_deref(mb);

	if (!err)
		set_state(leg, scode >= 200 ? LEG_ANSWERED : LEG_EARLY);
	if (!err && scode >= 200) {
		leg->answered = tmr_jiffies();
		legtimer_start(leg);
	}
	if (!err)
		callev_leg_state(leg, scode >= 200 ? "answered" : "progress");

	return err;
}


/* The PBX answers with media of its own: the first codec the caller
 * offered, unless already chosen; no video.  A caller that made no offer
 * gets ours, every codec, and picks in its ACK. */
static int own_media(struct leg *leg)
{
	if (!leg->late_offer) {
		if (leg->codec == CODEC_NONE)
			leg->codec = sdpneg_answered_codec(leg->sdp);
		sdpneg_keep_only(leg->sdp, leg->codec);
	}
	legvideo_own_media(leg);

	return leg_media_alloc(leg);
}


int leg_answer(struct leg *leg)
{
	int err;

	if (!can_reply(leg))
		return leg->closed ? ENOTCONN : 0;

	err = own_media(leg);

	return err ? err : leg_answer_sdp(leg, 200);
}


/** 183 with SDP: early media from the PBX (tones, prompts). */
int leg_progress(struct leg *leg)
{
	int err;

	if (!can_reply(leg))
		return leg->closed ? ENOTCONN : 0;
	if (leg->state == LEG_EARLY && leg->stream)
		return 0;

	err = own_media(leg);

	return err ? err : leg_answer_sdp(leg, 183);
}


int leg_ringing(struct leg *leg)
{
	int err;

	if (!can_reply(leg))
		return leg->closed ? ENOTCONN : 0;
	if (leg->state != LEG_NEW)
		return 0;

	err = reply(leg, 180, "Ringing", NULL);
	if (!err)
		set_state(leg, LEG_EARLY);
	if (!err)
		callev_leg_state(leg, "ringing");

	return err;
}


static const char *reason_of(uint16_t code)
{
	switch (code) {

	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 480: return "Temporarily Unavailable";
	case 481: return "Call/Transaction Does Not Exist";
	case 486: return "Busy Here";
	case 487: return "Request Terminated";
	case 488: return "Not Acceptable Here";
	case 500: return "Server Internal Error";
	case 503: return "Service Unavailable";
	case 603: return "Decline";
	default:  return "Temporarily Unavailable";
	}
}


/**
 * End the leg: an unanswered incoming one gets @a code (603 Decline when
 * 0, as Asterisk), an answered one a BYE, a ringing outgoing one a CANCEL.
 */
void leg_hangup(struct leg *leg, uint16_t code)
{
	if (!leg || leg->closed)
		return;

	if (leg->inbound && leg->state != LEG_ANSWERED) {
		if (!code)
			code = 603;
		if (leg->sess)
			(void)sipsess_reject(leg->sess, code, reason_of(code),
					     NULL);
		else
			(void)sip_treplyf(&leg->st, NULL,
					  sipstack_sip(leg->pbx->stack),
					  leg->invite, false, code,
					  reason_of(code), NULL);
	}
	else if (!leg->inbound && leg->state != LEG_ANSWERED) {
		code = code ? code : 487;
	}

	closed(leg, code);   /* the session's deref sends BYE or CANCEL */
}


/** Capture this leg's RTP/RTCP (pcap): its streams now and to come. */
void leg_set_capture(struct leg *leg, bool on)
{
	if (!leg)
		return;

	leg->capture = on;
	stream_tap(leg->stream, on);
	stream_tap(leg->vstream, on);
}


int leg_set_cid(struct leg *leg, const char *num, const char *name)
{
	int err = 0;

	if (num) {
		leg->cid_num = mem_deref(leg->cid_num);
		err |= str_dup(&leg->cid_num, num);
	}
	if (name) {
		leg->cid_name = mem_deref(leg->cid_name);
		err |= str_dup(&leg->cid_name, name);
	}

	return err;
}


struct leg *leg_apply(leg_apply_h *h, void *arg)
{
	struct le *le = list_head(&legs);

	while (le) {
		struct leg *leg = le->data;

		le = le->next;
		if (!leg->closed && h(leg, arg))
			return leg;
	}

	return NULL;
}


static bool has_id(struct leg *leg, void *arg)
{
	return leg->id == *(uint64_t *)arg;
}


struct leg *leg_find(uint64_t id)
{
	return leg_apply(has_id, &id);
}


static bool count_live(struct leg *leg, void *arg)
{
	(void)leg;
	++*(uint32_t *)arg;
	return false;
}


/** Legs whose dialog is not over. */
uint32_t leg_count(void)
{
	uint32_t n = 0;

	(void)leg_apply(count_live, &n);

	return n;
}
