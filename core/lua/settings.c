/**
 * @file settings.c  Apply what a configuration declared.  Everything is
 * checked before anything changes, so a bad reload leaves no trace.
 */
#include <string.h>
#include <re.h>
#include <lauxlib.h>
#include "log.h"
#include "pbx.h"
#include "lua/bind_trunk.h"
#include "lua/runtime.h"
#include "lua/secsettings.h"
#include "lua/settings.h"
#include "call/blf.h"
#include "media/codec.h"
#include "media/dtmf.h"
#include "media/moh.h"
#include "sip/endpoint.h"
#include "sip/registrar.h"
#include "sip/sipsec.h"
#include "sip/sipstack.h"
#include "sip/trunk.h"
#include "voicemail/mwi.h"
#include "cdr/cdr.h"

static const char *opt_string(lua_State *L, int t, const char *key)
{
	const char *s;

	lua_getfield(L, t, key);
	s = lua_isstring(L, -1) ? lua_tostring(L, -1) : NULL;
	lua_pop(L, 1);   /* the table still holds the string */

	return s;
}


/** '"Amine" <100>' or 'Amine <100>' or '100'. */
int settings_parse_callerid(const char *s, char **name, char **num)
{
	struct pl pname, pnum;
	int err = 0;

	*name = *num = NULL;
	if (!s)
		return 0;

	if (0 == re_regex(s, strlen(s), "[ \t]*\"[^\"]*\"[ \t]*<[^>]+>",
			  NULL, &pname, NULL, &pnum) ||
	    0 == re_regex(s, strlen(s), "[ \t]*[^<]*<[^>]+>",
			  NULL, &pname, &pnum)) {
		while (pname.l && (pname.p[pname.l - 1] == ' '))
			--pname.l;
		if (pname.l)
			err |= pl_strdup(name, &pname);
		err |= pl_strdup(num, &pnum);
	}
	else {
		err = str_dup(num, s);
	}

	return err;
}


static int set_codecs(lua_State *L, int t, struct endpoint *ep, char *errbuf,
		      size_t errsz)
{
	size_t n;

	lua_getfield(L, t, "allow");
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}

	n = lua_rawlen(L, -1);
	ep->codecs = 0;
	memset(ep->codec_order, CODEC_NONE, sizeof(ep->codec_order));
	for (size_t i = 1; i <= n && i < ARRAY_SIZE(ep->codec_order); i++) {
		const struct codec *c;

		lua_rawgeti(L, -1, (lua_Integer)i);
		c = codec_find(lua_tostring(L, -1), 0);
		if (!c) {
			re_snprintf(errbuf, errsz, "endpoint '%s': unknown"
				    " codec '%s' (lunapbx speaks PCMU, PCMA)",
				    ep->name, lua_tostring(L, -1));
			lua_pop(L, 2);
			return EINVAL;
		}
		lua_pop(L, 1);
		ep->codecs |= CODEC_MASK(c->id);
		ep->codec_order[i - 1] = (uint8_t)c->id;
	}
	lua_pop(L, 1);

	if (!ep->codecs) {
		re_snprintf(errbuf, errsz, "endpoint '%s': empty allow list",
			    ep->name);
		return EINVAL;
	}

	return 0;
}


static int set_dtmf(lua_State *L, int t, struct endpoint *ep, char *errbuf,
		    size_t errsz)
{
	const char *s = opt_string(L, t, "dtmf");
	enum dtmf_mode mode = DTMF_AUTO;

	if (s && dtmf_mode_parse(s, &mode)) {
		re_snprintf(errbuf, errsz, "endpoint '%s': dtmf = '%s': use"
			    " \"auto\", \"rfc4733\", \"info\" or"
			    " \"inband\"", ep->name, s);
		return EINVAL;
	}
	ep->dtmf = (uint8_t)mode;

	return 0;
}


