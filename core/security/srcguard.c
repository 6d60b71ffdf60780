/**
 * @file srcguard.c  Failures and request rates per source (see
 * srcguard.h).
 */
#include <string.h>
#include <re.h>
#include "security/acl.h"
#include "security/seclog.h"
#include "security/srcguard.h"

enum {
	SWEEP_MS = 5000,        /* how often idle sources are forgotten */
	EVICT_TRIES = 64,       /* banned sources skipped when full      */
};

struct src {
	struct le he;           /* in the hash, by key            */
	struct le lru;          /* in seen order, oldest first    */
	uint8_t key[16];
	struct sa addr;         /* the first address seen          */
	uint64_t last;          /* ms of the last request or event */
	uint32_t fails;
	uint64_t fail_start;
	uint64_t ban_until;     /* 0: not banned                   */
	uint32_t refused;       /* while banned or limited         */
	uint64_t tokens;        /* in 1/1000 of a request          */
	uint64_t refill;        /* ms of the last refill           */
	bool limited;
};

struct srcguard {
	struct hash *ht;
	struct list lru;
	struct srcguard_conf conf;
	struct acl *trusted;
	struct tmr tmr;
	uint32_t count;
	uint32_t bans;
};


static void src_destructor(void *arg)
{
	struct src *s = arg;

	hash_unlink(&s->he);
	list_unlink(&s->lru);
}


static void destructor(void *arg)
{
	struct srcguard *g = arg;

	tmr_cancel(&g->tmr);
	list_flush(&g->lru);
	mem_deref(g->ht);
	mem_deref(g->trusted);
}


static void sweep_tmr(void *arg)
{
	struct srcguard *g = arg;

	srcguard_sweep(g, tmr_jiffies());
	tmr_start(&g->tmr, SWEEP_MS, sweep_tmr, g);
}


int srcguard_alloc(struct srcguard **gp)
{
	struct srcguard *g;
	int err;

	if (!gp)
		return EINVAL;

	g = mem_zalloc(sizeof(*g), destructor);
	if (!g)
		return ENOMEM;

	tmr_init(&g->tmr);
	err = hash_alloc(&g->ht, 4096);
	if (err) {
		mem_deref(g);
		return err;
	}

	tmr_start(&g->tmr, SWEEP_MS, sweep_tmr, g);
	*gp = g;

	return 0;
}


/** New limits (a reload); what each source did so far is kept. */
void srcguard_configure(struct srcguard *g, const struct srcguard_conf *conf,
			struct acl *trusted)
{
	if (!g || !conf)
		return;

	g->conf = *conf;
	if (g->conf.rate && !g->conf.burst)
		g->conf.burst = 2 * g->conf.rate;
	mem_deref(g->trusted);
	g->trusted = mem_ref(trusted);
}


/* The key: an IPv4 address, or the /64 of an IPv6 one. */
static bool make_key(const struct sa *sa, uint8_t *key)
{
	memset(key, 0, 16);

	switch (sa_af(sa)) {

	case AF_INET: {
		uint32_t v4 = sa_in(sa);

		memcpy(key, &v4, sizeof(v4));
		return true;
	}
	case AF_INET6:
		sa_in6(sa, key);
		memset(key + 8, 0, 8);
		key[15] = 6;
		return true;

	default:
		return false;
	}
}


static bool key_cmp(struct le *le, void *arg)
{
	const struct src *s = le->data;

	return 0 == memcmp(s->key, arg, sizeof(s->key));
}


static struct src *lookup(const struct srcguard *g, const uint8_t *key)
{
	struct le *le = hash_lookup(g->ht, hash_joaat(key, 16), key_cmp,
				    (void *)key);

	return le ? le->data : NULL;
}


/* Room for one more: the least recently seen source that is not banned
 * goes. */
static bool make_room(struct srcguard *g)
{
	struct le *le = g->lru.head;

	for (int i = 0; le && i < EVICT_TRIES; i++, le = le->next) {
		struct src *s = le->data;

		if (!s->ban_until) {
			mem_deref(s);
			--g->count;
			return true;
		}
	}
	return false;
}


/* The source's record, made when needed; NULL when none can be kept. */
static struct src *get(struct srcguard *g, const struct sa *sa, uint64_t now)
{
	uint8_t key[16];
	struct src *s;

	if (!make_key(sa, key))
		return NULL;

	s = lookup(g, key);
	if (s) {
		list_unlink(&s->lru);
		list_append(&g->lru, &s->lru, s);
		s->last = now;
		return s;
	}

	if (g->count >= SRCGUARD_MAX && !make_room(g))
		return NULL;

	s = mem_zalloc(sizeof(*s), src_destructor);
	if (!s)
		return NULL;

	memcpy(s->key, key, sizeof(key));
	s->addr = *sa;
	s->last = now;
	s->refill = now;
	s->tokens = (uint64_t)g->conf.burst * 1000;
	hash_append(g->ht, hash_joaat(key, 16), &s->he, s);
	list_append(&g->lru, &s->lru, s);
	++g->count;

	return s;
}


static bool trusted(const struct srcguard *g, const struct sa *sa)
{
	return acl_count(g->trusted) && acl_allows(g->trusted, sa);
}


static void ban_end(struct srcguard *g, struct src *s)
{
	seclog_event("Unbanned", &s->addr, NULL, "refused=%u", s->refused);
	s->ban_until = 0;
	s->refused = 0;
	s->fails = 0;
	--g->bans;
}


