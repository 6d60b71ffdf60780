/**
 * @file media_dtmf.c  Spec of DTMF input (core/media/dtmf.h): the digit
 * queue, SIP INFO bodies, RFC 4733 events, in-band tones, and which of
 * them each endpoint mode takes.
 */
#include <string.h>
#include <re.h>
#include <rem.h>
#include "pbx.h"
#include "media/dtmf.h"
#include "tap.h"


static char heard[128];    /* what the handler was told, in order */


static void handler(char digit, enum dtmf_src src, void *arg)
{
	size_t n = strlen(heard);
	(void)src; (void)arg;

	if (n + 1 < sizeof(heard)) {
		heard[n] = digit;
		heard[n + 1] = 0;
	}
}


static void drain(struct dtmf_in *d, char *out, size_t sz)
{
	size_t n = 0;
	int c;

	while ((c = dtmf_in_pop(d)) >= 0 && n + 1 < sz)
		out[n++] = (char)c;
	out[n] = 0;
}


static void test_queue(void)
{
	struct dtmf_in *d;
	char got[80];
	int err = 0;

	heard[0] = 0;
	dtmf_in_alloc(&d, DTMF_AUTO, handler, NULL);
	is_int(dtmf_in_pop(d), -1, "an empty queue gives -1");

	for (const char *p = "12*#A9"; *p; p++)
		err |= dtmf_in_push(d, *p, DTMF_SRC_INFO);
	ok(!err && dtmf_in_pending(d) == 6, "six digits queued");
	is_str(heard, "12*#A9", "the owner heard each, in order");
	is_int(dtmf_in_peek(d), '1', "peek shows the oldest");
	drain(d, got, sizeof(got));
	is_str(got, "12*#A9", "pop gives them in order");

	is_int(dtmf_in_push(d, 'x', DTMF_SRC_INFO), EINVAL, "'x' is no"
	       " digit");
	is_int(dtmf_in_push(d, 0, DTMF_SRC_INFO), EINVAL, "neither is NUL");

	for (int i = 0; i < 64; i++)
		err |= dtmf_in_push(d, (char)('0' + i % 10), DTMF_SRC_INFO);
	ok(!err, "64 digits fit");
	is_int(dtmf_in_push(d, '5', DTMF_SRC_INFO), EOVERFLOW, "the 65th"
	       " overflows");
	dtmf_in_flush(d);
	is_int(dtmf_in_pending(d), 0, "flush empties the queue");
	ok(!dtmf_in_push(d, '7', DTMF_SRC_INFO) && dtmf_in_pop(d) == '7',
	   "and it works after (the ring wraps)");
	mem_deref(d);
}


static const struct info_case {
	const char *ctype, *body;
	int err;
	char digit;
} infos[] = {
	{ "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", 0, '5' },
	{ "application/dtmf-relay", "Signal= 1\r\nDuration= 250\r\n", 0, '1' },
	{ "application/dtmf-relay", "Duration=160\r\nSignal=#\r\n", 0, '#' },
	{ "application/dtmf-relay", "signal=*\nduration=100\n", 0, '*' },
	{ "application/dtmf-relay", "Signal=11\r\n", 0, '#' },
	{ "application/dtmf-relay", "Signal=10\r\n", 0, '*' },
	{ "application/dtmf-relay", "Signal=d\r\n", 0, 'D' },
	{ "Application/DTMF-Relay", "Signal=0\r\n", 0, '0' },
	{ "application/dtmf", "7", 0, '7' },
	{ "application/dtmf", "#\r\n", 0, '#' },
	{ "application/dtmf-relay", "Signal=\r\n", EPROTO, 0 },
	{ "application/dtmf-relay", "Signal=x\r\n", EPROTO, 0 },
	{ "application/dtmf-relay", "Duration=160\r\n", EPROTO, 0 },
	{ "application/dtmf-relay", "Signalling=5\r\n", EPROTO, 0 },
	{ "application/dtmf-relay", "Signal=55\r\n", EPROTO, 0 },
	{ "application/dtmf", "", EPROTO, 0 },
	{ "application/media_control+xml", "<media_control/>", ENOTSUP, 0 },
	{ "text/plain", "5", ENOTSUP, 0 },
};


static void test_info_bodies(void)
{
	for (size_t i = 0; i < ARRAY_SIZE(infos); i++) {
		const struct info_case *c = &infos[i];
		struct pl body;
		char digit = 0;
		int err;

		pl_set_str(&body, c->body);
		err = dtmf_info_parse(c->ctype, &body, &digit);
		ok(err == c->err && digit == c->digit,
		   "INFO %s \"%.*s\": %s%c", c->ctype,
		   (int)strcspn(c->body, "\r\n"), c->body,
		   c->err ? strerror(c->err) : "digit ",
		   c->digit ? c->digit : ' ');
	}
}


/* An RFC 4733 payload: event, end bit, duration. */
static void event(struct dtmf_in *d, int ev, bool end, uint16_t dur)
{
	uint8_t p[4] = { (uint8_t)ev, (uint8_t)(end ? 0x8a : 0x0a),
			 (uint8_t)(dur >> 8), (uint8_t)dur };
	struct mbuf mb = { .buf = p, .size = 4, .pos = 0, .end = 4 };

	dtmf_in_event(d, &mb);
}


/* A key press as phones send it: start packets, then three end packets. */
static void press(struct dtmf_in *d, int ev)
{
	for (uint16_t dur = 160; dur <= 800; dur += 160)
		event(d, ev, false, dur);
	for (int i = 0; i < 3; i++)
		event(d, ev, true, 960);
}


