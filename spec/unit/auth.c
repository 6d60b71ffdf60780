/**
 * @file auth.c  Spec of digest authentication (core/sip/auth.h).
 *
 * Requests are real SIP messages, decoded by libre from text; the digest
 * response in them is computed here, from RFC 2617, not by the code under
 * test.  Beyond the secret: the nonce count (each count of a nonce once,
 * RFC 7616 3.4), the digest-uri bound to the Request-URI, stale=true for
 * a nonce of another process (a restart) only with the right secret, and
 * the same answer for unknown users and wrong secrets.
 */
#include <ctype.h>
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
enum edit { KEEP, FLIP_MAC, FLIP_TIME, FLIP_ID, SHORTER, LONGER, UPPER,
	    OTHER_KEY };

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
	{"a flipped digit in the id: rejected",    0, FLIP_ID,   false, false},
	{"upper-case hex: not ours",               0, UPPER,     false, false},
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
	case FLIP_ID:   flip_digit(buf, 20);               break;
	case UPPER:     for (char *p = buf; *p; p++)
				*p = (char)toupper((unsigned char)*p);
			break;
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


/* One request with credentials, as a phone would send it. */
struct creds {
	const char *method;
	const char *ruri;      /* Request-URI                         */
	const char *duri;      /* digest-uri; NULL: the Request-URI   */
	const char *hdr;       /* credentials header, NULL: none      */
	const char *realm;
	const char *user;
	const char *pass;
	const char *nonce;     /* NULL: a fresh one of `auth`         */
	const char *nc;        /* "00000001"; NULL: no qop at all     */
	const char *qop;       /* "auth"                              */
	bool decoy;            /* another realm's credentials first   */
};


/* RFC 2617 3.2.2.1, computed independently of auth.c */
static int digest_response(char *out, size_t sz, const struct creds *c,
			   const char *uri, const char *nonce)
{
	uint8_t ha1[MD5_SIZE], ha2[MD5_SIZE], resp[MD5_SIZE];
	int err;

	err  = md5_printf(ha1, "%s:%s:%s", c->user, c->realm, c->pass);
	err |= md5_printf(ha2, "%s:%s", c->method, uri);
	if (c->nc)
		err |= md5_printf(resp, "%w:%s:%s:%s:%s:%w", ha1, sizeof(ha1),
				  nonce, c->nc, "0a4f113b", c->qop,
				  ha2, sizeof(ha2));
	else
		err |= md5_printf(resp, "%w:%s:%w", ha1, sizeof(ha1), nonce,
				  ha2, sizeof(ha2));
	if (err)
		return err;

	return re_snprintf(out, sz, "%w", resp, sizeof(resp)) < 0 ? ENOMEM : 0;
}


static int request_build(struct sip_msg **msgp, const struct creds *c,
			 char *nonce_out)
{
	const char *duri = c->duri ? c->duri : c->ruri;
	char nonce[64], response[MD5_STR_SIZE];
	struct mbuf *mb = mbuf_alloc(1024);
	int err = 0;

	if (!mb)
		return ENOMEM;

	if (c->nonce)
		str_ncpy(nonce, c->nonce, sizeof(nonce));
	else
		err = auth_nonce_make(auth, (uint64_t)time(NULL), nonce,
				      sizeof(nonce));
	if (nonce_out)
		strcpy(nonce_out, nonce);
	err |= digest_response(response, sizeof(response), c, duri, nonce);
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
			   c->method, c->ruri, c->user, c->user, c->method,
			   c->user);
	if (c->decoy)
		err |= mbuf_printf(mb, "%s: Digest username=\"%s\","
				   " realm=\"elsewhere.test\", nonce=\"abc\","
				   " uri=\"%s\", response=\"%32s\"\r\n",
				   c->hdr, c->user, duri, "0");
	if (c->hdr && c->nc)
		err |= mbuf_printf(mb, "%s: Digest username=\"%s\","
				   " realm=\"%s\", nonce=\"%s\", uri=\"%s\","
				   " response=\"%s\", algorithm=MD5, qop=%s,"
				   " nc=%s, cnonce=\"0a4f113b\"\r\n",
				   c->hdr, c->user, c->realm, nonce, duri,
				   response, c->qop, c->nc);
	else if (c->hdr)
		err |= mbuf_printf(mb, "%s: Digest username=\"%s\","
				   " realm=\"%s\", nonce=\"%s\", uri=\"%s\","
				   " response=\"%s\"\r\n",
				   c->hdr, c->user, c->realm, nonce, duri,
				   response);
	err |= mbuf_write_str(mb, "Content-Length: 0\r\n\r\n");
	if (!err) {
		mb->pos = 0;
		err = sip_msg_decode(msgp, mb);
	}

	mem_deref(mb);
	return err;
}


