/**
 * @file sipstack.c  Transports, and what happens to each request before a
 * call or the registrar sees it.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "event/event.h"
#include "sip/auth.h"
#include "sip/endpoint.h"
#include "sip/registrar.h"
#include "sip/reqcheck.h"
#include "sip/sipraw.h"
#include "sip/sipsec.h"
#include "sip/sipstack.h"
#include "sip/subscr.h"
#include "sip/trunk.h"
#include "sip/siptrace.h"
#include "capture/capture.h"
#include "capture/pcap.h"

#define ALLOWED "INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, INFO, REFER," \
	" SUBSCRIBE, NOTIFY"

enum { TRANS_HASH = 32768, SESS_HASH = 8192 };   /* buckets, powers of 2 */
enum { UDP_SOCKBUF = 4 << 20 };   /* capped by net.core.rmem_max */

struct sipstack {
	struct pbx *pbx;
	struct sip *sip;
	struct dnsc *dnsc;
	struct sip_lsnr *lsnr;
	struct sipsess_sock *sock;
	struct sipevent_sock *evsock;
	struct sipraw *raw;
	struct subscr *subscr;     /* SUBSCRIBE/NOTIFY, event packages */
	struct sipsec *sec;
	sipstack_invite_h *inviteh;
	bool udp_buffered;
};


static void destructor(void *arg)
{
	struct sipstack *s = arg;

	mem_deref(s->raw);      /* its helper before libre's socket */
	mem_deref(s->subscr);
	mem_deref(s->sec);
	mem_deref(s->lsnr);
	mem_deref(s->evsock);
	mem_deref(s->sock);
	mem_deref(s->sip);
	mem_deref(s->dnsc);
}


static const char *endpoint_secret(const struct pl *user, void *arg)
{
	struct pbx *pbx = arg;
	const struct endpoint *ep = endpoint_table_find(pbx->endpoints, user);

	return ep ? ep->secret : NULL;
}


/* Refused credentials since the start (metrics). */
static uint64_t auth_failures;


uint64_t sipstack_auth_failures(void)
{
	return auth_failures;
}


/* A security event, as Asterisk's InvalidPassword. */
static void auth_failed(const struct sip_msg *msg, const struct pl *user)
{
	struct event *ev;
	char src[64];

	++auth_failures;
	if (!event_wanted() || event_alloc(&ev, "auth_failed"))
		return;

	re_snprintf(src, sizeof(src), "%J", &msg->src);
	(void)event_str(ev, "source", src);
	{
		char m[16], u[64];

		(void)pl_strcpy(&msg->met, m, sizeof(m));
		(void)pl_strcpy(user, u, sizeof(u));
		(void)event_str(ev, "method", m);
		(void)event_str(ev, "user", u);
	}
	event_publish(ev);
}


/**
 * Authenticate a request against the endpoints.  Answers the challenge or
 * the refusal itself; returns the endpoint only when it may go on.  Every
 * refusal is the same 403, whatever the reason (which only the security
 * log says): unknown user, wrong secret, credentials made for another
 * Request-URI, an address the endpoint does not permit.
 */
static struct endpoint *authenticate(struct sipstack *s,
				     const struct sip_msg *msg, bool proxy)
{
	struct pbx *pbx = s->pbx;
	struct auth_info info;
	struct endpoint *ep;

	switch (auth_verify(pbx->auth, msg, proxy, endpoint_secret, pbx,
			    &info)) {

	case AUTH_OK:
		ep = endpoint_table_find(pbx->endpoints, &info.user);
		if (sipsec_endpoint_allows(s->sec, msg, ep))
			return ep;
		sipsec_refused(s->sec, msg, "AclDenied", &info.user,
			       "address not permitted for this endpoint");
		break;

	case AUTH_MISSING:
		(void)auth_challenge(pbx->auth, s->sip, msg, proxy, false);
		return NULL;

	case AUTH_STALE:
		log_info("auth: %r from %J for '%r': %s: challenged again"
			 " (stale=true)", &msg->met, &msg->src, &info.user,
			 info.why);
		(void)auth_challenge(pbx->auth, s->sip, msg, proxy, true);
		return NULL;

	case AUTH_FAILED:
	default:
		auth_failed(msg, &info.user);
		sipsec_refused(s->sec, msg, "AuthFailed", &info.user,
			       info.why);
		break;
	}

	(void)sip_treply(NULL, s->sip, msg, 403, "Forbidden");
	return NULL;
}


