/**
 * @file auth.c  SIP digest authentication, server side.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include "sip/auth.h"

enum { KEY_SIZE = 16, NONCE_MAC = 8 };

struct auth {
	char *realm;
	uint8_t key[KEY_SIZE];
	uint32_t lifetime;      /* seconds a nonce stays fresh */
};


static void destructor(void *arg)
{
	struct auth *auth = arg;

	mem_deref(auth->realm);
}


int auth_alloc(struct auth **authp, const char *realm, uint32_t lifetime_s)
{
	struct auth *auth;
	int err;

	if (!authp || !realm)
		return EINVAL;

	auth = mem_zalloc(sizeof(*auth), destructor);
	if (!auth)
		return ENOMEM;

	err = str_dup(&auth->realm, realm);
	if (err)
		goto out;

	rand_bytes(auth->key, sizeof(auth->key));
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


static void nonce_mac(const struct auth *auth, uint64_t ts, uint32_t salt,
		      uint8_t *mac)
{
	uint8_t md[MD5_SIZE];

	(void)md5_printf(md, "%w:%llx:%08x:%s", auth->key, sizeof(auth->key),
			 ts, salt, auth->realm);
	memcpy(mac, md, NONCE_MAC);
}


/**
 * A nonce is "<time stamp in hex>" "<salt in hex>" "<mac of both in hex>".
 * The salt makes every challenge's nonce new, even within one second: a
 * phone answering several challenges at once (REGISTER, then SUBSCRIBE
 * in the same second) never sees a nonce twice; libre's client code
 * takes a challenge repeating a nonce it already answered as its
 * password being refused (EAUTH), and gives up.
 */
int auth_nonce_make(const struct auth *auth, uint64_t now_s,
		    char *buf, size_t sz)
{
	uint8_t mac[NONCE_MAC];
	uint32_t salt = rand_u32();

	nonce_mac(auth, now_s, salt, mac);

	return re_snprintf(buf, sz, "%016llx%08x%w", now_s, salt, mac,
			   sizeof(mac)) < 0 ? ENOMEM : 0;
}


bool auth_nonce_check(const struct auth *auth, const struct pl *nonce,
		      uint64_t now_s, bool *stale)
{
	uint8_t mac[NONCE_MAC], got[NONCE_MAC];
	struct pl ts_pl, salt_pl;
	uint64_t ts;

	if (nonce->l != 24 + 2 * NONCE_MAC)
		return false;

	/* our nonces are lower-case hex: anything else is not ours */
	for (size_t i = 0; i < nonce->l; i++) {
		if (!strchr("0123456789abcdef", nonce->p[i]))
			return false;
	}

	ts_pl.p = nonce->p;
	ts_pl.l = 16;
	ts = pl_x64(&ts_pl);
	salt_pl.p = nonce->p + 16;
	salt_pl.l = 8;
	for (size_t i = 0; i < NONCE_MAC; i++) {
		const char *p = nonce->p + 24 + 2 * i;
		got[i] = (uint8_t)(ch_hex(p[0]) << 4 | ch_hex(p[1]));
	}

	nonce_mac(auth, ts, pl_x32(&salt_pl), mac);
	if (memcmp(mac, got, sizeof(mac)))
		return false;

	*stale = ts > now_s || now_s - ts > auth->lifetime;

	return true;
}


struct verify_ctx {
	const struct auth *auth;
	const struct sip_msg *msg;
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


enum auth_result auth_verify(const struct auth *auth,
			     const struct sip_msg *msg, bool proxy,
			     auth_secret_h *secreth, void *arg,
			     struct pl *user)
{
	struct verify_ctx ctx;
	uint8_t ha1[MD5_SIZE];
	const char *secret;
	bool stale = false;

	if (!auth || !msg || !secreth)
		return AUTH_FAILED;

	memset(&ctx, 0, sizeof(ctx));
	ctx.auth = auth;
	ctx.msg = msg;

	(void)sip_msg_hdr_apply(msg, true, proxy ? SIP_HDR_PROXY_AUTHORIZATION
				: SIP_HDR_AUTHORIZATION, find_realm, &ctx);
	if (!ctx.found)
		return AUTH_MISSING;

	if (user)
		*user = ctx.resp.username;

	/* An unknown user and a wrong secret must look the same. */
	secret = secreth(&ctx.resp.username, arg);
	if (!secret)
		return AUTH_FAILED;

	if (pl_isset(&ctx.resp.qop) && pl_strcasecmp(&ctx.resp.qop, "auth"))
		return AUTH_FAILED;

	/* The digest-uri is not compared with the Request-URI (RFC 2617
	 * 3.2.2.5 would): sipp, among others, puts another form of it
	 * there.  Short-lived nonces bound what a replay could do. */

	if (md5_printf(ha1, "%r:%s:%s", &ctx.resp.username, auth->realm,
		       secret))
		return AUTH_FAILED;

	if (httpauth_digest_response_auth(&ctx.resp, &msg->met, ha1))
		return AUTH_FAILED;

	if (!auth_nonce_check(auth, &ctx.resp.nonce, (uint64_t)time(NULL),
			      &stale))
		return AUTH_FAILED;

	return stale ? AUTH_STALE : AUTH_OK;
}


/** Answers 401 (registrar) or 407 (proxy, INVITE) with a fresh nonce. */
int auth_challenge(const struct auth *auth, struct sip *sip,
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