/* The verdict on one request; its nonce in @a nonce_out when given. */
static enum auth_result verify(const struct creds *c, bool proxy,
			       struct auth_info *info, char *nonce_out)
{
	struct sip_msg *msg = NULL;
	enum auth_result r;

	if (request_build(&msg, c, nonce_out))
		return (enum auth_result)-1;

	r = auth_verify(auth, msg, proxy, secret_of, NULL, info);
	mem_deref(msg);

	return r;
}


#define REG(u, p)  "REGISTER", "sip:" REALM, NULL, "Authorization", REALM, \
		   (u), (p), NULL, "00000001", "auth", false

static const struct verify_case {
	const char *name;
	struct creds c;
	bool proxy;
	enum auth_result exp;
	const char *why;
} verify_cases[] = {
	{"right password: OK", {REG("100", "secret100")}, false, AUTH_OK,
	 NULL},
	{"right password after another realm's credentials: OK",
	 {"REGISTER", "sip:" REALM, NULL, "Authorization", REALM, "101",
	  "s3cret", NULL, "00000001", "auth", true}, false, AUTH_OK, NULL},
	{"wrong password: FAILED", {REG("100", "secret101")}, false,
	 AUTH_FAILED, "wrong secret"},
	{"unknown user: FAILED, as for a wrong password",
	 {REG("999", "secret100")}, false, AUTH_FAILED, "unknown user"},
	{"no Authorization header: MISSING",
	 {"REGISTER", "sip:" REALM, NULL, NULL, REALM, "100", "secret100",
	  NULL, "00000001", "auth", false}, false, AUTH_MISSING, NULL},
	{"credentials for another realm only: MISSING",
	 {"REGISTER", "sip:" REALM, NULL, "Authorization", "other.test",
	  "100", "secret100", NULL, "00000001", "auth", false}, false,
	 AUTH_MISSING, NULL},
	{"INVITE with Proxy-Authorization, proxy: OK",
	 {"INVITE", "sip:900@" REALM, NULL, "Proxy-Authorization", REALM,
	  "100", "secret100", NULL, "00000001", "auth", false}, true, AUTH_OK,
	 NULL},
	{"Proxy-Authorization ignored when not proxy: MISSING",
	 {"INVITE", "sip:900@" REALM, NULL, "Proxy-Authorization", REALM,
	  "100", "secret100", NULL, "00000001", "auth", false}, false,
	 AUTH_MISSING, NULL},
	{"Authorization ignored when proxy: MISSING",
	 {"INVITE", "sip:900@" REALM, NULL, "Authorization", REALM,
	  "100", "secret100", NULL, "00000001", "auth", false}, true,
	 AUTH_MISSING, NULL},
	{"INVITE to 900 with credentials made for 100: FAILED",
	 {"INVITE", "sip:900@" REALM, "sip:100@" REALM,
	  "Proxy-Authorization", REALM, "100", "secret100", NULL,
	  "00000001", "auth", false}, true, AUTH_FAILED,
	 "digest uri is not the Request-URI"},
	{"digest-uri on another host: FAILED",
	 {"INVITE", "sip:900@" REALM, "sip:900@elsewhere.test",
	  "Proxy-Authorization", REALM, "100", "secret100", NULL,
	  "00000001", "auth", false}, true, AUTH_FAILED,
	 "digest uri is not the Request-URI"},
	{"digest-uri with a transport= parameter more: OK",
	 {"INVITE", "sip:900@" REALM, "sip:900@" REALM ";transport=udp",
	  "Proxy-Authorization", REALM, "100", "secret100", NULL,
	  "00000001", "auth", false}, true, AUTH_OK, NULL},
	{"digest-uri with :5060 written out: OK",
	 {"INVITE", "sip:900@" REALM, "sip:900@" REALM ":5060",
	  "Proxy-Authorization", REALM, "100", "secret100", NULL,
	  "00000001", "auth", false}, true, AUTH_OK, NULL},
	{"qop=auth-int: FAILED",
	 {"REGISTER", "sip:" REALM, NULL, "Authorization", REALM, "100",
	  "secret100", NULL, "00000001", "auth-int", false}, false,
	 AUTH_FAILED, "qop other than auth"},
	{"qop=auth with a malformed nc: FAILED",
	 {"REGISTER", "sip:" REALM, NULL, "Authorization", REALM, "100",
	  "secret100", NULL, "1", "auth", false}, false, AUTH_FAILED,
	 "qop=auth without nc or cnonce"},
	{"nc above 255: STALE (a new nonce for the phone)",
	 {"REGISTER", "sip:" REALM, NULL, "Authorization", REALM, "100",
	  "secret100", NULL, "00000100", "auth", false}, false, AUTH_STALE,
	 "nonce count already used (replay?)"},
	{"a nonce of another process (restart), right password: STALE",
	 {"REGISTER", "sip:" REALM, NULL, "Authorization", REALM, "100",
	  "secret100", "0000000065a0b1c2000000011122334455667788",
	  "00000001", "auth", false}, false, AUTH_STALE,
	 "nonce not ours (made before a restart?)"},
	{"a nonce of another process, wrong password: FAILED",
	 {"REGISTER", "sip:" REALM, NULL, "Authorization", REALM, "100",
	  "nope", "0000000065a0b1c2000000011122334455667788", "00000001",
	  "auth", false}, false, AUTH_FAILED, "wrong secret"},
	{"a nonce of another process, unknown user: FAILED",
	 {"REGISTER", "sip:" REALM, NULL, "Authorization", REALM, "999",
	  "nope", "0000000065a0b1c2000000011122334455667788", "00000001",
	  "auth", false}, false, AUTH_FAILED, "unknown user"},
	{"a garbage nonce, right password: STALE",
	 {"REGISTER", "sip:" REALM, NULL, "Authorization", REALM, "100",
	  "secret100", "abc", "00000001", "auth", false}, false, AUTH_STALE,
	 "nonce not ours (made before a restart?)"},
};


