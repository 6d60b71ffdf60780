/**
 * @file bind_core.c  `_core`: the PBX functions the lunapbx Lua library is
 * built on (users call them through `pbx.*`).
 *
 *   _core.sleep(s)            wait in the current call (yields)
 *   _core.log(level, msg)     "error" | "warn" | "info" | "debug"
 *   _core.now()               seconds of the PBX's clock
 *   _core.trace([on])         SIP trace on/off; returns the state
 *   _core.capture(...)        pcap capture (bind_capture.c)
 *   _core.vm                  voicemail (bind_voicemail.c)
 *   _core.generation()        configuration generation in force
 *   _core.stats([collect])    { calls=, lua_bytes= } (a full GC first
 *                             when collect is true)
 *   _core.shared(name)        a table of that name kept across reloads
 *                             (what calls share: parked calls)
 */
#include <malloc.h>
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "log.h"
#include "memtrim.h"
#include "pbx.h"
#include "tmrheap.h"
#include "sip/registrar.h"
#include "lua/bind_trunk.h"
#include "lua/runtime.h"
#include "media/rtpring.h"
#include "media/rtpsteer.h"
#include "media/codec.h"
#include "call/bridge.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/call.h"
#include "sip/siptrace.h"


/* pbx.sleep(s): over when its time is, or (false) when the caller
 * hung up. */
static int sleep_ready(lua_State *L, struct call *call, lua_KContext ctx)
{
	(void)ctx;

	if (leg_closed(call_leg(call))) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (!call_timed_out(call))
		return -1;

	lua_pushboolean(L, 1);
	return 1;
}


static int l_sleep(lua_State *L)
{
	struct call *call = luart_current_call(L);
	int arg = luart_test_call(L, 1) ? 2 : 1;   /* call:sleep(s) too */
	lua_Number s = luaL_checknumber(L, arg);

	if (!call)
		return luaL_error(L, "sleep() waits in a call's dialplan;"
				  " there is no call here");
	luaL_argcheck(L, s >= 0 && s <= 86400, arg, "seconds (0 to 86400)");

	if (s * 1000 < 1) {
		lua_pushboolean(L, !leg_closed(call_leg(call)));
		return 1;
	}

	return luart_await(L, (uint32_t)(s * 1000 + 0.5), "sleep",
			   sleep_ready, 0);
}


static int l_log(lua_State *L)
{
	const char *lvl = luaL_checkstring(L, 1);
	const char *msg = luaL_checkstring(L, 2);
	enum log_level level;
	lua_Debug ar;

	if (log_level_parse(lvl, &level))
		return luaL_argerror(L, 1, "error, warn, info or debug");

	/* where in the dialplan, as file:line */
	if (lua_getstack(L, 2, &ar) && lua_getinfo(L, "Sl", &ar) &&
	    ar.currentline > 0)
		log_msg(level, "%s:%d: %s", ar.short_src, ar.currentline,
			msg);
	else
		log_msg(level, "%s", msg);

	return 0;
}


/* The PBX's clock, in seconds (as every time of the API). */
static int l_now(lua_State *L)
{
	lua_pushnumber(L, (lua_Number)tmr_jiffies() / 1000.0);
	return 1;
}


static int l_trace(lua_State *L)
{
	if (!lua_isnoneornil(L, 1))
		siptrace_enable(lua_toboolean(L, 1));

	lua_pushboolean(L, siptrace_enabled());
	return 1;
}


static int l_generation(lua_State *L)
{
	lua_pushinteger(L, luart_generation(luart_from_state(L)));
	return 1;
}


/* What the PBX holds now (the benchmarks read memory per call from it),
 * and how bridged RTP goes (see rtpring_mode()). */
static int l_stats(lua_State *L)
{
	struct luart *rt = luart_from_state(L);

	if (lua_toboolean(L, 1))
		lua_gc(L, LUA_GCCOLLECT);

	lua_createtable(L, 0, 6);
	lua_pushinteger(L, (lua_Integer)call_count());
	lua_setfield(L, -2, "calls");
	lua_pushinteger(L, (lua_Integer)leg_count());
	lua_setfield(L, -2, "legs");
	lua_pushinteger(L, (lua_Integer)bridge_total());
	lua_setfield(L, -2, "bridges");
	lua_pushinteger(L, (lua_Integer)luart_memory(rt));
	lua_setfield(L, -2, "lua_bytes");
	lua_pushstring(L, rtpring_mode());
	lua_setfield(L, -2, "rtp_path");
	lua_pushinteger(L, (lua_Integer)rtpsteer_count());
	lua_setfield(L, -2, "steered_legs");
	/* what must not grow over time (bench/run --mode soak) */
	lua_pushinteger(L, (lua_Integer)tmrheap_count());
	lua_setfield(L, -2, "timers");
	lua_pushinteger(L, (lua_Integer)registrar_count(luart_pbx(L)->registrar));
	lua_setfield(L, -2, "contacts");
	lua_pushinteger(L, (lua_Integer)memtrim_heap_in_use());
	lua_setfield(L, -2, "heap_bytes");

	return 1;
}


/*
 * _core.shared(name): the same table for every generation.  Modules are
 * loaded afresh by each generation; what must outlive one (the calls a
 * parking lot holds, seen by calls of the next) lives here.
 */
static int l_shared(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);

	if (lua_getfield(L, LUA_REGISTRYINDEX, "lunapbx.shared") != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, "lunapbx.shared");
	}
	if (lua_getfield(L, -1, name) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_pushvalue(L, -1);
		lua_setfield(L, -3, name);
	}

	return 1;
}


void luart_open_core(lua_State *L, struct luart *rt)
{
	static const luaL_Reg funcs[] = {
		{ "sleep",      l_sleep },
		{ "log",        l_log },
		{ "now",        l_now },
		{ "trace",      l_trace },
		{ "generation", l_generation },
		{ "stats",      l_stats },
		{ "shared",     l_shared },
		{ NULL, NULL }
	};
	(void)rt;

	luaL_newlib(L, funcs);
	luart_open_leg_core(L);
	luart_open_dial(L);
	luart_open_bridge(L);
	luart_open_wait(L);
	luart_open_trunks(L);
	luart_open_capture(L);
	luart_open_voicemail(L);
	luart_open_store(L);
	luart_open_signal(L);
	luart_open_presence(L);
	luart_open_events(L);
	luart_open_api(L);
}