static void handle_register(struct sipstack *s, const struct sip_msg *msg)
{
	struct endpoint *ep = authenticate(s, msg, false);
	struct pl name;

	if (!ep)
		return;

	/* An endpoint registers its own address of record, no other. */
	if (pl_strcmp(&msg->to.uri.user, ep->name)) {
		pl_set_str(&name, ep->name);
		sipsec_refused(s->sec, msg, "AuthFailed", &name,
			       "To is not the endpoint's own address");
		(void)sip_reply(s->sip, msg, 403, "Forbidden");
		return;
	}

	(void)registrar_handle(s->pbx->registrar, msg, ep->name);
}


static void handle_options(struct sipstack *s, const struct sip_msg *msg)
{
	(void)sip_replyf(s->sip, msg, 200, "OK",
			 "Allow: " ALLOWED "\r\n"
			 "Accept: application/sdp\r\n"
			 "Content-Length: 0\r\n\r\n");
}


/* Checks every out-of-dialog request; true when it was answered here. */
static bool request_handler(const struct sip_msg *msg, void *arg)
{
	struct sipstack *s = arg;
	const bool in_dialog = pl_isset(&msg->to.tag);
	struct reqcheck rc;

	/* The loop busy for a few ms at thousands of calls/s: the default
	 * 200 KB of socket buffer drops the burst.  libre hands out the UDP
	 * socket only with a message, so the first request sizes it. */
	if (!s->udp_buffered && msg->tp == SIP_TRANSP_UDP) {
		(void)udp_sockbuf_set(msg->sock, UDP_SOCKBUF);
		s->udp_buffered = true;
	}
	sipraw_seen(s->raw, msg);

	/* a banned source, or one over its request rate: refused here */
	if (!sipsec_admit(s->sec, msg))
		return true;

	if (pl_isset(&msg->maxfwd) && 0 == pl_u32(&msg->maxfwd) &&
	    pl_strcmp(&msg->met, "ACK") && pl_strcmp(&msg->met, "OPTIONS")) {
		(void)sip_treply(NULL, s->sip, msg, 483, "Too Many Hops");
		return true;
	}

	if (!reqcheck_request(msg, &rc)) {
		if (pl_strcmp(&msg->met, "ACK"))
			(void)sip_treplyf(NULL, NULL, s->sip, msg, false,
					  rc.scode, rc.reason,
					  "%sContent-Length: 0\r\n\r\n",
					  rc.hdrs);
		return true;
	}

	if (in_dialog)
		return false;   /* the session layer knows its dialogs */

	if (0 == pl_strcmp(&msg->met, "REGISTER")) {
		handle_register(s, msg);
		return true;
	}
	if (0 == pl_strcmp(&msg->met, "OPTIONS")) {
		handle_options(s, msg);
		return true;
	}
	if (0 == pl_strcmp(&msg->met, "INVITE") ||
	    0 == pl_strcmp(&msg->met, "ACK") ||
	    0 == pl_strcmp(&msg->met, "CANCEL") ||
	    0 == pl_strcmp(&msg->met, "BYE"))
		return false;

	/* the subscription server's (subscr.c): SUBSCRIBE for its event
	 * packages; a NOTIFY outside a dialog is answered 481 */
	if (0 == pl_strcmp(&msg->met, "SUBSCRIBE") ||
	    0 == pl_strcmp(&msg->met, "NOTIFY"))
		return false;

	if (0 == pl_strcmp(&msg->met, "MESSAGE") ||
	    0 == pl_strcmp(&msg->met, "PUBLISH") ||
	    0 == pl_strcmp(&msg->met, "REFER") ||
	    0 == pl_strcmp(&msg->met, "INFO") ||
	    0 == pl_strcmp(&msg->met, "UPDATE") ||
	    0 == pl_strcmp(&msg->met, "PRACK")) {
		(void)sip_treplyf(NULL, NULL, s->sip, msg, false, 405,
				  "Method Not Allowed",
				  "Allow: " ALLOWED "\r\n"
				  "Content-Length: 0\r\n\r\n");
		return true;
	}

	return false;  /* libre answers 501 Not Implemented */
}


