/**
 * @file bind_media.c  The media methods of `leg` and `call` (on call.leg).
 * All wait: they yield and the core resumes the call's coroutine when they
 * end.
 *
 *   call:play(names [, {interrupt=, timeout=, language=}]) -> digit|nil, why
 *   call:moh([class [, seconds [, {interrupt=, random=}]]]) -> digit|nil, why
 *   call:playtones(spec [, seconds [, {interrupt=}]])  -> digit|nil, why
 *   call:echo([{seconds=, terminator="#"}])             -> digit|nil, why
 *   call:read_digit([seconds])                          -> digit|nil, why
 *   call:record(path [, {format=, max_seconds=, silence_seconds=, beep=,
 *               terminator=}])                   -> seconds, status, file
 *   call:send_dtmf(digits [, {duration=s}])             -> true|nil, why
 *   call:flush_digits()   call:pending_digits() -> n
 *   _core.media_stats()   _core.sounds_dir()   _core.recordings_dir()
 *   _core.delete_recording(file)                       -> true|nil, why
 *
 * `why` is "done", "digit", "timeout" or "hangup"; record's status is
 * Asterisk's RECORD_STATUS: DTMF, SILENCE, TIMEOUT, HANGUP, ERROR.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "lua/luafield.h"
#include "lua/runtime.h"
#include "media/codec.h"
#include "media/mclock.h"
#include "media/player.h"
#include "media/recorder.h"
#include "media/sound.h"
#include "media/moh.h"
#include "call/leg.h"
#include "call/legmedia.h"

#define ALL_DIGITS "0123456789*#ABCD"

enum { MAX_NAMES = 64, PATH_SZ = 512 };
enum kind { K_PLAY = 1, K_DIGIT, K_RECORD, K_SEND };


static const char *sounds_dir(lua_State *L, char *buf, size_t sz)
{
	return pbx_sounds_dir(luart_pbx(L), buf, sz);
}


static const char *recordings_dir(lua_State *L, char *buf, size_t sz)
{
	return pbx_recordings_dir(luart_pbx(L), buf, sz);
}


static void opt_table(lua_State *L, int idx)
{
	if (!lua_isnoneornil(L, idx))
		luaL_checktype(L, idx, LUA_TTABLE);
}


static uint32_t seconds_ms(lua_State *L, int idx, const char *what)
{
	lua_Number s = luaL_checknumber(L, idx);

	luaL_argcheck(L, s >= 0 && s <= 86400, idx, what);

	return (uint32_t)(s * 1000 + 0.5);
}


/* A number of seconds in an options table (0 when absent). */
static uint32_t opt_seconds(lua_State *L, int t, const char *key)
{
	uint32_t ms = 0;

	if (lua_type(L, t) != LUA_TTABLE)
		return 0;

	if (lua_getfield(L, t, key) != LUA_TNIL) {
		if (!lua_isnumber(L, -1) || lua_tonumber(L, -1) < 0 ||
		    lua_tonumber(L, -1) > 86400)
			luaL_error(L, "option '%s' must be seconds (a number"
				   " from 0 to 86400)", key);
		ms = (uint32_t)(lua_tonumber(L, -1) * 1000 + 0.5);
	}
	lua_pop(L, 1);

	return ms;
}


/* Digits that stop an operation: true is any digit, a string lists them.
 * The string stays alive in the options table. */
static const char *opt_digits(lua_State *L, int t, const char *key,
			      const char *dflt)
{
	const char *s = dflt;

	if (lua_type(L, t) != LUA_TTABLE)
		return dflt;

	switch (lua_getfield(L, t, key)) {

	case LUA_TNIL:
		break;

	case LUA_TBOOLEAN:
		s = lua_toboolean(L, -1) ? ALL_DIGITS : NULL;
		break;

	case LUA_TSTRING:
		s = lua_tostring(L, -1);
		if (!*s || strlen(s) > 16 || strspn(s, ALL_DIGITS) != strlen(s))
			luaL_error(L, "option '%s': digits among %s, or true",
				   key, ALL_DIGITS);
		break;

	default:
		luaL_error(L, "option '%s': true, false or a string of digits",
			   key);
	}
	lua_pop(L, 1);

	return s;
}


