/**
 * @file auth.c  SIP digest authentication, server side (see auth.h).
 */
#include <ctype.h>
#include <string.h>
#include <time.h>
#include <re.h>
#include "sip/auth.h"

enum {
	KEY_SIZE = 16,
	NONCE_MAC = 8,                 /* bytes of MAC in a nonce          */
	NONCE_LEN = 16 + 8 + 2 * NONCE_MAC,  /* time, id, MAC in hex      */
	NC_SLOTS = 1 << 20,            /* nonce counts kept: 1 MB          */
	NC_MAX = 255,                  /* a count above: a new nonce       */
};

struct auth {
	char *realm;
	uint8_t key[KEY_SIZE];
	char decoy[33];         /* the secret of users who do not exist */
	uint32_t lifetime;      /* seconds a nonce stays fresh */
	uint32_t next_nid;      /* the id of the next nonce    */
	uint8_t *nc;            /* last count used, per id slot */
};


static void destructor(void *arg)
{
	struct auth *auth = arg;

	mem_deref(auth->realm);
	mem_deref(auth->nc);
}


int auth_alloc(struct auth **authp, const char *realm, uint32_t lifetime_s)
{
	struct auth *auth;
	uint8_t d[16];
	int err;

	if (!authp || !realm)
		return EINVAL;

	auth = mem_zalloc(sizeof(*auth), destructor);
	if (!auth)
		return ENOMEM;

	err = str_dup(&auth->realm, realm);
	if (err)
		goto out;

	auth->nc = mem_zalloc(NC_SLOTS, NULL);
	if (!auth->nc) {
		err = ENOMEM;
		goto out;
	}

	rand_bytes(auth->key, sizeof(auth->key));
	rand_bytes(d, sizeof(d));
	(void)re_snprintf(auth->decoy, sizeof(auth->decoy), "%w", d,
			  sizeof(d));
	auth->next_nid = rand_u32();
	auth->lifetime = lifetime_s ? lifetime_s : 300;

 out:
	if (err)
		mem_deref(auth);
	else
		*authp = auth;

	return err;
}


const char *auth_realm(const struct auth *auth)
{
	return auth ? auth->realm : NULL;
}


static void nonce_mac(const struct auth *auth, uint64_t ts, uint32_t nid,
		      uint8_t *mac)
{
	uint8_t md[MD5_SIZE];

	(void)md5_printf(md, "%w:%llx:%x:%s", auth->key, sizeof(auth->key),
			 ts, nid, auth->realm);
	memcpy(mac, md, NONCE_MAC);
}


/**
 * A nonce is "<time stamp>" "<id>" "<MAC of both>", in hex.  The id makes
 * every challenge's nonce new, even within one second: a phone answering
 * several challenges at once (REGISTER, then SUBSCRIBE in the same
 * second) never sees a nonce twice; libre's client code takes a challenge
 * repeating a nonce it already answered as its password being refused
 * (EAUTH), and gives up.
 */
int auth_nonce_make(struct auth *auth, uint64_t now_s, char *buf, size_t sz)
{
	uint8_t mac[NONCE_MAC];
	uint32_t nid;

	if (!auth || !buf)
		return EINVAL;

	nid = auth->next_nid++;
	auth->nc[nid % NC_SLOTS] = 0;
	nonce_mac(auth, now_s, nid, mac);

	return re_snprintf(buf, sz, "%016llx%08x%w", now_s, nid, mac,
			   sizeof(mac)) < 0 ? ENOMEM : 0;
}


static bool lower_hex(const struct pl *pl)
{
	for (size_t i = 0; i < pl->l; i++) {
		if (!strchr("0123456789abcdef", pl->p[i]) || !pl->p[i])
			return false;
	}
	return true;
}


/* Ours (the MAC matches): its time stamp and id. */
static bool nonce_parse(const struct auth *auth, const struct pl *nonce,
			uint64_t *ts, uint32_t *nid)
{
	uint8_t mac[NONCE_MAC], got[NONCE_MAC];
	struct pl f;

	if (nonce->l != NONCE_LEN || !lower_hex(nonce))
		return false;

	f.p = nonce->p;
	f.l = 16;
	*ts = pl_x64(&f);
	f.p += 16;
	f.l = 8;
	*nid = pl_x32(&f);

	for (size_t i = 0; i < NONCE_MAC; i++) {
		const char *p = nonce->p + 24 + 2 * i;
		got[i] = (uint8_t)(ch_hex(p[0]) << 4 | ch_hex(p[1]));
	}

	nonce_mac(auth, *ts, *nid, mac);

	return 0 == mem_seccmp(mac, got, sizeof(mac));
}


