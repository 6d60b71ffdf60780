/**
 * @file luafield.h  Fields of the table on top of the stack, for the
 * binding files that return records (stats, trunks, calls), and the
 * value of an object's field (luafield_pushstr).
 */
#include <lua.h>

void luafield_str(lua_State *L, const char *key, const char *val);
void luafield_pushstr(lua_State *L, const char *val);
void luafield_int(lua_State *L, const char *key, lua_Integer val);
void luafield_num(lua_State *L, const char *key, lua_Number val);
void luafield_bool(lua_State *L, const char *key, bool val);
