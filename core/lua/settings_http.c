/**
 * @file settings_http.c  pbx.settings{ http = { ... } }: the HTTP server
 * of events, commands and metrics (core/http/).  Off unless configured,
 * as Asterisk's HTTP server and AMI are; on loopback unless told.
 *
 *   http = { listen = "127.0.0.1:8088", tokens = { name = "secret" },
 *            tls_cert = "/etc/lunapbx/https.pem", queue_kb = 256 }
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "lua/settings.h"

enum { MIN_SECRET = 12, DEFAULT_PORT = 8088, DEFAULT_QUEUE_KB = 256 };


static int fail(char *errbuf, size_t errsz, const char *what)
{
	re_snprintf(errbuf, errsz, "http: %s", what);
	return EINVAL;
}


static bool secret_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < MIN_SECRET || n >= sizeof(((struct pbx_http *)0)->tokens[0]
					  .secret))
		return false;
	for (size_t i = 0; i < n; i++) {   /* as is in a URL and a header */
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("-._~", c)))
			return false;
	}

	return true;
}


static int read_tokens(lua_State *L, int t, struct pbx_http *h,
		       char *errbuf, size_t errsz)
{
	size_t n = 0;

	lua_getfield(L, t, "tokens");
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		return fail(errbuf, errsz, "tokens = { name = \"secret\" } is"
			    " needed (every request shows one)");
	}

	lua_pushnil(L);
	while (lua_next(L, -2)) {
		if (lua_type(L, -2) != LUA_TSTRING ||
		    lua_type(L, -1) != LUA_TSTRING ||
		    !secret_ok(lua_tostring(L, -1)) ||
		    n >= PBX_HTTP_TOKENS) {
			lua_pop(L, 3);
			return fail(errbuf, errsz, "tokens: at most 8, each"
				    " name = \"secret\", a secret of 12 to 127"
				    " letters, digits or -._~");
		}
		str_ncpy(h->tokens[n].name, lua_tostring(L, -2),
			 sizeof(h->tokens[n].name));
		str_ncpy(h->tokens[n].secret, lua_tostring(L, -1),
			 sizeof(h->tokens[n].secret));
		++n;
		lua_pop(L, 1);
	}
	lua_pop(L, 1);

	return n ? 0 : fail(errbuf, errsz, "tokens: none given");
}


/** Read the http table of the settings at @a t into @a h (cleared when
 *  there is none: the server stops). */
int settings_http(lua_State *L, int t, struct pbx_http *h, char *errbuf,
		  size_t errsz)
{
	const char *s;
	int top = lua_gettop(L), err = 0;

	memset(h, 0, sizeof(*h));
	lua_getfield(L, t, "http");
	if (lua_isnil(L, -1))
		goto out;
	if (!lua_istable(L, -1)) {
		err = fail(errbuf, errsz, "a table is expected");
		goto out;
	}
	t = lua_gettop(L);

	lua_getfield(L, t, "listen");
	s = lua_tostring(L, -1);
	if (!s)
		(void)sa_set_str(&h->addr, "127.0.0.1", DEFAULT_PORT);
	else if (sa_decode(&h->addr, s, strlen(s)) || !sa_port(&h->addr)) {
		err = fail(errbuf, errsz, "listen: not ADDR:PORT");
		goto out;
	}

	lua_getfield(L, t, "tls_cert");
	if (lua_isstring(L, -1))
		str_ncpy(h->cert, lua_tostring(L, -1), sizeof(h->cert));

	lua_getfield(L, t, "queue_kb");
	h->queue_kb = (uint32_t)luaL_optinteger(L, -1, DEFAULT_QUEUE_KB);
	if (h->queue_kb < 4 || h->queue_kb > 65536) {
		err = fail(errbuf, errsz, "queue_kb: from 4 to 65536");
		goto out;
	}

	err = read_tokens(L, t, h, errbuf, errsz);

 out:
	lua_settop(L, top);
	if (err)
		memset(h, 0, sizeof(*h));

	return err;
}
