/**
 * @file callctl.c  A call seen and steered from the console (callctl.h).
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "media/codec.h"
#include "sip/call.h"
#include "sip/call_priv.h"
#include "sip/callctl.h"
#include "sip/endpoint.h"


struct call *call_find(const struct pbx *pbx, uint64_t id)
{
	for (struct le *le = list_head(&pbx->calls); le; le = le->next) {
		struct call *call = le->data;

		if (call->id == id)
			return call;
	}

	return NULL;
}


static const char *codec_name(enum codec_id id)
{
	const struct codec *c = codec_get(id);

	return c ? c->name : NULL;
}


void call_info(const struct call *call, struct call_info *ci)
{
	const struct leg *peer = call->peer;

	memset(ci, 0, sizeof(*ci));
	ci->id = call->id;
	ci->originated = call->outbound != NULL;
	ci->ringing = originate_ringing(call) + list_count(&call->forks);
	ci->state = call->outbound && call->state == CALL_INCOMING
		? "ringing" : call_state_name(call->state);
	ci->age_ms = tmr_jiffies() - call->started;
	ci->codec = codec_name(call->a.codec);
	ci->caller = call->cid_num;
	ci->caller_name = call->cid_name;
	ci->endpoint = call->ep ? call->ep->name : NULL;
	ci->exten = call->exten;
	ci->context = call->context;
	ci->wait = call->wait == WAIT_DIAL ? "dial"
		: call->wait == WAIT_SLEEP ? "sleep" : NULL;
	ci->script = call->script;

	if (peer) {
		ci->peer = peer->ep ? peer->ep->name : NULL;
		ci->peer_uri = peer->uri;
		ci->peer_codec = codec_name(peer->codec);
	}
}


/**
 * End a call from outside its dialplan: the caller gets @a code (or a
 * BYE), the legs it dialled are cancelled or hung up, and its dialplan,
 * if it waits, wakes up to a hung-up call.
 */
void call_terminate(struct call *call, uint16_t code)
{
	if (originate_cancel(call, code ? code : 487))
		return;

	if (call->state == CALL_ENDED && call->a.closed)
		return;   /* already on its way out */

	call_hangup(call, code);
	caller_gone(call);
	call_maybe_free(call);
}
