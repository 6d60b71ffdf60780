/**
 * @file bind_leg.c  The `leg` object: one SIP dialog and its media.
 *
 *   leg:answer() :ringing() :progress() :hangup([code])  -> true | nil, why
 *   leg:redirect(exten [, context [, vars]])  the leg runs that extension
 *                  in a call of its own (Asterisk's Redirect); exten may be
 *                  a function(call) to run instead; vars are copied into
 *                  the new call's call.vars
 *   leg:start_moh([class])  leg:stop_moh()   music under nothing else
 *   leg:start_tones(spec)   tones (indications syntax) in the music's
 *                  place: a ringback while a caller waits (stop_moh ends it)
 *   leg:refer_notify(code [, reason])        how its transfer request went
 *   leg.id .state .hungup .inbound .uri .endpoint .context .caller
 *   .caller_name .codec .held .bridge .refer .transfer
 *
 * The media methods (play, record, collect, ...) are a leg's too
 * (bind_media.c); a call's act on call.leg.  `why` is always "hangup"
 * when the leg is gone.
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "lua/luaclass.h"
#include "lua/luafield.h"
#include "lua/runtime.h"
#include "media/codec.h"
#include "media/moh.h"
#include "media/player.h"
#include "sip/endpoint.h"
#include "sip/registrar.h"
#include "call/blf.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/legmedia.h"
#include "call/call.h"

#define LEG_MT "lunapbx.leg"
#define LEG_MAP "lunapbx.legs"   /* leg pointer -> userdata, weak */

int luart_push_leg(lua_State *L, struct leg *leg)
{
	return luaclass_push(L, LEG_MT, LEG_MAP, leg);
}


/** The leg at @a idx: a leg, or a call (its caller leg). */
struct leg *luart_check_leg(lua_State *L, int idx)
{
	struct leg *leg = luaclass_test(L, idx, LEG_MT);

	if (leg)
		return leg;

	leg = call_leg(luart_check_call(L, idx));
	if (!leg)
		luaL_error(L, "this call has no leg yet");

	return leg;
}


/**
 * The leg a method at @a idx acts on: a leg, or a call's first leg while
 * the call holds it.  NULL once that leg left the call (a transfer moved
 * it to a call of its own): the call's methods then find nobody, as if it
 * had hung up.
 */
struct leg *luart_acting_leg(lua_State *L, int idx)
{
	struct call *call = luart_test_call(L, idx);
	struct leg *leg = luart_check_leg(L, idx);

	return call && leg_holder(leg) != call ? NULL : leg;
}


/** The leg at @a idx for a method that waits: the current call must hold
 *  it (a leg of another call is taken first with call:take(leg)).  NULL:
 *  the call's first leg left it (the method finds nobody). */
struct leg *luart_check_own_leg(lua_State *L, const char *what)
{
	struct leg *leg = luart_acting_leg(L, 1);
	struct call *call = luart_current_call(L);

	if (!leg)
		return NULL;

	if (!call)
		luaL_error(L, "%s waits in a call's dialplan; there is no call"
			   " here", what);
	if (leg_holder(leg) != call)
		luaL_error(L, "%s: leg %d is not this call's (call:take(leg)"
			   " first)", what, (int)leg_id(leg));

	return leg;
}


const char *luart_endpoint_name(const struct leg *leg)
{
	const struct endpoint *ep = leg_endpoint(leg);

	return ep ? ep->name : NULL;
}


/** true, or nil and why ("hangup" when the leg is gone). */
int luart_result(lua_State *L, int err)
{
	if (!err) {
		lua_pushboolean(L, 1);
		return 1;
	}

	lua_pushnil(L);
	lua_pushstring(L, err == ENOTCONN ? "hangup" : strerror(err));
	return 2;
}


static int l_answer(lua_State *L)
{
	struct leg *leg = luart_acting_leg(L, 1);

	return luart_result(L, leg ? leg_answer(leg) : ENOTCONN);
}


static int l_ringing(lua_State *L)
{
	struct leg *leg = luart_acting_leg(L, 1);

	return luart_result(L, leg ? leg_ringing(leg) : ENOTCONN);
}


static int l_progress(lua_State *L)
{
	struct leg *leg = luart_acting_leg(L, 1);

	return luart_result(L, leg ? leg_progress(leg) : ENOTCONN);
}


