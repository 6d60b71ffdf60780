/**
 * @file bind_store.c  The storage module (core/store) for Lua: what a
 * service written in Lua keeps across restarts (queue members, pauses, the
 * queue log) goes to the same database as the rest of the PBX's state.
 *
 *   _core.store_exec(sql, ...)          -> changes | nil, why
 *   _core.store_append(sql, ...)        -> changes | nil, why (a log's
 *                                          row: no fsync, see store.h)
 *   _core.store_query(sql, ...)         -> { {col = v, ...}, ... } | nil, why
 *   _core.store_migrate(module, steps)  -> version | nil, why
 *   _core.store_transaction(fn, ...)    -> fn's results | nil, why
 *
 * Parameters are the `?` of the statement, in order: strings, integers,
 * floats, booleans (0/1), nil (NULL).  Portable SQL only (see store.h).
 * A transaction's function cannot wait (it runs under lua_pcall: a
 * primitive that yields raises), so nothing else writes between its
 * statements.
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "store/store.h"
#include "lua/runtime.h"

enum { MAX_PARAMS = 32, MAX_STEPS = 64 };


static struct store *store_of(lua_State *L)
{
	struct pbx *pbx = luart_pbx(L);

	if (!pbx || !pbx->store)
		luaL_error(L, "store: the PBX has no state database");

	return pbx->store;
}


/* Arguments @a first.. as parameters; strings stay on the stack. */
static size_t params(lua_State *L, int first, struct store_val *v)
{
	int top = lua_gettop(L);
	size_t n = 0;

	luaL_argcheck(L, top - first + 1 <= MAX_PARAMS, first,
		      "too many parameters");
	for (int i = first; i <= top; i++, n++) {
		struct store_val *p = &v[n];

		switch (lua_type(L, i)) {

		case LUA_TNIL:
			p->type = 0;
			break;

		case LUA_TBOOLEAN:
			p->type = 'i';
			p->u.i = lua_toboolean(L, i);
			break;

		case LUA_TNUMBER:
			if (lua_isinteger(L, i)) {
				p->type = 'i';
				p->u.i = lua_tointeger(L, i);
			}
			else {
				p->type = 'd';
				p->u.d = lua_tonumber(L, i);
			}
			break;

		case LUA_TSTRING:
			p->type = 's';
			p->u.s = lua_tostring(L, i);
			break;

		default:
			luaL_argerror(L, i, "a string, number, boolean or nil");
		}
	}

	return n;
}


static int failed(lua_State *L, struct store *st, int err)
{
	lua_pushnil(L);
	lua_pushfstring(L, "%s: %s", strerror(err), store_errmsg(st));
	return 2;
}


static int l_exec(lua_State *L)
{
	struct store_val v[MAX_PARAMS];
	const char *sql = luaL_checkstring(L, 1);
	struct store *st = store_of(L);
	size_t n = params(L, 2, v);
	int err = store_execv(st, NULL, NULL, sql, v, n);

	if (err)
		return failed(L, st, err);

	lua_pushinteger(L, (lua_Integer)store_changes(st));
	return 1;
}


static int l_append(lua_State *L)
{
	struct store_val v[MAX_PARAMS];
	const char *sql = luaL_checkstring(L, 1);
	struct store *st = store_of(L);
	size_t n = params(L, 2, v);
	int err = store_append(st, sql, v, n);

	if (err)
		return failed(L, st, err);

	lua_pushinteger(L, (lua_Integer)store_changes(st));
	return 1;
}


struct rows {
	lua_State *L;
	lua_Integer n;
};


static bool row_h(const struct store_row *row, void *arg)
{
	struct rows *r = arg;
	lua_State *L = r->L;
	unsigned cols = store_row_columns(row);

	lua_createtable(L, 0, (int)cols);
	for (unsigned c = 0; c < cols; c++) {
		switch (store_row_type(row, c)) {

		case 'i':
			lua_pushinteger(L, store_row_int(row, c));
			break;

		case 'd':
			lua_pushnumber(L, store_row_double(row, c));
			break;

		case 's':
			lua_pushstring(L, store_row_text(row, c));
			break;

		default:
			continue;   /* NULL: no field */
		}
		lua_setfield(L, -2, store_row_name(row, c));
	}
	lua_rawseti(L, -2, ++r->n);

	return false;
}


static int l_query(lua_State *L)
{
	struct store_val v[MAX_PARAMS];
	const char *sql = luaL_checkstring(L, 1);
	struct store *st = store_of(L);
	size_t n = params(L, 2, v);
	struct rows r = { L, 0 };
	int err;

	luaL_checkstack(L, 4, "store rows");
	lua_newtable(L);
	err = store_execv(st, row_h, &r, sql, v, n);
	if (err)
		return failed(L, st, err);

	return 1;
}


static int l_migrate(lua_State *L)
{
	const char *steps[MAX_STEPS];
	const char *module = luaL_checkstring(L, 1);
	struct store *st = store_of(L);
	lua_Integer n;
	int err, version = 0;

	luaL_checktype(L, 2, LUA_TTABLE);
	n = luaL_len(L, 2);
	luaL_argcheck(L, n > 0 && n <= MAX_STEPS, 2, "1 to 64 steps");
	for (lua_Integer i = 1; i <= n; i++) {
		if (lua_geti(L, 2, i) != LUA_TSTRING)
			return luaL_error(L, "store migrate: step %d is not"
					  " SQL text", (int)i);
		steps[i - 1] = lua_tostring(L, -1);   /* kept by the table */
		lua_pop(L, 1);
	}

	err = store_migrate(st, module, steps, (size_t)n);
	if (!err)
		err = store_version(st, module, &version);
	if (err)
		return failed(L, st, err);

	lua_pushinteger(L, version);
	return 1;
}


static int l_transaction(lua_State *L)
{
	struct store *st = store_of(L);
	int err, top;

	luaL_checktype(L, 1, LUA_TFUNCTION);
	err = store_begin(st);
	if (err)
		return failed(L, st, err);

	if (lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0) != LUA_OK) {
		store_rollback(st);
		return lua_error(L);
	}

	top = lua_gettop(L);
	err = store_commit(st);
	if (err) {
		store_rollback(st);
		return failed(L, st, err);
	}

	return top;
}


void luart_open_store(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{ "store_exec",        l_exec },
		{ "store_append",      l_append },
		{ "store_query",       l_query },
		{ "store_migrate",     l_migrate },
		{ "store_transaction", l_transaction },
		{ NULL, NULL }
	};

	luaL_setfuncs(L, funcs, 0);
}
