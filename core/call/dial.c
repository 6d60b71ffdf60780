/**
 * @file dial.c  Ringing targets, relaying their progress, bridging the
 * first to answer (dial.h).
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "media/player.h"
#include "media/sdpneg.h"
#include "media/stream.h"
#include "sip/endpoint.h"
#include "sip/registrar.h"
#include "sip/trunk.h"
#include "call/bridge.h"
#include "call/featmatch.h"
#include "call/leg.h"
#include "call/legmedia.h"
#include "call/dial.h"
#include "call/dial_priv.h"

enum { DEFAULT_TIMEOUT_MS = 60000 };

static const char *dial_names[] = {"", "ANSWER", "BUSY", "NOANSWER", "CANCEL",
				   "CHANUNAVAIL", "CONGESTION"};

static uint64_t dial_seq;
static struct list dials;    /* every dial, oldest first */


static void fork_destructor(void *arg)
{
	struct fork *f = arg;

	list_unlink(&f->le);
	leg_unwatch(f->leg, LEG_W_DIAL, f);
	mem_deref(f->leg);
}


void dialpriv_cancel_forks(struct dial *d)
{
	struct le *le;

	while ((le = list_head(&d->forks))) {
		struct fork *f = le->data;
		struct leg *leg = mem_ref(f->leg);

		mem_deref(f);
		leg_hangup(leg, 0);   /* CANCEL */
		mem_deref(leg);
	}
}


static void unwatch_caller(struct dial *d)
{
	leg_unwatch(d->caller, LEG_W_DIAL, d);
}


static void destructor(void *arg)
{
	struct dial *d = arg;

	list_unlink(&d->le);
	tmr_cancel(&d->tmr);
	dialpriv_cancel_forks(d);
	unwatch_caller(d);
	mem_deref(d->caller);
	mem_deref(d->fstream);
	mem_deref(d->fvstream);
	mem_deref(d->answered);
	mem_deref(d->bridge);
	mem_deref(d->o.caller_keys);
	mem_deref(d->o.callee_keys);
	mem_deref(d->caller_name);
	mem_deref(d->caller_num);
	mem_deref(d->number);
	mem_deref(d->xhdrs);
	mem_deref(d->ringback);
	mem_deref(d->target);
}


/* How a failed fork's answer reads as a DIALSTATUS (chan_sip's mapping). */
static enum dial_status status_of(uint16_t code)
{
	switch (code) {

	case 486: case 600: case 603:
		return DIAL_BUSY;
	case 408: case 480: case 487:
		return DIAL_NOANSWER;
	default:
		return code >= 500 && code < 600 ? DIAL_CONGESTION
						 : DIAL_CHANUNAVAIL;
	}
}


/* Of several forks' failures, which answer the caller should get
 * (RFC 3261 16.7: a 6xx wins, then busy, then the lowest class). */
static int rank(uint16_t code)
{
	if (code >= 600)
		return 0;
	if (code == 486)
		return 1;
	if (code >= 400 && code < 500 && code != 408 && code != 487)
		return 2;
	if (code >= 500)
		return 3;
	return 4;
}


static void note_failure(struct dial *d, uint16_t code)
{
	if (!d->code || rank(code) < rank(d->code))
		d->code = code;
}


static void tell_owner(struct dial *d)
{
	if (d->h)
		d->h(d, d->owner);
}


void dialpriv_ringback_stop(struct dial *d)
{
	if (!d->ringback_on)
		return;

	d->ringback_on = false;
	legmedia_stop(d->caller, MEND_STOPPED);
}


/** @a leg answered to suit @a peer (codecs matched), unless it is already. */
int dialpriv_answer_to(struct leg *leg, struct leg *peer)
{
	int err = leg_match(leg, peer);

	if (!err && leg_state(leg) != LEG_ANSWERED)
		err = leg_answer_sdp(leg, 200);

	return err;
}


/** The caller @a a and the leg that took the call @a b in the dial's new
 *  bridge, each with its side's feature keys. */
