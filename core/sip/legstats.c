/**
 * @file legstats.c  Per-leg, per-media statistics of a call: read live from
 * the streams while the leg is there, kept when the callee's leg goes (the
 * dialplan reads them after call:dial() returns), and logged when each leg
 * ends, one line per media.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "media/codec.h"
#include "media/rtpstat.h"
#include "media/sdpneg.h"
#include "media/stream.h"
#include "sip/call.h"
#include "sip/call_priv.h"
#include "sip/legstats.h"


static void media_fill(struct media_stats *ms, const struct stream *s)
{
	ms->present = s != NULL;
	if (!s)
		return;

	ms->muxed = stream_muxed(s);
	ms->st = *stream_stats(s);
}


static void leg_fill(const struct leg *leg, struct leg_stats *ls)
{
	const struct codec *c = codec_get(leg->codec);

	memset(ls, 0, sizeof(*ls));
	media_fill(&ls->audio, leg->stream);
	media_fill(&ls->video, leg->vstream);
	if (c)
		str_ncpy(ls->audio.codec, c->name, sizeof(ls->audio.codec));
	re_snprintf(ls->video.codec, sizeof(ls->video.codec), "%H",
		    sdpneg_video_print, leg->sdp);
}


/** The caller's leg, or the callee's (the answered one, or the last one
 *  that was).  ENOENT when there is no such leg, or it had no media. */
int call_leg_stats(const struct call *call, bool callee,
		   struct leg_stats *ls)
{
	if (!call || !ls)
		return EINVAL;

	if (!callee)
		leg_fill(&call->a, ls);
	else if (call->peer)
		leg_fill(call->peer, ls);
	else if (call->callee_stats)
		*ls = *call->callee_stats;
	else
		return ENOENT;

	return ls->audio.present || ls->video.present ? 0 : ENOENT;
}


static void media_log(const struct call *call, const char *role,
		      const char *kind, const struct media_stats *ms)
{
	if (!ms->present)
		return;

	log_info("call %llu: %s %s %s%s: %H", call->id, role, kind,
		 ms->codec[0] ? ms->codec : "-", ms->muxed ? " (rtcp-mux)" : "",
		 rtpstat_print, &ms->st);
}


/** A leg ends: its statistics go to the log; the callee's are kept. */
void legstats_leg_end(struct call *call, const struct leg *leg)
{
	bool callee = leg != &call->a;
	struct leg_stats ls;

	leg_fill(leg, &ls);
	media_log(call, callee ? "callee" : "caller", "audio", &ls.audio);
	media_log(call, callee ? "callee" : "caller", "video", &ls.video);

	if (!callee || !(ls.audio.present || ls.video.present))
		return;

	if (!call->callee_stats)
		call->callee_stats = mem_zalloc(sizeof(*call->callee_stats),
						NULL);
	if (call->callee_stats)
		*call->callee_stats = ls;
}
