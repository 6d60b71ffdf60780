/**
 * @file sipraw.c  SIP datagrams before libre parses them (see sipraw.h).
 *
 * Only what libre's parser refused is looked at here, and only as lines:
 * the header a message is cut into, its name, the top Via's end.  The
 * parsing itself stays libre's: a repaired message goes back to it.
 */
#include <string.h>
#include <re.h>
#include "log.h"
#include "sip/sipraw.h"
#include "sip/sipsec.h"
#include "sip/sipstack.h"
#include "sip/siptrace.h"
#include "capture/pcap.h"

#define BRANCH_PREFIX ";branch=z9hG4bK.2543."
enum {
	LAYER = 0,
	KEY_HEX = 16,              /* hex digits of the made-up branch  */
};

struct sipraw {
	struct sipstack *stack;
	struct sip *sip;
	struct udp_helper *uh;     /* on libre's UDP socket, once known */
	void *sock;
	struct sip_request *ping;  /* the OPTIONS that finds the socket */
	char *server;
};

/* One header of a raw message: its name, and its text from the name to
 * the end of its last (folded) line, line break excluded. */
struct rawhdr {
	struct pl name;
	const char *start, *end;
};


static void destructor(void *arg)
{
	struct sipraw *r = arg;

	mem_deref(r->uh);
	mem_deref(r->ping);
	mem_deref(r->server);
}


/* The end of the line at @a p (its CR LF or LF excluded), and where the
 * next one starts. */
static const char *line_end(const char *p, const char *end, const char **next)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	const char *e = lf ? lf : end;

	*next = lf ? lf + 1 : end;
	if (e > p && e[-1] == '\r')
		--e;

	return e;
}


/** The next header after @a *p; false at the empty line or the end. */
static bool next_header(const char **p, const char *end, struct rawhdr *h)
{
	const char *next, *e, *colon;

	if (*p >= end)
		return false;

	e = line_end(*p, end, &next);
	if (e == *p)
		return false;            /* the empty line: the body follows */

	h->start = *p;
	colon = memchr(*p, ':', (size_t)(e - *p));
	h->name.p = *p;
	h->name.l = colon ? (size_t)(colon - *p) : 0;
	while (h->name.l && (h->name.p[h->name.l - 1] == ' ' ||
			     h->name.p[h->name.l - 1] == '\t'))
		--h->name.l;

	/* folded lines (starting with SP or HT) belong to this header */
	while (next < end && (*next == ' ' || *next == '\t'))
		e = line_end(next, end, &next);

	h->end = e;
	*p = next;

	return true;
}


static bool name_is(const struct rawhdr *h, const char *longname, char compact)
{
	return 0 == pl_strcasecmp(&h->name, longname) ||
		(h->name.l == 1 && (h->name.p[0] | 0x20) == compact);
}


/* Past the start line: where the headers begin. */
static const char *headers_start(const char *p, const char *end)
{
	const char *next;

	(void)line_end(p, end, &next);

	return next;
}


static const char *find_ci(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);

	for (; p + n <= end; p++) {
		if (0 == strncasecmp(p, s, n))
			return p;
	}
	return NULL;
}


/* The end of the top Via's first value: its first comma outside quotes,
 * or the end of the header's first line. */
static const char *first_via_end(const struct rawhdr *h)
{
	const char *p = h->name.p + h->name.l, *next;
	const char *e = line_end(p, h->end, &next);
	bool quote = false;

	for (; p < e; p++) {
		if (*p == '"')
			quote = !quote;
		else if (*p == ',' && !quote)
			return p;
	}
	return e;
}


/* The branch RFC 3261 17.2.3 implies for an RFC 2543 request: the same
 * for an INVITE, its CANCEL and the ACK of a failure, since they share
 * Request-URI, From tag, Call-ID, CSeq number and top Via sent-by. */
static void branch_key(const struct sip_msg *msg, char *hex)
{
	uint8_t md[MD5_SIZE];

	(void)md5_printf(md, "%r|%r|%r|%u|%r", &msg->ruri, &msg->from.tag,
			 &msg->callid, msg->cseq.num, &msg->via.sentby);
	(void)re_snprintf(hex, KEY_HEX + 1, "%w", md, (size_t)KEY_HEX / 2);
}


