/**
 * @file mwi.c  message-summary NOTIFYs, subscribed and unsolicited.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "sip/registrar.h"
#include "sip/subscr.h"
#include "voicemail/mwi.h"
#include "voicemail/vmbox.h"

#define EVENT "message-summary"

/* After a REGISTER, the unsolicited NOTIFY waits this long: a phone that
 * subscribes right after registering (baresip's mwi module does) gets its
 * state in its subscription instead, and is not sent a NOTIFY outside it
 * while its SUBSCRIBE is in flight (baresip 1.0 then loops on
 * SUBSCRIBEs). */
enum { HASH_SIZE = 64, URI_SZ = 256, REGISTER_DELAY_MS = 2000 };

struct mwi {
	struct pbx *pbx;             /* its SIP address: Message-Account */
	struct vmbox *vb;
	struct subscr *subscr;
	struct registrar *reg;
	struct hash *boxes;          /* struct box, by mailbox      */
	struct list pending;         /* struct pending: registered  */
	struct subscr_pkg pkg;
};

/* An endpoint that registered: its NOTIFYs, a moment later. */
struct pending {
	struct le le;
	struct tmr tmr;
	struct mwi *m;
	char *endpoint;
};

/* A mailbox and the endpoints whose lamp it lights. */
struct box {
	struct le he;
	char *name;
	char **eps;
	size_t n;
};


static void box_destructor(void *arg)
{
	struct box *b = arg;

	hash_unlink(&b->he);
	for (size_t i = 0; i < b->n; i++)
		mem_deref(b->eps[i]);
	mem_deref(b->eps);
	mem_deref(b->name);
}


static void pending_destructor(void *arg)
{
	struct pending *p = arg;

	tmr_cancel(&p->tmr);
	list_unlink(&p->le);
	mem_deref(p->endpoint);
}


static void destructor(void *arg)
{
	struct mwi *m = arg;

	mwi_detach(m);
	hash_flush(m->boxes);
	mem_deref(m->boxes);
}


static bool box_cmp(struct le *le, void *arg)
{
	const struct box *b = le->data;

	return 0 == strcmp(b->name, arg);
}


static struct box *box_find(const struct mwi *m, const char *name)
{
	if (!m->boxes)
		return NULL;

	return list_ledata(hash_lookup(m->boxes, hash_joaat_str(name),
				       box_cmp, (void *)name));
}


static bool box_lights(const struct box *b, const char *endpoint)
{
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->eps[i], endpoint))
			return true;

	return false;
}


struct first_ctx {
	const char *endpoint;
	const struct box *found;
};


static bool first_box(struct le *le, void *arg)
{
	struct first_ctx *ctx = arg;
	const struct box *b = le->data;

	if (!box_lights(b, ctx->endpoint))
		return false;
	if (!ctx->found || strcmp(b->name, ctx->found->name) < 0)
		ctx->found = b;

	return false;
}


/* A SUBSCRIBE to a mailbox number (its own), or to the phone's own
 * address of record (its first mailbox). */
static uint16_t resolve(const char *user, const struct pl *target,
			char *res, size_t sz, void *arg)
{
	struct mwi *m = arg;
	struct first_ctx ctx = { user, NULL };
	char name[64];
	const struct box *b;

	pl_strcpy(target, name, sizeof(name));
	b = box_find(m, name);
	if (b) {
		if (!box_lights(b, user))
			return 403;
		str_ncpy(res, b->name, sz);
		return 0;
	}

	if (strcmp(name, user) || !m->boxes)
		return 404;

	(void)hash_apply(m->boxes, first_box, &ctx);
	if (!ctx.found)
		return 404;
	str_ncpy(res, ctx.found->name, sz);

	return 0;
}


static int account_uri(const struct mwi *m, char *buf, size_t sz,
		       const char *mailbox)
{
	return re_snprintf(buf, sz, "sip:%s@%J", mailbox,
			   &m->pbx->set.sip_addr) < 0 ? ENOMEM : 0;
}


/** The RFC 3842 body of @a mailbox: new/old (urgent new/urgent old). */
int mwi_body(struct mbuf *mb, struct mwi *m, const char *mailbox)
{
	struct vmbox_counts c;
	char uri[URI_SZ];
	int err;

	err = vmbox_counts(m->vb, mailbox, &c);
	if (err)
		return err;
	err = account_uri(m, uri, sizeof(uri), mailbox);
	if (err)
		return err;

	return mbuf_printf(mb, "Messages-Waiting: %s\r\n"
			   "Message-Account: %s\r\n"
			   "Voice-Message: %u/%u (%u/0)\r\n",
			   c.new_msgs ? "yes" : "no", uri, c.new_msgs,
			   c.old_msgs, c.urgent);
}


static int body_handler(struct mbuf *mb, const char *resource,
			uint32_t version, void *arg)
{
	(void)version;

	return mwi_body(mb, arg, resource);
}


int mwi_alloc(struct mwi **mp, struct vmbox *vb, struct pbx *pbx)
{
	struct mwi *m;

	if (!mp || !vb || !pbx)
		return EINVAL;

	m = mem_zalloc(sizeof(*m), destructor);
	if (!m)
		return ENOMEM;

	m->vb = vb;
	m->pbx = pbx;
	m->pkg.event = EVENT;
	m->pkg.ctype = "application/simple-message-summary";
	m->pkg.resolveh = resolve;
	m->pkg.bodyh = body_handler;
	m->pkg.arg = m;
	*mp = m;

	return 0;
}


