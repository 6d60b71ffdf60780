/**
 * @file incoming.c  A new INVITE: a leg and a call that runs the
 * dialplan, or, with Replaces (RFC 3891), a leg that takes the place of
 * the one whose dialog it names.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "call/bridge.h"
#include "call/leg.h"
#include "call/call.h"

struct named {
	const struct leg *self;
	struct pl callid, tag1, tag2;
};


static bool is_named(struct leg *leg, void *arg)
{
	const struct named *n = arg;

	return leg != n->self &&
		leg_matches_dialog(leg, &n->callid, &n->tag1, &n->tag2);
}


/*
 * @a w (answered here) replaces the leg of the dialog @a rep names, in
 * its bridge: the other party talks to @a w from now on, the replaced
 * leg gets a BYE.  481 when no dialog matches; 603 when the one that
 * does is in no bridge (ringing dialogs are picked up by the pickup
 * service, not here).
 */
static int replace(struct leg *w, const struct sip_hdr *rep)
{
	struct named n = { .self = w };
	struct leg *old, *y;
	struct bridge *br;
	struct call *holder;
	int err;

	if (leg_replaces_parse(&rep->val, &n.callid, &n.tag1, &n.tag2)) {
		leg_hangup(w, 400);
		return EBADMSG;
	}

	old = leg_apply(is_named, &n);
	if (!old) {
		log_info("leg %llu: Replaces names no dialog of ours: 481",
			 leg_id(w));
		leg_hangup(w, 481);
		return ENOENT;
	}

	br = leg_bridge(old);
	y = bridge_other(br, old);
	if (!br || !y || leg_state(old) != LEG_ANSWERED) {
		log_info("leg %llu: Replaces names leg %llu, in no bridge: 603",
			 leg_id(w), leg_id(old));
		leg_hangup(w, 603);
		return EPERM;
	}

	err = leg_match(w, y);
	if (!err)
		err = leg_answer_sdp(w, 200);
	holder = leg_holder(old);
	if (!err && holder)
		err = call_hold(holder, w);
	if (!err)
		err = bridge_replace(br, old, w);
	if (err) {
		log_warn("leg %llu: cannot replace leg %llu: %m", leg_id(w),
			 leg_id(old), err);
		leg_hangup(w, 500);
		return err;
	}

	log_info("leg %llu replaces leg %llu in bridge %llu", leg_id(w),
		 leg_id(old), bridge_id(br));

	return 0;
}


/**
 * A new, authenticated INVITE, answered 100 Trying, for the dialplan of
 * @a context (or refused: 488 when no codec is common).
 */
int call_incoming(struct pbx *pbx, const struct sip_msg *msg,
		  struct endpoint *ep, const char *context)
{
	const struct sip_hdr *rep = sip_msg_hdr(msg, SIP_HDR_REPLACES);
	struct call *call = NULL;
	struct leg *leg;
	char *exten = NULL;
	int err;

	err = leg_incoming(&leg, pbx, msg, ep);
	if (err)
		return err;

	if (rep) {
		err = replace(leg, rep);
		mem_deref(leg);
		return err;
	}

	err = pl_strdup(&exten, &msg->uri.user);
	if (!err)
		err = call_alloc(&call, pbx, context, exten);
	mem_deref(exten);
	if (err) {
		leg_hangup(leg, 500);
		mem_deref(leg);
		return err;
	}

	err = call_run(call, leg);   /* the call holds the leg now */
	mem_deref(leg);

	return err;
}
