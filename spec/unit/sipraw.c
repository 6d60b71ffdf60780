/**
 * @file sipraw.c  Spec of what the PBX does with SIP requests libre's
 * parser refuses (core/sip/sipraw.h), and of the trace block format
 * (core/sip/siptrace.h).
 */
#include <string.h>
#include <time.h>
#include <re.h>
#include "pbx.h"
#include "sip/sipraw.h"
#include "sip/siptrace.h"
#include "tap.h"


/* RFC 4475 3.4.1 (inv2543), with the top Via of a test client */
static const char inv2543[] =
	"INVITE sip:UserB@example.com SIP/2.0\r\n"
	"Via: SIP/2.0/UDP 127.0.0.1:5062\r\n"
	"From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n"
	"Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>\r\n"
	"To: sip:+16505552222@ss1.example.net;user=phone\r\n"
	"Call-ID: inv2543.1717@ift.client.example.com\r\n"
	"CSeq: 56 INVITE\r\n"
	"Content-Type: application/sdp\r\n"
	"\r\n"
	"v=0\r\n";

/* its CANCEL: same Request-URI, From, Call-ID, CSeq number, top Via */
static const char cancel2543[] =
	"CANCEL sip:UserB@example.com SIP/2.0\r\n"
	"v: SIP/2.0/UDP 127.0.0.1:5062\r\n"
	"From: <sip:+13035551111@ift.client.example.net;user=phone>\r\n"
	"To: sip:+16505552222@ss1.example.net;user=phone\r\n"
	"Call-ID: inv2543.1717@ift.client.example.com\r\n"
	"CSeq: 56 CANCEL\r\n"
	"\r\n";

/* RFC 4475 3.3.4 (unksm2): libre refuses From <http://...> */
static const char unksm2[] =
	"REGISTER sip:example.com SIP/2.0\r\n"
	"To: isbn:2983792873\r\n"
	"From: <http://www.example.com>;tag=3234233\r\n"
	"Call-ID: unksm2.daksdj@hyphenated-host.example.com\r\n"
	"CSeq: 234902 REGISTER\r\n"
	"Max-Forwards: 70\r\n"
	"Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw\r\n"
	"Contact: <name:John_Smith>\r\n"
	"l: 0\r\n"
	"\r\n";


static struct sip_msg *decode(const uint8_t *p, size_t len)
{
	struct mbuf *mb = mbuf_alloc(len);
	struct sip_msg *msg = NULL;

	if (mb && 0 == mbuf_write_mem(mb, p, len)) {
		mb->pos = 0;
		(void)sip_msg_decode(&msg, mb);
	}
	mem_deref(mb);

	return msg;
}


static void test_add_branch(void)
{
	struct mbuf *inv = NULL, *can = NULL, *none = NULL;
	struct sip_msg *mi = NULL, *mc = NULL, *raw;
	struct leakcheck lc;
	char note[128] = "";
	int err;

	leak_begin(&lc);
	raw = decode((const uint8_t *)inv2543, strlen(inv2543));
	ok(!raw, "libre alone cannot parse an RFC 2543 INVITE (Via without"
	   " branch)");
	mem_deref(raw);

	err = sipraw_add_branch((const uint8_t *)inv2543, strlen(inv2543),
				&inv, note, sizeof(note));
	is_int(err, 0, "sipraw_add_branch() repairs it");
	ok(strstr(note, "RFC 2543") && strstr(note, "branch=z9hG4bK.2543."),
	   "... and says so (%s)", note);
	if (inv)
		mi = decode(inv->buf, inv->end);
	ok(mi, "libre parses the repaired INVITE");
	if (mi) {
		ok(0 == pl_strcmp(&mi->met, "INVITE") &&
		   mi->via.branch.l == 29 &&
		   !strncmp(mi->via.branch.p, "z9hG4bK.2543.", 13) &&
		   strspn(mi->via.branch.p + 13, "0123456789abcdef") == 16,
		   "its top Via has the branch z9hG4bK.2543.<16 hex digits>");
		ok(0 == pl_strcmp(&mi->via.sentby, "127.0.0.1:5062"),
		   "... after the sent-by, which is unchanged");
		is_int(inv->end, strlen(inv2543) + 8 + 29,
		       "nothing else changed in size (;branch= + 29)");
		ok(!memcmp(inv->buf + inv->end - 7, "\r\nv=0\r\n", 7),
		   "the body is still there");
	}

	err = sipraw_add_branch((const uint8_t *)cancel2543,
				strlen(cancel2543), &can, note, sizeof(note));
	if (can)
		mc = decode(can->buf, can->end);
	ok(!err && mc, "its CANCEL (compact v:) is repaired too");
	ok(mi && mc && 0 == pl_cmp(&mi->via.branch, &mc->via.branch),
	   "... with the same branch, so it finds the INVITE's transaction"
	   " (RFC 3261 17.2.3)");

	is_int(sipraw_add_branch((const uint8_t *)unksm2, strlen(unksm2),
				 &none, note, sizeof(note)), EALREADY,
	       "a request that has a branch: EALREADY, nothing made");
	ok(!none, "... no copy allocated");
	is_int(sipraw_add_branch((const uint8_t *)"OPTIONS sip:a SIP/2.0\r\n"
				 "From: <sip:a@b>\r\n\r\n", 40, &none, note,
				 sizeof(note)), EBADMSG,
	       "a request without Via: EBADMSG");

	mem_deref(mi);
	mem_deref(mc);
	mem_deref(inv);
	mem_deref(can);
	leak_end(&lc, "adding a branch");
}


