/**
 * @file luaapp.c  What the configuration serves over HTTP: the paths of
 * pbx.http.route and the commands of pbx.command, found in the generation
 * in force and run as runs of their own (under the instruction limit;
 * they cannot wait).
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "log.h"
#include "pbx.h"
#include "http/httpd.h"
#include "lua/luajson.h"
#include "lua/runtime.h"


/* gen[field][key] on top of the stack if a function: true. */
static bool push_fn(lua_State *L, struct luart *rt, const char *field,
		    const char *key)
{
	int top = lua_gettop(L);

	luart_push_generation(rt, L);
	if (lua_istable(L, -1) && lua_getfield(L, -1, field) == LUA_TTABLE &&
	    lua_getfield(L, -1, key) == LUA_TFUNCTION) {
		lua_replace(L, top + 1);
		lua_settop(L, top + 1);
		return true;
	}

	lua_settop(L, top);
	return false;
}


static void push_pl(lua_State *L, const struct pl *pl)
{
	lua_pushlstring(L, pl->p ? pl->p : "", pl->l);
}


/* ?a=1&b=2: { a = "1", b = "2" } (as sent: no %-decoding) */
static void push_query(lua_State *L, const struct pl *prm)
{
	const char *p = prm->p, *end = prm->p + prm->l;

	lua_newtable(L);
	while (p && p < end) {
		const char *e, *eq;

		if (*p == '?' || *p == '&') {
			++p;
			continue;
		}
		e = memchr(p, '&', (size_t)(end - p));
		if (!e)
			e = end;
		eq = memchr(p, '=', (size_t)(e - p));
		if (eq) {
			lua_pushlstring(L, p, (size_t)(eq - p));
			lua_pushlstring(L, eq + 1, (size_t)(e - eq - 1));
		}
		else {
			lua_pushlstring(L, p, (size_t)(e - p));
			lua_pushliteral(L, "");
		}
		lua_rawset(L, -3);
		p = e;
	}
}


static void push_request(lua_State *L, const struct http_msg *msg,
			 const char *who)
{
	lua_createtable(L, 0, 7);
	push_pl(L, &msg->met);
	lua_setfield(L, -2, "method");
	push_pl(L, &msg->path);
	lua_setfield(L, -2, "path");
	push_query(L, &msg->prm);
	lua_setfield(L, -2, "query");
	lua_pushlstring(L, msg->mb ? (const char *)mbuf_buf(msg->mb) : "",
			msg->mb ? mbuf_get_left(msg->mb) : 0);
	lua_setfield(L, -2, "body");
	lua_pushstring(L, who);
	lua_setfield(L, -2, "token");

	lua_newtable(L);   /* headers, by their lower-case names */
	for (struct le *le = msg->hdrl.head; le; le = le->next) {
		const struct http_hdr *h = le->data;
		char name[64];

		if (h->name.l >= sizeof(name))
			continue;
		for (size_t i = 0; i < h->name.l; i++) {
			char ch = h->name.p[i];

			name[i] = (ch >= 'A' && ch <= 'Z') ? ch + 32 : ch;
		}
		name[h->name.l] = 0;
		push_pl(L, &h->val);
		lua_setfield(L, -2, name);
	}
	lua_setfield(L, -2, "headers");
}


static void reply_text(struct http_conn *conn, uint16_t scode,
		       const char *s)
{
	(void)httpd_reply(conn, scode, "text/plain; charset=utf-8", s,
			  strlen(s));
}


/* status, body [, content_type] on top of the stack */
static void reply_results(lua_State *L, struct http_conn *conn,
			  const char *path)
{
	lua_Integer scode = 200;
	const char *ctype = lua_tostring(L, -1);
	int isnum;

	if (!lua_isnil(L, -3)) {
		scode = lua_tointegerx(L, -3, &isnum);
		if (!isnum || scode < 100 || scode > 599) {
			log_warn("http: %s: the status is not 100-599", path);
			reply_text(conn, 500, "the handler's status is not"
				   " 100-599\n");
			return;
		}
	}

	if (lua_istable(L, -2)) {
		struct odict *o = NULL;
		char err[128];

		if (luajson_to_odict(L, -2, &o, err, sizeof(err))) {
			log_warn("http: %s: %s", path, err);
			reply_text(conn, 500, "the handler's table is not"
				   " JSON\n");
			return;
		}
		(void)httpd_reply_json(conn, (uint16_t)scode, o);
		mem_deref(o);
		return;
	}

	if (!lua_isstring(L, -2) && !lua_isnil(L, -2)) {
		log_warn("http: %s: the body is a %s", path,
			 luaL_typename(L, -2));
		reply_text(conn, 500, "the handler's body is not a string\n");
		return;
	}

	{
		size_t len = 0;
		const char *body = lua_tolstring(L, -2, &len);

		(void)httpd_reply(conn, (uint16_t)scode, ctype ? ctype :
				  "text/plain; charset=utf-8", body ? body : "",
				  len);
	}
}


/** A path of pbx.http.route: answered (true), or not one (false). */
bool luaapp_route(struct pbx *pbx, struct http_conn *conn,
		  const struct http_msg *msg, const char *who)
{
	lua_State *L = luart_state(pbx->lua);
	char path[256];
	int top;

	if (!L || pl_strcpy(&msg->path, path, sizeof(path)))
		return false;

	top = lua_gettop(L);
	if (!push_fn(L, pbx->lua, "routes", path))
		return false;

	push_request(L, msg, who);
	if (luart_pcall(pbx->lua, 1, 3) != LUA_OK) {
		log_warn("http: %s: %s", path, lua_tostring(L, -1));
		reply_text(conn, 500, "the handler failed (see the PBX's"
			   " log)\n");
	}
	else {
		reply_results(L, conn, path);
	}
	lua_settop(L, top);

	return true;
}


/**
 * A command of pbx.command: its function gets the command as a table and
 * returns a result (a table: "result" of the reply) or nil and why.
 */
uint16_t luaapp_command(struct pbx *pbx, const char *action,
			const struct odict *cmd, struct odict *reply)
{
	lua_State *L = luart_state(pbx->lua);
	char err[160];
	uint16_t scode = 200;
	int top;

	if (!L)
		return 503;

	top = lua_gettop(L);
	if (!push_fn(L, pbx->lua, "commands", action)) {
		re_snprintf(err, sizeof(err), "no command '%s'", action);
		(void)odict_entry_add(reply, "error", ODICT_STRING, err);
		return 404;
	}

	luajson_push(L, cmd);
	if (luart_pcall(pbx->lua, 1, 2) != LUA_OK) {
		log_warn("http: command %s: %s", action, lua_tostring(L, -1));
		(void)odict_entry_add(reply, "error", ODICT_STRING,
				      "the command failed (see the PBX's"
				      " log)");
		scode = 500;
	}
	else if (lua_isnil(L, -2) || (lua_isboolean(L, -2) &&
					!lua_toboolean(L, -2))) {
		(void)odict_entry_add(reply, "error", ODICT_STRING,
				      lua_isstring(L, -1) ? lua_tostring(L, -1)
				      : "refused");
		scode = 409;
	}
	else if (luajson_add(L, -2, reply, "result", err, sizeof(err))) {
		(void)odict_entry_add(reply, "error", ODICT_STRING, err);
		scode = 500;
	}
	lua_settop(L, top);

	return scode;
}
