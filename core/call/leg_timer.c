/**
 * @file leg_timer.c  Session timers (RFC 4028): a dialog proves itself
 * alive every few minutes, so that none outlives its phone when a BYE is
 * lost.
 *
 * One side refreshes (a re-INVITE) before half the interval; the other,
 * without a refresh by the interval minus min(32 s, a third of it), ends
 * the dialog with a BYE.  Incoming: the phone's Session-Expires is taken
 * (422 with Min-SE below ours), else ours is offered; the phone refreshes
 * when it supports timers, else the PBX does.  Outgoing: the PBX asks for
 * pbx.settings' session_expires and does what the 200 says.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "call/leg.h"
#include "call/leg_priv.h"


static bool has_token(const struct sip_msg *msg, enum sip_hdrid id,
		      const char *token)
{
	return sip_msg_hdr_has_value(msg, id, token);
}


/* "N;refresher=uac": the interval, and who refreshes (0: not said). */
static uint32_t parse_se(const struct sip_msg *msg, char *refresher)
{
	const struct sip_hdr *hdr = sip_msg_hdr(msg, SIP_HDR_SESSION_EXPIRES);
	struct pl n, params, r;

	*refresher = 0;
	if (!hdr || re_regex(hdr->val.p, hdr->val.l, "[0-9]+[^]*", &n,
			     &params))
		return 0;

	if (!msg_param_decode(&params, "refresher", &r))
		*refresher = !pl_strcasecmp(&r, "uac") ? 'c'
			: !pl_strcasecmp(&r, "uas") ? 's' : 0;

	return pl_u32(&n);
}


static void expire(void *arg);
static void refresh(void *arg);


/* The next step of the timer: our refresh, or the far end's deadline. */
static void arm(struct leg *leg)
{
	uint32_t se = leg->se;

	if (!se || leg->closed)
		return;

	if (leg->se_ours)
		tmr_start(&leg->se_tmr, 500ULL * se, refresh, leg);
	else
		tmr_start(&leg->se_tmr, 1000ULL * (se - (se / 3 < 32 ? se / 3
						     : 32)), expire, leg);
}


static void refresh(void *arg)
{
	struct leg *leg = arg;

	log_debug("leg %llu: session refresh (re-INVITE)", leg->id);
	if (leg_reoffer(leg))
		log_warn("leg %llu: session refresh failed", leg->id);
	arm(leg);
}


static void expire(void *arg)
{
	struct leg *leg = arg;

	log_warn("leg %llu: session expired (%u s without a refresh):"
		 " hung up", leg->id, leg->se);
	leg_hangup(leg, 0);
}


/**
 * An incoming INVITE's session timer: what the 200 will say.  A
 * Session-Expires below our minimum is answered 422 with Min-SE here
 * (EINVAL: the leg is refused).
 */
int legtimer_incoming(struct leg *leg, const struct sip_msg *msg,
		      struct sip *sip)
{
	const struct pbx_settings *set = &leg->pbx->set;
	bool supported = has_token(msg, SIP_HDR_SUPPORTED, "timer") ||
		has_token(msg, SIP_HDR_REQUIRE, "timer");
	char who;
	uint32_t se = parse_se(msg, &who);

	if (!set->session_expires)
		return 0;

	if (se && se < set->session_min_se) {
		log_info("leg %llu: Session-Expires %u below %u: 422", leg->id,
			 se, set->session_min_se);
		(void)sip_treplyf(NULL, NULL, sip, msg, false, 422,
				  "Session Interval Too Small",
				  "Min-SE: %u\r\nContent-Length: 0\r\n\r\n",
				  set->session_min_se);
		return EINVAL;
	}

	leg->se = se ? se : set->session_expires;
	if (!who)
		who = supported ? 'c' : 's';
	leg->se_ours = who == 's';
	re_snprintf(leg->se_hdrs, sizeof(leg->se_hdrs),
		    "Session-Expires: %u;refresher=ua%c\r\n%s", leg->se, who,
		    who == 'c' ? "Require: timer\r\n" : "");

	return 0;
}


/** What an INVITE of ours asks (the headers, CRLF-ended). */
int legtimer_request(const struct pbx *pbx, char *buf, size_t sz)
{
	if (!pbx->set.session_expires) {
		*buf = 0;
		return 0;
	}

	return re_snprintf(buf, sz, "Supported: timer\r\n"
			   "Session-Expires: %u\r\nMin-SE: %u\r\n",
			   pbx->set.session_expires,
			   pbx->set.session_min_se) < 0 ? ENOMEM : 0;
}


/** The 200 to an INVITE of ours: what it says the timer is (nothing: no
 *  timer; a phone that supports none is not refreshed). */
void legtimer_answer(struct leg *leg, const struct sip_msg *msg)
{
	char who;
	uint32_t se = parse_se(msg, &who);

	if (!se || !leg->pbx->set.session_expires)
		return;

	leg->se = se;
	leg->se_ours = who != 's';   /* uac: us, and the default */
	arm(leg);
}


/** The dialog is answered: the timer runs. */
void legtimer_start(struct leg *leg)
{
	arm(leg);
}


/** The far end proved itself (a re-INVITE): the timer starts again. */
void legtimer_refreshed(struct leg *leg)
{
	if (tmr_isrunning(&leg->se_tmr))
		arm(leg);
}


void legtimer_stop(struct leg *leg)
{
	tmr_cancel(&leg->se_tmr);
}
