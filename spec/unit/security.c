/**
 * @file security.c  Spec of core/security/: address lists (acl), failures
 * and request rates per source (srcguard), call-limit tokens (callimit),
 * the security log's lines (seclog).  Time is passed in, so bans and
 * rates are checked to the millisecond without waiting.
 */
#include <fcntl.h>
#include <regex.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "security/acl.h"
#include "security/callimit.h"
#include "security/seclog.h"
#include "security/srcguard.h"
#include "tap.h"
#include "reloop.h"



static struct sa addr(const char *s)
{
	struct sa sa;

	if (sa_set_str(&sa, s, 5060))
		sa_init(&sa, AF_UNSPEC);
	return sa;
}


/* Address lists */

static const struct acl_case {
	const char *name;
	const char *permit[3];
	const char *deny[3];
	const char *yes[4];        /* allowed */
	const char *no[4];         /* refused */
} acl_cases[] = {
	{"no rule: everyone", {NULL}, {NULL},
	 {"192.0.2.1", "::1"}, {NULL}},
	{"permit alone: only those", {"192.168.1.0/24"}, {NULL},
	 {"192.168.1.1", "192.168.1.254"}, {"192.168.2.1", "10.0.0.1",
					     "2001:db8::1"}},
	{"deny alone: all but those", {NULL}, {"10.0.0.0/8"},
	 {"192.168.1.1", "2001:db8::1"}, {"10.1.2.3"}},
	{"Asterisk's deny 0.0.0.0/0.0.0.0 + permit a network",
	 {"192.168.1.0/255.255.255.0"}, {"0.0.0.0/0.0.0.0"},
	 {"192.168.1.7"}, {"192.168.2.7", "8.8.8.8"}},
	{"a host denied inside a permitted network",
	 {"192.168.1.0/24"}, {"192.168.1.66"},
	 {"192.168.1.65", "192.168.1.67"}, {"192.168.1.66"}},
	{"a tie: deny wins", {"10.0.0.0/8"}, {"10.0.0.0/8"},
	 {NULL}, {"10.0.0.1"}},
	{"IPv6 prefixes", {"2001:db8:1::/48"}, {"::/0"},
	 {"2001:db8:1:ffff::9"}, {"2001:db8:2::1", "192.0.2.1"}},
	{"an odd prefix length (/23)", {"192.168.2.0/23"}, {NULL},
	 {"192.168.3.200", "192.168.2.1"}, {"192.168.4.1", "192.168.1.255"}},
	{"IPv4-mapped IPv6 is its IPv4 address", {"192.0.2.0/24"}, {NULL},
	 {"::ffff:192.0.2.9"}, {"::ffff:192.0.3.9"}},
};


static void test_acl(const struct acl_case *c)
{
	struct acl *acl = NULL;
	bool good = true;
	int err;

	err = acl_alloc(&acl);
	for (int i = 0; !err && i < 3 && c->permit[i]; i++)
		err = acl_add(acl, true, c->permit[i]);
	for (int i = 0; !err && i < 3 && c->deny[i]; i++)
		err = acl_add(acl, false, c->deny[i]);
	if (!is_int(err, 0, "rules added"))
		goto out;

	for (int i = 0; i < 4 && c->yes[i]; i++) {
		struct sa a = addr(c->yes[i]);

		if (!acl_allows(acl, &a)) {
			diag("  %s refused", c->yes[i]);
			good = false;
		}
	}
	for (int i = 0; i < 4 && c->no[i]; i++) {
		struct sa a = addr(c->no[i]);

		if (acl_allows(acl, &a)) {
			diag("  %s allowed", c->no[i]);
			good = false;
		}
	}
	ok(good, "acl: %s", c->name);
 out:
	mem_deref(acl);
}


static void test_acl_syntax(void)
{
	static const char *bad[] = {
		"", "/24", "192.168.1.0/", "192.168.1.0/33", "192.168.1.0/x",
		"192.168.1.0/255.0.255.0", "host.example", "::1/129",
		"192.168.1.0/24/8", "1.2.3.4/0024",
	};
	static const char *good[] = {
		"0.0.0.0/0", "192.168.1.0/24", "10.0.0.1", "::/0", "::1",
		"2001:db8::/32", "192.168.0.0/255.255.0.0",
	};
	struct acl *acl = NULL;
	bool all = true;

	(void)acl_alloc(&acl);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		if (acl_add(acl, true, bad[i]) != EINVAL) {
			diag("  '%s' accepted", bad[i]);
			all = false;
		}
	}
	ok(all, "acl: malformed rules are EINVAL");
	all = true;
	for (size_t i = 0; i < ARRAY_SIZE(good); i++) {
		if (acl_add(acl, i % 2, good[i])) {
			diag("  '%s' refused", good[i]);
			all = false;
		}
	}
	ok(all && acl_count(acl) == ARRAY_SIZE(good), "acl: good rules count");
	ok(acl_allows(NULL, NULL), "acl: no list allows");
	mem_deref(acl);
}


