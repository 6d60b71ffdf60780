/**
 * @file cdr.c  Call records: following legs, calls and bridges (cdr.h).
 *
 * The call module's observers tell this file what happens; it never
 * touches a leg, call or bridge, only reads them.
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "sip/endpoint.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/bridge.h"
#include "call/call.h"
#include "store/store.h"
#include "cdr/cdr.h"
#include "cdr/cdr_priv.h"


static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);

	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}


/* A tmr_jiffies() time on the wall clock (0 stays 0). */
static uint64_t wall_of(uint64_t jiffies)
{
	uint64_t now = tmr_jiffies();

	if (!jiffies)
		return 0;

	return wall_ms() - (now > jiffies ? now - jiffies : 0);
}


static void rec_destructor(void *arg)
{
	struct cdr_rec *r = arg;

	list_unlink(&r->le);
	hash_unlink(&r->bhe);
	list_flush(&r->vars);
	mem_deref(r->b);
	mem_deref(r->src);
	mem_deref(r->dst);
	mem_deref(r->context);
	mem_deref(r->clid);
	mem_deref(r->channel);
	mem_deref(r->dstchannel);
	mem_deref(r->accountcode);
	mem_deref(r->userfield);
}


static void party_destructor(void *arg)
{
	struct cdr_party *p = arg;

	list_unlink(&p->le);
	hash_unlink(&p->he);
	list_flush(&p->recs);
	mem_deref(p->a);
}


/** An empty party (no leg yet), unlinked; freed with mem_deref. */
struct cdr_party *cdr_party_alloc(void)
{
	return mem_zalloc(sizeof(struct cdr_party), party_destructor);
}


/** An empty record, unlinked; freed with mem_deref. */
struct cdr_rec *cdr_rec_alloc(void)
{
	return mem_zalloc(sizeof(struct cdr_rec), rec_destructor);
}


static void close_rec(struct cdr_party *p, struct cdr_rec *r);
static void leg_obs(struct leg *leg, enum leg_event ev, void *arg);
static void call_obs(struct call *call, enum call_obs ev, struct dial *d,
		     void *arg);
static void bridge_obs(struct bridge *br, struct leg *leg, bool joined,
		       void *arg);


/* The commits of the last second reach the disk. */
static void sync_handler(void *arg)
{
	struct cdr *cdr = arg;
	uint64_t t0 = tmr_jiffies();
	int err = store_sync(cdr->st);

	cdrdb_csv_sync(cdr);
	if (err)
		log_warn("cdr: sync: %s", store_errmsg(cdr->st));
	else
		log_debug("cdr: records synced to disk (%llu ms)",
			  tmr_jiffies() - t0);
}


/* What is done is written, in one transaction (lost if that fails: the
 * log says whose). */
static void flush(struct cdr *cdr)
{
	uint64_t now = tmr_jiffies();
	int err;

	tmr_cancel(&cdr->flush_tmr);
	if (list_isempty(&cdr->done))
		return;

	err = cdrdb_write(cdr, &cdr->done);
	cdr->last_commit = tmr_jiffies();
	log_debug("cdr: the records of %u calls written (%llu ms)",
		  list_count(&cdr->done), tmr_jiffies() - now);
	if (err) {
		for (struct le *le = list_head(&cdr->done); le; le = le->next)
			log_error("cdr: the records of %s are lost: %m",
				  ((struct cdr_party *)le->data)->uniqueid,
				  err);
	}
	else if (!tmr_isrunning(&cdr->sync_tmr)) {
		tmr_start(&cdr->sync_tmr, CDR_SYNC_MS, sync_handler, cdr);
	}
	list_flush(&cdr->done);
}


static void flush_handler(void *arg)
{
	flush(arg);
}


/* Party A is over (hung up and its script ended, or the PBX stops): its
 * records are written now, or at the end of the commit window. */
