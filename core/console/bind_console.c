/**
 * @file bind_console.c  What lunapbx.console is built on.  Its init()
 * gets them in a table; dialplans never see them.
 *
 *   calls()                  every call: a table of facts each
 *   legs()                   every live leg: who holds it, its bridge
 *   hangup_leg(id [, code])  one leg ends
 *   endpoints()              every endpoint and its registered contacts
 *   hangup(id [, code])      true, or nil and why
 *   originate(t)             {to=, context=, exten=, timeout=,
 *                             caller_name=, caller_num=} -> id | nil, why
 *   reload()                 generation, ms, endpoints | nil, file:line
 *   log_level([name])        the level, after setting it
 *   follow([on])             this console follows the log
 *   write(s)                 to this console
 *   generation()             the generation's export table (._env)
 *   status()                 the PBX at a glance
 *   load, traceback, getinfo Lua's own, for the console's chunks
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "log.h"
#include "pbx.h"
#include "reload.h"
#include "lua/luafield.h"
#include "lua/runtime.h"
#include "console/console.h"
#include "media/codec.h"
#include "call/bridge.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/call.h"
#include "call/callctl.h"
#include "sip/endpoint.h"
#include "sip/registrar.h"
#include "sip/sipstack.h"
#include "sip/trunk.h"


static struct console *console_of(lua_State *L)
{
	return lua_touserdata(L, lua_upvalueindex(1));
}




static void push_call(lua_State *L, const struct call *call)
{
	char func[160], line[160];
	struct call_info ci;
	size_t mem;

	call_info(call, &ci);
	mem = luart_script_info(ci.script, func, sizeof(func), line,
				sizeof(line));

	lua_createtable(L, 0, 20);
	luafield_int(L, "id", (lua_Integer)ci.id);
	luafield_str(L, "state", ci.state);
	luafield_bool(L, "originated", ci.originated);
	luafield_int(L, "age_ms", (lua_Integer)ci.age_ms);
	luafield_str(L, "codec", ci.codec);
	luafield_str(L, "peer_codec", ci.peer_codec);
	luafield_str(L, "caller", ci.caller);
	luafield_str(L, "caller_name", ci.caller_name);
	luafield_str(L, "endpoint", ci.endpoint);
	luafield_str(L, "exten", ci.exten);
	luafield_str(L, "context", ci.context);
	luafield_str(L, "peer", ci.peer);
	luafield_str(L, "peer_uri", ci.peer_uri);
	luafield_str(L, "wait", ci.wait);
	luafield_int(L, "ringing", ci.ringing);
	luafield_int(L, "leg", (lua_Integer)ci.leg);
	luafield_int(L, "legs", ci.legs);
	if (ci.bridge)
		luafield_int(L, "bridge", (lua_Integer)ci.bridge);
	luafield_str(L, "func", func[0] ? func : NULL);
	luafield_str(L, "line", line[0] ? line : NULL);
	luafield_int(L, "lua_mem", (lua_Integer)mem);
}


static bool push_one_call(struct call *call, void *arg)
{
	lua_State *L = arg;

	push_call(L, call);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);

	return false;
}


static int l_calls(lua_State *L)
{
	lua_createtable(L, (int)call_count(), 0);
	(void)call_apply(push_one_call, L);

	return 1;
}


static bool push_leg(struct leg *leg, void *arg)
{
	lua_State *L = arg;
	struct leg_info li;

	leg_info(leg, &li);
	lua_createtable(L, 0, 11);
	luafield_int(L, "id", (lua_Integer)li.id);
	luafield_str(L, "state", li.state);
	luafield_bool(L, "inbound", li.inbound);
	luafield_int(L, "age_ms", (lua_Integer)li.age_ms);
	luafield_str(L, "uri", li.uri);
	luafield_str(L, "endpoint", li.endpoint);
	luafield_str(L, "codec", li.codec);
	luafield_bool(L, "held", li.held);
	if (li.call)
		luafield_int(L, "call", (lua_Integer)li.call);
	if (li.bridge)
		luafield_int(L, "bridge", (lua_Integer)li.bridge);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);

	return false;
}


static int l_legs(lua_State *L)
{
	lua_createtable(L, (int)leg_count(), 0);
	(void)leg_apply(push_leg, L);

	return 1;
}


static void push_contacts(lua_State *L, const struct list *contacts)
{
	uint64_t now = tmr_jiffies();
	lua_Integer i = 0;

	lua_newtable(L);
	for (struct le *le = list_head(contacts); le; le = le->next) {
		const struct contact *c = le->data;
		char via[80];

		re_snprintf(via, sizeof(via), "%s %J",
			    sip_transp_name(c->tp), &c->src);
		uint32_t rtt = 0;
		int up = trunk_contact_reachable(luart_pbx(L)->trunks, c->uri,
						 &rtt);

		lua_createtable(L, 0, 5);
		luafield_str(L, "uri", c->uri);
		luafield_str(L, "via", via);
		luafield_int(L, "expires_in", c->expires > now
			? (lua_Integer)((c->expires - now + 500) / 1000) : 0);
		if (up >= 0)
			luafield_bool(L, "reachable", up);
		if (up > 0)
			luafield_int(L, "rtt_ms", rtt);
		lua_rawseti(L, -2, ++i);
	}
}


static bool push_endpoint(struct endpoint *ep, void *arg)
{
	lua_State *L = arg;

	lua_createtable(L, 0, 5);
	luafield_str(L, "name", ep->name);
	luafield_str(L, "context", ep->context);
	luafield_str(L, "caller_name", ep->cid_name);
	luafield_str(L, "caller_num", ep->cid_num);
	push_contacts(L, registrar_contacts(luart_pbx(L)->registrar,
					    ep->name));
	lua_setfield(L, -2, "contacts");
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);

	return false;
}


static int l_endpoints(lua_State *L)
{
	lua_newtable(L);
	(void)endpoint_table_apply(luart_pbx(L)->endpoints, push_endpoint, L);

	return 1;
}


static int fail(lua_State *L, const char *why)
{
	lua_pushnil(L);
	lua_pushstring(L, why);

	return 2;
}


/*
 * hangup(id [, code]) ends a call (its script and every leg it holds),
 * hangup_leg(id [, code]) one leg; code 0 (none given): the default
 * answer.  true, or nil and why.
 */
