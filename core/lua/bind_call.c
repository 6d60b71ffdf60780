/**
 * @file bind_call.c  The `call` object a dialplan function receives.
 *
 *   call.leg                      its first leg (the caller): a `leg`
 *   call:answer() :ringing() :progress() :hangup([code])   (on call.leg)
 *   call:header(name)  call:set_header(name, value)
 *   call:take(leg)                the call holds `leg` from now on
 *   call.id .exten .context .caller .caller_name .endpoint .state .hungup
 *   call.dialstatus .vars (a table of your own)
 *   call.replaces                 the ringing dial its INVITE's Replaces
 *                                 names (a BLF key's pickup), or nil
 *   call.cdr                      its call record (bind_cdr.c)
 *
 * A call's methods that act on a leg (answer, play, record, ...) act on
 * call.leg; the same methods exist on every leg (bind_leg.c).
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "lua/luaclass.h"
#include "lua/luafield.h"
#include "lua/runtime.h"
#include "media/codec.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/call.h"

#define CALL_MT "lunapbx.call"
#define CALL_MAP "lunapbx.calls"   /* call pointer -> userdata, weak */

struct call_ud {
	struct call *call;
};


static struct call *check_call(lua_State *L)
{
	struct call_ud *ud = luaL_checkudata(L, 1, CALL_MT);

	if (!ud->call)
		luaL_error(L, "this call has ended");

	return ud->call;
}


/** The call object at @a idx, still live: for the other binding files. */
struct call *luart_check_call(lua_State *L, int idx)
{
	struct call_ud *ud = luaL_checkudata(L, idx, CALL_MT);

	if (!ud->call)
		luaL_error(L, "this call has ended");

	return ud->call;
}


/** The call at @a idx, or NULL when that is not a call object. */
struct call *luart_test_call(lua_State *L, int idx)
{
	struct call_ud *ud = luaL_testudata(L, idx, CALL_MT);

	return ud ? ud->call : NULL;
}


/* Waiting methods run in the call's own coroutine, which they suspend. */
static struct call *check_own_call(lua_State *L, const char *what)
{
	struct call *call = check_call(L);

	if (luart_current_call(L) != call)
		luaL_error(L, "%s must run in the call's own dialplan"
			   " coroutine", what);

	return call;
}


/** The `call` at index 1 of a method; @a own names a waiting method,
 *  which must run in the call's own coroutine (NULL: any). */
struct call *luart_check_own_call(lua_State *L, const char *own)
{
	return own ? check_own_call(L, own) : check_call(L);
}


int luart_push_call(lua_State *L, struct call *call)
{
	struct call_ud *ud;

	lua_getfield(L, LUA_REGISTRYINDEX, CALL_MAP);
	if (lua_rawgetp(L, -1, call) == LUA_TUSERDATA) {
		lua_remove(L, -2);
		return 1;
	}
	lua_pop(L, 1);

	ud = lua_newuserdatauv(L, sizeof(*ud), 2);   /* vars, Lua methods */
	ud->call = call;
	luaL_setmetatable(L, CALL_MT);
	lua_newtable(L);
	lua_setiuservalue(L, -2, 1);           /* call.vars */

	lua_pushvalue(L, -1);
	lua_rawsetp(L, -3, call);
	lua_remove(L, -2);

	return 1;
}


void luart_forget_call(lua_State *L, struct call *call)
{
	lua_getfield(L, LUA_REGISTRYINDEX, CALL_MAP);
	if (lua_rawgetp(L, -1, call) == LUA_TUSERDATA) {
		struct call_ud *ud = lua_touserdata(L, -1);

		ud->call = NULL;
	}
	lua_pop(L, 1);
	lua_pushnil(L);
	lua_rawsetp(L, -2, call);
	lua_pop(L, 1);
}


static int l_header(lua_State *L)
{
	struct call *call = check_call(L);
	const char *name = luaL_checkstring(L, 2);
	const struct sip_msg *msg = leg_invite(call_leg(call));
	const struct sip_hdr *hdr;

	hdr = msg ? sip_msg_xhdr(msg, name) : NULL;
	if (!hdr)
		return 0;

	lua_pushlstring(L, hdr->val.p, hdr->val.l);
	return 1;
}


