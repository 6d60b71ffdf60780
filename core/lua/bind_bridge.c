/**
 * @file bind_bridge.c  Bridges as the dialplan sees them.
 *
 *   _core.bridge([leg, leg]) -> br     (pbx.bridge: owned by this call)
 *   br:add(leg [, keys])   the leg joins (from any other bridge), with its
 *                          feature keys ({ ["#1"] = "blindxfer", ... })
 *   br:remove(leg)         it leaves, still held by the call
 *   br:replace(old, leg)   leg takes old's place; old hangs up
 *   br:hangup([code])      every leg hangs up
 *   br:wait([s]) -> event, leg [, feature] | nil, "timeout" | nil, "empty"
 *     event: "hangup" (the leg hung up and left), "left" (it was taken
 *     into another bridge), "feature" (it keyed one), "refer" (it asked
 *     for a transfer: leg.refer)
 *   br.id  br.count  br:legs() -> { leg, ... }
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

#define BRIDGE_MT "lunapbx.bridge"
#define BRIDGE_MAP "lunapbx.bridges"   /* bridge -> userdata, weak */

struct bridge_ud {
	struct bridge *br;          /* a reference */
};

static const char *ev_names[] = { "", "hangup", "left", "feature", "refer" };


static int bridge_gc(lua_State *L)
{
	struct bridge_ud *ud = luaL_checkudata(L, 1, BRIDGE_MT);

	ud->br = mem_deref(ud->br);

	return 0;
}


static struct bridge *check_bridge(lua_State *L, int idx)
{
	return ((struct bridge_ud *)luaL_checkudata(L, idx, BRIDGE_MT))->br;
}


struct bridge *luart_test_bridge(lua_State *L, int idx)
{
	struct bridge_ud *ud = luaL_testudata(L, idx, BRIDGE_MT);

	return ud ? ud->br : NULL;
}


int luart_push_bridge(lua_State *L, struct bridge *br)
{
	struct bridge_ud *ud;

	if (!br) {
		lua_pushnil(L);
		return 1;
	}

	lua_getfield(L, LUA_REGISTRYINDEX, BRIDGE_MAP);
	if (lua_rawgetp(L, -1, br) == LUA_TUSERDATA) {
		lua_remove(L, -2);
		return 1;
	}
	lua_pop(L, 1);

	ud = lua_newuserdatauv(L, sizeof(*ud), 0);
	ud->br = mem_ref(br);
	luaL_setmetatable(L, BRIDGE_MT);
	lua_pushvalue(L, -1);
	lua_rawsetp(L, -3, br);
	lua_remove(L, -2);

	return 1;
}


static struct call *own(lua_State *L, const char *what)
{
	struct call *call = luart_current_call(L);

	if (!call)
		luaL_error(L, "%s: in a call's dialplan only", what);

	return call;
}


static int add(lua_State *L, struct bridge *br, int idx, int keys)
{
	struct call *call = own(L, "bridge");
	struct leg *leg = luart_check_leg(L, idx);
	struct featmap *map = luart_featmap(L, keys, "bridge keys");
	int err;

	if (leg_holder(leg) && leg_holder(leg) != call)
		(void)call_hold(call, leg);   /* taken from its call */
	err = bridge_add(br, leg, map);
	mem_deref(map);

	return err;
}


static int fail(lua_State *L, const char *what, int err)
{
	return luaL_error(L, "%s: %s", what, err == ENOTSUP
			  ? "a bridge of more than two legs needs a"
			  " conference room" : err == ENOTCONN
			  ? "the leg hung up" : strerror(err));
}


static int l_bridge(lua_State *L)
{
	struct call *call = own(L, "bridge");
	struct bridge *br;
	int err;

	err = bridge_alloc(&br);
	if (!err)
		err = call_own_bridge(call, br);
	if (err) {
		mem_deref(br);
		return luaL_error(L, "bridge: %s", strerror(err));
	}
	luart_push_bridge(L, br);
	mem_deref(br);   /* the call and the userdata hold it */

	for (int i = 1; i <= 2 && !lua_isnoneornil(L, i); i++) {
		err = add(L, br, i, 0);
		if (err)
			return fail(L, "bridge", err);
	}

	return 1;
}


static int l_add(lua_State *L)
{
	int err = add(L, check_bridge(L, 1), 2, 3);

	if (err && err != EALREADY)
		return fail(L, "add", err);
	lua_settop(L, 1);

	return 1;
}


static int l_remove(lua_State *L)
{
	struct bridge *br = check_bridge(L, 1);
	struct leg *leg = luart_check_leg(L, 2);

	lua_pushboolean(L, 0 == bridge_remove(br, leg));

	return 1;
}


