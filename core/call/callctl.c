/**
 * @file callctl.c  Calls and legs seen from the console (callctl.h).
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "media/codec.h"
#include "sip/endpoint.h"
#include "call/bridge.h"
#include "call/leg.h"
#include "call/call.h"
#include "call/callctl.h"


static const char *codec_name(enum codec_id id)
{
	const struct codec *c = codec_get(id);

	return c ? c->name : NULL;
}


static const char *ep_name(const struct leg *leg)
{
	const struct endpoint *ep = leg_endpoint(leg);

	return ep ? ep->name : NULL;
}


void call_info(const struct call *call, struct call_info *ci)
{
	const struct leg *a = call_leg(call);
	const struct bridge *br = leg_bridge(a);
	const struct leg *peer = bridge_other(br, a);

	memset(ci, 0, sizeof(ci[0]));
	ci->id = call_id(call);
	ci->originated = call_originated(call);
	ci->ringing = call_ringing(call);
	ci->state = a ? leg_state_name(leg_state(a)) : "ringing";
	ci->age_ms = tmr_jiffies() - call_started(call);
	ci->leg = leg_id(a);
	ci->codec = codec_name(leg_codec(a));
	ci->caller = leg_cid_num(a);
	ci->caller_name = leg_cid_name(a);
	ci->endpoint = ep_name(a);
	ci->exten = call_exten(call);
	ci->context = call_context(call);
	ci->wait = call_wait_what(call);
	ci->script = call_script(call);
	ci->bridge = bridge_id(br);
	ci->legs = call_legs(call);

	if (peer) {
		ci->peer = ep_name(peer);
		ci->peer_uri = leg_uri(peer);
		ci->peer_codec = codec_name(leg_codec(peer));
	}
}


void leg_info(const struct leg *leg, struct leg_info *li)
{
	memset(li, 0, sizeof(*li));
	li->id = leg_id(leg);
	li->state = leg_state_name(leg_state(leg));
	li->inbound = leg_inbound(leg);
	li->age_ms = tmr_jiffies() - leg_started(leg);
	li->uri = leg_uri(leg);
	li->endpoint = ep_name(leg);
	li->codec = codec_name(leg_codec(leg));
	li->call = call_id(leg_holder(leg));
	li->bridge = bridge_id(leg_bridge(leg));
	li->held = leg_remote_holds(leg);
}