/* Its count slot was not given to a newer nonce since. */
static bool nid_current(const struct auth *auth, uint32_t nid)
{
	uint32_t age = auth->next_nid - nid;

	return age >= 1 && age <= NC_SLOTS;
}


bool auth_nonce_check(const struct auth *auth, const struct pl *nonce,
		      uint64_t now_s, bool *stale)
{
	uint64_t ts;
	uint32_t nid;

	if (!auth || !nonce || !stale || !nonce_parse(auth, nonce, &ts, &nid))
		return false;

	*stale = ts > now_s || now_s - ts > auth->lifetime ||
		!nid_current(auth, nid);

	return true;
}


/* The nonce count of a response: 8 hex digits (RFC 7616 3.4). */
static bool nc_value(const struct pl *nc, uint32_t *v)
{
	if (nc->l != 8)
		return false;
	for (size_t i = 0; i < nc->l; i++) {
		if (!isxdigit((unsigned char)nc->p[i]))
			return false;
	}
	*v = pl_x32(nc);

	return true;
}


/* Each count of a nonce is taken once, in increasing order. */
static bool nc_take(struct auth *auth, uint32_t nid, uint32_t nc)
{
	uint8_t *last = &auth->nc[nid % NC_SLOTS];

	if (nc <= *last || nc > NC_MAX)
		return false;

	*last = (uint8_t)nc;
	return true;
}


static uint16_t uri_port(const struct uri *u)
{
	if (u->port)
		return u->port;

	return 0 == pl_strcasecmp(&u->scheme, "sips") ? 5061 : 5060;
}


/**
 * The digest-uri names the Request-URI (RFC 2617 3.2.2.5): same scheme,
 * user, host and port; parameters are not compared (a phone may add or
 * drop a transport=).  Credentials made for one number do not call
 * another.
 */
bool auth_uri_match(const struct pl *digest_uri, const struct pl *ruri)
{
	struct uri a, b;

	if (!digest_uri || !ruri)
		return false;

	if (uri_decode(&a, digest_uri) || uri_decode(&b, ruri))
		return 0 == pl_cmp(digest_uri, ruri);

	return 0 == pl_casecmp(&a.scheme, &b.scheme) &&
		0 == pl_cmp(&a.user, &b.user) &&
		0 == pl_casecmp(&a.host, &b.host) &&
		uri_port(&a) == uri_port(&b);
}


struct verify_ctx {
	const struct auth *auth;
	struct httpauth_digest_resp resp;
	bool found;
};


/* Several Authorization headers may come (one per realm): pick ours. */
static bool find_realm(const struct sip_hdr *hdr, const struct sip_msg *msg,
		       void *arg)
{
	struct verify_ctx *ctx = arg;
	(void)msg;

	if (httpauth_digest_response_decode(&ctx->resp, &hdr->val))
		return false;

	if (pl_strcmp(&ctx->resp.realm, ctx->auth->realm))
		return false;

	ctx->found = true;
	return true;
}


/* RFC 2617 3.2.2.1, compared in constant time. */
static bool digest_ok(const struct httpauth_digest_resp *r,
		      const struct pl *method, const char *realm,
		      const char *secret)
{
	uint8_t ha1[MD5_SIZE], ha2[MD5_SIZE], want[MD5_SIZE], got[MD5_SIZE];
	int err;

	err  = md5_printf(ha1, "%r:%s:%s", &r->username, realm, secret);
	err |= md5_printf(ha2, "%r:%r", method, &r->uri);
	if (pl_isset(&r->qop))
		err |= md5_printf(want, "%w:%r:%r:%r:%r:%w", ha1, sizeof(ha1),
				  &r->nonce, &r->nc, &r->cnonce, &r->qop,
				  ha2, sizeof(ha2));
	else
		err |= md5_printf(want, "%w:%r:%w", ha1, sizeof(ha1),
				  &r->nonce, ha2, sizeof(ha2));
	if (err || r->response.l != 2 * MD5_SIZE)
		return false;

	for (size_t i = 0; i < MD5_SIZE; i++) {
		const char *p = r->response.p + 2 * i;

		if (!isxdigit((unsigned char)p[0]) ||
		    !isxdigit((unsigned char)p[1]))
			return false;
		got[i] = (uint8_t)(ch_hex(p[0]) << 4 | ch_hex(p[1]));
	}

	return 0 == mem_seccmp(want, got, sizeof(want));
}


