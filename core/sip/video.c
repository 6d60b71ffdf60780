/**
 * @file video.c  A call's video: negotiated between the legs, relayed, never
 * transcoded.
 *
 * The callee is offered the caller's video formats; the caller is answered
 * with those the callee accepted (port 0 when none).  A re-INVITE adding or
 * removing video is answered at once (every format offered is accepted)
 * and mirrored to the other leg; when that leg accepts fewer formats, the
 * first leg is re-offered the common ones (or port 0), so that neither
 * side sends a format the other cannot decode.  A leg has a video stream
 * (two sockets, one with rtcp-mux) only while video is negotiated on it.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "media/sdpneg.h"
#include "media/stream.h"
#include "sip/call.h"
#include "sip/call_priv.h"

enum { VIDEO_CLOCK = 90000, MAX_PT_PAIRS = 16 };


static int vstream_alloc(struct call *call, struct stream **sp)
{
	const struct pbx_settings *set = &call->pbx->set;
	int err;

	err = stream_alloc(sp, &set->media_addr, set->rtp_min, set->rtp_max);
	if (err) {
		log_warn("call %llu: no RTP port for video: %m", call->id, err);
		return err;
	}
	stream_set_clock(*sp, VIDEO_CLOCK);
	stream_tap(*sp, call->capture);

	return 0;
}


/* The caller's video may be offered to a callee: it offered some, and it
 * has not been answered yet or its video is on. */
static bool caller_video_open(const struct call *call)
{
	const struct sdpneg *sdp = call->a.sdp;

	return sdpneg_video_offered(sdp) &&
		(call->state != CALL_ANSWERED || sdpneg_video_active(sdp));
}


/** A dial starts: the forks share one video stream, as they share audio. */
int video_dial_start(struct call *call)
{
	if (!caller_video_open(call))
		return 0;

	return vstream_alloc(call, &call->fork_vstream);
}


/** A fork is offered the caller's video, on the forks' shared stream. */
int video_fork_offer(struct call *call, struct leg *leg)
{
	if (!call->fork_vstream)
		return 0;

	leg->vstream = mem_ref(call->fork_vstream);
	sdpneg_set_vport(leg->sdp, stream_lport(leg->vstream));

	return sdpneg_video_offer(leg->sdp, call->a.sdp);
}


/* A leg's video stream follows its SDP: there while video is negotiated,
 * at the addresses the far end gave, RTCP muxed if it agreed. */
static int leg_video_media(struct call *call, struct leg *leg)
{
	struct sa rtp, rtcp;
	int err;

	if (!sdpneg_video_active(leg->sdp)) {
		if (leg->vstream)
			stream_unbridge(leg->vstream);
		leg->vstream = mem_deref(leg->vstream);
		return 0;
	}

	if (!leg->vstream) {
		err = vstream_alloc(call, &leg->vstream);
		if (err)
			return err;
	}
	sdpneg_set_vport(leg->sdp, stream_lport(leg->vstream));

	if (sdpneg_video_remote_addr(leg->sdp, &rtp, &rtcp))
		stream_set_remote(leg->vstream, &rtp, &rtcp);
	if (sdpneg_rtcp_mux(leg->sdp, true))
		stream_set_mux(leg->vstream);

	return 0;
}


/** The PBX answers the caller itself: no video (an early answer from a
 *  callee that is not bridged any more is forgotten). */
void video_own_media(struct call *call)
{
	if (call->peer || call->state == CALL_ANSWERED)
		return;

	sdpneg_video_off(call->a.sdp);
	(void)leg_video_media(call, &call->a);
}


/* Payload types from x to y. */
static void map_video(struct leg *x, struct leg *y)
{
	uint8_t pairs[MAX_PT_PAIRS][2];
	size_t n = sdpneg_video_pt_map(x->sdp, y->sdp, pairs,
				       ARRAY_SIZE(pairs));

	stream_clear_pt_map(x->vstream);
	for (size_t i = 0; i < n; i++)
		stream_set_pt_map(x->vstream, pairs[i][0], pairs[i][1],
				  CODEC_NONE, CODEC_NONE);
}