static void test_rfc4733(void)
{
	struct dtmf_in *d;
	char got[32];

	dtmf_in_alloc(&d, DTMF_RFC4733, NULL, NULL);
	event(d, 5, true, 800);
	event(d, 5, true, 800);
	drain(d, got, sizeof(got));
	is_str(got, "5", "only end packets (start lost): one digit");

	press(d, 1);
	press(d, 1);
	press(d, 11);
	press(d, 10);
	drain(d, got, sizeof(got));
	is_str(got, "11#*", "key presses: one digit each, repeats kept");

	event(d, 16, false, 160);
	event(d, 16, true, 320);
	is_int(dtmf_in_pending(d), 0, "event 16 (flash) is no digit");
	mem_deref(d);
}


/* 8000 Hz tones of a key as librem makes them, in 20 ms frames. */
static void tone(struct dtmf_in *d, char key, unsigned ms)
{
	struct mbuf *mb = mbuf_alloc(16000);
	const int16_t *s;
	size_t n;

	(void)autone_dtmf(mb, 8000, key);
	s = (const int16_t *)mb->buf;
	n = mb->end / 2;
	for (unsigned i = 0; i < ms / 20; i++)
		dtmf_in_audio(d, s + (i * 160) % (n - 160), 160);
	mem_deref(mb);
}


static void quiet(struct dtmf_in *d, unsigned ms)
{
	int16_t z[160] = { 0 };

	for (unsigned i = 0; i < ms / 20; i++)
		dtmf_in_audio(d, z, 160);
}


static void test_inband(void)
{
	struct dtmf_in *d;
	char got[32];

	dtmf_in_alloc(&d, DTMF_INBAND, NULL, NULL);
	ok(dtmf_in_wants_audio(d), "inband: wants the samples");
	for (const char *k = "2580#"; *k; k++) {
		tone(d, *k, 100);
		quiet(d, 100);
	}
	drain(d, got, sizeof(got));
	is_str(got, "2580#", "keys heard in the audio (100 ms each)");
	mem_deref(d);
}


static void test_modes(void)
{
	struct pl body;
	struct dtmf_in *d;
	char got[32];

	pl_set_str(&body, "Signal=4\r\nDuration=160\r\n");

	dtmf_in_alloc(&d, DTMF_RFC4733, NULL, NULL);
	ok(!dtmf_in_wants_audio(d), "rfc4733: no samples wanted");
	ok(!dtmf_in_info(d, "application/dtmf-relay", &body), "rfc4733:"
	   " an INFO is answered...");
	tone(d, '9', 100);
	quiet(d, 100);
	press(d, 3);
	drain(d, got, sizeof(got));
	is_str(got, "3", "... but only RFC 4733 digits count");
	mem_deref(d);

	dtmf_in_alloc(&d, DTMF_INFO, NULL, NULL);
	press(d, 3);
	ok(!dtmf_in_info(d, "application/dtmf-relay", &body), "info: an"
	   " INFO digit...");
	drain(d, got, sizeof(got));
	is_str(got, "4", "... is the only one that counts");
	mem_deref(d);

	dtmf_in_alloc(&d, DTMF_INBAND, NULL, NULL);
	press(d, 3);
	(void)dtmf_in_info(d, "application/dtmf-relay", &body);
	tone(d, '6', 100);
	quiet(d, 100);
	drain(d, got, sizeof(got));
	is_str(got, "6", "inband: only tones count");
	mem_deref(d);

	dtmf_in_alloc(&d, DTMF_AUTO, NULL, NULL);
	tone(d, '1', 100);
	quiet(d, 40);
	press(d, 1);     /* the same key, also sent out of band */
	tone(d, '2', 100);
	quiet(d, 100);
	press(d, 2);
	(void)dtmf_in_info(d, "application/dtmf-relay", &body);
	drain(d, got, sizeof(got));
	is_str(got, "124", "auto: a key heard in-band then as an event"
	       " counts once; then events and INFO, no more tones");
	ok(!dtmf_in_wants_audio(d), "auto: stops listening in-band");
	mem_deref(d);
}


static void test_mode_names(void)
{
	enum dtmf_mode m = DTMF_INFO;

	ok(!dtmf_mode_parse("rfc4733", &m) && m == DTMF_RFC4733,
	   "\"rfc4733\"");
	ok(!dtmf_mode_parse("INBAND", &m) && m == DTMF_INBAND,
	   "\"INBAND\" (any case)");
	ok(!dtmf_mode_parse("auto", &m) && m == DTMF_AUTO, "\"auto\"");
	ok(dtmf_mode_parse("rfc2833", &m) == EINVAL, "\"rfc2833\" is not"
	   " a mode name");
	is_str(dtmf_mode_name(DTMF_INFO), "info", "mode names");
}


static void no_digit(char digit, enum dtmf_src src, void *arg)
{
	(void)digit; (void)src; (void)arg;
}


/* Allocation failures: a DTMF input made, an INFO key and a queued one. */
static int op_dtmf(void *arg)
{
	struct dtmf_in *d = NULL;
	struct pl body;
	int err;
	(void)arg;

	err = dtmf_in_alloc(&d, DTMF_AUTO, no_digit, NULL);
	pl_set_str(&body, "Signal=5\r\nDuration=160\r\n");
	if (!err)
		err = dtmf_in_info(d, "application/dtmf-relay", &body);
	if (!err)
		err = dtmf_in_push(d, '7', DTMF_SRC_INFO);
	mem_deref(d);
	return err;
}

int main(void)
{
	struct leakcheck lc;

	if (libre_init())
		return 255;

	leak_begin(&lc);
	test_queue();
	test_info_bodies();
	test_rfc4733();
	test_inband();
	test_modes();
	test_mode_names();
	leak_end(&lc, "dtmf input");

	alloc_fail_each("dtmf input: made, a SIP INFO key, a queued key",
			op_dtmf, NULL);

	libre_close();

	return done_testing();
}