/* Was @a ep registered from the address of @a msg? */
static bool registered_from(const struct pbx *pbx, const struct endpoint *ep,
			    const struct sip_msg *msg)
{
	const struct list *contacts;

	if (!ep)
		return false;

	contacts = registrar_contacts(pbx->registrar, ep->name);
	for (struct le *le = list_head(contacts); le; le = le->next) {
		const struct contact *c = le->data;

		if (sa_cmp(&c->src, &msg->src, SA_ADDR))
			return true;
	}
	return false;
}


/*
 * Who calls: a peer trusted by its address, an endpoint proving who it is,
 * or a guest.  With a guest context, an INVITE without credentials is
 * challenged only when its From names an endpoint registered from the
 * very address it comes from; anyone else (a stranger, or someone
 * borrowing an endpoint's name from elsewhere) is a guest: a probe cannot
 * tell which names exist.  Without a guest context everyone is
 * challenged, and every failure is the same 403.
 */
static bool caller_of(struct sipstack *s, const struct sip_msg *msg,
		      struct endpoint **epp, const char **contextp)
{
	struct pbx *pbx = s->pbx;
	struct endpoint *from;

	if (trunk_inbound(pbx->trunks, msg, epp, contextp))
		return true;

	from = endpoint_table_find(pbx->endpoints, &msg->from.uri.user);
	if (sip_msg_hdr(msg, SIP_HDR_PROXY_AUTHORIZATION) ||
	    !pbx->set.guest_context[0] || registered_from(pbx, from, msg)) {
		*epp = authenticate(s, msg, true);
		if (!*epp)
			return false;
		*contextp = (*epp)->context;
		return true;
	}

	if (!sipsec_guest_allows(s->sec, msg)) {
		sipsec_refused(s->sec, msg, "AclDenied", &msg->from.uri.user,
			       "address not permitted for guests");
		(void)sip_treply(NULL, s->sip, msg, 403, "Forbidden");
		return false;
	}

	*epp = NULL;
	*contextp = pbx->set.guest_context;
	return true;
}


/* A new INVITE: who calls, may they, and within the call limits? */
static void connect_handler(const struct sip_msg *msg, void *arg)
{
	struct sipstack *s = arg;
	struct pbx *pbx = s->pbx;
	struct endpoint *ep = NULL;
	const char *context = NULL;

	if (!s->inviteh) {
		(void)sip_treply(NULL, s->sip, msg, 503, "Service Unavailable");
		return;
	}

	if (!caller_of(s, msg, &ep, &context))
		return;

	if (!sipsec_call_admit(s->sec, msg, ep))
		return;

	(void)s->inviteh(pbx, msg, ep, context);
}


/* A SUBSCRIBE outside a dialog: the subscription server's (subscr.c),
 * whose event packages the modules registered (message-summary...). */
static bool subscribe_handler(const struct sip_msg *msg, void *arg)
{
	struct sipstack *s = arg;

	return subscr_subscribe(s->subscr, msg);
}


/** Who takes new INVITEs (the call model). */
void sipstack_set_invite_handler(struct sipstack *s, sipstack_invite_h *h)
{
	if (s)
		s->inviteh = h;
}


struct sipevent_sock *sipstack_evsock(const struct sipstack *s)
{
	return s ? s->evsock : NULL;
}


/* Who subscribes: an endpoint, authenticated as for REGISTER (401). */
static const char *subscriber(const struct sip_msg *msg, void *arg)
{
	struct endpoint *ep = authenticate(arg, msg, false);

	return ep ? ep->name : NULL;
}


/** A SIP message in or out: to the trace and the capture, when on. */
void sipstack_observe(struct sipstack *s, const struct sip_packet *pkt)
{
	if (siptrace_enabled())
		siptrace_log(pkt);
	capture_sip(s->pbx->capture, pkt);
}