static int endpoint_from_lua(lua_State *L, int t, struct endpoint **epp,
			     char *errbuf, size_t errsz)
{
	struct endpoint *ep;
	const char *name = opt_string(L, t, "name");
	int err;

	err = endpoint_alloc(&ep, name);
	if (err) {
		re_snprintf(errbuf, errsz, "endpoint without a name");
		return err;
	}

	err = 0;
	if (opt_string(L, t, "secret"))   /* a trunk peer may have none */
		err = str_dup(&ep->secret, opt_string(L, t, "secret"));
	err |= str_dup(&ep->context, opt_string(L, t, "context"));
	err |= settings_parse_callerid(opt_string(L, t, "callerid"),
				       &ep->cid_name, &ep->cid_num);
	if (!err)
		err = set_codecs(L, t, ep, errbuf, errsz);
	if (!err)
		err = set_dtmf(L, t, ep, errbuf, errsz);
	if (!err)
		err = secsettings_endpoint(L, t, ep, errbuf, errsz);
	if (!err && opt_string(L, t, "moh"))
		err = str_dup(&ep->moh, opt_string(L, t, "moh"));
	/* groups come normalised by lunapbx/init.lua: "1,3,sales" */
	if (!err && opt_string(L, t, "callgroup"))
		err = str_dup(&ep->callgroup, opt_string(L, t, "callgroup"));
	if (!err && opt_string(L, t, "pickupgroup"))
		err = str_dup(&ep->pickupgroup,
			      opt_string(L, t, "pickupgroup"));
	lua_getfield(L, t, "allow_transfer");
	ep->no_transfer = lua_isboolean(L, -1) && !lua_toboolean(L, -1);
	lua_pop(L, 1);
	ep->hold_passthrough = opt_string(L, t, "hold") &&
		0 == strcmp(opt_string(L, t, "hold"), "passthrough");

	if (err)
		mem_deref(ep);
	else
		*epp = ep;

	return err;
}


/** An endpoint from a Lua table of the same shape (a trunk's peer). */
int settings_endpoint(lua_State *L, int t, struct endpoint **epp,
		      char *errbuf, size_t errsz)
{
	return endpoint_from_lua(L, t, epp, errbuf, errsz);
}


static int build_endpoints(lua_State *L, int t, struct endpoint_table **tp,
			   char *errbuf, size_t errsz)
{
	struct endpoint_table *tbl;
	int err;

	err = endpoint_table_alloc(&tbl);
	if (err)
		return err;

	lua_getfield(L, t, "endpoints");
	for (lua_Integer i = 1; !err && lua_rawgeti(L, -1, i) == LUA_TTABLE;
	     i++) {
		struct endpoint *ep = NULL;

		err = endpoint_from_lua(L, lua_gettop(L), &ep, errbuf, errsz);
		if (!err && endpoint_table_add(tbl, ep)) {
			re_snprintf(errbuf, errsz, "endpoint '%s' declared"
				    " twice", ep->name);
			mem_deref(ep);
			err = EEXIST;
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 2);

	if (err)
		mem_deref(tbl);
	else
		*tp = tbl;

	return err;
}


/* hints = { ["6002"] = { "xlite" }, ["701"] = {} }: BLF resources. */
static int build_hints(lua_State *L, int t, struct blf_hints **hp,
		       char *errbuf, size_t errsz)
{
	struct blf_hints *h;
	int err;

	err = blf_hints_alloc(&h);
	if (err)
		return err;

	lua_getfield(L, t, "hints");
	if (!lua_istable(L, -1)) {
		lua_pop(L, 1);
		*hp = h;
		return 0;
	}

	lua_pushnil(L);
	while (!err && lua_next(L, -2)) {
		const char *eps[16];
		const char *res = lua_tostring(L, -2);
		size_t n = 0;

		if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1)) {
			re_snprintf(errbuf, errsz, "hint: a name and a list"
				    " of endpoints");
			err = EINVAL;
			lua_pop(L, 1);
			break;
		}
		for (lua_Integer i = 1; n < ARRAY_SIZE(eps) &&
			     lua_rawgeti(L, -1, i) == LUA_TSTRING; i++) {
			eps[n++] = lua_tostring(L, -1);
			lua_pop(L, 1);   /* the list still holds it */
		}
		lua_pop(L, 1);
		err = blf_hints_add(h, res, eps, n);
		if (err)
			re_snprintf(errbuf, errsz, "hint '%s': %s", res,
				    err == EEXIST ? "declared twice"
				    : "a bad name");
		lua_pop(L, 1);
	}
	if (err)
		lua_pop(L, 1);   /* the key lua_next left */
	lua_pop(L, 1);

	if (err)
		mem_deref(h);
	else
		*hp = h;

	return err;
}


