/**
 * @file registrar.c  REGISTER processing and the bindings it keeps.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include "log.h"
#include "event/event.h"
#include "sip/registrar.h"
#include "sip/regstore.h"
#include "store/store.h"

enum { MAX_BINDINGS_IN_REQ = 16 };

struct registrar {
	struct sip *sip;
	struct hash *aors;
	struct registrar_conf conf;
	uint32_t count;       /* contacts over all endpoints */
	registrar_bound_h *boundh;   /* a REGISTER added or refreshed */
	void *arg;
	bool closing;         /* the PBX stops: its contacts are no news */
	struct store *store;  /* bindings kept across restarts, or NULL */
};

struct aor {
	struct le he;
	char *name;
	struct list contacts;
	struct registrar *reg;
};

/* One Contact of a REGISTER request, decoded before anything changes. */
struct binding_req {
	struct pl uri;
	uint32_t expires;
};


/* "registered" / "unregistered" on the event bus: a contact comes or
 * goes (a refresh is no news). */
static void publish(const char *name, const char *aor, const char *uri,
		    const struct sa *src, uint32_t expires, const char *why)
{
	struct event *ev;

	if (!event_wanted() || event_alloc(&ev, name))
		return;

	(void)event_str(ev, "endpoint", aor);
	(void)event_str(ev, "contact", uri);
	if (src && sa_isset(src, SA_ALL)) {
		char a[64];

		re_snprintf(a, sizeof(a), "%J", src);
		(void)event_str(ev, "source", a);
	}
	if (expires)
		(void)event_int(ev, "expires", expires);
	(void)event_str(ev, "reason", why);
	event_publish(ev);
}


static void aor_destructor(void *arg)
{
	struct aor *aor = arg;

	hash_unlink(&aor->he);
	list_flush(&aor->contacts);
	mem_deref(aor->name);
}


static void contact_destructor(void *arg)
{
	struct contact *c = arg;

	tmr_cancel(&c->tmr);
	list_unlink(&c->le);
	if (c->aor && !c->aor->reg->closing)
		publish("unregistered", c->aor->name, c->uri, &c->src, 0,
			tmr_jiffies() >= c->expires ? "expired" : "removed");
	if (c->aor)
		--c->aor->reg->count;
	mem_deref(c->uri);
	mem_deref(c->callid);
}


static void reg_destructor(void *arg)
{
	struct registrar *reg = arg;

	reg->closing = true;
	hash_flush(reg->aors);
	mem_deref(reg->aors);
}


int registrar_alloc(struct registrar **regp, struct sip *sip,
		    const struct registrar_conf *conf)
{
	struct registrar *reg;
	int err;

	if (!regp || !sip)
		return EINVAL;

	reg = mem_zalloc(sizeof(*reg), reg_destructor);
	if (!reg)
		return ENOMEM;

	reg->sip = sip;
	reg->conf.min_expires  = conf ? conf->min_expires  : 60;
	reg->conf.max_expires  = conf ? conf->max_expires  : 3600;
	reg->conf.max_contacts = conf ? conf->max_contacts : 10;

	err = hash_alloc(&reg->aors, 256);
	if (err)
		mem_deref(reg);
	else
		*regp = reg;

	return err;
}


static bool aor_cmp(struct le *le, void *arg)
{
	const struct aor *aor = le->data;

	return 0 == strcmp(aor->name, arg);
}


static struct aor *aor_find(const struct registrar *reg, const char *name)
{
	struct le *le = hash_lookup(reg->aors, hash_joaat_str(name), aor_cmp,
				    (void *)name);

	return le ? le->data : NULL;
}


static struct aor *aor_get(struct registrar *reg, const char *name)
{
	struct aor *aor = aor_find(reg, name);

	if (aor)
		return aor;

	aor = mem_zalloc(sizeof(*aor), aor_destructor);
	if (!aor || str_dup(&aor->name, name))
		return mem_deref(aor);

