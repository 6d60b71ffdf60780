/**
 * @file leg_video.c  A leg's video: negotiated between two legs, relayed,
 * never transcoded.
 *
 * A dialled leg is offered its caller's video formats; the caller is
 * answered with those the callee accepted (port 0 when none).  A re-INVITE
 * adding or removing video is answered at once (every format offered is
 * accepted) and mirrored to the other leg of the bridge; when that leg
 * accepts fewer formats, the first leg is re-offered the common ones (or
 * port 0), so that neither side sends a format the other cannot decode.
 * A leg has a video stream (two sockets, one with rtcp-mux) only while
 * video is negotiated on it.  The PBX itself neither shows nor films.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "media/sdpneg.h"
#include "media/stream.h"
#include "call/leg.h"
#include "call/leg_priv.h"

enum { VIDEO_CLOCK = 90000, MAX_PT_PAIRS = 16 };


static int vstream_alloc(struct pbx *pbx, bool capture, struct stream **sp)
{
	const struct pbx_settings *set = &pbx->set;
	int err;

	err = stream_alloc(sp, &set->media_addr, set->rtp_min, set->rtp_max);
	if (err) {
		log_warn("video: no RTP port: %m", err);
		return err;
	}
	stream_set_clock(*sp, VIDEO_CLOCK);
	stream_tap(*sp, capture);

	return 0;
}


/**
 * A dial from @a caller starts: when its video may be offered (it offered
 * some, and it is not answered yet or its video is on), the forks share
 * one video stream, as they share audio.  NULL in *vsp otherwise.
 */
int leg_video_dial_stream(const struct leg *caller, struct stream **vsp)
{
	const struct sdpneg *sdp = leg_sdp(caller);

	*vsp = NULL;
	if (!sdp || !sdpneg_video_offered(sdp) ||
	    (caller->state == LEG_ANSWERED && !sdpneg_video_active(sdp)))
		return 0;

	return vstream_alloc(caller->pbx, caller->capture, vsp);
}


/** A fork is offered the caller's video, on the forks' shared stream. */
int legvideo_fork_offer(struct leg *leg, struct stream *vs,
			const struct sdpneg *src)
{
	if (!src)
		return 0;

	leg->vstream = mem_ref(vs);
	sdpneg_set_vport(leg->sdp, stream_lport(leg->vstream));

	return sdpneg_video_offer(leg->sdp, src);
}


/* A leg's video stream follows its SDP: there while video is negotiated,
 * at the addresses the far end gave, RTCP muxed if it agreed. */
int legvideo_media(struct leg *leg)
{
	struct sa rtp, rtcp;
	int err;

	if (!sdpneg_video_active(leg->sdp)) {
		stream_unbridge(leg->vstream);
		leg->vstream = mem_deref(leg->vstream);
		return 0;
	}

	if (!leg->vstream) {
		err = vstream_alloc(leg->pbx, leg->capture, &leg->vstream);
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


/** The PBX answers the leg itself: no video. */
void legvideo_own_media(struct leg *leg)
{
	if (leg->state == LEG_ANSWERED)
		return;

	sdpneg_video_off(leg->sdp);
	(void)legvideo_media(leg);
}


/** A re-INVITE offering video to a leg in no bridge: port 0. */
void legvideo_offer_alone(struct leg *leg)
{
	leg_video_offer_in(leg, NULL);
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


/** Relay video between two legs when both have it. */
void leg_video_connect(struct leg *a, struct leg *b)
{
	if (!a->vstream || !b->vstream) {
		stream_unbridge(a->vstream);
		stream_unbridge(b->vstream);
		return;
	}

	map_video(a, b);
	map_video(b, a);
	stream_bridge(a->vstream, b->vstream);
}


/* @a x's video narrowed to what @a y agreed to, and re-offered when that
 * changed anything (its answer is already sent). */
static void narrow(struct leg *x, const struct leg *y)
{
	if (!sdpneg_video_restrict(x->sdp, y->sdp))
		return;

	log_info("leg %llu: video narrowed to [%H]: re-offered", x->id,
		 sdpneg_video_print, x->sdp);
	(void)legvideo_media(x);
	if (leg_reoffer(x))
		log_warn("leg %llu: video re-offer failed", x->id);
}


/**
 * @a a and @a b are bridged: @a a, when not answered yet, is answered
 * with the video @a b accepted, or else re-offered it.
 */
void leg_video_bridge(struct leg *a, struct leg *b)
{
	if (a->state != LEG_ANSWERED)
		(void)sdpneg_video_answer(a->sdp, b->sdp);

	(void)legvideo_media(b);
	(void)legvideo_media(a);
	if (a->state == LEG_ANSWERED && b->vstream)
		narrow(a, b);

	leg_video_connect(a, b);

	if (a->vstream && b->vstream)
		log_info("leg %llu: video %H", a->id, sdpneg_video_print,
			 a->sdp);
}


/**
 * An offer from @a x (a re-INVITE), before we answer it, @a y its
 * bridge's other leg or NULL: video it adds is accepted as offered,
 * narrowed at once to what @a y already agreed to; video it removes, or
 * offers with nobody to relay it to, is answered with port 0.
 */
void leg_video_offer_in(struct leg *x, struct leg *y)
{
	if (!y || !sdpneg_video_offered(x->sdp))
		sdpneg_video_off(x->sdp);
	else if (!sdpneg_video_active(x->sdp))
		(void)sdpneg_video_answer(x->sdp, NULL);

	if (y && y->vstream)
		(void)sdpneg_video_restrict(x->sdp, y->sdp);

	(void)legvideo_media(x);
}


/** Our offer to @a to mirrors @a from's: its video, mirrored. */
void leg_video_mirror(struct leg *from, struct leg *to)
{
	enum sdp_dir d = sdpneg_video_remote_dir(from->sdp);

	if (!sdpneg_video_active(from->sdp)) {
		sdpneg_video_off(to->sdp);
		return;
	}

	(void)sdpneg_video_offer(to->sdp, from->sdp);
	sdpneg_video_set_dir(to->sdp, d == SDP_SENDONLY ? SDP_RECVONLY
			     : d == SDP_RECVONLY ? SDP_SENDONLY : d);

	if (!to->vstream && vstream_alloc(to->pbx, to->capture, &to->vstream))
		sdpneg_video_off(to->sdp);
	else
		sdpneg_set_vport(to->sdp, stream_lport(to->vstream));
}


/**
 * @a y answered an offer of ours (a mirrored re-INVITE, or a re-offer),
 * @a x the other leg of its bridge (or NULL): @a y's video stream
 * follows, @a x is narrowed to what @a y accepted, the relay set again.
 */
void leg_video_answer_in(struct leg *y, struct leg *x)
{
	(void)legvideo_media(y);
	if (!x)
		return;

	narrow(x, y);
	leg_video_connect(x, y);
}