static void test_verify(const struct verify_case *c)
{
	struct auth_info info;
	enum auth_result r;
	char name[256];

	r = verify(&c->c, c->proxy, &info, NULL);
	is_int(r, c->exp, c->name);
	is_str(info.why, c->why, "  and says why");

	if (c->exp == AUTH_OK) {
		re_snprintf(name, sizeof(name), "%r", &info.user);
		is_str(name, c->c.user, "  and the user is the one who signed");
	}
}


/* A nonce made `age` seconds ago, used with the right and wrong secret. */
static void test_expired(void)
{
	const uint64_t now = (uint64_t)time(NULL);
	struct creds c = {REG("100", "secret100")};
	struct auth_info info;
	char nonce[64];

	(void)auth_nonce_make(auth, now - 400, nonce, sizeof(nonce));
	c.nonce = nonce;
	is_int(verify(&c, false, &info, NULL), AUTH_STALE,
	       "expired nonce, right password: STALE");
	is_str(info.why, "nonce expired", "  nonce expired");
	c.pass = "nope";
	is_int(verify(&c, false, &info, NULL), AUTH_FAILED,
	       "expired nonce, wrong password: FAILED");
}


/* RFC 7616 3.4: each nonce count once; higher counts go on. */
static void test_nonce_count(void)
{
	struct creds c = {REG("100", "secret100")};
	struct auth_info info;
	char nonce[64];

	is_int(verify(&c, false, &info, nonce), AUTH_OK, "nc=1: OK");
	c.nonce = nonce;
	is_int(verify(&c, false, &info, NULL), AUTH_STALE,
	       "the same response again (a replay, nc=1): STALE");
	is_str(info.why, "nonce count already used (replay?)",
	       "  says it is a replay");
	c.nc = "00000002";
	is_int(verify(&c, false, &info, NULL), AUTH_OK,
	       "the phone's next request on that nonce (nc=2): OK");
	c.nc = "00000005";
	is_int(verify(&c, false, &info, NULL), AUTH_OK,
	       "a gap (nc=5, some requests lost): OK");
	c.nc = "00000003";
	is_int(verify(&c, false, &info, NULL), AUTH_STALE,
	       "an older count after it (nc=3): STALE");
	c.nc = "00000006";
	c.pass = "nope";
	is_int(verify(&c, false, &info, NULL), AUTH_FAILED,
	       "nc=6 with a wrong password: FAILED ...");
	c.pass = "secret100";
	is_int(verify(&c, false, &info, NULL), AUTH_OK,
	       "... and does not use up nc=6");

	/* RFC 2069 style, no qop: a nonce serves once */
	c.nonce = NULL;
	c.nc = NULL;
	is_int(verify(&c, false, &info, nonce), AUTH_OK, "no qop: OK once");
	c.nonce = nonce;
	is_int(verify(&c, false, &info, NULL), AUTH_STALE,
	       "no qop, the same nonce again: STALE");
}