static int l_hangup(lua_State *L)
{
	struct leg *leg = luart_acting_leg(L, 1);
	lua_Integer code = luaL_optinteger(L, 2, 0);

	luaL_argcheck(L, code == 0 || (code >= 300 && code < 700), 2,
		      "a SIP final failure code (300-699)");
	if (leg)
		leg_hangup(leg, (uint16_t)code);

	return 0;
}


/*
 * leg:redirect(exten | fn [, context [, vars]]).  The new call's script
 * starts inside call_redirect(): what it runs instead of the dialplan
 * (fn) and its first vars wait for it in the registry (runtime.c's
 * script_start takes them).
 */
static int l_redirect(lua_State *L)
{
	struct leg *leg = luart_acting_leg(L, 1);
	bool fn = lua_isfunction(L, 2);
	const char *exten = fn ? "s" : luaL_checkstring(L, 2);
	const char *context = luaL_optstring(L, 3, NULL);
	struct call *cur = luart_current_call(L);
	int err;

	if (!context)
		context = cur ? call_context(cur) : NULL;
	luaL_argcheck(L, context, 3, "a context (no call to take it from)");
	luaL_argcheck(L, *exten && !strpbrk(exten, " \t\r\n"), 2,
		      "an extension or a function");
	if (!lua_isnoneornil(L, 4))
		luaL_checktype(L, 4, LUA_TTABLE);
	if (!leg)
		return luart_result(L, ENOTCONN);

	lua_createtable(L, 0, 2);
	if (fn) {
		lua_pushvalue(L, 2);
		lua_setfield(L, -2, "fn");
	}
	if (lua_istable(L, 4)) {
		lua_pushvalue(L, 4);
		lua_setfield(L, -2, "vars");
	}
	lua_setfield(L, LUA_REGISTRYINDEX, LUART_REDIRECT);

	err = call_redirect(leg, context, exten);

	lua_pushnil(L);     /* not taken when the call could not start */
	lua_setfield(L, LUA_REGISTRYINDEX, LUART_REDIRECT);

	return luart_result(L, err);
}


static const char *sounds(lua_State *L, char *buf, size_t sz)
{
	return pbx_sounds_dir(luart_pbx(L), buf, sz);
}


static int l_start_moh(lua_State *L)
{
	struct leg *leg = luart_acting_leg(L, 1);
	const char *cls = luaL_optstring(L, 2, NULL);
	const struct endpoint *ep = leg_endpoint(leg);
	char dir[512], err[256];
	struct player *p;
	int e;

	if (!leg)
		return luart_result(L, ENOTCONN);
	if (!cls)
		cls = ep && ep->moh ? ep->moh : "default";
	if (moh_player(&p, sounds(L, dir, sizeof(dir)), cls, true, err,
		       sizeof(err)))
		return luaL_error(L, "start_moh: %s", err);

	e = legmedia_background(leg, p);
	mem_deref(p);
	if (e == EBUSY)
		return luaL_error(L, "start_moh: leg %d is in a bridge",
				  (int)leg_id(leg));

	return luart_result(L, e);
}


/* Tones as background media, like music: a queue's caller hears the
 * ringback tone instead of music (Asterisk's Queue() option r). */
static int l_start_tones(lua_State *L)
{
	struct leg *leg = luart_acting_leg(L, 1);
	const char *spec = luaL_checkstring(L, 2);
	struct player *p;
	int e;

	if (player_tones(&p, spec))
		return luaL_error(L, "start_tones: bad tone '%s' (Asterisk's"
				  " syntax: \"425/1000,0/4000\")", spec);
	if (!leg) {
		mem_deref(p);
		return luart_result(L, ENOTCONN);
	}

	e = legmedia_background(leg, p);
	mem_deref(p);
	if (e == EBUSY)
		return luaL_error(L, "start_tones: leg %d is in a bridge",
				  (int)leg_id(leg));

	return luart_result(L, e);
}


static int l_stop_moh(lua_State *L)
{
	struct leg *leg = luart_acting_leg(L, 1);

	if (leg)
		legmedia_stop(leg, MEND_STOPPED);

	return 0;
}