int dialpriv_bridge(struct dial *d, struct leg *a, struct leg *b)
{
	int err = bridge_alloc(&d->bridge);

	if (!err)
		err = bridge_add(d->bridge, a, d->o.caller_keys);
	if (!err)
		err = bridge_add(d->bridge, b, d->o.callee_keys);

	return err;
}


/** The dial is over: the owner gets its answer. */
void dialpriv_finish(struct dial *d, enum dial_status st, uint16_t code)
{
	if (d->status != DIAL_NONE)
		return;

	tmr_cancel(&d->tmr);
	dialpriv_cancel_forks(d);
	dialpriv_ringback_stop(d);
	if (d->early && d->caller && !d->answered)
		stream_unbridge(leg_stream(d->caller));
	d->status = st;
	d->code = code;
	d->fstream = mem_deref(d->fstream);
	d->fvstream = mem_deref(d->fvstream);
	unwatch_caller(d);
	tell_owner(d);
}


/* Payload types and laws between two legs, both ways, outside a bridge:
 * early media (the caller hears the callee's 183). */
static void early_link(struct leg *a, struct leg *b)
{
	struct leg *x = a, *y = b;

	for (int i = 0; i < 2; i++) {
		int rx = sdpneg_rx_pt(leg_sdp(x), leg_codec(x));
		int tx = sdpneg_tx_pt(leg_sdp(y), leg_codec(y));
		int erx = sdpneg_rx_telev_pt(leg_sdp(x));
		int etx = sdpneg_tx_telev_pt(leg_sdp(y));

		stream_clear_pt_map(leg_stream(x));
		if (rx >= 0 && tx >= 0)
			stream_set_pt_map(leg_stream(x), (uint8_t)rx,
					  (uint8_t)tx, leg_codec(x),
					  leg_codec(y));
		if (erx >= 0 && etx >= 0)
			stream_set_pt_map(leg_stream(x), (uint8_t)erx,
					  (uint8_t)etx, CODEC_NONE,
					  CODEC_NONE);
		x = b;
		y = a;
	}
	stream_bridge(leg_stream(a), leg_stream(b));
}


static void ringback_start(struct dial *d)
{
	struct player *p;

	if (d->ringback_on || !d->ringback || !d->caller ||
	    leg_state(d->caller) != LEG_ANSWERED)
		return;

	if (player_tones(&p, d->ringback))
		return;
	d->ringback_on = 0 == legmedia_background(d->caller, p);
	mem_deref(p);
}


/* A fork rings or plays early media: so does the caller. */
static void fork_progress(struct dial *d, struct leg *leg)
{
	struct leg *a = d->caller;

	if (!a || d->gone || d->answered)
		return;

	if (leg_state(a) == LEG_ANSWERED) {
		ringback_start(d);
		return;
	}

	if (leg_progress_sdp(leg) && 0 == leg_match(a, leg)) {
		early_link(a, leg);
		d->early = true;
		(void)leg_answer_sdp(a, 183);
		return;
	}

	if (!d->ringing_sent && leg_state(a) == LEG_NEW) {
		d->ringing_sent = true;
		(void)leg_ringing(a);
	}
}


/* The first to answer wins: the others are cancelled, the caller is
 * answered to match it and bridged with it. */
