/**
 * @file bind_dial.c  Dials as handles a script starts, waits for, races
 * against other things, cancels.
 *
 *   _core.dial(targets, opts) -> d     (pbx.dial: rings now, returns at once)
 *     targets: an endpoint or peer name, or a list of them
 *     opts: caller = leg (hears the progress, is bridged at the answer),
 *           timeout = s, caller_name, caller_num, number (trunks),
 *           ringback = tone spec, caller_keys = map, callee_keys = map
 *   d:wait([s]) -> status, code, leg, bridge | nil, "timeout" | nil, "hangup"
 *   d:cancel()   d:set_caller(leg)
 *   d:pickup(leg)  leg (this call's) takes the ringing call -> true | nil, why
 *   d.status (nil while ringing) .code .leg .bridge .ringing .id
 *   .caller (its caller leg) .endpoints (the names it rings now)
 *   .started (pbx clock, seconds)
 *   _core.ringing() -> { d, ... }  every dial that rings, oldest first
 *
 * A feature map is a table { ["#1"] = "blindxfer", ["*2"] = "atxfer",
 * timeout = 3 } (seconds between keys).
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "lua/luaclass.h"
#include "lua/runtime.h"
#include "media/codec.h"
#include "call/dial.h"
#include "call/featmatch.h"
#include "call/leg.h"
#include "call/call.h"

#define DIAL_MT "lunapbx.dial"

enum { MAX_TARGETS = 32 };

static struct dial *check_dial(lua_State *L, int idx)
{
	return luaclass_check(L, idx, DIAL_MT);
}


/** The dial handle at @a idx, or NULL. */
struct dial *luart_test_dial(lua_State *L, int idx)
{
	return luaclass_test(L, idx, DIAL_MT);
}


/**
 * A feature map from the table at @a idx ({ [code] = name, timeout = s }),
 * or NULL when @a idx is nil.  Raises on a bad code.
 */
struct featmap *luart_featmap(lua_State *L, int idx, const char *what)
{
	struct featmap *map;
	uint32_t ms = 0;
	int err;

	if (lua_isnoneornil(L, idx))
		return NULL;
	idx = lua_absindex(L, idx);
	luaL_checktype(L, idx, LUA_TTABLE);

	if (lua_getfield(L, idx, "timeout") == LUA_TNUMBER)
		ms = (uint32_t)(lua_tonumber(L, -1) * 1000 + 0.5);
	lua_pop(L, 1);

	if (featmap_alloc(&map, ms))
		luaL_error(L, "out of memory");

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		if (lua_type(L, -2) == LUA_TSTRING &&
		    lua_type(L, -1) == LUA_TSTRING &&
		    strcmp(lua_tostring(L, -2), "timeout")) {
			err = featmap_add(map, lua_tostring(L, -2),
					  lua_tostring(L, -1));
			if (err) {
				mem_deref(map);
				luaL_error(L, "%s: feature code '%s': %s", what,
					   lua_tostring(L, -2), err == EEXIST
					   ? "starts or is the start of another"
					   : "1 to 8 of 0-9 * # A-D");
			}
		}
		lua_pop(L, 1);
	}

	return map;
}


int luart_push_dial(lua_State *L, struct dial *d)
{
	return luaclass_push(L, DIAL_MT, NULL, d);
}


/**
 * The targets at @a idx: an endpoint or peer name, a list of them, or a
 * table naming a peer ({ trunk = "name", number = ... }, Asterisk's
 * Dial(SIP/name/n)).  The strings stay alive at @a idx.
 */
size_t luart_targets(lua_State *L, int idx, const char **t, size_t max)
{
	size_t n = 0;

	if (lua_isstring(L, idx)) {
		t[n++] = lua_tostring(L, idx);
		return n;
	}

	luaL_checktype(L, idx, LUA_TTABLE);
	if (lua_getfield(L, idx, "trunk") == LUA_TSTRING) {
		t[n++] = lua_tostring(L, -1);
		lua_pop(L, 1);
		return n;
	}
	lua_pop(L, 1);
	for (lua_Integer i = 1; n < max; i++) {
		if (lua_rawgeti(L, idx, i) != LUA_TSTRING) {
			lua_pop(L, 1);
			break;
		}
		t[n++] = lua_tostring(L, -1);
		lua_pop(L, 1);
	}
	luaL_argcheck(L, n > 0, idx, "no endpoint to dial");

	return n;
}


