/**
 * @file subscr.c  The subscription server over libre's sipevent notifier
 * (which keeps the dialog, answers refreshes and sends the NOTIFYs).
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "sip/subscr.h"

enum { EXPIRES_MIN = 60, EXPIRES_DFL = 3600, EXPIRES_MAX = 3600,
       RES_SZ = 128 };

struct subscr {
	struct sip *sip;
	struct sipevent_sock *sock;
	struct list pkgs;          /* struct pkg_ent               */
	struct list subs;          /* struct subscription          */
	struct list oneshots;      /* NOTIFYs outside a subscription */
	char *cuser;
	char *events;              /* events served elsewhere (refer) */
	subscr_auth_h *authh;
	void *arg;
};

struct pkg_ent {
	struct le le;
	const struct subscr_pkg *pkg;
};

struct subscription {
	struct le le;
	struct subscr *s;
	const struct subscr_pkg *pkg;
	struct sipnot *not;
	char *resource;
	char *user;
	uint32_t version;          /* NOTIFYs sent                  */
};

/* A NOTIFY sent without a subscription (unsolicited MWI). */
struct oneshot {
	struct le le;
	struct sip_dialog *dlg;
	struct sip_request *req;
	char *cuser;
};


static void sub_destructor(void *arg)
{
	struct subscription *sub = arg;

	list_unlink(&sub->le);
	mem_deref(sub->not);     /* a final NOTIFY when still active */
	mem_deref(sub->resource);
	mem_deref(sub->user);
}


static void oneshot_destructor(void *arg)
{
	struct oneshot *o = arg;

	list_unlink(&o->le);
	mem_deref(o->req);
	mem_deref(o->dlg);
	mem_deref(o->cuser);
}


static void destructor(void *arg)
{
	struct subscr *s = arg;

	list_flush(&s->subs);
	list_flush(&s->oneshots);
	list_flush(&s->pkgs);
	mem_deref(s->sock);
	mem_deref(s->cuser);
	mem_deref(s->events);
}


static const struct subscr_pkg *pkg_find(const struct subscr *s,
					 const struct pl *event)
{
	for (struct le *le = s->pkgs.head; le; le = le->next) {
		const struct pkg_ent *e = le->data;

		if (0 == pl_strcasecmp(event, e->pkg->event))
			return e->pkg;
	}

	return NULL;
}


static int print_events(struct re_printf *pf, const struct subscr *s)
{
	int err = 0;

	for (struct le *le = s->pkgs.head; le; le = le->next) {
		const struct pkg_ent *e = le->data;

		err |= re_hprintf(pf, "%s, ", e->pkg->event);
	}

	return err | re_hprintf(pf, "%s", s->events);
}


static int body_of(const struct subscr_pkg *pkg, const char *resource,
		   uint32_t version, struct mbuf **mbp)
{
	struct mbuf *mb = mbuf_alloc(512);
	int err;

	if (!mb)
		return ENOMEM;

	err = pkg->bodyh(mb, resource, version, pkg->arg);
	mb->pos = 0;
	if (err)
		mem_deref(mb);
	else
		*mbp = mb;

	return err;
}


static int notify(struct subscription *sub)
{
	struct mbuf *mb = NULL;
	int err;

	err = body_of(sub->pkg, sub->resource, sub->version, &mb);
	if (!err)
		err = sipevent_notify(sub->not, mb, SIPEVENT_ACTIVE, 0, 0);
	if (!err)
		++sub->version;
	mem_deref(mb);

	return err;
}


/* The subscription ended: expired, unsubscribed, or its NOTIFY failed
 * (the phone answered 481 or never answered). */
static void close_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct subscription *sub = arg;

	log_info("subscr: %s of %s to %s ended (%s)", sub->pkg->event,
		 sub->user, sub->resource, err == ETIMEDOUT ? "expired or"
		 " unsubscribed" : msg ? "refused by the phone" : "error");
	mem_deref(sub);
}


static uint32_t asked_expires(const struct sip_msg *msg)
{
	return pl_isset(&msg->expires) ? pl_u32(&msg->expires) : EXPIRES_DFL;
}


