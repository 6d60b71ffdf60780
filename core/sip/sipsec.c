/**
 * @file sipsec.c  Protections on the SIP side (see sipsec.h).
 *
 * Call limits: the SIP side does not know calls (core/call/ is above it),
 * so whoever sets the PBX up gives it a counter (sipsec_set_counter(),
 * core/main.c): how many calls are up, and how many legs an endpoint has.
 * Counting walks what is up when a new INVITE comes (a few microseconds
 * for thousands of calls) and is exact: nothing to give back when a
 * call ends.  The token API of core/security/callimit.h is the O(1)
 * alternative, once a leg can hold a token (see the README, Security).
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "security/acl.h"
#include "security/seclog.h"
#include "security/srcguard.h"
#include "sip/endpoint.h"
#include "sip/sipsec.h"

enum { RETRY_AFTER = 5 };

struct sipsec {
	struct pbx *pbx;
	struct sip *sip;
	struct srcguard *guard;
	sipsec_count_h *counth;
	void *count_arg;
};


static void destructor(void *arg)
{
	struct sipsec *ss = arg;

	mem_deref(ss->guard);
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
	err = srcguard_alloc(&ss->guard);
	if (err) {
		mem_deref(ss);
		return err;
	}

	sipsec_configure(ss);
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


/** How calls are counted (core/main.c gives the call model's count). */
void sipsec_set_counter(struct sipsec *ss, sipsec_count_h *h, void *arg)
{
	if (!ss)
		return;
	ss->counth = h;
	ss->count_arg = arg;
}


/**
 * May one more call start?  True if so; else it was answered 503 with
 * Retry-After and logged (CallLimit): max_calls calls in all, or the
 * endpoint's call_limit of legs (inbound and outbound, as Asterisk
 * counts its call-limit).
 */
bool sipsec_call_admit(struct sipsec *ss, const struct sip_msg *msg,
		       const struct endpoint *ep)
{
	const uint32_t max = ss ? ss->pbx->set.sec.max_calls : 0;
	uint32_t n = 0;
	const char *which = NULL;
	struct pl name;
	char u[160];

	if (!ss || !ss->counth)
		return true;

	if (max && (n = ss->counth(NULL, ss->count_arg)) >= max)
		which = "total";
	else if (ep && ep->call_limit &&
		 (n = ss->counth(ep->name, ss->count_arg)) >= ep->call_limit)
		which = "endpoint";
	if (!which)
		return true;

	pl_set_str(&name, ep ? ep->name : "");
	seclog_event("CallLimit", &msg->src, sipsec_tp_name(msg->tp),
		     "user=%s limit=%s calls=%u",
		     seclog_quote(u, sizeof(u), ep ? &name : NULL), which, n);
	(void)sip_treplyf(NULL, NULL, ss->sip, msg, false, 503,
			  "Service Unavailable",
			  "Retry-After: %u\r\nContent-Length: 0\r\n\r\n",
			  RETRY_AFTER);

	return false;
}


struct srcguard *sipsec_guard(const struct sipsec *ss)
{
	return ss ? ss->guard : NULL;
}

