/**
 * @file bind_calldial.c  call:dial(), the one-line form of a dial, in C:
 * ring, bridge the first to answer with the caller, and wait until that
 * conversation is over, whoever it ends up with.
 *
 *   call:dial(targets [, { timeout = s, options = "tTkK", caller_name =,
 *             caller_num =, number = }])          -> status, code
 *   call:dial{ trunk = name, number = n, timeout = s }
 *
 * What needs a decision while the two talk (a feature key, a REFER) goes to
 * Lua: the generation's call method _bridge_event(call, br, event, leg,
 * feature, keys) (lunapbx/dial.lua, lunapbx/transfer.lua) returns the
 * bridge the conversation goes on in.  A plain call makes no Lua object:
 * the dial and the bridge are held by the call, the waits are this file's
 * continuations.
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "lua/runtime.h"
#include "media/codec.h"
#include "call/bridge.h"
#include "call/dial.h"
#include "call/featmatch.h"
#include "call/leg.h"
#include "call/call.h"

enum { MAX_TARGETS = 32 };

/* Stack slots the continuations keep (1-3 are the method's arguments). */
enum { S_DIAL = 4, S_BRIDGE, S_CKEYS, S_EKEYS, S_KEYS, S_TOP = S_KEYS };

enum phase { P_DIAL = 1, P_TALK, P_HANDLED };


/* A field of the options table (at @a t) as a string, or NULL; it stays
 * alive in the table. */
static const char *opt_str(lua_State *L, int t, const char *key)
{
	const char *s = NULL;

	if (lua_getfield(L, t, key) == LUA_TSTRING ||
	    lua_type(L, -1) == LUA_TNUMBER)
		s = lua_tostring(L, -1);
	lua_pop(L, 1);

	return s;
}


/* The generation's Lua call method @a name, pushed (nil when none). */
static int lua_method(lua_State *L, const char *name)
{
	if (lua_getiuservalue(L, 1, 2) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_pushnil(L);
		return LUA_TNIL;
	}
	lua_getfield(L, -1, name);
	lua_remove(L, -2);

	return lua_type(L, -1);
}


/* Dial's options ("tThH"): the feature keys of each side, from the
 * generation's features (_dial_keys), into S_CKEYS and S_EKEYS. */
static void keys(lua_State *L, const char *options)
{
	lua_settop(L, S_DIAL - 1);
	lua_pushnil(L);                                 /* S_DIAL */
	lua_pushnil(L);                                 /* S_BRIDGE */
	if (!options || !*options ||
	    lua_method(L, "_dial_keys") != LUA_TFUNCTION) {
		if (options && *options)
			lua_pop(L, 1);
		lua_pushnil(L);
		lua_pushnil(L);
	}
	else {
		lua_pushstring(L, options);
		lua_call(L, 1, 2);                      /* S_CKEYS, S_EKEYS */
	}
	lua_pushnil(L);                                 /* S_KEYS */
}


static void options(lua_State *L, struct call *call, struct dial_opts *o,
		    const char **optstr)
{
	int t = lua_istable(L, 2) && lua_isnoneornil(L, 3) ? 2 : 3;

	memset(o, 0, sizeof(*o));
	*optstr = NULL;
	if (lua_isnoneornil(L, t))
		return;

	luaL_checktype(L, t, LUA_TTABLE);
	if (lua_getfield(L, t, "timeout") != LUA_TNIL) {
		lua_Number s = lua_tonumber(L, -1);

		luaL_argcheck(L, lua_isnumber(L, -1) && s > 0 && s <= 86400,
			      t, "timeout: seconds (0 to 86400)");
		o->timeout_ms = (uint32_t)(s * 1000 + 0.5);
	}
	lua_pop(L, 1);
	o->caller_name = opt_str(L, t, "caller_name");
	o->caller_num = opt_str(L, t, "caller_num");
	o->number = opt_str(L, t, "number");
	luaL_argcheck(L, !o->number || (*o->number &&
		      !strpbrk(o->number, "@:;<>\" \t\r\n")), t,
		      "number: digits or a user part, no SIP punctuation");
	*optstr = opt_str(L, t, "options");
	luaL_argcheck(L, !*optstr || strspn(*optstr, "tThHkK") ==
		      strlen(*optstr), t, "options: Dial's t, T, h, H, k, K");
	(void)call;
}


static struct dial *dial_of(lua_State *L)
{
	return lua_touserdata(L, S_DIAL);
}


static struct bridge *bridge_of(lua_State *L)
{
	struct bridge *br = luart_test_bridge(L, S_BRIDGE);

	return br ? br : lua_touserdata(L, S_BRIDGE);
}


static int results(lua_State *L, const char *status, uint16_t code)
{
	lua_pushstring(L, status);
	lua_pushinteger(L, code);

	return 2;
}


static int dial_k(lua_State *L, int status, lua_KContext ctx);


/* Wait, and come back to dial_k in @a phase. */
static int wait(lua_State *L, struct call *call, const char *what,
		enum phase phase)
{
	call_wait(call, 0, what);

	return lua_yieldk(L, 0, phase, dial_k);
}


