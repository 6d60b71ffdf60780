/**
 * @file trunk.c  The trunk table: registrations, peers, qualify; reloads,
 * inbound calls from peers, and dialling a number over a peer.
 */
#include <string.h>
#include <netdb.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "sip/endpoint.h"
#include "sip/qualify.h"
#include "sip/registrar.h"
#include "sip/sipstack.h"
#include "sip/treg.h"
#include "sip/trunk.h"
#include "sip/trunkcfg.h"

enum {
	SWEEP_MS = 1000,          /* qualify follows registrations    */
	REPLACE_DELAY_MS = 1000,  /* a changed registration: the old
				     one's un-REGISTER goes first     */
};

struct trunks {
	struct pbx *pbx;
	struct list regs;         /* struct treg  */
	struct list peers;        /* struct tpeer */
	struct list quals;        /* struct tqual */
	struct qualify *qualify;
	struct tmr sweep_tmr;
	bool started;
};


static void cfg_destructor(void *arg)
{
	struct trunk_cfg *cfg = arg;

	list_flush(&cfg->regs);
	list_flush(&cfg->peers);
	list_flush(&cfg->quals);
}


int trunk_cfg_alloc(struct trunk_cfg **cfgp)
{
	struct trunk_cfg *cfg;

	if (!cfgp)
		return EINVAL;

	cfg = mem_zalloc(sizeof(*cfg), cfg_destructor);
	if (!cfg)
		return ENOMEM;

	*cfgp = cfg;

	return 0;
}


static void peer_destructor(void *arg)
{
	struct tpeer *p = arg;

	list_unlink(&p->le);
	mem_deref(p->name);
	mem_deref(p->host);
	mem_deref(p->defaultuser);
	mem_deref(p->secret);
	mem_deref(p->fromuser);
	mem_deref(p->fromdomain);
	mem_deref(p->context);
	mem_deref(p->ep);
	mem_deref(p->creds);
}


int tpeer_alloc(struct tpeer **pp, const char *name)
{
	struct tpeer *p;
	int err;

	if (!pp || !name || !*name)
		return EINVAL;

	p = mem_zalloc(sizeof(*p), peer_destructor);
	if (!p)
		return ENOMEM;

	p->tp = SIP_TRANSP_UDP;
	sa_init(&p->addr, AF_UNSPEC);
	err = str_dup(&p->name, name);

	if (err)
		mem_deref(p);
	else
		*pp = p;

	return err;
}


static void qual_destructor(void *arg)
{
	struct tqual *q = arg;

	list_unlink(&q->le);
	mem_deref(q->name);
}


int tqual_alloc(struct tqual **qp, const char *name, uint32_t maxms,
		uint32_t freq_s)
{
	struct tqual *q;
	int err;

	if (!qp || !name)
		return EINVAL;

	q = mem_zalloc(sizeof(*q), qual_destructor);
	if (!q)
		return ENOMEM;

	q->maxms = maxms;
	q->freq_s = freq_s;
	err = str_dup(&q->name, name);

	if (err)
		mem_deref(q);
	else
		*qp = q;

	return err;
}


static void destructor(void *arg)
{
	struct trunks *t = arg;

	tmr_cancel(&t->sweep_tmr);
	list_flush(&t->regs);
	list_flush(&t->peers);
	list_flush(&t->quals);
	mem_deref(t->qualify);
}


/* sip:[user@]host[:port][;transport=tcp] of a static peer */
static int peer_uri(const struct tpeer *p, const char *user, char *buf,
		    size_t sz)
{
	bool v6 = strchr(p->host, ':') != NULL;
	char port[8] = "";

	if (p->port)
		(void)re_snprintf(port, sizeof(port), ":%u", p->port);

	return re_snprintf(buf, sz, "sip:%s%s%s%s%s%s%s", user ? user : "",
			   user ? "@" : "", v6 ? "[" : "", p->host,
			   v6 ? "]" : "", port, p->tp == SIP_TRANSP_TCP
			   ? ";transport=tcp" : "") < 0 ? ENOMEM : 0;
}


static struct tpeer *peer_find(const struct trunks *t, const char *name)
{
	for (struct le *le = t ? t->peers.head : NULL; le; le = le->next) {
		struct tpeer *p = le->data;

		if (0 == strcmp(p->name, name))
			return p;
	}
	return NULL;
}


static struct treg *reg_find(const struct list *regs, const char *name)
{
	for (struct le *le = regs->head; le; le = le->next) {
		struct treg *r = le->data;

		if (0 == strcmp(treg_spec(r)->name, name))
			return r;
	}
	return NULL;
}


