/**
 * @file call.c  A call: its script, and what it holds (call.h).
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "call/bridge.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/legmedia.h"
#include "call/call.h"
#include "call/callev.h"
#include "call/observers.h"

/* A reference in one of the call's lists. */
struct ref {
	struct le le;
	void *obj;
};

struct call {
	struct le le;              /**< in the list of every call      */
	struct pbx *pbx;
	uint64_t id;
	uint64_t started;
	struct leg *leg;           /**< its first leg (the caller)     */
	struct list legs;          /**< struct ref: the legs it holds  */
	struct list dials;         /**< struct ref: dials it started   */
	struct list bridges;       /**< struct ref: bridges it owns    */
	char *context, *exten;
	struct mbuf *xhdrs;        /**< headers added to dialled legs  */
	uint16_t final_code;       /**< answer for an unanswered end   */
	uint16_t dial_code;        /**< the last dial's                */
	enum dial_status dial_status;
	struct leg *callee;        /**< the last one a dial bridged    */
	struct dial *replaces;     /**< the ringing dial its INVITE's
				        Replaces names (a pickup)       */
	bool capture;
	bool originated;
	bool ended;                /**< its script is over             */
	void *script;              /**< owned by the runner            */
	bool waiting;
	bool woken;                /**< a wake is on its way           */
	bool timed_out;
	const char *wait_what;
	struct tmr wait_tmr;
};

static struct list calls;
static uint64_t call_seq;
static struct call_runner runner;


void call_set_runner(const struct call_runner *r)
{
	if (r)
		runner = *r;
	else
		memset(&runner, 0, sizeof(runner));
}


/* Whoever follows every call (call records): a few at most. */
static struct observers observers;


/** Follow every call's course (call_obs); ENOSPC when there are too many. */
int call_observe(call_obs_h *h, void *arg)
{
	return observers_add(&observers, (observers_fn *)h, arg);
}


void call_unobserve(call_obs_h *h, void *arg)
{
	observers_remove(&observers, (observers_fn *)h, arg);
}


static void observe(struct call *call, enum call_obs ev, struct dial *d)
{
	for (size_t i = 0; i < OBSERVERS_MAX; i++) {
		if (observers.v[i].h)
			((call_obs_h *)observers.v[i].h)(call, ev, d,
							   observers.v[i].arg);
	}
}


static void ref_destructor(void *arg)
{
	struct ref *r = arg;

	list_unlink(&r->le);
	mem_deref(r->obj);
}


static int ref_add(struct list *l, void *obj)
{
	struct ref *r = mem_zalloc(sizeof(*r), ref_destructor);

	if (!r)
		return ENOMEM;

	r->obj = mem_ref(obj);
	list_append(l, &r->le, r);

	return 0;
}


static struct ref *ref_find(const struct list *l, const void *obj)
{
	for (struct le *le = list_head(l); le; le = le->next) {
		struct ref *r = le->data;

		if (r->obj == obj)
			return r;
	}

	return NULL;
}


static void destructor(void *arg)
{
	struct call *call = arg;

	list_unlink(&call->le);
	tmr_cancel(&call->wait_tmr);
	list_flush(&call->legs);
	list_flush(&call->dials);
	list_flush(&call->bridges);
	mem_deref(call->leg);
	mem_deref(call->callee);
	mem_deref(call->replaces);
	mem_deref(call->context);
	mem_deref(call->exten);
	mem_deref(call->xhdrs);
}


/** Whatever concerns the call: its script looks again at what it waits
 *  for (on the next loop turn, never from inside a handler). */
void call_poke(struct call *call)
{
	if (!call || !call->waiting || call->woken || !runner.wake)
		return;

	call->woken = true;
	runner.wake(call->script, runner.arg);
}


static void wait_timeout(void *arg)
{
	struct call *call = arg;

	call->timed_out = true;
	call_poke(call);
}


/** The script suspends for @a what (a word for the console), at most
 *  @a timeout_ms (0: no limit). */
void call_wait(struct call *call, uint32_t timeout_ms, const char *what)
{
	call->waiting = true;
	call->woken = false;
	call->wait_what = what;
	call->timed_out = false;
	if (timeout_ms)
		tmr_start(&call->wait_tmr, timeout_ms, wait_timeout, call);
	else
		tmr_cancel(&call->wait_tmr);
}


/** What it waits for is not there yet: it waits on (its time runs on). */
void call_wait_again(struct call *call)
{
	call->waiting = true;
	call->woken = false;
}