/* The keys of each side, for the Lua flows: { [leg] = keys }. */
static void keys_table(lua_State *L, struct call *call, struct bridge *br)
{
	struct leg *a = call_leg(call), *b = bridge_other(br, a);

	if (!lua_isnil(L, S_KEYS))
		return;

	lua_createtable(L, 0, 2);
	if (!lua_isnil(L, S_CKEYS)) {
		luart_push_leg(L, a);
		lua_pushvalue(L, S_CKEYS);
		lua_rawset(L, -3);
	}
	if (b && !lua_isnil(L, S_EKEYS)) {
		luart_push_leg(L, b);
		lua_pushvalue(L, S_EKEYS);
		lua_rawset(L, -3);
	}
	lua_replace(L, S_KEYS);
}


/* A feature or a REFER: the generation's Lua decides; the bridge it
 * returns is where the conversation goes on (dial_k, P_HANDLED). */
static int handle(lua_State *L, struct call *call, struct bridge *br,
		  const struct bridge_event *ev)
{
	keys_table(L, call, br);
	if (lua_method(L, "_bridge_event") != LUA_TFUNCTION) {
		lua_pop(L, 1);
		if (ev->type == BRIDGE_EV_REFER)
			(void)leg_refer_notify(ev->leg, 603, "Decline");
		mem_deref(ev->leg);
		return dial_k(L, LUA_OK, P_TALK);
	}

	lua_pushvalue(L, 1);
	luart_push_bridge(L, br);
	lua_pushstring(L, ev->type == BRIDGE_EV_FEATURE ? "feature" : "refer");
	luart_push_leg(L, ev->leg);
	lua_pushstring(L, ev->feature);
	lua_pushvalue(L, S_KEYS);
	mem_deref(ev->leg);

	lua_callk(L, 6, 1, P_HANDLED, dial_k);

	return dial_k(L, LUA_OK, P_HANDLED);
}


/* The two talk: until nobody is left to talk to. */
static int talk(lua_State *L, struct call *call)
{
	struct bridge *br = bridge_of(L);
	struct bridge_event ev;

	while (bridge_next_event(br, &ev)) {
		if (ev.type == BRIDGE_EV_FEATURE || ev.type == BRIDGE_EV_REFER)
			return handle(L, call, br, &ev);
		mem_deref(ev.leg);           /* hangup, left: counted below */
	}

	/* Asterisk's default: when one leaves, so does the other */
	if (bridge_count(br) <= 1) {
		bridge_hangup(br, 0);
		return results(L, "ANSWER", 200);
	}

	return wait(L, call, "bridge", P_TALK);
}


static int dial_k(lua_State *L, int status, lua_KContext ctx)
{
	struct call *call = luart_current_call(L);
	struct dial *d = dial_of(L);
	enum dial_status st;
	uint16_t code;
	(void)status;

	if (!call)
		return luaL_error(L, "the call ended while it dialled");
	call_wait_end(call);

	switch ((enum phase)ctx) {

	case P_DIAL:
		if (!dial_done(d) && dial_caller_gone(d))
			dial_cancel(d);
		if (!dial_done(d))
			return wait(L, call, "dial", P_DIAL);
		st = dial_status(d, &code);
		if (st != DIAL_ANSWER || !dial_bridge(d))
			return results(L, dial_status_name(st), code);
		lua_pushlightuserdata(L, dial_bridge(d));
		lua_replace(L, S_BRIDGE);
		return talk(L, call);

	case P_HANDLED:
		/* the bridge the flow left the conversation in (nil: the same) */
		if (luart_test_bridge(L, -1))
			lua_replace(L, S_BRIDGE);
		lua_settop(L, S_TOP);
		return talk(L, call);

	case P_TALK:
	default:
		return talk(L, call);
	}
}


static int l_dial(lua_State *L)
{
	struct call *call = luart_check_own_call(L, "call:dial()");
	const char *t[MAX_TARGETS], *optstr;
	struct leg *caller = call_leg(call);
	struct dial_opts o;
	struct dial *d;
	size_t n;
	int err;

	n = luart_targets(L, 2, t, MAX_TARGETS);
	options(L, call, &o, &optstr);
	keys(L, optstr);
	o.caller_keys = luart_featmap(L, S_CKEYS, "dial options");
	o.callee_keys = luart_featmap(L, S_EKEYS, "dial options");
	o.xhdrs = call_headers(call);
	o.capture = call_capture(call);

	/* an answered caller (a transferred party) hears a ringback tone */
	if (leg_state(caller) == LEG_ANSWERED &&
	    lua_method(L, "_tone") == LUA_TFUNCTION) {
		lua_pushvalue(L, 1);
		lua_pushliteral(L, "ring");
		lua_call(L, 2, 1);
		o.ringback = lua_tostring(L, -1);   /* kept on the stack */
	}

	err = call_dial(call, caller, t, n, &o, &d);
	mem_deref(o.caller_keys);
	mem_deref(o.callee_keys);
	if (err)
		return luaL_error(L, "dial: %s", strerror(err));

	lua_settop(L, S_TOP);
	lua_pushlightuserdata(L, d);   /* the call holds it till it ends */
	lua_replace(L, S_DIAL);

	return dial_k(L, LUA_OK, P_DIAL);
}


void luart_open_calldial(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "dial", l_dial },
		{ NULL, NULL }
	};

	luart_call_methods(L, methods);
}
