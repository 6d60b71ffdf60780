/**
 * @file originate.c  A call the PBX places (Asterisk's originate): ring
 * every registered contact of an endpoint, and when one answers, run a
 * dialplan extension for it as if the phone had dialled it.  The answered
 * leg becomes the call's caller leg (call->a), so the dialplan sees an
 * ordinary, answered call.
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
#include "sip/callctl.h"
#include "sip/callmedia.h"
#include "sip/endpoint.h"
#include "sip/registrar.h"
#include "sip/sipstack.h"

enum { DEFAULT_TIMEOUT_S = 30 };

struct orig {
	struct call *call;
	struct list forks;         /**< struct ofork, ringing          */
	struct ofork *answered;    /**< its session is call->a's now   */
	struct tmr tmr;
	uint16_t code;             /**< the best failure so far        */
};

/* One contact rung.  Its session's handlers keep it as their argument,
 * so the answered one lives as long as the call and hands the session's
 * events to the caller leg's handlers. */
struct ofork {
	struct le le;
	struct orig *o;
	struct sipsess *sess;
	struct sdpneg *sdp;
	char *uri;
};


static void ofork_destructor(void *arg)
{
	struct ofork *f = arg;

	list_unlink(&f->le);
	mem_deref(f->sess);        /* CANCEL while it rings */
	mem_deref(f->sdp);
	mem_deref(f->uri);
}


static void orig_destructor(void *arg)
{
	struct orig *o = arg;

	tmr_cancel(&o->tmr);
	list_flush(&o->forks);
	mem_deref(o->answered);
}


/* Nobody answered: the call ends before its dialplan ever ran. */
static void orig_fail(struct orig *o, uint16_t code)
{
	struct call *call = o->call;

	tmr_cancel(&o->tmr);
	list_flush(&o->forks);
	log_info("call %llu: originate to %s failed: %u", call->id,
		 call->ep->name, code);

	call->state = CALL_ENDED;
	call->a.closed = true;
	call->script_done = true;
	call_maybe_free(call);
}


static int f_offer(struct mbuf **descp, const struct sip_msg *msg, void *arg)
{
	struct ofork *f = arg;

	if (f != f->o->answered)
		return EPROTO;

	return a_offer_handler(descp, msg, f->o->call);
}


static int f_answer(const struct sip_msg *msg, void *arg)
{
	struct ofork *f = arg;

	if (f == f->o->answered)
		return a_answer_handler(msg, f->o->call);

	return sdpneg_decode(f->sdp, msg->mb, false);
}


static void f_progress(const struct sip_msg *msg, void *arg)
{
	struct ofork *f = arg;

	if (msg->scode >= 180)
		log_info("call %llu: %s rings (%u)", f->o->call->id, f->uri,
			 msg->scode);
}


/* The answered contact becomes the caller leg; the dialplan starts. */
static void take_over(struct orig *o, struct ofork *f)
{
	struct call *call = o->call;
	struct leg *a = &call->a;

	list_unlink(&f->le);
	o->answered = f;
	list_flush(&o->forks);
	tmr_cancel(&o->tmr);

	a->sess = f->sess;
	f->sess = NULL;
	a->sdp = f->sdp;
	f->sdp = NULL;
	a->established = true;
	a->codec = sdpneg_answered_codec(a->sdp);
	call->state = CALL_ANSWERED;

	if (a->codec == CODEC_NONE || leg_media_alloc(call, a)) {
		log_warn("call %llu: %s answered without a codec of ours",
			 call->id, f->uri);
		call->script_done = true;
		call_terminate(call, 0);
		return;
	}

	log_info("call %llu: %s answered (%s): it runs %s@%s", call->id,
		 f->uri, codec_get(a->codec)->name, call->exten,
		 call->context);

	if (luart_call_start(call->pbx->lua, call)) {
		call->script_done = true;
		call_terminate(call, 0);
	}
}


static void f_estab(const struct sip_msg *msg, void *arg)
{
	struct ofork *f = arg;
	struct orig *o = f->o;
	(void)msg;

	if (o->answered) {   /* lost the race: BYE */
		mem_deref(f);
		return;
	}

	take_over(o, f);
}


/* DTMF by SIP INFO from the phone that answered: its digits. */
static void f_info(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct ofork *f = arg;

	if (f == f->o->answered)
		callmedia_info(sip, msg, f->o->call);
	else
		(void)sip_reply(sip, msg, 481, "Call Does Not Exist");
}


static void f_close(int err, const struct sip_msg *msg, void *arg)
{
	struct ofork *f = arg;
	struct orig *o = f->o;
	uint16_t code;

	if (f == o->answered) {
		a_close_handler(err, msg, o->call);   /* may free it all */
		return;
	}

	code = msg && !msg->req && msg->scode >= 300 ? msg->scode
		: err == ETIMEDOUT ? 408 : 503;
	log_info("call %llu: %s failed: %u", o->call->id, f->uri, code);
	if (!o->code || code < o->code)
		o->code = code;

	f->sess = mem_deref(f->sess);
	mem_deref(f);

	if (list_isempty(&o->forks) && !o->answered)
		orig_fail(o, o->code);
}