static const struct list *contacts_of(const struct trunks *t,
				      const char *name)
{
	return registrar_contacts(t->pbx->registrar, name);
}


/* The probes wanted now: static peers, the contacts of dynamic peers and
 * of qualified endpoints.  Registrations come and go: hence the sweep. */
static void want_contacts(struct trunks *t, const char *name, uint32_t ms,
			  uint32_t freq)
{
	for (struct le *le = list_head(contacts_of(t, name)); le;
	     le = le->next) {
		const struct contact *c = le->data;

		(void)qualify_want(t->qualify, c->uri, name, ms, freq);
	}
}


static void sweep(void *arg)
{
	struct trunks *t = arg;
	char uri[256];

	qualify_mark(t->qualify);
	for (struct le *le = t->peers.head; le; le = le->next) {
		const struct tpeer *p = le->data;

		if (!p->qualify_ms)
			continue;
		if (!p->host)
			want_contacts(t, p->name, p->qualify_ms,
				      p->qualify_freq);
		else if (!peer_uri(p, NULL, uri, sizeof(uri)))
			(void)qualify_want(t->qualify, uri, p->name,
					   p->qualify_ms, p->qualify_freq);
	}
	for (struct le *le = t->quals.head; le; le = le->next) {
		const struct tqual *q = le->data;

		want_contacts(t, q->name, q->maxms, q->freq_s);
	}
	qualify_sweep(t->qualify);

	tmr_start(&t->sweep_tmr, SWEEP_MS, sweep, t);
}


/* A static host's address, for telling its calls apart. */
static void peer_resolve(struct tpeer *p)
{
	struct addrinfo hints, *res = NULL;
	uint16_t port = p->port ? p->port : SIP_PORT;

	if (!p->host || !sa_set_str(&p->addr, p->host, port))
		return;

	/* a name: resolved once per (re)load, like Asterisk's peers */
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(p->host, NULL, &hints, &res) || !res) {
		log_warn("peer %s: cannot resolve %s: its calls cannot be told"
			 " by address", p->name, p->host);
		return;
	}
	(void)sa_set_sa(&p->addr, res->ai_addr);
	sa_set_port(&p->addr, port);
	freeaddrinfo(res);
}


static int start_reg(struct trunks *t, struct treg_spec *spec,
		     struct list *to, uint32_t delay_ms)
{
	struct treg *r;
	int err = treg_alloc(&r, spec, to);

	if (!err && t->started)
		err = treg_start(r, sipstack_sip(t->pbx->stack), delay_ms);
	if (err)
		log_error("register %s: cannot start: %m", spec->name, err);

	return err;
}


/*
 * Registrations: unchanged ones go on untouched; a changed one is dropped
 * (un-REGISTER) and made again; a removed one is dropped.
 */
static void apply_regs(struct trunks *t, struct trunk_cfg *cfg)
{
	struct list next = LIST_INIT;
	struct le *le;

	while ((le = list_head(&cfg->regs))) {
		struct treg_spec *spec = le->data;
		struct treg *old = reg_find(&t->regs, spec->name);

		list_unlink(&spec->le);
		if (old && treg_spec_equal(treg_spec(old), spec)) {
			log_info("reload: register %s unchanged", spec->name);
			treg_move(old, &next);
		}
		else if (old) {
			log_info("reload: register %s changed: registering"
				 " again", spec->name);
			mem_deref(old);
			(void)start_reg(t, spec, &next, REPLACE_DELAY_MS);
		}
		else {
			(void)start_reg(t, spec, &next, 0);
		}
		mem_deref(spec);
	}

	while ((le = list_head(&t->regs))) {
		struct treg *r = le->data;

		log_info("reload: register %s removed", treg_spec(r)->name);
		mem_deref(r);
	}
	while ((le = list_head(&next)))
		treg_move(le->data, &t->regs);
}


static void move_all(struct list *from, struct list *to)
{
	struct le *le;

	while ((le = list_head(from))) {
		list_unlink(le);
		list_append(to, le, le->data);
	}
}


/** Put a configuration in force; @a cfg is consumed. */
int trunks_apply(struct pbx *pbx, struct trunk_cfg *cfg)
{
	struct trunks *t = pbx->trunks;

	if (!cfg)
		return EINVAL;

	if (!t) {
		t = mem_zalloc(sizeof(*t), destructor);
		if (!t) {
			mem_deref(cfg);
			return ENOMEM;
		}
		t->pbx = pbx;
		tmr_init(&t->sweep_tmr);
		pbx->trunks = t;
	}

	apply_regs(t, cfg);

	list_flush(&t->peers);
	for (struct le *le = cfg->peers.head; le; le = le->next)
		peer_resolve(le->data);
	move_all(&cfg->peers, &t->peers);

	list_flush(&t->quals);
	move_all(&cfg->quals, &t->quals);
	mem_deref(cfg);

	if (t->started)
		sweep(t);

	return 0;
}