/* Failures and bans */

static const struct srcguard_conf conf = {
	.fail_limit = 3, .fail_window = 60, .ban_time = 600,
	.rate = 10, .burst = 20,
};


static void test_bans(void)
{
	struct srcguard *g = NULL;
	struct sa a = addr("192.0.2.1"), b = addr("192.0.2.2");
	struct sa a2 = addr("192.0.2.1");
	uint64_t t = 1000000;

	(void)srcguard_alloc(&g);
	srcguard_configure(g, &conf, NULL);

	ok(!srcguard_failed(g, &a, t) && !srcguard_failed(g, &a, t + 1),
	   "two failures: not banned yet");
	is_int(srcguard_request(g, &a, t + 2), SRCGUARD_PASS,
	   "  and its requests pass");
	ok(srcguard_failed(g, &a, t + 3), "the third within 60 s: banned");
	sa_set_port(&a2, 7000);
	is_int(srcguard_request(g, &a2, t + 4), SRCGUARD_BANNED,
	       "  a request from another port of it: BANNED");
	is_int(srcguard_request(g, &b, t + 4), SRCGUARD_PASS,
	       "  another address: PASS");
	is_int(srcguard_bans(g), 1, "  one ban");
	is_int(srcguard_request(g, &a, t + 3 + 599999), SRCGUARD_BANNED,
	       "  still banned 1 ms before 600 s");
	is_int(srcguard_request(g, &a, t + 3 + 600000), SRCGUARD_PASS,
	       "  free again after 600 s");
	is_int(srcguard_bans(g), 0, "  no ban left");

	ok(!srcguard_failed(g, &b, t) && !srcguard_failed(g, &b, t + 30000) &&
	   !srcguard_failed(g, &b, t + 61000),
	   "three failures over more than 60 s: no ban");

	(void)srcguard_ban(g, &b, 5, t);
	ok(srcguard_banned(g, &b, t + 4999) && !srcguard_banned(g, &b, t + 5000),
	   "a ban asked for lasts its seconds");
	(void)srcguard_ban(g, &b, 5, t);
	ok(srcguard_unban(g, &b) && !srcguard_banned(g, &b, t),
	   "and can be lifted");

	mem_deref(g);
}


static void test_ipv6_block(void)
{
	struct srcguard *g = NULL;
	struct sa a = addr("2001:db8:1:2::1"), a2 = addr("2001:db8:1:2:ffff::9");
	struct sa other = addr("2001:db8:1:3::1");
	uint64_t t = 5000;

	(void)srcguard_alloc(&g);
	srcguard_configure(g, &conf, NULL);
	for (int i = 0; i < 3; i++)
		(void)srcguard_failed(g, &a, t);
	ok(srcguard_banned(g, &a2, t), "IPv6: the whole /64 is banned");
	ok(!srcguard_banned(g, &other, t), "  the next /64 is not");
	mem_deref(g);
}


static void test_trusted(void)
{
	struct srcguard *g = NULL;
	struct acl *trusted = NULL;
	struct sa a = addr("10.0.0.5");
	uint64_t t = 5000;

	(void)acl_alloc(&trusted);
	(void)acl_add(trusted, true, "10.0.0.0/8");
	(void)srcguard_alloc(&g);
	srcguard_configure(g, &conf, trusted);
	for (int i = 0; i < 10; i++)
		(void)srcguard_failed(g, &a, t);
	ok(!srcguard_banned(g, &a, t), "a trusted source is never banned");
	for (int i = 0; i < 100; i++)
		if (srcguard_request(g, &a, t) != SRCGUARD_PASS)
			break;
	is_int(srcguard_request(g, &a, t), SRCGUARD_PASS,
	       "  nor limited (100 requests in 1 ms)");
	mem_deref(g);
	mem_deref(trusted);
}


