/**
 * @file bridge.c  Legs that hear each other (bridge.h).
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "media/dtmf.h"
#include "media/moh.h"
#include "media/player.h"
#include "media/sdpneg.h"
#include "media/stream.h"
#include "sip/endpoint.h"
#include "call/featmatch.h"
#include "call/leg.h"
#include "call/legmedia.h"
#include "call/bridge.h"
#include "call/bridge_priv.h"
#include "call/callev.h"
#include "call/observers.h"

static struct list bridges;
static uint64_t bridge_seq;
/* Whoever follows every bridge (call records): a few at most. */
static struct observers observers;


/** Follow legs joining and leaving every bridge; ENOSPC: too many. */
int bridge_observe(bridge_obs_h *h, void *arg)
{
	return observers_add(&observers, (observers_fn *)h, arg);
}


void bridge_unobserve(bridge_obs_h *h, void *arg)
{
	observers_remove(&observers, (observers_fn *)h, arg);
}


static void observe(struct bridge *br, struct leg *leg, bool joined)
{
	for (size_t i = 0; i < OBSERVERS_MAX; i++) {
		if (observers.v[i].h)
			((bridge_obs_h *)observers.v[i].h)(br, leg, joined,
							   observers.v[i].arg);
	}
}


static void flush_events(struct bridge *br)
{
	struct bridge_event ev;

	while (bridge_next_event(br, &ev))
		mem_deref(ev.leg);
}


static void destructor(void *arg)
{
	struct bridge *br = arg;

	list_unlink(&br->le);
	flush_events(br);
	bmix_close(br);
}


int bridge_alloc(struct bridge **brp)
{
	struct bridge *br;

	if (!brp)
		return EINVAL;

	br = mem_zalloc(sizeof(*br), destructor);
	if (!br)
		return ENOMEM;

	br->id = ++bridge_seq;
	list_append(&bridges, &br->le, br);
	*brp = br;

	return 0;
}


struct member *bridge_member_of(const struct bridge *br,
				const struct leg *leg)
{
	for (struct le *le = list_head(&br->members); le; le = le->next) {
		struct member *m = le->data;

		if (m->leg == leg)
			return m;
	}

	return NULL;
}


uint32_t bridge_count(const struct bridge *br)
{
	return br ? list_count(&br->members) : 0;
}


struct leg *bridge_leg(const struct bridge *br, uint32_t i)
{
	struct le *le = br ? list_head(&br->members) : NULL;

	while (le && i--)
		le = le->next;

	return le ? ((struct member *)le->data)->leg : NULL;
}


/** The other leg of a relayed bridge of two; NULL otherwise (a room of
 *  two mixes: its legs are no pair). */
struct leg *bridge_other(const struct bridge *br, const struct leg *leg)
{
	struct leg *a = bridge_leg(br, 0), *b = bridge_leg(br, 1);

	if (bridge_count(br) != 2 || bmix_wanted(br))
		return NULL;

	return a == leg ? b : b == leg ? a : NULL;
}


void bridge_push_event(struct bridge *br, enum bridge_ev type,
		       struct leg *leg, const char *feature, bool talking)
{
	struct bridge_event *ev;

	if (br->n == BRIDGE_EVQ) {
		log_warn("bridge %llu: events not taken: the oldest dropped",
			 br->id);
		mem_deref(br->evq[br->head].leg);
		br->head = (br->head + 1) % BRIDGE_EVQ;
		--br->n;
	}

	ev = &br->evq[(br->head + br->n) % BRIDGE_EVQ];
	memset(ev, 0, sizeof(*ev));
	ev->type = type;
	ev->leg = mem_ref(leg);
	ev->talking = talking;
	if (feature)
		str_ncpy(ev->feature, feature, sizeof(ev->feature));
	++br->n;

	if (br->ownerh)
		br->ownerh(br, br->owner);
}


bool bridge_next_event(struct bridge *br, struct bridge_event *ev)
{
	if (!br || !br->n)
		return false;

	*ev = br->evq[br->head];
	br->head = (br->head + 1) % BRIDGE_EVQ;
	--br->n;

	return true;
}


bool bridge_has_event(const struct bridge *br)
{
	return br && br->n > 0;
}


/* Payload types and laws from x to y; x's keys stay with the PBX when it
 * has a feature map. */