static void fork_answer(struct dial *d, struct fork *f)
{
	struct leg *b = mem_ref(f->leg);
	struct leg *a = d->caller;
	int err = 0;

	mem_deref(f);
	tmr_cancel(&d->tmr);
	dialpriv_cancel_forks(d);
	dialpriv_ringback_stop(d);

	if (a && d->gone) {   /* nobody to talk to: the owner did not
				 cancel yet */
		leg_hangup(b, 0);
		mem_deref(b);
		dialpriv_finish(d, DIAL_CANCEL, 487);
		return;
	}
	d->answered = b;

	if (a && !d->gone) {
		err = dialpriv_answer_to(a, b);
		if (!err)
			err = dialpriv_bridge(d, a, b);
		if (err) {
			log_warn("dial %llu: cannot bridge %s: %m", d->id,
				 leg_uri(b), err);
			leg_hangup(b, 0);
			d->answered = mem_deref(d->answered);
			d->bridge = mem_deref(d->bridge);
			dialpriv_finish(d, DIAL_CHANUNAVAIL, 503);
			return;
		}
	}

	log_info("dial %llu: answered by %s (%s)", d->id, leg_uri(b),
		 codec_get(leg_codec(b)) ? codec_get(leg_codec(b))->name : "?");
	dialpriv_finish(d, DIAL_ANSWER, 200);
}


static void fork_handler(struct leg *leg, enum leg_event ev, void *arg)
{
	struct fork *f = arg;
	struct dial *d = f->d;

	switch (ev) {

	case LEG_EV_PROGRESS:
		fork_progress(d, leg);
		break;

	case LEG_EV_ANSWER:
		if (leg_codec(leg) == CODEC_NONE) {
			log_warn("dial %llu: %s answered without a codec of"
				 " ours", d->id, leg_uri(leg));
			leg_hangup(leg, 0);
			break;
		}
		fork_answer(d, f);
		break;

	case LEG_EV_CLOSED:
		note_failure(d, leg_code(leg));
		mem_deref(f);
		if (list_isempty(&d->forks) && !d->answered)
			dialpriv_finish(d, status_of(d->code), d->code);
		break;

	default:
		break;
	}
}


static void caller_handler(struct leg *leg, enum leg_event ev, void *arg)
{
	struct dial *d = arg;

	if (ev != LEG_EV_CLOSED || d->status != DIAL_NONE)
		return;

	log_info("dial %llu: the caller hung up", d->id);
	d->gone = true;
	d->ringback_on = false;
	unwatch_caller(d);
	tell_owner(d);
}


static void timeout(void *arg)
{
	struct dial *d = arg;

	log_info("dial %llu: no answer", d->id);
	dialpriv_finish(d, DIAL_NOANSWER, 480);
}


/* Codecs to offer a callee: the caller's, in its order, then the others
 * the callee allows (we transcode G.711). */
static void offer_codecs(const struct dial *d, const struct endpoint *ep,
			 uint8_t *out)
{
	uint8_t theirs[CODEC_MAX];
	size_t n = 0, m = 0;

	if (d->caller && leg_codec(d->caller) != CODEC_NONE)
		theirs[0] = (uint8_t)leg_codec(d->caller), m = 1;
	else if (d->caller)
		m = leg_offered_codecs(d->caller, theirs, ARRAY_SIZE(theirs));

	for (size_t i = 0; i < m; i++) {
		if (ep->codecs & CODEC_MASK(theirs[i]))
			out[n++] = theirs[i];
	}
	for (size_t i = 0; ep->codec_order[i] != CODEC_NONE; i++) {
		if (!memchr(out, ep->codec_order[i], n))
			out[n++] = ep->codec_order[i];
	}
	out[n] = CODEC_NONE;
}


static int fork_start(struct dial *d, struct endpoint *ep, const char *uri,
		      const char *from_uri, sip_auth_h *authh, void *aarg)
{
	uint8_t codecs[CODEC_MAX + 1];
	struct leg_dial ld;
	struct fork *f;
	int err;

	f = mem_zalloc(sizeof(*f), fork_destructor);
	if (!f)
		return ENOMEM;

	offer_codecs(d, ep, codecs);
	memset(&ld, 0, sizeof(ld));
	ld.uri = uri;
	ld.from_uri = from_uri;
	ld.from_num = d->caller_num;
	ld.from_name = d->caller_name;
	ld.codecs = codecs;
	ld.stream = d->fstream;
	ld.vstream = d->fvstream;
	ld.video_src = d->fvstream ? leg_sdp(d->caller) : NULL;
	ld.authh = authh;
	ld.aarg = aarg;
	ld.xhdrs = d->xhdrs;
	ld.ep = ep;

	err = leg_connect(&f->leg, d->pbx, &ld);
	if (err) {
		mem_deref(f);
		return err;
	}

	f->d = d;
	leg_set_capture(f->leg, d->o.capture);
	list_append(&d->forks, &f->le, f);
	leg_watch(f->leg, LEG_W_DIAL, fork_handler, f);
	log_info("dial %llu: ringing %s (%s)", d->id, ep->name, uri);

	return 0;
}


