/**
 * @file bridge_mix.c  Bridges that mix (bridge.h): three legs and more,
 * and rooms; each mixed leg's settings and events; what a room plays to
 * everyone and records.
 *
 * A leg is mixed through its terminated media (call/legmedia.h): the
 * term decodes what the phone sends into the leg's member of the mixer
 * and sends the member's mix back (media/mixer.h: N-1 mixes, talk
 * detection).  A leg whose media is not up yet is plugged in when it
 * comes (LEG_EV_MEDIA).  A plain bridge that drops back to two legs goes
 * back to the relay (bridge.c); a room mixes until its last leg leaves,
 * and then ends: its name is free for the next conference.
 *
 * A room's announcements (join and leave sounds, names) are one more
 * member of its mixer that sends a player's frames and hears nothing; a
 * room's recording, one that sends nothing and writes what it hears (the
 * whole room).  Both exist only while they have something to do.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "media/codec.h"
#include "media/mixer.h"
#include "media/player.h"
#include "media/recorder.h"
#include "media/stream.h"
#include "call/leg.h"
#include "call/legmedia.h"
#include "call/bridge.h"
#include "call/bridge_priv.h"

enum {
	FRAME = 8000 / 1000 * MIXER_PTIME,  /* samples: the mix is 8 kHz    */
	ANN_MAX = 8,          /* announcements queued: never without bound   */
	ANN_IDLE_TICKS = 10,  /* what was put is heard before it leaves      */
};

/* An announcement waiting for the room's announcer. */
struct ann {
	struct le le;
	struct player *p;
};

static struct list rooms;


/** A room mixes at any count; a plain bridge from three legs on. */
bool bmix_wanted(const struct bridge *br)
{
	return br && (br->room || bridge_count(br) > 2);
}


static bool need_mixer(const struct bridge *br)
{
	uint32_t n = bridge_count(br);

	return br->room ? n > 0 : n > 2;
}


/* An event for whoever holds the member's leg: its script looks. */
static void member_push(struct member *m, const struct bridge_mevent *ev)
{
	if (m->en == MEMBER_EVQ) {          /* not taken: the oldest goes */
		m->eh = (m->eh + 1) % MEMBER_EVQ;
		--m->en;
	}

	m->evq[(m->eh + m->en) % MEMBER_EVQ] = *ev;
	++m->en;
	leg_emit(m->leg, LEG_EV_BRIDGE);
}


static void talk_handler(bool talking, void *arg)
{
	struct member *m = arg;
	struct bridge_mevent ev = { .type = BRIDGE_MEV_TALK,
				    .talking = talking };

	log_debug("bridge %llu: leg %llu %s talking", m->br->id,
		  leg_id(m->leg), talking ? "starts" : "stops");
	member_push(m, &ev);
	if (m->br->ownerh)
		bridge_push_event(m->br, BRIDGE_EV_TALK, m->leg, NULL, talking);
}


/* The member's leg into the mixer, with its settings. */
static int plug(struct member *m)
{
	struct leg *leg = m->leg;
	int err;

	if (m->mm || !m->br->mixer || leg_closed(leg))
		return 0;

	err = legmedia_attach(leg);
	if (err)
		return err;   /* no media yet: LEG_EV_MEDIA plugs it in */

	stream_unbridge(leg_stream(leg));
	stream_unbridge(leg_vstream(leg));
	err = mixer_join_term(&m->mm, m->br->mixer, legmedia_term(leg),
			      talk_handler, m);
	if (err) {
		log_warn("bridge %llu: leg %llu cannot be mixed: %m",
			 m->br->id, leg_id(leg), err);
		return err;
	}

	mixer_mute(m->mm, m->muted);
	mixer_deaf(m->mm, m->deaf);
	(void)mixer_set_volume(m->mm, MIXER_TALK, m->vol[0]);
	(void)mixer_set_volume(m->mm, MIXER_LISTEN, m->vol[1]);

	return 0;
}


/* A mixed leg takes its own prompts in its bridge, even before its media
 * is up (a late offer's ACK): they play once it is. */
static void mixed_leg(struct member *m)
{
	legmedia_set_mixed(m->leg, true);
	(void)plug(m);
}


/** The member's leg out of the mixer (it leaves, or the bridge goes back
 *  to the relay). */
void bmix_unplug(struct member *m)
{
	legmedia_set_mixed(m->leg, false);
	if (!m->mm)
		return;

	m->talk_frames += mixer_talk_frames(m->mm);
	m->mm = mem_deref(m->mm);
}