/* Still banned at @a now?  A ban that ran out ends here. */
static bool ban_check(struct srcguard *g, struct src *s, uint64_t now)
{
	if (!s->ban_until)
		return false;
	if (now < s->ban_until)
		return true;

	ban_end(g, s);
	return false;
}


static void rate_end(struct src *s)
{
	seclog_event("RateRestored", &s->addr, NULL, "refused=%u",
		     s->refused);
	s->limited = false;
	s->refused = 0;
}


/* Token bucket: rate requests a second, burst at once. */
static bool rate_take(const struct srcguard *g, struct src *s, uint64_t now)
{
	const uint64_t cap = (uint64_t)g->conf.burst * 1000;

	s->tokens += (now - s->refill) * g->conf.rate;
	if (s->tokens > cap)
		s->tokens = cap;
	s->refill = now;

	if (s->tokens < 1000)
		return false;

	s->tokens -= 1000;
	return true;
}


/** A new request from @a src: may it be handled? */
enum srcguard_verdict srcguard_request(struct srcguard *g,
				       const struct sa *src, uint64_t now)
{
	struct src *s;

	if (!g || !src || trusted(g, src))
		return SRCGUARD_PASS;
	if (!g->conf.rate && !g->bans)
		return SRCGUARD_PASS;      /* nothing to look up */

	s = get(g, src, now);
	if (!s)
		return SRCGUARD_PASS;

	if (ban_check(g, s, now)) {
		++s->refused;
		return SRCGUARD_BANNED;
	}

	if (!g->conf.rate)
		return SRCGUARD_PASS;

	if (rate_take(g, s, now)) {
		if (s->limited && s->tokens >= (uint64_t)g->conf.burst * 500)
			rate_end(s);
		return SRCGUARD_PASS;
	}

	if (!s->limited) {
		s->limited = true;
		s->refused = 0;
		seclog_event("RateLimited", src, NULL, "rate=%u burst=%u",
			     g->conf.rate, g->conf.burst);
	}
	++s->refused;

	return SRCGUARD_RATE;
}


static void ban_start(struct srcguard *g, struct src *s, uint32_t seconds,
		      uint64_t now, const char *why)
{
	if (!s->ban_until)
		++g->bans;
	s->ban_until = now + seconds * 1000ULL;
	s->refused = 0;
	seclog_event("Banned", &s->addr, NULL, "seconds=%u reason=\"%s\"",
		     seconds, why);
}


/**
 * One failed authentication (or refusal by an address list) from @a src.
 * True when it was one too many: the source is banned from now on.
 */
bool srcguard_failed(struct srcguard *g, const struct sa *src, uint64_t now)
{
	struct src *s;
	char why[64];

	if (!g || !src || !g->conf.fail_limit || trusted(g, src))
		return false;

	s = get(g, src, now);
	if (!s || ban_check(g, s, now))
		return false;

	if (!s->fails || now - s->fail_start > g->conf.fail_window * 1000ULL) {
		s->fails = 0;
		s->fail_start = now;
	}
	if (++s->fails < g->conf.fail_limit)
		return false;

	re_snprintf(why, sizeof(why), "%u failures in %u s", s->fails,
		    g->conf.fail_window);
	ban_start(g, s, g->conf.ban_time, now, why);

	return true;
}


bool srcguard_banned(struct srcguard *g, const struct sa *src, uint64_t now)
{
	uint8_t key[16];
	struct src *s;

	if (!g || !src || !make_key(src, key))
		return false;

	s = lookup(g, key);

	return s && ban_check(g, s, now);
}


/** A ban asked for (the console): @a seconds from @a now. */
int srcguard_ban(struct srcguard *g, const struct sa *src, uint32_t seconds,
		 uint64_t now)
{
	struct src *s;

	if (!g || !src || !seconds)
		return EINVAL;

	s = get(g, src, now);
	if (!s)
		return ENOMEM;

	ban_start(g, s, seconds, now, "asked for");
	return 0;
}


bool srcguard_unban(struct srcguard *g, const struct sa *src)
{
	uint8_t key[16];
	struct src *s;

	if (!g || !src || !make_key(src, key))
		return false;

	s = lookup(g, key);
	if (!s || !s->ban_until)
		return false;

	ban_end(g, s);
	return true;
}


/**
 * Forget the sources idle for longer than the failure window (and 10 s),
 * end the bans that ran out and the rate episodes that calmed down.
 */
void srcguard_sweep(struct srcguard *g, uint64_t now)
{
	uint64_t idle = max(g->conf.fail_window * 1000ULL, 10000ULL);
	struct le *le;

	if (!g)
		return;

	le = g->lru.head;
	while (le) {
		struct src *s = le->data;

		le = le->next;
		if (s->ban_until && ban_check(g, s, now))
			continue;
		if (s->limited && now - s->last >= 1000)
			rate_end(s);
		if (now - s->last < idle)
			break;               /* the rest is more recent */
		mem_deref(s);
		--g->count;
	}
}


uint32_t srcguard_count(const struct srcguard *g)
{
	return g ? g->count : 0;
}


uint32_t srcguard_bans(const struct srcguard *g)
{
	return g ? g->bans : 0;
}


/** Each banned source with the seconds its ban has left. */
void srcguard_apply(const struct srcguard *g, uint64_t now,
		    srcguard_apply_h *h, void *arg)
{
	for (struct le *le = g && h ? g->lru.head : NULL; le; le = le->next) {
		const struct src *s = le->data;

		if (!s->ban_until || now >= s->ban_until)
			continue;
		if (h(&s->addr, (uint32_t)((s->ban_until - now + 999) / 1000),
		      s->fails, arg))
			break;
	}
}
