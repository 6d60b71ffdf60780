/**
 * @file secsettings.c  The security settings (see secsettings.h).  A
 * configuration that leaves the security table out gets the defaults
 * again at each (re)load: removing a line restores its default.
 */
#include <string.h>
#include <sys/resource.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "lua/secsettings.h"
#include "security/acl.h"
#include "sip/endpoint.h"

enum { FDS_PER_CALL = 4, FDS_SPARE = 64 };

static const struct num_key {
	const char *name;
	size_t off;
	uint32_t max;
} num_keys[] = {
	{"auth_failures", offsetof(struct sec_settings, fail_limit), 1000000},
	{"auth_window", offsetof(struct sec_settings, fail_window), 86400},
	{"ban_seconds", offsetof(struct sec_settings, ban_time), 31536000},
	{"request_rate", offsetof(struct sec_settings, rate), 1000000},
	{"request_burst", offsetof(struct sec_settings, burst), 1000000},
	{"max_calls", offsetof(struct sec_settings, max_calls), 10000000},
};

static const char *list_keys[] = {"trusted", "guest_permit", "guest_deny"};


/* A bridged call holds 4 descriptors: the open-files limit decides how
 * many calls can be set up at all; past it, refuse cleanly. */
static uint32_t auto_max_calls(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur <= FDS_SPARE + FDS_PER_CALL)
		return 0;

	return (uint32_t)((rl.rlim_cur - FDS_SPARE) / FDS_PER_CALL);
}


void secsettings_defaults(struct sec_settings *sec)
{
	memset(sec, 0, sizeof(*sec));
	sec->fail_limit = 10;
	sec->fail_window = 60;
	sec->ban_time = 600;
	sec->rate = 100;
	sec->burst = 0;
	sec->max_calls = auto_max_calls();
	str_ncpy(sec->log, "security.log", sizeof(sec->log));
}


/* A string or a list of strings, each a rule for @a acl. */
static int add_rules(lua_State *L, int idx, const char *what, bool permit,
		     struct acl **aclp, char *errbuf, size_t errsz)
{
	int n, err = 0;

	if (lua_isnil(L, idx))
		return 0;
	if (!*aclp && (err = acl_alloc(aclp)))
		return err;

	if (lua_type(L, idx) == LUA_TSTRING) {
		err = acl_add(*aclp, permit, lua_tostring(L, idx));
		if (err)
			re_snprintf(errbuf, errsz, "%s: '%s' is not an address"
				    " or ADDR/BITS or ADDR/MASK", what,
				    lua_tostring(L, idx));
		return err;
	}
	if (lua_type(L, idx) != LUA_TTABLE) {
		re_snprintf(errbuf, errsz, "%s: a string or a list of"
			    " strings", what);
		return EINVAL;
	}

	n = (int)lua_rawlen(L, idx);
	for (int i = 1; !err && i <= n; i++) {
		lua_rawgeti(L, idx, i);
		if (lua_type(L, -1) != LUA_TSTRING ||
		    acl_add(*aclp, permit, lua_tostring(L, -1))) {
			re_snprintf(errbuf, errsz, "%s[%d]: '%s' is not an"
				    " address or ADDR/BITS or ADDR/MASK", what,
				    i, luaL_tolstring(L, -1, NULL));
			lua_pop(L, 1);
			err = EINVAL;
		}
		lua_pop(L, 1);
	}

	return err;
}


static int read_number(lua_State *L, int idx, const struct num_key *k,
		       struct sec_settings *sec, char *errbuf, size_t errsz)
{
	lua_Integer v;
	int isint;

	v = lua_tointegerx(L, idx, &isint);
	if (!isint || v < 0 || v > (lua_Integer)k->max) {
		re_snprintf(errbuf, errsz, "security.%s: a whole number from"
			    " 0 to %u", k->name, k->max);
		return EINVAL;
	}
	*(uint32_t *)(void *)((char *)sec + k->off) = (uint32_t)v;

	return 0;
}


