/**
 * @file luaclass.c  Metatables, identity maps and references of the Lua
 * objects (luaclass.h).
 */
#include <re.h>
#include <lauxlib.h>
#include "lua/luaclass.h"

/* A userdata of a class with references: the core object it holds. */
struct ref {
	void *obj;
};


static int ref_gc(lua_State *L)
{
	struct ref *r = lua_touserdata(L, 1);

	if (r)
		r->obj = mem_deref(r->obj);

	return 0;
}


void luaclass_new(lua_State *L, const char *mt, const char *name,
		  const luaL_Reg *methods, lua_CFunction index,
		  lua_CFunction tostring, bool refs, const char *map)
{
	luaL_newmetatable(L, mt);
	lua_newtable(L);
	if (methods)
		luaL_setfuncs(L, methods, 0);
	lua_setfield(L, -2, "methods");
	lua_pushcfunction(L, index);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, tostring);
	lua_setfield(L, -2, "__tostring");
	if (refs) {
		lua_pushcfunction(L, ref_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_pushstring(L, name);
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);

	if (!map)
		return;

	lua_newtable(L);                      /* object -> userdata, weak */
	lua_newtable(L);
	lua_pushliteral(L, "v");
	lua_setfield(L, -2, "__mode");
	lua_setmetatable(L, -2);
	lua_setfield(L, LUA_REGISTRYINDEX, map);
}


/** More methods for a class (each feature's binding file adds its own). */
void luaclass_methods(lua_State *L, const char *mt, const luaL_Reg *fns)
{
	luaL_getmetatable(L, mt);
	lua_getfield(L, -1, "methods");
	luaL_setfuncs(L, fns, 0);
	lua_pop(L, 2);
}


/** __index's first step: @a key is a method of the object at @a idx
 *  (pushed, true), or not (nothing pushed). */
bool luaclass_method(lua_State *L, int idx, const char *key)
{
	int top = lua_gettop(L);

	if (luaL_getmetafield(L, idx, "methods") &&
	    lua_getfield(L, -1, key) != LUA_TNIL) {
		lua_remove(L, -2);
		return true;
	}

	lua_settop(L, top);
	return false;
}


/**
 * Push the userdata of @a obj (nil for NULL): the one of its map if Lua
 * still has it, else a new one holding a reference (@a map NULL: always a
 * new one).
 */
int luaclass_push(lua_State *L, const char *mt, const char *map, void *obj)
{
	return luaclass_push_uv(L, mt, map, obj, 0, NULL);
}


/**
 * luaclass_push() with @a nuv user values; *@a fresh (if given) says
 * whether the userdata was made now (its user values are nil).
 */
int luaclass_push_uv(lua_State *L, const char *mt, const char *map,
		     void *obj, int nuv, bool *fresh)
{
	struct ref *r;

	if (fresh)
		*fresh = false;
	if (!obj) {
		lua_pushnil(L);
		return 1;
	}

	if (map) {
		lua_getfield(L, LUA_REGISTRYINDEX, map);
		if (lua_rawgetp(L, -1, obj) == LUA_TUSERDATA) {
			lua_remove(L, -2);
			return 1;
		}
		lua_pop(L, 1);
	}

	if (fresh)
		*fresh = true;
	r = lua_newuserdatauv(L, sizeof(*r), nuv);
	r->obj = mem_ref(obj);
	luaL_setmetatable(L, mt);

	if (map) {
		lua_pushvalue(L, -1);
		lua_rawsetp(L, -3, obj);
		lua_remove(L, -2);
	}

	return 1;
}


/** The object the userdata at @a idx holds, or NULL if it is none of
 *  class @a mt. */
void *luaclass_test(lua_State *L, int idx, const char *mt)
{
	struct ref *r = luaL_testudata(L, idx, mt);

	return r ? r->obj : NULL;
}


void *luaclass_check(lua_State *L, int idx, const char *mt)
{
	return ((struct ref *)luaL_checkudata(L, idx, mt))->obj;
}


/** Optional seconds at @a idx (nil: 0) as milliseconds, at least 1 when
 *  given: a time limit of the API. */
uint32_t luaclass_seconds(lua_State *L, int idx)
{
	lua_Number s;
	uint32_t ms;

	if (lua_isnoneornil(L, idx))
		return 0;

	s = luaL_checknumber(L, idx);
	luaL_argcheck(L, s >= 0 && s <= 86400, idx, "seconds (0 to 86400)");
	ms = (uint32_t)(s * 1000 + 0.5);

	return ms ? ms : 1;
}
