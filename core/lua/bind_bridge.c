/**
 * @file bind_bridge.c  Bridges as the dialplan sees them.
 *
 *   _core.bridge([leg, leg]) -> br     (pbx.bridge: owned by this call)
 *   _core.bridge{ room = name } -> br  the conference room of that name,
 *                          found or made (mixed at any count; owned by
 *                          nobody until a script waits on it whole)
 *   br:add(leg [, keys])   the leg joins (from any other bridge), with its
 *                          feature keys ({ ["#1"] = "blindxfer", ... })
 *   br:remove(leg)         it leaves, still held by the call
 *   br:replace(old, leg)   leg takes old's place; old hangs up
 *   br:hangup([code])      every leg hangs up
 *   br:wait([s]) -> event, leg [, feature|talking] | nil, "timeout" |
 *                   nil, "empty"
 *     event: "hangup" (the leg hung up and left), "left" (it was taken
 *     into another bridge; in a room: removed), "feature" (it keyed one),
 *     "refer" (it asked for a transfer: leg.refer), "join" (a room: it
 *     joined), "talking" (mixed: it started, true, or stopped, false)
 *   br:wait(leg [, s]) -> event, leg [, x] | nil, "timeout"
 *     the events of one leg of this call's in the bridge: "hangup",
 *     "left" (it is in the bridge no more), "talking" (true/false),
 *     "notify" (a note from another script), "digit" (a room: its keys)
 *   br.id  br.count  br.room  br.mixing  br.ended  br.vars  br:legs()
 * The rest of a mixing bridge's methods are in bind_room.c.
 */
#include <ctype.h>
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "lua/luaclass.h"
#include "lua/runtime.h"
#include "media/codec.h"
#include "call/bridge.h"
#include "call/dial.h"
#include "call/featmatch.h"
#include "call/leg.h"
#include "call/legmedia.h"
#include "call/call.h"

#define BRIDGE_MT "lunapbx.bridge"
#define BRIDGE_MAP "lunapbx.bridges"   /* bridge -> userdata, weak */

static const char *ev_names[] = { "", "hangup", "left", "feature", "refer",
				  "join", "talking" };


static struct bridge *check_bridge(lua_State *L, int idx)
{
	return luaclass_check(L, idx, BRIDGE_MT);
}


struct bridge *luart_check_bridge(lua_State *L, int idx)
{
	return check_bridge(L, idx);
}


struct bridge *luart_test_bridge(lua_State *L, int idx)
{
	return luaclass_test(L, idx, BRIDGE_MT);
}


/* One userdata per bridge while Lua holds it: a room's scripts (of any
 * generation) share it, and its vars. */
int luart_push_bridge(lua_State *L, struct bridge *br)
{
	bool fresh;

	luaclass_push_uv(L, BRIDGE_MT, BRIDGE_MAP, br, 1, &fresh);
	if (fresh) {
		lua_newtable(L);
		lua_setiuservalue(L, -2, 1);           /* br.vars */
	}

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
	struct featmap *map = keys ? luart_featmap(L, keys, "bridge keys")
		: NULL;
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
			  ? "a room's legs have no feature keys (their digits"
			  " are their scripts')" : err == ENOTCONN
			  ? "the leg hung up" : err == EPIPE
			  ? "the room ended (pbx.bridge{ room = ... } makes"
			  " the next one)" : strerror(err));
}


/* A room's name: what a phone could key or a script spell. */
static bool room_name_ok(const char *s, size_t n)
{
	if (!n || n > 64)
		return false;

	for (size_t i = 0; i < n; i++) {
		if (!isalnum((unsigned char)s[i]) && !strchr("_-.+@", s[i]))
			return false;
	}

	return true;
}


/* pbx.bridge{ room = name } */
static int l_room(lua_State *L)
{
	struct bridge *br;
	const char *name;
	size_t n;
	int err;

	lua_pushnil(L);
	while (lua_next(L, 1)) {
		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING ||
		    strcmp(lua_tostring(L, -1), "room"))
			return luaL_error(L, "bridge: unknown field '%s' (only"
					  " room)", luaL_tolstring(L, -1,
								   NULL));
	}
	lua_getfield(L, 1, "room");
	name = lua_tolstring(L, -1, &n);
	luaL_argcheck(L, name && room_name_ok(name, n), 1,
		      "{ room = name }: 1 to 64 letters, digits, _-.+@");

	err = bridge_room(&br, name);
	if (err)
		return luaL_error(L, "bridge: %s", strerror(err));
	luart_push_bridge(L, br);
	mem_deref(br);   /* the userdata holds it (and itself, its legs) */

	return 1;
}