static const char *opt_str(lua_State *L, const char *key)
{
	const char *s;

	lua_getfield(L, 2, key);
	s = lua_tostring(L, -1);   /* stays on the stack while we run */

	return s;
}


static void options(lua_State *L, struct dial_opts *o, struct leg **caller)
{
	memset(o, 0, sizeof(*o));
	*caller = NULL;
	if (lua_isnoneornil(L, 2))
		return;

	luaL_checktype(L, 2, LUA_TTABLE);
	if (lua_getfield(L, 2, "caller") != LUA_TNIL)
		*caller = luart_check_leg(L, -1);
	if (lua_getfield(L, 2, "timeout") != LUA_TNIL) {
		lua_Number s = luaL_checknumber(L, -1);

		luaL_argcheck(L, s > 0 && s <= 86400, 2,
			      "timeout: seconds (0 to 86400)");
		o->timeout_ms = (uint32_t)(s * 1000 + 0.5);
	}
	o->caller_name = opt_str(L, "caller_name");
	o->caller_num = opt_str(L, "caller_num");
	o->number = opt_str(L, "number");
	luaL_argcheck(L, !o->number || (*o->number &&
		      !strpbrk(o->number, "@:;<>\" \t\r\n")), 2,
		      "number: digits or a user part, no SIP punctuation");
	o->ringback = opt_str(L, "ringback");
	lua_getfield(L, 2, "caller_keys");
	o->caller_keys = luart_featmap(L, -1, "caller_keys");
	lua_getfield(L, 2, "callee_keys");
	o->callee_keys = luart_featmap(L, -1, "callee_keys");
}


static int l_dial(lua_State *L)
{
	struct call *call = luart_current_call(L);
	const char *t[MAX_TARGETS];
	struct dial_opts o;
	struct leg *caller;
	struct dial *d;
	size_t n;
	int err;

	if (!call)
		return luaL_error(L, "dial: a call's dialplan starts dials");

	n = luart_targets(L, 1, t, MAX_TARGETS);
	options(L, &o, &caller);
	o.xhdrs = call_headers(call);
	o.capture = call_capture(call);

	err = call_dial(call, caller, t, n, &o, &d);
	mem_deref(o.caller_keys);
	mem_deref(o.callee_keys);
	if (err == EPERM)
		return luaL_error(L, "dial: the caller leg is not this call's");
	if (err)
		return luaL_error(L, "dial: %s", strerror(err));

	return luart_push_dial(L, d);
}


/* What a dial that is over returns; -1 while it rings. */
int luart_dial_result(lua_State *L, struct dial *d)
{
	enum dial_status st;
	uint16_t code;

	if (!dial_done(d)) {
		if (!dial_caller_gone(d))
			return -1;
		lua_pushnil(L);
		lua_pushliteral(L, "hangup");
		return 2;
	}

	st = dial_status(d, &code);
	lua_pushstring(L, dial_status_name(st));
	lua_pushinteger(L, code);
	luart_push_leg(L, dial_answered(d));
	luart_push_bridge(L, dial_bridge(d));

	return 4;
}


static int wait_ready(lua_State *L, struct call *call, lua_KContext ctx)
{
	int n = luart_dial_result(L, check_dial(L, 1));
	(void)ctx;

	if (n >= 0 || !call_timed_out(call))
		return n;

	lua_pushnil(L);
	lua_pushliteral(L, "timeout");
	return 2;
}


static int l_wait(lua_State *L)
{
	uint32_t ms = luaclass_seconds(L, 2);

	(void)check_dial(L, 1);
	lua_settop(L, 1);

	return luart_await(L, ms, "dial", wait_ready, 0);
}