static const char *language(lua_State *L, int opts)
{
	const char *lang = NULL;

	if (lua_type(L, opts) == LUA_TTABLE &&
	    lua_getfield(L, opts, "language") == LUA_TSTRING)
		lang = lua_tostring(L, -1);
	else if (lua_getiuservalue(L, 1, 1) == LUA_TTABLE &&       /* vars */
		 lua_getfield(L, -1, "language") == LUA_TSTRING)
		lang = lua_tostring(L, -1);

	if (!lang || !sound_name_ok(lang) || strchr(lang, '/'))
		lang = "en";
	lua_pushstring(L, lang);   /* the caller pops what we pushed */

	return lua_tostring(L, -1);
}


static bool has_extension(const char *name)
{
	const char *slash = strrchr(name, '/');

	return strchr(slash ? slash : name, '.') != NULL;
}


static bool exists(const char *path)
{
	struct stat st;

	return 0 == stat(path, &st) && S_ISREG(st.st_mode);
}


/* Where a sound name is: the recordings, then sounds/<lang>/, sounds/en/,
 * sounds/; as name.wav, then name.gsm, or as named when it has an
 * extension.  Raises an error naming the sound when it is nowhere. */
static struct sound *find_sound(lua_State *L, const char *what,
				const char *name, const char *lang)
{
	static const char *exts[] = { ".wav", ".gsm" };
	char snd_dir[PATH_SZ], rec_dir[PATH_SZ], dirs[4][PATH_SZ];
	size_t ne = has_extension(name) ? 1 : ARRAY_SIZE(exts);
	struct sound *snd = NULL;
	int err;

	if (!sound_name_ok(name))
		luaL_error(L, "%s: '%s' is not a sound name (letters, digits,"
			   " _-+. and / between folders)", what, name);

	sounds_dir(L, snd_dir, sizeof(snd_dir));
	recordings_dir(L, rec_dir, sizeof(rec_dir));
	str_ncpy(dirs[0], rec_dir, PATH_SZ);
	re_snprintf(dirs[1], PATH_SZ, "%s/%s", snd_dir, lang);
	re_snprintf(dirs[2], PATH_SZ, "%s/en", snd_dir);
	str_ncpy(dirs[3], snd_dir, PATH_SZ);

	for (size_t d = 0; d < ARRAY_SIZE(dirs); d++) {
		if (d == 2 && !strcmp(lang, "en"))
			continue;

		for (size_t e = 0; e < ne; e++) {
			char path[PATH_SZ];

			re_snprintf(path, sizeof(path), "%s/%s%s", dirs[d],
				    name, ne == 1 ? "" : exts[e]);
			if (!exists(path))
				continue;

			err = sound_load(&snd, path);
			if (err)
				luaL_error(L, "%s: cannot read sound file %s:"
					   " %s", what, path, strerror(err));
			return snd;
		}
	}

	luaL_error(L, "%s: no sound file '%s' (language %s; looked in %s/"
		   " and %s/)", what, name, lang, rec_dir, snd_dir);

	return NULL;
}


static int add_sound(lua_State *L, struct player *p, const char *what,
		     const char *name, const char *lang)
{
	struct sound *snd = find_sound(L, what, name, lang);
	int err = player_add(p, snd, 0, false);

	mem_deref(snd);

	return err;
}


/* Continuations: what an ended operation returns. */
static int push_stop(lua_State *L, enum media_end end, char digit)
{
	if (end == MEND_DIGIT) {
		lua_pushlstring(L, &digit, 1);
		lua_pushliteral(L, "digit");
	}
	else {
		lua_pushnil(L);
		lua_pushstring(L, end == MEND_NONE ? "hangup"
			       : media_end_name(end));
	}

	return 2;
}


static int push_record(lua_State *L, enum media_end end, uint64_t samples)
{
	static const char *status[] = {
		[MEND_DONE] = "DTMF", [MEND_DIGIT] = "DTMF",
		[MEND_TIMEOUT] = "TIMEOUT", [MEND_HANGUP] = "HANGUP",
		[MEND_SILENCE] = "SILENCE", [MEND_ERROR] = "ERROR",
	};

	lua_pushnumber(L, (lua_Number)samples / SOUND_RATE);
	lua_pushstring(L, end > MEND_NONE && end <= MEND_ERROR ? status[end]
		       : "HANGUP");
	lua_pushvalue(L, 2);   /* the file, kept there by l_record */

	return 3;
}