static int l_refer_notify(lua_State *L)
{
	struct leg *leg = luart_check_leg(L, 1);
	lua_Integer code = luaL_checkinteger(L, 2);
	const char *reason = luaL_optstring(L, 3, NULL);

	luaL_argcheck(L, code >= 100 && code < 700, 2, "a SIP status code");
	if (!reason)
		reason = code == 200 ? "OK" : code < 200 ? "Trying"
			: code == 603 ? "Decline" : code == 486 ? "Busy Here"
			: code == 480 ? "Temporarily Unavailable"
			: code == 404 ? "Not Found" : "Service Unavailable";

	return luart_result(L, leg_refer_notify(leg, (uint16_t)code, reason));
}


static void push_pl(lua_State *L, const char *key, const struct pl *pl)
{
	lua_pushlstring(L, pl->p, pl->l);
	lua_setfield(L, -2, key);
}


/* leg.refer: the transfer request under way, or nil. */
static int push_refer(lua_State *L, const struct leg *leg)
{
	const struct leg_refer *r = leg_refer(leg);

	if (!r)
		return 0;

	lua_createtable(L, 0, 4);
	luafield_str(L, "to", r->to);
	luafield_str(L, "user", r->user);
	luafield_bool(L, "subscribed", r->subscribed);
	if (r->replaces) {
		lua_createtable(L, 0, 3);
		push_pl(L, "callid", &r->callid);
		push_pl(L, "to_tag", &r->to_tag);
		push_pl(L, "from_tag", &r->from_tag);
		lua_setfield(L, -2, "replaces");
	}

	return 1;
}


static int push_field(lua_State *L, struct leg *leg, const char *key)
{
	const struct endpoint *ep = leg_endpoint(leg);
	const struct codec *c;

	if (0 == strcmp(key, "id"))
		lua_pushinteger(L, (lua_Integer)leg_id(leg));
	else if (0 == strcmp(key, "state"))
		lua_pushstring(L, leg_state_name(leg_state(leg)));
	else if (0 == strcmp(key, "hungup"))
		lua_pushboolean(L, leg_closed(leg));
	else if (0 == strcmp(key, "inbound"))
		lua_pushboolean(L, leg_inbound(leg));
	else if (0 == strcmp(key, "uri"))
		luafield_pushstr(L, leg_uri(leg));
	else if (0 == strcmp(key, "endpoint"))
		luafield_pushstr(L, ep ? ep->name : NULL);
	else if (0 == strcmp(key, "context"))
		luafield_pushstr(L, ep ? ep->context : NULL);
	else if (0 == strcmp(key, "caller"))
		luafield_pushstr(L, leg_cid_num(leg));
	else if (0 == strcmp(key, "caller_name"))
		luafield_pushstr(L, leg_cid_name(leg));
	else if (0 == strcmp(key, "codec")) {
		c = codec_get(leg_codec(leg));
		luafield_pushstr(L, c ? c->name : NULL);
	}
	else if (0 == strcmp(key, "held"))
		lua_pushboolean(L, leg_remote_holds(leg));
	else if (0 == strcmp(key, "transfer"))
		lua_pushboolean(L, leg_transfer_allowed(leg));
	else if (0 == strcmp(key, "code"))
		lua_pushinteger(L, leg_code(leg));
	else if (0 == strcmp(key, "bridge"))
		return luart_push_bridge(L, leg_bridge(leg));
	else if (0 == strcmp(key, "refer"))
		return push_refer(L, leg);
	else
		return 0;

	return 1;
}


static int lua_method(lua_State *L, const char *key)
{
	struct call *call = luart_current_call(L);

	if (!call)
		return 0;

	luart_push_call(L, call);
	if (lua_getiuservalue(L, -1, 2) != LUA_TTABLE)
		return 0;

	return lua_getfield(L, -1, key) != LUA_TNIL;
}


static int l_index(lua_State *L)
{
	struct leg *leg = luaclass_check(L, 1, LEG_MT);
	const char *key = luaL_checkstring(L, 2);

	if (luaclass_method(L, 1, key) || push_field(L, leg, key))
		return 1;

	/* methods written in Lua (collect, say_number, ...): those of the
	 * generation of the call that runs */
	return lua_method(L, key);
}


static int l_tostring(lua_State *L)
{
	struct leg *leg = luart_check_leg(L, 1);

	lua_pushfstring(L, "leg %d (%s, %s)", (int)leg_id(leg),
			leg_uri(leg) ? leg_uri(leg) : "?",
			leg_state_name(leg_state(leg)));

	return 1;
}


