/**
 * @file leg_refer.c  A transfer request in a leg's dialog: REFER (RFC
 * 3515), its implicit subscription and the NOTIFYs that report how the
 * transfer went (message/sipfrag), or none when the phone asked so
 * (Refer-Sub: false, RFC 4488); Refer-To with Replaces for an attended
 * transfer (RFC 3891).
 *
 * The SIP side is answered here at once (202, or why not); what the
 * transfer does is the business of whoever watches the leg (its bridge,
 * then its call: Lua), which reports the outcome with leg_refer_notify().
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "sip/sipstack.h"
#include "media/codec.h"
#include "call/leg.h"
#include "call/leg_priv.h"

/* Nobody reported within this time: the transfer failed. */
enum { REFER_TIMEOUT_MS = 32000, NOTIFY_EXPIRES = 60 };

struct pending {
	struct leg_refer r;        /* first: leg->refer points here     */
	struct tmr tmr;
	struct leg *leg;
};


static void pending_destructor(void *arg)
{
	struct pending *p = arg;

	tmr_cancel(&p->tmr);
	mem_deref(p->r.to);
	mem_deref(p->r.user);
	mem_deref(p->r.buf);
}


/**
 * `callid;to-tag=X;from-tag=Y` (a Replaces header, or the unescaped
 * Replaces of a Refer-To URI).  EBADMSG when a part is missing.
 */
int leg_replaces_parse(const struct pl *s, struct pl *callid,
		       struct pl *to_tag, struct pl *from_tag)
{
	struct pl params;

	if (re_regex(s->p, s->l, "[^;]+[^]*", callid, &params) ||
	    !pl_isset(callid))
		return EBADMSG;

	if (msg_param_decode(&params, "to-tag", to_tag) ||
	    msg_param_decode(&params, "from-tag", from_tag))
		return EBADMSG;

	return 0;
}


/* The Replaces of a Refer-To URI's headers, unescaped into r->buf. */
static int parse_replaces(struct leg_refer *r, const struct pl *headers)
{
	struct pl val, s;
	char *p;

	if (re_regex(headers->p, headers->l, "Replaces=[^&]+", &val))
		return 0;   /* a blind transfer */

	if (re_sdprintf(&r->buf, "%H", uri_header_unescape, &val))
		return ENOMEM;

	p = r->buf;
	pl_set_str(&s, p);
	if (leg_replaces_parse(&s, &r->callid, &r->to_tag, &r->from_tag))
		return EBADMSG;

	r->replaces = true;

	return 0;
}


/* Refer-To: <sip:user@host?Replaces=...>: the target and its user. */
static int parse_refer_to(struct leg_refer *r, const struct sip_msg *msg)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_REFER_TO);
	struct sip_addr addr;
	struct pl v;
	int err;

	if (!hdr || sip_msg_hdr_count(msg, SIP_HDR_REFER_TO) != 1)
		return EBADMSG;

	v = hdr->val;
	if (sip_addr_decode(&addr, &v) || !pl_isset(&addr.uri.host))
		return EBADMSG;

	err  = re_sdprintf(&r->to, "%r:%H@%r", &addr.uri.scheme,
			   uri_user_escape, &addr.uri.user, &addr.uri.host);
	err |= re_sdprintf(&r->user, "%H", uri_user_unescape,
			   &addr.uri.user);
	if (err)
		return ENOMEM;

	return parse_replaces(r, &addr.uri.headers);
}


static bool refer_sub_false(const struct sip_msg *msg)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_REFER_SUB);

	return hdr && 0 == pl_strcasecmp(&hdr->val, "false");
}


static void not_close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	(void)err; (void)msg;

	leg->not = mem_deref(leg->not);
}


static void refer_timeout(void *arg)
{
	struct pending *p = arg;

	log_info("leg %llu: nobody took its transfer request", p->leg->id);
	(void)leg_refer_notify(p->leg, 503, "Service Unavailable");
}