/** The SIP stack exists: registrations and qualify begin. */
int trunks_start(struct trunks *t)
{
	struct sip *sip;
	char from[256];
	int err;

	if (!t || t->started)
		return 0;

	sip = sipstack_sip(t->pbx->stack);
	err = sipstack_local_uri(t->pbx->stack, from, sizeof(from), NULL);
	if (!err)
		err = qualify_alloc(&t->qualify, sip, from);
	if (err)
		return err;

	t->started = true;
	for (struct le *le = t->regs.head; le; le = le->next)
		(void)treg_start(le->data, sip, 0);
	sweep(t);

	return 0;
}


static bool same_source(const struct sa *src, const struct sa *known,
			unsigned insecure)
{
	return sa_cmp(src, known, insecure & INSECURE_PORT ? SA_ADDR
		      : SA_ALL);
}


/** sip.conf's insecure=invite: a peer's INVITE, known by its source
 *  address, is not challenged; it lands in the peer's context. */
bool trunk_inbound(const struct trunks *t, const struct sip_msg *msg,
		   struct endpoint **epp, const char **contextp)
{
	for (struct le *le = t ? t->peers.head : NULL; le; le = le->next) {
		const struct tpeer *p = le->data;
		bool match = false;

		if (!(p->insecure & INSECURE_INVITE))
			continue;

		if (p->host) {
			match = sa_isset(&p->addr, SA_ADDR) &&
				same_source(&msg->src, &p->addr, p->insecure);
		}
		else {
			for (struct le *c = list_head(contacts_of(t, p->name));
			     c && !match; c = c->next) {
				const struct contact *ct = c->data;

				match = same_source(&msg->src, &ct->src,
						    p->insecure);
			}
		}
		if (!match)
			continue;

		log_info("peer %s: INVITE from %J trusted by its address"
			 " (insecure=invite)", p->name, &msg->src);
		*epp = p->ep;
		*contextp = p->context;
		return true;
	}

	return false;
}


bool trunk_contact_down(const struct trunks *t, const char *uri)
{
	return t && qualify_get(t->qualify, uri, NULL) == QUALIFY_UNREACHABLE;
}


/** What qualify knows of a URI, for the console: 1 answers (in @a rtt_ms),
 *  0 does not, -1 not known (no qualify, or no answer yet). */
int trunk_contact_reachable(const struct trunks *t, const char *uri,
			    uint32_t *rtt_ms)
{
	switch (t ? qualify_get(t->qualify, uri, rtt_ms) : QUALIFY_UNKNOWN) {

	case QUALIFY_REACHABLE:
	case QUALIFY_LAGGED:
		return 1;
	case QUALIFY_UNREACHABLE:
		return 0;
	default:
		return -1;
	}
}


static int route_static(struct trunks *t, const struct tpeer *p,
			const char *number, const char *from_num,
			trunk_route_h *h, void *arg)
{
	char uri[256], from[256];
	struct trunk_route rt;
	int err;

	/* the probe's URI is the host's, without a user */
	err = peer_uri(p, NULL, uri, sizeof(uri));
	if (!err && p->qualify_ms && trunk_contact_down(t, uri)) {
		log_info("trunk: peer %s is unreachable (qualify): not"
			 " dialled", p->name);
		return 0;
	}

	err |= peer_uri(p, number ? number : p->defaultuser, uri,
			sizeof(uri));
	if (err)
		return 0;

	if (!from_num)
		from_num = "lunapbx";
	if (p->fromdomain)
		re_snprintf(from, sizeof(from), "sip:%s@%s", p->fromuser
			    ? p->fromuser : from_num, p->fromdomain);
	else
		re_snprintf(from, sizeof(from), "sip:%s@%J", p->fromuser
			    ? p->fromuser : from_num, &t->pbx->set.sip_addr);

	memset(&rt, 0, sizeof(rt));
	rt.uri = uri;
	rt.from_uri = from;
	rt.authh = tcreds_auth_handler;
	rt.aarg = p->creds;
	rt.ep = p->ep;
	h(&rt, arg);

	return 1;
}