static int read_log(lua_State *L, int idx, struct sec_settings *sec,
		    char *errbuf, size_t errsz)
{
	const char *s;

	if (lua_type(L, idx) == LUA_TBOOLEAN && !lua_toboolean(L, idx)) {
		sec->log[0] = '\0';
		return 0;
	}
	s = lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : NULL;
	if (!s || !*s || strlen(s) >= sizeof(sec->log)) {
		re_snprintf(errbuf, errsz, "security.log: a file name (in the"
			    " state folder unless absolute) or false");
		return EINVAL;
	}
	str_ncpy(sec->log, s, sizeof(sec->log));

	return 0;
}


/* One key of the security table (key at -2, value at -1). */
static int read_key(lua_State *L, struct sec_settings *sec,
		    struct acl **trusted, struct acl **guest, char *errbuf,
		    size_t errsz)
{
	const char *key = lua_type(L, -2) == LUA_TSTRING
		? lua_tostring(L, -2) : "?";

	for (size_t i = 0; i < ARRAY_SIZE(num_keys); i++) {
		if (0 == strcmp(key, num_keys[i].name))
			return read_number(L, lua_gettop(L), &num_keys[i],
					   sec, errbuf, errsz);
	}
	if (0 == strcmp(key, "log"))
		return read_log(L, lua_gettop(L), sec, errbuf, errsz);
	if (0 == strcmp(key, list_keys[0]))
		return add_rules(L, lua_gettop(L), "security.trusted", true,
				 trusted, errbuf, errsz);
	if (0 == strcmp(key, list_keys[1]))
		return add_rules(L, lua_gettop(L), "security.guest_permit",
				 true, guest, errbuf, errsz);
	if (0 == strcmp(key, list_keys[2]))
		return add_rules(L, lua_gettop(L), "security.guest_deny",
				 false, guest, errbuf, errsz);

	re_snprintf(errbuf, errsz, "security: unknown setting '%s'", key);
	return EINVAL;
}


/**
 * The security settings of the settings table at @a settings: defaults,
 * then what the table says.  The address lists are new objects (NULL
 * when empty), the caller's on success.
 */
int secsettings_read(lua_State *L, int settings, struct sec_settings *sec,
		     struct acl **trusted, struct acl **guest,
		     char *errbuf, size_t errsz)
{
	int t, err = 0;

	secsettings_defaults(sec);
	*trusted = *guest = NULL;

	lua_getfield(L, settings, "security");
	t = lua_gettop(L);
	if (lua_isnil(L, t)) {
		lua_pop(L, 1);
		return 0;
	}

	lua_pushnil(L);
	while (!err && lua_next(L, t)) {
		err = read_key(L, sec, trusted, guest, errbuf, errsz);
		lua_pop(L, 1);
	}
	if (err)
		lua_pop(L, 1);          /* the key lua_next left */
	lua_pop(L, 1);

	if (err) {
		*trusted = mem_deref(*trusted);
		*guest = mem_deref(*guest);
	}

	return err;
}


/** An endpoint's permit, deny and call_limit. */
int secsettings_endpoint(lua_State *L, int t, struct endpoint *ep,
			 char *errbuf, size_t errsz)
{
	char what[96];
	int err = 0;

	for (int permit = 1; !err && permit >= 0; permit--) {
		const char *key = permit ? "permit" : "deny";

		re_snprintf(what, sizeof(what), "endpoint '%s': %s", ep->name,
			    key);
		lua_getfield(L, t, key);
		err = add_rules(L, lua_gettop(L), what, permit, &ep->acl,
				errbuf, errsz);
		lua_pop(L, 1);
	}
	if (err)
		return err;

	lua_getfield(L, t, "call_limit");
	if (!lua_isnil(L, -1)) {
		lua_Integer v;
		int isint;

		v = lua_tointegerx(L, -1, &isint);
		if (!isint || v < 0 || v > 100000) {
			re_snprintf(errbuf, errsz, "endpoint '%s': call_limit:"
				    " a whole number from 0 (no limit) to"
				    " 100000", ep->name);
			err = EINVAL;
		}
		else {
			ep->call_limit = (uint32_t)v;
		}
	}
	lua_pop(L, 1);

	return err;
}
