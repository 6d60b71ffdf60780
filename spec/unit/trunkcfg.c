/**
 * @file trunkcfg.c  Spec of the pure parts of trunk configuration
 * (core/sip/trunkcfg.h): sip.conf's `register =>` line, insecure=, the
 * retry schedule, and a contact URI dialled with a number.
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "sip/trunkcfg.h"
#include "tap.h"



/* A register line and what it must give; port 0 = not written. */
static const struct reg_case {
	const char *line;
	const char *name, *user, *domain, *secret, *authuser, *host;
	unsigned port;
	const char *contact;
	enum sip_transp tp;
	unsigned expires;
	const char *aor, *server;
} reg_cases[] = {
	/* the seed's two lines */
	{"trunk_A_vers_B:azerty@192.168.1.153", "trunk_A_vers_B@192.168.1.153",
	 "trunk_A_vers_B", NULL, "azerty", NULL, "192.168.1.153", 0, NULL,
	 SIP_TRANSP_UDP, TREG_DEFAULT_EXPIRES,
	 "sip:trunk_A_vers_B@192.168.1.153", "sip:192.168.1.153"},
	{"1020:vitrygtr@sip.kaiba.corp:5600/9999", "1020@sip.kaiba.corp:5600",
	 "1020", NULL, "vitrygtr", NULL, "sip.kaiba.corp", 5600, "9999",
	 SIP_TRANSP_UDP, TREG_DEFAULT_EXPIRES,
	 "sip:1020@sip.kaiba.corp:5600", "sip:sip.kaiba.corp:5600"},
	/* no secret */
	{"alice@10.0.0.1", "alice@10.0.0.1", "alice", NULL, NULL, NULL,
	 "10.0.0.1", 0, NULL, SIP_TRANSP_UDP, TREG_DEFAULT_EXPIRES,
	 "sip:alice@10.0.0.1", "sip:10.0.0.1"},
	/* every part: transport, domain, authuser, contact, expiry */
	{"tcp://bob@example.org:pw:authbob@10.0.0.2:5070/200~300",
	 "bob@10.0.0.2:5070", "bob", "example.org", "pw", "authbob",
	 "10.0.0.2", 5070, "200", SIP_TRANSP_TCP, 300,
	 "sip:bob@example.org", "sip:10.0.0.2:5070;transport=tcp"},
	{"UDP://u:s@h~60", "u@h", "u", NULL, "s", NULL, "h", 0, NULL,
	 SIP_TRANSP_UDP, 60, "sip:u@h", "sip:h"},
	/* IPv6 */
	{"v6:pw@[::1]:5062", "v6@::1:5062", "v6", NULL, "pw", NULL, "::1",
	 5062, NULL, SIP_TRANSP_UDP, TREG_DEFAULT_EXPIRES,
	 "sip:v6@[::1]:5062", "sip:[::1]:5062"},
	{"v6@[fe80::2]", "v6@fe80::2", "v6", NULL, NULL, NULL, "fe80::2", 0,
	 NULL, SIP_TRANSP_UDP, TREG_DEFAULT_EXPIRES, "sip:v6@[fe80::2]",
	 "sip:[fe80::2]"},
	/* a secret may hold '@' only before the last one: the host is last */
	{"u:p@ss@h", "u@h", "u", NULL, "p@ss", NULL, "h", 0, NULL,
	 SIP_TRANSP_UDP, TREG_DEFAULT_EXPIRES, "sip:u@h", "sip:h"},
	{NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, NULL, 0, 0, NULL, NULL},
};


static void test_register_line(const struct reg_case *c)
{
	struct treg_spec *s = NULL;
	char err[128] = "", buf[128];

	if (!is_int(treg_spec_parse(&s, c->line, err, sizeof(err)), 0,
		    c->line)) {
		diag("    error: %s", err);
		return;
	}
	is_str(s->name, c->name, "  default name");
	is_str(s->user, c->user, "  user");
	is_str(s->domain, c->domain, "  domain");
	is_str(s->secret, c->secret, "  secret");
	is_str(s->authuser, c->authuser, "  authuser");
	is_str(s->host, c->host, "  host");
	is_int(s->port, c->port, "  port");
	is_str(s->contact, c->contact, "  contact user");
	is_int(s->tp, c->tp, "  transport");
	is_int(s->expires, c->expires, "  expires");
	is_int(treg_spec_aor(s, buf, sizeof(buf)), 0, "  aor");
	is_str(buf, c->aor, "  aor is");
	is_int(treg_spec_server(s, buf, sizeof(buf)), 0, "  server uri");
	is_str(buf, c->server, "  server uri is");

	mem_deref(s);
}


