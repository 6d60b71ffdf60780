/**
 * @file bind_room.c  What a mixing bridge (three legs and more, or a
 * conference room) offers beyond a bridge's methods (bind_bridge.c).
 * None of them waits; any script that has the bridge may use them (and
 * the console: pbx.room, pbx.rooms).
 *
 *   br:mute(leg [, on])   br:deaf(leg [, on])      -> true | nil, why
 *   br:volume(leg, "talk"|"listen" [, step])       -> step | nil, why
 *       (3 dB steps from -4 to 4, 0 as sent)
 *   br:member(leg) -> { mixed, muted, deaf, talking, moh, talk_volume,
 *                       listen_volume, seconds, talk_seconds } | nil
 *   br:moh(leg [, class | false])    music to that leg instead of the room
 *   br:notify(leg, note)             br:wait(leg) of its script: "notify"
 *   br:play(names [, { language = "fr" }]) -> seconds | nil, why
 *       into the room, everybody hears it (queued, at most 8)
 *   br:record(file [, { format = "wav"|"gsm" }]) -> file | nil, why
 *   br:record(false) -> true | nil, why    the file is complete
 *   br:status() -> { room, count, mixing, recording, playing, ended }
 *   pbx.room(name) -> br | nil      pbx.rooms() -> { br, ... }
 *
 * `why`: "not in this bridge", "not mixing" (a relayed bridge of two),
 * "not a room", "the room ended", "too many announcements queued".
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "lua/luaclass.h"
#include "lua/luafield.h"
#include "lua/runtime.h"
#include "media/codec.h"
#include "media/player.h"
#include "media/recorder.h"
#include "media/sound.h"
#include "call/bridge.h"
#include "call/leg.h"

#define BRIDGE_MT "lunapbx.bridge"


static int result(lua_State *L, int err)
{
	if (!err) {
		lua_pushboolean(L, 1);
		return 1;
	}

	lua_pushnil(L);
	lua_pushstring(L, err == ENOENT ? "not in this bridge"
		       : err == ENOTSUP ? "not mixing"
		       : err == EPIPE ? "the room ended"
		       : err == EOVERFLOW ? "too many announcements queued"
		       : err == ENOTCONN ? "no media yet" : strerror(err));
	return 2;
}


static bool opt_on(lua_State *L, int idx)
{
	return lua_isnone(L, idx) || lua_toboolean(L, idx);
}


static int l_mute(lua_State *L)
{
	struct bridge *br = luart_check_bridge(L, 1);
	struct leg *leg = luart_check_leg(L, 2);

	return result(L, bridge_mute(br, leg, opt_on(L, 3)));
}


static int l_deaf(lua_State *L)
{
	struct bridge *br = luart_check_bridge(L, 1);
	struct leg *leg = luart_check_leg(L, 2);

	return result(L, bridge_deaf(br, leg, opt_on(L, 3)));
}


static int l_volume(lua_State *L)
{
	static const char *dirs[] = { "talk", "listen", NULL };
	struct bridge *br = luart_check_bridge(L, 1);
	struct leg *leg = luart_check_leg(L, 2);
	bool listen = luaL_checkoption(L, 3, NULL, dirs) == 1;
	struct bridge_member_info mi;
	int err;

	if (!lua_isnoneornil(L, 4)) {
		lua_Integer step = luaL_checkinteger(L, 4);

		luaL_argcheck(L, step >= -4 && step <= 4, 4,
			      "a step from -4 to 4 (3 dB each)");
		err = bridge_set_volume(br, leg, listen, (int)step);
		if (err)
			return result(L, err);
	}

	err = bridge_member(br, leg, &mi);
	if (err)
		return result(L, err);
	lua_pushinteger(L, listen ? mi.listen_volume : mi.talk_volume);

	return 1;
}


static int l_member(lua_State *L)
{
	struct bridge *br = luart_check_bridge(L, 1);
	struct leg *leg = luart_check_leg(L, 2);
	struct bridge_member_info mi;

	if (bridge_member(br, leg, &mi)) {
		lua_pushnil(L);
		return 1;
	}

	lua_createtable(L, 0, 9);
	luafield_bool(L, "mixed", mi.mixed);
	luafield_bool(L, "muted", mi.muted);
	luafield_bool(L, "deaf", mi.deaf);
	luafield_bool(L, "talking", mi.talking);
	luafield_bool(L, "moh", mi.moh);
	luafield_int(L, "talk_volume", mi.talk_volume);
	luafield_int(L, "listen_volume", mi.listen_volume);
	lua_pushnumber(L, (lua_Number)mi.joined_ms / 1000);
	lua_setfield(L, -2, "seconds");
	lua_pushnumber(L, (lua_Number)mi.talk_ms / 1000);
	lua_setfield(L, -2, "talk_seconds");

	return 1;
}


static int l_moh(lua_State *L)
{
	struct bridge *br = luart_check_bridge(L, 1);
	struct leg *leg = luart_check_leg(L, 2);
	const char *cls = "default";
	char errbuf[256] = "";
	int err;

	if (lua_isboolean(L, 3) && !lua_toboolean(L, 3))
		cls = NULL;
	else if (!lua_isnoneornil(L, 3))
		cls = luaL_checkstring(L, 3);

	err = bridge_member_moh(br, leg, cls, errbuf, sizeof(errbuf));
	if (err && errbuf[0])
		return luaL_error(L, "moh: %s", errbuf);

	return result(L, err);
}


static int l_notify(lua_State *L)
{
	struct bridge *br = luart_check_bridge(L, 1);
	struct leg *leg = luart_check_leg(L, 2);
	size_t n;
	const char *note = luaL_checklstring(L, 3, &n);

	luaL_argcheck(L, n < 32, 3, "a note of at most 31 bytes");

	return result(L, bridge_notify(br, leg, note));
}


static const char *opt_language(lua_State *L, int opts)
{
	const char *lang = "en";

	if (lua_isnoneornil(L, opts))
		return lang;

	luaL_checktype(L, opts, LUA_TTABLE);
	if (lua_getfield(L, opts, "language") == LUA_TSTRING)
		lang = lua_tostring(L, -1);
	lua_pop(L, 1);   /* still in the options table */
	if (!sound_name_ok(lang) || strchr(lang, '/'))
		luaL_error(L, "play: language '%s' is no folder name", lang);

	return lang;
}