	aor->reg = reg;
	hash_append(reg->aors, hash_joaat_str(name), &aor->he, aor);

	return aor;
}


/* A binding that went, from the store too. */
static void forget(struct registrar *reg, const char *aor, const char *uri)
{
	int err = uri ? regstore_del(reg->store, aor, uri)
		: regstore_del_aor(reg->store, aor);

	if (err && reg->store)
		log_warn("registrar: %s: not removed from the store: %m (%s)",
			 aor, err, store_errmsg(reg->store));
}


static void contact_expired(void *arg)
{
	struct contact *c = arg;
	struct aor *aor = c->aor;

	log_info("registrar: %s: contact %s expired", aor->name, c->uri);
	forget(aor->reg, aor->name, c->uri);
	mem_deref(c);
	if (list_isempty(&aor->contacts))
		mem_deref(aor);
}


static struct contact *contact_find(const struct aor *aor,
				    const struct pl *uri)
{
	for (struct le *le = aor->contacts.head; le; le = le->next) {
		struct contact *c = le->data;

		if (0 == pl_strcmp(uri, c->uri))
			return c;
	}
	return NULL;
}


/* The expiry of one contact: its own parameter, else Expires, else ours. */
static uint32_t binding_expires(const struct registrar *reg,
				const struct sip_msg *msg,
				const struct sip_addr *addr)
{
	struct pl val;

	if (0 == msg_param_decode(&addr->params, "expires", &val))
		return pl_u32(&val);
	if (pl_isset(&msg->expires))
		return pl_u32(&msg->expires);

	return reg->conf.max_expires;
}


struct decode_ctx {
	const struct registrar *reg;
	const struct sip_msg *msg;
	struct binding_req req[MAX_BINDINGS_IN_REQ];
	uint32_t n;
	bool wildcard;
	int err;
};


static bool decode_contact(const struct sip_hdr *hdr,
			   const struct sip_msg *msg, void *arg)
{
	struct decode_ctx *ctx = arg;
	struct sip_addr addr;

	if (0 == pl_strcmp(&hdr->val, "*")) {
		ctx->wildcard = true;
		return false;
	}

	if (sip_addr_decode(&addr, &hdr->val) ||
	    ctx->n >= MAX_BINDINGS_IN_REQ) {
		ctx->err = EBADMSG;
		return true;
	}

	ctx->req[ctx->n].uri = addr.auri;
	ctx->req[ctx->n].expires = binding_expires(ctx->reg, msg, &addr);
	++ctx->n;

	return false;
}


static int contact_update(struct aor *aor, const struct sip_msg *msg,
			  const struct binding_req *b, uint32_t expires)
{
	struct contact *c = contact_find(aor, &b->uri);
	bool added = !c;
	int err = 0;

	if (!c) {
		c = mem_zalloc(sizeof(*c), contact_destructor);
		if (!c)
			return ENOMEM;
		err = pl_strdup(&c->uri, &b->uri);
		if (err) {
			mem_deref(c);
			return err;
		}
		c->aor = aor;
		++aor->reg->count;
		list_append(&aor->contacts, &c->le, c);
		log_info("registrar: %s: new contact %s from %J", aor->name,
			 c->uri, &msg->src);
	}

	c->src = msg->src;
	c->tp = msg->tp;
	c->cseq = msg->cseq.num;
	c->callid = mem_deref(c->callid);
	err = pl_strdup(&c->callid, &msg->callid);
	c->expires = tmr_jiffies() + expires * 1000ULL;
	tmr_start(&c->tmr, expires * 1000ULL, contact_expired, c);
	if (added)
		publish("registered", aor->name, c->uri, &c->src, expires,
			"register");

	/* kept before the 200 goes out: a 200 means it survives a crash */
	if (!err && aor->reg->store &&
	    regstore_put(aor->reg->store, aor->name, c,
			 (uint64_t)time(NULL) + expires))
		log_warn("registrar: %s: %s not kept in the store (%s): it"
			 " will not survive a restart", aor->name, c->uri,
			 store_errmsg(aor->reg->store));

	return err;
}