static void bound_handler(const char *name, void *arg)
{
	mwi_registered(arg, name);
}


/** Start serving: the package registered, REGISTERs watched. */
int mwi_attach(struct mwi *m, struct subscr *s, struct registrar *reg)
{
	int err;

	if (!m || !s || !reg)
		return EINVAL;

	err = subscr_register(s, &m->pkg);
	if (err)
		return err;

	m->subscr = s;
	m->reg = reg;
	registrar_set_bound_handler(reg, bound_handler, m);

	return 0;
}


void mwi_detach(struct mwi *m)
{
	if (!m)
		return;

	if (m->subscr)
		subscr_unregister(m->subscr, &m->pkg);
	if (m->reg)
		registrar_set_bound_handler(m->reg, NULL, NULL);
	list_flush(&m->pending);
	m->subscr = NULL;
	m->reg = NULL;
}


int mwi_boxes_alloc(struct hash **hp)
{
	return hash_alloc(hp, HASH_SIZE);
}


int mwi_boxes_add(struct hash *boxes, const char *mailbox,
		  const char * const *endpoints, size_t n)
{
	struct box *b;
	int err;

	if (!boxes || !mailbox)
		return EINVAL;

	b = mem_zalloc(sizeof(*b), box_destructor);
	if (!b)
		return ENOMEM;

	err = str_dup(&b->name, mailbox);
	if (!err && n) {
		b->eps = mem_zalloc(n * sizeof(*b->eps), NULL);
		err = b->eps ? 0 : ENOMEM;
	}
	for (size_t i = 0; !err && i < n; i++) {
		err = str_dup(&b->eps[i], endpoints[i]);
		if (!err)
			b->n = i + 1;
	}
	if (err) {
		mem_deref(b);
		return err;
	}
	hash_append(boxes, hash_joaat_str(mailbox), &b->he, b);

	return 0;
}


/** The configuration's mailboxes (takes @a boxes). */
void mwi_set_boxes(struct mwi *m, struct hash *boxes)
{
	if (!m) {
		mem_deref(boxes);
		return;
	}

	if (m->boxes)
		hash_flush(m->boxes);
	mem_deref(m->boxes);
	m->boxes = boxes;
}


/* Unsolicited NOTIFYs of @a b to @a endpoint's registered contacts,
 * unless it subscribed (it then has its NOTIFYs in its dialog). */
static void notify_endpoint(struct mwi *m, const struct box *b,
			    const char *endpoint)
{
	const struct list *contacts = registrar_contacts(m->reg, endpoint);
	char from[URI_SZ];

	if (!contacts || subscr_watched_by(m->subscr, EVENT, b->name,
					   endpoint))
		return;
	if (account_uri(m, from, sizeof(from), b->name))
		return;

	for (struct le *le = contacts->head; le; le = le->next) {
		const struct contact *c = le->data;
		int err;

		err = subscr_notify_uri(m->subscr, EVENT, b->name, c->uri,
					from);
		if (err)
			log_warn("mwi: NOTIFY %s to %s: %m", b->name, c->uri,
				 err);
	}
}


/** @a mailbox's counts changed: NOTIFY its subscribers and phones. */
void mwi_changed(struct mwi *m, const char *mailbox)
{
	const struct box *b;

	if (!m || !m->subscr)
		return;

	subscr_changed(m->subscr, EVENT, mailbox);

	b = box_find(m, mailbox);
	for (size_t i = 0; b && i < b->n; i++)
		notify_endpoint(m, b, b->eps[i]);
}


struct reg_ctx {
	struct mwi *m;
	const char *endpoint;
};


static bool notify_if_lit(struct le *le, void *arg)
{
	struct reg_ctx *ctx = arg;
	const struct box *b = le->data;

	if (box_lights(b, ctx->endpoint))
		notify_endpoint(ctx->m, b, ctx->endpoint);

	return false;
}


static void pending_handler(void *arg)
{
	struct pending *p = arg;
	struct reg_ctx ctx = { p->m, p->endpoint };

	if (p->m->subscr && p->m->boxes)
		(void)hash_apply(p->m->boxes, notify_if_lit, &ctx);
	mem_deref(p);
}


/** @a endpoint registered or re-registered: its mailboxes' state, to
 *  its contacts, REGISTER_DELAY_MS later. */
void mwi_registered(struct mwi *m, const char *endpoint)
{
	struct pending *p;

	if (!m || !m->subscr || !m->boxes || !endpoint)
		return;

	for (struct le *le = m->pending.head; le; le = le->next) {
		p = le->data;
		if (!strcmp(p->endpoint, endpoint))
			return;          /* already due */
	}

	p = mem_zalloc(sizeof(*p), pending_destructor);
	if (!p || str_dup(&p->endpoint, endpoint)) {
		mem_deref(p);
		return;
	}
	p->m = m;
	list_append(&m->pending, &p->le, p);
	tmr_start(&p->tmr, REGISTER_DELAY_MS, pending_handler, p);
}
