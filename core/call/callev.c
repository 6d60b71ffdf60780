/**
 * @file callev.c  Calls, legs and bridges as events (see callev.h).
 *
 *   newcall      a call's script starts (call, leg, exten, context, caller)
 *   ringing      a leg rings: the PBX's 180 to a caller (direction "in"),
 *                a callee's 180 (direction "out"); progress: a 183
 *   answered     a leg is answered (by the PBX, or a callee's 200)
 *   bridged      a leg joins a bridge that has others (bridge, legs)
 *   transferred  a leg moves to a call of its own (redirect, blind
 *                transfer) or takes another's place (attended, Replaces)
 *   dtmf         a digit from a leg
 *   hangup       a leg's dialog is over (code: the SIP code, cause)
 *   callend      a call's script ended (duration, s)
 */
#include <string.h>
#include <re.h>
#include "event/event.h"
#include "media/codec.h"
#include "media/rtpstat.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/call.h"
#include "call/bridge.h"
#include "call/callev.h"
#include "call/legstats.h"
#include "sip/endpoint.h"


enum { CPS_WINDOW = 10 };

const double callev_jitter_bounds[CALLEV_JITTER_BUCKETS] = {
	0.001, 0.005, 0.01, 0.02, 0.05, 0.1
};
const char *const callev_causes[5] = {
	"normal", "busy", "cancelled", "noanswer", "failed"
};

static struct callev_counters cnt;
static struct {
	uint64_t sec[CPS_WINDOW];
	uint32_t n[CPS_WINDOW];
} cps;


static int cause_of(uint16_t code)
{
	switch (code) {

	case 0:
	case 200: return 0;
	case 486:
	case 600: return 1;
	case 487: return 2;
	case 408:
	case 480: return 3;
	default:  return 4;
	}
}


/* A call more in the second it is. */
static void cps_count(void)
{
	uint64_t s = tmr_jiffies() / 1000;
	size_t i = s % CPS_WINDOW;

	if (cps.sec[i] != s) {
		cps.sec[i] = s;
		cps.n[i] = 0;
	}
	++cps.n[i];
}


/* A leg ended: its audio's packets, losses and jitter. */
static void count_end(const struct leg *leg)
{
	struct leg_stats ls;
	double j;

	++cnt.legs_ended;
	++cnt.ended_by[cause_of(leg_code(leg))];
	if (leg_stats(leg, &ls) || !ls.audio.present ||
	    !ls.audio.st.rx_packets)
		return;

	cnt.rtp_rx += ls.audio.st.rx_packets;
	cnt.rtp_lost += ls.audio.st.lost;
	j = ls.audio.st.jitter_us / 1e6;
	++cnt.jitter_legs;
	cnt.jitter_sum += j;
	for (size_t i = 0; i < CALLEV_JITTER_BUCKETS; i++) {
		if (j <= callev_jitter_bounds[i])
			++cnt.jitter_le[i];
	}
}


void callev_counters(struct callev_counters *c)
{
	uint64_t now = tmr_jiffies() / 1000;
	uint32_t n = 0;

	for (size_t i = 0; i < CPS_WINDOW; i++) {
		if (cps.sec[i] + CPS_WINDOW > now && cps.sec[i] <= now)
			n += cps.n[i];
	}
	*c = cnt;
	c->cps = (double)n / CPS_WINDOW;
}


static void leg_fields(struct event *ev, const struct leg *leg)
{
	const struct call *call = leg_holder(leg);
	const struct endpoint *ep = leg_endpoint(leg);

	(void)event_int(ev, "leg", (int64_t)leg_id(leg));
	if (call)
		(void)event_int(ev, "call", (int64_t)call_id(call));
	(void)event_str(ev, "direction", leg_inbound(leg) ? "in" : "out");
	(void)event_str(ev, "state", leg_state_name(leg_state(leg)));
	if (ep)
		(void)event_str(ev, "endpoint", ep->name);
	(void)event_str(ev, "uri", leg_uri(leg));
	(void)event_str(ev, "caller", leg_cid_num(leg));
	(void)event_str(ev, "caller_name", leg_cid_name(leg));
	if (leg_bridge(leg))
		(void)event_int(ev, "bridge",
				(int64_t)bridge_id(leg_bridge(leg)));
}


