/**
 * @file leg_stats.c  Per-media statistics of a leg: read live from its
 * streams while it has them, kept when it ends (its sockets go at once;
 * the dialplan may still read them), and logged then, one line per media.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "media/codec.h"
#include "media/rtpstat.h"
#include "media/sdpneg.h"
#include "media/stream.h"
#include "call/leg.h"
#include "call/leg_priv.h"
#include "call/legstats.h"


static void media_fill(struct media_stats *ms, const struct stream *s)
{
	ms->present = s != NULL;
	if (!s)
		return;

	ms->muxed = stream_muxed(s);
	ms->st = *stream_stats(s);
}


static void fill(const struct leg *leg, struct leg_stats *ls)
{
	const struct codec *c = codec_get(leg->codec);

	memset(ls, 0, sizeof(*ls));
	media_fill(&ls->audio, leg->stream);
	media_fill(&ls->video, leg->vstream);
	if (c)
		str_ncpy(ls->audio.codec, c->name, sizeof(ls->audio.codec));
	if (leg->sdp)
		re_snprintf(ls->video.codec, sizeof(ls->video.codec), "%H",
			    sdpneg_video_print, leg->sdp);
}


/** The leg's statistics, live or as they were when it ended.  ENOENT
 *  when it never had media. */
int leg_stats(const struct leg *leg, struct leg_stats *ls)
{
	if (!leg || !ls)
		return EINVAL;

	if (leg->final_stats)
		*ls = *leg->final_stats;
	else
		fill(leg, ls);

	return ls->audio.present || ls->video.present ? 0 : ENOENT;
}


static void media_log(const struct leg *leg, const char *kind,
		      const struct media_stats *ms)
{
	if (!ms->present)
		return;

	log_info("leg %llu: %s %s%s: %H", leg->id, kind,
		 ms->codec[0] ? ms->codec : "-", ms->muxed ? " (rtcp-mux)" : "",
		 rtpstat_print, &ms->st);
}


/** The leg ends: its figures go to the log and are kept. */
void legstats_close(struct leg *leg)
{
	struct leg_stats ls;

	if (leg->final_stats)
		return;

	fill(leg, &ls);
	if (!ls.audio.present && !ls.video.present)
		return;

	media_log(leg, "audio", &ls.audio);
	media_log(leg, "video", &ls.video);

	leg->final_stats = mem_zalloc(sizeof(*leg->final_stats), NULL);
	if (leg->final_stats)
		*leg->final_stats = ls;
}