/* The slot of a nonce's count is given to a nonce 2^20 challenges later:
 * the old nonce is then stale, never open to a replay. */
static void test_nonce_ring(void)
{
	struct creds c = {REG("100", "secret100")};
	struct auth_info info;
	char nonce[64], other[64];
	struct pl pl;
	bool stale = false;

	is_int(verify(&c, false, &info, nonce), AUTH_OK,
	       "a nonce used once (nc=1)");
	for (uint32_t i = 0; i < (1u << 20); i++)
		(void)auth_nonce_make(auth, (uint64_t)time(NULL), other,
				      sizeof(other));
	pl_set_str(&pl, nonce);
	ok(auth_nonce_check(auth, &pl, (uint64_t)time(NULL), &stale) && stale,
	   "2^20 challenges later its slot is another's: it is stale");
	c.nonce = nonce;
	c.nc = "00000002";
	is_int(verify(&c, false, &info, NULL), AUTH_STALE,
	       "its next count: STALE (a new nonce for the phone)");
	is_str(info.why, "nonce too old", "  nonce too old");
}


static void test_uri_match(void)
{
	static const struct { const char *a, *b; bool eq; } cases[] = {
		{"sip:900@a.test", "sip:900@a.test", true},
		{"sip:900@A.TEST", "sip:900@a.test", true},
		{"SIP:900@a.test", "sip:900@a.test", true},
		{"sip:900@a.test:5060", "sip:900@a.test", true},
		{"sips:900@a.test:5061", "sips:900@a.test", true},
		{"sip:900@a.test;user=phone", "sip:900@a.test", true},
		{"sip:900@a.test", "sip:901@a.test", false},
		{"sip:900@a.test", "sip:900@b.test", false},
		{"sip:900@a.test:5070", "sip:900@a.test", false},
		{"sips:900@a.test", "sip:900@a.test", false},
		{"sip:a.test", "sip:900@a.test", false},
		{"<garbage>", "<garbage>", true},
		{"<garbage>", "sip:900@a.test", false},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct pl a, b;

		pl_set_str(&a, cases[i].a);
		pl_set_str(&b, cases[i].b);
		ok(auth_uri_match(&a, &b) == cases[i].eq, "uri %s %s %s",
		   cases[i].a, cases[i].eq ? "names" : "is not", cases[i].b);
	}
}


static int op_alloc(void *arg)
{
	struct auth *a = NULL;
	int err = auth_alloc(&a, REALM, LIFETIME);
	(void)arg;

	mem_deref(a);
	return err;
}


static int op_verify(void *arg)
{
	struct creds c = {REG("100", "secret100")};
	enum auth_result r;
	(void)arg;

	r = verify(&c, false, NULL, NULL);
	return r == AUTH_OK ? 0 : ENOMEM;
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

	{
		char a[64], b[64];
		const uint64_t now = (uint64_t)time(NULL);

		ok(!auth_nonce_make(auth, now, a, sizeof(a)) &&
		   !auth_nonce_make(auth, now, b, sizeof(b)) && strcmp(a, b),
		   "two challenges in the same second get different nonces"
		   " (a libre phone takes a nonce it answered as a refusal)");
	}

	for (size_t i = 0; i < ARRAY_SIZE(verify_cases); i++) {
		leak_begin(&lc);
		test_verify(&verify_cases[i]);
		leak_end(&lc, verify_cases[i].name);
	}

	leak_begin(&lc);
	test_expired();
	test_nonce_count();
	test_nonce_ring();
	test_uri_match();
	leak_end(&lc, "nonce counts, expiry, URIs");

	ok(auth_verify(NULL, NULL, false, secret_of, NULL, NULL)
	   == AUTH_FAILED, "no auth or no message: FAILED, no crash");

	alloc_fail_each("auth_alloc", op_alloc, NULL);
	alloc_fail_each("decoding and verifying a REGISTER", op_verify, NULL);

	auth = mem_deref(auth);
	leak_end(&all, "the whole file");

	libre_close();

	return done_testing();
}
