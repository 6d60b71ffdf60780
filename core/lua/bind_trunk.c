/**
 * @file bind_trunk.c  Trunks between Lua and C.
 *
 *   _core.trunks()  -> { { name=, kind="register"|"peer", state=,
 *                          expires_in=, retry_in=, failures=, reachable=,
 *                          rtt_ms=, contacts=, last_error=, server= }, ... }
 *
 * The declarations come from lunapbx's export table: `registrations`
 * (pbx.register), `peers` (pbx.peer) and the `qualify` of `endpoints`.
 * lua/lunapbx/trunk.lua checked their types; here they become C, with the
 * checks only C can make (the register line, names declared twice).
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "pbx.h"
#include "lua/bind_trunk.h"
#include "lua/luafield.h"
#include "lua/runtime.h"
#include "lua/settings.h"
#include "sip/qualify.h"
#include "sip/treg.h"
#include "sip/trunk.h"
#include "sip/trunkcfg.h"


static const char *field_str(lua_State *L, int t, const char *key)
{
	const char *s;

	lua_getfield(L, t, key);
	s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1);   /* the table keeps the string alive */

	return s;
}


/* The value on top, popped: a whole number in [min, max], or nil (which
 * leaves *out alone). */
static int pop_uint(lua_State *L, uint32_t min, uint32_t max, uint32_t *out)
{
	lua_Integer v;
	int isint;

	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	v = lua_tointegerx(L, -1, &isint);
	lua_pop(L, 1);
	if (!isint || v < (lua_Integer)min || v > (lua_Integer)max)
		return EINVAL;

	*out = (uint32_t)v;
	return 0;
}


static int field_uint(lua_State *L, int t, const char *key, uint32_t min,
		      uint32_t max, uint32_t *out)
{
	lua_getfield(L, t, key);
	return pop_uint(L, min, max, out);
}


static int dup_field(lua_State *L, int t, const char *key, char **dst)
{
	const char *s = field_str(L, t, key);

	return s ? str_dup(dst, s) : 0;
}


/* qualify = true | ms | false, qualifyfreq = s (sip.conf's names) */
static int read_qualify(lua_State *L, int t, uint32_t *ms, uint32_t *freq)
{
	*ms = 0;
	*freq = QUALIFY_DEFAULT_FREQ;

	lua_getfield(L, t, "qualify");
	if (lua_isboolean(L, -1)) {
		*ms = lua_toboolean(L, -1) ? QUALIFY_DEFAULT_MS : 0;
		lua_pop(L, 1);
	}
	else {
		lua_pop(L, 1);
		if (field_uint(L, t, "qualify", 1, 60000, ms))
			return EINVAL;
	}

	return field_uint(L, t, "qualifyfreq", 1, 86400, freq);
}


static bool reg_named(const struct list *regs, const char *name)
{
	for (struct le *le = regs->head; le; le = le->next) {
		const struct treg_spec *s = le->data;

		if (0 == strcmp(s->name, name))
			return true;
	}
	return false;
}


static int reg_options(lua_State *L, int t, struct treg_spec *s)
{
	const char *name = field_str(L, t, "name");
	int err = 0;

	if (name)
		err = treg_spec_set_name(s, name);
	err |= field_uint(L, t, "expires", 1, 604800, &s->expires);
	err |= field_uint(L, t, "timeout", 1, 300, &s->timeout_s);

	lua_getfield(L, t, "retry");   /* { min, max } */
	if (lua_istable(L, -1)) {
		lua_rawgeti(L, -1, 1);
		err |= pop_uint(L, 1, 86400, &s->retry_min);
		lua_rawgeti(L, -1, 2);
		err |= pop_uint(L, 1, 86400, &s->retry_max);
		if (s->retry_max < s->retry_min)
			err = EINVAL;
	}
	lua_pop(L, 1);

	return err;
}


