/**
 * @file sandbox.c  The globals every generation of Lua code shares, read
 * only, and the environment of one generation: its own globals over
 * them, and a require() that loads each module once per generation from
 * the PBX's lua/ folder and the configuration's folder.
 */
#include <stdio.h>
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include <lualib.h>
#include "log.h"
#include "lua/runtime.h"
#include "lua/sandbox.h"


/* print() goes to the log, as Asterisk's Verbose() does. */
static int l_print(lua_State *L)
{
	luaL_Buffer b;
	int n = lua_gettop(L);

	luaL_buffinit(L, &b);
	for (int i = 1; i <= n; i++) {
		if (i > 1)
			luaL_addchar(&b, '\t');
		luaL_addvalue(&b);
		(void)luaL_tolstring(L, i, NULL);
		luaL_addvalue(&b);
	}
	luaL_pushresult(&b);
	log_info("lua: %s", lua_tostring(L, -1));

	return 0;
}


/*
 * setmetatable() without finalizers: Lua runs __gc with hooks off, so an
 * endless one could not be stopped, and it runs whenever memory is
 * collected, in whatever call.  Otherwise Lua's own.
 */
static int l_setmetatable(lua_State *L)
{
	int t = lua_type(L, 2);

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_argexpected(L, t == LUA_TNIL || t == LUA_TTABLE, 2, "nil or table");
	lua_pushliteral(L, "__gc");
	if (t == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL)
		return luaL_error(L, "setmetatable: __gc is not allowed here"
				  " (a finalizer runs outside the instruction"
				  " limit)");
	if (luaL_getmetafield(L, 1, "__metatable") != LUA_TNIL)
		return luaL_error(L, "cannot change a protected metatable");

	lua_settop(L, 2);
	lua_setmetatable(L, 1);

	return 1;
}


/*
 * The globals every generation sees, read-only through __index.  Left out
 * on purpose: io, dofile, loadfile, debug, and os except its clock and
 * environment, so a dialplan cannot exit or block the PBX.
 */
void sandbox_build_base(lua_State *L, struct luart *rt)
{
	static const char *keep[] = {
		"assert", "error", "ipairs", "next", "pairs", "pcall",
		"rawequal", "rawget", "rawlen", "rawset", "select",
		"getmetatable", "tonumber", "tostring",
		"type", "xpcall", "_VERSION", "string", "table", "math",
		"utf8", "coroutine", NULL
	};
	static const char *os_keep[] = { "time", "clock", "date", "getenv",
					 "difftime", NULL };

	lua_newtable(L);                              /* base */
	for (int i = 0; keep[i]; i++) {
		lua_getglobal(L, keep[i]);
		lua_setfield(L, -2, keep[i]);
	}

	lua_newtable(L);
	lua_getglobal(L, "os");
	for (int i = 0; os_keep[i]; i++) {
		lua_getfield(L, -1, os_keep[i]);
		lua_setfield(L, -3, os_keep[i]);
	}
	lua_pop(L, 1);
	lua_setfield(L, -2, "os");

	lua_pushcfunction(L, l_setmetatable);
	lua_setfield(L, -2, "setmetatable");

	lua_pushcfunction(L, l_print);
	lua_setfield(L, -2, "print");

	luart_open_core(L, rt);                       /* base._core */
	luart_open_media(L);            /* its media functions, call methods */
	luart_open_cdr(L);              /* _core.cdr, call.cdr */
	lua_setfield(L, -2, "_core");

	lua_setfield(L, LUA_REGISTRYINDEX, "lunapbx.base");
}


/* require() of one generation: modules load once per generation, from the
 * PBX's lua/ folder and the configuration's folder, into its environment. */
static int l_require(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	const char *path = lua_tostring(L, lua_upvalueindex(3));
	char *fname;

	lua_settop(L, 1);
	lua_getfield(L, lua_upvalueindex(1), name);          /* loaded */
	if (!lua_isnil(L, -1))
		return 1;
	lua_pop(L, 1);

	lua_pushstring(L, name);
	fname = (char *)luaL_gsub(L, name, ".", "/");
	fname = (char *)luaL_gsub(L, path, "?", fname);
	fname = (char *)luaL_gsub(L, fname, ";", "\n");
	for (const char *p = fname; *p; ) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char buf[1024];

		if (len < sizeof(buf)) {
			memcpy(buf, p, len);
			buf[len] = 0;
			FILE *f = fopen(buf, "r");
			if (f) {
				fclose(f);
				if (luaL_loadfilex(L, buf, "t") != LUA_OK)
					return lua_error(L);
				lua_pushvalue(L, lua_upvalueindex(2)); /* env */
				lua_setupvalue(L, -2, 1);
				lua_pushstring(L, name);
				lua_call(L, 1, 1);
				if (lua_isnil(L, -1)) {
					lua_pop(L, 1);
					lua_pushboolean(L, 1);
				}
				lua_pushvalue(L, -1);
				lua_setfield(L, lua_upvalueindex(1), name);
				return 1;
			}
		}
		p += len + (e ? 1 : 0);
	}

	return luaL_error(L, "module '%s' not found in %s", name, path);
}


/* A fresh environment: its own globals over the shared base. */
void sandbox_push_env(lua_State *L, const char *lib_dir, const char *cfg_dir)
{
	lua_newtable(L);                                  /* env */
	lua_newtable(L);                                  /* its metatable */
	lua_getfield(L, LUA_REGISTRYINDEX, "lunapbx.base");
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);

	lua_newtable(L);                                  /* loaded */
	lua_pushvalue(L, -2);                             /* env */
	lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;%s/?.lua", lib_dir,
			lib_dir, cfg_dir);
	lua_pushcclosure(L, l_require, 3);
	lua_setfield(L, -2, "require");
}