static void map_media(struct member *mx, struct leg *y)
{
	struct leg *x = mx->leg;
	const struct sdpneg *xs = leg_sdp(x), *ys = leg_sdp(y);
	int rx = sdpneg_rx_pt(xs, leg_codec(x));
	int tx = sdpneg_tx_pt(ys, leg_codec(y));
	int erx = sdpneg_rx_telev_pt(xs), etx = sdpneg_tx_telev_pt(ys);
	struct stream *s = leg_stream(x);

	stream_clear_pt_map(s);
	if (rx >= 0 && tx >= 0)
		stream_set_pt_map(s, (uint8_t)rx, (uint8_t)tx, leg_codec(x),
				  leg_codec(y));
	if (mx->fm)
		legmedia_telev_local(x, true);
	else if (erx >= 0 && etx >= 0)
		stream_set_pt_map(s, (uint8_t)erx, (uint8_t)etx, CODEC_NONE,
				  CODEC_NONE);
}


static bool media_ready(const struct leg *leg)
{
	return !leg_closed(leg) && leg_stream(leg) &&
		leg_codec(leg) != CODEC_NONE;
}


static bool holds(const struct leg *leg)
{
	const struct endpoint *ep = leg_endpoint(leg);

	return leg_remote_holds(leg) && !(ep && ep->hold_passthrough);
}


/* The relay between the two legs, when both have media and neither
 * holds the other. */
static void link(struct bridge *br)
{
	struct member *ma, *mb;

	if (bridge_count(br) != 2 || bmix_wanted(br)) {
		br->linked = false;
		return;
	}

	ma = list_head(&br->members)->data;
	mb = list_tail(&br->members)->data;
	if (!media_ready(ma->leg) || !media_ready(mb->leg) ||
	    holds(ma->leg) || holds(mb->leg)) {
		stream_unbridge(leg_stream(ma->leg));
		leg_video_connect(ma->leg, mb->leg);
		br->linked = false;
		return;
	}

	map_media(ma, mb->leg);
	map_media(mb, ma->leg);
	stream_bridge(leg_stream(ma->leg), leg_stream(mb->leg));
	leg_video_connect(ma->leg, mb->leg);
	br->linked = true;
}


/* The music-on-hold class a held party hears: the holder's endpoint's
 * (Asterisk's mohsuggest), else its own (mohinterpret), else default. */
static const char *moh_class(const struct leg *holder, const struct leg *held)
{
	const struct endpoint *a = leg_endpoint(holder), *b = leg_endpoint(held);

	if (a && a->moh)
		return a->moh;
	if (b && b->moh)
		return b->moh;

	return "default";
}


/** Music of class @a cls for a member, under no operation (a held party;
 *  a room's member alone). */
int bridge_music(struct member *m, const char *cls, char *errbuf,
		 size_t errsz)
{
	struct pbx *pbx = leg_pbx(m->leg);
	struct player *p;
	char dir[512];
	int err;

	err = moh_player(&p, pbx_sounds_dir(pbx, dir, sizeof(dir)), cls,
			 (enum moh_mode)pbx->set.moh_mode,
			 errbuf, errsz);
	if (err)
		return err;

	err = legmedia_background(m->leg, p);
	if (!err)
		m->moh = true;
	mem_deref(p);

	return err;
}


static void moh_start(struct member *m, const struct leg *holder)
{
	char err[256] = "";

	if (bridge_music(m, moh_class(holder, m->leg), err, sizeof(err)))
		log_warn("leg %llu: on hold, no music: %s", leg_id(m->leg),
			 err);
}


/** The member's music stops (an operation it runs goes on). */
void bridge_music_stop(struct member *m)
{
	if (!m->moh)
		return;

	m->moh = false;
	legmedia_stop_background(m->leg);
}


/* Who holds whom: the held party hears music, the relay waits. */
static void update_hold(struct bridge *br)
{
	struct leg *a = bridge_leg(br, 0), *b = bridge_leg(br, 1);
	struct member *ma = bridge_member_of(br, a);
	struct member *mb = bridge_member_of(br, b);

	if (!ma || !mb || bmix_wanted(br))
		return;

	stream_unbridge(leg_stream(a));
	if (holds(b) && !ma->moh)
		moh_start(ma, b);
	else if (!holds(b))
		bridge_music_stop(ma);
	if (holds(a) && !mb->moh)
		moh_start(mb, a);
	else if (!holds(a))
		bridge_music_stop(mb);

	if (holds(a) || holds(b))
		log_info("bridge %llu: on hold (%s)", br->id,
			 holds(a) && holds(b) ? "both" : holds(a)
			 ? "first leg holds" : "second leg holds");
	link(br);
}