static void party_done(struct cdr *cdr, struct cdr_party *p)
{
	uint64_t since = tmr_jiffies() - cdr->last_commit;

	for (struct le *le = list_head(&p->recs); le; le = le->next)
		close_rec(p, le->data);

	list_unlink(&p->le);
	hash_unlink(&p->he);
	list_append(&cdr->done, &p->le, p);

	if (since >= CDR_WINDOW_MS)
		flush(cdr);
	else if (!tmr_isrunning(&cdr->flush_tmr))
		tmr_start(&cdr->flush_tmr, CDR_WINDOW_MS - since,
			  flush_handler, cdr);
}


static void destructor(void *arg)
{
	struct cdr *cdr = arg;

	leg_unobserve(leg_obs, cdr);
	call_unobserve(call_obs, cdr);
	bridge_unobserve(bridge_obs, cdr);
	while (list_head(&cdr->parties))
		party_done(cdr, list_head(&cdr->parties)->data);
	flush(cdr);
	if (tmr_isrunning(&cdr->sync_tmr))
		sync_handler(cdr);
	tmr_cancel(&cdr->sync_tmr);
	hash_flush(cdr->links);
	mem_deref(cdr->links);
	mem_deref(cdr->by_a);
	mem_deref(cdr->by_b);
	mem_deref(cdr->csv_path);
}


/* Asterisk's channel name: technology/peer-sequence. */
static int channel_name(char **namep, const struct leg *leg)
{
	const struct endpoint *ep = leg_endpoint(leg);
	const char *who = ep ? ep->name : leg_uri(leg);
	struct pl user;

	if (!ep && who && 0 == re_regex(who, strlen(who), "sip:[^@;>]+",
					&user))
		return re_sdprintf(namep, "SIP/%r-%08llx", &user,
				   leg_id(leg));

	return re_sdprintf(namep, "SIP/%s-%08llx", who ? who : "unknown",
			   leg_id(leg));
}


static int callerid(char **clidp, const struct leg *leg)
{
	const char *name = leg_cid_name(leg), *num = leg_cid_num(leg);

	if (name && *name)
		return re_sdprintf(clidp, "\"%s\" <%s>", name,
				   num ? num : "");

	return str_dup(clidp, num ? num : "");
}


static bool is_party(struct le *le, void *arg)
{
	return ((struct cdr_party *)le->data)->a == arg;
}


/** Party A of records that is @a leg, or NULL. */
struct cdr_party *cdr_party_of(const struct cdr *cdr, const struct leg *leg)
{
	struct le *le;

	if (!cdr || !leg)
		return NULL;

	le = hash_lookup(cdr->by_a, (uint32_t)leg_id(leg), is_party,
			 (void *)leg);

	return le ? le->data : NULL;
}


/** The last record of @a p (the one it is on), or NULL. */
struct cdr_rec *cdr_current(const struct cdr_party *p)
{
	return p && list_tail(&p->recs) ? list_tail(&p->recs)->data : NULL;
}


static bool is_link(struct le *le, void *arg)
{
	return ((struct cdr_link *)le->data)->leg_id == *(uint64_t *)arg;
}


static struct cdr_link *link_of(const struct cdr *cdr, uint64_t id)
{
	struct le *le = hash_lookup(cdr->links, (uint32_t)id, is_link, &id);

	return le ? le->data : NULL;
}


/* The linkedid of whoever @a leg talked to as party B, if anyone. */
static const char *linked_to(const struct cdr *cdr, const struct leg *leg)
{
	const struct cdr_link *l = link_of(cdr, leg_id(leg));

	return l ? l->linkedid : NULL;
}


static void link_destructor(void *arg)
{
	struct cdr_link *l = arg;

	hash_unlink(&l->he);
}


/* @a leg is party B of a record of @a p: its records to come link to
 * p's. */
static void link_add(struct cdr *cdr, const struct leg *leg,
		     const struct cdr_party *p)
{
	struct cdr_link *l;

	if (link_of(cdr, leg_id(leg)))
		return;

	l = mem_zalloc(sizeof(*l), link_destructor);
	if (!l)
		return;   /* its later records start a linkedid of their own */
	l->leg_id = leg_id(leg);
	str_ncpy(l->linkedid, p->linkedid, sizeof(l->linkedid));
	hash_append(cdr->links, (uint32_t)l->leg_id, &l->he, l);
}


