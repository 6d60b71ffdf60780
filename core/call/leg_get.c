/**
 * @file leg_get.c  What a leg says of itself: the accessors the other
 * modules read it by (no module reads struct leg's fields but the leg's
 * own files), and the RTP watch's counters.
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

static const char *state_names[] = {"new", "early", "answered", "ended"};


uint64_t leg_id(const struct leg *leg) { return leg ? leg->id : 0; }
enum leg_state leg_state(const struct leg *leg)
{
	return leg ? leg->state : LEG_ENDED;
}
bool leg_closed(const struct leg *leg) { return !leg || leg->closed; }
bool leg_inbound(const struct leg *leg) { return leg && leg->inbound; }
bool leg_late_offer(const struct leg *leg)
{
	return leg && leg->late_offer;
}
uint16_t leg_code(const struct leg *leg) { return leg ? leg->code : 0; }
uint16_t leg_progress_code(const struct leg *leg)
{
	return leg ? leg->progress_code : 0;
}
bool leg_progress_sdp(const struct leg *leg)
{
	return leg && leg->progress_sdp;
}
enum codec_id leg_codec(const struct leg *leg)
{
	return leg ? leg->codec : CODEC_NONE;
}
struct sdpneg *leg_sdp(const struct leg *leg)
{
	return leg ? leg->sdp : NULL;
}
struct stream *leg_stream(const struct leg *leg)
{
	return leg ? leg->stream : NULL;
}
struct stream *leg_vstream(const struct leg *leg)
{
	return leg ? leg->vstream : NULL;
}
struct sipsess *leg_sess(const struct leg *leg)
{
	return leg ? leg->sess : NULL;
}
struct endpoint *leg_endpoint(const struct leg *leg)
{
	return leg ? leg->ep : NULL;
}
struct pbx *leg_pbx(const struct leg *leg) { return leg ? leg->pbx : NULL; }
const char *leg_uri(const struct leg *leg) { return leg ? leg->uri : NULL; }
const char *leg_cid_num(const struct leg *leg)
{
	return leg ? leg->cid_num : NULL;
}
const char *leg_cid_name(const struct leg *leg)
{
	return leg ? leg->cid_name : NULL;
}
const struct sip_msg *leg_invite(const struct leg *leg)
{
	return leg ? leg->invite : NULL;
}
struct legmedia *leg_media(const struct leg *leg)
{
	return leg ? leg->media : NULL;
}
void leg_set_media(struct leg *leg, struct legmedia *lm)
{
	if (leg)
		leg->media = lm;
}
uint64_t leg_started(const struct leg *leg)
{
	return leg ? leg->started : 0;
}


/** tmr_jiffies() when it was answered (its 200 sent or received); 0: not. */
uint64_t leg_answered(const struct leg *leg)
{
	return leg ? leg->answered : 0;
}


/** For the RTP watch: @a rx packets so far at @a now; true when the count
 *  moved (or is the first seen). */
bool leg_rx_seen(struct leg *leg, uint64_t rx, uint64_t now)
{
	if (leg->rx_since && rx == leg->rx_count)
		return false;

	leg->rx_count = rx;
	leg->rx_since = now;

	return true;
}


uint64_t leg_rx_since(const struct leg *leg)
{
	return leg ? leg->rx_since : 0;
}


const char *leg_state_name(enum leg_state st)
{
	return st <= LEG_ENDED ? state_names[st] : "?";
}
