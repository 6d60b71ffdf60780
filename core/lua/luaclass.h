/**
 * @file luaclass.h  The objects the binding files give Lua (call, leg,
 * dial, bridge): one metatable each, and userdata that hold a reference to
 * a core object (mem_ref), one per object when an identity map is kept,
 * so that the same leg is the same Lua value.
 */
#include <lua.h>
#include <lauxlib.h>

/** A class: its metatable @a mt with `methods`, __index, __tostring and
 *  (when @a refs) a __gc that drops the reference; a weak identity map
 *  named @a map unless NULL. */
void luaclass_new(lua_State *L, const char *mt, const char *name,
		  const luaL_Reg *methods, lua_CFunction index,
		  lua_CFunction tostring, bool refs, const char *map);
void luaclass_methods(lua_State *L, const char *mt, const luaL_Reg *fns);
bool luaclass_method(lua_State *L, int idx, const char *key);
int  luaclass_push(lua_State *L, const char *mt, const char *map, void *obj);
int  luaclass_push_uv(lua_State *L, const char *mt, const char *map,
		      void *obj, int nuv, bool *fresh);
void *luaclass_test(lua_State *L, int idx, const char *mt);
void *luaclass_check(lua_State *L, int idx, const char *mt);
uint32_t luaclass_seconds(lua_State *L, int idx);