/* br:replace(old, leg): leg takes old's place, old hangs up. */
static int l_replace(lua_State *L)
{
	struct bridge *br = check_bridge(L, 1);
	struct leg *old = luart_check_leg(L, 2);
	struct leg *leg = luart_check_leg(L, 3);
	int err = bridge_replace(br, old, leg);

	if (err)
		return fail(L, "replace", err);

	return 0;
}


static int l_hangup(lua_State *L)
{
	struct bridge *br = check_bridge(L, 1);
	lua_Integer code = luaL_optinteger(L, 2, 0);

	luaL_argcheck(L, code == 0 || (code >= 300 && code < 700), 2,
		      "a SIP final failure code (300-699)");
	bridge_hangup(br, (uint16_t)code);

	return 0;
}


/** The next event of the bridge at @a idx pushed, or -1. */
int luart_bridge_event(lua_State *L, struct bridge *br)
{
	struct bridge_event ev;

	if (!bridge_next_event(br, &ev))
		return -1;

	lua_pushstring(L, ev_names[ev.type]);
	luart_push_leg(L, ev.leg);
	mem_deref(ev.leg);
	if (ev.type != BRIDGE_EV_FEATURE)
		return 2;

	lua_pushstring(L, ev.feature);
	return 3;
}


static int wait_ready(lua_State *L, struct call *call, lua_KContext ctx)
{
	struct bridge *br = check_bridge(L, 1);
	int n = luart_bridge_event(L, br);
	(void)ctx;

	if (n >= 0)
		return n;
	if (!bridge_count(br)) {        /* nothing will ever come */
		lua_pushnil(L);
		lua_pushliteral(L, "empty");
		return 2;
	}
	if (!call_timed_out(call))
		return -1;

	lua_pushnil(L);
	lua_pushliteral(L, "timeout");
	return 2;
}


static int l_wait(lua_State *L)
{
	struct bridge *br = check_bridge(L, 1);
	uint32_t ms = 0;
	int err;

	if (!lua_isnoneornil(L, 2)) {
		lua_Number s = luaL_checknumber(L, 2);

		luaL_argcheck(L, s >= 0 && s <= 86400, 2, "seconds");
		ms = (uint32_t)(s * 1000 + 0.5);
		if (!ms)
			ms = 1;
	}

	/* the script that waits decides for it */
	err = call_own_bridge(own(L, "br:wait()"), br);
	if (err)
		return luaL_error(L, "wait: %s", strerror(err));
	lua_settop(L, 1);

	return luart_await(L, ms, "bridge", wait_ready, 0);
}


static int l_legs(lua_State *L)
{
	struct bridge *br = check_bridge(L, 1);
	uint32_t n = bridge_count(br);

	lua_createtable(L, (int)n, 0);
	for (uint32_t i = 0; i < n; i++) {
		luart_push_leg(L, bridge_leg(br, i));
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}

	return 1;
}


static int l_index(lua_State *L)
{
	struct bridge *br = check_bridge(L, 1);
	const char *key = luaL_checkstring(L, 2);

	if (luaL_getmetafield(L, 1, "methods") &&
	    lua_getfield(L, -1, key) != LUA_TNIL)
		return 1;

	if (0 == strcmp(key, "id"))
		lua_pushinteger(L, (lua_Integer)bridge_id(br));
	else if (0 == strcmp(key, "count"))
		lua_pushinteger(L, bridge_count(br));
	else
		return 0;

	return 1;
}


static int l_tostring(lua_State *L)
{
	struct bridge *br = check_bridge(L, 1);

	lua_pushfstring(L, "bridge %d (%d legs)", (int)bridge_id(br),
			(int)bridge_count(br));

	return 1;
}


void luart_open_bridge(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "add",    l_add },
		{ "remove", l_remove },
		{ "replace", l_replace },
		{ "hangup", l_hangup },
		{ "wait",   l_wait },
		{ "legs",   l_legs },
		{ NULL, NULL }
	};

	luaL_newmetatable(L, BRIDGE_MT);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "methods");
	lua_pushcfunction(L, l_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushcfunction(L, bridge_gc);
	lua_setfield(L, -2, "__gc");
	lua_pushliteral(L, "bridge");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);

	lua_newtable(L);
	lua_newtable(L);
	lua_pushliteral(L, "v");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, BRIDGE_MAP);

	lua_pushcfunction(L, l_bridge);
	lua_setfield(L, -2, "bridge");
}
