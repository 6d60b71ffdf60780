/**
 * @file bind_api.c  What lunapbx.api (the commands of the HTTP API that
 * run in Lua) needs beyond a call's own objects: a leg by its id, from
 * outside any call, and moving it into a call of its own.
 *
 *   _core.leg(id)                     the leg, or nil
 *   _core.leg_redirect(id, exten, context)   true | nil, why
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "media/codec.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/call.h"
#include "lua/runtime.h"


static struct leg *leg_arg(lua_State *L, int idx)
{
	lua_Integer id = luaL_checkinteger(L, idx);

	return id > 0 ? leg_find((uint64_t)id) : NULL;
}


static int l_leg(lua_State *L)
{
	struct leg *leg = leg_arg(L, 1);

	if (!leg || leg_closed(leg)) {
		lua_pushnil(L);
		return 1;
	}

	return luart_push_leg(L, leg);
}


static int l_leg_redirect(lua_State *L)
{
	struct leg *leg = leg_arg(L, 1);
	const char *exten = luaL_checkstring(L, 2);
	const char *context = luaL_checkstring(L, 3);

	luaL_argcheck(L, *exten && !strpbrk(exten, " \t\r\n"), 2,
		      "an extension");
	if (!leg) {
		lua_pushnil(L);
		lua_pushliteral(L, "no such leg");
		return 2;
	}

	return luart_result(L, call_redirect(leg, context, exten));
}


/** Add leg and leg_redirect to the _core table on top of the stack. */
void luart_open_api(lua_State *L)
{
	lua_pushcfunction(L, l_leg);
	lua_setfield(L, -2, "leg");
	lua_pushcfunction(L, l_leg_redirect);
	lua_setfield(L, -2, "leg_redirect");
}