static void test_rate(void)
{
	struct srcguard *g = NULL;
	struct sa a = addr("198.51.100.1");
	uint64_t t = 7000;
	int passed = 0;

	(void)srcguard_alloc(&g);
	srcguard_configure(g, &conf, NULL);

	for (int i = 0; i < 30; i++)
		passed += srcguard_request(g, &a, t) == SRCGUARD_PASS;
	is_int(passed, 20, "rate 10/s, burst 20: 20 of 30 at once pass");
	is_int(srcguard_request(g, &a, t + 99), SRCGUARD_RATE,
	       "  99 ms later still refused (503)");
	is_int(srcguard_request(g, &a, t + 100), SRCGUARD_PASS,
	       "  100 ms later one more passes");

	passed = 0;
	for (int i = 1; i <= 100; i++)
		passed += srcguard_request(g, &a, t + 100 + i * 100) ==
			SRCGUARD_PASS;
	is_int(passed, 100, "  10 a second for 10 s: all pass");

	srcguard_configure(g, &(struct srcguard_conf){ .rate = 0 }, NULL);
	passed = 0;
	for (int i = 0; i < 1000; i++)
		passed += srcguard_request(g, &a, t + 20000) == SRCGUARD_PASS;
	is_int(passed, 1000, "rate 0: no limit");
	mem_deref(g);
}


static void test_forget(void)
{
	struct srcguard *g = NULL;
	struct sa a = addr("198.51.100.7"), b = addr("198.51.100.8");
	uint64_t t = 10000;

	(void)srcguard_alloc(&g);
	srcguard_configure(g, &conf, NULL);
	(void)srcguard_request(g, &a, t);
	(void)srcguard_failed(g, &b, t);
	(void)srcguard_failed(g, &b, t);
	(void)srcguard_failed(g, &b, t);
	is_int(srcguard_count(g), 2, "two sources remembered");
	srcguard_sweep(g, t + 59000);
	is_int(srcguard_count(g), 2, "  kept within the failure window");
	srcguard_sweep(g, t + 61000);
	is_int(srcguard_count(g), 1, "  the idle one forgotten after it,"
	       " the banned one kept");
	srcguard_sweep(g, t + 600000);
	is_int(srcguard_count(g), 0, "  and once its ban ran out, it too");
	mem_deref(g);
}


static void test_many_sources(void)
{
	struct srcguard *g = NULL;
	struct sa a = addr("203.0.113.1");
	uint64_t t = 1;

	(void)srcguard_alloc(&g);
	srcguard_configure(g, &conf, NULL);
	for (int i = 0; i < 3; i++)
		(void)srcguard_failed(g, &a, t);
	for (uint32_t i = 0; i < SRCGUARD_MAX + 100; i++) {
		struct sa s;

		sa_set_in(&s, 0x0a000000 + i, 5060);
		(void)srcguard_request(g, &s, t + 1);
	}
	ok(srcguard_count(g) <= SRCGUARD_MAX, "a flood of sources: at most"
	   " %u remembered", SRCGUARD_MAX);
	ok(srcguard_banned(g, &a, t + 2), "  the banned one among them kept");
	mem_deref(g);
}


/* Call limits */

static void test_climit(void)
{
	struct climit *cl = NULL;
	struct climit_tok *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;

	(void)climit_alloc(&cl);
	is_int(climit_take(cl, "amine", 2, 3, &t1), 0, "amine's first call");
	is_int(climit_take(cl, "amine", 2, 3, &t2), 0, "amine's second");
	is_int(climit_take(cl, "amine", 2, 3, &t3), EBUSY,
	       "amine's third: EBUSY (call_limit 2)");
	is_int(climit_take(cl, NULL, 0, 3, &t3), 0, "a guest call");
	is_int(climit_take(cl, "bob", 0, 3, &t4), ENOSPC,
	       "bob's: ENOSPC (3 calls in all)");
	is_int(climit_total(cl), 3, "  3 calls");
	is_int(climit_count(cl, "amine"), 2, "  2 of amine");
	mem_deref(t1);
	is_int(climit_count(cl, "amine"), 1, "a token gone: its slot back");
	is_int(climit_take(cl, "bob", 0, 3, &t4), 0, "  bob's call now");

	/* a token outlives its counter's owner */
	mem_deref(cl);
	mem_deref(t2);
	mem_deref(t3);
	mem_deref(t4);
	ok(true, "tokens given back after their counter was dropped");
}


/* The security log */

static bool matches(const char *s, const char *rx)
{
	regex_t re;
	bool m;

	if (regcomp(&re, rx, REG_EXTENDED | REG_NOSUB))
		return false;
	m = 0 == regexec(&re, s, 0, NULL, 0);
	regfree(&re);

	return m;
}


