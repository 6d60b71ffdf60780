/**
 * @file wsclient.c  The WebSocket clients of /events: every event of the
 * bus as one JSON text message (or those named in ?events=a,b), and
 * commands in, one JSON object a message, each answered by one.
 *
 * A client's messages are framed into its buffer and written FLUSH_MS
 * after the first of them: one system call for all that came meanwhile,
 * not one each (at 1000 calls/s, ten events a call, ten clients: 100 000
 * writes a second otherwise).  They go to its socket (a fixed kernel
 * buffer of SNDBUF), then to libre's queue, bounded by queue_kb (a burst
 * larger than that is written at once): a client that lets both fill up
 * is dropped, with one log line, and the event goes on to the others.
 * Nothing ever waits for a client.
 */
#include <string.h>
#include <sys/socket.h>
#include <re.h>
#include "log.h"
#include "pbx.h"
#include "event/event.h"
#include "http/httpd.h"

enum { KEEPALIVE_MS = 30000, SNDBUF = 65536, JSON_HASH = 16,
       FLUSH_MS = 20 };

struct wsclients {
	struct pbx *pbx;
	struct websock *sock;
	struct list clients;
	struct event_sub *sub;     /* while there are clients */
	uint32_t queue_kb;
	uint64_t dropped, sent;
};

struct wsclient {
	struct le le;
	struct wsclients *ws;
	struct websock_conn *wc;
	struct tmr tmr;            /* its end, outside the loops over it */
	struct tmr ftmr;           /* the buffer's write, FLUSH_MS later */
	struct mbuf *out;          /* frames not written yet           */
	struct sa peer;
	char who[32];
	char *filter;              /* ",a,b," or NULL: every event */
	bool dead;
};


static void client_destructor(void *arg)
{
	struct wsclient *c = arg;
	struct wsclients *ws = c->ws;

	tmr_cancel(&c->tmr);
	tmr_cancel(&c->ftmr);
	list_unlink(&c->le);
	mem_deref(c->out);
	mem_deref(c->wc);
	mem_deref(c->filter);
	if (ws && list_isempty(&ws->clients))
		ws->sub = mem_deref(ws->sub);
}


static void client_free(void *arg)
{
	mem_deref(arg);
}


/* Gone or too slow: it ends on the next loop turn. */
static void client_end(struct wsclient *c)
{
	if (c->dead)
		return;

	c->dead = true;
	tmr_start(&c->tmr, 0, client_free, c);
}


static bool wants(const struct wsclient *c, const char *name)
{
	char key[72];

	if (!c->filter)
		return true;
	re_snprintf(key, sizeof(key), ",%s,", name);

	return strstr(c->filter, key) != NULL;
}


static void too_slow(struct wsclient *c)
{
	++c->ws->dropped;
	log_warn("http: WebSocket client %s (%J) reads too slowly: %u KB wait"
		 " for it, dropped", c->who, &c->peer, c->ws->queue_kb);
	client_end(c);
}


/* The frames of the last FLUSH_MS, in one write. */
static void flush(void *arg)
{
	struct wsclient *c = arg;
	int err;

	if (c->dead || !c->out || !c->out->end)
		return;

	c->out->pos = 0;
	err = tcp_send(websock_tcp(c->wc), c->out);
	mbuf_reset(c->out);
	if (err == ENOSPC)
		too_slow(c);
	else if (err)
		client_end(c);
}


/* A text frame of the server (RFC 6455 5.2: FIN, opcode 1, no mask). */
static int frame(struct mbuf *mb, const char *s, size_t len)
{
	int err = mbuf_write_u8(mb, 0x81);

	if (len < 126) {
		err |= mbuf_write_u8(mb, (uint8_t)len);
	}
	else if (len <= 0xffff) {
		err |= mbuf_write_u8(mb, 126);
		err |= mbuf_write_u16(mb, htons((uint16_t)len));
	}
	else {
		err |= mbuf_write_u8(mb, 127);
		err |= mbuf_write_u64(mb, sys_htonll((uint64_t)len));
	}

	return err | mbuf_write_mem(mb, (const uint8_t *)s, len);
}


static int client_send(struct wsclient *c, const char *s, size_t len)
{
	size_t limit = (size_t)c->ws->queue_kb * 1024;
	int err;

	if (c->dead)
		return ENOTCONN;

	/* a burst larger than the queue goes out at once */
	if (c->out->end + len + 10 > limit) {
		tmr_cancel(&c->ftmr);
		flush(c);
		if (c->dead)
			return ENOSPC;
	}

	err = frame(c->out, s, len);
	if (err) {
		client_end(c);
		return err;
	}
	if (!tmr_isrunning(&c->ftmr))
		tmr_start(&c->ftmr, FLUSH_MS, flush, c);

	return 0;
}


static void event_handler(struct event *ev, void *arg)
{
	struct wsclients *ws = arg;
	const char *json = NULL;
	size_t len = 0;

	for (struct le *le = ws->clients.head; le; le = le->next) {
		struct wsclient *c = le->data;

		if (c->dead || !wants(c, event_name(ev)))
			continue;
		if (!json)
			json = event_json(ev, &len);
		if (!json)
			return;
		if (!client_send(c, json, len))
			++ws->sent;
	}
}