static void trunk_route(const struct trunk_route *rt, void *arg)
{
	struct dial *d = arg;

	(void)fork_start(d, rt->ep, rt->uri, rt->from_uri, rt->authh,
			 rt->aarg);
}


static int fork_endpoint(struct dial *d, const char *name)
{
	struct pbx *pbx = d->pbx;
	struct endpoint *ep = endpoint_table_find_str(pbx->endpoints, name);
	const struct list *contacts;
	int started = 0;

	if (!ep) {
		log_warn("dial %llu: no endpoint '%s'", d->id, name);
		return 0;
	}

	contacts = registrar_contacts(pbx->registrar, name);
	for (struct le *le = list_head(contacts); le; le = le->next) {
		const struct contact *c = le->data;

		if (trunk_contact_down(pbx->trunks, c->uri)) {
			log_info("dial %llu: %s at %s is unreachable"
				 " (qualify)", d->id, name, c->uri);
			continue;
		}
		if (0 == fork_start(d, ep, c->uri, NULL, NULL, NULL))
			++started;
	}
	if (!started)
		log_info("dial %llu: %s is not registered", d->id, name);

	return started;
}


static int copy_opts(struct dial *d, const struct dial_opts *o)
{
	const char *num = o->caller_num ? o->caller_num
		: d->caller ? leg_cid_num(d->caller) : NULL;
	const char *name = o->caller_name ? o->caller_name
		: d->caller ? leg_cid_name(d->caller) : NULL;
	int err = 0;

	d->o = *o;
	d->o.caller_keys = mem_ref(o->caller_keys);
	d->o.callee_keys = mem_ref(o->callee_keys);
	if (num)
		err |= str_dup(&d->caller_num, num);
	if (name)
		err |= str_dup(&d->caller_name, name);
	if (o->number)
		err |= str_dup(&d->number, o->number);
	if (o->xhdrs)
		err |= str_dup(&d->xhdrs, o->xhdrs);
	if (o->ringback)
		err |= str_dup(&d->ringback, o->ringback);

	return err;
}


static int ring_targets(struct dial *d, const char **targets, size_t n)
{
	const struct pbx_settings *set = &d->pbx->set;
	int started = 0, err;

	err = stream_alloc(&d->fstream, &set->media_addr, set->rtp_min,
			   set->rtp_max);
	if (err)
		return err;
	stream_tap(d->fstream, d->o.capture);
	if (d->caller)
		(void)leg_video_dial_stream(d->caller, &d->fvstream);
	stream_tap(d->fvstream, d->o.capture);

	for (size_t i = 0; i < n; i++) {
		int k = trunk_routes(d->pbx->trunks, targets[i], d->number,
				     d->caller_num, trunk_route, d);

		started += k >= 0 ? k : fork_endpoint(d, targets[i]);
	}

	return started ? 0 : ENOENT;
}


/**
 * Start ringing @a targets (endpoint or peer names) for @a caller (NULL:
 * a call the PBX places).  The dial may be over at once: nobody could be
 * rung (CHANUNAVAIL) or the caller is gone (CANCEL); the owner is told
 * of every later change.
 */