static void test_seclog(void)
{
	char path[] = "/tmp/lunapbx-seclog-XXXXXX", buf[4096], q[200];
	struct sa a = addr("192.0.2.33");
	struct pl user;
	ssize_t n;
	int fd;

	fd = mkstemp(path);
	close(fd);
	is_int(seclog_open(path), 0, "security log opened");
	pl_set_str(&user, "evil\"\r\nremote=6.6.6.6 \xff");
	seclog_event("AuthFailed", &a, "udp", "user=%s method=REGISTER",
		     seclog_quote(q, sizeof(q), &user));
	seclog_close();

	fd = open(path, O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	unlink(path);
	buf[n > 0 ? n : 0] = '\0';

	ok(matches(buf, "^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:"
		   "[0-9]{2}\\.[0-9]{3} lunapbx\\[[0-9]+\\]: SECURITY"
		   " AuthFailed remote=192\\.0\\.2\\.33 port=5060"
		   " transport=udp user="),
	   "a dated line with the event and remote=");
	ok(strchr(buf, '\n') == buf + strlen(buf) - 1,
	   "  one line, whatever the user name held");
	ok(strstr(buf, "user=\"evil\\\"\\x0d\\x0aremote=6.6.6.6 \\xff\"") != NULL,
	   "  the name quoted and escaped");
}


static void test_seclog_cap(void)
{
	uint64_t before = seclog_count();

	for (int i = 0; i < 5000; i++)
		seclog_event("Flood", NULL, NULL, NULL);
	ok(seclog_count() - before <= SECLOG_BURST + 1,
	   "5000 events at once: at most the burst (%u) of lines (%llu)",
	   SECLOG_BURST, (unsigned long long)(seclog_count() - before));
}


/* Allocation failures */

static int op_acl(void *arg)
{
	struct acl *acl = NULL;
	int err = acl_alloc(&acl);
	(void)arg;

	if (!err)
		err = acl_add(acl, true, "192.168.0.0/16");
	mem_deref(acl);
	return err;
}


static int op_guard(void *arg)
{
	struct srcguard *g = NULL;
	struct sa a = addr("192.0.2.1");
	int err = srcguard_alloc(&g);
	(void)arg;

	if (!err) {
		srcguard_configure(g, &conf, NULL);
		for (int i = 0; i < 3; i++)
			(void)srcguard_failed(g, &a, 1);
		err = srcguard_request(g, &a, 2) == SRCGUARD_BANNED
			? 0 : ENOMEM;
	}
	mem_deref(g);
	return err;
}


static int op_climit(void *arg)
{
	struct climit *cl = NULL;
	struct climit_tok *t = NULL, *u = NULL;
	int err = climit_alloc(&cl);
	(void)arg;

	if (!err)
		err = climit_take(cl, "amine", 1, 0, &t);
	if (!err)
		err = climit_take(cl, "bob", 1, 0, &u);
	mem_deref(t);
	mem_deref(u);
	if (!err && climit_total(cl))
		err = EPROTO;
	mem_deref(cl);
	return err;
}


static void nothing(void *arg)
{
	(void)arg;
}


/* The timer heap (core/tmrheap.c) is made by the first timer started,
 * and kept: not a leak of the first test case. */
static void warm_up_timers(void)
{
	struct tmr t;

	tmr_init(&t);
	tmr_start(&t, 1000, nothing, NULL);
	tmr_cancel(&t);
}


int main(void)
{
	struct leakcheck lc;

	if (reloop_init())
		return 255;

	leak_begin(&lc);
	for (size_t i = 0; i < ARRAY_SIZE(acl_cases); i++)
		test_acl(&acl_cases[i]);
	test_acl_syntax();
	leak_end(&lc, "address lists");

	warm_up_timers();
	leak_begin(&lc);
	test_bans();
	leak_end(&lc, "bans");
	leak_begin(&lc);
	test_ipv6_block();
	test_trusted();
	leak_end(&lc, "IPv6, trusted");
	leak_begin(&lc);
	test_rate();
	test_forget();
	leak_end(&lc, "rates, forgetting");
	leak_begin(&lc);
	test_many_sources();
	leak_end(&lc, "a flood of sources");

	leak_begin(&lc);
	test_climit();
	leak_end(&lc, "call limits");

	test_seclog();
	test_seclog_cap();

	alloc_fail_each("acl_alloc + acl_add", op_acl, NULL);
	alloc_fail_each("srcguard: a source banned", op_guard, NULL);
	alloc_fail_each("callimit: two tokens", op_climit, NULL);

	libre_close();

	return done_testing();
}
