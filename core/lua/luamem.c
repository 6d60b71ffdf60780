/**
 * @file luamem.c  Lua's allocator, with a cap and per-call accounts (see
 * luamem.h for the method).
 */
#include <stdlib.h>
#include <string.h>
#include <re.h>
#include "lua/luamem.h"

/* 8 bytes keep Lua's alignment (LUAI_MAXALIGN: doubles, pointers). */
struct tag {
	uint32_t acct;
	uint32_t seq;
};


int luamem_init(struct luamem *m, size_t limit)
{
	memset(m, 0, sizeof(*m));
	m->limit = limit;
	m->enforce = true;
	m->acct = calloc(8, sizeof(*m->acct));
	if (!m->acct)
		return ENOMEM;

	m->nacct = 8;
	m->acct[0].open = true;

	return 0;
}


void luamem_close(struct luamem *m)
{
	free(m->acct);
	m->acct = NULL;
	m->nacct = 0;
}


/* The account a block is charged to: its own while open, else the PBX's. */
static uint32_t owner(const struct luamem *m, const struct tag *t)
{
	if (t->acct < m->nacct && m->acct[t->acct].open &&
	    m->acct[t->acct].seq == t->seq)
		return t->acct;

	return 0;
}


void *luamem_alloc(struct luamem *m, void *ptr, size_t osize, size_t nsize)
{
	struct tag *t = ptr ? (struct tag *)ptr - 1 : NULL;
	uint32_t from = t ? owner(m, t) : m->cur;
	/* a call that resizes a block takes it over: it caused the growth */
	uint32_t to = m->cur ? m->cur : from;

	if (!ptr)
		osize = 0;

	if (nsize == 0) {
		m->used -= osize;
		m->acct[from].live -= osize;
		free(t);
		return NULL;
	}

	/* Lua counts on a block that shrinks never failing */
	if (nsize > osize && m->enforce) {
		if (m->used + (nsize - osize) > m->limit)
			return NULL;   /* Lua raises "not enough memory" */
		if (to && m->acct_limit && m->acct[to].live + nsize -
		    (from == to ? osize : 0) > m->acct_limit)
			return NULL;   /* ... in the call that asks too much */
	}

	t = realloc(t, sizeof(*t) + nsize);
	if (!t)
		return NULL;

	m->used = m->used - osize + nsize;
	m->acct[from].live -= osize;
	m->acct[to].live += nsize;
	t->acct = to;
	t->seq = m->acct[to].seq;

	return t + 1;
}


/** A new account for a call; 0 (the PBX's) when none can be had. */
uint32_t luamem_open(struct luamem *m)
{
	struct luamem_acct *a;
	uint32_t i;

	for (i = 1; i < m->nacct; i++) {
		if (!m->acct[i].open)
			break;
	}

	if (i == m->nacct) {
		a = realloc(m->acct, 2 * m->nacct * sizeof(*a));
		if (!a)
			return 0;
		memset(a + m->nacct, 0, m->nacct * sizeof(*a));
		m->acct = a;
		m->nacct *= 2;
	}

	m->acct[i].open = true;
	m->acct[i].live = 0;

	return i;
}


/** The call ended: what it still holds is the PBX's from now on. */
void luamem_release(struct luamem *m, uint32_t a)
{
	if (!a || a >= m->nacct || !m->acct[a].open)
		return;

	m->acct[0].live += m->acct[a].live;
	m->acct[a].live = 0;
	m->acct[a].open = false;
	++m->acct[a].seq;
	if (m->cur == a)
		m->cur = 0;
}


/** Charge new blocks to @a a from now on; returns the previous account. */
uint32_t luamem_switch(struct luamem *m, uint32_t a)
{
	uint32_t prev = m->cur;

	m->cur = a < m->nacct && m->acct[a].open ? a : 0;

	return prev;
}


size_t luamem_live(const struct luamem *m, uint32_t a)
{
	return a < m->nacct && m->acct[a].open ? m->acct[a].live : 0;
}
