/**
 * @file endpoint_registrar.c  Spec of the endpoint table
 * (core/sip/endpoint.h) and of caller id parsing (core/lua/settings.h).
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "media/codec.h"
#include "sip/endpoint.h"
#include "lua/settings.h"
#include "tap.h"



static int add(struct endpoint_table *t, const char *name,
	       struct endpoint **epp)
{
	struct endpoint *ep = NULL;
	int err;

	err = endpoint_alloc(&ep, name);
	if (err)
		return err;

	err = endpoint_table_add(t, ep);
	if (err)
		mem_deref(ep);   /* the table takes it only on success */
	else if (epp)
		*epp = ep;

	return err;
}


static void test_endpoint(void)
{
	struct endpoint_table *t = NULL;
	struct endpoint *ep = NULL, *e100 = NULL;
	struct pl pl;

	is_int(endpoint_alloc(&ep, ""), EINVAL, "an endpoint needs a name");
	is_int(endpoint_alloc(&ep, NULL), EINVAL, "  not NULL either");

	if (!is_int(endpoint_alloc(&ep, "200"), 0, "endpoint_alloc(\"200\")"))
		return;
	is_str(ep->name, "200", "  named");
	is_int(ep->codecs, CODEC_MASK_ALL, "  may use every codec");
	ok(ep->codec_order[0] == CODEC_PCMU &&
	   ep->codec_order[1] == CODEC_PCMA &&
	   ep->codec_order[2] == CODEC_NONE, "  preferring PCMU, then PCMA");
	ep = mem_deref(ep);

	if (!is_int(endpoint_table_alloc(&t), 0, "endpoint_table_alloc()"))
		return;
	is_int(endpoint_table_count(t), 0, "a new table is empty");
	ok(!endpoint_table_find_str(t, "100"), "  and finds nothing");

	is_int(add(t, "100", &e100), 0, "add 100");
	is_int(add(t, "101", NULL), 0, "add 101");
	is_int(add(t, "100", NULL), EEXIST, "add 100 again: EEXIST");
	is_int(endpoint_table_count(t), 2, "  two endpoints counted");
	ok(endpoint_table_find_str(t, "100") == e100,
	   "  100 is still the first one");

	pl_set_str(&pl, "100@pbx.test");
	pl.l = 3;
	ok(endpoint_table_find(t, &pl) == e100,
	   "found by a pl that is not NUL-terminated");
	pl.l = 2;
	ok(!endpoint_table_find(t, &pl), "  a prefix of a name is no name");
	ok(!endpoint_table_find_str(t, "1000"), "  nor is a longer one");
	ok(!endpoint_table_find_str(t, ""), "  nor the empty one");

	ok(!endpoint_table_find_str(NULL, "100") &&
	   endpoint_table_count(NULL) == 0, "no table: nothing, no crash");

	mem_deref(t);  /* and every endpoint in it: the leak check tells */
}


static bool count_one(struct endpoint *ep, void *arg)
{
	(void)ep;
	++*(uint32_t *)arg;
	return false;
}


static bool is_named(struct endpoint *ep, void *arg)
{
	return 0 == strcmp(ep->name, arg);
}


/* More endpoints than hash buckets, so that buckets are shared. */
static void test_many(void)
{
	enum { N = 1000 };
	struct endpoint_table *t = NULL;
	uint32_t added = 0, found = 0, seen = 0;
	struct endpoint *ep;
	char name[16];

	if (!is_int(endpoint_table_alloc(&t), 0, "a table for 1000"))
		return;

	for (unsigned i = 0; i < N; i++) {
		re_snprintf(name, sizeof(name), "%u", 1000 + i);
		added += 0 == add(t, name, NULL);
	}
	for (unsigned i = 0; i < N; i++) {
		re_snprintf(name, sizeof(name), "%u", 1000 + i);
		ep = endpoint_table_find_str(t, name);
		found += ep && !strcmp(ep->name, name);
	}

	is_int(added, N, "1000 endpoints added");
	is_int(endpoint_table_count(t), N, "  and counted");
	is_int(found, N, "  each found under its own name");

	ok(!endpoint_table_apply(t, count_one, &seen), "apply to all of them");
	is_int(seen, N, "  each visited once");
	ep = endpoint_table_apply(t, is_named, "1500");
	ok(ep && !strcmp(ep->name, "1500"), "apply stops at the first match");

	mem_deref(t);
}


/* Caller id as written in the configuration, as SIP writes From. */
static const struct cid_case {
	const char *in;
	const char *exp_name, *exp_num;
} cid_cases[] = {
	{"\"Amine\" <100>",         "Amine",       "100"},
	{"Amine <100>",             "Amine",       "100"},
	{"\"Amine B.\" <100>",      "Amine B.",    "100"},
	{"  Amine   <100>",         "Amine",       "100"},
	{"<100>",                   NULL,          "100"},
	{"\"\" <100>",              NULL,          "100"},
	{"100",                     NULL,          "100"},
	{NULL,                      NULL,          NULL},
};


static void test_callerid(const struct cid_case *c)
{
	char *name = (char *)1, *num = (char *)1;  /* must be overwritten */
	char title[64];

	re_snprintf(title, sizeof(title), "%s%s%s", c->in ? "'" : "",
		    c->in ? c->in : "NULL", c->in ? "'" : "");

	is_int(settings_parse_callerid(c->in, &name, &num), 0, title);
	is_str(name, c->exp_name, "  name");
	is_str(num, c->exp_num, "  number");

	mem_deref(name);
	mem_deref(num);
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	leak_begin(&lc);
	test_endpoint();
	leak_end(&lc, "endpoint table");

	leak_begin(&lc);
	test_many();
	leak_end(&lc, "1000 endpoints");

	for (size_t i = 0; i < ARRAY_SIZE(cid_cases); i++) {
		leak_begin(&lc);
		test_callerid(&cid_cases[i]);
		leak_end(&lc, "caller id");
	}

	libre_close();

	return done_testing();
}