/** A named event about one leg (its facts as fields). */
void callev_leg_state(const struct leg *leg, const char *name)
{
	struct event *ev;

	if (leg && !strcmp(name, "answered"))
		++cnt.answered;
	if (!event_wanted() || !leg || event_alloc(&ev, name))
		return;

	leg_fields(ev, leg);
	if (leg_closed(leg)) {
		(void)event_int(ev, "code", leg_code(leg));
		(void)event_str(ev, "cause",
				callev_causes[cause_of(leg_code(leg))]);
	}
	event_publish(ev);
}


/** What leg_emit() tells every leg's watchers, as events. */
void callev_leg(const struct leg *leg, enum leg_event ev)
{
	if (ev == LEG_EV_CLOSED)
		count_end(leg);

	switch (ev) {

	case LEG_EV_PROGRESS:
		callev_leg_state(leg, leg_progress_code(leg) == 183 ?
				 "progress" : "ringing");
		break;

	case LEG_EV_ANSWER:
		callev_leg_state(leg, "answered");
		break;

	case LEG_EV_CLOSED:
		callev_leg_state(leg, "hangup");
		break;

	default:
		break;
	}
}


void callev_call(const struct call *call, const char *name)
{
	const struct leg *leg = call_leg(call);
	struct event *ev;

	if (!strcmp(name, "newcall")) {
		++cnt.calls;
		cps_count();
	}
	if (!event_wanted() || event_alloc(&ev, name))
		return;

	(void)event_int(ev, "call", (int64_t)call_id(call));
	(void)event_str(ev, "exten", call_exten(call));
	(void)event_str(ev, "context", call_context(call));
	(void)event_bool(ev, "originated", call_originated(call));
	if (leg) {
		const struct endpoint *ep = leg_endpoint(leg);

		(void)event_int(ev, "leg", (int64_t)leg_id(leg));
		(void)event_str(ev, "caller", leg_cid_num(leg));
		(void)event_str(ev, "caller_name", leg_cid_name(leg));
		if (ep)
			(void)event_str(ev, "endpoint", ep->name);
	}
	if (!strcmp(name, "callend"))   /* how long it ran */
		(void)event_double(ev, "duration", (double)(tmr_jiffies() -
						  call_started(call)) / 1000.0);
	event_publish(ev);
}


void callev_bridged(const struct bridge *br, const struct leg *leg)
{
	struct odict *legs = NULL;
	struct event *ev;
	uint32_t n = bridge_count(br);

	if (n >= 2)
		cnt.bridged += n == 2 ? 2 : 1;   /* the first pair: both */
	if (!event_wanted() || n < 2 || event_alloc(&ev, "bridged"))
		return;

	leg_fields(ev, leg);
	(void)event_int(ev, "count", n);
	if (bridge_room_name(br))
		(void)event_str(ev, "room", bridge_room_name(br));
	if (!odict_alloc(&legs, 8)) {
		for (uint32_t i = 0; i < n; i++) {
			char k[16];

			re_snprintf(k, sizeof(k), "%u", i);
			(void)odict_entry_add(legs, k, ODICT_INT, (int64_t)
					      leg_id(bridge_leg(br, i)));
		}
		(void)odict_entry_add(event_fields(ev), "legs", ODICT_ARRAY,
				      legs);
		mem_deref(legs);
	}
	event_publish(ev);
}


void callev_transferred(const struct leg *leg, const struct call *from,
			const struct call *to, const char *how)
{
	struct event *ev;

	++cnt.transfers;
	if (!event_wanted() || event_alloc(&ev, "transferred"))
		return;

	leg_fields(ev, leg);
	(void)event_str(ev, "how", how);
	if (from)
		(void)event_int(ev, "from_call", (int64_t)call_id(from));
	if (to) {
		(void)event_int(ev, "to_call", (int64_t)call_id(to));
		(void)event_str(ev, "exten", call_exten(to));
		(void)event_str(ev, "context", call_context(to));
	}
	event_publish(ev);
}


void callev_dtmf(const struct leg *leg, char digit, const char *src)
{
	struct event *ev;
	char d[2] = { digit, 0 };

	++cnt.dtmf;
	if (!event_wanted() || event_alloc(&ev, "dtmf"))
		return;

	leg_fields(ev, leg);
	(void)event_str(ev, "digit", d);
	(void)event_str(ev, "source", src);
	event_publish(ev);
}