static struct cdr_party *party_new(struct cdr *cdr, struct leg *leg,
				   const char *linkedid)
{
	struct cdr_party *p = cdr_party_alloc();

	if (!p)
		return NULL;

	p->cdr = cdr;
	p->a = mem_ref(leg);
	re_snprintf(p->uniqueid, sizeof(p->uniqueid), "%llu.%llu",
		    wall_of(leg_started(leg)) / 1000, leg_id(leg));
	if (!linkedid)
		linkedid = linked_to(cdr, leg);
	p->was_b = linkedid != NULL;
	str_ncpy(p->linkedid, linkedid ? linkedid : p->uniqueid,
		 sizeof(p->linkedid));
	list_append(&cdr->parties, &p->le, p);
	hash_append(cdr->by_a, (uint32_t)leg_id(leg), &p->he, p);

	return p;
}


static struct cdr_rec *rec_new(struct cdr_party *p, const char *dst,
			       const char *context)
{
	struct cdr_rec *prev = cdr_current(p);
	struct cdr_rec *r = cdr_rec_alloc();
	int err;

	if (!r)
		return NULL;

	/* its first record starts with the leg, unless the leg was party B
	 * of someone else's record until now (a transfer) */
	r->start = prev || p->was_b ? wall_ms() : wall_of(leg_started(p->a));
	err  = str_dup(&r->src, leg_cid_num(p->a) ? leg_cid_num(p->a) : "");
	err |= str_dup(&r->dst, dst ? dst : "");
	err |= str_dup(&r->context, context ? context : "");
	err |= callerid(&r->clid, p->a);
	err |= channel_name(&r->channel, p->a);
	err |= str_dup(&r->dstchannel, "");
	/* the account is the party's, from one record to the next */
	err |= str_dup(&r->accountcode, prev ? prev->accountcode : "");
	err |= str_dup(&r->userfield, "");
	if (err) {
		mem_deref(r);
		return NULL;
	}
	list_append(&p->recs, &r->le, r);

	return r;
}


/* The time A and B talked is over (one of them left the other). */
static void unpair(struct cdr_rec *r)
{
	if (!r->b)
		return;

	r->end = wall_ms();
	r->b = mem_deref(r->b);
	hash_unlink(&r->bhe);
}


static bool is_b(struct le *le, void *arg)
{
	return ((struct cdr_rec *)le->data)->b == arg;
}


/* Whatever @a leg talks to now, it talks to no more. */
static void unpair_leg(struct cdr *cdr, const struct leg *leg)
{
	struct cdr_rec *r = cdr_current(cdr_party_of(cdr, leg));
	struct le *le;

	if (r && r->b)
		unpair(r);

	le = hash_lookup(cdr->by_b, (uint32_t)leg_id(leg), is_b, (void *)leg);
	if (le)
		unpair(le->data);
}


/* What a record that is over says of how it went. */
static void close_rec(struct cdr_party *p, struct cdr_rec *r)
{
	uint64_t a_ans = wall_of(leg_answered(p->a));

	if (r->disposition)
		return;

	unpair(r);
	if (!r->end)
		r->end = wall_ms();
	/* a leg that is up talks to the PBX (an IVR, voicemail, a transfer
	 * that moved it to a call of its own): answered, as in Asterisk */
	if (!r->answered && a_ans && a_ans <= r->end) {
		r->answered = true;
		r->answer = a_ans > r->start ? a_ans : r->start;
	}
	r->disposition = cdr_disposition(r->answered, r->dial,
					 leg_code(p->a));
}


