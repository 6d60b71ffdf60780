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
 *   d.status (nil while ringing) .code .leg .bridge .ringing .id
 *
 * A feature map is a table { ["#1"] = "blindxfer", ["*2"] = "atxfer",
 * timeout = 3 } (seconds between keys).
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "lua/runtime.h"
#include "media/codec.h"
#include "call/dial.h"
#include "call/featmatch.h"
#include "call/leg.h"
#include "call/call.h"

#define DIAL_MT "lunapbx.dial"

enum { MAX_TARGETS = 32 };

struct dial_ud {
	struct dial *d;             /* a reference */
};


static int dial_gc(lua_State *L)
{
	struct dial_ud *ud = luaL_checkudata(L, 1, DIAL_MT);

	ud->d = mem_deref(ud->d);

	return 0;
}


static struct dial *check_dial(lua_State *L, int idx)
{
	return ((struct dial_ud *)luaL_checkudata(L, idx, DIAL_MT))->d;
}


/** The dial handle at @a idx, or NULL. */
struct dial *luart_test_dial(lua_State *L, int idx)
{
	struct dial_ud *ud = luaL_testudata(L, idx, DIAL_MT);

	return ud ? ud->d : NULL;
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
	struct dial_ud *ud = lua_newuserdatauv(L, sizeof(*ud), 0);

	ud->d = mem_ref(d);
	luaL_setmetatable(L, DIAL_MT);

	return 1;
}


static size_t targets(lua_State *L, const char **t)
{
	size_t n = 0;

	if (lua_isstring(L, 1)) {
		t[n++] = lua_tostring(L, 1);
		return n;
	}

	luaL_checktype(L, 1, LUA_TTABLE);
	for (lua_Integer i = 1; n < MAX_TARGETS; i++) {
		if (lua_rawgeti(L, 1, i) != LUA_TSTRING) {
			lua_pop(L, 1);
			break;
		}
		t[n++] = lua_tostring(L, -1);
		lua_pop(L, 1);   /* the table keeps the string alive */
	}
	luaL_argcheck(L, n > 0, 1, "no endpoint to dial");

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

	n = targets(L, t);
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
	struct dial *d = check_dial(L, 1);
	uint32_t ms = 0;

	if (!lua_isnoneornil(L, 2)) {
		lua_Number s = luaL_checknumber(L, 2);

		luaL_argcheck(L, s >= 0 && s <= 86400, 2, "seconds");
		ms = (uint32_t)(s * 1000 + 0.5);
		if (!ms)
			ms = 1;
	}
	(void)d;
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


static int l_index(lua_State *L)
{
	struct dial *d = check_dial(L, 1);
	const char *key = luaL_checkstring(L, 2);
	enum dial_status st;
	uint16_t code;

	if (luaL_getmetafield(L, 1, "methods") &&
	    lua_getfield(L, -1, key) != LUA_TNIL)
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
		{ NULL, NULL }
	};

	luaL_newmetatable(L, DIAL_MT);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "methods");
	lua_pushcfunction(L, l_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushcfunction(L, dial_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushliteral(L, "dial");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);

	lua_pushcfunction(L, l_dial);
	lua_setfield(L, -2, "dial");
}
