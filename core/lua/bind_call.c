/**
 * @file bind_call.c  The `call` object a dialplan function receives.
 *
 *   call:answer()  call:ringing()  call:progress()  call:hangup([code])
 *   call:dial(targets [, {timeout=s}]) -> status, sip_code   (yields)
 *   call:dial{ trunk=name, number=n [, timeout=s] }  a number over a peer
 *   call:sleep(ms)                                             (yields)
 *   call:header(name)  call:set_header(name, value)
 *   call.id .exten .context .caller .caller_name .endpoint .state
 *   call.hungup .dialstatus .vars (a table of your own)
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "lua/runtime.h"
#include "sip/call.h"

#define CALL_MT "lunapbx.call"
#define CALL_MAP "lunapbx.calls"   /* call pointer -> userdata, weak */

enum { MAX_TARGETS = 32 };

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


static int result(lua_State *L, int err)
{
	if (!err) {
		lua_pushboolean(L, 1);
		return 1;
	}

	lua_pushnil(L);
	lua_pushstring(L, err == ENOTCONN ? "hung up" : strerror(err));
	return 2;
}


static int l_answer(lua_State *L)
{
	return result(L, call_answer(check_call(L)));
}


static int l_ringing(lua_State *L)
{
	return result(L, call_ringing(check_call(L)));
}


static int l_progress(lua_State *L)
{
	return result(L, call_progress(check_call(L)));
}


static int l_hangup(lua_State *L)
{
	struct call *call = check_call(L);
	lua_Integer code = luaL_optinteger(L, 2, 0);

	luaL_argcheck(L, code == 0 || (code >= 300 && code < 700), 2,
		      "a SIP final failure code (300-699)");
	call_hangup(call, (uint16_t)code);

	return 0;
}


static int dial_done(lua_State *L, int status, lua_KContext ctx)
{
	struct call_ud *ud = lua_touserdata(L, (int)ctx);
	uint16_t code = 0;
	enum dial_status st;
	(void)status;

	if (!ud || !ud->call)
		return luaL_error(L, "call ended during dial");

	st = call_dial_status(ud->call, &code);
	lua_pushstring(L, dial_status_name(st));
	lua_pushinteger(L, code);

	return 2;
}


static size_t dial_targets(lua_State *L, const char **targets)
{
	size_t n = 0;

	if (lua_isstring(L, 2)) {
		targets[n++] = lua_tostring(L, 2);
		return n;
	}

	luaL_checktype(L, 2, LUA_TTABLE);
	if (lua_getfield(L, 2, "trunk") == LUA_TSTRING) {
		targets[n++] = lua_tostring(L, -1);   /* Dial(SIP/trunk/n) */
		lua_pop(L, 1);
		return n;
	}
	lua_pop(L, 1);
	for (lua_Integer i = 1; n < MAX_TARGETS; i++) {
		if (lua_rawgeti(L, 2, i) != LUA_TSTRING) {
			lua_pop(L, 1);
			break;
		}
		targets[n++] = lua_tostring(L, -1);
		lua_pop(L, 1);   /* the table keeps the string alive */
	}
	luaL_argcheck(L, n > 0, 2, "no endpoint to dial");

	return n;
}


static void dial_options(lua_State *L, struct dial_opts *opts)
{
	/* call:dial{ trunk=, number=, ... } carries its options itself */
	int idx = lua_istable(L, 2) && lua_isnoneornil(L, 3) ? 2 : 3;

	memset(opts, 0, sizeof(*opts));
	if (lua_isnoneornil(L, idx))
		return;

	luaL_checktype(L, idx, LUA_TTABLE);
	/* number = 900 is converted on the stack, where it stays until
	 * l_dial is done with it */
	lua_getfield(L, idx, "number");
	opts->number = lua_tostring(L, -1);
	luaL_argcheck(L, !opts->number || (*opts->number &&
		      !strpbrk(opts->number, "@:;<>\" \t\r\n")), idx,
		      "number: digits or a user part, no SIP punctuation");
	lua_getfield(L, idx, "timeout");
	opts->timeout_s = (uint32_t)luaL_optinteger(L, -1, 0);
	lua_getfield(L, idx, "caller_name");
	opts->caller_name = lua_tostring(L, -1);
	lua_getfield(L, idx, "caller_num");
	opts->caller_num = lua_tostring(L, -1);
	lua_pop(L, 3);   /* strings stay alive in the options table */
}


