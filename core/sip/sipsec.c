/**
 * @file sipsec.c  Protections on the SIP side (see sipsec.h).
 *
 * Call tokens: a call takes a climit token before call_incoming() and the
 * slot must come back when the call ends.  Until the call model holds the
 * token itself (one field, dropped in its destructor), the token waits
 * here beside the call's address and id, and is given back by a sweep
 * that finds the calls no longer in pbx->calls: every 10 s, and before a
 * limit refuses a call, so a limit never refuses because of an ended
 * call.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "security/acl.h"
#include "security/callimit.h"
#include "security/seclog.h"
#include "security/srcguard.h"
#include "sip/call.h"
#include "sip/endpoint.h"
#include "sip/sipsec.h"

enum { SWEEP_MS = 10000, RETRY_AFTER = 5 };

struct sipsec {
	struct pbx *pbx;
	struct sip *sip;
	struct srcguard *guard;
	struct climit *climit;
	struct hash *held;       /* struct held, by call address */
	struct tmr tmr;
	uint32_t epoch;
};

/* A call's token, until the call holds it itself. */
struct held {
	struct le he;
	const struct call *call;
	uint64_t id;
	uint32_t epoch;
	struct climit_tok *tok;
};


static void destructor(void *arg)
{
	struct sipsec *ss = arg;

	tmr_cancel(&ss->tmr);
	hash_flush(ss->held);
	mem_deref(ss->held);
	mem_deref(ss->climit);
	mem_deref(ss->guard);
}


static void held_destructor(void *arg)
{
	struct held *h = arg;

	hash_unlink(&h->he);
	mem_deref(h->tok);
}


static bool call_cmp(struct le *le, void *arg)
{
	const struct held *h = le->data;

	return h->call == arg;
}


static struct held *held_find(const struct sipsec *ss, const void *call)
{
	struct le *le = hash_lookup(ss->held, hash_fast((const char *)&call,
							 sizeof(call)),
				    call_cmp, (void *)call);

	return le ? le->data : NULL;
}


static bool drop_unmarked(struct le *le, void *arg)
{
	struct held *h = le->data;
	const struct sipsec *ss = arg;

	if (h->epoch != ss->epoch)
		mem_deref(h);
	return false;
}


/* Give back the tokens of calls that ended. */
static void sweep(struct sipsec *ss)
{
	++ss->epoch;
	for (struct le *le = ss->pbx->calls.head; le; le = le->next) {
		struct held *h = held_find(ss, le->data);

		if (h && h->id == call_id(le->data))
			h->epoch = ss->epoch;
	}
	(void)hash_apply(ss->held, drop_unmarked, ss);
}


static void sweep_tmr(void *arg)
{
	struct sipsec *ss = arg;

	sweep(ss);
	tmr_start(&ss->tmr, SWEEP_MS, sweep_tmr, ss);
}


int sipsec_alloc(struct sipsec **sp, struct pbx *pbx, struct sip *sip)
{
	struct sipsec *ss;
	int err;

	if (!sp || !pbx || !sip)
		return EINVAL;

	ss = mem_zalloc(sizeof(*ss), destructor);
	if (!ss)
		return ENOMEM;

	ss->pbx = pbx;
	ss->sip = sip;
	tmr_init(&ss->tmr);
	err = srcguard_alloc(&ss->guard);
	if (!err)
		err = climit_alloc(&ss->climit);
	if (!err)
		err = hash_alloc(&ss->held, 1024);
	if (err) {
		mem_deref(ss);
		return err;
	}

	sipsec_configure(ss);
	tmr_start(&ss->tmr, SWEEP_MS, sweep_tmr, ss);
	*sp = ss;

	return 0;
}


/** The settings in force (start, reload); the security log reopened. */
void sipsec_configure(struct sipsec *ss)
{
	const struct sec_settings *sec;
	struct srcguard_conf conf;
	char path[512];
	int err;

	if (!ss)
		return;

	sec = &ss->pbx->set.sec;
	conf.fail_limit  = sec->fail_limit;
	conf.fail_window = sec->fail_window;
	conf.ban_time    = sec->ban_time;
	conf.rate        = sec->rate;
	conf.burst       = sec->burst;
	srcguard_configure(ss->guard, &conf, ss->pbx->sec_trusted);

	if (!sec->log[0]) {
		seclog_close();
		return;
	}
	if (sec->log[0] == '/' || !ss->pbx->state_dir)
		str_ncpy(path, sec->log, sizeof(path));
	else
		re_snprintf(path, sizeof(path), "%s/%s", ss->pbx->state_dir,
			    sec->log);

	err = seclog_open(path);
	if (err)
		log_warn("security log %s: %m (events go to this log only)",
			 path, err);
}


const char *sipsec_tp_name(int tp)
{
	switch (tp) {

	case SIP_TRANSP_UDP: return "udp";
	case SIP_TRANSP_TCP: return "tcp";
	case SIP_TRANSP_TLS: return "tls";
	default:             return "-";
	}
}


/**
 * A request from the network: false when it was answered here, 403 to a
 * banned source, 503 with Retry-After over the request rate (ACKs and
 * CANCELs are not counted, and get no answer when refused).
 */
