/**
 * @file httpd.c  The HTTP server: listening, tokens, routing (httpd.h).
 */
#include <string.h>
#include <strings.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "http/httpd.h"

enum { MAX_BODY = 65536, JSON_DEPTH = 8, JSON_HASH = 16 };

struct httpd {
	struct pbx *pbx;
	struct http_sock *sock;
	struct wsclients *ws;
	struct sa addr;          /* what it listens on */
	char cert[256];
	uint64_t requests, auth_failures, commands;
};


static void destructor(void *arg)
{
	struct httpd *h = arg;

	h->ws = mem_deref(h->ws);   /* the clients first: they use h */
	h->sock = mem_deref(h->sock);
}


int httpd_reply(struct http_conn *conn, uint16_t scode, const char *ctype,
		const char *body, size_t len)
{
	const char *reason = scode == 200 ? "OK" : scode == 400 ?
		"Bad Request" : scode == 401 ? "Unauthorized" : scode == 404 ?
		"Not Found" : scode == 405 ? "Method Not Allowed" :
		scode == 413 ? "Payload Too Large" : scode == 409 ? "Conflict"
		: scode < 300 ? "OK" : scode < 500 ? "Client Error" :
		"Server Error";

	return http_reply(conn, scode, reason,
			  "Content-Type: %s\r\n"
			  "Content-Length: %zu\r\n"
			  "Cache-Control: no-store\r\n"
			  "\r\n%b", ctype, len, body, len);
}


int httpd_reply_json(struct http_conn *conn, uint16_t scode,
		     const struct odict *o)
{
	char *s = NULL;
	int err;

	err = re_sdprintf(&s, "%H\n", json_encode_odict, o);
	if (!err)
		err = httpd_reply(conn, scode, "application/json", s,
				  strlen(s));
	mem_deref(s);

	return err;
}


static int reply_error(struct http_conn *conn, uint16_t scode,
		       const char *why)
{
	struct odict *o;
	int err;

	err = odict_alloc(&o, 4);
	if (err)
		return err;
	err  = odict_entry_add(o, "ok", ODICT_BOOL, false);
	err |= odict_entry_add(o, "error", ODICT_STRING, why);
	if (!err)
		err = httpd_reply_json(conn, scode, o);
	mem_deref(o);

	return err;
}


/** The value of parameter @a name in the query ?a=b&name=X (as sent). */
bool httpd_query(const struct pl *prm, const char *name, struct pl *val)
{
	const char *p = prm->p, *end = prm->p + prm->l;
	size_t n = strlen(name);

	while (p && p < end) {
		const char *e;

		if (*p == '?' || *p == '&') {
			++p;
			continue;
		}
		e = memchr(p, '&', (size_t)(end - p));
		if (!e)
			e = end;
		if ((size_t)(e - p) > n && p[n] == '=' &&
		    0 == memcmp(p, name, n)) {
			val->p = p + n + 1;
			val->l = (size_t)(e - p) - n - 1;
			return true;
		}
		p = e;
	}

	return false;
}


/* Equal whatever they hold: no timing tells how much matched. */
static bool secret_eq(const struct pl *a, const char *b)
{
	size_t n = strlen(b);
	uint8_t d = a->l != n;

	for (size_t i = 0; i < n; i++)
		d |= (uint8_t)(b[i] ^ (i < a->l ? a->p[i] : 0));

	return d == 0;
}


/* Which token of the configuration the request shows, or NULL. */
static const char *authorize(const struct pbx *pbx, const struct http_msg *msg)
{
	const struct pbx_http *cf = &pbx->set.http;
	const struct http_hdr *hdr;
	struct pl tok = PL_INIT;

	hdr = http_msg_hdr(msg, HTTP_HDR_AUTHORIZATION);
	if (hdr && hdr->val.l > 7 &&
	    0 == strncasecmp(hdr->val.p, "bearer ", 7)) {
		tok.p = hdr->val.p + 7;
		tok.l = hdr->val.l - 7;
		while (tok.l && (*tok.p == ' ' || *tok.p == '\t'))
			pl_advance(&tok, 1);
	}
	if (!tok.l && !httpd_query(&msg->prm, "token", &tok))
		return NULL;

	for (size_t i = 0; i < PBX_HTTP_TOKENS && cf->tokens[i].secret[0];
	     i++) {
		if (secret_eq(&tok, cf->tokens[i].secret))
			return cf->tokens[i].name;
	}

	return NULL;
}


/** A JSON object (libre's decoder takes a bare word for an empty one). */
int httpd_json_object(struct odict **op, const char *s, size_t len)
{
	size_t i = 0;

	while (i < len && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
			   s[i] == '\n'))
		++i;
	if (i == len || s[i] != '{')
		return EBADMSG;

	return json_decode_odict(op, JSON_HASH, s, len, JSON_DEPTH);
}