/** It waits no more (what it waited for came, or its time ran out). */
void call_wait_end(struct call *call)
{
	call->waiting = false;
	call->woken = false;
	call->wait_what = NULL;
	call->timed_out = false;
	tmr_cancel(&call->wait_tmr);
}


bool call_waiting(const struct call *call)
{
	return call && call->waiting;
}


bool call_timed_out(const struct call *call)
{
	return call && call->timed_out;
}


const char *call_wait_what(const struct call *call)
{
	return call ? call->wait_what : NULL;
}


static void leg_handler(struct leg *leg, enum leg_event ev, void *arg)
{
	(void)leg; (void)ev;
	call_poke(arg);
}


/**
 * The call holds @a leg from now on, taken from the call that held it
 * (whose script is told: what it did with the leg is over).
 */
int call_hold(struct call *call, struct leg *leg)
{
	struct call *old = leg_holder(leg);
	int err;

	if (!call || !leg)
		return EINVAL;
	if (old == call)
		return 0;

	err = ref_add(&call->legs, leg);
	if (err)
		return err;

	if (old) {
		mem_deref(ref_find(&old->legs, leg));
		if (legmedia_busy(leg))
			legmedia_stop(leg, MEND_STOPPED);
		call_poke(old);
	}

	leg_set_holder(leg, call);
	leg_watch(leg, LEG_W_HOLDER, leg_handler, call);

	return 0;
}


/** The call lets go of @a leg: hung up unless a bridge has it. */
void call_release(struct call *call, struct leg *leg)
{
	struct ref *r;

	if (!call || leg_holder(leg) != call)
		return;

	r = ref_find(&call->legs, leg);
	mem_ref(leg);
	mem_deref(r);
	leg_unwatch(leg, LEG_W_HOLDER, call);
	leg_set_holder(leg, NULL);
	mem_deref(leg);
}


bool call_holds(const struct call *call, const struct leg *leg)
{
	return call && leg && leg_holder(leg) == call;
}


struct leg *call_leg(const struct call *call)
{
	return call ? call->leg : NULL;
}


static void bridge_handler(struct bridge *br, void *arg)
{
	(void)br;
	call_poke(arg);
}


/** The call's script decides for @a br from now on. */
int call_own_bridge(struct call *call, struct bridge *br)
{
	struct call *old = bridge_owner(br);
	int err;

	if (old == call)
		return 0;

	err = ref_add(&call->bridges, br);
	if (err)
		return err;

	if (old) {
		mem_deref(ref_find(&old->bridges, br));
		call_poke(old);
	}
	bridge_set_owner(br, bridge_handler, call);

	return 0;
}


void call_disown_bridge(struct call *call, struct bridge *br)
{
	if (!call || bridge_owner(br) != call)
		return;

	mem_ref(br);
	mem_deref(ref_find(&call->bridges, br));
	bridge_set_owner(br, NULL, NULL);
	mem_deref(br);
}


/* A dial ended (its legs are the call's now) or its caller hung up. */
static void dial_handler(struct dial *d, void *arg)
{
	struct call *call = arg;

	if (dial_done(d)) {
		if (dial_answered(d))
			(void)call_hold(call, dial_answered(d));
		if (dial_bridge(d))
			(void)call_own_bridge(call, dial_bridge(d));
		call_note_dial(call, d);
	}
	call_poke(call);
}


/** A dial of this call's (its result is for the call to take). */
int call_dial(struct call *call, struct leg *caller, const char **targets,
	      size_t n, const struct dial_opts *opts, struct dial **dp)
{
	struct dial *d;
	int err;

	if (caller && leg_holder(caller) != call)
		return EPERM;

	err = dial_start(&d, call->pbx, caller, targets, n, opts,
			 dial_handler, call);
	if (err)
		return err;

	err = ref_add(&call->dials, d);
	mem_deref(d);   /* the call's list holds it */
	if (err) {
		dial_cancel(d);
		return err;
	}
	if (dial_done(d))
		dial_handler(d, call);

	*dp = d;

	return 0;
}


/** What the caller gets when the script ends without answering. */
void call_note_dial(struct call *call, struct dial *d)
{
	enum dial_status st = dial_status(d, &call->dial_code);

	call->dial_status = st;
	if (st == DIAL_ANSWER && dial_answered(d)) {
		mem_deref(call->callee);
		call->callee = mem_ref(dial_answered(d));
	}
	observe(call, CALL_OBS_DIAL, d);
}


enum dial_status call_last_dial(const struct call *call, uint16_t *code)
{
	if (code)
		*code = call ? call->dial_code : 0;