static const struct reply_case {
	const char *name;
	const char *req;
	int err;
	uint16_t scode;
	const char *warning;
} reply_cases[] = {
	{"unknown scheme in From (unksm2)", unksm2, 0, 400,
	 "a header field could not be understood"},
	{"SIP/7.0 (badvers)",
	 "OPTIONS sip:t.watson@example.org SIP/7.0\r\n"
	 "Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw\r\n"
	 "From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe\r\n"
	 "To:      T. Watson <sip:t.watson@example.org>\r\n"
	 "Call-ID: badvers.31417@c.example.com\r\n"
	 "CSeq:    1 OPTIONS\r\n"
	 "l: 0\r\n\r\n", 0, 505, "only SIP/2.0 is supported"},
	{"two spaces in the Request-Line (lwsstart), LF only, folded Via",
	 "INVITE  sip:user@example.com  SIP/2.0\n"
	 "To: sip:user@example.com\n"
	 "From: sip:caller@example.net;tag=8814\n"
	 "Call-ID: lwsstart@example.com\n"
	 "CSeq: 1893884 INVITE\n"
	 "Via: SIP/2.0/UDP host1.example.com\n"
	 " ;branch=z9hG4bKkdjuw3923\n"
	 "\n", 0, 400, "malformed Request-Line"},
	{"an ACK is never answered",
	 "ACK  sip:a SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n",
	 EPROTO, 0, NULL},
	{"a response is never answered",
	 "SIP/2.0 999999999 Huge\r\nVia: SIP/2.0/UDP h\r\n\r\n",
	 EPROTO, 0, NULL},
	{"neither request nor response",
	 "HELLO world\r\n\r\n", EPROTO, 0, NULL},
	{"no Via to send the answer along",
	 "OPTIONS  sip:a SIP/2.0\r\nCall-ID: x\r\n\r\n", EBADMSG, 0, NULL},
};


/* The answer, read as text: libre cannot parse all of them (an unknown
 * scheme in From stays in the answer, as RFC 3261 8.2.6.2 wants). */
static void check_reply(const struct reply_case *c, struct mbuf *out)
{
	char *text = NULL, status[32];

	out->pos = 0;
	if (mbuf_strdup(out, &text, out->end)) {
		ok(false, "%s: the answer as text", c->name);
		return;
	}
	re_snprintf(status, sizeof(status), "SIP/2.0 %u ", c->scode);

	ok(!strncmp(text, status, strlen(status)), "%s: %s", c->name, status);
	ok(strstr(text, c->warning) && strstr(text, "\r\nWarning: 399 lunapbx"
					      " \""),
	   "%s: Warning: 399 lunapbx \"%s\"", c->name, c->warning);
	ok(strstr(text, "\r\nServer: lunapbx-test\r\n"), "%s: Server",
	   c->name);
	ok(strstr(text, "\r\nContent-Length: 0\r\n\r\n") &&
	   !strcmp(text + strlen(text) - 4, "\r\n\r\n"),
	   "%s: Content-Length: 0, then the end", c->name);
	ok(strstr(text, "\nCall-ID: ") && strstr(text, "\nCSeq:") &&
	   strstr(text, "\nFrom:") && strstr(text, "\nTo:"),
	   "%s: Call-ID, CSeq, From and To copied", c->name);
	ok(!strstr(text, "Record-Route") && !strstr(text, "Contact") &&
	   !strstr(text, "Max-Forwards"), "%s: and nothing else of the"
	   " request", c->name);
	if (c->req == unksm2)
		ok(strstr(text, "\r\nFrom: <http://www.example.com>;tag="
			  "3234233\r\n") &&
		   strstr(text, "\r\nTo: isbn:2983792873;tag="),
		   "%s: From exactly as it came, To with our tag", c->name);
	if (strstr(c->req, "\n ;branch")) {
		struct sip_msg *msg = decode(out->buf, out->end);

		ok(strstr(text, "Via: SIP/2.0/UDP host1.example.com\n"
			  " ;branch=z9hG4bKkdjuw3923\r\n"),
		   "%s: a folded Via is copied whole", c->name);
		ok(msg && msg->scode == c->scode && pl_isset(&msg->to.tag) &&
		   0 == pl_strcmp(&msg->via.branch, "z9hG4bKkdjuw3923"),
		   "%s: libre parses this answer: status, To tag, branch",
		   c->name);
		mem_deref(msg);
	}
	mem_deref(text);
}