static void ann_destructor(void *arg)
{
	struct ann *a = arg;

	list_unlink(&a->le);
	mem_deref(a->p);
}


/* The announcer's turn in a tick: the next frame of what it plays into
 * its jitter buffer (heard two ticks later, after its prefill). */
static void ann_out(const struct mixer_frame *f, void *arg)
{
	struct bridge *br = arg;
	uint8_t enc[FRAME];
	int16_t pcm[FRAME];
	size_t n;
	(void)f;

	if (!br->ann_cur && !list_isempty(&br->annq)) {
		struct ann *a = list_head(&br->annq)->data;

		br->ann_cur = mem_ref(a->p);
		mem_deref(a);
	}

	if (!br->ann_cur) {
		if (++br->ann_idle >= ANN_IDLE_TICKS)
			br->ann_mb = mem_deref(br->ann_mb);   /* leaves */
		return;
	}

	br->ann_idle = 0;
	n = player_read(br->ann_cur, CODEC_PCMU, enc, FRAME);
	codec_decode(CODEC_PCMU, enc, pcm, n);
	memset(pcm + n, 0, (FRAME - n) * sizeof(*pcm));
	mixer_put(pcm, FRAME, br->ann_ts, br->ann_mb);
	br->ann_ts += FRAME;
	if (player_done(br->ann_cur))
		br->ann_cur = mem_deref(br->ann_cur);
}


static void ann_join(struct bridge *br)
{
	int err;

	if (br->ann_mb || !br->mixer)
		return;

	br->ann_idle = 0;
	err = mixer_join(&br->ann_mb, br->mixer, CODEC_NONE, ann_out, NULL,
			 br);
	if (err)
		log_warn("bridge %llu: no announcements: %m", br->id, err);
}


/* The recording member's turn: it hears the whole room. */
static void rec_out(const struct mixer_frame *f, void *arg)
{
	struct bridge *br = arg;

	if (br->rec)
		(void)recorder_write(br->rec, f->pcm, f->samples,
				     (uint32_t)(f->frame * f->samples));
}


static void rec_join(struct bridge *br)
{
	int err;

	if (br->rec_mb || !br->rec || !br->mixer)
		return;

	err = mixer_join(&br->rec_mb, br->mixer, CODEC_NONE, rec_out, NULL,
			 br);
	if (err)
		log_warn("bridge %llu: not recorded: %m", br->id, err);
}


static int mix_start(struct bridge *br)
{
	int err = mixer_alloc(&br->mixer, NULL);

	if (err)
		return err;

	br->linked = false;
	for (struct le *le = list_head(&br->members); le; le = le->next) {
		struct member *m = le->data;

		bridge_music_stop(m);      /* the relay's hold music */
		mixed_leg(m);
	}
	rec_join(br);
	if (!list_isempty(&br->annq))
		ann_join(br);
	log_info("bridge %llu: mixing %u legs%s%s", br->id, bridge_count(br),
		 br->room ? " in room " : "", br->room ? br->room : "");

	return 0;
}


static void mix_stop(struct bridge *br)
{
	for (struct le *le = list_head(&br->members); le; le = le->next) {
		struct member *m = le->data;

		bmix_unplug(m);
		bridge_music_stop(m);
		legmedia_stop(m->leg, MEND_STOPPED);   /* relayed from now */
	}

	br->ann_mb = mem_deref(br->ann_mb);
	br->ann_cur = mem_deref(br->ann_cur);
	list_flush(&br->annq);
	(void)bridge_record_stop(br);
	br->mixer = mem_deref(br->mixer);
	log_info("bridge %llu: mixing stops (%u legs)", br->id,
		 bridge_count(br));
}


/**
 * A leg joined a bridge that mixes: the mixer starts (the relay of a
 * plain bridge's two others stops), or the leg is plugged in.
 */
void bmix_added(struct bridge *br, struct member *m)
{
	if (br->mixer) {
		mixed_leg(m);
		return;
	}

	if (mix_start(br))
		log_warn("bridge %llu: no mixer: its legs hear nothing",
			 br->id);
}


/**
 * A leg left: a room that empties ends, a plain bridge down to two legs
 * stops mixing.  @return true when the bridge is to be relayed again.
 */