/* POST /api/NAME (or /api with "action"): a JSON object in, one out. */
static void api_request(struct httpd *h, struct http_conn *conn,
			const struct http_msg *msg, const char *who)
{
	struct odict *cmd = NULL, *reply = NULL;
	struct pl action = PL_INIT;
	uint16_t scode;
	int err;

	if (pl_strcmp(&msg->met, "POST")) {
		(void)reply_error(conn, 405, "commands are POSTed (JSON)");
		return;
	}
	if (mbuf_get_left(msg->mb) > MAX_BODY) {
		(void)reply_error(conn, 413, "a command is 64 KB at most");
		return;
	}
	if (msg->path.l > 5)
		action.p = msg->path.p + 5, action.l = msg->path.l - 5;

	if (!mbuf_get_left(msg->mb))
		err = odict_alloc(&cmd, JSON_HASH);
	else
		err = httpd_json_object(&cmd, (const char *)mbuf_buf(msg->mb),
					mbuf_get_left(msg->mb));
	if (err) {
		(void)reply_error(conn, 400, "the body is not a JSON object");
		goto out;
	}
	if (action.l) {
		char *a = NULL;

		odict_entry_del(cmd, "action");
		err = pl_strdup(&a, &action);
		if (!err)
			err = odict_entry_add(cmd, "action", ODICT_STRING, a);
		mem_deref(a);
	}
	if (!err)
		err = odict_alloc(&reply, JSON_HASH);
	if (err) {
		(void)reply_error(conn, 500, "out of memory");
		goto out;
	}

	scode = api_command(h->pbx, who, cmd, reply);
	(void)httpd_reply_json(conn, scode, reply);

 out:
	mem_deref(cmd);
	mem_deref(reply);
}


static void req_handler(struct http_conn *conn, const struct http_msg *msg,
			void *arg)
{
	struct httpd *h = arg;
	const char *who;

	++h->requests;
	who = authorize(h->pbx, msg);
	if (!who) {
		++h->auth_failures;
		log_info("http: %J: %r %r refused: no valid token",
			 http_conn_peer(conn), &msg->met, &msg->path);
		(void)http_reply(conn, 401, "Unauthorized",
				 "WWW-Authenticate: Bearer realm=\"%s\"\r\n"
				 "Content-Type: text/plain\r\n"
				 "Content-Length: 16\r\n"
				 "\r\n"
				 "a token, please\n", h->pbx->set.realm);
		return;
	}

	if (0 == pl_strcmp(&msg->path, "/events")) {
		if (wsclient_accept(h->ws, conn, msg, who))
			(void)reply_error(conn, 400, "a WebSocket upgrade is"
					  " expected here");
		return;
	}
	if (0 == pl_strcmp(&msg->path, "/metrics")) {
		char *s = NULL;

		if (re_sdprintf(&s, "%H", metrics_print, h->pbx))
			(void)reply_error(conn, 500, "out of memory");
		else
			(void)httpd_reply(conn, 200, "text/plain;"
					  " version=0.0.4", s, strlen(s));
		mem_deref(s);
		return;
	}
	if (0 == pl_strcmp(&msg->path, "/api") ||
	    (msg->path.l > 5 && 0 == memcmp(msg->path.p, "/api/", 5))) {
		api_request(h, conn, msg, who);
		return;
	}

	if (!luaapp_route(h->pbx, conn, msg, who))
		(void)reply_error(conn, 404, "nothing here");
}


static int listen_on(struct httpd *h, const struct pbx_http *cf)
{
	int err;

	if (cf->cert[0])
		err = https_listen(&h->sock, &cf->addr, cf->cert,
				   req_handler, h);
	else
		err = http_listen(&h->sock, &cf->addr, req_handler, h);
	if (err)
		return err;

	h->addr = cf->addr;
	str_ncpy(h->cert, cf->cert, sizeof(h->cert));
	log_info("http: listening on %s://%J (events /events, commands"
		 " /api, metrics /metrics)", cf->cert[0] ? "https" : "http",
		 &cf->addr);

	return 0;
}


/* A command runs (it may be a reload): the server it runs in is not
 * re-made under it, but on the next loop turn. */
static struct {
	bool held, pending;
	struct tmr tmr;
} defer;


static void deferred_update(void *arg)
{
	httpd_update(arg);
}


void httpd_hold(struct pbx *pbx, bool hold)
{
	defer.held = hold;
	if (!hold && defer.pending) {
		defer.pending = false;
		tmr_start(&defer.tmr, 0, deferred_update, pbx);
	}
}


/**
 * Start, stop or move the server as the settings in force say (at start
 * and after each reload).  The tokens are read at each request: a reload
 * that changes them needs nothing more.
 */
void httpd_update(struct pbx *pbx)
{
	const struct pbx_http *cf = &pbx->set.http;
	struct httpd *h = pbx->http;
	int err;

	if (defer.held) {
		defer.pending = true;
		return;
	}

	if (h && sa_cmp(&h->addr, &cf->addr, SA_ALL) &&
	    !strcmp(h->cert, cf->cert))
		return;

	if (h) {
		log_info("http: %J closed", &h->addr);
		pbx->http = mem_deref(h);
	}
	if (!sa_isset(&cf->addr, SA_ALL))
		return;

	h = mem_zalloc(sizeof(*h), destructor);
	if (!h)
		return;
	h->pbx = pbx;
	err = wsclients_alloc(&h->ws, pbx);
	if (!err)
		err = listen_on(h, cf);
	if (err) {
		log_error("http: cannot listen on %J%s%s: %m", &cf->addr,
			  cf->cert[0] ? " with " : "", cf->cert, err);
		mem_deref(h);
		return;
	}

	pbx->http = h;
}


void httpd_close(struct pbx *pbx)
{
	tmr_cancel(&defer.tmr);
	defer.held = defer.pending = false;
	pbx->http = mem_deref(pbx->http);
}


void httpd_count_command(struct pbx *pbx)
{
	if (pbx->http)
		++pbx->http->commands;
}


void httpd_counters(const struct pbx *pbx, struct httpd_counters *c)
{
	const struct httpd *h = pbx->http;

	memset(c, 0, sizeof(*c));
	if (!h)
		return;

	c->requests = h->requests;
	c->auth_failures = h->auth_failures;
	c->commands = h->commands;
	c->clients = wsclients_count(h->ws);
	c->clients_dropped = wsclients_dropped(h->ws);
	c->events_sent = wsclients_sent(h->ws);
}
