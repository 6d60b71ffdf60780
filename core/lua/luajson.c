/**
 * @file luajson.c  Lua tables <-> odict (see luajson.h).
 *
 * A table whose keys are 1..n is a JSON array, any other one an object
 * (its keys strings or numbers, written as strings); strings, numbers,
 * booleans go as they are; functions, userdata, cycles are refused with a
 * clear error, and nesting stops at 16 levels.
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "lua/luajson.h"

enum { MAX_DEPTH = 16, HASH = 8 };

static void push_entry(lua_State *L, const struct odict_entry *e);


static void push_odict(lua_State *L, const struct odict *o, bool array)
{
	lua_Integer i = 0;

	lua_createtable(L, array ? (int)list_count(&o->lst) : 0,
			array ? 0 : (int)list_count(&o->lst));
	for (struct le *le = o->lst.head; le; le = le->next) {
		const struct odict_entry *e = le->data;

		push_entry(L, e);
		if (array)
			lua_rawseti(L, -2, ++i);
		else
			lua_setfield(L, -2, e->key);
	}
}


static void push_entry(lua_State *L, const struct odict_entry *e)
{
	switch (e->type) {

	case ODICT_OBJECT: push_odict(L, e->u.odict, false); break;
	case ODICT_ARRAY:  push_odict(L, e->u.odict, true); break;
	case ODICT_STRING: lua_pushstring(L, e->u.str); break;
	case ODICT_INT:    lua_pushinteger(L, (lua_Integer)e->u.integer); break;
	case ODICT_DOUBLE: lua_pushnumber(L, e->u.dbl); break;
	case ODICT_BOOL:   lua_pushboolean(L, e->u.boolean); break;
	default:           lua_pushnil(L); break;
	}
}


/** Push @a o as a Lua table (JSON null: the key is absent). */
void luajson_push(lua_State *L, const struct odict *o)
{
	luaL_checkstack(L, 2 * MAX_DEPTH + 4, "JSON too deep");
	if (o)
		push_odict(L, o, false);
	else
		lua_newtable(L);
}


static int add_value(lua_State *L, int idx, struct odict *o, const char *key,
		     int depth, char *errbuf, size_t errsz);


/* 1..n without holes: an array. */
static bool is_array(lua_State *L, int idx)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;

	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1 ||
		    lua_tointeger(L, -1) > n) {
			lua_pop(L, 1);
			return false;
		}
		++count;
	}

	return count == n && n > 0;
}


static int fill(lua_State *L, int idx, struct odict *o, bool array,
		int depth, char *errbuf, size_t errsz)
{
	int err = 0;

	if (array) {
		lua_Integer n = (lua_Integer)lua_rawlen(L, idx);

		for (lua_Integer i = 1; !err && i <= n; i++) {
			char k[24];

			re_snprintf(k, sizeof(k), "%lld", (long long)i - 1);
			lua_rawgeti(L, idx, i);
			err = add_value(L, lua_gettop(L), o, k, depth, errbuf,
					errsz);
			lua_pop(L, 1);
		}
		return err;
	}

	lua_pushnil(L);
	while (!err && lua_next(L, idx)) {
		char k[64];

		if (lua_type(L, -2) == LUA_TSTRING)
			str_ncpy(k, lua_tostring(L, -2), sizeof(k));
		else if (lua_isinteger(L, -2))
			re_snprintf(k, sizeof(k), "%lld",
				    (long long)lua_tointeger(L, -2));
		else if (lua_type(L, -2) == LUA_TNUMBER)
			re_snprintf(k, sizeof(k), "%f", lua_tonumber(L, -2));
		else {
			re_snprintf(errbuf, errsz, "a key of type %s",
				    luaL_typename(L, -2));
			lua_pop(L, 2);
			return EINVAL;
		}
		err = add_value(L, lua_gettop(L), o, k, depth, errbuf, errsz);
		lua_pop(L, 1);
	}
	if (err)
		lua_pop(L, 1);   /* the key lua_next left */

	return err;
}


static int add_value(lua_State *L, int idx, struct odict *o, const char *key,
		     int depth, char *errbuf, size_t errsz)
{
	struct odict *sub;
	bool array;
	int err;

	switch (lua_type(L, idx)) {

	case LUA_TSTRING:
		return odict_entry_add(o, key, ODICT_STRING,
				       lua_tostring(L, idx));
	case LUA_TBOOLEAN:
		return odict_entry_add(o, key, ODICT_BOOL,
				       (bool)lua_toboolean(L, idx));
	case LUA_TNUMBER:
		if (lua_isinteger(L, idx))
			return odict_entry_add(o, key, ODICT_INT,
					       (int64_t)lua_tointeger(L, idx));
		return odict_entry_add(o, key, ODICT_DOUBLE,
				       (double)lua_tonumber(L, idx));
	case LUA_TTABLE:
		break;
	default:
		re_snprintf(errbuf, errsz, "'%s': a %s cannot be sent", key,
			    luaL_typename(L, idx));
		return EINVAL;
	}

	if (depth >= MAX_DEPTH) {
		re_snprintf(errbuf, errsz, "'%s': nested too deep (a cycle?)",
			    key);
		return EINVAL;
	}
	luaL_checkstack(L, 4, "JSON");
	array = is_array(L, idx);
	err = odict_alloc(&sub, HASH);
	if (err)
		return err;
	err = fill(L, idx, sub, array, depth + 1, errbuf, errsz);
	if (!err)
		err = odict_entry_add(o, key, array ? ODICT_ARRAY :
				      ODICT_OBJECT, sub);
	mem_deref(sub);

	return err;
}


/** The value at @a idx under @a key of @a o. */
int luajson_add(lua_State *L, int idx, struct odict *o, const char *key,
		char *errbuf, size_t errsz)
{
	return add_value(L, lua_absindex(L, idx), o, key, 0, errbuf, errsz);
}


/** The table at @a idx as a new odict (an object). */
int luajson_to_odict(lua_State *L, int idx, struct odict **op, char *errbuf,
		     size_t errsz)
{
	struct odict *o;
	int err;

	idx = lua_absindex(L, idx);
	if (!lua_istable(L, idx)) {
		re_snprintf(errbuf, errsz, "a table is expected");
		return EINVAL;
	}

	err = odict_alloc(&o, HASH);
	if (err)
		return err;
	luaL_checkstack(L, 4, "JSON");
	err = fill(L, idx, o, false, 0, errbuf, errsz);
	if (err)
		mem_deref(o);
	else
		*op = o;

	return err;
}