static int reply_ok(struct registrar *reg, const struct sip_msg *msg,
		    const struct aor *aor)
{
	struct mbuf *mb = mbuf_alloc(256);
	uint64_t now = tmr_jiffies();
	int err = 0;

	if (!mb)
		return ENOMEM;

	for (struct le *le = aor ? aor->contacts.head : NULL; le;
	     le = le->next) {
		const struct contact *c = le->data;

		err |= mbuf_printf(mb, "Contact: <%s>;expires=%llu\r\n",
				   c->uri, (c->expires - now + 500) / 1000);
	}
	if (!err)
		err = sip_replyf(reg->sip, msg, 200, "OK",
				 "%bDate: %H\r\nContent-Length: 0\r\n\r\n",
				 mb->buf, mb->end, fmt_gmtime, NULL);
	mem_deref(mb);

	return err;
}


static void remove_all(struct registrar *reg, const char *name)
{
	struct aor *aor = aor_find(reg, name);

	if (aor) {
		log_info("registrar: %s: all contacts removed", name);
		forget(reg, name, NULL);
		mem_deref(aor);
	}
}


/**
 * Apply a REGISTER of an authenticated endpoint and answer it.  Nothing
 * changes unless the whole request is acceptable.
 */
int registrar_handle(struct registrar *reg, const struct sip_msg *msg,
		     const char *name)
{
	struct decode_ctx ctx;
	struct aor *aor;
	uint32_t added = 0;
	int err = 0;

	if (!reg || !msg || !name)
		return EINVAL;

	memset(&ctx, 0, sizeof(ctx));
	ctx.reg = reg;
	ctx.msg = msg;
	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_CONTACT, decode_contact,
				&ctx);
	if (ctx.err || (ctx.wildcard && (ctx.n || !pl_isset(&msg->expires) ||
					 pl_u32(&msg->expires) != 0)))
		return sip_reply(reg->sip, msg, 400, "Bad Contact");

	if (ctx.wildcard) {
		remove_all(reg, name);
		return reply_ok(reg, msg, NULL);
	}

	for (uint32_t i = 0; i < ctx.n; i++) {
		if (ctx.req[i].expires &&
		    ctx.req[i].expires < reg->conf.min_expires)
			return sip_replyf(reg->sip, msg, 423,
					  "Interval Too Brief",
					  "Min-Expires: %u\r\n"
					  "Content-Length: 0\r\n\r\n",
					  reg->conf.min_expires);
		if (ctx.req[i].expires)
			++added;
	}

	aor = aor_find(reg, name);
	if (added && !aor)
		aor = aor_get(reg, name);
	if (added && !aor)
		return sip_reply(reg->sip, msg, 500, "Out of Memory");

	/* the request's bindings change in the store in one transaction */
	bool tx = reg->store && 0 == store_begin(reg->store);

	for (uint32_t i = 0; aor && i < ctx.n; i++) {
		const struct binding_req *b = &ctx.req[i];
		struct contact *c = contact_find(aor, &b->uri);

		if (!b->expires) {
			if (c) {
				log_info("registrar: %s: contact %s removed",
					 name, c->uri);
				forget(reg, name, c->uri);
			}
			mem_deref(c);
			continue;
		}
		if (!c && list_count(&aor->contacts) >=
		    reg->conf.max_contacts)
			continue;
		err = contact_update(aor, msg, b,
				     min(b->expires, reg->conf.max_expires));
		if (err)
			break;
	}

	if (tx && store_commit(reg->store))
		log_warn("registrar: %s: the store did not commit (%s)", name,
			 store_errmsg(reg->store));

	if (aor && list_isempty(&aor->contacts))
		aor = mem_deref(aor);

	if (err)
		return sip_reply(reg->sip, msg, 500, "Server Error");

	err = reply_ok(reg, msg, aor);
	if (aor && added && reg->boundh)
		reg->boundh(name, reg->arg);

	return err;
}