static void trace_handler(bool tx, enum sip_transp tp,
			  const struct sa *src, const struct sa *dst,
			  const uint8_t *data, size_t len, void *arg)
{
	struct sip_packet pkt = { tx, tp, src, dst, data, len, pcapw_now(),
				  NULL };
	struct sipstack *s = arg;

	/* what came over UDP was seen as it came, before libre parsed it */
	if (!tx && tp == SIP_TRANSP_UDP && sipraw_active(s->raw))
		return;

	sipstack_observe(s, &pkt);
}


static void exit_handler(void *arg)
{
	(void)arg;
	re_cancel();
}


int sipstack_alloc(struct sipstack **sp, struct pbx *pbx)
{
	struct sa nsv[4];
	uint32_t nsn = ARRAY_SIZE(nsv);
	char domain[64] = "";
	struct sipstack *s;
	int err;

	s = mem_zalloc(sizeof(*s), destructor);
	if (!s)
		return ENOMEM;
	s->pbx = pbx;

	/* Names in URIs (trunks) need DNS; numeric addresses do not. */
	if (0 == dns_srv_get(domain, sizeof(domain), nsv, &nsn) && nsn)
		(void)dnsc_alloc(&s->dnsc, NULL, nsv, nsn);

	/* Hash sizes for a PBX: a finished transaction lingers 32 s (64*T1),
	 * so at 1000 calls/s some 100000 are alive at once. */
	err = sip_alloc(&s->sip, s->dnsc, TRANS_HASH, TRANS_HASH, 256,
			pbx->set.user_agent, exit_handler, s);
	if (err)
		goto out;
	sip_set_trace_handler(s->sip, trace_handler);

	err = sipsec_alloc(&s->sec, pbx, s->sip);
	if (err)
		goto out;

	err = sip_transp_add(s->sip, SIP_TRANSP_UDP, &pbx->set.sip_addr);
	if (err) {
		log_error("sip: cannot listen on udp:%J: %m",
			  &pbx->set.sip_addr, err);
		goto out;
	}
	err = sip_transp_add(s->sip, SIP_TRANSP_TCP, &pbx->set.sip_addr);
	if (err) {
		log_error("sip: cannot listen on tcp:%J: %m",
			  &pbx->set.sip_addr, err);
		goto out;
	}

	/* ours first: it checks requests before the session layer */
	err = sip_listen(&s->lsnr, s->sip, true, request_handler, s);
	if (err)
		goto out;

	err = sipsess_listen(&s->sock, s->sip, SESS_HASH, connect_handler, s);
	if (!err)
		err = sipevent_listen(&s->evsock, s->sip, SESS_HASH, SESS_HASH,
				      subscribe_handler, s);
	if (!err)
		err = subscr_alloc(&s->subscr, s->sip, s->evsock, "lunapbx",
				   "refer", subscriber, s);
	if (!err && sipraw_alloc(&s->raw, s, s->sip, &pbx->set.sip_addr,
				 pbx->set.user_agent))
		log_warn("sip: malformed UDP requests will not be answered");

 out:
	if (err)
		mem_deref(s);
	else
		*sp = s;

	return err;
}


struct sip *sipstack_sip(const struct sipstack *s)
{
	return s ? s->sip : NULL;
}


/** The subscription server: event packages register with it. */
struct subscr *sipstack_subscr(const struct sipstack *s)
{
	return s ? s->subscr : NULL;
}


struct sipsec *sipstack_sec(const struct sipstack *s)
{
	return s ? s->sec : NULL;
}


struct sipsess_sock *sipstack_sessock(const struct sipstack *s)
{
	return s ? s->sock : NULL;
}


/** sip:user@our-address, for From and Contact of calls we place. */
int sipstack_local_uri(const struct sipstack *s, char *buf, size_t sz,
		       const char *user)
{
	return re_snprintf(buf, sz, "sip:%s@%J", user ? user : "lunapbx",
			   &s->pbx->set.sip_addr) < 0 ? ENOMEM : 0;
}


/* kept for callers of the first API: the switch is siptrace's */
void sipstack_trace(struct sipstack *s, bool enable)
{
	(void)s;
	siptrace_enable(enable);
}


bool sipstack_tracing(const struct sipstack *s)
{
	(void)s;
	return siptrace_enabled();
}


void sipstack_close(struct sipstack *s)
{
	if (!s)
		return;

	sipsess_close_all(s->sock);
	subscr_close(s->subscr);
	sip_close(s->sip, false);
}