/** A bridge back to two legs after mixing: relayed as before. */
void bridge_relink(struct bridge *br)
{
	br->linked = false;
	update_hold(br);
}


/*
 * A re-INVITE of @a x, before we answer it (@a offer), or @a x's answer
 * to one of ours.  A hold gives the other party music; anything else is
 * passed on to it as it came (an endpoint may ask for holds too).
 */
static void media_handler(struct leg *x, bool offer, void *arg)
{
	struct member *m = arg;
	struct bridge *br = m->br;
	struct leg *y = bridge_other(br, x);
	struct member *my = bridge_member_of(br, y);
	bool was_held = my && my->moh;

	if (bmix_wanted(br)) {          /* mixed: nobody to pass it on to */
		if (offer)
			leg_video_offer_in(x, NULL);
		else
			leg_video_answer_in(x, NULL);
		return;
	}

	if (!offer) {
		leg_video_answer_in(x, y);
		link(br);
		return;
	}

	leg_video_offer_in(x, y);
	if (!y)
		return;

	if (holds(x) != was_held) {
		update_hold(br);
		return;
	}
	if (!holds(x) && leg_state(y) == LEG_ANSWERED &&
	    leg_mirror_offer(x, y))
		log_warn("bridge %llu: re-INVITE not passed on", br->id);
	link(br);
}


static void pass_digits(struct member *m, const char *digits)
{
	struct bridge *br = m->br;

	for (struct le *le = list_head(&br->members); le; le = le->next) {
		struct member *o = le->data;

		if (o == m)
			continue;
		for (const char *d = digits; *d; d++)
			(void)legmedia_dtmf_out(o->leg, *d);
	}
}


static void feature_handler(const char *name, const char *digits, void *arg)
{
	struct member *m = arg;

	if (digits) {
		pass_digits(m, digits);
		return;
	}

	log_info("bridge %llu: leg %llu keyed %s", m->br->id, leg_id(m->leg),
		 name);
	if (m->br->ownerh)
		bridge_push_event(m->br, BRIDGE_EV_FEATURE, m->leg, name, false);
}


static void digit_handler(struct leg *leg, char digit, void *arg)
{
	struct member *m = arg;
	char d[2] = { digit, 0 };
	(void)leg;

	if (m->fm)
		featmatch_digit(m->fm, digit);
	else
		pass_digits(m, d);
}


/* SIP INFO from a leg with no media of the PBX's yet: its digits come
 * through a media side from now on (legmedia replaces this handler). */
static void info_handler(struct leg *leg, struct sip *sip,
			 const struct sip_msg *msg, void *arg)
{
	struct member *m = arg;
	struct pl body;
	char ctype[64], digit;

	re_snprintf(ctype, sizeof(ctype), "%r/%r", &msg->ctyp.type,
		    &msg->ctyp.subtype);
	body.p = (const char *)mbuf_buf(msg->mb);
	body.l = mbuf_get_left(msg->mb);

	if (dtmf_info_parse(ctype, &body, &digit)) {
		(void)sip_reply(sip, msg, 415, "Unsupported Media Type");
		return;
	}
	(void)sip_reply(sip, msg, 200, "OK");
	log_info("leg %llu: DTMF '%c' (info)", leg_id(leg), digit);
	digit_handler(leg, digit, m);
}


static void member_release(struct member *m)
{
	struct leg *leg = m->leg;
	bool tell = bmix_wanted(m->br);

	list_unlink(&m->le);
	bmix_unplug(m);
	bridge_music_stop(m);
	m->fm = mem_deref(m->fm);
	legmedia_set_sink(leg, NULL, NULL);
	legmedia_telev_local(leg, false);
	if (m->info_set && !leg_media(leg))
		leg_set_info_handler(leg, NULL, NULL);
	leg_set_media_handler(leg, NULL, NULL);
	leg_unwatch(leg, LEG_W_BRIDGE, m);
	stream_unbridge(leg_stream(leg));
	stream_unbridge(leg_vstream(leg));
	m->leg = NULL;
	observe(m->br, leg, false);
	mem_deref(m);
	leg_set_bridge(leg, NULL);   /* may hang it up: nobody holds it */
	if (tell && !leg_closed(leg))
		leg_emit(leg, LEG_EV_BRIDGE);   /* its script: it left */
	mem_deref(leg);
}