static void timeout(void *arg)
{
	struct orig *o = arg;

	log_info("call %llu: no answer", o->call->id);
	orig_fail(o, 480);
}


static int fork_start(struct orig *o, const struct contact *c,
		      const struct originate_opts *opts)
{
	struct call *call = o->call;
	struct pbx *pbx = call->pbx;
	struct mbuf *offer = NULL;
	struct ofork *f;
	char from[256];
	int err;

	f = mem_zalloc(sizeof(*f), ofork_destructor);
	if (!f)
		return ENOMEM;

	f->o = o;
	err = str_dup(&f->uri, c->uri);
	if (!err)
		err = sdpneg_alloc(&f->sdp, &pbx->set.media_addr,
				   stream_lport(call->a.stream),
				   call->ep->codec_order);
	if (!err)
		err = sdpneg_encode(f->sdp, true, &offer);
	if (!err)
		err = sipstack_local_uri(pbx->stack, from, sizeof(from),
					 opts->caller_num ? opts->caller_num
					 : call->exten);
	if (!err)
		err = sipsess_connect(&f->sess, sipstack_sessock(pbx->stack),
				      f->uri, opts->caller_name, from,
				      "lunapbx", NULL, 0, "application/sdp",
				      offer, NULL, NULL, false, f_offer,
				      f_answer, f_progress, f_estab, f_info,
				      NULL, f_close, f,
				      "Allow: INVITE, ACK, CANCEL, BYE,"
				      " OPTIONS, INFO\r\n");
	mem_deref(offer);
	if (err) {
		log_warn("call %llu: cannot call %s: %m", call->id, c->uri,
			 err);
		mem_deref(f);
		return err;
	}

	list_append(&o->forks, &f->le, f);
	log_info("call %llu: originate: ringing %s (%s)", call->id,
		 call->ep->name, c->uri);

	return 0;
}


static int ring_all(struct orig *o, const struct list *contacts,
		    const struct originate_opts *opts)
{
	const struct pbx_settings *set = &o->call->pbx->set;
	int err;

	err = stream_alloc(&o->call->a.stream, &set->media_addr,
			   set->rtp_min, set->rtp_max);
	if (err)
		return err;

	for (struct le *le = list_head(contacts); le; le = le->next)
		(void)fork_start(o, le->data, opts);

	return list_isempty(&o->forks) ? ENOTCONN : 0;
}


/**
 * Ring endpoint @a target; when it answers, it runs @a opts->exten of
 * @a opts->context.  Returns at once with the call's id; the log tells
 * what happens next.  On error, @a errbuf says why.
 */
int originate_start(struct pbx *pbx, const char *target,
		    const struct originate_opts *opts, uint64_t *idp,
		    char *errbuf, size_t errsz)
{
	struct endpoint *ep = endpoint_table_find_str(pbx->endpoints, target);
	const struct list *contacts;
	struct call *call;
	struct orig *o;
	int err;

	if (!ep) {
		re_snprintf(errbuf, errsz, "no endpoint '%s'", target);
		return ENOENT;
	}
	contacts = registrar_contacts(pbx->registrar, ep->name);
	if (list_isempty(contacts)) {
		re_snprintf(errbuf, errsz, "%s is not registered", target);
		return ENOTCONN;
	}

	o = mem_zalloc(sizeof(*o), orig_destructor);
	if (!o)
		return ENOMEM;
	err = call_outbound(&call, pbx, ep, opts->context ? opts->context
			    : ep->context, opts->exten);
	if (err) {
		mem_deref(o);
		return err;
	}
	call->outbound = o;
	o->call = call;
	tmr_init(&o->tmr);
	list_init(&o->forks);
	log_info("call %llu: originate to %s, then %s@%s", call->id, ep->name,
		 call->exten, call->context);

	err = ring_all(o, contacts, opts);
	if (err) {
		re_snprintf(errbuf, errsz, "cannot ring %s: %m", target, err);
		orig_fail(o, 503);
		return err;
	}

	tmr_start(&o->tmr, 1000ULL * (opts->timeout_s ? opts->timeout_s
				      : DEFAULT_TIMEOUT_S), timeout, o);
	*idp = call->id;

	return 0;
}


/** Stop an originate still ringing (hangup from the console). */
bool originate_cancel(struct call *call, uint16_t code)
{
	struct orig *o = call->outbound;

	if (!o || o->answered)
		return false;

	orig_fail(o, code);

	return true;
}


uint32_t originate_ringing(const struct call *call)
{
	const struct orig *o = call->outbound;

	return o && !o->answered ? list_count(&o->forks) : 0;
}