bool bmix_settle(struct bridge *br)
{
	uint32_t n = bridge_count(br);

	if (br->mixer && !need_mixer(br))
		mix_stop(br);

	if (br->room && !n && !br->ended) {
		br->ended = true;
		list_unlink(&br->room_le);
		log_info("bridge %llu: room %s ends", br->id, br->room);
	}

	return !br->room && n == 2 && !br->mixer && !br->linked;
}


/** New media of a mixed leg (a late answer, a re-INVITE): in the mixer
 *  if it was not yet; its codec follows by itself. */
void bmix_media(struct member *m)
{
	(void)plug(m);
}


/** The bridge goes: what its room held goes with it. */
void bmix_close(struct bridge *br)
{
	if (br->room && !br->ended)
		list_unlink(&br->room_le);
	br->ann_mb = mem_deref(br->ann_mb);
	br->ann_cur = mem_deref(br->ann_cur);
	list_flush(&br->annq);
	br->rec_mb = mem_deref(br->rec_mb);
	if (br->rec)
		recorder_abort(br->rec);   /* never mixed: nothing in it */
	br->rec = mem_deref(br->rec);
	br->mixer = mem_deref(br->mixer);
	br->room = mem_deref(br->room);
}


/**
 * The room named @a name, made if there is none (or the last one of that
 * name ended).  The caller gets a reference.
 */
int bridge_room(struct bridge **brp, const char *name)
{
	struct bridge *br;
	int err;

	if (!brp || !str_isset(name))
		return EINVAL;

	br = bridge_find_room(name);
	if (br) {
		*brp = mem_ref(br);
		return 0;
	}

	err = bridge_alloc(&br);
	if (err)
		return err;

	err = str_dup(&br->room, name);
	if (err) {
		mem_deref(br);
		return err;
	}
	list_append(&rooms, &br->room_le, br);
	*brp = br;

	return 0;
}


struct bridge *bridge_find_room(const char *name)
{
	for (struct le *le = list_head(&rooms); le; le = le->next) {
		struct bridge *br = le->data;

		if (0 == str_cmp(br->room, name))
			return br;
	}

	return NULL;
}


/** Every room that has not ended. */
struct bridge *bridge_room_apply(bridge_apply_h *h, void *arg)
{
	return bridge_list_apply(&rooms, h, arg);
}


const char *bridge_room_name(const struct bridge *br)
{
	return br ? br->room : NULL;
}


bool bridge_ended(const struct bridge *br)
{
	return br && br->ended;
}


bool bridge_mixing(const struct bridge *br)
{
	return br && br->mixer;
}


uint32_t bridge_mixer_members(const struct bridge *br)
{
	return br ? mixer_count(br->mixer) : 0;
}


/* The member of @a leg in a bridge that mixes. */
static struct member *mixed(const struct bridge *br, const struct leg *leg,
			    int *err)
{
	struct member *m = bridge_member_of(br, leg);

	*err = !m ? ENOENT : !bmix_wanted(br) ? ENOTSUP : 0;

	return *err ? NULL : m;
}


/** Muted: the others do not hear it (its talking is still detected). */
int bridge_mute(struct bridge *br, struct leg *leg, bool on)
{
	int err;
	struct member *m = mixed(br, leg, &err);

	if (!m)
		return err;

	m->muted = on;
	mixer_mute(m->mm, on);

	return 0;
}


/** Deaf: it hears nothing of the others. */
int bridge_deaf(struct bridge *br, struct leg *leg, bool on)
{
	int err;
	struct member *m = mixed(br, leg, &err);

	if (!m)
		return err;

	m->deaf = on;
	mixer_deaf(m->mm, on);

	return 0;
}


/** The volume the others hear it at, or (@a listen) it hears them at:
 *  @a step 3 dB steps from -4 to 4.  @return 0, ENOENT, ENOTSUP, ERANGE */
int bridge_set_volume(struct bridge *br, struct leg *leg, bool listen,
		      int step)
{
	int err;
	struct member *m = mixed(br, leg, &err);

	if (!m)
		return err;
	if (step < MIXER_VOL_MIN || step > MIXER_VOL_MAX)
		return ERANGE;

	m->vol[listen] = step;
	if (m->mm)
		(void)mixer_set_volume(m->mm, listen ? MIXER_LISTEN
				       : MIXER_TALK, step);

	return 0;
}


int bridge_member(const struct bridge *br, const struct leg *leg,
		  struct bridge_member_info *mi)
{
	struct member *m = bridge_member_of(br, leg);

	if (!m || !mi)
		return ENOENT;