static int read_reg(lua_State *L, int t, lua_Integer i,
		    struct trunk_cfg *cfg, char *errbuf, size_t errsz)
{
	const char *line = field_str(L, t, "line");
	struct treg_spec *s = NULL;
	char why[128] = "";
	int err;

	err = treg_spec_parse(&s, line ? line : "", why, sizeof(why));
	if (err) {
		re_snprintf(errbuf, errsz, "pbx.register #%lld: %s",
			    (long long)i, why);
		return err;
	}

	if (reg_options(L, t, s)) {
		re_snprintf(errbuf, errsz, "pbx.register %s: bad name, expires"
			    " (s), timeout (s) or retry ({min, max} s)",
			    s->name);
		err = EINVAL;
	}
	else if (reg_named(&cfg->regs, s->name)) {
		re_snprintf(errbuf, errsz, "pbx.register %s declared twice"
			    " (name them apart with { name = ... })",
			    s->name);
		err = EEXIST;
	}

	if (err)
		mem_deref(s);
	else
		list_append(&cfg->regs, &s->le, s);

	return err;
}


static int peer_fields(lua_State *L, int t, struct tpeer *p)
{
	const char *host = field_str(L, t, "host");
	const char *tp = field_str(L, t, "transport");
	const char *insecure = field_str(L, t, "insecure");
	uint32_t port = 0;
	int err = 0;

	if (host && str_casecmp(host, "dynamic"))
		err |= str_dup(&p->host, host);
	err |= dup_field(L, t, "defaultuser", &p->defaultuser);
	err |= dup_field(L, t, "secret", &p->secret);
	err |= dup_field(L, t, "fromuser", &p->fromuser);
	err |= dup_field(L, t, "fromdomain", &p->fromdomain);
	err |= dup_field(L, t, "context", &p->context);
	if (err)
		return err;

	if (field_uint(L, t, "port", 1, 65535, &port) ||
	    (insecure && trunk_insecure_parse(insecure, &p->insecure)) ||
	    (tp && str_casecmp(tp, "udp") && str_casecmp(tp, "tcp")) ||
	    read_qualify(L, t, &p->qualify_ms, &p->qualify_freq))
		return EINVAL;

	p->port = (uint16_t)port;
	if (tp && !str_casecmp(tp, "tcp"))
		p->tp = SIP_TRANSP_TCP;

	return tcreds_alloc(&p->creds, p->defaultuser ? p->defaultuser
			    : p->name, p->secret);
}


static int read_peer(lua_State *L, int t, struct trunk_cfg *cfg,
		     char *errbuf, size_t errsz)
{
	const char *name = field_str(L, t, "name");
	struct tpeer *p = NULL;
	int err;

	err = tpeer_alloc(&p, name);
	if (err) {
		re_snprintf(errbuf, errsz, "pbx.peer without a name");
		return err;
	}

	for (struct le *le = cfg->peers.head; le; le = le->next) {
		if (0 == strcmp(((struct tpeer *)le->data)->name, name)) {
			re_snprintf(errbuf, errsz, "pbx.peer '%s' declared"
				    " twice", name);
			err = EEXIST;
			goto out;
		}
	}

	err = peer_fields(L, t, p);
	if (err) {
		re_snprintf(errbuf, errsz, "pbx.peer '%s': bad port,"
			    " transport, insecure or qualify", name);
		goto out;
	}
	err = settings_endpoint(L, t, &p->ep, errbuf, errsz);

 out:
	if (err)
		mem_deref(p);
	else
		list_append(&cfg->peers, &p->le, p);

	return err;
}


static int read_qual(lua_State *L, int t, struct trunk_cfg *cfg,
		     char *errbuf, size_t errsz)
{
	const char *name = field_str(L, t, "name");
	struct tqual *q = NULL;
	uint32_t ms, freq;
	int err;

	if (read_qualify(L, t, &ms, &freq)) {
		re_snprintf(errbuf, errsz, "endpoint '%s': bad qualify or"
			    " qualifyfreq", name);
		return EINVAL;
	}
	if (!ms || !name)
		return 0;

	err = tqual_alloc(&q, name, ms, freq);
	if (!err)
		list_append(&cfg->quals, &q->le, q);

	return err;
}


