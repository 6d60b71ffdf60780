/**
 * @file featmatch.c  Feature codes keyed in a bridge (featmatch.h).
 */
#include <string.h>
#include <re.h>
#include "call/featmatch.h"

enum { FEAT_MAX = 16 };

struct featmap {
	struct {
		char code[FEAT_CODE_MAX + 1];
		char name[FEAT_NAME_MAX + 1];
	} f[FEAT_MAX];
	uint32_t n;
	uint32_t timeout_ms;
};

struct featmatch {
	struct featmap *map;
	char buf[FEAT_CODE_MAX + 1];
	struct tmr tmr;
	featmatch_h *h;
	void *arg;
};


int featmap_alloc(struct featmap **mapp, uint32_t digit_timeout_ms)
{
	struct featmap *map;

	if (!mapp)
		return EINVAL;

	map = mem_zalloc(sizeof(*map), NULL);
	if (!map)
		return ENOMEM;

	map->timeout_ms = digit_timeout_ms ? digit_timeout_ms : 3000;
	*mapp = map;

	return 0;
}


/** @a code: 1 to FEAT_CODE_MAX of 0-9 * # A-D; a code may not be the
 *  start of another (it would never be reached). */
int featmap_add(struct featmap *map, const char *code, const char *name)
{
	size_t n = str_len(code);

	if (!map || !n || n > FEAT_CODE_MAX || !name ||
	    strlen(name) > FEAT_NAME_MAX ||
	    strspn(code, "0123456789*#ABCD") != n)
		return EINVAL;
	if (map->n >= FEAT_MAX)
		return E2BIG;

	for (uint32_t i = 0; i < map->n; i++) {
		size_t m = strlen(map->f[i].code);

		if (!strncmp(map->f[i].code, code, n < m ? n : m))
			return EEXIST;
	}

	str_ncpy(map->f[map->n].code, code, sizeof(map->f[0].code));
	str_ncpy(map->f[map->n].name, name, sizeof(map->f[0].name));
	++map->n;

	return 0;
}


uint32_t featmap_count(const struct featmap *map)
{
	return map ? map->n : 0;
}


static void fm_destructor(void *arg)
{
	struct featmatch *fm = arg;

	tmr_cancel(&fm->tmr);
	mem_deref(fm->map);
}


int featmatch_alloc(struct featmatch **fmp, struct featmap *map,
		    featmatch_h *h, void *arg)
{
	struct featmatch *fm;

	if (!fmp || !map || !h)
		return EINVAL;

	fm = mem_zalloc(sizeof(*fm), fm_destructor);
	if (!fm)
		return ENOMEM;

	fm->map = mem_ref(map);
	fm->h = h;
	fm->arg = arg;
	tmr_init(&fm->tmr);
	*fmp = fm;

	return 0;
}


/* Held digits go on as they were keyed. */
static void pass(struct featmatch *fm)
{
	char digits[sizeof(fm->buf)];

	tmr_cancel(&fm->tmr);
	if (!fm->buf[0])
		return;

	str_ncpy(digits, fm->buf, sizeof(digits));
	fm->buf[0] = 0;
	fm->h(NULL, digits, fm->arg);
}


static void timeout(void *arg)
{
	pass(arg);
}


/* How the held digits stand: a code (its index), a prefix (-1), or
 * nothing (-2). */
static int lookup(const struct featmatch *fm)
{
	size_t n = strlen(fm->buf);
	bool prefix = false;

	for (uint32_t i = 0; i < fm->map->n; i++) {
		const char *code = fm->map->f[i].code;

		if (!strcmp(code, fm->buf))
			return (int)i;
		if (!strncmp(code, fm->buf, n))
			prefix = true;
	}

	return prefix ? -1 : -2;
}


void featmatch_digit(struct featmatch *fm, char digit)
{
	size_t n;
	int i;

	if (!fm)
		return;

	n = strlen(fm->buf);
	fm->buf[n] = digit;
	fm->buf[n + 1] = 0;

	i = lookup(fm);
	if (i >= 0) {
		tmr_cancel(&fm->tmr);
		fm->buf[0] = 0;
		fm->h(fm->map->f[i].name, NULL, fm->arg);
		return;
	}
	if (i == -1) {
		tmr_start(&fm->tmr, fm->map->timeout_ms, timeout, fm);
		return;
	}

	/* no code starts so: the first digit goes on, the rest may still
	 * start one ("#" then "#1" with "#1" a code) */
	{
		char rest[sizeof(fm->buf)];

		str_ncpy(rest, fm->buf + 1, sizeof(rest));
		fm->buf[1] = 0;
		pass(fm);
		for (char *p = rest; *p; p++)
			featmatch_digit(fm, *p);
	}
}