static void on_run(struct cdr *cdr, struct call *call)
{
	struct leg *a = call_leg(call);
	struct cdr_party *p = cdr_party_of(cdr, a);
	struct cdr_rec *prev;

	if (!a || leg_closed(a))
		return;
	if (!p)
		p = party_new(cdr, a, NULL);
	if (!p)
		goto oom;

	/* a redirect: what the leg did in its last call is over */
	prev = cdr_current(p);
	if (prev)
		close_rec(p, prev);

	p->call = call;
	if (!rec_new(p, call_exten(call), call_context(call)))
		goto oom;

	return;
 oom:
	log_warn("cdr: out of memory: call %llu has no record",
		 call_id(call));
}


static void on_dial(struct cdr *cdr, struct call *call, struct dial *d)
{
	struct cdr_rec *r = cdr_current(cdr_party_of(cdr, call_leg(call)));
	enum dial_status st = dial_status(d, NULL);

	if (!r || r->b || r->disposition || st == DIAL_ANSWER)
		return;

	r->dial = st;
	if (dial_target(d)) {
		mem_deref(r->dstchannel);
		if (re_sdprintf(&r->dstchannel, "SIP/%s", dial_target(d)))
			r->dstchannel = NULL;
	}
}


static void call_obs(struct call *call, enum call_obs ev, struct dial *d,
		     void *arg)
{
	struct cdr *cdr = arg;
	struct cdr_party *p;

	switch (ev) {

	case CALL_OBS_RUN:
		on_run(cdr, call);
		break;

	case CALL_OBS_DIAL:
		on_dial(cdr, call, d);
		break;

	case CALL_OBS_END:
		/* only the party of its caller's leg runs it (on_run) */
		p = cdr_party_of(cdr, call_leg(call));
		if (!p || p->call != call)
			break;
		p->call = NULL;
		if (p->gone)
			party_done(cdr, p);
		break;
	}
}


/* A record whose A is @a x, open to a party B, or NULL. */
static struct cdr_rec *open_rec(struct cdr *cdr, const struct leg *x)
{
	struct cdr_rec *r = cdr_current(cdr_party_of(cdr, x));

	return r && !r->disposition ? r : NULL;
}


/* A record that waits for its first party B. */
static bool waits(const struct cdr_rec *r)
{
	return r && !r->b && !r->b_id;
}


/* Which of x and y is party A: the one back with whom it talked before
 * (a consultation is over), else the one whose record waits for
 * someone, else the one with a record, else the older leg. */
static bool y_is_a(const struct cdr_rec *rx, const struct cdr_rec *ry,
		   const struct leg *x, const struct leg *y)
{
	if (rx && rx->b_id == leg_id(y))
		return false;
	if (ry && ry->b_id == leg_id(x))
		return true;
	if (waits(rx) || waits(ry))
		return !waits(rx);
	if (!rx != !ry)
		return ry != NULL;

	return leg_id(y) < leg_id(x);
}


/* x and y talk (a two-leg bridge): whose record is it, and which one. */
static void pair(struct cdr *cdr, struct leg *x, struct leg *y)
{
	struct cdr_rec *rx = open_rec(cdr, x), *ry = open_rec(cdr, y);
	struct cdr_party *p;
	struct cdr_rec *r = rx;
	uint64_t b_ans;

	if (y_is_a(rx, ry, x, y)) {
		struct leg *t = x;

		x = y;
		y = t;
		r = ry;
	}

	if (r && r->b == y)
		return;
	if (r && r->b_id == leg_id(y)) {
		r->b = mem_ref(y);            /* back after a consultation */
		hash_append(cdr->by_b, (uint32_t)leg_id(y), &r->bhe, r);
		r->end = 0;
		return;
	}
	p = cdr_party_of(cdr, x);
	if (!p)
		p = party_new(cdr, x, NULL);
	if (r && !waits(r)) {                /* a new party B: a new record */
		unpair(r);
		r = NULL;
	}
	if (!r && p && p->call) {         /* its script dials again */
		r = rec_new(p, call_exten(p->call), call_context(p->call));
	}
	else if (!r && p) {               /* a transfer joined them */
		const struct cdr_rec *prev = cdr_current(p);

		r = rec_new(p, leg_cid_num(y) ? leg_cid_num(y) : "",
			    prev ? prev->context : "");
	}
	if (!r) {
		log_warn("cdr: out of memory: legs %llu and %llu unrecorded",
			 leg_id(x), leg_id(y));
		return;
	}

	log_debug("cdr: %s record %u: leg %llu talks to leg %llu",
		  p->uniqueid, list_count(&p->recs), leg_id(x), leg_id(y));
	b_ans = wall_of(leg_answered(y));
	r->b = mem_ref(y);
	hash_append(cdr->by_b, (uint32_t)leg_id(y), &r->bhe, r);
	link_add(cdr, y, p);
	r->b_id = leg_id(y);
	r->dial = 0;
	r->answered = true;
	r->answer = b_ans > r->start ? b_ans : wall_ms();
	if (r->answer < r->start)
		r->answer = r->start;
	mem_deref(r->dstchannel);
	if (channel_name(&r->dstchannel, y))
		r->dstchannel = NULL;
}