/* 202 and the first NOTIFY (100 Trying), in the leg's dialog. */
static int accept_refer(struct leg *leg, struct sip *sip,
			const struct sip_msg *msg, bool subscribed)
{
	struct sipevent_event se;
	struct mbuf *mb = NULL;
	int err;

	if (!subscribed)
		return sip_treplyf(NULL, NULL, sip, msg, true, 202, "Accepted",
				   "Refer-Sub: false\r\n"
				   "Content-Length: 0\r\n\r\n");

	memset(&se, 0, sizeof(se));
	pl_set_str(&se.event, "refer");
	err = sipevent_accept(&leg->not, sipstack_evsock(leg->pbx->stack),
			      msg, sipsess_dialog(leg->sess), &se, 202,
			      "Accepted", NOTIFY_EXPIRES, NOTIFY_EXPIRES,
			      NOTIFY_EXPIRES, "lunapbx",
			      "message/sipfrag;version=2.0", NULL, NULL, false,
			      not_close_handler, leg, "");
	if (!err)
		err = sipevent_notifyf(leg->not, &mb, SIPEVENT_ACTIVE, 0, 0,
				       "SIP/2.0 100 Trying\r\n");
	mem_deref(mb);

	return err;
}


/** A REFER in the leg's dialog (libre's sipsess hands it here). */
void legrefer_handler(struct sip *sip, const struct sip_msg *msg, void *arg)
{
	struct leg *leg = arg;
	struct pending *p;
	int err;

	if (leg->no_transfer) {
		log_info("leg %llu: transfer refused (allow_transfer is off)",
			 leg->id);
		(void)sip_reply(sip, msg, 603, "Decline");
		return;
	}
	if (leg->refer || !leg->established) {
		(void)sip_reply(sip, msg, 491, "Request Pending");
		return;
	}

	p = mem_zalloc(sizeof(*p), pending_destructor);
	if (!p) {
		(void)sip_reply(sip, msg, 500, "Server Internal Error");
		return;
	}
	p->leg = leg;
	tmr_init(&p->tmr);

	err = parse_refer_to(&p->r, msg);
	if (err) {
		log_info("leg %llu: REFER with a bad Refer-To", leg->id);
		(void)sip_reply(sip, msg, 400, err == ENOMEM
				? "Server Internal Error" : "Bad Refer-To");
		mem_deref(p);
		return;
	}

	p->r.subscribed = !refer_sub_false(msg);
	err = accept_refer(leg, sip, msg, p->r.subscribed);
	if (err) {
		(void)sip_reply(sip, msg, 500, "Server Internal Error");
		mem_deref(p);
		return;
	}

	log_info("leg %llu: transfer request to %s%s", leg->id, p->r.to,
		 p->r.replaces ? " (attended, Replaces)" : "");
	leg->refer = &p->r;
	tmr_start(&p->tmr, REFER_TIMEOUT_MS, refer_timeout, p);
	leg_emit(leg, LEG_EV_REFER);
}


const struct leg_refer *leg_refer(const struct leg *leg)
{
	return leg ? leg->refer : NULL;
}


/**
 * How the transfer went: a NOTIFY with "SIP/2.0 @a scode @a reason" that
 * ends the subscription (a final code, >= 200), or keeps it (1xx).  The
 * request is over once a final code is reported.
 */
int leg_refer_notify(struct leg *leg, uint16_t scode, const char *reason)
{
	struct mbuf *mb = NULL;
	bool final = scode >= 200;
	int err = 0;

	if (!leg || !leg->refer)
		return ENOENT;

	if (leg->refer->subscribed && leg->not)
		err = sipevent_notifyf(leg->not, &mb, final
				       ? SIPEVENT_TERMINATED : SIPEVENT_ACTIVE,
				       SIPEVENT_NORESOURCE, 0,
				       "SIP/2.0 %u %s\r\n", scode, reason);
	mem_deref(mb);

	if (final) {
		mem_deref(leg->refer);   /* the struct pending it starts */
		leg->refer = NULL;
	}

	return err;
}


/** The leg ends: a request under way is dropped with its subscription. */
void legrefer_close(struct leg *leg)
{
	leg->refer = mem_deref(leg->refer);
	leg->not = mem_deref(leg->not);
}


void leg_set_transfer(struct leg *leg, bool allowed)
{
	if (leg)
		leg->no_transfer = !allowed;
}


bool leg_transfer_allowed(const struct leg *leg)
{
	return leg && !leg->no_transfer;
}