static int parse_ports(const char *s, uint16_t *min, uint16_t *max)
{
	struct pl a, b;

	if (re_regex(s, strlen(s), "[0-9]+-[0-9]+", &a, &b))
		return EINVAL;

	*min = (uint16_t)pl_u32(&a);
	*max = (uint16_t)pl_u32(&b);

	return *min >= 1024 && *max > *min + 2 ? 0 : EINVAL;
}


/* A whole number of megabytes in [min, 65536]; absent keeps *mb. */
static int opt_mb(lua_State *L, int t, const char *key, uint32_t min,
		  uint32_t *mb, char *errbuf, size_t errsz)
{
	lua_Integer v;
	int isint;

	lua_getfield(L, t, key);
	v = lua_tointegerx(L, -1, &isint);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		return 0;
	}
	lua_pop(L, 1);

	if (!isint || v < (lua_Integer)min || v > 65536) {
		re_snprintf(errbuf, errsz, "%s: a whole number of MB from %u"
			    " to 65536", key, min);
		return EINVAL;
	}
	*mb = (uint32_t)v;

	return 0;
}


/* Whole seconds, 0 (off) to a day; @a dflt when absent. */
static uint32_t opt_seconds(lua_State *L, int t, const char *key,
			    uint32_t dflt)
{
	lua_Number v;

	lua_getfield(L, t, key);
	v = lua_isnumber(L, -1) ? lua_tonumber(L, -1) : dflt;
	lua_pop(L, 1);

	return v < 0 ? 0 : v > 86400 ? 86400 : (uint32_t)v;
}


/* moh_mode: "stream" (one stream per class, every listener hears it),
 * "files" (each caller its own, from the first file) or "random" (its own,
 * from a random file). */
static int settings_moh_mode(lua_State *L, int t, int *mode, char *errbuf,
			     size_t errsz)
{
	static const char *names[] = { "stream", "files", "random" };
	const char *s = opt_string(L, t, "moh_mode");

	*mode = MOH_STREAM;
	if (!s)
		return 0;
	for (int i = 0; i < (int)ARRAY_SIZE(names); i++) {
		if (0 == strcmp(s, names[i])) {
			*mode = i;
			return 0;
		}
	}
	re_snprintf(errbuf, errsz, "moh_mode: '%s' is not stream, files or"
		    " random", s);

	return EINVAL;
}


/* Settings that need the sockets to be re-made apply at start only. */
static int read_settings(lua_State *L, int t, struct pbx_settings *set,
			 enum log_level *level, bool initial, char *errbuf,
			 size_t errsz)
{
	const char *s;

	lua_getfield(L, t, "settings");
	t = lua_gettop(L);

	if ((s = opt_string(L, t, "realm")))
		str_ncpy(set->realm, s, sizeof(set->realm));
	if ((s = opt_string(L, t, "guest_context")))
		str_ncpy(set->guest_context, s, sizeof(set->guest_context));
	if ((s = opt_string(L, t, "log_level")) &&
	    log_level_parse(s, level)) {
		re_snprintf(errbuf, errsz, "log_level: '%s' is not error, warn,"
			    " info or debug", s);
		goto fail;
	}
	if ((s = opt_string(L, t, "sounds")))
		str_ncpy(set->sounds_dir, s, sizeof(set->sounds_dir));
	if (opt_mb(L, t, "lua_memory_mb", 16, &set->lua_mem_mb, errbuf,
		   errsz) ||
	    opt_mb(L, t, "call_memory_mb", 0, &set->call_mem_mb, errbuf,
		   errsz))
		goto fail;
	lua_getfield(L, t, "reload_on_change");
	set->reload_on_change = lua_toboolean(L, -1);
	lua_pop(L, 1);
	set->rtp_timeout = opt_seconds(L, t, "rtp_timeout", 60);
	set->rtp_hold_timeout = opt_seconds(L, t, "rtp_hold_timeout", 0);
	set->session_expires = opt_seconds(L, t, "session_expires", 1800);
	set->session_min_se = opt_seconds(L, t, "session_min_se", 90);
	lua_getfield(L, t, "cdr_csv");
	set->cdr_csv = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (set->session_min_se < 90)   /* RFC 4028 4: never below 90 s */
		set->session_min_se = 90;
	if (set->session_expires && set->session_expires < set->session_min_se)
		set->session_expires = set->session_min_se;

	if (settings_moh_mode(L, t, &set->moh_mode, errbuf, errsz))
		goto fail;
	if (settings_http(L, t, &set->http, errbuf, errsz))
		goto fail;

	if (initial && (s = opt_string(L, t, "listen")) &&
	    sa_decode(&set->sip_addr, s, strlen(s))) {
		re_snprintf(errbuf, errsz, "listen: '%s' is not ADDR:PORT", s);
		goto fail;
	}
	if (initial && (s = opt_string(L, t, "media_address")) &&
	    sa_set_str(&set->media_addr, s, 0)) {
		re_snprintf(errbuf, errsz, "media_address: bad '%s'", s);
		goto fail;
	}
	if (initial && (s = opt_string(L, t, "rtp_ports")) &&
	    parse_ports(s, &set->rtp_min, &set->rtp_max)) {
		re_snprintf(errbuf, errsz, "rtp_ports: '%s' is not MIN-MAX"
			    " (1024-65535)", s);
		goto fail;
	}

	lua_pop(L, 1);
	return 0;

 fail:
	lua_pop(L, 1);
	return EINVAL;
}


