/**
 * @file httpd.h  The PBX's HTTP server (libre's http_listen, or
 * https_listen with a certificate): a WebSocket of JSON events and
 * commands (/events), commands by POST (/api/NAME), Prometheus metrics
 * (/metrics), and the pages and JSON of pbx.http.route.  Every request
 * shows a token of the configuration (Authorization: Bearer, or
 * ?token= for a browser's WebSocket).
 *
 * A WebSocket client's sends go through a bounded queue: a client that
 * does not read fast enough is dropped with one log line, never waited
 * for.  Off unless pbx.settings{ http = ... } says so.
 */

struct httpd;
struct http_conn;
struct http_msg;
struct mbuf;
struct odict;
struct pbx;

void httpd_update(struct pbx *pbx);
void httpd_close(struct pbx *pbx);
void httpd_hold(struct pbx *pbx, bool hold);

/* what the server counts (metrics) */
struct httpd_counters {
	uint64_t requests;
	uint64_t auth_failures;
	uint64_t clients_dropped;
	uint64_t events_sent;
	uint64_t commands;
	uint32_t clients;
};
void httpd_counters(const struct pbx *pbx, struct httpd_counters *c);

/* replies (httpd.c) */
int  httpd_reply(struct http_conn *conn, uint16_t scode, const char *ctype,
		 const char *body, size_t len);
int  httpd_reply_json(struct http_conn *conn, uint16_t scode,
		      const struct odict *o);

int  httpd_json_object(struct odict **op, const char *s, size_t len);
bool httpd_query(const struct pl *prm, const char *name, struct pl *val);

/* WebSocket clients (wsclient.c) */
struct wsclients;
int  wsclients_alloc(struct wsclients **wsp, struct pbx *pbx);
int  wsclient_accept(struct wsclients *ws, struct http_conn *conn,
		     const struct http_msg *msg, const char *who);
uint32_t wsclients_count(const struct wsclients *ws);
uint64_t wsclients_dropped(const struct wsclients *ws);
uint64_t wsclients_sent(const struct wsclients *ws);

/* commands (api.c): the reply is a JSON object, its HTTP status */
uint16_t api_command(struct pbx *pbx, const char *who, struct odict *cmd,
		     struct odict *reply);
void httpd_count_command(struct pbx *pbx);

/* what Lua serves and answers (luaapp.c) */
bool luaapp_route(struct pbx *pbx, struct http_conn *conn,
		  const struct http_msg *msg, const char *who);
uint16_t luaapp_command(struct pbx *pbx, const char *action,
			const struct odict *cmd, struct odict *reply);

/* metrics (metrics.c) */
int  metrics_print(struct re_printf *pf, struct pbx *pbx);