/* A member went: a plain bridge back to two legs is relayed again. */
static void after_leave(struct bridge *br)
{
	if (bmix_settle(br))
		bridge_relink(br);
	else
		link(br);
}


/* Fewer than two legs and no script to decide: what is left goes (a
 * room stays while anyone is in it). */
static void settle(struct bridge *br)
{
	if (br->ownerh || bridge_count(br) > 1 || br->room)
		return;

	while (!list_isempty(&br->members))
		member_release(list_head(&br->members)->data);
}


static void drop_self(struct bridge *br)
{
	if (list_isempty(&br->members) && br->self_ref) {
		br->self_ref = false;
		mem_deref(br);
	}
}


static void leg_handler(struct leg *leg, enum leg_event ev, void *arg)
{
	struct member *m = arg;
	struct bridge *br = m->br;

	switch (ev) {

	case LEG_EV_CLOSED:
		mem_ref(br);
		log_debug("bridge %llu: leg %llu hung up", br->id,
			 leg_id(leg));
		member_release(m);
		after_leave(br);
		if (br->ownerh)
			bridge_push_event(br, BRIDGE_EV_HANGUP, leg, NULL, false);
		settle(br);
		drop_self(br);
		mem_deref(br);
		break;

	case LEG_EV_REFER:
		if (br->ownerh)
			bridge_push_event(br, BRIDGE_EV_REFER, leg, NULL, false);
		else
			(void)leg_refer_notify(leg, 603, "Decline");
		break;

	case LEG_EV_MEDIA:
		if (br->mixer)
			bmix_media(m);
		else if (!br->linked)
			link(br);
		break;

	default:
		break;
	}
}


/* Digits: a room's queue on the leg for its own script; a relayed or
 * plain mixed bridge's are relayed to the others, or matched against the
 * leg's feature keys. */
static void take_digits(struct bridge *br, struct member *m)
{
	struct leg *leg = m->leg;

	if (br->room) {
		(void)legmedia_attach(leg);   /* its SIP INFO digits too */
		return;
	}
	if (m->fm || leg_media(leg)) {
		legmedia_set_sink(leg, digit_handler, m);
	}
	else {
		leg_set_info_handler(leg, info_handler, m);
		m->info_set = true;
	}
}


/**
 * @a leg joins the bridge (taken from any other it is in), with its
 * feature keys when @a map is given (a room's legs have none: their
 * digits are their scripts').  A third leg starts the mixer; in a room
 * it mixes from the first.
 *
 * @return 0, EINVAL, ENOTCONN (it hung up), EALREADY, EPIPE (a room that
 *         ended), ENOTSUP (keys in a room), ENOMEM
 */
int bridge_add(struct bridge *br, struct leg *leg, struct featmap *map)
{
	struct bridge *other;
	struct member *m;
	int err;

	if (!br || !leg)
		return EINVAL;
	if (leg_closed(leg))
		return ENOTCONN;
	if (bridge_member_of(br, leg))
		return EALREADY;
	if (br->ended)
		return EPIPE;
	if (br->room && map)
		return ENOTSUP;

	m = mem_zalloc(sizeof(*m), NULL);
	if (!m)
		return ENOMEM;

	other = leg_bridge(leg);
	if (other) {
		mem_ref(other);
		(void)bridge_remove(other, leg);
		if (other->ownerh && !other->room)   /* a room's told already */
			bridge_push_event(other, BRIDGE_EV_LEFT, leg, NULL, false);
		settle(other);
		drop_self(other);
		mem_deref(other);
	}

	legmedia_stop(leg, MEND_STOPPED);   /* a prompt, music: over */
	m->br = br;
	m->leg = mem_ref(leg);
	if (map) {
		err = featmatch_alloc(&m->fm, map, feature_handler, m);
		if (err) {
			mem_deref(m->leg);
			mem_deref(m);
			return err;
		}
	}

	if (!br->self_ref) {
		br->self_ref = true;
		mem_ref(br);
	}
	list_append(&br->members, &m->le, m);
	leg_set_bridge(leg, br);
	leg_watch(leg, LEG_W_BRIDGE, leg_handler, m);
	leg_set_media_handler(leg, media_handler, m);
	take_digits(br, m);
	m->joined = tmr_jiffies();

	if (bmix_wanted(br))
		bmix_added(br, m);
	else if (bridge_count(br) == 2)
		update_hold(br);
	log_debug("bridge %llu: leg %llu joins (%u)", br->id, leg_id(leg),
		 bridge_count(br));
	observe(br, leg, true);
	if (br->room && br->ownerh)
		bridge_push_event(br, BRIDGE_EV_JOIN, leg, NULL, false);
	callev_bridged(br, leg);

	return 0;
}