static enum auth_result result(struct auth_info *info, enum auth_result r,
			       const char *why)
{
	if (info)
		info->why = why;
	return r;
}


/* Right secret: is the nonce still good for this response? */
static enum auth_result nonce_use(struct auth *auth,
				  const struct httpauth_digest_resp *r,
				  struct auth_info *info)
{
	uint64_t ts, now = (uint64_t)time(NULL);
	uint32_t nid, nc = 1;

	if (!nonce_parse(auth, &r->nonce, &ts, &nid))
		return result(info, AUTH_STALE, "nonce not ours (made before"
			      " a restart?)");
	if (ts > now || now - ts > auth->lifetime)
		return result(info, AUTH_STALE, "nonce expired");
	if (!nid_current(auth, nid))
		return result(info, AUTH_STALE, "nonce too old");

	/* without qop (RFC 2069) a nonce serves once */
	if (pl_isset(&r->qop))
		(void)nc_value(&r->nc, &nc);
	if (!nc_take(auth, nid, nc))
		return result(info, AUTH_STALE, "nonce count already used"
			      " (replay?)");

	return result(info, AUTH_OK, NULL);
}


enum auth_result auth_verify(struct auth *auth, const struct sip_msg *msg,
			     bool proxy, auth_secret_h *secreth, void *arg,
			     struct auth_info *info)
{
	struct verify_ctx ctx;
	const char *secret;
	uint32_t nc;
	bool known;

	if (info)
		memset(info, 0, sizeof(*info));
	if (!auth || !msg || !secreth)
		return result(info, AUTH_FAILED, "no credentials store");

	memset(&ctx, 0, sizeof(ctx));
	ctx.auth = auth;

	(void)sip_msg_hdr_apply(msg, true, proxy ? SIP_HDR_PROXY_AUTHORIZATION
				: SIP_HDR_AUTHORIZATION, find_realm, &ctx);
	if (!ctx.found)
		return result(info, AUTH_MISSING, NULL);

	if (info)
		info->user = ctx.resp.username;

	if (pl_isset(&ctx.resp.qop) && pl_strcasecmp(&ctx.resp.qop, "auth"))
		return result(info, AUTH_FAILED, "qop other than auth");
	if (pl_isset(&ctx.resp.qop) &&
	    (!nc_value(&ctx.resp.nc, &nc) || !pl_isset(&ctx.resp.cnonce)))
		return result(info, AUTH_FAILED, "qop=auth without nc or"
			      " cnonce");
	if (!auth_uri_match(&ctx.resp.uri, &msg->ruri))
		return result(info, AUTH_FAILED, "digest uri is not the"
			      " Request-URI");

	/* An unknown user costs the same digest as a wrong secret. */
	secret = secreth(&ctx.resp.username, arg);
	known = secret != NULL;
	if (!digest_ok(&ctx.resp, &msg->met, auth->realm,
		       known ? secret : auth->decoy) || !known)
		return result(info, AUTH_FAILED, known ? "wrong secret"
			      : "unknown user");

	return nonce_use(auth, &ctx.resp, info);
}


/** Answers 401 (registrar) or 407 (proxy, INVITE) with a fresh nonce. */
int auth_challenge(struct auth *auth, struct sip *sip,
		   const struct sip_msg *msg, bool proxy, bool stale)
{
	char nonce[64];
	int err;

	err = auth_nonce_make(auth, (uint64_t)time(NULL), nonce,
			      sizeof(nonce));
	if (err)
		return err;

	return sip_treplyf(NULL, NULL, sip, msg, false,
			   proxy ? 407 : 401,
			   proxy ? "Proxy Authentication Required"
				 : "Unauthorized",
			   "%s: Digest realm=\"%s\", nonce=\"%s\", qop=\"auth\","
			   " algorithm=MD5%s\r\n"
			   "Content-Length: 0\r\n\r\n",
			   proxy ? "Proxy-Authenticate" : "WWW-Authenticate",
			   auth->realm, nonce, stale ? ", stale=true" : "");
}