	memset(mi, 0, sizeof(*mi));
	mi->mixed = m->mm != NULL;
	mi->muted = m->muted;
	mi->deaf = m->deaf;
	mi->moh = m->moh;
	mi->talking = mixer_talking(m->mm);
	mi->talk_volume = m->vol[0];
	mi->listen_volume = m->vol[1];
	mi->joined_ms = tmr_jiffies() - m->joined;
	mi->talk_ms = (m->talk_frames + mixer_talk_frames(m->mm)) *
		MIXER_PTIME;

	return 0;
}


/**
 * Music of class @a cls for one leg of a mixing bridge, in place of the
 * mix (a room's member alone, or waiting for its leader); NULL stops it.
 */
int bridge_member_moh(struct bridge *br, struct leg *leg, const char *cls,
		      char *errbuf, size_t errsz)
{
	int err;
	struct member *m = mixed(br, leg, &err);

	if (!m)
		return err;

	bridge_music_stop(m);
	if (!cls)
		return 0;
	if (!m->mm)
		return ENOTCONN;

	return bridge_music(m, cls, errbuf, errsz);
}


/** A note for the script that holds @a leg (another participant's
 *  script signals it: "the leader came"). */
int bridge_notify(struct bridge *br, struct leg *leg, const char *note)
{
	struct member *m = bridge_member_of(br, leg);
	struct bridge_mevent ev = { .type = BRIDGE_MEV_NOTE };

	if (!m)
		return ENOENT;

	str_ncpy(ev.note, note ? note : "", sizeof(ev.note));
	member_push(m, &ev);

	return 0;
}


/** The next event of @a leg in the bridge: its talking, a note. */
bool bridge_next_member_event(struct bridge *br, const struct leg *leg,
			      struct bridge_mevent *ev)
{
	struct member *m = bridge_member_of(br, leg);

	if (!m || !m->en)
		return false;

	*ev = m->evq[m->eh];
	m->eh = (m->eh + 1) % MEMBER_EVQ;
	--m->en;

	return true;
}


/**
 * @a p plays into the room: everybody hears it, over the talk.  Queued
 * after what plays already, at most ANN_MAX.
 *
 * @return 0, ENOTSUP (not a room), EPIPE (it ended), EOVERFLOW
 */
int bridge_play(struct bridge *br, struct player *p)
{
	struct ann *a;

	if (!br || !p)
		return EINVAL;
	if (!br->room)
		return ENOTSUP;
	if (br->ended)
		return EPIPE;
	if (list_count(&br->annq) >= ANN_MAX)
		return EOVERFLOW;

	a = mem_zalloc(sizeof(*a), ann_destructor);
	if (!a)
		return ENOMEM;

	a->p = mem_ref(p);
	list_append(&br->annq, &a->le, a);
	ann_join(br);

	return 0;
}


/** Announcements playing or queued. */
uint32_t bridge_playing(const struct bridge *br)
{
	if (!br)
		return 0;

	return list_count(&br->annq) + (br->ann_cur ? 1 : 0);
}


/**
 * Record the room into @a rec (taken, even on error) until
 * bridge_record_stop() or the room ends.
 *
 * @return 0, ENOTSUP (not a room), EPIPE (ended), EALREADY
 */
int bridge_record(struct bridge *br, struct recorder *rec)
{
	int err = !br || !rec ? EINVAL : !br->room ? ENOTSUP
		: br->ended ? EPIPE : br->rec ? EALREADY : 0;

	if (err) {
		if (rec)
			recorder_abort(rec);
		mem_deref(rec);
		return err;
	}

	br->rec = rec;
	rec_join(br);

	return 0;
}


/** The recording ends: its file is complete.  @return 0, ENOENT (none),
 *  or the error that kept the file from being written */
int bridge_record_stop(struct bridge *br)
{
	int err;

	if (!br || !br->rec)
		return ENOENT;

	br->rec_mb = mem_deref(br->rec_mb);
	err = recorder_close(br->rec, false);
	if (err)
		log_warn("bridge %llu: recording %s failed: %m", br->id,
			 recorder_path(br->rec), err);
	else
		log_info("bridge %llu: recorded %s (%llu samples)", br->id,
			 recorder_path(br->rec), recorder_samples(br->rec));
	br->rec = mem_deref(br->rec);

	return err;
}


const char *bridge_recording(const struct bridge *br)
{
	return br && br->rec ? recorder_path(br->rec) : NULL;
}
