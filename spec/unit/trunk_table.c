/**
 * @file trunk_table.c  Spec of the trunk table (core/sip/trunk.h) before
 * the SIP stack exists: configurations applied and re-applied (reloads),
 * what trunks_list() shows, peers found for dialling, and no leak.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "sip/endpoint.h"
#include "sip/trunk.h"
#include "sip/trunkcfg.h"
#include "tap.h"



static int add_reg(struct trunk_cfg *cfg, const char *line, const char *name)
{
	struct treg_spec *s = NULL;
	char err[64];
	int e = treg_spec_parse(&s, line, err, sizeof(err));

	if (!e && name)
		e = treg_spec_set_name(s, name);
	if (!e)
		list_append(&cfg->regs, &s->le, s);

	return e;
}


static int add_peer(struct trunk_cfg *cfg, const char *name,
		    const char *host, unsigned insecure)
{
	struct tpeer *p = NULL;
	int e = tpeer_alloc(&p, name);

	if (!e && host)
		e = str_dup(&p->host, host);
	if (!e)
		e = endpoint_alloc(&p->ep, name);
	if (e) {
		mem_deref(p);
		return e;
	}
	p->insecure = insecure;
	list_append(&cfg->peers, &p->le, p);

	return 0;
}


struct seen {
	char text[512];
};


static bool note(const struct trunk_info *ti, void *arg)
{
	struct seen *s = arg;
	size_t n = strlen(s->text);

	re_snprintf(s->text + n, sizeof(s->text) - n, "%s%s:%s:%s:%s",
		    n ? " " : "", ti->kind, ti->name, ti->state,
		    ti->server ? ti->server : "-");
	return false;
}


static const char *listing(const struct pbx *pbx, struct seen *s)
{
	s->text[0] = 0;
	trunks_list(pbx->trunks, note, s);

	return s->text;
}


static void test_apply_and_reload(void)
{
	struct pbx pbx;
	struct trunk_cfg *cfg = NULL;
	struct seen seen;

	memset(&pbx, 0, sizeof(pbx));
	(void)sa_set_str(&pbx.set.sip_addr, "127.0.0.1", 5060);

	is_int(trunks_apply(&pbx, NULL), EINVAL, "no configuration is an"
	       " error");
	is_str(listing(&pbx, &seen), "", "nothing to list before any"
	       " configuration");

	if (!is_int(trunk_cfg_alloc(&cfg), 0, "a configuration"))
		return;
	is_int(add_reg(cfg, "alice:pw@10.0.0.1", NULL), 0, "  register"
	       " alice@10.0.0.1");
	is_int(add_reg(cfg, "bob@10.0.0.2:5070/9000", "b"), 0, "  register"
	       " bob, named b");
	is_int(add_peer(cfg, "gw", "10.0.0.9", INSECURE_INVITE), 0,
	       "  peer gw at 10.0.0.9");
	is_int(add_peer(cfg, "friend", NULL, 0), 0, "  dynamic peer friend");
	is_int(trunks_apply(&pbx, cfg), 0, "applied");
	ok(pbx.trunks != NULL, "  the table exists now");
	is_str(listing(&pbx, &seen),
	       "register:alice@10.0.0.1:idle:10.0.0.1"
	       " register:b:idle:10.0.0.2:5070"
	       " peer:gw:unmonitored:10.0.0.9"
	       " peer:friend:unregistered:-",
	       "  listed: registrations (not started: idle), then peers");

	/* a reload: b unchanged, alice removed, carol added, gw gone */
	if (!is_int(trunk_cfg_alloc(&cfg), 0, "a second configuration"))
		goto out;
	is_int(add_reg(cfg, "carol@10.0.0.3", NULL), 0, "  register carol");
	is_int(add_reg(cfg, "bob@10.0.0.2:5070/9000", "b"), 0, "  b again");
	is_int(add_peer(cfg, "friend", NULL, 0), 0, "  friend again");
	is_int(trunks_apply(&pbx, cfg), 0, "applied");
	is_str(listing(&pbx, &seen),
	       "register:carol@10.0.0.3:idle:10.0.0.3"
	       " register:b:idle:10.0.0.2:5070"
	       " peer:friend:unregistered:-",
	       "  in the new order; removed ones are gone");

	/* an empty configuration empties the table */
	if (!is_int(trunk_cfg_alloc(&cfg), 0, "an empty configuration"))
		goto out;
	is_int(trunks_apply(&pbx, cfg), 0, "applied");
	is_str(listing(&pbx, &seen), "", "  nothing left");

 out:
	pbx.trunks = mem_deref(pbx.trunks);
}


static void route_seen(const struct trunk_route *rt, void *arg)
{
	str_ncpy(arg, rt->uri, 128);
}


static void test_not_a_peer(void)
{
	char uri[128] = "";
	struct pbx pbx;
	struct trunk_cfg *cfg = NULL;
	struct endpoint *ep = NULL;
	const char *ctx = NULL;
	struct sip_msg msg;

	memset(&pbx, 0, sizeof(pbx));
	memset(&msg, 0, sizeof(msg));

	ok(trunk_routes(NULL, "gw", NULL, NULL, route_seen, uri) < 0,
	   "no table: no peer to dial (the endpoints are tried)");
	ok(!trunk_inbound(NULL, &msg, &ep, &ctx), "no table: nobody trusted");
	ok(!trunk_contact_down(NULL, "sip:a@b"), "no table: nobody down");

	if (trunk_cfg_alloc(&cfg))
		return;
	(void)add_peer(cfg, "gw", "10.0.0.9", INSECURE_INVITE);
	(void)trunks_apply(&pbx, cfg);

	ok(trunk_routes(pbx.trunks, "amine", NULL, NULL, route_seen, uri) < 0,
	   "an endpoint's name is no peer");
	is_int(trunk_routes(pbx.trunks, "gw", "900", "100", route_seen, uri),
	       1, "a static peer: one route");
	ok(!strncmp(uri, "sip:900@10.0.0.9", 16), "  to the number at its"
	   " host: %s", uri);
	(void)sa_set_str(&msg.src, "10.0.0.9", 5060);
	ok(trunk_inbound(pbx.trunks, &msg, &ep, &ctx) && ep &&
	   !strcmp(ep->name, "gw"), "gw's address and port: trusted as gw");
	(void)sa_set_str(&msg.src, "10.0.0.9", 5062);
	ok(!trunk_inbound(pbx.trunks, &msg, &ep, &ctx), "another port: not"
	   " without insecure=port");
	(void)sa_set_str(&msg.src, "10.0.0.8", 5060);
	ok(!trunk_inbound(pbx.trunks, &msg, &ep, &ctx), "another address:"
	   " not trusted");

	pbx.trunks = mem_deref(pbx.trunks);
}


int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 1;
	log_set_level(LOG_WARN);   /* quiet: reloads log at info */

	leak_begin(&lc);
	test_apply_and_reload();
	leak_end(&lc, "configurations applied and reloaded");

	leak_begin(&lc);
	test_not_a_peer();
	leak_end(&lc, "peers and strangers");

	libre_close();

	return done_testing();
}
