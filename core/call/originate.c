/**
 * @file originate.c  A call the PBX places (Asterisk's originate): ring
 * every registered contact of an endpoint, and when one answers, run a
 * dialplan extension for it as if the phone had dialled it.  The leg that
 * answered is the call's caller leg: the dialplan sees an ordinary,
 * answered call.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "sip/endpoint.h"
#include "sip/registrar.h"
#include "media/codec.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/call.h"
#include "call/callctl.h"

enum { DEFAULT_TIMEOUT_MS = 30000 };


/* The phone answered: its dialplan runs; nobody did: the call ends
 * before it ever ran. */
static void dial_handler(struct dial *d, void *arg)
{
	struct call *call = arg;
	uint16_t code;

	if (!dial_done(d))
		return;

	if (dial_status(d, &code) == DIAL_ANSWER) {
		log_info("call %llu: answered: it runs %s@%s", call_id(call),
			 call_exten(call), call_context(call));
		(void)call_run(call, dial_answered(d));
		return;
	}

	log_info("call %llu: originate to %s failed: %u", call_id(call),
		 dial_target(d), code);
	call_script_done(call, false);
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
	struct dial_opts dopts;
	struct call *call;
	struct dial *d;
	int err;

	if (!ep) {
		re_snprintf(errbuf, errsz, "no endpoint '%s'", target);
		return ENOENT;
	}
	if (list_isempty(registrar_contacts(pbx->registrar, ep->name))) {
		re_snprintf(errbuf, errsz, "%s is not registered", target);
		return ENOTCONN;
	}

	err = call_alloc(&call, pbx, opts->context ? opts->context
			 : ep->context, opts->exten);
	if (err)
		return err;
	call_set_originated(call);
	log_info("call %llu: originate to %s, then %s@%s", call_id(call),
		 ep->name, call_exten(call), call_context(call));

	memset(&dopts, 0, sizeof(dopts));
	dopts.timeout_ms = opts->timeout_ms ? opts->timeout_ms
		: DEFAULT_TIMEOUT_MS;
	dopts.caller_num = opts->caller_num ? opts->caller_num
		: call_exten(call);
	dopts.caller_name = opts->caller_name;

	err = call_dial(call, NULL, &target, 1, &dopts, &d);
	if (!err && dial_done(d)) {
		uint16_t code;

		(void)dial_status(d, &code);
		re_snprintf(errbuf, errsz, "cannot ring %s (%u)", target,
			    code);
		err = ENOTCONN;
	}
	if (err) {
		call_script_done(call, false);
		return err;
	}

	dial_set_owner(d, dial_handler, call);
	*idp = call_id(call);

	return 0;
}