int dial_start(struct dial **dp, struct pbx *pbx, struct leg *caller,
	       const char **targets, size_t n, const struct dial_opts *opts,
	       dial_event_h *h, void *owner)
{
	struct dial *d;
	int err;

	if (!dp || !pbx || !targets || !opts)
		return EINVAL;

	d = mem_zalloc(sizeof(*d), destructor);
	if (!d)
		return ENOMEM;

	d->pbx = pbx;
	d->id = ++dial_seq;
	d->started = tmr_jiffies();
	list_append(&dials, &d->le, d);
	d->caller = mem_ref(caller);
	tmr_init(&d->tmr);
	err = copy_opts(d, opts);
	if (!err && n)
		err = str_dup(&d->target, targets[0]);
	if (err) {
		mem_deref(d);
		return err;
	}
	*dp = d;

	if (caller && leg_closed(caller)) {
		dialpriv_finish(d, DIAL_CANCEL, 487);
		return 0;
	}

	err = ring_targets(d, targets, n);
	if (err) {
		dialpriv_finish(d, err == ENOENT ? DIAL_CHANUNAVAIL
				: DIAL_CONGESTION, err == ENOENT ? 480 : 503);
		d->h = h;
		d->owner = owner;
		return 0;
	}

	if (caller)
		leg_watch(caller, LEG_W_DIAL, caller_handler, d);
	d->h = h;
	d->owner = owner;
	tmr_start(&d->tmr, opts->timeout_ms ? opts->timeout_ms
		  : DEFAULT_TIMEOUT_MS, timeout, d);

	return 0;
}


/** Stop ringing: DIALSTATUS CANCEL (the caller left, or gave up). */
void dial_cancel(struct dial *d)
{
	if (!d || d->status != DIAL_NONE)
		return;

	log_info("dial %llu: cancelled", d->id);
	dialpriv_finish(d, DIAL_CANCEL, 487);
}


/**
 * Another caller for a dial under way (a transfer: the party that will
 * talk to whoever answers): it hears the ringback tone and is bridged at
 * the answer.
 */
int dial_set_caller(struct dial *d, struct leg *caller)
{
	if (!d || !caller)
		return EINVAL;
	if (d->status != DIAL_NONE)
		return EALREADY;
	if (leg_closed(caller))
		return ENOTCONN;

	unwatch_caller(d);
	mem_deref(d->caller);
	d->caller = mem_ref(caller);
	d->gone = false;
	d->early = false;
	d->ringback_on = false;
	leg_watch(caller, LEG_W_DIAL, caller_handler, d);
	if (!list_isempty(&d->forks))
		ringback_start(d);

	return 0;
}


void dial_set_owner(struct dial *d, dial_event_h *h, void *owner)
{
	if (!d)
		return;

	d->h = h;
	d->owner = owner;
}


bool dial_done(const struct dial *d)
{
	return !d || d->status != DIAL_NONE;
}


bool dial_caller_gone(const struct dial *d)
{
	return d && d->gone;
}


enum dial_status dial_status(const struct dial *d, uint16_t *code)
{
	if (code)
		*code = d ? d->code : 0;

	return d ? d->status : DIAL_NONE;
}


struct leg *dial_answered(const struct dial *d)
{
	return d ? d->answered : NULL;
}


struct bridge *dial_bridge(const struct dial *d)
{
	return d ? d->bridge : NULL;
}


uint32_t dial_ringing(const struct dial *d)
{
	return d ? list_count(&d->forks) : 0;
}


/** What it rang first (a name from its targets). */
const char *dial_target(const struct dial *d)
{
	return d ? d->target : NULL;
}


/**
 * Every dial, oldest first, until @a h returns true (that dial is
 * returned): the pickup service looks for the ones that ring.
 */
struct dial *dial_apply(dial_apply_h *h, void *arg)
{
	struct le *le = list_head(&dials);

	while (le) {
		struct dial *d = le->data;

		le = le->next;
		if (h(d, arg))
			return d;
	}

	return NULL;
}


uint64_t dial_id(const struct dial *d)
{
	return d ? d->id : 0;
}


const char *dial_status_name(enum dial_status st)
{
	return st <= DIAL_CONGESTION ? dial_names[st] : "?";
}
