/**
 * @file api.c  The commands of the HTTP API (POST /api/NAME, or a
 * WebSocket message { "action": NAME, ... }).  Those on calls and legs
 * as they stand are done here in C (originate, hangup, transfer,
 * reload); every other one is a command of the configuration
 * (pbx.command: bridge, play, record from lunapbx.api, park and the
 * queue's from their modules, the user's own).
 *
 * The reply: { "response": NAME, "id": the command's id if it had one,
 * "ok": true, "result": ... } or { ..., "ok": false, "error": why }.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "reload.h"
#include "media/codec.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/call.h"
#include "call/callctl.h"
#include "http/httpd.h"
#include "sip/endpoint.h"


static bool get_u64(const struct odict *o, const char *key, uint64_t *v)
{
	const struct odict_entry *e = odict_lookup(o, key);

	if (!e)
		return false;
	if (e->type == ODICT_INT && e->u.integer > 0) {
		*v = (uint64_t)e->u.integer;
		return true;
	}
	if (e->type == ODICT_STRING && e->u.str[0]) {   /* "12" too */
		struct pl pl;

		pl_set_str(&pl, e->u.str);
		*v = pl_u64(&pl);
		return *v > 0;
	}

	return false;
}


static double get_num(const struct odict *o, const char *key, double dflt)
{
	const struct odict_entry *e = odict_lookup(o, key);

	if (e && e->type == ODICT_INT)
		return (double)e->u.integer;
	if (e && e->type == ODICT_DOUBLE)
		return e->u.dbl;

	return dflt;
}


static uint16_t fail(struct odict *reply, uint16_t scode, const char *why)
{
	(void)odict_entry_add(reply, "error", ODICT_STRING, why);
	return scode;
}


static uint16_t result_int(struct odict *reply, const char *key, int64_t v)
{
	struct odict *r;

	if (odict_alloc(&r, 4))
		return 500;
	(void)odict_entry_add(r, key, ODICT_INT, v);
	(void)odict_entry_add(reply, "result", ODICT_OBJECT, r);
	mem_deref(r);

	return 200;
}


/* { "to": endpoint, "exten": x [, "context", "timeout" (s),
 *   "caller_name", "caller_num"] } -> { "call": id } */
static uint16_t originate(struct pbx *pbx, const struct odict *cmd,
			  struct odict *reply)
{
	struct originate_opts opts;
	const char *to = odict_string(cmd, "to");
	double timeout = get_num(cmd, "timeout", 0);
	char err[160];
	uint64_t id;

	memset(&opts, 0, sizeof(opts));
	opts.exten = odict_string(cmd, "exten");
	opts.context = odict_string(cmd, "context");
	opts.caller_name = odict_string(cmd, "caller_name");
	opts.caller_num = odict_string(cmd, "caller_num");
	if (!to || !opts.exten)
		return fail(reply, 400, "originate needs \"to\" (an endpoint)"
			    " and \"exten\" (what runs when it answers)");
	if (timeout < 0 || timeout > 3600)
		return fail(reply, 400, "timeout: seconds, 0 to 3600");
	opts.timeout_ms = (uint32_t)(timeout * 1000 + 0.5);

	if (originate_start(pbx, to, &opts, &id, err, sizeof(err)))
		return fail(reply, 409, err);

	return result_int(reply, "call", (int64_t)id);
}


static uint16_t hangup(const struct odict *cmd, struct odict *reply)
{
	uint64_t id, c = 0;
	uint16_t code = 0;

	if (get_u64(cmd, "code", &c) && (c < 300 || c > 699))
		return fail(reply, 400, "code: a SIP failure code, 300-699");
	code = (uint16_t)c;

	if (get_u64(cmd, "leg", &id)) {
		struct leg *leg = leg_find(id);

		if (!leg)
			return fail(reply, 404, "no such leg");
		leg_hangup(leg, code);
		return result_int(reply, "leg", (int64_t)id);
	}
	if (get_u64(cmd, "call", &id)) {
		struct call *call = call_find(id);

		if (!call)
			return fail(reply, 404, "no such call");
		call_terminate(call, code);
		return result_int(reply, "call", (int64_t)id);
	}

	return fail(reply, 400, "hangup needs \"call\" or \"leg\" (an id)");
}


/* { "leg": id, "exten": x [, "context"] }: Asterisk's Redirect */
static uint16_t transfer(const struct odict *cmd, struct odict *reply)
{
	const char *exten = odict_string(cmd, "exten");
	const char *context = odict_string(cmd, "context");
	struct leg *leg;
	uint64_t id;
	int err;

	if (!get_u64(cmd, "leg", &id) || !exten)
		return fail(reply, 400, "transfer needs \"leg\" (an id) and"
			    " \"exten\" [, \"context\"]");
	leg = leg_find(id);
	if (!leg)
		return fail(reply, 404, "no such leg");
	if (!context && leg_endpoint(leg))
		context = leg_endpoint(leg)->context;
	if (!context)
		return fail(reply, 400, "context: the leg has no endpoint's");

	err = call_redirect(leg, context, exten);
	if (err)
		return fail(reply, 409, err == ENOTCONN ? "the leg has ended"
			    : "it cannot be transferred");

	return result_int(reply, "leg", (int64_t)id);
}


/* The server this command came through moves after it, if the new
 * configuration says so (httpd_hold). */
static uint16_t reload(struct pbx *pbx, struct odict *reply)
{
	char err[1024];
	uint32_t usec = 0;
	int e;

	httpd_hold(pbx, true);
	e = reload_now(pbx, err, sizeof(err), &usec);
	httpd_hold(pbx, false);
	if (e)
		return fail(reply, 409, err);

	return result_int(reply, "usec", usec);
}


static bool action_ok(const char *a)
{
	size_t n = str_len(a);

	if (!n || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= 'A' &&
		      a[i] <= 'Z') || (a[i] >= '0' && a[i] <= '9') ||
		      a[i] == '_'))
			return false;
	}

	return true;
}


/** Run the command @a cmd of token @a who; @a reply gets its answer. */
uint16_t api_command(struct pbx *pbx, const char *who, struct odict *cmd,
		     struct odict *reply)
{
	const char *action = odict_string(cmd, "action");
	const struct odict_entry *id = odict_lookup(cmd, "id");
	uint16_t scode;

	httpd_count_command(pbx);
	if (action)
		(void)odict_entry_add(reply, "response", ODICT_STRING, action);
	if (id && id->type == ODICT_INT)
		(void)odict_entry_add(reply, "id", ODICT_INT, id->u.integer);
	else if (id && id->type == ODICT_STRING)
		(void)odict_entry_add(reply, "id", ODICT_STRING, id->u.str);

	if (!action_ok(action)) {
		scode = fail(reply, 400, "\"action\": a command name is"
			     " expected");
		goto out;
	}
	log_info("http: %s: %s", who, action);

	if (!strcmp(action, "originate"))
		scode = originate(pbx, cmd, reply);
	else if (!strcmp(action, "hangup"))
		scode = hangup(cmd, reply);
	else if (!strcmp(action, "transfer"))
		scode = transfer(cmd, reply);
	else if (!strcmp(action, "reload"))
		scode = reload(pbx, reply);
	else
		scode = luaapp_command(pbx, action, cmd, reply);

 out:
	(void)odict_entry_add(reply, "ok", ODICT_BOOL, scode < 300);
	return scode;
}
