/**
 * @file callimit.c  Concurrent call counters and their tokens (see
 * callimit.h).
 */
#include <string.h>
#include <re.h>
#include "security/callimit.h"

struct climit {
	struct hash *keys;      /* struct slot, only while count > 0 */
	uint32_t total;
};

struct slot {
	struct le he;
	char *key;
	uint32_t count;
};

struct climit_tok {
	struct climit *cl;      /* a reference */
	struct slot *slot;      /* NULL: counted in the total only */
};


static void climit_destructor(void *arg)
{
	struct climit *cl = arg;

	hash_flush(cl->keys);
	mem_deref(cl->keys);
}


int climit_alloc(struct climit **clp)
{
	struct climit *cl;
	int err;

	if (!clp)
		return EINVAL;

	cl = mem_zalloc(sizeof(*cl), climit_destructor);
	if (!cl)
		return ENOMEM;

	err = hash_alloc(&cl->keys, 256);
	if (err)
		mem_deref(cl);
	else
		*clp = cl;

	return err;
}


static void slot_destructor(void *arg)
{
	struct slot *s = arg;

	hash_unlink(&s->he);
	mem_deref(s->key);
}


static bool key_cmp(struct le *le, void *arg)
{
	const struct slot *s = le->data;

	return 0 == strcmp(s->key, arg);
}


static struct slot *slot_find(const struct climit *cl, const char *key)
{
	struct le *le = hash_lookup(cl->keys, hash_joaat_str(key), key_cmp,
				    (void *)key);

	return le ? le->data : NULL;
}


/* A key's slot, hashed, with no call yet. */
static struct slot *slot_new(struct climit *cl, const char *key)
{
	struct slot *s = mem_zalloc(sizeof(*s), slot_destructor);

	if (!s || str_dup(&s->key, key))
		return mem_deref(s);

	hash_append(cl->keys, hash_joaat_str(key), &s->he, s);

	return s;
}


static void tok_destructor(void *arg)
{
	struct climit_tok *t = arg;

	if (t->slot && !--t->slot->count)
		mem_deref(t->slot);
	--t->cl->total;
	mem_deref(t->cl);
}


/**
 * A token for one more call of @a key (NULL: counted in the total only).
 * A limit of 0 is no limit.  ENOSPC when the total is reached, EBUSY when
 * the key's own limit is.
 */
int climit_take(struct climit *cl, const char *key, uint32_t key_max,
		uint32_t total_max, struct climit_tok **tokp)
{
	struct climit_tok *t;
	struct slot *s = NULL;

	if (!cl || !tokp)
		return EINVAL;

	if (total_max && cl->total >= total_max)
		return ENOSPC;

	if (key) {
		s = slot_find(cl, key);
		if (s && key_max && s->count >= key_max)
			return EBUSY;
	}

	if (key && !s) {
		s = slot_new(cl, key);
		if (!s)
			return ENOMEM;
	}

	t = mem_zalloc(sizeof(*t), tok_destructor);
	if (!t) {
		if (s && !s->count)
			mem_deref(s);
		return ENOMEM;
	}

	t->cl = mem_ref(cl);
	t->slot = s;
	if (s)
		++s->count;
	++cl->total;
	*tokp = t;

	return 0;
}


uint32_t climit_total(const struct climit *cl)
{
	return cl ? cl->total : 0;
}


uint32_t climit_count(const struct climit *cl, const char *key)
{
	const struct slot *s = cl && key ? slot_find(cl, key) : NULL;

	return s ? s->count : 0;
}