/* Relay video between the caller and the answered leg when both have it. */
static void connect_video(struct call *call, struct leg *b)
{
	struct leg *a = &call->a;

	if (!a->vstream || !b->vstream) {
		stream_unbridge(a->vstream);
		stream_unbridge(b->vstream);
		return;
	}

	map_video(a, b);
	map_video(b, a);
	stream_bridge(a->vstream, b->vstream);
}


/* Offer @a leg its current SDP again (a re-INVITE of ours). */
static void reoffer(struct call *call, struct leg *leg)
{
	struct mbuf *mb = NULL;
	int err;

	if (!leg->sess || leg->closed)
		return;

	err = sdpneg_encode(leg->sdp, true, &mb);
	if (!err)
		err = sipsess_modify(leg->sess, mb);
	mem_deref(mb);

	if (err)
		log_warn("call %llu: video re-offer: %m", call->id, err);
}


/* @a x's video narrowed to what @a y agreed to, and re-offered when that
 * changed anything (its answer is already sent). */
static void narrow(struct call *call, struct leg *x, const struct leg *y)
{
	if (!sdpneg_video_restrict(x->sdp, y->sdp))
		return;

	log_info("call %llu: video narrowed to [%H]: re-offered", call->id,
		 sdpneg_video_print, x->sdp);
	(void)leg_video_media(call, x);
	reoffer(call, x);
}


/**
 * The callee @a b answered (183 or 200): the caller is answered with the
 * video @a b accepted, or re-offered it when its answer is already sent.
 */
void video_bridge(struct call *call, struct leg *b)
{
	struct leg *a = &call->a;

	if (call->state != CALL_ANSWERED)
		(void)sdpneg_video_answer(a->sdp, b->sdp);

	(void)leg_video_media(call, b);
	(void)leg_video_media(call, a);
	if (call->state == CALL_ANSWERED)
		narrow(call, a, b);

	connect_video(call, b);

	if (a->vstream && b->vstream)
		log_info("call %llu: video %H", call->id,
			 sdpneg_video_print, a->sdp);
}


static struct leg *other_leg(struct call *call, const struct leg *leg)
{
	if (leg == &call->a)
		return call->peer;

	return leg == call->peer && !call->a.closed ? &call->a : NULL;
}


/**
 * An offer from @a x (a re-INVITE), before we answer it: video it adds is
 * accepted as offered, narrowed at once to what the other leg already
 * agreed to; video it removes, or offers with nobody to relay it to, is
 * answered with port 0 (the PBX itself neither shows nor films anything).
 */
void video_offer_in(struct call *call, struct leg *x)
{
	struct leg *y = other_leg(call, x);

	if (!y || !sdpneg_video_offered(x->sdp))
		sdpneg_video_off(x->sdp);
	else if (!sdpneg_video_active(x->sdp))
		(void)sdpneg_video_answer(x->sdp, NULL);

	if (y && y->vstream)
		(void)sdpneg_video_restrict(x->sdp, y->sdp);

	(void)leg_video_media(call, x);
}


/** Our offer to @a to mirrors @a from's: its video, in mirrored direction. */
void video_mirror(struct call *call, struct leg *from, struct leg *to)
{
	enum sdp_dir d = sdpneg_video_remote_dir(from->sdp);

	if (!sdpneg_video_active(from->sdp)) {
		sdpneg_video_off(to->sdp);
		return;
	}

	(void)sdpneg_video_offer(to->sdp, from->sdp);
	sdpneg_video_set_dir(to->sdp, d == SDP_SENDONLY ? SDP_RECVONLY
			     : d == SDP_RECVONLY ? SDP_SENDONLY : d);

	if (!to->vstream && vstream_alloc(call, &to->vstream))
		sdpneg_video_off(to->sdp);
	else
		sdpneg_set_vport(to->sdp, stream_lport(to->vstream));
}


/**
 * @a y answered an offer of ours (a mirrored re-INVITE, or a re-offer):
 * its video stream follows, the other leg is narrowed to what @a y
 * accepted, and the relay is set again.
 */
void video_answer_in(struct call *call, struct leg *y)
{
	struct leg *x = other_leg(call, y);

	(void)leg_video_media(call, y);
	if (!x || !call->peer)
		return;

	narrow(call, x, y);
	connect_video(call, call->peer);
}