static int l_play(lua_State *L)
{
	struct bridge *br = luart_check_bridge(L, 1);
	const char *lang = opt_language(L, 3);
	uint64_t samples;
	struct player *p;
	int err;

	if (!bridge_room_name(br))
		return result(L, ENOTSUP);

	p = luart_sounds(L, 2, "play", lang, &samples);   /* held, pushed */
	err = bridge_play(br, p);
	if (err)
		return result(L, err);

	lua_pushnumber(L, (lua_Number)samples / SOUND_RATE);

	return 1;
}


static int l_record(lua_State *L)
{
	struct bridge *br = luart_check_bridge(L, 1);
	struct recorder *rec;
	int err;

	if (lua_isboolean(L, 2) && !lua_toboolean(L, 2))
		return result(L, bridge_record_stop(br));

	if (!bridge_room_name(br))
		return result(L, ENOTSUP);
	if (bridge_ended(br))
		return result(L, EPIPE);
	if (bridge_recording(br))
		return result(L, EALREADY);
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);

	rec = luart_recorder(L, luaL_checkstring(L, 2), 3, 0,
			     "record");                  /* file pushed */
	err = bridge_record(br, rec);                    /* takes rec */
	if (err)
		return result(L, err);

	return 1;
}


static int l_status(lua_State *L)
{
	struct bridge *br = luart_check_bridge(L, 1);
	const char *rec = bridge_recording(br);
	char dir[512];

	lua_createtable(L, 0, 6);
	lua_pushstring(L, bridge_room_name(br));
	lua_setfield(L, -2, "room");
	luafield_int(L, "count", bridge_count(br));
	luafield_bool(L, "mixing", bridge_mixing(br));
	luafield_bool(L, "ended", bridge_ended(br));
	luafield_int(L, "playing", bridge_playing(br));
	luafield_int(L, "mixer_members", bridge_mixer_members(br));
	if (rec) {
		size_t n = strlen(pbx_recordings_dir(luart_pbx(L), dir,
						     sizeof(dir)));

		lua_pushstring(L, strncmp(rec, dir, n) || rec[n] != '/'
			       ? rec : rec + n + 1);
		lua_setfield(L, -2, "recording");
	}

	return 1;
}


static int l_find(lua_State *L)
{
	return luart_push_bridge(L, bridge_find_room(luaL_checkstring(L, 1)));
}


static bool push_room(struct bridge *br, void *arg)
{
	lua_State *L = arg;

	luart_push_bridge(L, br);
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);

	return false;
}


static int l_rooms(lua_State *L)
{
	lua_newtable(L);
	(void)bridge_room_apply(push_room, L);

	return 1;
}


/** The methods of mixing bridges, and room() and rooms() into the table
 *  on the top of the stack (_core). */
void luart_open_room(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "mute",    l_mute },
		{ "deaf",    l_deaf },
		{ "volume",  l_volume },
		{ "member",  l_member },
		{ "moh",     l_moh },
		{ "notify",  l_notify },
		{ "play",    l_play },
		{ "record",  l_record },
		{ "status",  l_status },
		{ NULL, NULL }
	};

	luaclass_methods(L, BRIDGE_MT, methods);
	lua_pushcfunction(L, l_find);
	lua_setfield(L, -2, "room");
	lua_pushcfunction(L, l_rooms);
	lua_setfield(L, -2, "rooms");
}