/* The operation on the leg at index 1 is over: what it returns. */
static int media_ready(lua_State *L, struct call *call, lua_KContext ctx)
{
	struct leg *leg = luart_check_leg(L, 1);
	uint64_t samples = 0;
	enum media_end end;
	char digit = 0;

	/* the leg went to another call (a redirect, the HTTP API): what
	 * this one did with it is over, whatever the leg does next */
	if (call && leg_holder(leg) != call) {
		end = MEND_STOPPED;
	}
	else {
		if (legmedia_busy(leg))
			return -1;
		end = legmedia_result(leg, &digit, &samples);
	}
	switch ((enum kind)ctx) {

	case K_RECORD:
		return push_record(L, end, samples);

	case K_SEND:
		if (end == MEND_DONE) {
			lua_pushboolean(L, 1);
			return 1;
		}
		return push_stop(L, end, 0);

	default:
		return push_stop(L, end, digit);
	}
}


/* Yield until the operation ends, or return at once if it already did
 * (or could not start: the leg hung up). */
static int wait_media(lua_State *L, int err, enum kind kind)
{
	if (err == ENOTCONN) {
		if (kind == K_RECORD)
			return push_record(L, MEND_HANGUP, 0);
		return push_stop(L, MEND_HANGUP, 0);
	}
	if (err == EBUSY)
		return luaL_error(L, "media: the leg is in a bridge (remove it"
				  " first)");
	if (err)
		return luaL_error(L, "media: %s", strerror(err));

	return luart_await(L, 0, "media", media_ready, kind);
}


/* A libre object owned by the Lua stack until handed over, so that an
 * error raised half-way (a missing file) leaks nothing. */
struct holder {
	void *obj;
};

#define HOLDER_MT "lunapbx.media.holder"


static int holder_gc(lua_State *L)
{
	struct holder *h = luaL_checkudata(L, 1, HOLDER_MT);

	h->obj = mem_deref(h->obj);

	return 0;
}


static void *hold(lua_State *L, void *obj)
{
	struct holder *h = lua_newuserdatauv(L, sizeof(*h), 0);

	h->obj = obj;
	luaL_setmetatable(L, HOLDER_MT);

	return obj;
}


static struct player *new_player(lua_State *L, bool loop)
{
	struct player *p;

	if (player_alloc(&p, loop))
		luaL_error(L, "out of memory");

	return hold(L, p);
}


/**
 * A player of the sound name or list of names at @a idx (looked up as
 * call:play does, in @a lang), held by the Lua stack (pushed); raises
 * when one is missing.  *@a samples (if given): how long it plays.
 */
struct player *luart_sounds(lua_State *L, int idx, const char *what,
			    const char *lang, uint64_t *samples)
{
	bool list = lua_istable(L, idx);
	size_t count = list ? lua_rawlen(L, idx) : 1;
	struct player *p;
	uint64_t n = 0;
	int err = 0;

	luaL_argcheck(L, lua_isstring(L, idx) || list, idx,
		      "a sound name or a list of names");
	if (count > MAX_NAMES)
		luaL_error(L, "%s: more than %d sounds", what, MAX_NAMES);
	p = new_player(L, false);

	for (size_t i = 1; i <= count && !err; i++) {
		struct sound *snd;

		if (list)
			lua_rawgeti(L, idx, (lua_Integer)i);
		else
			lua_pushvalue(L, idx);
		if (!lua_isstring(L, -1))
			luaL_error(L, "%s: item %d of the list is not a sound"
				   " name", what, (int)i);
		snd = find_sound(L, what, lua_tostring(L, -1), lang);
		n += sound_samples(snd);
		err = player_add(p, snd, 0, false);
		mem_deref(snd);
		lua_pop(L, 1);
	}
	if (err)
		luaL_error(L, "%s: %s", what, strerror(err));
	if (samples)
		*samples = n;

	return p;
}


