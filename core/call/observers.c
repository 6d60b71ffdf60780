/**
 * @file observers.c  The few handlers that follow every object of a kind.
 */
#include <re.h>
#include "call/observers.h"


/** Add @a h with @a arg; ENOSPC when OBSERVERS_MAX follow already. */
int observers_add(struct observers *o, observers_fn *h, void *arg)
{
	if (!o || !h)
		return EINVAL;

	for (size_t i = 0; i < OBSERVERS_MAX; i++) {
		if (!o->v[i].h) {
			o->v[i].h = h;
			o->v[i].arg = arg;
			return 0;
		}
	}

	return ENOSPC;
}


void observers_remove(struct observers *o, observers_fn *h, void *arg)
{
	for (size_t i = 0; o && i < OBSERVERS_MAX; i++) {
		if (o->v[i].h == h && o->v[i].arg == arg) {
			o->v[i].h = NULL;
			o->v[i].arg = NULL;
		}
	}
}