/** @a leg leaves the bridge, not hung up (unless nothing holds it). */
int bridge_remove(struct bridge *br, struct leg *leg)
{
	struct member *m = bridge_member_of(br, leg);
	struct member *o;

	if (!m)
		return ENOENT;

	mem_ref(br);
	mem_ref(leg);
	member_release(m);
	br->linked = false;
	if (br->mixer || br->room) {
		if (bmix_settle(br))
			bridge_relink(br);
		if (br->room && br->ownerh)
			bridge_push_event(br, BRIDGE_EV_LEFT, leg, NULL, false);
	}
	else {
		/* whoever is left hears nothing of the PBX's hold music for a
		 * leg that went */
		o = list_head(&br->members) ? list_head(&br->members)->data
			: NULL;
		if (o)
			bridge_music_stop(o);
	}
	drop_self(br);
	mem_deref(leg);
	mem_deref(br);

	return 0;
}


/**
 * @a leg takes @a old's place (INVITE/Replaces, an attended transfer):
 * @a old leaves and is hung up, @a leg hears whom @a old heard.
 */
int bridge_replace(struct bridge *br, struct leg *old, struct leg *leg)
{
	struct featmap *map = NULL;
	struct member *m = bridge_member_of(br, old);
	int err;

	if (!m)
		return ENOENT;

	mem_ref(br);
	mem_ref(old);
	(void)bridge_remove(br, old);
	err = bridge_add(br, leg, map);
	if (!err)
		callev_transferred(leg, leg_holder(old), leg_holder(leg),
				   "replaces");
	leg_hangup(old, 0);
	mem_deref(old);
	mem_deref(br);

	return err;
}


/** Every leg of the bridge hangs up (Asterisk's end of a bridge). */
void bridge_hangup(struct bridge *br, uint16_t code)
{
	if (!br)
		return;

	mem_ref(br);
	while (!list_isempty(&br->members)) {
		struct member *m = list_head(&br->members)->data;
		struct leg *leg = mem_ref(m->leg);

		member_release(m);
		leg_hangup(leg, code);
		if (br->ownerh)
			bridge_push_event(br, BRIDGE_EV_HANGUP, leg, NULL, false);
		mem_deref(leg);
	}
	(void)bmix_settle(br);
	drop_self(br);
	mem_deref(br);
}


/**
 * The script that decides for this bridge (NULL: none any more; what is
 * left of it then goes when it has fewer than two legs).
 */
void bridge_set_owner(struct bridge *br, bridge_event_h *h, void *owner)
{
	if (!br)
		return;

	br->ownerh = h;
	br->owner = owner;
	if (!h) {
		flush_events(br);
		mem_ref(br);
		settle(br);
		drop_self(br);
		mem_deref(br);
	}
}


void *bridge_owner(const struct bridge *br)
{
	return br ? br->owner : NULL;
}


uint64_t bridge_id(const struct bridge *br)
{
	return br ? br->id : 0;
}


uint32_t bridge_total(void)
{
	uint32_t n = 0;

	for (struct le *le = list_head(&bridges); le; le = le->next) {
		if (!list_isempty(&((struct bridge *)le->data)->members))
			++n;
	}

	return n;
}


/*
 * The bridges of lst (every bridge, or the rooms: their elements' data is
 * the bridge) until h says stop.  The next one is taken before h runs, so
 * h may end the bridge it is given.
 */
struct bridge *bridge_list_apply(const struct list *lst, bridge_apply_h *h,
				 void *arg)
{
	struct le *le = list_head(lst);

	while (le) {
		struct bridge *br = le->data;

		le = le->next;
		if (h(br, arg))
			return br;
	}

	return NULL;
}


struct bridge *bridge_apply(bridge_apply_h *h, void *arg)
{
	return bridge_list_apply(&bridges, h, arg);
}