static int l_play(lua_State *L)
{
	struct leg *leg = luart_check_own_leg(L, "play()");
	struct media_stop stop;
	struct player *p;
	const char *lang;
	int err;

	opt_table(L, 3);
	stop.digits = opt_digits(L, 3, "interrupt", NULL);
	stop.timeout_ms = opt_seconds(L, 3, "timeout");
	lang = language(L, 3);
	p = luart_sounds(L, 2, "play", lang, NULL);

	err = legmedia_play(leg, p, &stop);
	lua_settop(L, 1);   /* the player goes with its holder */

	return wait_media(L, err, K_PLAY);
}


/* A looped player of a music-on-hold class, held by the Lua stack. */
static struct player *class_player(lua_State *L, const char *cls,
				   bool random)
{
	char dir[PATH_SZ], err[256];
	enum moh_mode mode = random ? MOH_RANDOM
		: (enum moh_mode)luart_pbx(L)->set.moh_mode;
	struct player *p;

	if (moh_player(&p, sounds_dir(L, dir, sizeof(dir)), cls, mode, err,
		       sizeof(err)))
		luaL_error(L, "moh: %s", err);

	return hold(L, p);
}


static int l_moh(lua_State *L)
{
	struct leg *leg = luart_check_own_leg(L, "moh()");
	const char *cls = luaL_optstring(L, 2, "default");
	struct media_stop stop;
	struct player *p;
	bool random;
	int err;

	stop.timeout_ms = lua_isnoneornil(L, 3) ? 0
		: seconds_ms(L, 3, "seconds (0: until hangup)");
	opt_table(L, 4);
	stop.digits = opt_digits(L, 4, "interrupt", NULL);
	random = lua_type(L, 4) == LUA_TTABLE &&
		(lua_getfield(L, 4, "random"), lua_toboolean(L, -1));

	p = class_player(L, cls, random);
	err = legmedia_play(leg, p, &stop);
	lua_settop(L, 1);

	return wait_media(L, err, K_PLAY);
}


static int l_playtones(lua_State *L)
{
	struct leg *leg = luart_check_own_leg(L, "playtones()");
	const char *spec = luaL_checkstring(L, 2);
	struct media_stop stop;
	struct player *p;
	int err;

	stop.timeout_ms = lua_isnoneornil(L, 3) ? 0
		: seconds_ms(L, 3, "seconds (0: until hangup)");
	opt_table(L, 4);
	stop.digits = opt_digits(L, 4, "interrupt", NULL);

	if (player_tones(&p, spec))
		return luaL_error(L, "playtones: bad tone '%s' (Asterisk's"
				  " syntax: \"440+480/2000,0/4000\")", spec);
	hold(L, p);

	err = legmedia_play(leg, p, &stop);
	lua_settop(L, 1);

	return wait_media(L, err, K_PLAY);
}


static int l_echo(lua_State *L)
{
	struct leg *leg = luart_check_own_leg(L, "echo()");
	struct media_stop stop;
	int err;

	opt_table(L, 2);
	stop.timeout_ms = opt_seconds(L, 2, "seconds");
	stop.digits = opt_digits(L, 2, "terminator", "#");

	err = legmedia_echo(leg, &stop);
	lua_settop(L, 1);

	return wait_media(L, err, K_PLAY);
}


static int l_read_digit(lua_State *L)
{
	struct leg *leg = luart_check_own_leg(L, "read_digit()");
	uint32_t ms = lua_isnoneornil(L, 2) ? 0
		: seconds_ms(L, 2, "seconds (0: no limit)");
	int err;

	err = legmedia_read_digit(leg, ms);
	lua_settop(L, 1);

	return wait_media(L, err, K_DIGIT);
}


/* Folders of a recording path, made under the recordings folder. */
static int make_dirs(const char *root, const char *rel)
{
	char path[PATH_SZ];
	if (mkdir(root, 0750) && errno != EEXIST)
		return errno;

	for (const char *p = strchr(rel, '/'); p; p = strchr(p + 1, '/')) {
		re_snprintf(path, sizeof(path), "%s/%b", root, rel,
			    (size_t)(p - rel));
		if (mkdir(path, 0750) && errno != EEXIST)
			return errno;
	}

	return 0;
}