static void test_reply(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(reply_cases); i++) {
		const struct reply_case *c = &reply_cases[i];
		struct mbuf *out = mbuf_alloc(512);
		struct leakcheck lc;
		int err;

		leak_begin(&lc);
		err = sipraw_reply(out, (const uint8_t *)c->req,
				   strlen(c->req), "lunapbx-test");
		is_int(err, c->err, c->name);
		if (!err && out)
			check_reply(c, out);
		mem_deref(out);
		leak_end(&lc, c->name);
	}
}


static void test_trace_block(void)
{
	static const char msg[] = "OPTIONS sip:a SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 1.2.3.4\r\n"
		"X-Bad: a\x01z\r\n"
		"\r\n";
	struct sa src, dst;
	struct sip_packet pkt;
	struct leakcheck lc;
	char *text = NULL;

	leak_begin(&lc);
	(void)sa_set_str(&src, "127.0.0.2", 5062);
	(void)sa_set_str(&dst, "127.0.0.1", 5060);
	pkt.tx = false;
	pkt.tp = SIP_TRANSP_UDP;
	pkt.src = &src;
	pkt.dst = &dst;
	pkt.data = (const uint8_t *)msg;
	pkt.len = sizeof(msg) - 1;
	pkt.ts_us = 1700000000123456ULL;
	pkt.note = "[a note]";

	if (re_sdprintf(&text, "%H", siptrace_print, &pkt)) {
		ok(false, "trace block printed");
		return;
	}
	ok(!strncmp(text, "--- SIP recv 20", 15) && text[17] == '-' &&
	   !strncmp(text + 32, ".123456 UDP 127.0.0.2:5062 -> 127.0.0.1:5060"
		    " (63 bytes) [a note]\nOPTIONS", 66),
	   "header line: direction, date and time to the microsecond,"
	   " transport, addresses, size, note");
	ok(strstr(text, "\nOPTIONS sip:a SIP/2.0\nVia: SIP/2.0/UDP 1.2.3.4\n"),
	   "then the message, one line per line (CR LF shown as a line end)");
	ok(strstr(text, "X-Bad: a\\x01z\n"), "a control octet shows as \\x01");
	ok(strlen(text) > 2 && !strcmp(text + strlen(text) - 3, "z\n\n"),
	   "one empty line ends the block");
	ok(!strchr(text, '\r'), "no CR left");
	mem_deref(text);

	pkt.tx = true;
	pkt.tp = SIP_TRANSP_TCP;
	pkt.note = NULL;
	pkt.data = (const uint8_t *)"SIP/2.0 200 OK\r\n\r\nbody";
	pkt.len = 22;
	if (0 == re_sdprintf(&text, "%H", siptrace_print, &pkt)) {
		ok(strstr(text, " TCP 127.0.0.2:5062 -> 127.0.0.1:5060"
			  " (22 bytes)\nSIP/2.0 200 OK\n\nbody\n\n") &&
		   !strcmp(text + strlen(text) - 7, "\nbody\n\n") &&
		   !strncmp(text, "--- SIP send ", 13),
		   "a sent TCP message with a body: the body, then one empty"
		   " line");
		mem_deref(text);
	}
	leak_end(&lc, "trace blocks");
}


/* Allocation failures: each allocation of the repair and of the raw
 * answer failing in turn. */
static int op_raw(void *arg)
{
	static const char req[] =
		"INVITE sip:100@192.0.2.1 SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.9\r\n"
		"From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:100@192.0.2.1>\r\n"
		"Call-ID: 2543@x\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n";
	static const char bad[] =
		"OPTIONS  sip:192.0.2.1  SIP/2.0\r\n"
		"Via: SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK1\r\n"
		"From: <sip:a@192.0.2.9>;tag=1\r\nTo: <sip:b@192.0.2.1>\r\n"
		"Call-ID: bad@x\r\nCSeq: 1 OPTIONS\r\n\r\n";
	struct mbuf *fixed = NULL, *out;
	char note[96];
	int err;
	(void)arg;

	err = sipraw_add_branch((const uint8_t *)req, strlen(req), &fixed,
				note, sizeof(note));
	mem_deref(fixed);
	out = mbuf_alloc(64);
	if (!out)
		return ENOMEM;
	err |= sipraw_reply(out, (const uint8_t *)bad, strlen(bad), "spec");
	mem_deref(out);
	return err;
}

int main(void)
{
	struct leakcheck all;
	int err;

	err = libre_init();
	if (err)
		return 1;

	/* the first localtime_r() loads the time zone, once for all */
	{
		struct tm tm;
		time_t t = 0;

		localtime_r(&t, &tm);
	}
	leak_begin(&all);

	test_add_branch();
	test_reply();
	test_trace_block();

	leak_end(&all, "the whole file");
	alloc_fail_each("sipraw: a Via branch added, a raw answer", op_raw,
			NULL);
	libre_close();

	return done_testing();
}