/** @a h runs after each REGISTER that added or refreshed a contact of
 *  an endpoint (after the 200 went out): a phone that (re-)registers
 *  gets its message-waiting state again. */
void registrar_set_bound_handler(struct registrar *reg, registrar_bound_h *h,
				 void *arg)
{
	if (!reg)
		return;
	reg->boundh = h;
	reg->arg = arg;
}


const struct list *registrar_contacts(const struct registrar *reg,
				      const char *name)
{
	const struct aor *aor = reg && name ? aor_find(reg, name) : NULL;

	return aor ? &aor->contacts : NULL;
}


void registrar_remove(struct registrar *reg, const char *name)
{
	if (reg && name)
		remove_all(reg, name);
}


uint32_t registrar_count(const struct registrar *reg)
{
	return reg ? reg->count : 0;
}


struct apply_ctx {
	registrar_apply_h *h;
	void *arg;
};


static bool apply_aor(struct le *le, void *arg)
{
	const struct aor *aor = le->data;
	struct apply_ctx *ctx = arg;

	return ctx->h(aor->name, &aor->contacts, ctx->arg);
}


void registrar_apply(const struct registrar *reg, registrar_apply_h *h,
		     void *arg)
{
	struct apply_ctx ctx = { h, arg };

	if (reg && h)
		(void)hash_apply(reg->aors, apply_aor, &ctx);
}


/** Keep the bindings in @a st from now on (NULL: in memory only). */
int registrar_set_store(struct registrar *reg, struct store *st)
{
	int err;

	if (!reg)
		return EINVAL;

	err = st ? regstore_open(st) : 0;
	reg->store = err ? NULL : st;

	return err;
}


struct restore_ctx {
	struct registrar *reg;
	registrar_keep_h *keeph;
	void *arg;
	uint64_t now;
	uint32_t n;
};


static bool restore_row(const struct regrow *r, void *arg)
{
	struct restore_ctx *ctx = arg;
	struct contact *c;
	struct aor *aor;
	struct pl uri;
	struct sa src;

	if ((ctx->keeph && !ctx->keeph(r->aor, ctx->arg)) ||
	    sa_decode(&src, r->src, strlen(r->src))) {
		forget(ctx->reg, r->aor, r->uri);
		return false;
	}

	aor = aor_get(ctx->reg, r->aor);
	if (!aor)
		return true;
	pl_set_str(&uri, r->uri);
	if (contact_find(aor, &uri) ||
	    list_count(&aor->contacts) >= ctx->reg->conf.max_contacts)
		return false;

	c = mem_zalloc(sizeof(*c), contact_destructor);
	if (!c || str_dup(&c->uri, r->uri) ||
	    (r->callid && str_dup(&c->callid, r->callid))) {
		mem_deref(c);
		return true;
	}
	c->aor = aor;
	c->src = src;
	c->tp = (enum sip_transp)r->tp;
	c->cseq = r->cseq;
	c->expires = tmr_jiffies() + (r->expires - ctx->now) * 1000ULL;
	tmr_start(&c->tmr, (r->expires - ctx->now) * 1000ULL,
		  contact_expired, c);
	++ctx->reg->count;
	list_append(&aor->contacts, &c->le, c);
	++ctx->n;

	return false;
}


/**
 * The bindings kept in the store that are still valid come back (at
 * start).  @a keeph says whether an address of record still exists;
 * the rows of those that do not are dropped.  Returns how many came.
 */
uint32_t registrar_restore(struct registrar *reg, registrar_keep_h *keeph,
			   void *arg)
{
	struct restore_ctx ctx = { reg, keeph, arg, (uint64_t)time(NULL), 0 };
	int err;

	if (!reg || !reg->store)
		return 0;

	err = regstore_load(reg->store, ctx.now, restore_row, &ctx);
	if (err)
		log_warn("registrar: bindings not restored: %m (%s)", err,
			 store_errmsg(reg->store));

	return ctx.n;
}
