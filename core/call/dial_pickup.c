/**
 * @file dial_pickup.c  Who a dial rings, and another phone taking the
 * call while it rings (Asterisk's pickup: *8, Pickup(), a BLF key's
 * INVITE with Replaces).
 *
 * Which ringing call a phone may take is policy (Lua: call groups, pickup
 * groups, a predicate); here is only what taking it does: the forks are
 * cancelled (the other phones stop ringing), the caller is answered to
 * match the picker, the two are bridged, and the dial ends ANSWER with the
 * picker as the callee who answered, so its owner goes on as after any
 * answer (call:dial talks on, with the callee's feature keys).
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "media/codec.h"
#include "media/stream.h"
#include "call/bridge.h"
#include "call/leg.h"
#include "call/dial.h"
#include "call/dial_priv.h"


struct leg_find {
	const struct leg *leg;
};


static bool has_leg(struct dial *d, void *arg)
{
	const struct leg *leg = ((struct leg_find *)arg)->leg;

	if (d->status != DIAL_NONE)
		return false;
	if (d->caller == leg && !d->gone)
		return true;

	for (struct le *le = list_head(&d->forks); le; le = le->next) {
		const struct fork *f = le->data;

		if (f->leg == leg)
			return true;
	}

	return false;
}


/** The ringing dial @a leg is a fork or the caller of (NULL: none). */
struct dial *dial_of_leg(const struct leg *leg)
{
	struct leg_find lf = { leg };

	return leg ? dial_apply(has_leg, &lf) : NULL;
}


/** Its caller, while it is there. */
struct leg *dial_caller(const struct dial *d)
{
	return d && !d->gone ? d->caller : NULL;
}


/** The @a i-th leg it rings now (0 first); NULL past the last. */
struct leg *dial_fork(const struct dial *d, uint32_t i)
{
	struct le *le = d ? list_head(&d->forks) : NULL;

	while (le && i--)
		le = le->next;

	return le ? ((struct fork *)le->data)->leg : NULL;
}


/** When it started ringing (tmr_jiffies()). */
uint64_t dial_started(const struct dial *d)
{
	return d ? d->started : 0;
}


static bool is_fork(const struct dial *d, const struct leg *leg)
{
	for (struct le *le = list_head(&d->forks); le; le = le->next) {
		if (((const struct fork *)le->data)->leg == leg)
			return true;
	}

	return false;
}


/* The caller and the picker, answered each to suit the other (the
 * caller's codec first: it may have heard early media already), in the
 * dial's bridge with their feature keys. */
static int join(struct dial *d, struct leg *a, struct leg *b)
{
	int err;

	err = dialpriv_answer_to(a, b);
	if (!err)
		err = dialpriv_answer_to(b, a);
	if (!err)
		err = dialpriv_bridge(d, a, b);

	return err;
}


/**
 * @a picker takes the call @a d rings: the forks are cancelled, the
 * caller (if any) is answered and bridged with @a picker, and the dial
 * ends ANSWER with @a picker as the leg that answered (a dial without a
 * caller: @a picker is answered with the PBX's own media, for the owner
 * to use).  EALREADY when the dial is over, ENOTCONN when @a picker hung
 * up, EINVAL when it is the dial's own leg.
 */
int dial_pickup(struct dial *d, struct leg *picker)
{
	struct leg *a;
	int err;

	if (!d || !picker)
		return EINVAL;
	if (d->status != DIAL_NONE)
		return EALREADY;
	if (leg_closed(picker))
		return ENOTCONN;
	if (picker == d->caller || is_fork(d, picker))
		return EINVAL;

	mem_ref(d);
	mem_ref(picker);
	a = dial_caller(d);
	tmr_cancel(&d->tmr);
	dialpriv_cancel_forks(d);      /* the other phones stop ringing */
	dialpriv_ringback_stop(d);
	if (a && d->early) {
		stream_unbridge(leg_stream(a));
		d->early = false;
	}

	err = a ? join(d, a, picker) : leg_answer(picker);
	if (err) {
		log_warn("dial %llu: pickup by leg %llu failed: %m", d->id,
			 leg_id(picker), err);
		d->bridge = mem_deref(d->bridge);
		dialpriv_finish(d, DIAL_CHANUNAVAIL, 503);
		goto out;
	}

	d->answered = mem_ref(picker);
	log_info("dial %llu: picked up by leg %llu (%s)", d->id,
		 leg_id(picker), leg_uri(picker));
	dialpriv_finish(d, DIAL_ANSWER, 200);
 out:
	mem_deref(picker);
	mem_deref(d);

	return err;
}