bool sipsec_admit(struct sipsec *ss, const struct sip_msg *msg)
{
	const bool ack = 0 == pl_strcmp(&msg->met, "ACK");
	const bool counted = !ack && pl_strcmp(&msg->met, "CANCEL");
	enum srcguard_verdict v;

	if (!ss)
		return true;

	if (counted)
		v = srcguard_request(ss->guard, &msg->src, tmr_jiffies());
	else
		v = srcguard_banned(ss->guard, &msg->src, tmr_jiffies())
			? SRCGUARD_BANNED : SRCGUARD_PASS;

	switch (v) {

	case SRCGUARD_BANNED:
		if (!ack)
			(void)sip_reply(ss->sip, msg, 403, "Forbidden");
		return false;

	case SRCGUARD_RATE:
		(void)sip_replyf(ss->sip, msg, 503, "Service Unavailable",
				 "Retry-After: %u\r\n"
				 "Content-Length: 0\r\n\r\n", RETRY_AFTER);
		return false;

	default:
		return true;
	}
}


/** A datagram libre cannot parse: dropped when its source is refused. */
bool sipsec_admit_raw(struct sipsec *ss, const struct sa *src)
{
	return !ss || srcguard_request(ss->guard, src, tmr_jiffies()) ==
		SRCGUARD_PASS;
}


/**
 * A request refused for who sent it (AuthFailed, AclDenied): one line in
 * the security log, one failure of its source (a ban past the limit).
 */
void sipsec_refused(struct sipsec *ss, const struct sip_msg *msg,
		    const char *event, const struct pl *user, const char *why)
{
	char u[160], m[48];

	if (!ss)
		return;

	seclog_event(event, &msg->src, sipsec_tp_name(msg->tp),
		     "user=%s method=%s reason=\"%s\"",
		     seclog_quote(u, sizeof(u), user),
		     seclog_quote(m, sizeof(m), &msg->met),
		     why ? why : "-");
	(void)srcguard_failed(ss->guard, &msg->src, tmr_jiffies());
}


bool sipsec_endpoint_allows(struct sipsec *ss, const struct sip_msg *msg,
			    const struct endpoint *ep)
{
	(void)ss;
	return !ep || acl_allows(ep->acl, &msg->src);
}


bool sipsec_guest_allows(struct sipsec *ss, const struct sip_msg *msg)
{
	return !ss || acl_allows(ss->pbx->guest_acl, &msg->src);
}


static int take(struct sipsec *ss, const struct endpoint *ep,
		struct climit_tok **tokp)
{
	return climit_take(ss->climit, ep ? ep->name : NULL,
			   ep ? ep->call_limit : 0, ss->pbx->set.sec.max_calls,
			   tokp);
}


/**
 * May one more call start?  0 with a token for it, else the call was
 * answered 503 (Retry-After) and logged.
 */
int sipsec_call_admit(struct sipsec *ss, const struct sip_msg *msg,
		      const struct endpoint *ep, void **tokp)
{
	struct climit_tok *tok = NULL;
	char u[160];
	struct pl name;
	int err;

	*tokp = NULL;
	if (!ss)
		return 0;

	err = take(ss, ep, &tok);
	if (err == ENOSPC || err == EBUSY) {
		sweep(ss);              /* ended calls give their slots back */
		err = take(ss, ep, &tok);
	}
	if (!err) {
		*tokp = tok;
		return 0;
	}

	pl_set_str(&name, ep ? ep->name : "");
	seclog_event("CallLimit", &msg->src, sipsec_tp_name(msg->tp),
		     "user=%s limit=%s calls=%u",
		     seclog_quote(u, sizeof(u), ep ? &name : NULL),
		     err == EBUSY ? "endpoint" : "total",
		     err == EBUSY ? climit_count(ss->climit, ep->name)
		     : climit_total(ss->climit));
	(void)sip_treplyf(NULL, NULL, ss->sip, msg, false, 503,
			  "Service Unavailable",
			  "Retry-After: %u\r\nContent-Length: 0\r\n\r\n",
			  RETRY_AFTER);

	return err;
}


/**
 * The call started by call_incoming() holds @a tok from now on: the new
 * call is the one after @a before (the tail of pbx->calls before it).
 * When the call is already over, the token goes at once.
 */
void sipsec_call_started(struct sipsec *ss, struct le *before, void *tok)
{
	struct le *tail = ss ? ss->pbx->calls.tail : NULL;
	struct held *h, *stale;

	if (!tok)
		return;
	if (!tail || tail == before) {
		mem_deref(tok);
		return;
	}

	/* an ended call's entry left at the same address */
	stale = held_find(ss, tail->data);
	mem_deref(stale);

	h = mem_zalloc(sizeof(*h), held_destructor);
	if (!h) {
		mem_deref(tok);
		return;
	}
	h->call = tail->data;
	h->id = call_id(tail->data);
	h->epoch = ss->epoch;
	h->tok = tok;
	hash_append(ss->held, hash_fast((const char *)&h->call,
					sizeof(h->call)), &h->he, h);
}


struct srcguard *sipsec_guard(const struct sipsec *ss)
{
	return ss ? ss->guard : NULL;
}


struct climit *sipsec_climit(const struct sipsec *ss)
{
	return ss ? ss->climit : NULL;
}
