/**
 * @file blf.c  The dialog event package (blf.h): hints, resources the
 * dialplan sets, and the dialog-info documents, kept up to date by
 * following every leg (leg_observe).
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "sip/endpoint.h"
#include "sip/subscr.h"
#include "call/leg.h"
#include "call/blf.h"

#define EVENT "dialog"

enum { HASH_SIZE = 256, RES_SZ = 128 };

/* A resource and the endpoints whose legs it shows. */
struct hint {
	struct le he;              /* in blf_hints.res, by name         */
	char *name;
	char **eps;
	size_t n;
};

/* One endpoint of one hint: which resources a leg concerns. */
struct epref {
	struct le he;              /* in blf_hints.byep, by endpoint    */
	const char *ep;            /* the hint's copy                   */
	struct hint *h;
};

struct blf_hints {
	struct hash *res;
	struct hash *byep;         /* struct epref, owned here          */
	uint32_t count;
};

/* A resource the dialplan set: its dialog is this leg's. */
struct bound {
	struct le he;              /* in blf.bound, by resource         */
	struct blf *b;
	char *res;
	struct leg *leg;
};

struct blf {
	struct pbx *pbx;
	struct subscr *subscr;
	struct blf_hints *hints;
	struct hash *bound;        /* struct bound, by resource         */
	uint32_t nbound;
	struct subscr_pkg pkg;
	const struct leg *ending;  /* shown terminated while it closes, */
	const char *ending_res;    /* or while it leaves this resource  */
};


static void hint_destructor(void *arg)
{
	struct hint *h = arg;

	hash_unlink(&h->he);
	for (size_t i = 0; i < h->n; i++)
		mem_deref(h->eps[i]);
	mem_deref(h->eps);
	mem_deref(h->name);
}


static void epref_destructor(void *arg)
{
	struct epref *r = arg;

	hash_unlink(&r->he);
}


static void hints_destructor(void *arg)
{
	struct blf_hints *h = arg;

	hash_flush(h->byep);
	hash_flush(h->res);
	mem_deref(h->byep);
	mem_deref(h->res);
}


static void bound_destructor(void *arg)
{
	struct bound *bd = arg;

	if (bd->b) {
		hash_unlink(&bd->he);
		--bd->b->nbound;
	}
	mem_deref(bd->res);
	mem_deref(bd->leg);
}


int blf_hints_alloc(struct blf_hints **hp)
{
	struct blf_hints *h;
	int err;

	if (!hp)
		return EINVAL;

	h = mem_zalloc(sizeof(*h), hints_destructor);
	if (!h)
		return ENOMEM;

	err  = hash_alloc(&h->res, HASH_SIZE);
	err |= hash_alloc(&h->byep, HASH_SIZE);
	if (err)
		mem_deref(h);
	else
		*hp = h;

	return err ? ENOMEM : 0;
}


static bool name_cmp(struct le *le, void *arg)
{
	const struct hint *h = le->data;

	return 0 == strcmp(h->name, arg);
}


static struct hint *hint_find(const struct blf_hints *hs, const char *name)
{
	if (!hs || !name)
		return NULL;

	return list_ledata(hash_lookup(hs->res, hash_joaat_str(name),
				       name_cmp, (void *)name));
}


/**
 * A resource whose dialogs are those of @a endpoints' legs; none: one
 * the dialplan sets (blf_set).  EEXIST for a name declared twice.
 */
int blf_hints_add(struct blf_hints *hs, const char *resource,
		  const char **endpoints, size_t n)
{
	struct hint *h;
	int err = 0;

	if (!hs || !resource || !*resource || strlen(resource) >= RES_SZ)
		return EINVAL;
	if (hint_find(hs, resource))
		return EEXIST;

	h = mem_zalloc(sizeof(*h), hint_destructor);
	if (!h)
		return ENOMEM;
	h->eps = mem_zalloc(sizeof(*h->eps) * (n ? n : 1), NULL);
	err = h->eps ? str_dup(&h->name, resource) : ENOMEM;
	for (size_t i = 0; !err && i < n; i++, h->n++)
		err = str_dup(&h->eps[i], endpoints[i]);
	if (err) {
		mem_deref(h);
		return err;
	}
	hash_append(hs->res, hash_joaat_str(resource), &h->he, h);
	++hs->count;

	for (size_t i = 0; i < h->n; i++) {
		struct epref *r = mem_zalloc(sizeof(*r), epref_destructor);

		if (!r)
			return ENOMEM;
		r->ep = h->eps[i];
		r->h = h;
		hash_append(hs->byep, hash_joaat_str(r->ep), &r->he, r);
	}

	return 0;
}


