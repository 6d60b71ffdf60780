/**
 * @file dtmf.c  DTMF input: three sources, one queue.
 */
#include <ctype.h>
#include <string.h>
#include <re.h>
#include <rem.h>
#include "media/codec.h"
#include "media/dtmf.h"
#include "media/sound.h"

enum {
	QUEUE_SIZE = 64,
	SAME_KEY_MS = 300,   /* in-band then out-of-band of one key press */
	EVENT_PTIME = 20,
};

struct dtmf_in {
	enum dtmf_mode mode;
	struct telev *telev;      /* RFC 4733 receive state      */
	struct dtmf_dec *dec;     /* in-band detector            */
	int ev_active;            /* RFC 4733 event under way    */
	bool oob_seen;            /* an RFC 4733 or INFO digit   */
	char last_inband;
	uint64_t last_inband_ms;
	char q[QUEUE_SIZE];
	size_t head, count;
	dtmf_h *h;
	void *arg;
};

static const char *mode_names[] = { "auto", "rfc4733", "info", "inband" };
static const char *src_names[] = { "rfc4733", "info", "inband" };


static void destructor(void *arg)
{
	struct dtmf_in *d = arg;

	mem_deref(d->telev);
	mem_deref(d->dec);
}


bool dtmf_digit_ok(char c)
{
	return c && strchr("0123456789*#ABCD", c) != NULL;
}


/** Queue a digit and tell the owner.  @return 0, EINVAL, EOVERFLOW */
int dtmf_in_push(struct dtmf_in *d, char digit, enum dtmf_src src)
{
	if (!d || !dtmf_digit_ok(digit))
		return EINVAL;
	if (d->count >= QUEUE_SIZE)
		return EOVERFLOW;

	d->q[(d->head + d->count++) % QUEUE_SIZE] = digit;
	if (d->h)
		d->h(digit, src, d->arg);

	return 0;
}


static void inband_handler(char digit, void *arg)
{
	struct dtmf_in *d = arg;

	if (!dtmf_in_wants_audio(d))
		return;

	d->last_inband = digit;
	d->last_inband_ms = tmr_jiffies();
	(void)dtmf_in_push(d, digit, DTMF_SRC_INBAND);
}


int dtmf_in_alloc(struct dtmf_in **dp, enum dtmf_mode mode, dtmf_h *h,
		  void *arg)
{
	struct dtmf_in *d;
	int err;

	if (!dp || mode > DTMF_INBAND)
		return EINVAL;

	d = mem_zalloc(sizeof(*d), destructor);
	if (!d)
		return ENOMEM;

	d->mode = mode;
	d->ev_active = -1;
	d->h = h;
	d->arg = arg;

	err = telev_alloc(&d->telev, EVENT_PTIME);
	if (!err && (mode == DTMF_AUTO || mode == DTMF_INBAND))
		err = dtmf_dec_alloc(&d->dec, SOUND_RATE, 1, inband_handler,
				     d);
	if (err)
		mem_deref(d);
	else
		*dp = d;

	return err;
}


/* An out-of-band digit in auto mode ends in-band detection; the same key
 * already heard in-band a moment ago is not queued twice. */
static void push_oob(struct dtmf_in *d, char digit, enum dtmf_src src)
{
	bool first = !d->oob_seen;

	d->oob_seen = true;
	if (d->mode == DTMF_AUTO && first && digit == d->last_inband &&
	    tmr_jiffies() - d->last_inband_ms < SAME_KEY_MS)
		return;

	(void)dtmf_in_push(d, digit, src);
}


/**
 * The payload of an RTP packet of the telephone-event type.  A digit is
 * queued when its event starts (or at its end if the start was lost).
 */
void dtmf_in_event(struct dtmf_in *d, struct mbuf *mb)
{
	int event, digit;
	bool end;

	if (!d || (d->mode != DTMF_AUTO && d->mode != DTMF_RFC4733))
		return;
	if (telev_recv(d->telev, mb, &event, &end))
		return;

	digit = telev_code2digit(event);
	if (digit < 0)
		return;   /* flash and other events: not digits */

	if (!end) {
		d->ev_active = event;
		push_oob(d, (char)digit, DTMF_SRC_RFC4733);
		return;
	}

	if (d->ev_active != event)
		push_oob(d, (char)digit, DTMF_SRC_RFC4733);
	d->ev_active = -1;
}


bool dtmf_in_wants_audio(const struct dtmf_in *d)
{
	return d && d->dec && (d->mode == DTMF_INBAND ||
			       (d->mode == DTMF_AUTO && !d->oob_seen));
}


