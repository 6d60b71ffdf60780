/**
 * @file bind_capture.c  Packet capture from Lua.
 *
 *   _core.capture{ file = "x.pcap", rtp = true }  start (or go on); the path
 *   _core.capture("x.pcap")                        the same, rtp = true
 *   _core.capture(false)                           stop
 *   _core.capture()                                the file, or nil; rtp flag
 *   call:capture([on])                             this call's RTP/RTCP too
 *
 * Files go to <state>/captures/; a name is a plain file name, so a
 * dialplan cannot write anywhere else.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "capture/capture.h"
#include "lua/runtime.h"
#include "call/dial.h"
#include "call/call.h"


static int push_state(lua_State *L, const struct capture *c)
{
	const char *path = capture_path(c);

	if (!path) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushstring(L, path);
	lua_pushboolean(L, capture_rtp_all(c));

	return 2;
}


static int start(lua_State *L, struct capture *c, const char *name,
		 bool rtp)
{
	char def[64];
	int err;

	if (!name) {
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(def, sizeof(def), "capture-%Y%m%d-%H%M%S.pcap", &tm);
		name = def;
	}
	if (!capture_name_ok(name))
		return luaL_error(L, "capture: '%s' is not a plain file name"
				  " (letters, digits, . _ -; it goes to"
				  " <state>/captures/)", name);

	err = capture_start(c, name, rtp);
	if (err) {
		lua_pushnil(L);
		lua_pushfstring(L, "capture: %s: %s", name, strerror(err));
		return 2;
	}

	return push_state(L, c);
}


static int l_capture(lua_State *L)
{
	struct capture *c = luart_pbx(L)->capture;
	const char *name;
	bool rtp;

	switch (lua_type(L, 1)) {

	case LUA_TNONE:
	case LUA_TNIL:
		return push_state(L, c);

	case LUA_TBOOLEAN:
		if (lua_toboolean(L, 1))
			return start(L, c, NULL, true);
		capture_stop(c);
		lua_pushnil(L);
		return 1;

	case LUA_TSTRING:
		return start(L, c, lua_tostring(L, 1), true);

	default:
		luaL_checktype(L, 1, LUA_TTABLE);
		lua_getfield(L, 1, "file");
		name = luaL_optstring(L, -1, NULL);
		lua_getfield(L, 1, "rtp");
		rtp = lua_isnil(L, -1) || lua_toboolean(L, -1);
		return start(L, c, name, rtp);
	}
}


static int l_call_capture(lua_State *L)
{
	struct call *call = luart_check_call(L, 1);

	call_set_capture(call, lua_isnone(L, 2) || lua_toboolean(L, 2));
	lua_pushboolean(L, 1);

	return 1;
}


/** Adds capture() to the _core table on top of the stack, and
 *  call:capture(). */
void luart_open_capture(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "capture", l_call_capture },
		{ NULL, NULL }
	};

	lua_pushcfunction(L, l_capture);
	lua_setfield(L, -2, "capture");
	luart_call_methods(L, methods);
}
