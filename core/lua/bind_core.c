/**
 * @file bind_core.c  `_core`: the PBX functions the lunapbx Lua library is
 * built on (users call them through `pbx.*`).
 *
 *   _core.sleep(ms)           wait in the current call (yields)
 *   _core.log(level, msg)     "error" | "warn" | "info" | "debug"
 *   _core.now()               milliseconds of the PBX's clock
 *   _core.trace([on])         SIP trace on/off; returns the state
 *   _core.capture(...)        pcap capture (bind_capture.c)
 *   _core.generation()        configuration generation in force
 *   _core.stats([collect])    { calls=, lua_bytes= } (a full GC first
 *                             when collect is true)
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "log.h"
#include "pbx.h"
#include "tmrheap.h"
#include "sip/registrar.h"
#include "lua/bind_trunk.h"
#include "lua/runtime.h"
#include "media/rtpring.h"
#include "media/rtpsteer.h"
#include "sip/call.h"
#include "sip/siptrace.h"


static int sleep_done(lua_State *L, int status, lua_KContext ctx)
{
	struct call *call = luart_current_call(L);
	(void)status; (void)ctx;

	lua_pushboolean(L, call && !call_hungup(call));
	return 1;
}


static int l_sleep(lua_State *L)
{
	struct call *call = luart_current_call(L);
	lua_Integer ms = luaL_checkinteger(L, 1);

	if (!call)
		return luaL_error(L, "sleep() waits in a call's dialplan;"
				  " there is no call here");
	luaL_argcheck(L, ms >= 0, 1, "milliseconds >= 0");

	if (call_sleep(call, (uint32_t)ms))
		return sleep_done(L, LUA_OK, 0);

	return lua_yieldk(L, 0, 0, sleep_done);
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


static int l_now(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)tmr_jiffies());
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

	lua_createtable(L, 0, 4);
	lua_pushinteger(L, (lua_Integer)list_count(&pbx_instance->calls));
	lua_setfield(L, -2, "calls");
	lua_pushinteger(L, (lua_Integer)luart_memory(rt));
	lua_setfield(L, -2, "lua_bytes");
	lua_pushstring(L, rtpring_mode());
	lua_setfield(L, -2, "rtp_path");
	lua_pushinteger(L, (lua_Integer)rtpsteer_count());
	lua_setfield(L, -2, "steered_legs");
	/* what must not grow over time (bench/run --mode soak) */
	lua_pushinteger(L, (lua_Integer)tmrheap_count());
	lua_setfield(L, -2, "timers");
	lua_pushinteger(L, (lua_Integer)registrar_count(pbx_instance->registrar));
	lua_setfield(L, -2, "contacts");

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
		{ NULL, NULL }
	};
	(void)rt;

	luaL_newlib(L, funcs);
	luart_open_trunks(L);
	luart_open_capture(L);
}