/** 8000 Hz samples the caller sent, for in-band detection. */
void dtmf_in_audio(struct dtmf_in *d, const int16_t *pcm, size_t n)
{
	if (dtmf_in_wants_audio(d))
		dtmf_dec_probe(d->dec, pcm, n);
}


static int code_digit(const struct pl *pl, char *digit)
{
	struct pl v = *pl;

	while (v.l && (v.p[0] == ' ' || v.p[0] == '\t'))
		pl_advance(&v, 1);
	while (v.l && strchr(" \t\r\n", v.p[v.l - 1]))
		--v.l;

	if (v.l == 1 && dtmf_digit_ok((char)toupper(v.p[0]))) {
		*digit = (char)toupper(v.p[0]);
		return 0;
	}

	/* some phones send the RFC 4733 event code: 10 is *, 11 is # */
	if (v.l == 2 && v.p[0] == '1' && v.p[1] >= '0' && v.p[1] <= '5') {
		*digit = "*#ABCD"[v.p[1] - '0'];
		return 0;
	}

	return EPROTO;
}


/**
 * The digit in the body of a SIP INFO.
 *
 * @param ctype "application/dtmf-relay" (body `Signal=5\r\nDuration=160`)
 *              or "application/dtmf" (body `5`), any case
 * @return 0, ENOTSUP for another content type, EPROTO for a bad body
 */
int dtmf_info_parse(const char *ctype, const struct pl *body, char *digit)
{
	struct pl line, rest;

	if (!ctype || !body || !digit)
		return EINVAL;

	if (0 == str_casecmp(ctype, "application/dtmf"))
		return code_digit(body, digit);

	if (str_casecmp(ctype, "application/dtmf-relay"))
		return ENOTSUP;

	/* one "Name=value" per line; we want Signal */
	for (rest = *body; rest.l; ) {
		const char *eol = pl_strchr(&rest, '\n');
		const char *eq;

		line.p = rest.p;
		line.l = eol ? (size_t)(eol - rest.p) : rest.l;
		pl_advance(&rest, line.l + (eol ? 1 : 0));

		eq = pl_strchr(&line, '=');
		if (!eq || (size_t)(eq - line.p) < 6 ||
		    strncasecmp(line.p, "signal", 6))
			continue;
		for (const char *p = line.p + 6; p < eq; p++) {
			if (*p != ' ' && *p != '\t')
				goto next;
		}
		pl_advance(&line, eq + 1 - line.p);
		return code_digit(&line, digit);
	next:
		;
	}

	return EPROTO;
}


/**
 * A SIP INFO of the caller's dialog.
 *
 * @return 0 (taken, or ignored by the endpoint's mode), ENOTSUP, EPROTO
 */
int dtmf_in_info(struct dtmf_in *d, const char *ctype, const struct pl *body)
{
	char digit;
	int err;

	if (!d)
		return EINVAL;

	err = dtmf_info_parse(ctype, body, &digit);
	if (err)
		return err;

	if (d->mode == DTMF_AUTO || d->mode == DTMF_INFO)
		push_oob(d, digit, DTMF_SRC_INFO);

	return 0;
}


/** The oldest digit, removed from the queue; -1 when empty. */
int dtmf_in_pop(struct dtmf_in *d)
{
	char c;

	if (!d || !d->count)
		return -1;

	c = d->q[d->head];
	d->head = (d->head + 1) % QUEUE_SIZE;
	--d->count;

	return c;
}


int dtmf_in_peek(const struct dtmf_in *d)
{
	return d && d->count ? d->q[d->head] : -1;
}


size_t dtmf_in_pending(const struct dtmf_in *d)
{
	return d ? d->count : 0;
}


void dtmf_in_flush(struct dtmf_in *d)
{
	if (d)
		d->head = d->count = 0;
}


enum dtmf_mode dtmf_in_mode(const struct dtmf_in *d)
{
	return d ? d->mode : DTMF_AUTO;
}


int dtmf_mode_parse(const char *s, enum dtmf_mode *mode)
{
	for (size_t i = 0; s && i < ARRAY_SIZE(mode_names); i++) {
		if (0 == str_casecmp(s, mode_names[i])) {
			*mode = (enum dtmf_mode)i;
			return 0;
		}
	}

	return EINVAL;
}


const char *dtmf_mode_name(enum dtmf_mode mode)
{
	return mode <= DTMF_INBAND ? mode_names[mode] : "?";
}


const char *dtmf_src_name(enum dtmf_src src)
{
	return src <= DTMF_SRC_INBAND ? src_names[src] : "?";
}
