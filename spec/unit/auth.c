/**
 * @file auth.c  Spec of digest authentication (core/sip/auth.h).
 *
 * Requests are real SIP messages, decoded by libre from text; the digest
 * response in them is computed here, from RFC 2617, not by the code under
 * test.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include "pbx.h"
#include "sip/auth.h"
#include "tap.h"


#define REALM "pbx.test"

enum { LIFETIME = 300 };

static struct auth *auth;


/* Nonces */

static void flip_digit(char *s, size_t i)
{
	s[i] = s[i] == '0' ? '1' : '0';
}


/* What is done to a nonce between making and checking it. */
enum edit { KEEP, FLIP_MAC, FLIP_TIME, SHORTER, LONGER, OTHER_KEY };

static const struct nonce_case {
	const char *name;
	int64_t age;       /* seconds between making and checking */
	enum edit edit;
	bool valid;
	bool stale;
} nonce_cases[] = {
	{"a nonce made now is fresh",              0, KEEP,      true,  false},
	{"a nonce within its lifetime is fresh", 299, KEEP,      true,  false},
	{"an expired nonce is valid but stale",  400, KEEP,      true,  true },
	{"a nonce from the future is stale",     -60, KEEP,      true,  true },
	{"a flipped digit in the MAC: rejected",   0, FLIP_MAC,  false, false},
	{"a flipped digit in the time: rejected",  0, FLIP_TIME, false, false},
	{"one character short: rejected",          0, SHORTER,   false, false},
	{"one character more: rejected",           0, LONGER,    false, false},
	{"another instance's nonce: rejected",     0, OTHER_KEY, false, false},
};


static void test_nonce(const struct nonce_case *c)
{
	const uint64_t now = (uint64_t)time(NULL);
	struct auth *other = NULL;
	char buf[64];
	struct pl pl;
	bool stale = false, valid;
	int err;

	if (c->edit == OTHER_KEY) {
		err = auth_alloc(&other, REALM, LIFETIME);
		err |= auth_nonce_make(other, now, buf, sizeof(buf));
	}
	else {
		err = auth_nonce_make(auth, now - c->age, buf, sizeof(buf));
	}
	if (!is_int(err, 0, "nonce made"))
		return;

	switch (c->edit) {

	case FLIP_MAC:  flip_digit(buf, strlen(buf) - 1);  break;
	case FLIP_TIME: flip_digit(buf, 15);               break;
	case SHORTER:   buf[strlen(buf) - 1] = '\0';       break;
	case LONGER:    strcat(buf, "0");                  break;
	default:        break;
	}

	pl_set_str(&pl, buf);
	valid = auth_nonce_check(auth, &pl, now, &stale);
	ok(valid == c->valid && (!valid || stale == c->stale), "%s", c->name);

	mem_deref(other);
}


/* auth_verify on decoded requests */

static const char *secret_of(const struct pl *user, void *arg)
{
	static const char *const users[][2] = {
		{"100", "secret100"},
		{"101", "s3cret"},
	};
	(void)arg;

	for (size_t i = 0; i < ARRAY_SIZE(users); i++) {
		if (0 == pl_strcmp(user, users[i][0]))
			return users[i][1];
	}

	return NULL;
}


static const struct verify_case {
	const char *name;
	const char *method;
	const char *hdr;       /* credentials header, NULL: none        */
	const char *realm;
	const char *user;
	const char *pass;
	int64_t age;           /* of the nonce                           */
	bool decoy;            /* another realm's credentials come first */
	bool proxy;
	enum auth_result exp;
} verify_cases[] = {
	{"right password: OK",
	 "REGISTER", "Authorization", REALM, "100", "secret100", 0, false,
	 false, AUTH_OK},
	{"right password after another realm's credentials: OK",
	 "REGISTER", "Authorization", REALM, "101", "s3cret", 0, true,
	 false, AUTH_OK},
	{"wrong password: FAILED",
	 "REGISTER", "Authorization", REALM, "100", "secret101", 0, false,
	 false, AUTH_FAILED},
	{"unknown user: FAILED, as for a wrong password",
	 "REGISTER", "Authorization", REALM, "999", "secret100", 0, false,
	 false, AUTH_FAILED},
	{"no Authorization header: MISSING",
	 "REGISTER", NULL, REALM, "100", "secret100", 0, false,
	 false, AUTH_MISSING},
	{"credentials for another realm only: MISSING",
	 "REGISTER", "Authorization", "other.test", "100", "secret100", 0,
	 false, false, AUTH_MISSING},
	{"stale nonce, right password: STALE",
	 "REGISTER", "Authorization", REALM, "100", "secret100", 400, false,
	 false, AUTH_STALE},
	{"stale nonce, wrong password: FAILED",
	 "REGISTER", "Authorization", REALM, "100", "nope", 400, false,
	 false, AUTH_FAILED},
	{"INVITE with Proxy-Authorization, proxy: OK",
	 "INVITE", "Proxy-Authorization", REALM, "100", "secret100", 0, false,
	 true, AUTH_OK},
	{"Proxy-Authorization ignored when not proxy: MISSING",
	 "INVITE", "Proxy-Authorization", REALM, "100", "secret100", 0, false,
	 false, AUTH_MISSING},
	{"Authorization ignored when proxy: MISSING",
	 "INVITE", "Authorization", REALM, "100", "secret100", 0, false,
	 true, AUTH_MISSING},
};


