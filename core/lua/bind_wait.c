/**
 * @file bind_wait.c  pbx.wait(x, y, ... [, seconds]): the first of several
 * things to come, while the others go on.
 *
 *   dial handle  done, or its caller hung up -> d, status, code, leg, bridge
 *   bridge       an event                    -> br, event, leg [, feature]
 *   leg          hung up                     -> leg, "hangup"
 *                taken by another call       -> leg, "taken"
 *                or keyed a digit (consumed) -> leg, "digit", "5"
 *   signal       notified (bind_signal.c)    -> sig, "signal", value
 *   seconds      none of them in time        -> nil, "timeout"
 *
 * The first ready in argument order wins.  A leg waited for must be the
 * call's; a bridge becomes the call's (its events are for who waits).
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "lua/runtime.h"
#include "media/codec.h"
#include "call/bridge.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/legmedia.h"
#include "call/call.h"


/* One argument: its result pushed after it, or -1. */
static int ready_one(lua_State *L, int i, struct call *call)
{
	struct dial *d = luart_test_dial(L, i);
	struct bridge *br;
	struct leg *leg;
	int n, digit;

	if (luart_test_signal(L, i)) {
		lua_pushvalue(L, i);
		n = luart_signal_take(L, i);
		if (n < 0)
			lua_pop(L, 1);
		return n < 0 ? -1 : n + 1;
	}

	br = d ? NULL : luart_test_bridge(L, i);
	if (d || br) {
		lua_pushvalue(L, i);
		n = d ? luart_dial_result(L, d) : luart_bridge_event(L, br);
		if (n < 0)
			lua_pop(L, 1);
		return n < 0 ? -1 : n + 1;
	}

	leg = luart_check_leg(L, i);
	if (leg_closed(leg)) {
		lua_pushvalue(L, i);
		lua_pushliteral(L, "hangup");
		return 2;
	}
	if (leg_holder(leg) != call) {   /* a pickup, a retrieval */
		lua_pushvalue(L, i);
		lua_pushliteral(L, "taken");
		return 2;
	}
	digit = legmedia_pop_digit(leg);
	if (digit < 0)
		return -1;

	lua_pushvalue(L, i);
	lua_pushliteral(L, "digit");
	lua_pushlstring(L, &(char){ (char)digit }, 1);

	return 3;
}


static int ready(lua_State *L, struct call *call, lua_KContext ctx)
{
	int nobj = (int)ctx;

	for (int i = 1; i <= nobj; i++) {
		int n = ready_one(L, i, call);

		if (n >= 0)
			return n;
	}

	if (!call_timed_out(call))
		return -1;

	lua_pushnil(L);
	lua_pushliteral(L, "timeout");
	return 2;
}


static int l_wait(lua_State *L)
{
	struct call *call = luart_current_call(L);
	int top = lua_gettop(L), nobj = top;
	uint32_t ms = 0;

	if (!call)
		return luaL_error(L, "wait: in a call's dialplan only");

	if (top && lua_type(L, top) == LUA_TNUMBER) {
		lua_Number s = lua_tonumber(L, top);

		luaL_argcheck(L, s >= 0 && s <= 86400, top, "seconds");
		ms = (uint32_t)(s * 1000 + 0.5);
		ms = ms ? ms : 1;
		--nobj;
	}
	luaL_argcheck(L, nobj > 0 || ms, 1, "something to wait for");

	for (int i = 1; i <= nobj; i++) {
		struct bridge *br = luart_test_bridge(L, i);
		struct leg *leg;

		if (luart_test_dial(L, i))
			continue;
		if (luart_test_signal(L, i)) {
			if (luart_signal_call(L, i) != call_id(call))
				return luaL_error(L, "wait: signal %d is"
						  " another call's", i);
			continue;
		}
		if (br) {
			if (call_own_bridge(call, br))
				return luaL_error(L, "wait: out of memory");
			continue;
		}
		leg = luart_check_leg(L, i);
		if (leg_holder(leg) != call)
			return luaL_error(L, "wait: leg %d is not this call's"
					  " (call:take(leg) first)",
					  (int)leg_id(leg));
	}
	lua_settop(L, nobj);

	return luart_await(L, ms, "wait", ready, nobj);
}


void luart_open_wait(lua_State *L)
{
	lua_pushcfunction(L, l_wait);
	lua_setfield(L, -2, "wait");
}