static int accept_sub(struct subscr *s, const struct sip_msg *msg,
		      const struct sipevent_event *se,
		      const struct subscr_pkg *pkg, const char *user,
		      const char *resource)
{
	struct subscription *sub;
	int err;

	sub = mem_zalloc(sizeof(*sub), sub_destructor);
	if (!sub)
		return ENOMEM;

	sub->s = s;
	sub->pkg = pkg;
	err  = str_dup(&sub->resource, resource);
	err |= str_dup(&sub->user, user);
	if (err)
		goto out;

	err = sipevent_accept(&sub->not, s->sock, msg, NULL, se, 200, "OK",
			      EXPIRES_MIN, EXPIRES_DFL, EXPIRES_MAX, s->cuser,
			      pkg->ctype, NULL, NULL, false, close_handler,
			      sub, NULL);
	if (err)
		goto out;

	list_append(&s->subs, &sub->le, sub);
	log_info("subscr: %s subscribes to %s of %s for %u s", user,
		 pkg->event, resource, min(asked_expires(msg), EXPIRES_MAX));

	/* RFC 6665 4.2.1.2: the state at once (with Expires: 0, a fetch,
	 * it goes in the final NOTIFY instead) */
	err = notify(sub);
	if (err)
		log_warn("subscr: first NOTIFY to %s: %m", user, err);

	return 0;

 out:
	mem_deref(sub);
	return err;
}


/**
 * A SUBSCRIBE outside a dialog (libre's sipevent socket hands them over;
 * it answers the refreshes in a dialog itself).  Always answered.
 */
bool subscr_subscribe(struct subscr *s, const struct sip_msg *msg)
{
	const struct subscr_pkg *pkg;
	struct sipevent_event se;
	const struct sip_hdr *hdr;
	char resource[RES_SZ];
	const char *user;
	uint32_t expires;
	uint16_t scode;
	int err;

	if (!s || !msg)
		return false;

	hdr = sip_msg_hdr(msg, SIP_HDR_EVENT);
	if (!hdr || sipevent_event_decode(&se, &hdr->val) ||
	    !(pkg = pkg_find(s, &se.event))) {
		(void)sip_treplyf(NULL, NULL, s->sip, msg, false, 489,
				  "Bad Event", "Allow-Events: %H\r\n"
				  "Content-Length: 0\r\n\r\n", print_events, s);
		return true;
	}

	expires = asked_expires(msg);
	if (expires && expires < EXPIRES_MIN) {
		(void)sip_treplyf(NULL, NULL, s->sip, msg, false, 423,
				  "Interval Too Brief", "Min-Expires: %u\r\n"
				  "Content-Length: 0\r\n\r\n", EXPIRES_MIN);
		return true;
	}

	user = s->authh(msg, s->arg);
	if (!user)
		return true;   /* challenged or refused */

	scode = pkg->resolveh(user, &msg->uri.user, resource,
			      sizeof(resource), pkg->arg);
	if (scode) {
		(void)sip_treply(NULL, s->sip, msg, scode, scode == 403 ?
				 "Forbidden" : "Not Found");
		return true;
	}

	err = accept_sub(s, msg, &se, pkg, user, resource);
	if (err)
		(void)sip_treply(NULL, s->sip, msg, 500, "Server Error");

	return true;
}


/**
 * The server, over the SIP stack's one sipevent socket @a sock, whose
 * SUBSCRIBE handler calls subscr_subscribe().
 *
 * @param cuser  the user part of the Contact of the NOTIFYs
 * @param events events served elsewhere, for Allow-Events ("refer")
 * @param authh  who sent a SUBSCRIBE (answers challenges itself)
 */
int subscr_alloc(struct subscr **sp, struct sip *sip,
		 struct sipevent_sock *sock, const char *cuser,
		 const char *events, subscr_auth_h *authh, void *arg)
{
	struct subscr *s;
	int err;

	if (!sp || !sip || !sock || !cuser || !events || !authh)
		return EINVAL;

	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;

	s->sip = sip;
	s->sock = mem_ref(sock);
	s->authh = authh;
	s->arg = arg;
	err = str_dup(&s->cuser, cuser);
	if (!err)
		err = str_dup(&s->events, events);
	if (err)
		mem_deref(s);
	else
		*sp = s;

	return err;
}


/** @a pkg must stay valid until unregistered. */
int subscr_register(struct subscr *s, const struct subscr_pkg *pkg)
{
	struct pkg_ent *e;
	struct pl ev;

	if (!s || !pkg || !pkg->event || !pkg->ctype || !pkg->resolveh ||
	    !pkg->bodyh)
		return EINVAL;

	pl_set_str(&ev, pkg->event);
	if (pkg_find(s, &ev))
		return EEXIST;

	e = mem_zalloc(sizeof(*e), NULL);
	if (!e)
		return ENOMEM;
	e->pkg = pkg;
	list_append(&s->pkgs, &e->le, e);

	return 0;
}


/** The package goes, and its subscriptions end (final NOTIFYs). */
void subscr_unregister(struct subscr *s, const struct subscr_pkg *pkg)
{
	struct le *le;

	if (!s || !pkg)
		return;

	for (le = s->subs.head; le; ) {
		struct subscription *sub = le->data;

		le = le->next;
		if (sub->pkg == pkg)
			mem_deref(sub);
	}
	for (le = s->pkgs.head; le; le = le->next) {
		struct pkg_ent *e = le->data;

		if (e->pkg == pkg) {
			list_unlink(&e->le);
			mem_deref(e);
			break;
		}
	}
}


