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
#include "media/codec.h"
#include "call/legstats.h"
#include "call/bridge.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/call.h"



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


/* A leg's statistics per media; nothing when it had no media. */
static int push_leg(lua_State *L, const struct leg *leg)
{
	struct leg_stats ls;

	if (!leg || leg_stats(leg, &ls))
		return 0;

	lua_createtable(L, 0, 2);
	if (ls.audio.present) {
		push_media(L, &ls.audio);
		lua_setfield(L, -2, "audio");
	}
	if (ls.video.present) {
		push_media(L, &ls.video);
		lua_setfield(L, -2, "video");
	}

	return 1;
}


/* call:stats(): its caller leg and its callee (the leg bridged with it,
 * else the last one a dial bridged); leg:stats(): that leg's. */
static int l_stats(lua_State *L)
{
	struct call *call = luart_test_call(L, 1);
	const struct leg *a, *b;

	if (!call) {
		if (!push_leg(L, luart_check_leg(L, 1)))
			lua_newtable(L);
		return 1;
	}

	a = call_leg(call);
	b = bridge_other(leg_bridge(a), a);
	if (!b)
		b = call_last_callee(call);

	lua_createtable(L, 0, 2);
	if (push_leg(L, a))
		lua_setfield(L, -2, "caller");
	if (push_leg(L, b))
		lua_setfield(L, -2, "callee");

	return 1;
}


void luart_open_stats(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "stats", l_stats },
		{ NULL, NULL }
	};

	luart_leg_methods(L, methods);
}