static bool hint_lists(const struct hint *h, const char *ep)
{
	for (size_t i = 0; h && ep && i < h->n; i++) {
		if (!strcmp(h->eps[i], ep))
			return true;
	}

	return false;
}


static bool same_hint(const struct hint *a, const struct hint *b)
{
	if (!a || !b || a->n != b->n)
		return false;

	for (size_t i = 0; i < a->n; i++) {
		if (strcmp(a->eps[i], b->eps[i]))
			return false;
	}

	return true;
}


struct cmp_ctx {
	const struct blf_hints *other;
	bool differ;
};


static bool hint_differs(struct le *le, void *arg)
{
	struct cmp_ctx *c = arg;
	const struct hint *h = le->data;

	c->differ = !same_hint(h, hint_find(c->other, h->name));

	return c->differ;
}


static bool hints_equal(const struct blf_hints *a, const struct blf_hints *b)
{
	struct cmp_ctx c = { b, false };

	if (!a || !b)
		return a == b;
	if (a->count != b->count)
		return false;
	(void)hash_apply(a->res, hint_differs, &c);

	return !c.differ;
}


/** The hints of a new generation (taken over); the subscribers hear of
 *  the change when a resource now shows other endpoints. */
void blf_set_hints(struct blf *b, struct blf_hints *h)
{
	bool changed;

	if (!b) {
		mem_deref(h);
		return;
	}

	changed = !hints_equal(b->hints, h);
	mem_deref(b->hints);
	b->hints = h;
	if (changed && b->subscr)
		subscr_changed_all(b->subscr, EVENT);
}


static bool bound_cmp(struct le *le, void *arg)
{
	const struct bound *bd = le->data;

	return 0 == strcmp(bd->res, arg);
}


static struct bound *bound_find(const struct blf *b, const char *res)
{
	return list_ledata(hash_lookup(b->bound, hash_joaat_str(res),
				       bound_cmp, (void *)res));
}


static void changed(struct blf *b, const char *res)
{
	if (b->subscr)
		subscr_changed(b->subscr, EVENT, res);
}


/**
 * The dialog of @a resource is @a leg's from now on (NULL: none); it
 * goes by itself when the leg hangs up.  The dialplan's resources (a
 * parking space) must be hinted, with no endpoints, to be subscribed to.
 */
int blf_set(struct blf *b, const char *resource, struct leg *leg)
{
	struct bound *bd;
	int err;

	if (!b || !resource || !*resource || strlen(resource) >= RES_SZ)
		return EINVAL;

	bd = bound_find(b, resource);
	if ((bd && bd->leg == leg) || (!bd && !leg))
		return 0;
	if (bd && !leg) {           /* its watchers see it end here */
		b->ending = bd->leg;
		b->ending_res = resource;
		hash_unlink(&bd->he);
		--b->nbound;
		bd->b = NULL;
		changed(b, resource);
		b->ending = NULL;
		b->ending_res = NULL;
		mem_deref(bd);
		return 0;
	}
	mem_deref(bd);

	if (leg && !leg_closed(leg)) {
		bd = mem_zalloc(sizeof(*bd), bound_destructor);
		if (!bd)
			return ENOMEM;
		err = str_dup(&bd->res, resource);
		if (err) {
			mem_deref(bd);
			return err;
		}
		bd->leg = mem_ref(leg);
		bd->b = b;
		hash_append(b->bound, hash_joaat_str(bd->res), &bd->he, bd);
		++b->nbound;
	}

	changed(b, resource);

	return 0;
}


/** Resources the dialplan set. */
uint32_t blf_count(const struct blf *b)
{
	return b ? b->nbound : 0;
}


/* ---- the documents ---- */

static int xml_print(struct re_printf *pf, const char *s)
{
	int err = 0;

	for (; s && *s && !err; s++) {
		switch (*s) {
		case '&':  err = re_hprintf(pf, "&amp;"); break;
		case '<':  err = re_hprintf(pf, "&lt;"); break;
		case '>':  err = re_hprintf(pf, "&gt;"); break;
		case '"':  err = re_hprintf(pf, "&quot;"); break;
		case '\'': err = re_hprintf(pf, "&apos;"); break;
		default:   err = pf->vph(s, 1, pf->arg); break;
		}
	}

	return err;
}