static int l_set_header(lua_State *L)
{
	struct call *call = check_call(L);
	const char *name = luaL_checkstring(L, 2);
	const char *value = luaL_checkstring(L, 3);

	luaL_argcheck(L, !strpbrk(name, ":\r\n ") && *name, 2,
		      "a header name");
	luaL_argcheck(L, !strpbrk(value, "\r\n"), 3, "one line");

	if (call_add_header(call, name, value))
		return luaL_error(L, "set_header: out of memory");
	lua_pushboolean(L, 1);

	return 1;
}


/* call:take(leg): the leg moves to this call (from the call holding it,
 * whose use of it ends). */
static int l_take(lua_State *L)
{
	struct call *call = check_call(L);
	struct leg *leg = luart_check_leg(L, 2);
	int err = call_hold(call, leg);

	if (err)
		return luaL_error(L, "take: %s", strerror(err));
	lua_settop(L, 2);

	return 1;
}


/* The fields of a call, most of them its caller leg's. */
static int push_field(lua_State *L, struct call *call, const char *key)
{
	struct leg *a = call_leg(call);

	if (0 == strcmp(key, "id"))
		lua_pushinteger(L, (lua_Integer)call_id(call));
	else if (0 == strcmp(key, "exten"))
		luafield_pushstr(L, call_exten(call));
	else if (0 == strcmp(key, "context"))
		luafield_pushstr(L, call_context(call));
	else if (0 == strcmp(key, "leg"))
		return a ? luart_push_leg(L, a) : 0;
	else if (0 == strcmp(key, "caller"))
		luafield_pushstr(L, leg_cid_num(a));
	else if (0 == strcmp(key, "caller_name"))
		luafield_pushstr(L, leg_cid_name(a));
	else if (0 == strcmp(key, "endpoint"))
		luafield_pushstr(L, luart_endpoint_name(a));
	else if (0 == strcmp(key, "state"))
		lua_pushstring(L, leg_state_name(leg_state(a)));
	else if (0 == strcmp(key, "replaces"))
		return call_replaces(call) ? luart_push_dial(L,
						call_replaces(call)) : 0;
	else if (0 == strcmp(key, "cdr"))
		return luart_push_cdr(L, call);
	else if (0 == strcmp(key, "dialstatus"))
		lua_pushstring(L, dial_status_name(call_last_dial(call,
								  NULL)));
	else
		return 0;

	return 1;
}


static int l_index(lua_State *L)
{
	struct call_ud *ud = luaL_checkudata(L, 1, CALL_MT);
	const char *key = luaL_checkstring(L, 2);
	struct call *call = ud->call;

	if (luaclass_method(L, 1, key))
		return 1;
	/* methods written in Lua, of the call's own generation */
	if (lua_getiuservalue(L, 1, 2) == LUA_TTABLE &&
	    lua_getfield(L, -1, key) != LUA_TNIL)
		return 1;

	if (0 == strcmp(key, "vars")) {
		lua_getiuservalue(L, 1, 1);
		return 1;
	}
	if (0 == strcmp(key, "hungup")) {
		lua_pushboolean(L, !call || leg_closed(call_leg(call)) ||
				leg_holder(call_leg(call)) != call);
		return 1;
	}
	if (!call)
		return 0;

	return push_field(L, call, key);
}


static int l_tostring(lua_State *L)
{
	struct call_ud *ud = luaL_checkudata(L, 1, CALL_MT);

	if (ud->call)
		lua_pushfstring(L, "call %d (%s -> %s, %s)",
				(int)call_id(ud->call),
				leg_cid_num(call_leg(ud->call)),
				call_exten(ud->call),
				leg_state_name(leg_state(
						call_leg(ud->call))));
	else
		lua_pushliteral(L, "call (ended)");

	return 1;
}


/**
 * Add methods to the `call` object.  Each feature's binding file
 * (bind_media.c, ...) registers its own from its opener, so this file
 * holds only what every call has.
 */
void luart_call_methods(lua_State *L, const luaL_Reg *fns)
{
	luaclass_methods(L, CALL_MT, fns);
}


void luart_open_call(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "header",     l_header },
		{ "set_header", l_set_header },
		{ "take",       l_take },
		{ NULL, NULL }
	};

	luaclass_new(L, CALL_MT, "call", methods, l_index, l_tostring, false,
		     CALL_MAP);
}
