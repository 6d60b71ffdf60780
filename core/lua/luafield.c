/**
 * @file luafield.c  Fields of the table on top of the stack.
 */
#include <stdbool.h>
#include "lua/luafield.h"


/** t[key] = val; nothing when @a val is NULL (the field is absent). */
void luafield_str(lua_State *L, const char *key, const char *val)
{
	if (!val)
		return;

	lua_pushstring(L, val);
	lua_setfield(L, -2, key);
}


/** The value of a field read by __index: @a val, or nil when it is NULL. */
void luafield_pushstr(lua_State *L, const char *val)
{
	if (val)
		lua_pushstring(L, val);
	else
		lua_pushnil(L);
}


void luafield_int(lua_State *L, const char *key, lua_Integer val)
{
	lua_pushinteger(L, val);
	lua_setfield(L, -2, key);
}


void luafield_num(lua_State *L, const char *key, lua_Number val)
{
	lua_pushnumber(L, val);
	lua_setfield(L, -2, key);
}


void luafield_bool(lua_State *L, const char *key, bool val)
{
	lua_pushboolean(L, val);
	lua_setfield(L, -2, key);
}
