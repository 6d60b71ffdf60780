/**
 * @file leg_watch.c  Who hears of a leg's events: its watchers (a slot
 * each: its holder, its bridge, its media), the observers of every leg
 * (busy lamps, call records), and its media and INFO handlers.
 */
#include <re.h>
#include "media/codec.h"
#include "call/leg.h"
#include "call/leg_priv.h"
#include "call/observers.h"
#include "call/callev.h"

/* Whoever follows every leg (BLF, call records): a few at most. */
static struct observers observers;


/** The observers only (a state change is no watcher's business). */
void legwatch_observe(struct leg *leg, enum leg_event ev)
{
	for (size_t i = 0; i < OBSERVERS_MAX; i++) {
		if (observers.v[i].h)
			((leg_event_h *)observers.v[i].h)(leg, ev,
							   observers.v[i].arg);
	}
}


/** Tell the watchers, in slot order, then the observers.  The leg lives
 *  until the last of them returns, whatever they do to it. */
void leg_emit(struct leg *leg, enum leg_event ev)
{
	mem_ref(leg);
	callev_leg(leg, ev);   /* before the watchers: causes come first */
	for (int i = 0; i < LEG_W_MAX; i++) {
		if (leg->w[i].h)
			leg->w[i].h(leg, ev, leg->w[i].arg);
	}
	legwatch_observe(leg, ev);
	mem_deref(leg);
}


void leg_watch(struct leg *leg, enum leg_slot slot, leg_event_h *h,
	       void *arg)
{
	if (!leg || slot >= LEG_W_MAX)
		return;

	leg->w[slot].h = h;
	leg->w[slot].arg = arg;
}


/** Stop watching, if @a arg is still the one watching that slot. */
void leg_unwatch(struct leg *leg, enum leg_slot slot, void *arg)
{
	if (!leg || slot >= LEG_W_MAX || leg->w[slot].arg != arg)
		return;

	leg->w[slot].h = NULL;
	leg->w[slot].arg = NULL;
}


/**
 * Follow every leg's events, and its state changes (LEG_EV_STATE), after
 * its watchers: BLF, call records.  ENOSPC when too many follow already.
 */
int leg_observe(leg_event_h *h, void *arg)
{
	return observers_add(&observers, (observers_fn *)h, arg);
}


void leg_unobserve(leg_event_h *h, void *arg)
{
	observers_remove(&observers, (observers_fn *)h, arg);
}


void leg_set_media_handler(struct leg *leg, leg_media_h *h, void *arg)
{
	if (!leg)
		return;

	leg->mediah = h;
	leg->media_arg = arg;
}


void leg_set_info_handler(struct leg *leg, leg_info_h *h, void *arg)
{
	if (!leg)
		return;

	leg->infoh = h;
	leg->info_arg = arg;
}


/* The dialog is over, whoever ended it: sockets go now, the struct when
 * the last reference does. */