static int hang(lua_State *L, bool one_leg)
{
	lua_Integer id = luaL_checkinteger(L, 1);
	lua_Integer c = luaL_optinteger(L, 2, 0);
	struct call *call = NULL;
	struct leg *leg = NULL;

	luaL_argcheck(L, c == 0 || (c >= 300 && c < 700), 2,
		      "a SIP final failure code (300-699)");

	if (one_leg)
		leg = leg_find((uint64_t)id);
	else
		call = call_find((uint64_t)id);
	if (!leg && !call)
		return fail(L, lua_pushfstring(L, "no %s %I",
					       one_leg ? "leg" : "call", id));

	if (leg)
		leg_hangup(leg, (uint16_t)c);
	else
		call_terminate(call, (uint16_t)c);
	lua_pushboolean(L, 1);

	return 1;
}


static int l_hangup(lua_State *L)
{
	return hang(L, false);
}


static int l_hangup_leg(lua_State *L)
{
	return hang(L, true);
}


static const char *opt_field(lua_State *L, const char *key)
{
	const char *s;

	lua_getfield(L, 1, key);
	s = luaL_opt(L, luaL_checkstring, -1, NULL);
	lua_pop(L, 1);   /* the table holds the string */

	return s;
}


static int l_originate(lua_State *L)
{
	struct originate_opts opts;
	const char *to;
	char err[256];
	uint64_t id;

	luaL_checktype(L, 1, LUA_TTABLE);
	memset(&opts, 0, sizeof(opts));
	to = opt_field(L, "to");
	opts.context = opt_field(L, "context");
	opts.exten = opt_field(L, "exten");
	opts.caller_name = opt_field(L, "caller_name");
	opts.caller_num = opt_field(L, "caller_num");
	lua_getfield(L, 1, "timeout");
	opts.timeout_ms = (uint32_t)(luaL_optnumber(L, -1, 0) * 1000 + 0.5);
	lua_pop(L, 1);
	if (!to || !opts.exten)
		return luaL_error(L, "originate needs to= (an endpoint) and"
				  " exten= (what runs when it answers)");

	if (originate_start(luart_pbx(L), to, &opts, &id, err, sizeof(err)))
		return fail(L, err);

	lua_pushinteger(L, (lua_Integer)id);

	return 1;
}


