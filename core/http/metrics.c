/**
 * @file metrics.c  GET /metrics: the PBX in Prometheus's text format
 * (version 0.0.4): what is live now (gauges) and what happened since the
 * start (counters; Prometheus's rate() makes rates of them).  Read from
 * the modules' own counts, nothing kept here.
 */
#include <dirent.h>
#include <re.h>
#include "pbx.h"
#include "event/event.h"
#include "http/httpd.h"
#include "media/codec.h"
#include "media/rtpring.h"
#include "media/rtpsteer.h"
#include "call/bridge.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/call.h"
#include "call/callev.h"
#include "lua/runtime.h"
#include "sip/registrar.h"
#include "sip/sipstack.h"


static int open_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);

	return n - 1;   /* the one opendir() holds */
}


static int metric(struct re_printf *pf, const char *name, const char *type,
		  const char *help)
{
	return re_hprintf(pf, "# HELP lunapbx_%s %s\n# TYPE lunapbx_%s %s\n",
			  name, help, name, type);
}


static int gauges(struct re_printf *pf, struct pbx *pbx)
{
	int err = 0;

	err |= metric(pf, "calls", "gauge", "Calls whose script runs now.");
	err |= re_hprintf(pf, "lunapbx_calls %u\n", call_count());
	err |= metric(pf, "legs", "gauge", "SIP dialogs with their media now.");
	err |= re_hprintf(pf, "lunapbx_legs %u\n", leg_count());
	err |= metric(pf, "bridges", "gauge", "Bridges now.");
	err |= re_hprintf(pf, "lunapbx_bridges %u\n", bridge_total());
	err |= metric(pf, "steered_legs", "gauge", "Legs on the steered RTP"
		      " path.");
	err |= re_hprintf(pf, "lunapbx_steered_legs %u\n", rtpsteer_count());
	err |= metric(pf, "registrations", "gauge", "Registered contacts.");
	err |= re_hprintf(pf, "lunapbx_registrations %u\n",
			  registrar_count(pbx->registrar));
	err |= metric(pf, "lua_bytes", "gauge", "Memory of the Lua state.");
	err |= re_hprintf(pf, "lunapbx_lua_bytes %zu\n",
			  luart_memory(pbx->lua));
	err |= metric(pf, "lua_limit_bytes", "gauge", "Its cap"
		      " (lua_memory_mb).");
	err |= re_hprintf(pf, "lunapbx_lua_limit_bytes %zu\n",
			  luart_memory_limit(pbx->lua));
	err |= metric(pf, "generation", "gauge", "The configuration"
		      " generation in force (each reload adds one).");
	err |= re_hprintf(pf, "lunapbx_generation %u\n",
			  luart_generation(pbx->lua));
	err |= metric(pf, "open_fds", "gauge", "File descriptors open.");
	err |= re_hprintf(pf, "lunapbx_open_fds %d\n", open_fds());

	return err;
}


static int calls(struct re_printf *pf, const struct callev_counters *c)
{
	int err = 0;

	err |= metric(pf, "calls_total", "counter", "Calls started (scripts"
		      " run, originated ones too).");
	err |= re_hprintf(pf, "lunapbx_calls_total %llu\n", c->calls);
	err |= metric(pf, "calls_per_second", "gauge", "Calls started a"
		      " second, over the last 10 s.");
	err |= re_hprintf(pf, "lunapbx_calls_per_second %.1f\n", c->cps);
	err |= metric(pf, "legs_answered_total", "counter", "Legs answered"
		      " (by the PBX or the far end).");
	err |= re_hprintf(pf, "lunapbx_legs_answered_total %llu\n",
			  c->answered);
	err |= metric(pf, "legs_ended_total", "counter", "Legs over, by"
		      " cause (normal: 200 or BYE).");
	for (size_t i = 0; i < ARRAY_SIZE(c->ended_by); i++)
		err |= re_hprintf(pf, "lunapbx_legs_ended_total{cause=\"%s\"}"
				  " %llu\n", callev_causes[i], c->ended_by[i]);
	err |= metric(pf, "legs_bridged_total", "counter", "Legs joined to a"
		      " bridge of two or more.");
	err |= re_hprintf(pf, "lunapbx_legs_bridged_total %llu\n", c->bridged);
	err |= metric(pf, "transfers_total", "counter", "Legs redirected or"
		      " replaced.");
	err |= re_hprintf(pf, "lunapbx_transfers_total %llu\n", c->transfers);
	err |= metric(pf, "dtmf_total", "counter", "Digits received.");
	err |= re_hprintf(pf, "lunapbx_dtmf_total %llu\n", c->dtmf);

	return err;
}


