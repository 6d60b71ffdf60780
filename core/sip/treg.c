/**
 * @file treg.c  One outbound registration: attempts, back-off, state.
 *
 * A registration that failed (an error answer, or a transaction that timed
 * out) is dropped and made again after the back-off (trunk_backoff()),
 * rather than left to sipreg's own retry (30 s to 30 min, not configurable
 * in this libre): the schedule is the user's.
 *
 * A REGISTER that gets no answer within the time limit shows as failed at
 * once, but its sipreg stays until the transaction ends (SIP retransmits it
 * for 32 s): a sipreg dropped with its request in flight, answered later,
 * would send an un-REGISTER for the very contact a newer one registered.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "sip/trunkcfg.h"
#include "sip/treg.h"

static const char *state_names[] = {"idle", "registering", "registered",
				    "failed"};

struct treg {
	struct le le;            /* in the trunk table */
	struct treg_spec *spec;
	struct tcreds *creds;
	struct sip *sip;
	struct sipreg *reg;
	enum treg_state state;
	uint32_t failures;
	uint64_t expires_at;     /* tmr_jiffies(), when registered */
	uint64_t retry_at;       /* tmr_jiffies(), when failed     */
	char last_error[96];
	struct tmr tmr;          /* attempt limit, expiry, retry   */
	bool waiting;            /* no answer in time; still sent  */
	bool dropping;           /* the sipreg goes next turn      */
};


static void creds_destructor(void *arg)
{
	struct tcreds *c = arg;

	mem_deref(c->user);
	mem_deref(c->secret);
}


int tcreds_alloc(struct tcreds **cp, const char *user, const char *secret)
{
	struct tcreds *c;
	int err;

	if (!cp || !user)
		return EINVAL;

	c = mem_zalloc(sizeof(*c), creds_destructor);
	if (!c)
		return ENOMEM;

	err = str_dup(&c->user, user);
	if (!err && secret)
		err = str_dup(&c->secret, secret);

	if (err)
		mem_deref(c);
	else
		*cp = c;

	return err;
}


/** sip_auth_h: the same user and secret whatever the realm.  Without a
 *  secret there is nothing to answer with: the 401/407 stands. */
int tcreds_auth_handler(char **user, char **pass, const char *realm,
			void *arg)
{
	const struct tcreds *c = arg;
	int err;
	(void)realm;

	if (!c || !c->secret)
		return EAUTH;

	err = str_dup(user, c->user);
	if (!err)
		err = str_dup(pass, c->secret);

	return err;
}


static void destructor(void *arg)
{
	struct treg *r = arg;

	list_unlink(&r->le);
	tmr_cancel(&r->tmr);
	if (r->reg && r->state == TREG_REGISTERED)
		log_info("register %s: unregistering", r->spec->name);
	mem_deref(r->reg);      /* sipreg sends Expires: 0 if registered */
	mem_deref(r->creds);
	mem_deref(r->spec);
}


/** A registration in @a lst, not started: see treg_start(). */
int treg_alloc(struct treg **rp, struct treg_spec *spec, struct list *lst)
{
	struct treg *r;
	int err;

	if (!rp || !spec || !lst)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), destructor);
	if (!r)
		return ENOMEM;

	r->spec = mem_ref(spec);
	tmr_init(&r->tmr);
	err = tcreds_alloc(&r->creds, spec->authuser ? spec->authuser
			   : spec->user, spec->secret);

	if (err) {
		mem_deref(r);
		return err;
	}

	list_append(lst, &r->le, r);
	*rp = r;

	return 0;
}


void treg_move(struct treg *r, struct list *lst)
{
	list_unlink(&r->le);
	list_append(lst, &r->le, r);
}


static void attempt(void *arg);


static void retry_after_drop(void *arg)
{
	struct treg *r = arg;

	uint64_t now = tmr_jiffies();

	r->dropping = false;
	r->reg = mem_deref(r->reg);
	tmr_start(&r->tmr, r->retry_at > now ? r->retry_at - now : 0, attempt,
		  r);
}


/* The attempt is over and failed (from sipreg's handler too): the sipreg
 * goes on the next turn, the next attempt after the back-off. */
static void fail(struct treg *r, const char *fmt, ...)
{
	uint32_t wait;
	va_list ap;

	va_start(ap, fmt);
	(void)re_vsnprintf(r->last_error, sizeof(r->last_error), fmt, ap);
	va_end(ap);

	if (!r->waiting)
		++r->failures;   /* a timed-out attempt was counted then */
	r->waiting = false;
	r->state = TREG_FAILED;
	r->dropping = true;
	wait = trunk_backoff(r->failures, r->spec->retry_min,
			     r->spec->retry_max);
	r->retry_at = tmr_jiffies() + wait * 1000ULL;
	log_warn("register %s: failed (%s), attempt %u; next in %u s",
		 r->spec->name, r->last_error, r->failures, wait);
	tmr_start(&r->tmr, 0, retry_after_drop, r);
}