static int l_cancel(lua_State *L)
{
	dial_cancel(check_dial(L, 1));

	return 0;
}


static int l_set_caller(lua_State *L)
{
	struct dial *d = check_dial(L, 1);
	struct leg *leg = luart_check_leg(L, 2);

	return luart_result(L, dial_set_caller(d, leg));
}


/* d:pickup(leg): the leg, held by this call, takes the ringing call (the
 * caller is answered and bridged with it; the forks stop ringing). */
static int l_pickup(lua_State *L)
{
	struct dial *d = check_dial(L, 1);
	struct leg *leg = luart_check_leg(L, 2);
	struct call *call = luart_current_call(L);
	int err;

	if (!call || leg_holder(leg) != call)
		return luaL_error(L, "pickup: leg %d is not this call's",
				  (int)leg_id(leg));

	err = dial_pickup(d, leg);
	if (err == EALREADY) {
		lua_pushnil(L);
		lua_pushliteral(L, "over");   /* answered or gone meanwhile */
		return 2;
	}

	return luart_result(L, err);
}


static int push_endpoints(lua_State *L, const struct dial *d)
{
	struct leg *leg;

	lua_newtable(L);
	for (uint32_t i = 0; (leg = dial_fork(d, i)); i++) {
		const char *name = luart_endpoint_name(leg);

		lua_pushstring(L, name ? name : "");
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}

	return 1;
}


static bool add_ringing(struct dial *d, void *arg)
{
	lua_State *L = arg;

	if (dial_done(d))
		return false;
	luart_push_dial(L, d);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);

	return false;
}


/* _core.ringing(): the dials that ring now, oldest first. */
static int l_ringing(lua_State *L)
{
	lua_newtable(L);
	(void)dial_apply(add_ringing, L);

	return 1;
}


static int l_index(lua_State *L)
{
	struct dial *d = check_dial(L, 1);
	const char *key = luaL_checkstring(L, 2);
	enum dial_status st;
	uint16_t code;

	if (luaclass_method(L, 1, key))
		return 1;

	st = dial_status(d, &code);
	if (0 == strcmp(key, "status"))
		return st == DIAL_NONE ? 0
			: (lua_pushstring(L, dial_status_name(st)), 1);
	if (0 == strcmp(key, "code"))
		return st == DIAL_NONE ? 0 : (lua_pushinteger(L, code), 1);
	if (0 == strcmp(key, "leg"))
		return luart_push_leg(L, dial_answered(d));
	if (0 == strcmp(key, "bridge"))
		return luart_push_bridge(L, dial_bridge(d));
	if (0 == strcmp(key, "ringing")) {
		lua_pushinteger(L, dial_ringing(d));
		return 1;
	}
	if (0 == strcmp(key, "id")) {
		lua_pushinteger(L, (lua_Integer)dial_id(d));
		return 1;
	}
	if (0 == strcmp(key, "caller"))
		return luart_push_leg(L, dial_caller(d));
	if (0 == strcmp(key, "endpoints"))
		return push_endpoints(L, d);
	if (0 == strcmp(key, "started")) {
		lua_pushnumber(L, (lua_Number)dial_started(d) / 1000.0);
		return 1;
	}

	return 0;
}


static int l_tostring(lua_State *L)
{
	struct dial *d = check_dial(L, 1);

	lua_pushfstring(L, "dial %d (%s)", (int)dial_id(d), dial_done(d)
			? dial_status_name(dial_status(d, NULL)) : "ringing");

	return 1;
}


/** _core.dial, and the dial handle's metatable. */
void luart_open_dial(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "wait",       l_wait },
		{ "cancel",     l_cancel },
		{ "set_caller", l_set_caller },
		{ "pickup",     l_pickup },
		{ NULL, NULL }
	};

	luaclass_new(L, DIAL_MT, "dial", methods, l_index, l_tostring, true,
		     NULL);

	lua_pushcfunction(L, l_dial);
	lua_setfield(L, -2, "dial");
	lua_pushcfunction(L, l_ringing);
	lua_setfield(L, -2, "ringing");
}
