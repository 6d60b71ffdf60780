/**
 * @file metrics.c  GET /metrics: the PBX in Prometheus's text format
 * (version 0.0.4).  Placeholder until the full set lands.
 */
#include <re.h>
#include "pbx.h"
#include "http/httpd.h"
#include "media/codec.h"
#include "call/bridge.h"
#include "call/dial.h"
#include "call/leg.h"
#include "call/call.h"
#include "lua/runtime.h"


int metrics_print(struct re_printf *pf, struct pbx *pbx)
{
	struct httpd_counters hc;
	int err;

	httpd_counters(pbx, &hc);
	err  = re_hprintf(pf, "# TYPE lunapbx_calls gauge\n"
			  "lunapbx_calls %u\n", call_count());
	err |= re_hprintf(pf, "# TYPE lunapbx_legs gauge\n"
			  "lunapbx_legs %u\n", leg_count());
	err |= re_hprintf(pf, "# TYPE lunapbx_bridges gauge\n"
			  "lunapbx_bridges %u\n", bridge_total());
	err |= re_hprintf(pf, "# TYPE lunapbx_lua_bytes gauge\n"
			  "lunapbx_lua_bytes %zu\n", luart_memory(pbx->lua));
	err |= re_hprintf(pf, "# TYPE lunapbx_http_auth_failures_total"
			  " counter\nlunapbx_http_auth_failures_total %llu\n",
			  (unsigned long long)hc.auth_failures);

	return err;
}