static int route_dynamic(struct trunks *t, const struct tpeer *p,
			 const char *number, trunk_route_h *h, void *arg)
{
	struct trunk_route rt;
	char uri[256];
	int n = 0;

	memset(&rt, 0, sizeof(rt));
	rt.authh = tcreds_auth_handler;
	rt.aarg = p->creds;
	rt.ep = p->ep;

	for (struct le *le = list_head(contacts_of(t, p->name)); le;
	     le = le->next) {
		const struct contact *c = le->data;

		if (trunk_contact_down(t, c->uri)) {
			log_info("trunk: peer %s at %s is unreachable"
				 " (qualify)", p->name, c->uri);
			continue;
		}
		rt.uri = c->uri;
		if (number) {
			if (trunk_uri_with_user(uri, sizeof(uri), c->uri,
						number))
				continue;
			rt.uri = uri;
		}
		h(&rt, arg);
		++n;
	}
	if (!n)
		log_info("trunk: peer %s has no reachable registered"
			 " contact", p->name);

	return n;
}


/**
 * Where to send a call to @a name if it is a peer: its host (static) or
 * its registered contacts (dynamic), asking for @a number, each given to
 * @a h.  Returns how many, or -1 when @a name is no peer (the caller tries
 * the endpoints).
 */
int trunk_routes(struct trunks *t, const char *name, const char *number,
		 const char *from_num, trunk_route_h *h, void *arg)
{
	const struct tpeer *p = peer_find(t, name);

	if (!p) {
		if (number)
			log_info("trunk: %s is no peer: number %s ignored",
				 name, number);
		return -1;
	}

	return p->host ? route_static(t, p, number, from_num, h, arg)
		: route_dynamic(t, p, number, h, arg);
}


static const char *peer_state(const struct trunks *t, const struct tpeer *p,
			      struct trunk_info *info)
{
	enum qualify_state best = QUALIFY_UNKNOWN;
	bool any_down = false;
	char uri[256];

	if (p->host) {
		if (!p->qualify_ms)
			return "unmonitored";
		if (peer_uri(p, NULL, uri, sizeof(uri)))
			return "unknown";
		best = qualify_get(t->qualify, uri, &info->rtt_ms);
	}
	else {
		const struct list *cl = contacts_of(t, p->name);

		info->contacts = list_count(cl);
		if (!info->contacts)
			return "unregistered";
		if (!p->qualify_ms)
			return "registered";
		for (struct le *le = list_head(cl); le; le = le->next) {
			const struct contact *c = le->data;
			uint32_t rtt;
			enum qualify_state st = qualify_get(t->qualify,
							    c->uri, &rtt);

			if (st == QUALIFY_REACHABLE || (st == QUALIFY_LAGGED &&
			    best != QUALIFY_REACHABLE)) {
				best = st;
				info->rtt_ms = rtt;
			}
			any_down |= st == QUALIFY_UNREACHABLE;
		}
		if (best == QUALIFY_UNKNOWN && any_down)
			best = QUALIFY_UNREACHABLE;
	}

	info->reachable = best == QUALIFY_UNKNOWN ? -1
		: best != QUALIFY_UNREACHABLE;

	return qualify_state_name(best);
}


/** Every registration, then every peer, as `_core.trunks()` lists them. */
void trunks_list(const struct trunks *t, trunk_info_h *h, void *arg)
{
	struct trunk_info info;
	char server[256];

	for (struct le *le = t ? t->regs.head : NULL; le; le = le->next) {
		const struct treg_spec *s = treg_spec(le->data);
		struct treg_info ri;

		treg_info(le->data, &ri);
		memset(&info, 0, sizeof(info));
		info.name = s->name;
		info.kind = "register";
		info.state = treg_state_name(ri.state);
		info.expires_in = ri.expires_in;
		info.retry_in = ri.retry_in;
		info.failures = ri.failures;
		info.reachable = ri.state == TREG_REGISTERED ? 1
			: ri.state == TREG_FAILED ? 0 : -1;
		info.last_error = ri.last_error[0] ? ri.last_error : NULL;
		info.server = treg_spec_server(s, server, sizeof(server))
			? NULL : server + 4;
		if (h(&info, arg))
			return;
	}

	for (struct le *le = t ? t->peers.head : NULL; le; le = le->next) {
		const struct tpeer *p = le->data;

		memset(&info, 0, sizeof(info));
		info.name = p->name;
		info.kind = "peer";
		info.expires_in = info.retry_in = -1;
		info.reachable = -1;
		info.state = peer_state(t, p, &info);
		info.server = p->host && !peer_uri(p, NULL, server,
						   sizeof(server))
			? server + 4 : NULL;
		if (h(&info, arg))
			return;
	}
}
