/**
 * @file bind_cdr.c  The call's record (Asterisk's CDR() function) and the
 * records written, for the console.
 *
 *   call.cdr.userfield = "vip"        -- CDR(userfield)
 *   call.cdr.accountcode = "sales"    -- CDR(accountcode)
 *   call.cdr.campaign = "xmas"        -- a column of your own (cdr_var)
 *   call.cdr.campaign = nil           -- removed
 *   print(call.cdr.src, call.cdr.billsec)   -- read any field, as text
 *   _core.cdr(n)                      -- the last n records, oldest first
 *
 * Values are kept as text (numbers and booleans are turned into text).
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "lua/luafield.h"
#include "lua/runtime.h"
#include "call/dial.h"
#include "call/call.h"
#include "cdr/cdr.h"

#define CDR_MT "lunapbx.cdr"

struct cdr_ud {
	uint64_t call_id;   /* the call may end while Lua keeps this */
};


static struct cdr *module(lua_State *L)
{
	struct cdr *cdr = luart_pbx(L)->cdr;

	if (!cdr)
		luaL_error(L, "cdr: call records are off (no state database)");

	return cdr;
}


static struct call *the_call(lua_State *L)
{
	struct cdr_ud *ud = luaL_checkudata(L, 1, CDR_MT);
	struct call *call = call_find(ud->call_id);

	if (!call)
		luaL_error(L, "cdr: call %d has ended", (int)ud->call_id);

	return call;
}


/** call.cdr: the record the call is on. */
int luart_push_cdr(lua_State *L, struct call *call)
{
	struct cdr_ud *ud = lua_newuserdatauv(L, sizeof(*ud), 0);

	ud->call_id = call_id(call);
	luaL_setmetatable(L, CDR_MT);

	return 1;
}


static int l_index(lua_State *L)
{
	struct call *call = the_call(L);
	const char *name = luaL_checkstring(L, 2);
	char buf[512];
	int err;

	err = cdr_get(module(L), call, name, buf, sizeof(buf));
	if (err == ENOENT)
		return 0;
	if (err)
		return luaL_error(L, "cdr.%s: %s", name, strerror(err));
	lua_pushstring(L, buf);

	return 1;
}


static int l_newindex(lua_State *L)
{
	struct call *call = the_call(L);
	const char *name = luaL_checkstring(L, 2);
	const char *value = NULL;
	int err;

	switch (lua_type(L, 3)) {

	case LUA_TNIL:
		break;

	case LUA_TSTRING:
	case LUA_TNUMBER:
	case LUA_TBOOLEAN:
		value = luaL_tolstring(L, 3, NULL);
		break;

	default:
		return luaL_argerror(L, 3, "a string, number or boolean");
	}

	err = cdr_set(module(L), call, name, value);
	switch (err) {

	case 0:       return 0;
	case EPERM:   return luaL_error(L, "cdr.%s: the PBX fills this field"
					" (set userfield, accountcode or a"
					" name of your own)", name);
	case EINVAL:  return luaL_error(L, "cdr.%s: a name is a letter or _,"
					" then letters, digits or _ (32 at"
					" most)", name);
	case ENOENT:  return luaL_error(L, "cdr.%s: the call's leg has hung"
					" up: its record is written", name);
	case E2BIG:   return luaL_error(L, "cdr.%s: too many fields of your"
					" own", name);
	default:      return luaL_error(L, "cdr.%s: %s", name,
					strerror(err));
	}
}


static int l_tostring(lua_State *L)
{
	struct cdr_ud *ud = luaL_checkudata(L, 1, CDR_MT);

	lua_pushfstring(L, "cdr of call %d", (int)ud->call_id);

	return 1;
}


static void var_field(const char *name, const char *value, void *arg)
{
	luafield_str(arg, name, value);
}


struct rows {
	lua_State *L;
	struct cdr *cdr;
	lua_Integer n;
};


static bool row_table(const struct cdr_row *r, void *arg)
{
	struct rows *rows = arg;
	lua_State *L = rows->L;

	lua_createtable(L, 0, 20);
	luafield_int(L, "sequence", r->sequence);
	luafield_str(L, "start", r->start);
	if (*r->answer)
		luafield_str(L, "answer", r->answer);
	luafield_str(L, "end", r->end);
	luafield_int(L, "duration", r->duration);
	luafield_int(L, "billsec", r->billsec);
	luafield_str(L, "src", r->src);
	luafield_str(L, "dst", r->dst);
	luafield_str(L, "context", r->context);
	luafield_str(L, "clid", r->clid);
	luafield_str(L, "channel", r->channel);
	luafield_str(L, "dstchannel", r->dstchannel);
	luafield_str(L, "disposition", r->disposition);
	luafield_str(L, "accountcode", r->accountcode);
	luafield_str(L, "uniqueid", r->uniqueid);
	luafield_str(L, "linkedid", r->linkedid);
	luafield_str(L, "userfield", r->userfield);
	(void)cdr_vars(rows->cdr, r->sequence, var_field, L);
	lua_rawseti(L, -2, ++rows->n);

	return false;
}


/* _core.cdr([n]): the last n records written (10), oldest first; the
 * dialplan's own fields are fields of each row. */
static int l_cdr(lua_State *L)
{
	lua_Integer n = luaL_optinteger(L, 1, 10);
	struct rows rows = { L, module(L), 0 };
	int err;

	luaL_argcheck(L, n >= 0 && n <= 100000, 1, "0 to 100000 records");
	lua_newtable(L);
	err = cdr_last(rows.cdr, (uint32_t)n, row_table, &rows);
	if (err)
		return luaL_error(L, "cdr: %s", strerror(err));

	return 1;
}


/** The record object, and _core.cdr (the table at the top). */
void luart_open_cdr(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{ "__index",    l_index },
		{ "__newindex", l_newindex },
		{ "__tostring", l_tostring },
		{ NULL, NULL }
	};

	luaL_newmetatable(L, CDR_MT);
	luaL_setfuncs(L, meta, 0);
	lua_pushliteral(L, "cdr");
	lua_setfield(L, -2, "__name");
	lua_pop(L, 1);

	lua_pushcfunction(L, l_cdr);
	lua_setfield(L, -2, "cdr");
}