/* No answer in time: failed as far as anyone can tell, but the REGISTER
 * goes on being retransmitted (see the top of this file). */
static void no_answer(struct treg *r, const char *why)
{
	r->state = TREG_FAILED;
	r->waiting = true;
	++r->failures;
	str_ncpy(r->last_error, why, sizeof(r->last_error));
	log_warn("register %s: %s, attempt %u; still retransmitted until"
		 " its transaction times out", r->spec->name, why,
		 r->failures);
}


static void attempt_timeout(void *arg)
{
	struct treg *r = arg;
	char why[64];

	re_snprintf(why, sizeof(why), "no answer within %u s",
		    r->spec->timeout_s);
	no_answer(r, why);
}


/* Registered, but no successful refresh by the time it expired. */
static void expired(void *arg)
{
	no_answer(arg, "expired without a successful refresh");
}


static void registered(struct treg *r, const struct sip_msg *msg)
{
	uint32_t granted = sipreg_proxy_expires(r->reg);
	bool refresh = r->state == TREG_REGISTERED;

	if (!granted) {
		fail(r, "%u %r with expires 0", msg->scode, &msg->reason);
		return;
	}

	r->state = TREG_REGISTERED;
	r->waiting = false;
	r->failures = 0;   /* last_error stays: what went wrong before */
	r->expires_at = tmr_jiffies() + granted * 1000ULL;
	/* sipreg refreshes at 90%: by expiry, that must have worked */
	tmr_start(&r->tmr, granted * 1000ULL, expired, r);

	log_info("register %s: %s with %J, expires in %u s", r->spec->name,
		 refresh ? "refreshed" : "registered", &msg->src, granted);
}


static void resp_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct treg *r = arg;

	if (r->dropping)
		return;   /* already given up on this sipreg */

	if (err)
		fail(r, "%m", err);
	else if (!msg)
		fail(r, "no response");
	else if (msg->scode >= 200 && msg->scode < 300)
		registered(r, msg);
	else if (msg->scode >= 300)
		fail(r, "%u %r", msg->scode, &msg->reason);
}


static void attempt(void *arg)
{
	struct treg *r = arg;
	const struct treg_spec *s = r->spec;
	char server[256], aor[256];
	int err;

	r->reg = mem_deref(r->reg);
	r->state = TREG_REGISTERING;

	err = treg_spec_server(s, server, sizeof(server));
	if (!err)
		err = treg_spec_aor(s, aor, sizeof(aor));
	if (!err)
		err = sipreg_register(&r->reg, r->sip, server, aor, NULL, aor,
				      s->expires, s->contact ? s->contact
				      : s->user, NULL, 0, 0,
				      tcreds_auth_handler, r->creds, true,
				      resp_handler, r, NULL, NULL);
	if (err) {
		fail(r, "cannot send REGISTER: %m", err);
		return;
	}

	tmr_start(&r->tmr, s->timeout_s * 1000ULL, attempt_timeout, r);
}


/** Start registering, after @a delay_ms (a replaced registration's
 *  un-REGISTER goes first). */
int treg_start(struct treg *r, struct sip *sip, uint32_t delay_ms)
{
	if (!r || !sip)
		return EINVAL;

	r->sip = sip;
	r->state = TREG_REGISTERING;
	tmr_start(&r->tmr, delay_ms, attempt, r);

	return 0;
}


struct treg_spec *treg_spec(const struct treg *r)
{
	return r ? r->spec : NULL;
}


static int64_t secs_until(uint64_t when)
{
	uint64_t now = tmr_jiffies();

	return when > now ? (int64_t)((when - now + 500) / 1000) : 0;
}


void treg_info(const struct treg *r, struct treg_info *info)
{
	memset(info, 0, sizeof(*info));
	info->expires_in = info->retry_in = -1;
	info->last_error = "";
	if (!r)
		return;

	info->state = r->state;
	info->failures = r->failures;
	info->last_error = r->last_error;
	if (r->state == TREG_REGISTERED)
		info->expires_in = secs_until(r->expires_at);
	else if (r->state == TREG_FAILED && !r->waiting)
		info->retry_in = secs_until(r->retry_at);
}


const char *treg_state_name(enum treg_state st)
{
	return st <= TREG_FAILED ? state_names[st] : "?";
}
