/**
 * @file bind_stats.c  call:stats(): the call's RTP/RTCP statistics, per leg
 * and per media.
 *
 *   local s = call:stats()
 *   s.caller.audio.rx_packets, s.callee.video.rtt_ms, ...
 *
 * `caller` is the caller's leg, `callee` the answered one (kept after it
 * hung up); a leg without a media has no table for it.
 */
#include <re.h>
#include <lauxlib.h>
#include "lua/luafield.h"
#include "lua/runtime.h"
#include "media/rtpstat.h"
#include "sip/call.h"
#include "sip/legstats.h"



static void set_ms(lua_State *L, const char *key, uint32_t us)
{
	luafield_num(L, key, us / 1000.0);
}


static void push_media(lua_State *L, const struct media_stats *ms)
{
	const struct stream_stats *st = &ms->st;

	lua_createtable(L, 0, 16);
	lua_pushstring(L, ms->codec);
	lua_setfield(L, -2, "codec");
	luafield_bool(L, "rtcp_mux", ms->muxed);
	luafield_int(L, "rx_packets", (lua_Integer)st->rx_packets);
	luafield_int(L, "rx_bytes", (lua_Integer)st->rx_bytes);
	luafield_int(L, "tx_packets", (lua_Integer)st->tx_packets);
	luafield_int(L, "tx_bytes", (lua_Integer)st->tx_bytes);
	luafield_int(L, "lost", st->lost);
	luafield_int(L, "dropped", st->dropped);
	set_ms(L, "jitter_ms", st->jitter_us);
	luafield_int(L, "rtcp_rx", (lua_Integer)st->rx_rtcp);
	luafield_int(L, "rtcp_tx", (lua_Integer)st->tx_rtcp);
	if (st->rtt_us >= 0)
		set_ms(L, "rtt_ms", (uint32_t)st->rtt_us);
	if (st->remote_lost >= 0) {
		luafield_int(L, "far_lost", st->remote_lost);
		set_ms(L, "far_jitter_ms", st->remote_jitter_us);
	}
}


static void push_leg(lua_State *L, struct call *call, bool callee,
		     const char *name)
{
	struct leg_stats ls;

	if (call_leg_stats(call, callee, &ls))
		return;

	lua_createtable(L, 0, 2);
	if (ls.audio.present) {
		push_media(L, &ls.audio);
		lua_setfield(L, -2, "audio");
	}
	if (ls.video.present) {
		push_media(L, &ls.video);
		lua_setfield(L, -2, "video");
	}
	lua_setfield(L, -2, name);
}


static int l_stats(lua_State *L)
{
	struct call *call = luart_check_call(L, 1);

	lua_createtable(L, 0, 2);
	push_leg(L, call, false, "caller");
	push_leg(L, call, true, "callee");

	return 1;
}


void luart_open_stats(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "stats", l_stats },
		{ NULL, NULL }
	};

	luart_call_methods(L, methods);
}