static int l_reload(lua_State *L)
{
	struct pbx *pbx = luart_pbx(L);
	char err[1024];
	uint32_t usec = 0;

	if (reload_now(pbx, err, sizeof(err), &usec))
		return fail(L, err);

	lua_pushinteger(L, luart_generation(pbx->lua));
	lua_pushnumber(L, usec / 1000.0);
	lua_pushinteger(L, endpoint_table_count(pbx->endpoints));

	return 3;
}


static int l_log_level(lua_State *L)
{
	enum log_level level;

	if (!lua_isnoneornil(L, 1)) {
		if (log_level_parse(luaL_checkstring(L, 1), &level))
			return luaL_argerror(L, 1, "error, warn, info or"
					     " debug");
		log_set_level(level);
	}

	lua_pushstring(L, log_level_name(log_level()));

	return 1;
}


static int l_follow(lua_State *L)
{
	int on = lua_isnoneornil(L, 1) ? -1 : lua_toboolean(L, 1);

	lua_pushboolean(L, console_follow(console_of(L), on));

	return 1;
}


static int l_write(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);

	/* print() from a function the console left behind, run by a call */
	if (console_write(console_of(L), s, len))
		log_info("console: %s", s);

	return 0;
}


static int l_generation(lua_State *L)
{
	luart_push_generation(luart_pbx(L)->lua, L);

	return 1;
}


static int l_status(lua_State *L)
{
	struct pbx *pbx = luart_pbx(L);
	char addr[64];

	re_snprintf(addr, sizeof(addr), "%J", &pbx->set.sip_addr);
	lua_createtable(L, 0, 12);
	luafield_int(L, "generation", luart_generation(pbx->lua));
	luafield_int(L, "calls", call_count());
	luafield_int(L, "legs", leg_count());
	luafield_int(L, "bridges", bridge_total());
	luafield_int(L, "endpoints", endpoint_table_count(pbx->endpoints));
	luafield_int(L, "contacts", registrar_count(pbx->registrar));
	luafield_int(L, "lua_mem", (lua_Integer)luart_memory(pbx->lua));
	luafield_int(L, "lua_mem_limit", (lua_Integer)luart_memory_limit(pbx->lua));
	luafield_int(L, "call_mem_limit", (lua_Integer)pbx->set.call_mem_mb << 20);
	luafield_str(L, "config", pbx->config_path);
	luafield_str(L, "state_dir", pbx->state_dir);
	luafield_str(L, "listen", addr);
	luafield_str(L, "log_level", log_level_name(log_level()));
	lua_pushboolean(L, sipstack_tracing(pbx->stack));
	lua_setfield(L, -2, "trace");
	lua_pushboolean(L, pbx->set.reload_on_change);
	lua_setfield(L, -2, "reload_on_change");

	return 1;
}


/* Lua's own functions the sandbox leaves out, from the global table. */
static void copy_global(lua_State *L, const char *lib, const char *name)
{
	if (lib) {
		lua_getglobal(L, lib);
		lua_getfield(L, -1, name);
		lua_remove(L, -2);
	}
	else {
		lua_getglobal(L, name);
	}
	lua_setfield(L, -2, name);
}


/** Push the table lunapbx.console's init() gets. */
void console_open_lib(lua_State *L, struct console *con)
{
	static const luaL_Reg funcs[] = {
		{ "calls",      l_calls },
		{ "legs",       l_legs },
		{ "hangup_leg", l_hangup_leg },
		{ "endpoints",  l_endpoints },
		{ "hangup",     l_hangup },
		{ "originate",  l_originate },
		{ "reload",     l_reload },
		{ "log_level",  l_log_level },
		{ "follow",     l_follow },
		{ "write",      l_write },
		{ "generation", l_generation },
		{ "status",     l_status },
		{ NULL, NULL }
	};

	luaL_newlibtable(L, funcs);
	lua_pushlightuserdata(L, con);
	luaL_setfuncs(L, funcs, 1);
	copy_global(L, NULL, "load");
	copy_global(L, "debug", "traceback");
	copy_global(L, "debug", "getinfo");
}