/**
 * A request whose top Via has no branch: the same request with the
 * implied branch, in @a *outp, when libre parses it so.  EALREADY when it
 * has a branch, EBADMSG when adding one does not help; @a note says what
 * was done.
 */
int sipraw_add_branch(const uint8_t *req, size_t len, struct mbuf **outp,
		      char *note, size_t sz)
{
	const char *start = (const char *)req, *end = start + len;
	const char *p = headers_start(start, end), *vend;
	struct sip_msg *msg = NULL;
	struct mbuf *out;
	struct rawhdr h;
	bool found = false;
	char key[KEY_HEX + 1];
	size_t at;
	int err;

	while (!found && next_header(&p, end, &h))
		found = name_is(&h, "via", 'v');
	if (!found)
		return EBADMSG;

	vend = first_via_end(&h);
	if (find_ci(h.start, vend, "branch="))
		return EALREADY;

	/* a placeholder first: libre parses that copy, the parsed fields
	 * give the key, the key replaces the placeholder */
	at = (size_t)(vend - start);
	out = mbuf_alloc(len + strlen(BRANCH_PREFIX) + KEY_HEX);
	if (!out)
		return ENOMEM;
	err  = mbuf_write_mem(out, req, at);
	err |= mbuf_write_str(out, BRANCH_PREFIX);
	err |= mbuf_fill(out, '0', KEY_HEX);
	err |= mbuf_write_mem(out, req + at, len - at);
	if (err)
		goto out;

	out->pos = 0;
	err = sip_msg_decode(&msg, out);
	out->pos = 0;
	if (err) {
		err = EBADMSG;
		goto out;
	}
	branch_key(msg, key);
	memcpy(out->buf + at + strlen(BRANCH_PREFIX), key, KEY_HEX);
	(void)re_snprintf(note, sz, "[RFC 2543, no Via branch: lunapbx adds"
			  " branch=z9hG4bK.2543.%s]", key);
 out:
	mem_deref(msg);
	if (err)
		mem_deref(out);
	else
		*outp = out;

	return err;
}


/* The last word of the start line: "SIP/2.0" in a request. */
static void start_line(const char *p, const char *end, struct pl *method,
		       struct pl *version, bool *strict)
{
	const char *next, *e = line_end(p, end, &next), *sp;
	struct pl line = { p, (size_t)(e - p) };

	while (line.l && (line.p[line.l - 1] == ' ' ||
			  line.p[line.l - 1] == '\t'))
		--line.l;

	sp = memchr(line.p, ' ', line.l);
	method->p = line.p;
	method->l = sp ? (size_t)(sp - line.p) : 0;

	version->p = line.p + line.l;
	version->l = 0;
	while (version->p > line.p && version->p[-1] != ' ' &&
	       version->p[-1] != '\t') {
		--version->p;
		++version->l;
	}

	/* RFC 3261 7.1: Method SP Request-URI SP SIP-Version CRLF, exactly */
	*strict = line.l == (size_t)(e - p) && method->l &&
		0 == re_regex(line.p, line.l, "[^ \t]+ [^ \t]+ [^ \t]+",
			      NULL, NULL, NULL) &&
		!memchr(line.p + method->l + 1, ' ',
			(size_t)(version->p - 1 - (line.p + method->l + 1)));
}


static bool is_token(const struct pl *pl)
{
	for (size_t i = 0; i < pl->l; i++) {
		char c = pl->p[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || strchr("-.!%*_+`'~", c)))
			return false;
	}
	return pl->l > 0;
}


/* What the request gets: 505 for another SIP version, else 400. */
static int reply_status(const char *p, const char *end, uint16_t *scode,
			const char **reason, const char **warning)
{
	struct pl method, version;
	bool strict;

	start_line(p, end, &method, &version, &strict);
	if (!is_token(&method) || version.l < 5 ||
	    strncmp(version.p, "SIP/", 4))
		return EPROTO;            /* a response, or not SIP at all */
	if (0 == pl_strcmp(&method, "ACK"))
		return EPROTO;            /* never answered */

	if (pl_strcmp(&version, "SIP/2.0")) {
		*scode = 505;
		*reason = "Version Not Supported";
		*warning = "only SIP/2.0 is supported";
	}
	else {
		*scode = 400;
		*reason = "Bad Request";
		*warning = strict ? "a header field could not be understood"
			: "malformed Request-Line";
	}

	return 0;
}


