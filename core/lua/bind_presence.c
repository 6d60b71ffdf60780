/**
 * @file bind_presence.c  Whether endpoints can take a call: how many
 * registered contacts each has, how many live legs (ringing or talking)
 * it is in.  What a queue asks before it rings an agent (ringinuse,
 * joinempty's "unavailable").
 *
 *   _core.endpoint_presence({ "xlite", "bria" })
 *     -> { xlite = { contacts = 1, legs = 0 }, bria = { contacts = 0, legs = 0 } }
 *
 * One pass over the live legs for the whole list, whatever its length.
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "media/codec.h"
#include "sip/registrar.h"
#include "call/leg.h"
#include "lua/runtime.h"


struct count {
	lua_State *L;
	int t;          /* the result table's index */
};


static bool count_leg(struct leg *leg, void *arg)
{
	struct count *c = arg;
	const char *name = luart_endpoint_name(leg);

	if (!name || leg_closed(leg))
		return false;
	if (lua_getfield(c->L, c->t, name) == LUA_TTABLE) {
		lua_getfield(c->L, -1, "legs");
		lua_pushinteger(c->L, lua_tointeger(c->L, -1) + 1);
		lua_setfield(c->L, -3, "legs");
		lua_pop(c->L, 1);
	}
	lua_pop(c->L, 1);

	return false;
}


static int l_presence(lua_State *L)
{
	struct pbx *pbx = luart_pbx(L);
	struct count c = { L, 0 };
	lua_Integer n;

	luaL_checktype(L, 1, LUA_TTABLE);
	n = luaL_len(L, 1);
	lua_createtable(L, 0, (int)n);
	c.t = lua_gettop(L);
	for (lua_Integer i = 1; i <= n; i++) {
		const struct list *cl;
		const char *name;

		if (lua_geti(L, 1, i) != LUA_TSTRING)
			return luaL_error(L, "endpoint_presence: name %d is"
					  " not a string", (int)i);
		name = lua_tostring(L, -1);
		cl = pbx && pbx->registrar
			? registrar_contacts(pbx->registrar, name) : NULL;
		lua_createtable(L, 0, 2);
		lua_pushinteger(L, cl ? (lua_Integer)list_count(cl) : 0);
		lua_setfield(L, -2, "contacts");
		lua_pushinteger(L, 0);
		lua_setfield(L, -2, "legs");
		lua_setfield(L, c.t, name);
		lua_pop(L, 1);
	}

	(void)leg_apply(count_leg, &c);

	return 1;
}


void luart_open_presence(lua_State *L)
{
	lua_pushcfunction(L, l_presence);
	lua_setfield(L, -2, "endpoint_presence");
}