	return call ? call->dial_status : DIAL_NONE;
}


struct leg *call_last_callee(const struct call *call)
{
	return call ? call->callee : NULL;
}


int call_alloc(struct call **callp, struct pbx *pbx, const char *context,
	       const char *exten)
{
	struct call *call;
	int err;

	call = mem_zalloc(sizeof(*call), destructor);
	if (!call)
		return ENOMEM;

	call->pbx = pbx;
	call->id = ++call_seq;
	call->started = tmr_jiffies();
	tmr_init(&call->wait_tmr);
	err  = str_dup(&call->context, context ? context : "default");
	err |= str_dup(&call->exten, exten ? exten : "s");
	if (err) {
		mem_deref(call);
		return err;
	}

	list_append(&calls, &call->le, call);
	*callp = call;

	return 0;
}


/** The call's script starts, holding @a leg as its caller. */
int call_run(struct call *call, struct leg *leg)
{
	int err;

	err = call_hold(call, leg);
	if (err)
		goto fail;

	call->leg = mem_ref(leg);
	log_info("call %llu: %s <%s> -> %s@%s (leg %llu)", call->id,
		 leg_cid_name(leg) ? leg_cid_name(leg) : "",
		 leg_cid_num(leg) ? leg_cid_num(leg) : "", call->exten,
		 call->context, leg_id(leg));
	observe(call, CALL_OBS_RUN, NULL);
	callev_call(call, "newcall");

	err = runner.start ? runner.start(call, runner.arg) : ENOSYS;
	if (!err)
		return 0;   /* the call may be gone: its script can end at once */
 fail:
	log_warn("call %llu: cannot run its dialplan: %m", call->id, err);
	call_script_done(call, true);

	return err;
}


/**
 * @a leg leaves the call (and bridge) it is in and runs the dialplan at
 * @a exten of @a context in a call of its own (a blind transfer,
 * Asterisk's Redirect).
 */
int call_redirect(struct leg *leg, const char *context, const char *exten)
{
	struct call *call, *from = leg_holder(leg);
	int err;

	if (leg_closed(leg))
		return ENOTCONN;

	err = call_alloc(&call, leg_pbx(leg), context, exten);
	if (err)
		return err;

	/* the new call takes it first: not hung up on its way out of the
	 * bridge */
	mem_ref(leg);
	err = call_hold(call, leg);
	if (!err && leg_bridge(leg))
		(void)bridge_remove(leg_bridge(leg), leg);
	if (!err)
		callev_transferred(leg, from, call, "redirect");
	if (err)
		call_script_done(call, false);
	else
		err = call_run(call, leg);
	mem_deref(leg);

	return err;
}


/* Stop everything the call started; what it holds goes. */
static void release_all(struct call *call)
{
	struct le *le;

	while ((le = list_head(&call->dials))) {
		struct ref *r = le->data;

		dial_set_owner(r->obj, NULL, NULL);
		dial_cancel(r->obj);
		mem_deref(r);
	}

	while ((le = list_head(&call->bridges))) {
		struct ref *r = le->data;

		call_disown_bridge(call, r->obj);
	}

	while ((le = list_head(&call->legs))) {
		struct ref *r = le->data;

		call_release(call, r->obj);
	}
}


/**
 * The script returned (or raised).  A caller still waiting for an answer
 * gets the code the dialplan chose, else the last dial's, else 603
 * Decline, as Asterisk does; 500 when the script failed.
 */
void call_script_done(struct call *call, bool failed)
{
	struct leg *a = call->leg;

	call->ended = true;
	call->script = NULL;
	call_wait_end(call);
	observe(call, CALL_OBS_END, NULL);

	if (a && call_holds(call, a) && !leg_closed(a) &&
	    leg_state(a) != LEG_ANSWERED && leg_inbound(a)) {
		uint16_t code = failed ? 500 : call->final_code;

		leg_hangup(a, code ? code : call->dial_code);
	}

	release_all(call);
	log_info("call %llu: ended after %llu ms", call->id,
		 tmr_jiffies() - call->started);
	callev_call(call, "callend");
	mem_deref(call);
}


static struct dial *ringing_dial(const struct call *call)
{
	for (struct le *le = list_head(&call->dials); le; le = le->next) {
		struct dial *d = ((struct ref *)le->data)->obj;

		if (!dial_done(d))
			return d;
	}

	return NULL;
}