/**
 * The answer to a request libre could not parse, from its own lines:
 * Via, From, To (with a tag of ours when it had none), Call-ID, CSeq.
 * EPROTO for what must not be answered (responses, ACK, not SIP), EBADMSG
 * when there is no Via to send it back along.
 */
int sipraw_reply(struct mbuf *out, const uint8_t *req, size_t len,
		 const char *server)
{
	const char *start = (const char *)req, *end = start + len;
	const char *p, *reason, *warning;
	static const struct { const char *name; char c; } copy[] = {
		{"via", 'v'}, {"from", 'f'}, {"to", 't'}, {"call-id", 'i'},
		{"cseq", 0},
	};
	bool via = false;
	struct rawhdr h;
	uint16_t scode;
	int err;

	err = reply_status(start, end, &scode, &reason, &warning);
	if (err)
		return err;

	err = mbuf_printf(out, "SIP/2.0 %u %s\r\n", scode, reason);
	p = headers_start(start, end);
	while (!err && next_header(&p, end, &h)) {
		bool keep = false, to;

		for (size_t i = 0; i < ARRAY_SIZE(copy); i++)
			keep |= name_is(&h, copy[i].name, copy[i].c);
		if (!keep)
			continue;

		via |= name_is(&h, "via", 'v');
		to = name_is(&h, "to", 't');
		err = mbuf_write_mem(out, (const uint8_t *)h.start,
				     (size_t)(h.end - h.start));
		if (!err && to && !find_ci(h.start, h.end, "tag="))
			err = mbuf_printf(out, ";tag=%016llx", rand_u64());
		if (!err)
			err = mbuf_write_str(out, "\r\n");
	}
	if (!err && !via)
		return EBADMSG;

	if (!err)
		err = mbuf_printf(out, "Warning: 399 lunapbx \"%s\"\r\n"
				  "Server: %s\r\n"
				  "Content-Length: 0\r\n\r\n", warning,
				  server ? server : "lunapbx");

	return err;
}


static bool looks_like_sip(const struct mbuf *mb)
{
	const uint8_t *p = mbuf_buf(mb);
	size_t len = mbuf_get_left(mb);

	/* a token then a space: a start line; STUN and keep-alives are not */
	for (size_t i = 0; i < len && i < 32; i++) {
		if (p[i] == ' ')
			return i > 0;
		if (p[i] < 0x21 || p[i] > 0x7e)
			return false;
	}
	return false;
}


static void observe(struct sipraw *r, const struct sa *src,
		    const struct mbuf *mb, const char *note)
{
	struct sa dst;
	struct sip_packet pkt;

	if (udp_local_get(r->sock, &dst))
		return;

	pkt.tx = false;
	pkt.tp = SIP_TRANSP_UDP;
	pkt.src = src;
	pkt.dst = &dst;
	pkt.data = mbuf_buf(mb);
	pkt.len = mbuf_get_left(mb);
	pkt.ts_us = pcapw_now();
	pkt.note = note;
	sipstack_observe(r->stack, &pkt);
}


/* Answer, from its own lines, a request that libre cannot parse. */
static void answer_raw(struct sipraw *r, const struct sa *src,
		       const struct mbuf *mb)
{
	struct mbuf *out = mbuf_alloc(512);
	int err;

	if (!out)
		return;

	err = sipraw_reply(out, mbuf_buf(mb), mbuf_get_left(mb), r->server);
	if (err) {
		log_debug("sip: unparsable datagram from %J dropped (%m)",
			  src, err);
		observe(r, src, mb, "[not parsed: dropped]");
	}
	else {
		observe(r, src, mb, "[not parsed: answered by lunapbx]");
		log_info("sip: unparsable request from %J answered %b", src,
			 out->buf + 8, (size_t)3);
		out->pos = 0;
		(void)sip_send(r->sip, r->sock, SIP_TRANSP_UDP, src, out);
	}
	mem_deref(out);
}


