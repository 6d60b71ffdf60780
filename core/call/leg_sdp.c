/**
 * @file leg_sdp.c  A leg's SDP after the first offer and answer: our
 * re-offers, hold passed from one leg to the other, the codec it keeps,
 * and two legs matched to talk with each other.
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


/** Offer the leg its current SDP again (a re-INVITE of ours). */
int leg_reoffer(struct leg *leg)
{
	struct mbuf *mb = NULL;
	int err;

	if (!leg->sess || leg->closed || !leg->established)
		return ENOTCONN;

	err = sdpneg_encode(leg->sdp, true, &mb);
	if (!err)
		err = sipsess_modify(leg->sess, mb);
	mem_deref(mb);

	return err;
}


static enum sdp_dir mirror_dir(enum sdp_dir d)
{
	switch (d) {

	case SDP_SENDONLY: return SDP_RECVONLY;
	case SDP_RECVONLY: return SDP_SENDONLY;
	default:           return d;
	}
}


/** Our direction toward the leg, for the next offer or answer. */
void leg_set_local_dir(struct leg *leg, enum sdp_dir dir)
{
	if (leg)
		sdpneg_set_local_dir(leg->sdp, dir);
}


/**
 * A re-INVITE of @a from (hold, resume) passed on: @a to is offered the
 * same direction, seen from its side.  The video follows (leg_video.c).
 */
int leg_mirror_offer(struct leg *from, struct leg *to)
{
	if (!to->sess || to->closed)
		return ENOTCONN;

	/* what `from` does to us is what we do to `to` */
	sdpneg_set_local_dir(to->sdp, mirror_dir(sdpneg_remote_dir(from->sdp)));
	leg_video_mirror(from, to);

	return leg_reoffer(to);
}


/** The far end put us on hold: it will not take what we send. */
bool leg_remote_holds(const struct leg *leg)
{
	enum sdp_dir d;

	if (!leg || !leg->sdp || leg->closed)
		return false;

	d = sdpneg_remote_dir(leg->sdp);

	return d == SDP_RECVONLY || d == SDP_INACTIVE;
}


void leg_set_codec(struct leg *leg, enum codec_id codec)
{
	if (leg)
		leg->codec = codec;
}


/** Answer with that codec only (before the answer goes). */
void leg_keep_codec(struct leg *leg, enum codec_id codec)
{
	if (!leg)
		return;

	leg->codec = codec;
	if (leg->state != LEG_ANSWERED)
		sdpneg_keep_only(leg->sdp, codec);
}


size_t leg_offered_codecs(const struct leg *leg, uint8_t *out, size_t max)
{
	return leg ? sdpneg_remote_codecs(leg->sdp, out, max) : 0;
}


bool leg_offered(const struct leg *leg, enum codec_id codec)
{
	uint8_t codecs[CODEC_MAX];
	size_t n = leg_offered_codecs(leg, codecs, ARRAY_SIZE(codecs));

	for (size_t i = 0; i < n; i++) {
		if (codecs[i] == codec)
			return true;
	}
	return false;
}


/**
 * @a a's codec for talking with @a b (answered): the same law when @a a
 * offered it (no transcoding), else its first; a caller that made no
 * offer chooses in its ACK.  Then both legs' sockets and the video.
 */
int leg_match(struct leg *a, struct leg *b)
{
	int err;

	if (!a->late_offer) {
		enum codec_id c = a->codec;

		if (c == CODEC_NONE && leg_offered(a, b->codec))
			c = b->codec;
		if (c == CODEC_NONE)
			c = sdpneg_answered_codec(a->sdp);
		leg_keep_codec(a, c);
	}

	err  = leg_media_alloc(a);
	err |= leg_media_alloc(b);
	if (err)
		return err;

	leg_video_bridge(a, b);

	return 0;
}
