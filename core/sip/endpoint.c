/**
 * @file endpoint.c  The endpoint table.
 */
#include <string.h>
#include <re.h>
#include "media/codec.h"
#include "sip/endpoint.h"

struct endpoint_table {
	struct hash *ht;
	uint32_t count;
};


static void endpoint_destructor(void *arg)
{
	struct endpoint *ep = arg;

	hash_unlink(&ep->he);
	mem_deref(ep->name);
	mem_deref(ep->secret);
	mem_deref(ep->context);
	mem_deref(ep->cid_name);
	mem_deref(ep->cid_num);
	mem_deref(ep->acl);
	mem_deref(ep->moh);
	mem_deref(ep->callgroup);
	mem_deref(ep->pickupgroup);
}


int endpoint_alloc(struct endpoint **epp, const char *name)
{
	struct endpoint *ep;
	int err;

	if (!epp || !name || !*name)
		return EINVAL;

	ep = mem_zalloc(sizeof(*ep), endpoint_destructor);
	if (!ep)
		return ENOMEM;

	err = str_dup(&ep->name, name);
	ep->codecs = CODEC_MASK_ALL;
	ep->codec_order[0] = CODEC_PCMU;
	ep->codec_order[1] = CODEC_PCMA;

	if (err)
		mem_deref(ep);
	else
		*epp = ep;

	return err;
}


static void table_destructor(void *arg)
{
	struct endpoint_table *t = arg;

	hash_flush(t->ht);
	mem_deref(t->ht);
}


int endpoint_table_alloc(struct endpoint_table **tp)
{
	struct endpoint_table *t;
	int err;

	t = mem_zalloc(sizeof(*t), table_destructor);
	if (!t)
		return ENOMEM;

	err = hash_alloc(&t->ht, 256);
	if (err)
		mem_deref(t);
	else
		*tp = t;

	return err;
}


/** The table takes the reference; a duplicate name is EEXIST. */
int endpoint_table_add(struct endpoint_table *t, struct endpoint *ep)
{
	if (!t || !ep)
		return EINVAL;

	if (endpoint_table_find_str(t, ep->name))
		return EEXIST;

	hash_append(t->ht, hash_joaat_str(ep->name), &ep->he, ep);
	++t->count;

	return 0;
}


static bool name_cmp(struct le *le, void *arg)
{
	const struct endpoint *ep = le->data;

	return 0 == pl_strcmp(arg, ep->name);
}


struct endpoint *endpoint_table_find(const struct endpoint_table *t,
				     const struct pl *name)
{
	struct le *le;

	if (!t || !pl_isset(name))
		return NULL;

	le = hash_lookup(t->ht, hash_joaat_pl(name), name_cmp,
			 (void *)name);

	return le ? le->data : NULL;
}


struct endpoint *endpoint_table_find_str(const struct endpoint_table *t,
					 const char *name)
{
	struct pl pl;

	pl_set_str(&pl, name);

	return endpoint_table_find(t, &pl);
}


uint32_t endpoint_table_count(const struct endpoint_table *t)
{
	return t ? t->count : 0;
}


struct apply_ctx {
	endpoint_apply_h *h;
	void *arg;
};


static bool apply_one(struct le *le, void *arg)
{
	struct apply_ctx *ctx = arg;

	return ctx->h(le->data, ctx->arg);
}


struct endpoint *endpoint_table_apply(const struct endpoint_table *t,
				      endpoint_apply_h *h, void *arg)
{
	struct apply_ctx ctx = { h, arg };
	struct le *le;

	if (!t || !h)
		return NULL;

	le = hash_apply(t->ht, apply_one, &ctx);

	return le ? le->data : NULL;
}