/* Every datagram on the SIP UDP socket, before libre's own handler. */
static bool recv_helper(struct sa *src, struct mbuf *mb, void *arg)
{
	struct sipraw *r = arg;
	struct sip_msg *msg = NULL;
	struct mbuf *fixed = NULL;
	size_t pos = mb->pos;
	char note[96];
	int err;

	if (mbuf_get_left(mb) <= 4 || !looks_like_sip(mb))
		return false;            /* keep-alive, STUN: libre's */

	err = sip_msg_decode(&msg, mb);
	mb->pos = pos;
	mem_deref(msg);
	if (!err) {
		observe(r, src, mb, NULL);
		return false;
	}

	if (sipraw_add_branch(mbuf_buf(mb), mbuf_get_left(mb), &fixed, note,
			      sizeof(note))) {
		/* a banned or flooding source gets nothing, and costs no log */
		if (sipsec_admit_raw(sipstack_sec(r->stack), src))
			answer_raw(r, src, mb);
		return true;
	}

	/* traced as it came; libre gets the repaired message */
	log_debug("sip: %J: %s", src, note);
	observe(r, src, mb, note);
	mb->end = pos;
	err = mbuf_write_mem(mb, fixed->buf, fixed->end);
	mb->pos = pos;
	mem_deref(fixed);

	return err != 0;   /* if the copy failed, nothing goes to libre */
}


/* libre clears r->ping when the request ends. */
static void ping_handler(int err, const struct sip_msg *msg, void *arg)
{
	struct sipraw *r = arg;
	(void)msg;

	if (!r->uh)
		log_warn("sip: no OPTIONS to itself came back (%m): malformed"
			 " UDP requests stay unanswered until a request"
			 " arrives", err);
}


/**
 * Start: one OPTIONS from the PBX to itself over UDP, so that the first
 * request on the socket is ours and sipraw_seen() learns the socket.
 * libre writes the Via, Max-Forwards (70) and User-Agent of a request
 * itself: the headers given here are the others, each once.
 */
int sipraw_alloc(struct sipraw **rp, struct sipstack *stack, struct sip *sip,
		 const struct sa *laddr, const char *server)
{
	struct sipraw *r;
	char uri[128];
	int err;

	if (!rp || !stack || !sip || !laddr)
		return EINVAL;

	r = mem_zalloc(sizeof(*r), destructor);
	if (!r)
		return ENOMEM;

	r->stack = stack;
	r->sip = sip;
	err = str_dup(&r->server, server ? server : "lunapbx");
	if (err)
		goto out;

	(void)re_snprintf(uri, sizeof(uri), "sip:lunapbx@%J;transport=udp",
			  laddr);
	err = sip_requestf(&r->ping, sip, true, "OPTIONS", uri, NULL, NULL,
			   NULL, ping_handler, r,
			   "To: <%s>\r\n"
			   "From: <%s>;tag=%016llx\r\n"
			   "Call-ID: lunapbx-self-%016llx\r\n"
			   "CSeq: 1 OPTIONS\r\n"
			   "Content-Length: 0\r\n\r\n",
			   uri, uri, rand_u64(), rand_u64());
 out:
	if (err)
		mem_deref(r);
	else
		*rp = r;

	return err;
}


/** A request came over UDP: its socket is libre's, watch it. */
void sipraw_seen(struct sipraw *r, const struct sip_msg *msg)
{
	int err;

	if (!r || r->uh || msg->tp != SIP_TRANSP_UDP || !msg->sock)
		return;

	err = udp_register_helper(&r->uh, msg->sock, LAYER, NULL,
				  recv_helper, r);
	if (err) {
		log_warn("sip: cannot watch the UDP socket: %m", err);
		return;
	}
	r->sock = msg->sock;
	log_debug("sip: watching raw UDP datagrams");
}


/** True once the datagrams are seen here (and traced as they came). */
bool sipraw_active(const struct sipraw *r)
{
	return r && r->uh;
}