/**
 * End a call from outside its dialplan (the console): its legs hang up
 * (the caller gets @a code when not answered), its dials stop, and its
 * script, if it waits, wakes up to hung-up legs.
 */
void call_terminate(struct call *call, uint16_t code)
{
	struct dial *d;
	struct le *le;

	/* what each step sets off may end the call (an originate that
	 * never ran): the lists are walked again from the start */
	mem_ref(call);
	while (!call->ended && (d = ringing_dial(call)))
		dial_cancel(d);
	for (le = list_head(&call->bridges); le && !call->ended; ) {
		struct bridge *br = ((struct ref *)le->data)->obj;

		le = le->next;
		bridge_hangup(br, code);
	}
	for (le = list_head(&call->legs); le && !call->ended; ) {
		struct leg *leg = ((struct ref *)le->data)->obj;

		le = le->next;
		leg_hangup(leg, code);
	}
	call_poke(call);
	if (!call->script && !call->ended)
		call_script_done(call, false);   /* an originate ringing */
	mem_deref(call);
}


/** The PBX stops: every call ends where it is, its script dropped. */
void call_close_all(void)
{
	struct le *le;

	while ((le = list_head(&calls))) {
		struct call *call = le->data;

		if (call->script && runner.stop)
			runner.stop(call->script, runner.arg);
		else
			call_script_done(call, false);
	}
}


int call_add_header(struct call *call, const char *name, const char *value)
{
	if (!call->xhdrs)
		call->xhdrs = mbuf_alloc(128);
	if (!call->xhdrs)
		return ENOMEM;

	return mbuf_printf(call->xhdrs, "%s: %s\r\n", name, value) ||
		mbuf_write_u8(call->xhdrs, 0) ? ENOMEM
		: (--call->xhdrs->end, 0);
}


/** The added headers, CRLF-ended lines (NULL: none). */
const char *call_headers(const struct call *call)
{
	if (!call || !call->xhdrs || !call->xhdrs->end)
		return NULL;

	return (const char *)call->xhdrs->buf;
}


/** Capture this call's RTP/RTCP (pcap): its legs now and to come. */
void call_set_capture(struct call *call, bool on)
{
	call->capture = on;
	for (struct le *le = list_head(&call->legs); le; le = le->next)
		leg_set_capture(((struct ref *)le->data)->obj, on);
}


bool call_capture(const struct call *call)
{
	return call && call->capture;
}


/** Its INVITE's Replaces named a leg of @a d, which rings: the script
 *  decides whether the caller picks it up (dial_pickup). */
void call_set_replaces(struct call *call, struct dial *d)
{
	if (!call)
		return;

	mem_deref(call->replaces);
	call->replaces = mem_ref(d);
}


struct dial *call_replaces(const struct call *call)
{
	return call ? call->replaces : NULL;
}


void call_set_final_code(struct call *call, uint16_t code)
{
	if (call)
		call->final_code = code;
}


/** Legs it holds. */
uint32_t call_legs(const struct call *call)
{
	return call ? list_count(&call->legs) : 0;
}


/** Legs its dials ring now. */
uint32_t call_ringing(const struct call *call)
{
	uint32_t n = 0;

	for (struct le *le = list_head(&call->dials); le; le = le->next)
		n += dial_ringing(((struct ref *)le->data)->obj);

	return n;
}


uint64_t call_id(const struct call *call) { return call ? call->id : 0; }
struct pbx *call_pbx(const struct call *call)
{
	return call ? call->pbx : NULL;
}
const char *call_exten(const struct call *call)
{
	return call ? call->exten : NULL;
}
const char *call_context(const struct call *call)
{
	return call ? call->context : NULL;
}
uint64_t call_started(const struct call *call)
{
	return call ? call->started : 0;
}
bool call_originated(const struct call *call)
{
	return call && call->originated;
}
void call_set_originated(struct call *call)
{
	if (call)
		call->originated = true;
}
void *call_script(const struct call *call)
{
	return call ? call->script : NULL;
}
void call_set_script(struct call *call, void *script)
{
	if (call)
		call->script = script;
}


struct call *call_apply(call_apply_h *h, void *arg)
{
	struct le *le = list_head(&calls);

	while (le) {
		struct call *call = le->data;

		le = le->next;
		if (h(call, arg))
			return call;
	}

	return NULL;
}


static bool has_id(struct call *call, void *arg)
{
	return call->id == *(uint64_t *)arg;
}


struct call *call_find(uint64_t id)
{
	return call_apply(has_id, &id);
}


uint32_t call_count(void)
{
	return list_count(&calls);
}