static const char *state_of(const struct leg *leg, bool ending)
{
	if (ending)
		return "terminated";

	switch (leg_state(leg)) {

	case LEG_NEW:      return "trying";
	case LEG_EARLY:    return "early";
	case LEG_ANSWERED: return "confirmed";
	default:           return "terminated";
	}
}


/* Why it ended, when that says something (RFC 4235 3.7.1). */
static int print_state(struct mbuf *mb, const struct leg *leg, bool ending)
{
	uint16_t code = leg_code(leg);

	if (ending && code == 487)
		return mbuf_printf(mb, "<state event=\"cancelled\">terminated"
				   "</state>\n");
	if (ending && code >= 300)
		return mbuf_printf(mb, "<state event=\"rejected\" code=\"%u\">"
				   "terminated</state>\n", code);

	return mbuf_printf(mb, "<state>%s</state>\n", state_of(leg, ending));
}


static int print_party(struct mbuf *mb, const char *tag, const char *name,
		       const char *user, const struct sa *host)
{
	return mbuf_printf(mb, "<%s><identity%s%H%s>sip:%H@%J</identity>"
			   "</%s>\n", tag, name ? " display=\"" : "",
			   xml_print, name, name ? "\"" : "", xml_print,
			   user ? user : "anonymous", host, tag);
}


static int print_dialog(struct mbuf *mb, const struct blf *b,
			const struct leg *leg, const char *res, bool ending)
{
	const struct sa *host = &b->pbx->set.sip_addr;
	struct leg_dialog_id id;
	bool bound = res != NULL;
	int err;

	leg_dialog_id(leg, &id);
	err = mbuf_printf(mb, "<dialog id=\"leg-%llu\"", leg_id(leg));
	if (id.callid)
		err |= mbuf_printf(mb, " call-id=\"%H\"", xml_print, id.callid);
	/* seen from the watched phone, whose tag is our remote one */
	if (id.rtag && !bound)
		err |= mbuf_printf(mb, " local-tag=\"%H\"", xml_print, id.rtag);
	if (id.ltag && !bound)
		err |= mbuf_printf(mb, " remote-tag=\"%H\"", xml_print,
				   id.ltag);
	err |= mbuf_printf(mb, " direction=\"%s\">\n",
			   bound || !leg_inbound(leg) ? "recipient"
			   : "initiator");
	err |= print_state(mb, leg, ending);

	if (bound) {
		err |= print_party(mb, "local", NULL, res, host);
		err |= print_party(mb, "remote", leg_cid_name(leg),
				   leg_cid_num(leg), host);
	}
	else {
		err |= print_party(mb, "local", leg_cid_name(leg),
				   leg_cid_num(leg), host);
		err |= print_party(mb, "remote", leg_far_name(leg),
				   leg_far_num(leg), host);
	}

	return err | mbuf_printf(mb, "</dialog>\n");
}


struct doc {
	struct mbuf *mb;
	const struct blf *b;
	const struct hint *h;
	const struct bound *bd;
	const char *res;
	int err;
};


static bool shows(const struct doc *d, const struct leg *leg)
{
	const struct endpoint *ep = leg_endpoint(leg);

	return (d->bd && d->bd->leg == leg) ||
		(ep && hint_lists(d->h, ep->name));
}


static bool add_dialog(struct leg *leg, void *arg)
{
	struct doc *d = arg;
	bool bound = d->bd && d->bd->leg == leg;

	if (shows(d, leg))
		d->err |= print_dialog(d->mb, d->b, leg, bound ? d->res : NULL,
				       false);

	return d->err != 0;
}


/** The dialog-info document of @a resource, full state. */
int blf_body(struct mbuf *mb, struct blf *b, const char *resource,
	     uint32_t version)
{
	struct doc d = { mb, b, NULL, NULL, resource, 0 };

	if (!mb || !b || !resource)
		return EINVAL;

	d.h = hint_find(b->hints, resource);
	d.bd = bound_find(b, resource);

	d.err = mbuf_printf(mb, "<?xml version=\"1.0\"?>\n"
			    "<dialog-info xmlns=\"urn:ietf:params:xml:ns:"
			    "dialog-info\" version=\"%u\" state=\"full\""
			    " entity=\"sip:%H@%J\">\n", version, xml_print,
			    resource, &b->pbx->set.sip_addr);
	(void)leg_apply(add_dialog, &d);
	if (!d.err && b->ending && b->ending_res &&
	    !strcmp(b->ending_res, resource))
		d.err = print_dialog(mb, b, b->ending, resource, true);
	else if (!d.err && b->ending && shows(&d, b->ending))
		d.err = print_dialog(mb, b, b->ending, d.bd && d.bd->leg ==
				     b->ending ? resource : NULL, true);

	return d.err | mbuf_printf(mb, "</dialog-info>\n");
}