static int l_dial(lua_State *L)
{
	struct call *call = check_own_call(L, "call:dial()");
	const char *targets[MAX_TARGETS];
	struct dial_opts opts;
	size_t n;

	n = dial_targets(L, targets);
	dial_options(L, &opts);

	(void)call_dial(call, targets, n, &opts);
	lua_settop(L, 1);
	if (call_waiting(call) == WAIT_NONE)
		return dial_done(L, LUA_OK, 1);

	return lua_yieldk(L, 0, 1, dial_done);
}


static int sleep_done(lua_State *L, int status, lua_KContext ctx)
{
	struct call_ud *ud = lua_touserdata(L, (int)ctx);
	(void)status;

	lua_pushboolean(L, ud && ud->call && !call_hungup(ud->call));
	return 1;
}


static int l_sleep(lua_State *L)
{
	struct call *call = check_own_call(L, "sleep()");
	lua_Integer ms = luaL_checkinteger(L, 2);

	luaL_argcheck(L, ms >= 0, 2, "milliseconds >= 0");
	lua_settop(L, 1);
	if (call_sleep(call, (uint32_t)ms))
		return sleep_done(L, LUA_OK, 1);

	return lua_yieldk(L, 0, 1, sleep_done);
}


struct hdr_ctx {
	lua_State *L;
	int n;
};


static int l_header(lua_State *L)
{
	struct call *call = check_call(L);
	const char *name = luaL_checkstring(L, 2);
	const struct sip_hdr *hdr;

	hdr = sip_msg_xhdr(call_invite(call), name);
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

	return result(L, call_add_header(call, name, value));
}


static void push_opt(lua_State *L, const char *s)
{
	if (s)
		lua_pushstring(L, s);
	else
		lua_pushnil(L);
}


static int l_index(lua_State *L)
{
	struct call_ud *ud = luaL_checkudata(L, 1, CALL_MT);
	const char *key = luaL_checkstring(L, 2);
	struct call *call = ud->call;

	if (luaL_getmetafield(L, 1, "methods") &&
	    lua_getfield(L, -1, key) != LUA_TNIL)
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
		lua_pushboolean(L, !call || call_hungup(call));
		return 1;
	}
	if (!call)
		return 0;

	if (0 == strcmp(key, "id"))
		lua_pushinteger(L, (lua_Integer)call_id(call));
	else if (0 == strcmp(key, "exten"))
		push_opt(L, call_exten(call));
	else if (0 == strcmp(key, "context"))
		push_opt(L, call_context(call));
	else if (0 == strcmp(key, "caller"))
		push_opt(L, call_caller_num(call));
	else if (0 == strcmp(key, "caller_name"))
		push_opt(L, call_caller_name(call));
	else if (0 == strcmp(key, "endpoint"))
		push_opt(L, call_endpoint_name(call));
	else if (0 == strcmp(key, "state"))
		lua_pushstring(L, call_state_name(call_state(call)));
	else if (0 == strcmp(key, "dialstatus"))
		lua_pushstring(L, dial_status_name(call_dial_status(call,
								    NULL)));
	else
		return 0;

	return 1;
}


static int l_tostring(lua_State *L)
{
	struct call_ud *ud = luaL_checkudata(L, 1, CALL_MT);

	if (ud->call)
		lua_pushfstring(L, "call %d (%s -> %s, %s)",
				(int)call_id(ud->call),
				call_caller_num(ud->call),
				call_exten(ud->call),
				call_state_name(call_state(ud->call)));
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
	luaL_getmetatable(L, CALL_MT);
	lua_getfield(L, -1, "methods");
	luaL_setfuncs(L, fns, 0);
	lua_pop(L, 2);
}


void luart_open_call(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "answer",     l_answer },
		{ "ringing",    l_ringing },
		{ "progress",   l_progress },
		{ "hangup",     l_hangup },
		{ "dial",       l_dial },
		{ "sleep",      l_sleep },
		{ "header",     l_header },
		{ "set_header", l_set_header },
		{ NULL, NULL }
	};

	luaL_newmetatable(L, CALL_MT);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "methods");
	lua_pushcfunction(L, l_index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, l_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pushliteral(L, "call");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);

	lua_newtable(L);                       /* weak map */
	lua_newtable(L);
	lua_pushliteral(L, "v");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, CALL_MAP);
}