typedef int (read_h)(lua_State *L, int t, lua_Integer i,
		     struct trunk_cfg *cfg, char *errbuf, size_t errsz);

static int read_peer_i(lua_State *L, int t, lua_Integer i,
		       struct trunk_cfg *cfg, char *errbuf, size_t errsz)
{
	(void)i;
	return read_peer(L, t, cfg, errbuf, errsz);
}


static int read_qual_i(lua_State *L, int t, lua_Integer i,
		       struct trunk_cfg *cfg, char *errbuf, size_t errsz)
{
	(void)i;
	return read_qual(L, t, cfg, errbuf, errsz);
}


/* Each table of the array export[key], in order. */
static int read_list(lua_State *L, int idx, const char *key, read_h *h,
		     struct trunk_cfg *cfg, char *errbuf, size_t errsz)
{
	int err = 0;

	lua_getfield(L, idx, key);
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	for (lua_Integer i = 1; !err && lua_rawgeti(L, -1, i) == LUA_TTABLE;
	     i++) {
		err = h(L, lua_gettop(L), i, cfg, errbuf, errsz);
		lua_pop(L, 1);
	}
	lua_pop(L, 2);

	return err;
}


/** What the generation at @a idx declared; nothing changes here. */
int bind_trunk_config(lua_State *L, int idx, struct trunk_cfg **cfgp,
		      char *errbuf, size_t errsz)
{
	struct trunk_cfg *cfg;
	int err;

	idx = lua_absindex(L, idx);
	err = trunk_cfg_alloc(&cfg);
	if (err)
		return err;

	err = read_list(L, idx, "registrations", read_reg, cfg, errbuf,
			errsz);
	if (!err)
		err = read_list(L, idx, "peers", read_peer_i, cfg, errbuf,
				errsz);
	if (!err)
		err = read_list(L, idx, "endpoints", read_qual_i, cfg, errbuf,
				errsz);

	if (err)
		mem_deref(cfg);
	else
		*cfgp = cfg;

	return err;
}



/* Negative counts and times mean "does not apply": the field is absent. */
static void set_count(lua_State *L, const char *key, int64_t val)
{
	if (val >= 0)
		luafield_int(L, key, (lua_Integer)val);
}


struct push_ctx {
	lua_State *L;
	lua_Integer n;
};


static bool push_info(const struct trunk_info *ti, void *arg)
{
	struct push_ctx *ctx = arg;
	lua_State *L = ctx->L;

	lua_createtable(L, 0, 12);
	luafield_str(L, "name", ti->name);
	luafield_str(L, "kind", ti->kind);
	luafield_str(L, "state", ti->state);
	luafield_str(L, "last_error", ti->last_error);
	luafield_str(L, "server", ti->server);
	set_count(L, "expires_in", ti->expires_in);
	set_count(L, "retry_in", ti->retry_in);
	set_count(L, "failures", ti->failures);
	if (!strcmp(ti->kind, "peer") && !ti->server)   /* dynamic */
		set_count(L, "contacts", ti->contacts);
	if (ti->reachable >= 0)
		luafield_bool(L, "reachable", ti->reachable);
	if (ti->reachable > 0 && !strcmp(ti->kind, "peer"))
		set_count(L, "rtt_ms", ti->rtt_ms);

	lua_rawseti(L, -2, ++ctx->n);

	return false;
}


static int l_trunks(lua_State *L)
{
	struct push_ctx ctx = { L, 0 };

	lua_newtable(L);
	trunks_list(luart_pbx(L)->trunks, push_info,
		    &ctx);

	return 1;
}


/** Adds the trunk functions to the `_core` table on top of the stack. */
void luart_open_trunks(lua_State *L)
{
	lua_pushcfunction(L, l_trunks);
	lua_setfield(L, -2, "trunks");
}