/* ---- subscriptions ---- */

/* Anyone registered may watch any hinted resource (Asterisk's default,
 * without a subscribecontext). */
static uint16_t resolve(const char *user, const struct pl *target,
			char *res, size_t sz, void *arg)
{
	struct blf *b = arg;
	char name[RES_SZ];
	(void)user;

	if (!pl_isset(target) || target->l >= sizeof(name))
		return 404;
	pl_strcpy(target, name, sizeof(name));
	if (!hint_find(b->hints, name))
		return 404;
	str_ncpy(res, name, sz);

	return 0;
}


static int body_handler(struct mbuf *mb, const char *resource,
			uint32_t version, void *arg)
{
	return blf_body(mb, arg, resource, version);
}


struct ep_ctx {
	struct blf *b;
	const char *ep;
};


static bool notify_ep(struct le *le, void *arg)
{
	struct ep_ctx *c = arg;
	const struct epref *r = le->data;

	if (!strcmp(r->ep, c->ep))
		changed(c->b, r->h->name);

	return false;
}


struct leg_ctx {
	struct blf *b;
	const struct leg *leg;
	bool closed;
};


/* A resource set to @a leg: its watchers hear of the change; it goes
 * when the leg ended.  (One leg rarely shows in more than one.) */
static bool bound_of_leg(struct le *le, void *arg)
{
	struct leg_ctx *c = arg;
	struct bound *bd = le->data;

	if (bd->leg != c->leg)
		return false;

	changed(c->b, bd->res);
	if (c->closed)
		mem_deref(bd);

	return true;
}


/* A leg's state changed, or it ended: the resources that show it. */
static void observer(struct leg *leg, enum leg_event ev, void *arg)
{
	struct blf *b = arg;
	const struct endpoint *ep = leg_endpoint(leg);
	struct leg_ctx lc = { b, leg, ev == LEG_EV_CLOSED };

	if (ev != LEG_EV_STATE && ev != LEG_EV_CLOSED)
		return;

	if (ev == LEG_EV_CLOSED)
		b->ending = leg;

	if (b->subscr && subscr_count(b->subscr, EVENT) && ep && b->hints) {
		struct ep_ctx c = { b, ep->name };

		(void)hash_apply(b->hints->byep, notify_ep, &c);
	}

	if (b->nbound)
		(void)hash_apply(b->bound, bound_of_leg, &lc);

	b->ending = NULL;
}


static void destructor(void *arg)
{
	struct blf *b = arg;

	blf_detach(b);
	leg_unobserve(observer, b);
	hash_flush(b->bound);
	mem_deref(b->bound);
	mem_deref(b->hints);
}


int blf_alloc(struct blf **bp, struct pbx *pbx)
{
	struct blf *b;
	int err;

	if (!bp || !pbx)
		return EINVAL;

	b = mem_zalloc(sizeof(*b), destructor);
	if (!b)
		return ENOMEM;

	b->pbx = pbx;
	b->pkg.event = EVENT;
	b->pkg.ctype = "application/dialog-info+xml";
	b->pkg.resolveh = resolve;
	b->pkg.bodyh = body_handler;
	b->pkg.arg = b;

	err = hash_alloc(&b->bound, HASH_SIZE);
	if (!err)
		err = leg_observe(observer, b);
	if (err)
		mem_deref(b);
	else
		*bp = b;

	return err;
}


/** Serve the package on the subscription server @a s. */
int blf_attach(struct blf *b, struct subscr *s)
{
	int err;

	if (!b || !s)
		return EINVAL;

	err = subscr_register(s, &b->pkg);
	if (!err)
		b->subscr = s;

	return err;
}


/** Before the SIP stack goes: the package and its subscriptions end. */
void blf_detach(struct blf *b)
{
	if (!b || !b->subscr)
		return;

	subscr_unregister(b->subscr, &b->pkg);
	b->subscr = NULL;
}