struct dialog_id {
	struct pl callid, tag1, tag2;
};


static bool is_dialog(struct leg *leg, void *arg)
{
	const struct dialog_id *d = arg;

	return leg_matches_dialog(leg, &d->callid, &d->tag1, &d->tag2);
}


/* _core.find_dialog(callid, tag, tag) -> the leg of that dialog, or nil
 * (the Replaces of a REFER). */
static int l_find_dialog(lua_State *L)
{
	struct dialog_id d;

	pl_set_str(&d.callid, luaL_checkstring(L, 1));
	pl_set_str(&d.tag1, luaL_checkstring(L, 2));
	pl_set_str(&d.tag2, luaL_checkstring(L, 3));

	return luart_push_leg(L, leg_apply(is_dialog, &d));
}


/* A comma list ("1,3,sales") as a set. */
static void push_groups(lua_State *L, const char *s)
{
	lua_newtable(L);
	while (s && *s) {
		const char *e = strchr(s, ',');
		size_t n = e ? (size_t)(e - s) : strlen(s);

		if (n) {
			lua_pushlstring(L, s, n);
			lua_pushboolean(L, 1);
			lua_rawset(L, -3);
		}
		s += n + (e ? 1 : 0);
	}
}


/* _core.endpoint_info(name) -> { name, context, caller, caller_name,
 * callgroup = set, pickupgroup = set, contacts = n } | nil */
static int l_endpoint_info(lua_State *L)
{
	struct pbx *pbx = luart_pbx(L);
	const char *name = luaL_checkstring(L, 1);
	const struct endpoint *ep = endpoint_table_find_str(pbx->endpoints,
							    name);
	const struct list *contacts;

	if (!ep)
		return 0;

	contacts = pbx->registrar ? registrar_contacts(pbx->registrar, name)
		: NULL;
	lua_createtable(L, 0, 7);
	luafield_str(L, "name", ep->name);
	luafield_str(L, "context", ep->context);
	luafield_str(L, "caller", ep->cid_num);
	luafield_str(L, "caller_name", ep->cid_name);
	push_groups(L, ep->callgroup);
	lua_setfield(L, -2, "callgroup");
	push_groups(L, ep->pickupgroup);
	lua_setfield(L, -2, "pickupgroup");
	lua_pushinteger(L, contacts ? (lua_Integer)list_count(contacts) : 0);
	lua_setfield(L, -2, "contacts");

	return 1;
}


/* _core.blf(resource, leg | nil): the dialog a busy lamp of that
 * resource shows (a parking space's parked call). */
static int l_blf(lua_State *L)
{
	const char *res = luaL_checkstring(L, 1);
	struct leg *leg = lua_isnoneornil(L, 2) ? NULL
		: luart_check_leg(L, 2);

	return luart_result(L, blf_set(luart_pbx(L)->blf, res, leg));
}


/** _core functions about legs, into the table on top of the stack. */
void luart_open_leg_core(lua_State *L)
{
	lua_pushcfunction(L, l_find_dialog);
	lua_setfield(L, -2, "find_dialog");
	lua_pushcfunction(L, l_endpoint_info);
	lua_setfield(L, -2, "endpoint_info");
	lua_pushcfunction(L, l_blf);
	lua_setfield(L, -2, "blf");
}


/** Methods of both `leg` and `call` (which act on call.leg). */
void luart_leg_methods(lua_State *L, const luaL_Reg *fns)
{
	luaclass_methods(L, LEG_MT, fns);
	luart_call_methods(L, fns);
}


void luart_open_leg(lua_State *L)
{
	static const luaL_Reg both[] = {
		{ "answer",       l_answer },
		{ "ringing",      l_ringing },
		{ "progress",     l_progress },
		{ "hangup",       l_hangup },
		{ "redirect",     l_redirect },
		{ "start_moh",    l_start_moh },
		{ "stop_moh",     l_stop_moh },
		{ "start_tones",  l_start_tones },
		{ "refer_notify", l_refer_notify },
		{ NULL, NULL }
	};

	luaclass_new(L, LEG_MT, "leg", NULL, l_index, l_tostring, true,
		     LEG_MAP);
	luart_leg_methods(L, both);
}