static enum rec_format record_format(lua_State *L, int opts,
				    const char *path)
{
	enum rec_format fmt = REC_WAV;
	const char *s = NULL;

	if (lua_type(L, opts) == LUA_TTABLE &&
	    lua_getfield(L, opts, "format") == LUA_TSTRING)
		s = lua_tostring(L, -1);
	else if (has_extension(path))
		s = strrchr(path, '.') + 1;

	if (s && rec_format_parse(s, &fmt))
		luaL_error(L, "record: format '%s': \"wav\" or \"gsm\"", s);

	return fmt;
}


static struct player *beep_player(lua_State *L, const char *lang)
{
	const char *name = "beep";
	struct player *p;

	if (lua_type(L, 3) != LUA_TTABLE)
		return NULL;

	lua_getfield(L, 3, "beep");
	if (lua_isstring(L, -1))
		name = lua_tostring(L, -1);
	else if (!lua_toboolean(L, -1))
		return NULL;

	p = new_player(L, false);
	(void)add_sound(L, p, "record: beep", name, lang);

	return p;
}


/**
 * A recorder of @a rel under the recordings folder, as call:record makes
 * them (folders made; the format from @a opts' `format`, else the name's
 * extension, else WAV), holding back @a hold samples of silence; raises
 * on error.  The file's name relative to the folder is pushed.
 */
struct recorder *luart_recorder(lua_State *L, const char *rel, int opts,
				uint32_t hold, const char *what)
{
	char root[PATH_SZ], path[PATH_SZ];
	struct recorder *rec;
	enum rec_format fmt;
	int err;

	if (!sound_name_ok(rel))
		luaL_error(L, "%s: '%s' is not a recording name (letters,"
			   " digits, _-+. and / between folders; no '..', no"
			   " leading '/')", what, rel);

	fmt = record_format(L, opts, rel);
	recordings_dir(L, root, sizeof(root));
	err = make_dirs(root, rel);
	if (err)
		luaL_error(L, "%s: cannot make folders for %s under %s: %s",
			   what, rel, root, strerror(err));

	if (has_extension(rel))
		re_snprintf(path, sizeof(path), "%s/%s", root, rel);
	else
		re_snprintf(path, sizeof(path), "%s/%s.%s", root, rel,
			    rec_format_ext(fmt));

	err = recorder_open(&rec, path, fmt, hold);
	if (err)
		luaL_error(L, "%s: cannot write %s: %s", what, path,
			   strerror(err));
	lua_pushstring(L, path + strlen(root) + 1);

	return rec;
}


static int l_record(lua_State *L)
{
	struct leg *leg = luart_check_own_leg(L, "record()");
	const char *rel = luaL_checkstring(L, 2);
	struct record_opts o;
	struct recorder *rec;
	struct player *beep;
	int err;

	opt_table(L, 3);
	o.max_ms = opt_seconds(L, 3, "max_seconds");
	o.silence_ms = opt_seconds(L, 3, "silence_seconds");
	o.terminator = opt_digits(L, 3, "terminator", "#");
	luaL_argcheck(L, o.silence_ms <= 60000, 3,
		      "silence_seconds: at most 60");
	beep = beep_player(L, language(L, 3));

	/* silence held back: the limit, plus a second for the time the
	 * check takes to see it */
	rec = luart_recorder(L, rel, 3, o.silence_ms ?
			     (o.silence_ms + 1000) * (SOUND_RATE / 1000) : 0,
			     "record");
	lua_replace(L, 2);                             /* index 2: file */

	err = legmedia_record(leg, rec, beep, &o);   /* takes rec */
	lua_settop(L, 2);

	return wait_media(L, err, K_RECORD);
}