static int rtp(struct re_printf *pf, const struct callev_counters *c)
{
	int err = 0;

	err |= metric(pf, "rtp_received_packets_total", "counter", "Audio RTP"
		      " packets from the phones, legs that ended.");
	err |= re_hprintf(pf, "lunapbx_rtp_received_packets_total %llu\n",
			  c->rtp_rx);
	err |= metric(pf, "rtp_lost_packets_total", "counter", "Of those, lost"
		      " on the way (sequence numbers).");
	err |= re_hprintf(pf, "lunapbx_rtp_lost_packets_total %llu\n",
			  c->rtp_lost);
	err |= metric(pf, "rtp_jitter_seconds", "histogram", "Interarrival"
		      " jitter of each ended leg's audio, at its end.");
	for (size_t i = 0; i < CALLEV_JITTER_BUCKETS; i++)
		err |= re_hprintf(pf, "lunapbx_rtp_jitter_seconds_bucket"
				  "{le=\"%g\"} %llu\n", callev_jitter_bounds[i],
				  c->jitter_le[i]);
	err |= re_hprintf(pf, "lunapbx_rtp_jitter_seconds_bucket{le=\"+Inf\"}"
			  " %llu\n", c->jitter_legs);
	err |= re_hprintf(pf, "lunapbx_rtp_jitter_seconds_sum %.6f\n",
			  c->jitter_sum);
	err |= re_hprintf(pf, "lunapbx_rtp_jitter_seconds_count %llu\n",
			  c->jitter_legs);

	return err;
}


static int api(struct re_printf *pf, struct pbx *pbx)
{
	struct httpd_counters hc;
	int err = 0;

	httpd_counters(pbx, &hc);
	err |= metric(pf, "auth_failures_total", "counter", "Refused"
		      " credentials, by protocol.");
	err |= re_hprintf(pf, "lunapbx_auth_failures_total{proto=\"sip\"}"
			  " %llu\n", sipstack_auth_failures());
	err |= re_hprintf(pf, "lunapbx_auth_failures_total{proto=\"http\"}"
			  " %llu\n", hc.auth_failures);
	err |= metric(pf, "http_requests_total", "counter", "HTTP requests.");
	err |= re_hprintf(pf, "lunapbx_http_requests_total %llu\n",
			  hc.requests);
	err |= metric(pf, "http_commands_total", "counter", "API commands.");
	err |= re_hprintf(pf, "lunapbx_http_commands_total %llu\n",
			  hc.commands);
	err |= metric(pf, "event_clients", "gauge", "WebSocket clients of"
		      " /events.");
	err |= re_hprintf(pf, "lunapbx_event_clients %u\n", hc.clients);
	err |= metric(pf, "event_clients_dropped_total", "counter", "Clients"
		      " dropped for reading too slowly.");
	err |= re_hprintf(pf, "lunapbx_event_clients_dropped_total %llu\n",
			  hc.clients_dropped);
	err |= metric(pf, "events_total", "counter", "Events published.");
	err |= re_hprintf(pf, "lunapbx_events_total %llu\n",
			  (unsigned long long)event_published());
	err |= metric(pf, "events_sent_total", "counter", "Event messages"
		      " sent to WebSocket clients.");
	err |= re_hprintf(pf, "lunapbx_events_sent_total %llu\n",
			  hc.events_sent);

	return err;
}


int metrics_print(struct re_printf *pf, struct pbx *pbx)
{
	struct callev_counters c;

	callev_counters(&c);

	return gauges(pf, pbx) | calls(pf, &c) | rtp(pf, &c) | api(pf, pbx);
}