/* Lines that must be refused, and a word the error must contain. */
static const struct bad_case {
	const char *line, *says;
} bad_cases[] = {
	{"",                          "not allowed"},
	{"user:secret",               "no '@'"},
	{"@host",                     "no user"},
	{":secret@host",              "no user"},
	{"user@",                     "bad host"},
	{"user@host:0",               "bad port"},
	{"user@host:70000",           "bad port"},
	{"user@host:50x",             "bad port"},
	{"user@host/",                "empty contact"},
	{"user@host~0",               "bad expiry"},
	{"user@host~soon",            "bad expiry"},
	{"tls://user@host",           "transport"},
	{"a:b:c:d@host",              "too many"},
	{"user @host",                "not allowed"},
	{"user@host;transport=tcp",   "not allowed"},
	{"\"user\"@host",             "not allowed"},
	{"user@@host",                "empty domain"},
	{"user@[::1",                 "bad host"},
	{"user@[::1]x",               "bad host"},
	{NULL, NULL},
};


static void test_bad_line(const struct bad_case *c)
{
	struct treg_spec *s = NULL;
	char err[128] = "", title[96];

	re_snprintf(title, sizeof(title), "'%s' is refused", c->line);
	is_int(treg_spec_parse(&s, c->line, err, sizeof(err)), EINVAL,
	       title);
	ok(!s, "  nothing allocated");
	if (!ok(strstr(err, c->says) != NULL, "  the error says '%s'",
		c->says))
		diag("    error: %s", err);
}


static void test_secret_not_in_errors(void)
{
	struct treg_spec *s = NULL;
	char err[128] = "";

	(void)treg_spec_parse(&s, "user:t0psecret@host:99999", err,
			      sizeof(err));
	ok(err[0] && !strstr(err, "t0psecret"),
	   "an error never quotes the secret (%s)", err);
}


static void test_equal_and_name(void)
{
	struct treg_spec *a = NULL, *b = NULL, *c = NULL;
	char err[64];

	(void)treg_spec_parse(&a, "u:s@h:5060/x", err, sizeof(err));
	(void)treg_spec_parse(&b, "u:s@h:5060/x", err, sizeof(err));
	(void)treg_spec_parse(&c, "u:other@h:5060/x", err, sizeof(err));
	if (!ok(a && b && c, "three registrations parsed"))
		goto out;

	ok(treg_spec_equal(a, b), "the same line twice is the same"
	   " registration");
	ok(!treg_spec_equal(a, c), "another secret is not");
	b->expires = 600;
	ok(!treg_spec_equal(a, b), "another expiry is not");
	b->expires = a->expires;
	b->retry_max = 10;
	ok(!treg_spec_equal(a, b), "another retry schedule is not");
	b->retry_max = a->retry_max;
	is_int(treg_spec_set_name(b, "kaiba"), 0, "a registration can be"
	       " named");
	is_str(b->name, "kaiba", "  named");
	ok(!treg_spec_equal(a, b), "  and then it is another one");
	is_int(treg_spec_set_name(b, ""), EINVAL, "not with an empty name");
	ok(!treg_spec_equal(a, NULL), "nothing equals NULL");

 out:
	mem_deref(a);
	mem_deref(b);
	mem_deref(c);
}