static int l_send_dtmf(lua_State *L)
{
	struct leg *leg = luart_check_own_leg(L, "send_dtmf()");
	const char *digits = luaL_checkstring(L, 2);
	uint32_t dur = 100;
	int err;

	opt_table(L, 3);
	if (lua_type(L, 3) == LUA_TTABLE &&
	    lua_getfield(L, 3, "duration") != LUA_TNIL)
		dur = opt_seconds(L, 3, "duration");
	luaL_argcheck(L, dur >= 20 && dur <= 5000, 3,
		      "duration: 0.02 to 5 seconds");
	luaL_argcheck(L, *digits && strlen(digits) <= 32 &&
		      strspn(digits, ALL_DIGITS) == strlen(digits), 2,
		      "1 to 32 digits among " ALL_DIGITS);

	err = legmedia_send_dtmf(leg, digits, dur);
	lua_settop(L, 1);
	if (err == ENOTSUP) {
		lua_pushnil(L);
		lua_pushliteral(L, "the phone takes no RFC 4733 events");
		return 2;
	}

	return wait_media(L, err, K_SEND);
}


static int l_flush_digits(lua_State *L)
{
	legmedia_flush_digits(luart_acting_leg(L, 1));

	return 0;
}


static int l_pending_digits(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)legmedia_pending_digits(
				luart_acting_leg(L, 1)));

	return 1;
}



/* For the bench and the console: is the media clock keeping up? */
static int l_media_stats(lua_State *L)
{
	const struct mclock_stats *m = mclock_stats();
	const struct sound_cache_stats *c = sound_cache_stats();

	lua_newtable(L);
	luafield_int(L, "sources", (lua_Integer)m->sources);
	luafield_int(L, "ticks", (lua_Integer)m->ticks);
	luafield_int(L, "frames", (lua_Integer)m->frames);
	luafield_int(L, "late", (lua_Integer)m->late);
	luafield_int(L, "skipped", (lua_Integer)m->skipped);
	luafield_int(L, "max_lag_ms", (lua_Integer)m->max_lag_ms);
	luafield_int(L, "sounds_cached", (lua_Integer)c->entries);
	luafield_int(L, "sound_bytes", (lua_Integer)c->bytes);
	luafield_int(L, "sound_loads", (lua_Integer)c->loads);
	luafield_int(L, "sound_hits", (lua_Integer)c->hits);
	if (lua_toboolean(L, 1))
		mclock_reset_stats();

	return 1;
}


static int l_sounds_dir(lua_State *L)
{
	char buf[PATH_SZ];

	lua_pushstring(L, sounds_dir(L, buf, sizeof(buf)));

	return 1;
}


static int l_recordings_dir(lua_State *L)
{
	char buf[PATH_SZ];

	lua_pushstring(L, recordings_dir(L, buf, sizeof(buf)));

	return 1;
}


/* _core.delete_recording(file): a recording (its name relative to the
 * recordings folder, as call:record returns it) is removed. */
static int l_delete_recording(lua_State *L)
{
	const char *rel = luaL_checkstring(L, 1);
	char root[PATH_SZ], path[PATH_SZ];

	if (!sound_name_ok(rel))
		return luaL_error(L, "delete_recording: '%s' is not a"
				  " recording name", rel);

	re_snprintf(path, sizeof(path), "%s/%s",
		    recordings_dir(L, root, sizeof(root)), rel);
	if (unlink(path)) {
		lua_pushnil(L);
		lua_pushstring(L, strerror(errno));
		return 2;
	}
	lua_pushboolean(L, 1);

	return 1;
}


/** The media methods of `call`, and media functions into the `_core`
 *  table on the top of the stack. */
void luart_open_media(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{ "play",           l_play },
		{ "moh",            l_moh },
		{ "playtones",      l_playtones },
		{ "echo",           l_echo },
		{ "read_digit",     l_read_digit },
		{ "record",         l_record },
		{ "send_dtmf",      l_send_dtmf },
		{ "flush_digits",   l_flush_digits },
		{ "pending_digits", l_pending_digits },
		{ NULL, NULL }
	};
	static const luaL_Reg core[] = {
		{ "media_stats",    l_media_stats },
		{ "sounds_dir",     l_sounds_dir },
		{ "recordings_dir", l_recordings_dir },
		{ "delete_recording", l_delete_recording },
		{ NULL, NULL }
	};

	luaL_newmetatable(L, HOLDER_MT);
	lua_pushcfunction(L, holder_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);

	luart_leg_methods(L, methods);
	luaL_setfuncs(L, core, 0);
}
