/**
 * @file bind_signal.c  A signal: how one call's script wakes another's.
 *
 *   local sig = pbx.signal()      -- the current call's
 *   sig:notify([value])           -- from any script (or the console)
 *   sig:wait([s])                 -- "signal", value | nil, "timeout"
 *   pbx.wait(leg, sig, 5)         -- sig, "signal", value (with the rest)
 *
 * A queue's waiting callers each wait on their leg and a signal: whoever
 * frees an agent (a call ending, a pause lifted, a member added) notifies
 * the callers that may take it, instead of every caller polling.  Notes
 * do not pile up: a signal is raised or not, and keeps the last value.
 * It wakes the call that made it, found again by its id (a call that
 * ended is not touched).
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "lua/runtime.h"
#include "call/dial.h"
#include "call/call.h"

#define SIGNAL_MT "lunapbx.signal"

struct signal {
	uint64_t call_id;   /* whose script waits on it              */
	bool raised;
	uint64_t notes;     /* how many notify() calls, for the curious */
};


/** The signal at @a idx, or NULL. */
struct signal *luart_test_signal(lua_State *L, int idx)
{
	return luaL_testudata(L, idx, SIGNAL_MT);
}


/* Pushes "signal", value and lowers it when it is raised; else -1. */
int luart_signal_take(lua_State *L, int idx)
{
	struct signal *s = luart_test_signal(L, idx);

	if (!s || !s->raised)
		return -1;

	s->raised = false;
	lua_pushliteral(L, "signal");
	lua_getiuservalue(L, idx, 1);
	lua_pushnil(L);
	lua_setiuservalue(L, idx, 1);

	return 2;
}


/** The call that waits on the signal at @a idx (for pbx.wait's check). */
uint64_t luart_signal_call(lua_State *L, int idx)
{
	struct signal *s = luart_test_signal(L, idx);

	return s ? s->call_id : 0;
}


static int l_signal(lua_State *L)
{
	struct call *call = luart_current_call(L);
	struct signal *s;

	if (!call)
		return luaL_error(L, "signal: in a call's dialplan only (the"
				  " call it wakes)");

	s = lua_newuserdatauv(L, sizeof(*s), 1);
	s->call_id = call_id(call);
	s->raised = false;
	s->notes = 0;
	luaL_setmetatable(L, SIGNAL_MT);

	return 1;
}


static int l_notify(lua_State *L)
{
	struct signal *s = luaL_checkudata(L, 1, SIGNAL_MT);
	struct call *call;

	lua_settop(L, 2);
	lua_setiuservalue(L, 1, 1);
	s->raised = true;
	++s->notes;

	call = call_find(s->call_id);
	if (call)
		call_poke(call);
	lua_pushboolean(L, call != NULL);

	return 1;
}


static int ready(lua_State *L, struct call *call, lua_KContext ctx)
{
	int n = luart_signal_take(L, 1);
	(void)ctx;

	if (n >= 0)
		return n;
	if (!call_timed_out(call))
		return -1;

	lua_pushnil(L);
	lua_pushliteral(L, "timeout");
	return 2;
}


static int l_wait(lua_State *L)
{
	struct signal *s = luaL_checkudata(L, 1, SIGNAL_MT);
	struct call *call = luart_current_call(L);
	uint32_t ms = 0;

	if (!call || call_id(call) != s->call_id)
		return luaL_error(L, "signal: only the call that made it waits"
				  " on it");
	if (!lua_isnoneornil(L, 2)) {
		lua_Number sec = luaL_checknumber(L, 2);

		luaL_argcheck(L, sec >= 0 && sec <= 86400, 2, "seconds");
		ms = (uint32_t)(sec * 1000 + 0.5);
		ms = ms ? ms : 1;
	}
	lua_settop(L, 1);

	return luart_await(L, ms, "signal", ready, 0);
}


static int l_tostring(lua_State *L)
{
	struct signal *s = luaL_checkudata(L, 1, SIGNAL_MT);

	lua_pushfstring(L, "signal of call %I (%s, %I notes)",
			(lua_Integer)s->call_id, s->raised ? "raised" : "down",
			(lua_Integer)s->notes);
	return 1;
}


static int l_index(lua_State *L)
{
	struct signal *s = luaL_checkudata(L, 1, SIGNAL_MT);
	const char *key = luaL_checkstring(L, 2);

	if (!strcmp(key, "raised"))
		lua_pushboolean(L, s->raised);
	else if (!strcmp(key, "call_id"))
		lua_pushinteger(L, (lua_Integer)s->call_id);
	else if (!strcmp(key, "notify"))
		lua_pushcfunction(L, l_notify);
	else if (!strcmp(key, "wait"))
		lua_pushcfunction(L, l_wait);
	else
		lua_pushnil(L);

	return 1;
}


void luart_open_signal(lua_State *L)
{
	luaL_newmetatable(L, SIGNAL_MT);
	lua_pushcfunction(L, l_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "signal");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);

	lua_pushcfunction(L, l_signal);
	lua_setfield(L, -2, "signal");
}
