/**
 * @file rtpwatch.c  Legs whose RTP stopped (Asterisk's rtptimeout and
 * rtpholdtimeout): an answered leg with media that got no RTP for
 * pbx.settings' rtp_timeout seconds (rtp_hold_timeout while its phone holds
 * the PBX) is hung up, with a log line.  A call whose BYE was lost does not
 * stay for ever.
 *
 * One sweep over every leg every few seconds; per leg, the count of RTP
 * packets it had at the last change, and when.
 */
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "media/codec.h"
#include "media/rtpstat.h"
#include "media/stream.h"
#include "call/leg.h"
#include "call/rtpwatch.h"

enum { SWEEP_MS = 2000 };

static struct {
	struct tmr tmr;
	struct pbx *pbx;
} W;


static bool check(struct leg *leg, void *arg)
{
	const struct pbx_settings *set = &W.pbx->set;
	const struct stream *s = leg_stream(leg);
	uint64_t now = *(uint64_t *)arg, rx;
	uint32_t limit;
	(void)arg;

	if (!s || leg_state(leg) != LEG_ANSWERED)
		return false;

	rx = stream_stats(s)->rx_packets;
	if (leg_rx_seen(leg, rx, now))
		return false;

	limit = leg_remote_holds(leg) ? set->rtp_hold_timeout : set->rtp_timeout;
	if (!limit || now - leg_rx_since(leg) < 1000ULL * limit)
		return false;

	log_warn("leg %llu: no RTP for %u s%s: hung up", leg_id(leg), limit,
		 leg_remote_holds(leg) ? " (on hold)" : "");
	leg_hangup(leg, 0);

	return false;
}


static void sweep(void *arg)
{
	uint64_t now = tmr_jiffies();
	(void)arg;

	(void)leg_apply(check, &now);
	tmr_start(&W.tmr, SWEEP_MS, sweep, NULL);
}


/** Start watching (main.c; the settings are read at each sweep). */
void rtpwatch_start(struct pbx *pbx)
{
	W.pbx = pbx;
	tmr_init(&W.tmr);
	tmr_start(&W.tmr, SWEEP_MS, sweep, NULL);
}


void rtpwatch_stop(void)
{
	tmr_cancel(&W.tmr);
}