/* One command: a JSON object with "action" (and "id", echoed). */
static void command(struct wsclient *c, const char *s, size_t len)
{
	struct odict *cmd = NULL, *reply = NULL;
	char *out = NULL;
	int err;

	err = odict_alloc(&reply, JSON_HASH);
	if (err)
		return;
	if (httpd_json_object(&cmd, s, len)) {
		(void)odict_entry_add(reply, "ok", ODICT_BOOL, false);
		(void)odict_entry_add(reply, "error", ODICT_STRING,
				      "a JSON object with \"action\" is"
				      " expected");
	}
	else {
		(void)api_command(c->ws->pbx, c->who, cmd, reply);
	}

	if (!re_sdprintf(&out, "%H", json_encode_odict, reply))
		(void)client_send(c, out, strlen(out));
	mem_deref(out);
	mem_deref(cmd);
	mem_deref(reply);
}


static void recv_handler(const struct websock_hdr *hdr, struct mbuf *mb,
			 void *arg)
{
	struct wsclient *c = arg;

	if (c->dead || hdr->opcode != WEBSOCK_TEXT)
		return;

	command(c, (const char *)mbuf_buf(mb), mbuf_get_left(mb));
}


static void close_handler(int err, void *arg)
{
	struct wsclient *c = arg;

	if (err)
		log_info("http: WebSocket client %s (%J) left: %m", c->who,
			 &c->peer, err);
	else
		log_info("http: WebSocket client %s (%J) left", c->who,
			 &c->peer);
	client_end(c);
}


/* ?events=a,b: ",a,b," */
static int parse_filter(const struct pl *prm, char **filterp)
{
	struct pl v;

	if (!httpd_query(prm, "events", &v) || !v.l)
		return 0;

	return re_sdprintf(filterp, ",%r,", &v);
}


static int hello(struct wsclient *c)
{
	char s[160];
	int n;

	n = re_snprintf(s, sizeof(s), "{\"event\":\"hello\",\"who\":\"%s\","
			"\"seq\":%llu}", c->who,
			(unsigned long long)event_published());

	return n > 0 ? client_send(c, s, (size_t)n) : EINVAL;
}


/** The request is a WebSocket upgrade: a client from now on. */
int wsclient_accept(struct wsclients *ws, struct http_conn *conn,
		    const struct http_msg *msg, const char *who)
{
	struct wsclient *c;
	struct tcp_conn *tc;
	int err, sz = SNDBUF;

	c = mem_zalloc(sizeof(*c), client_destructor);
	if (!c)
		return ENOMEM;

	c->peer = *http_conn_peer(conn);
	c->out = mbuf_alloc(4096);
	if (!c->out) {
		mem_deref(c);
		return ENOMEM;
	}
	str_ncpy(c->who, who, sizeof(c->who));
	err = parse_filter(&msg->prm, &c->filter);
	if (!err)
		err = websock_accept(&c->wc, ws->sock, conn, msg,
				     KEEPALIVE_MS, recv_handler,
				     close_handler, c);
	if (err) {
		mem_deref(c);
		return err;
	}

	/* the bound: a fixed kernel buffer, then libre's queue */
	tc = websock_tcp(c->wc);
	ws->queue_kb = ws->pbx->set.http.queue_kb;
	(void)setsockopt(tcp_conn_fd(tc), SOL_SOCKET, SO_SNDBUF, &sz,
			 sizeof(sz));
	tcp_conn_txqsz_set(tc, (size_t)ws->queue_kb * 1024);

	c->ws = ws;
	list_append(&ws->clients, &c->le, c);
	if (!ws->sub)
		(void)event_subscribe(&ws->sub, event_handler, ws);
	log_info("http: WebSocket client %s (%J) follows %s", c->who,
		 &c->peer, c->filter ? c->filter : "every event");

	(void)hello(c);   /* a client gone at once ends on its own */

	return 0;
}


static void destructor(void *arg)
{
	struct wsclients *ws = arg;

	for (struct le *le = ws->clients.head; le; le = le->next) {
		struct wsclient *c = le->data;

		c->ws = NULL;
	}
	list_flush(&ws->clients);
	ws->sub = mem_deref(ws->sub);
	mem_deref(ws->sock);
}


int wsclients_alloc(struct wsclients **wsp, struct pbx *pbx)
{
	struct wsclients *ws;
	int err;

	ws = mem_zalloc(sizeof(*ws), destructor);
	if (!ws)
		return ENOMEM;

	ws->pbx = pbx;
	err = websock_alloc(&ws->sock, NULL, NULL);
	if (err)
		mem_deref(ws);
	else
		*wsp = ws;

	return err;
}


uint32_t wsclients_count(const struct wsclients *ws)
{
	return ws ? list_count(&ws->clients) : 0;
}


uint64_t wsclients_dropped(const struct wsclients *ws)
{
	return ws ? ws->dropped : 0;
}


uint64_t wsclients_sent(const struct wsclients *ws)
{
	return ws ? ws->sent : 0;
}