/* RFC 2617 3.2.2.1 with qop=auth, computed independently of auth.c */
static int digest_response(char *out, size_t sz, const struct verify_case *c,
			   const char *uri, const char *nonce)
{
	uint8_t ha1[MD5_SIZE], ha2[MD5_SIZE], resp[MD5_SIZE];
	int err;

	err  = md5_printf(ha1, "%s:%s:%s", c->user, c->realm, c->pass);
	err |= md5_printf(ha2, "%s:%s", c->method, uri);
	err |= md5_printf(resp, "%w:%s:%s:%s:%s:%w", ha1, sizeof(ha1),
			  nonce, "00000001", "0a4f113b", "auth",
			  ha2, sizeof(ha2));
	if (err)
		return err;

	return re_snprintf(out, sz, "%w", resp, sizeof(resp)) < 0 ? ENOMEM : 0;
}


static int request_build(struct sip_msg **msgp, const struct verify_case *c)
{
	const char *uri = "sip:" REALM;
	char nonce[64], response[MD5_STR_SIZE];
	struct mbuf *mb = mbuf_alloc(1024);
	int err;

	if (!mb)
		return ENOMEM;

	err  = auth_nonce_make(auth, (uint64_t)time(NULL) - c->age, nonce,
			       sizeof(nonce));
	err |= digest_response(response, sizeof(response), c, uri, nonce);
	err |= mbuf_printf(mb,
			   "%s %s SIP/2.0\r\n"
			   "Via: SIP/2.0/UDP 192.0.2.10:5060"
			   ";branch=z9hG4bK776asdhds\r\n"
			   "Max-Forwards: 70\r\n"
			   "From: <sip:%s@" REALM ">;tag=1928301774\r\n"
			   "To: <sip:%s@" REALM ">\r\n"
			   "Call-ID: a84b4c76e66710\r\n"
			   "CSeq: 1 %s\r\n"
			   "Contact: <sip:%s@192.0.2.10:5060>\r\n",
			   c->method, uri, c->user, c->user, c->method,
			   c->user);
	if (c->decoy)
		err |= mbuf_printf(mb, "%s: Digest username=\"%s\","
				   " realm=\"elsewhere.test\", nonce=\"abc\","
				   " uri=\"%s\", response=\"%32s\"\r\n",
				   c->hdr, c->user, uri, "0");
	if (c->hdr)
		err |= mbuf_printf(mb, "%s: Digest username=\"%s\","
				   " realm=\"%s\", nonce=\"%s\", uri=\"%s\","
				   " response=\"%s\", algorithm=MD5, qop=auth,"
				   " nc=00000001, cnonce=\"0a4f113b\"\r\n",
				   c->hdr, c->user, c->realm, nonce, uri,
				   response);
	err |= mbuf_write_str(mb, "Content-Length: 0\r\n\r\n");
	if (!err) {
		mb->pos = 0;
		err = sip_msg_decode(msgp, mb);
	}

	mem_deref(mb);
	return err;
}


static void test_verify(const struct verify_case *c)
{
	struct sip_msg *msg = NULL;
	struct pl user = PL_INIT;
	enum auth_result r;
	char name[256];

	if (!is_int(request_build(&msg, c), 0, "request decoded"))
		return;

	r = auth_verify(auth, msg, c->proxy, secret_of, NULL, &user);
	is_int(r, c->exp, c->name);

	if (c->exp == AUTH_OK) {
		re_snprintf(name, sizeof(name), "%r", &user);
		is_str(name, c->user, "  and the user is the one who signed");
	}

	mem_deref(msg);
}


int main(void)
{
	struct leakcheck all, lc;
	int err;

	err = libre_init();
	if (err)
		return 255;

	leak_begin(&all);
	err = auth_alloc(&auth, REALM, LIFETIME);
	is_int(err, 0, "auth_alloc(realm, 300 s)");
	is_str(auth_realm(auth), REALM, "auth_realm() is the configured one");

	for (size_t i = 0; i < ARRAY_SIZE(nonce_cases); i++) {
		leak_begin(&lc);
		test_nonce(&nonce_cases[i]);
		leak_end(&lc, nonce_cases[i].name);
	}

	for (size_t i = 0; i < ARRAY_SIZE(verify_cases); i++) {
		leak_begin(&lc);
		test_verify(&verify_cases[i]);
		leak_end(&lc, verify_cases[i].name);
	}

	ok(auth_verify(NULL, NULL, false, secret_of, NULL, NULL)
	   == AUTH_FAILED, "no auth or no message: FAILED, no crash");

	auth = mem_deref(auth);
	leak_end(&all, "the whole file");

	libre_close();

	return done_testing();
}