static int l_bridge(lua_State *L)
{
	struct call *call;
	struct bridge *br;
	int err;

	if (lua_type(L, 1) == LUA_TTABLE)
		return l_room(L);

	call = own(L, "bridge");
	lua_settop(L, 2);    /* the legs, or nils: the bridge goes above */

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
	if (ev.type == BRIDGE_EV_TALK) {
		lua_pushboolean(L, ev.talking);
		return 3;
	}
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


/* br:wait(leg): what concerns that leg in the bridge, first its end. */
static int member_ready(lua_State *L, struct call *call, lua_KContext ctx)
{
	struct bridge *br = check_bridge(L, 1);
	struct leg *leg = luart_check_leg(L, 2);
	struct bridge_mevent ev;
	int digit;
	(void)ctx;

	if (leg_closed(leg) || leg_bridge(leg) != br) {
		lua_pushstring(L, leg_closed(leg) ? "hangup" : "left");
		lua_pushvalue(L, 2);
		return 2;
	}

	if (bridge_next_member_event(br, leg, &ev)) {
		lua_pushstring(L, ev.type == BRIDGE_MEV_TALK ? "talking"
			       : "notify");
		lua_pushvalue(L, 2);
		if (ev.type == BRIDGE_MEV_TALK)
			lua_pushboolean(L, ev.talking);
		else
			lua_pushstring(L, ev.note);
		return 3;
	}

	digit = legmedia_pop_digit(leg);
	if (digit >= 0) {
		lua_pushliteral(L, "digit");
		lua_pushvalue(L, 2);
		lua_pushlstring(L, &(char){ (char)digit }, 1);
		return 3;
	}

	if (!call_timed_out(call))
		return -1;

	lua_pushnil(L);
	lua_pushliteral(L, "timeout");
	return 2;
}


static int wait_member(lua_State *L, struct bridge *br)
{
	struct call *call = own(L, "br:wait(leg)");
	struct leg *leg = luart_check_leg(L, 2);
	uint32_t ms = luaclass_seconds(L, 3);
	(void)br;

	if (leg_holder(leg) != call)
		return luaL_error(L, "wait: leg %d is not this call's"
				  " (call:take(leg) first)",
				  (int)leg_id(leg));
	lua_settop(L, 2);

	return luart_await(L, ms, "room", member_ready, 0);
}


static int l_wait(lua_State *L)
{
	struct bridge *br = check_bridge(L, 1);
	uint32_t ms;
	int err;

	if (lua_type(L, 2) == LUA_TUSERDATA)
		return wait_member(L, br);

	ms = luaclass_seconds(L, 2);

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

	if (luaclass_method(L, 1, key))
		return 1;

	if (0 == strcmp(key, "id"))
		lua_pushinteger(L, (lua_Integer)bridge_id(br));
	else if (0 == strcmp(key, "count"))
		lua_pushinteger(L, bridge_count(br));
	else if (0 == strcmp(key, "room"))
		lua_pushstring(L, bridge_room_name(br));
	else if (0 == strcmp(key, "mixing"))
		lua_pushboolean(L, bridge_mixing(br));
	else if (0 == strcmp(key, "ended"))
		lua_pushboolean(L, bridge_ended(br));
	else if (0 == strcmp(key, "vars"))
		lua_getiuservalue(L, 1, 1);
	else
		return 0;

	return 1;
}


static int l_tostring(lua_State *L)
{
	struct bridge *br = check_bridge(L, 1);

	if (bridge_room_name(br))
		lua_pushfstring(L, "room %s (bridge %d, %d legs%s)",
				bridge_room_name(br), (int)bridge_id(br),
				(int)bridge_count(br),
				bridge_ended(br) ? ", ended" : "");
	else
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

	luaclass_new(L, BRIDGE_MT, "bridge", methods, l_index, l_tostring,
		     true, BRIDGE_MAP);

	lua_pushcfunction(L, l_bridge);
	lua_setfield(L, -2, "bridge");
	luart_open_room(L);
}
