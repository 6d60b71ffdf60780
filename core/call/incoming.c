/**
 * @file incoming.c  A new INVITE: a leg and a call that runs the
 * dialplan, or, with Replaces (RFC 3891), a leg that takes the place of
 * the one whose dialog it names: in its bridge when that dialog is
 * confirmed, or the call it rings when it is early (a BLF key's pickup:
 * the dialplan's pickup policy decides, through call_replaces()).
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "call/bridge.h"
#include "call/dial.h"
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


static int run(struct pbx *pbx, struct leg *leg, const struct sip_msg *msg,
	       const char *context, struct dial *replaces)
{
	struct call *call = NULL;
	char *exten = NULL;
	int err;

	err = pl_strdup(&exten, &msg->uri.user);
	if (!err)
		err = call_alloc(&call, pbx, context, exten);
	mem_deref(exten);
	if (err) {
		leg_hangup(leg, 500);
		return err;
	}

	call_set_replaces(call, replaces);

	return call_run(call, leg);   /* the call holds the leg now */
}


/*
 * @a w (answered here) replaces the leg of the dialog @a rep names, in
 * its bridge: the other party talks to @a w from now on, the replaced
 * leg gets a BYE.  A dialog that rings (a dial's caller or one of its
 * forks) is a pickup: @a w's call runs with call_replaces() set.  481
 * when no dialog matches; 603 when the one that does is neither bridged
 * nor ringing.
 */
static int replace(struct pbx *pbx, struct leg *w, const struct sip_msg *msg,
		   const char *context, const struct sip_hdr *rep)
{
	struct named n = { .self = w };
	struct leg *old, *y;
	struct bridge *br;
	struct call *holder;
	struct dial *d;
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

	d = leg_state(old) != LEG_ANSWERED ? dial_of_leg(old) : NULL;
	if (d) {
		log_info("leg %llu: Replaces names leg %llu, ringing (dial"
			 " %llu): a pickup", leg_id(w), leg_id(old),
			 dial_id(d));
		return run(pbx, w, msg, context, d);
	}

	br = leg_bridge(old);
	y = bridge_other(br, old);
	if (!br || !y || leg_state(old) != LEG_ANSWERED) {
		log_info("leg %llu: Replaces names leg %llu, neither bridged"
			 " nor ringing: 603", leg_id(w), leg_id(old));
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
	struct leg *leg;
	int err;

	err = leg_incoming(&leg, pbx, msg, ep);
	if (err)
		return err;

	err = rep ? replace(pbx, leg, msg, context, rep)
		: run(pbx, leg, msg, context, NULL);
	mem_deref(leg);

	return err;
}