static void test_backoff(void)
{
	static const struct { uint32_t n, min, max, exp; } rows[] = {
		{0,  5, 300,   0},   /* no failure: no wait         */
		{1,  5, 300,   5},   /* then min, doubling ...      */
		{2,  5, 300,  10},
		{3,  5, 300,  20},
		{4,  5, 300,  40},
		{6,  5, 300, 160},
		{7,  5, 300, 300},   /* ... up to max               */
		{40, 5, 300, 300},   /* never more, never overflows */
		{1000000, 5, 300, 300},
		{1,  1,   4,   1},
		{2,  1,   4,   2},
		{3,  1,   4,   4},
		{4,  1,   4,   4},
		{1,  0,   4,   1},   /* min 0 reads as 1 s          */
		{3, 10,   5,  10},   /* max below min: min wins     */
	};

	for (size_t i = 0; i < ARRAY_SIZE(rows); i++) {
		char title[80];

		re_snprintf(title, sizeof(title), "backoff after %u failures"
			    " (%u..%u s) is %u s", rows[i].n, rows[i].min,
			    rows[i].max, rows[i].exp);
		is_int(trunk_backoff(rows[i].n, rows[i].min, rows[i].max),
		       rows[i].exp, title);
	}
}


static void test_insecure(void)
{
	static const struct { const char *s; int err; unsigned flags; } r[] = {
		{"port,invite", 0, INSECURE_PORT | INSECURE_INVITE},
		{"invite",      0, INSECURE_INVITE},
		{"port",        0, INSECURE_PORT},
		{"INVITE,Port", 0, INSECURE_PORT | INSECURE_INVITE},
		{"no",          0, 0},
		{"",            0, 0},
		{"very",        EINVAL, 0},
		{"port,,invite", EINVAL, 0},
		{"port,no",     EINVAL, 0},
	};

	for (size_t i = 0; i < ARRAY_SIZE(r); i++) {
		unsigned flags = 99;
		char title[64];
		int err = trunk_insecure_parse(r[i].s, &flags);

		re_snprintf(title, sizeof(title), "insecure='%s' %s", r[i].s,
			    r[i].err ? "is refused" : "is read");
		if (is_int(err, r[i].err, title) && !err)
			is_int(flags, r[i].flags, "  flags");
	}
}


static void test_uri_with_user(void)
{
	static const struct { const char *uri, *user, *exp; } r[] = {
		{"sip:trunk@10.0.0.2:5060", "900", "sip:900@10.0.0.2:5060"},
		{"sip:trunk@10.0.0.2:5060;transport=tcp;ob", "900",
		 "sip:900@10.0.0.2:5060;transport=tcp;ob"},
		{"sip:10.0.0.2", "100", "sip:100@10.0.0.2"},
		{"sips:a@[::1]:5061", "1", "sips:1@[::1]:5061"},
		{"sip:10.0.0.2;x=a@b", "7", "sip:7@10.0.0.2;x=a@b"},
	};
	char buf[128];

	for (size_t i = 0; i < ARRAY_SIZE(r); i++) {
		char title[96];

		re_snprintf(title, sizeof(title), "%s dialled with %s", r[i].uri,
			    r[i].user);
		if (is_int(trunk_uri_with_user(buf, sizeof(buf), r[i].uri,
					       r[i].user), 0, title))
			is_str(buf, r[i].exp, "  gives the request URI");
	}

	is_int(trunk_uri_with_user(buf, sizeof(buf), "nocolon", "1"), EINVAL,
	       "a URI without a scheme is refused");
	is_int(trunk_uri_with_user(buf, sizeof(buf), "sip:", "1"), EINVAL,
	       "a URI without a host is refused");
	is_int(trunk_uri_with_user(buf, 8, "sip:a@10.0.0.2", "1"), ENOMEM,
	       "a buffer too small says so");
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 1;

	leak_begin(&lc);
	for (const struct reg_case *c = reg_cases; c->line; c++)
		test_register_line(c);
	leak_end(&lc, "register lines");

	leak_begin(&lc);
	for (const struct bad_case *c = bad_cases; c->line; c++)
		test_bad_line(c);
	test_secret_not_in_errors();
	leak_end(&lc, "refused lines");

	leak_begin(&lc);
	test_equal_and_name();
	leak_end(&lc, "equality and names");

	test_backoff();
	test_insecure();
	leak_begin(&lc);
	test_uri_with_user();
	leak_end(&lc, "uri with user");

	libre_close();

	return done_testing();
}