/** @a resource changed: a NOTIFY to each of its subscriptions. */
void subscr_changed(struct subscr *s, const char *event,
		    const char *resource)
{
	if (!s || !event || !resource)
		return;

	for (struct le *le = s->subs.head; le; le = le->next) {
		struct subscription *sub = le->data;
		int err;

		if (strcmp(sub->resource, resource) ||
		    str_casecmp(sub->pkg->event, event))
			continue;
		err = notify(sub);
		if (err)
			log_warn("subscr: NOTIFY %s to %s: %m", resource,
				 sub->user, err);
	}
}


/** Every subscription of @a event gets a NOTIFY (its package's state
 *  changed as a whole: a reload). */
void subscr_changed_all(struct subscr *s, const char *event)
{
	if (!s || !event)
		return;

	for (struct le *le = s->subs.head; le; le = le->next) {
		struct subscription *sub = le->data;

		if (!str_casecmp(sub->pkg->event, event))
			(void)notify(sub);
	}
}


/** Does @a user hold a subscription to @a resource? */
bool subscr_watched_by(const struct subscr *s, const char *event,
		       const char *resource, const char *user)
{
	for (struct le *le = s ? s->subs.head : NULL; le; le = le->next) {
		const struct subscription *sub = le->data;

		if (!strcmp(sub->resource, resource) &&
		    !strcmp(sub->user, user) &&
		    !str_casecmp(sub->pkg->event, event))
			return true;
	}

	return false;
}


/** Subscriptions to @a event (all events when NULL). */
uint32_t subscr_count(const struct subscr *s, const char *event)
{
	uint32_t n = 0;

	for (struct le *le = s ? s->subs.head : NULL; le; le = le->next) {
		const struct subscription *sub = le->data;

		if (!event || !str_casecmp(sub->pkg->event, event))
			++n;
	}

	return n;
}


static int send_handler(enum sip_transp tp, const struct sa *src,
			const struct sa *dst, struct mbuf *mb, void *arg)
{
	struct oneshot *o = arg;
	struct sip_contact contact;
	(void)dst;

	sip_contact_set(&contact, o->cuser, src, tp);

	return mbuf_printf(mb, "%H", sip_contact_print, &contact);
}


static void oneshot_resp(int err, const struct sip_msg *msg, void *arg)
{
	struct oneshot *o = arg;

	if (!err && msg->scode < 200)
		return;
	if (err || msg->scode >= 300)
		log_debug("subscr: NOTIFY without subscription: %s",
			  err ? "no answer" : "refused");
	mem_deref(o);
}


/**
 * A NOTIFY of @a resource's state outside any subscription, to @a uri
 * (a registered contact): Asterisk's unsolicited MWI.
 */
int subscr_notify_uri(struct subscr *s, const char *event,
		      const char *resource, const char *uri,
		      const char *from_uri)
{
	const struct subscr_pkg *pkg;
	struct oneshot *o;
	struct mbuf *mb = NULL;
	struct pl ev;
	int err;

	if (!s || !event || !resource || !uri || !from_uri)
		return EINVAL;

	pl_set_str(&ev, event);
	pkg = pkg_find(s, &ev);
	if (!pkg)
		return ENOENT;

	o = mem_zalloc(sizeof(*o), oneshot_destructor);
	if (!o)
		return ENOMEM;

	err = str_dup(&o->cuser, s->cuser);
	err = err ? err : body_of(pkg, resource, 0, &mb);
	err = err ? err : sip_dialog_alloc(&o->dlg, uri, uri, NULL, from_uri,
					   NULL, 0);
	if (err)
		goto out;

	err = sip_drequestf(&o->req, s->sip, true, "NOTIFY", o->dlg, 0, NULL,
			    send_handler, oneshot_resp, o,
			    "Event: %s\r\n"
			    "Subscription-State: active\r\n"
			    "Content-Type: %s\r\n"
			    "Content-Length: %zu\r\n"
			    "\r\n"
			    "%b", pkg->event, pkg->ctype, mbuf_get_left(mb),
			    mbuf_buf(mb), mbuf_get_left(mb));
 out:
	mem_deref(mb);
	if (err)
		mem_deref(o);
	else
		list_append(&s->oneshots, &o->le, o);

	return err;
}


/** Before the SIP stack closes: final NOTIFYs to every subscriber. */
void subscr_close(struct subscr *s)
{
	if (!s)
		return;

	list_flush(&s->subs);
	list_flush(&s->oneshots);
}