static bool drop_if_gone(const char *name, const struct list *contacts,
			 void *arg)
{
	struct pbx *pbx = arg;
	(void)contacts;

	if (!endpoint_table_find_str(pbx->endpoints, name)) {
		log_info("reload: endpoint %s is gone: its contacts too",
			 name);
		registrar_remove(pbx->registrar, name);
		return true;   /* the hash changed: stop walking it */
	}

	return false;
}


int settings_apply(lua_State *L, int idx, struct pbx *pbx, bool initial,
		   char *errbuf, size_t errsz)
{
	struct pbx_settings set = pbx->set;
	struct endpoint_table *tbl = NULL;
	enum log_level level = log_level();
	struct acl *trusted = NULL, *guest = NULL;
	struct trunk_cfg *tcfg = NULL;
	struct hash *boxes = NULL;
	struct blf_hints *hints = NULL;
	int err;

	err = read_settings(L, idx, &set, &level, initial, errbuf, errsz);
	if (!err) {
		lua_getfield(L, idx, "settings");
		err = secsettings_read(L, lua_gettop(L), &set.sec, &trusted,
				       &guest, errbuf, errsz);
		lua_pop(L, 1);
	}
	if (!err)
		err = build_endpoints(L, idx, &tbl, errbuf, errsz);
	if (!err)
		err = build_hints(L, idx, &hints, errbuf, errsz);
	if (!err)
		err = bind_vm_config(L, idx, &boxes, errbuf, errsz);
	if (!err)
		err = bind_trunk_config(L, idx, &tcfg, errbuf, errsz);
	if (err) {
		mem_deref(tbl);
		mem_deref(hints);
		if (boxes)
			hash_flush(boxes);
		mem_deref(boxes);
		mem_deref(trusted);
		mem_deref(guest);
		return err;
	}

	pbx->set = set;
	if (pbx->mwi)
		mwi_set_boxes(pbx->mwi, boxes);
	else if (boxes) {
		hash_flush(boxes);
		mem_deref(boxes);
	}
	blf_set_hints(pbx->blf, hints);   /* taken over */
	mem_deref(pbx->sec_trusted);
	pbx->sec_trusted = trusted;
	mem_deref(pbx->guest_acl);
	pbx->guest_acl = guest;
	sipsec_configure(sipstack_sec(pbx->stack));
	if (!pbx->verbose)
		log_set_level(level);
	mem_deref(pbx->endpoints);
	pbx->endpoints = tbl;
	if (pbx->cdr) {
		char csv[512];

		re_snprintf(csv, sizeof(csv), "%s/cdr-csv/Master.csv",
			    pbx->state_dir);
		if (cdr_set_csv(pbx->cdr, set.cdr_csv ? csv : NULL))
			log_warn("cdr: no CSV file: out of memory");
	}

	if (pbx->registrar) {
		uint32_t before;

		do {
			before = registrar_count(pbx->registrar);
			registrar_apply(pbx->registrar, drop_if_gone, pbx);
		} while (registrar_count(pbx->registrar) != before);
	}

	return trunks_apply(pbx, tcfg);
}