static void bridge_obs(struct bridge *br, struct leg *leg, bool joined,
		       void *arg)
{
	struct cdr *cdr = arg;
	struct leg *other;

	if (!joined) {
		unpair_leg(cdr, leg);
		return;
	}

	/* a conference room or a mixed bridge (bridge_other() is NULL
	 * there): the records say each talked to the PBX, not to each other */
	other = bridge_other(br, leg);
	if (other)
		pair(cdr, leg, other);
}


static void leg_obs(struct leg *leg, enum leg_event ev, void *arg)
{
	struct cdr *cdr = arg;
	struct cdr_party *p;

	if (ev != LEG_EV_CLOSED)
		return;

	unpair_leg(cdr, leg);
	mem_deref(link_of(cdr, leg_id(leg)));
	p = cdr_party_of(cdr, leg);
	if (!p)
		return;

	/* its times are those of the hang-up; what its script still sets
	 * (after a dial, in an `h` handler) goes in until the script ends */
	for (struct le *le = list_head(&p->recs); le; le = le->next)
		close_rec(p, le->data);
	p->gone = true;
	if (!p->call)
		party_done(cdr, p);
}


/**
 * Call records of the PBX, written to @a st (its table cdr and cdr_var).
 * One instance: it observes every leg, call and bridge.
 */
int cdr_alloc(struct cdr **cdrp, struct pbx *pbx, struct store *st)
{
	struct cdr *cdr;
	int err;

	if (!cdrp || !st)
		return EINVAL;

	cdr = mem_zalloc(sizeof(*cdr), destructor);
	if (!cdr)
		return ENOMEM;

	cdr->pbx = pbx;
	cdr->st = st;
	tmr_init(&cdr->flush_tmr);
	tmr_init(&cdr->sync_tmr);
	err  = hash_alloc(&cdr->by_a, 256);
	err |= hash_alloc(&cdr->by_b, 256);
	err |= hash_alloc(&cdr->links, 256);
	if (!err)
		err = cdrdb_open(cdr);
	if (err) {
		mem_deref(cdr);
		return err;
	}

	err = leg_observe(leg_obs, cdr);
	if (!err)
		err = call_observe(call_obs, cdr);
	if (!err)
		err = bridge_observe(bridge_obs, cdr);
	if (err) {
		mem_deref(cdr);
		return err;
	}
	*cdrp = cdr;

	return 0;
}


/** Records are also appended to @a path (Asterisk's Master.csv); NULL:
 *  not any more. */
int cdr_set_csv(struct cdr *cdr, const char *path)
{
	if (!cdr)
		return EINVAL;

	cdr->csv_path = mem_deref(cdr->csv_path);

	return path ? str_dup(&cdr->csv_path, path) : 0;
}


/** Parties whose records are not written yet (their legs are up). */
uint32_t cdr_open_count(const struct cdr *cdr)
{
	return cdr ? list_count(&cdr->parties) : 0;
}
