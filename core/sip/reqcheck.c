/**
 * @file reqcheck.c  Refuse malformed requests with the status a UAS owes
 * them, before authentication or a dialog looks at them.
 */
#include <string.h>
#include <re.h>
#include "sip/reqcheck.h"

static bool fail(struct reqcheck *rc, uint16_t scode, const char *reason)
{
	rc->scode = scode;
	rc->reason = reason;
	return false;
}


/* Headers that appear once: To, From, Call-ID, CSeq, Max-Forwards,
 * Content-Length (duplicates are a 400, RFC 4475 3.3.9 and 3.3.10). */
static bool singles_ok(const struct sip_msg *msg)
{
	static const enum sip_hdrid once[] = {
		SIP_HDR_TO, SIP_HDR_FROM, SIP_HDR_CALL_ID, SIP_HDR_CSEQ,
		SIP_HDR_MAX_FORWARDS, SIP_HDR_CONTENT_LENGTH,
	};

	for (size_t i = 0; i < ARRAY_SIZE(once); i++) {
		if (sip_msg_hdr_count(msg, once[i]) > 1)
			return false;
	}
	return true;
}


/* Max-Forwards is left out: RFC 2543 did not have it, and RFC 4475 3.4.1
 * asks that such requests be accepted (a missing one means no limit). */
static bool required_ok(const struct sip_msg *msg)
{
	return sip_msg_hdr(msg, SIP_HDR_TO) && sip_msg_hdr(msg, SIP_HDR_FROM) &&
		sip_msg_hdr(msg, SIP_HDR_CALL_ID) &&
		sip_msg_hdr(msg, SIP_HDR_CSEQ);
}


/* A quoted string closes (RFC 3261 25.1): an unterminated display name
 * in To or From is a 400 (RFC 4475 3.1.2.6), not a name to guess. */
static bool quotes_closed(const struct pl *v)
{
	bool in = false;

	for (size_t i = 0; i < v->l; i++) {
		if (in && v->p[i] == '\\')
			++i;                       /* quoted-pair */
		else if (v->p[i] == '"')
			in = !in;
	}
	return !in;
}


static bool addrs_ok(const struct sip_msg *msg)
{
	const struct sip_hdr *to = sip_msg_hdr(msg, SIP_HDR_TO);
	const struct sip_hdr *from = sip_msg_hdr(msg, SIP_HDR_FROM);

	return quotes_closed(&to->val) && quotes_closed(&from->val);
}


/* Methods the PBX knows, whether it takes them or not (405 vs 501). */
static bool known_method(const struct pl *met)
{
	static const char *known[] = {
		"INVITE", "ACK", "CANCEL", "BYE", "OPTIONS", "REGISTER",
		"INFO", "SUBSCRIBE", "NOTIFY", "MESSAGE", "PUBLISH", "REFER",
		"UPDATE", "PRACK",
	};

	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (0 == pl_strcmp(met, known[i]))
			return true;
	}
	return false;
}


/* A Via value that libre parses up to its branch (which only the top
 * one needs, and an RFC 2543 peer leaves out). */
static bool bad_via(const struct sip_hdr *hdr, const struct sip_msg *msg,
		    void *arg)
{
	struct sip_via via;
	(void)msg; (void)arg;

	memset(&via, 0, sizeof(via));

	return sip_via_decode(&via, &hdr->val) && !pl_isset(&via.val);
}


/* The Request-URI's scheme as written: what precedes its first colon
 * (libre's parsed URI is not always that for a URI that is not SIP). */
static void ruri_scheme(const struct sip_msg *msg, struct pl *scheme)
{
	const char *colon = pl_strchr(&msg->ruri, ':');

	scheme->p = msg->ruri.p;
	scheme->l = colon ? (size_t)(colon - msg->ruri.p) : 0;
}


/* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
static bool scheme_ok(const struct pl *scheme)
{
	for (size_t i = 0; i < scheme->l; i++) {
		char c = scheme->p[i] | 0x20;

		if (!(c >= 'a' && c <= 'z') &&
		    (!i || !((c >= '0' && c <= '9') || strchr("+-.", c))))
			return false;
	}
	return scheme->l > 0;
}


/* A decimal below 2^31 (RFC 3261 8.1.1.5: CSeq; the same bound serves
 * Max-Forwards and Expires). */
static bool small_number(const struct pl *pl)
{
	uint64_t v = 0;

	if (!pl->l || pl->l > 10)
		return false;
	for (size_t i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(pl->p[i] - '0');
	}
	return v < (1ULL << 31);
}


static bool scalars_ok(const struct sip_msg *msg)
{
	const struct sip_hdr *cseq = sip_msg_hdr(msg, SIP_HDR_CSEQ);
	struct pl num;

	if (re_regex(cseq->val.p, cseq->val.l, "[0-9]+", &num) ||
	    !small_number(&num))
		return false;
	if (pl_isset(&msg->maxfwd) && !small_number(&msg->maxfwd))
		return false;
	if (pl_isset(&msg->expires) && !small_number(&msg->expires))
		return false;

	return true;
}


/* The body must be what Content-Length says (RFC 3261 18.3). */
static bool length_ok(const struct sip_msg *msg)
{
	if (!pl_isset(&msg->clen))
		return msg->tp == SIP_TRANSP_UDP;

	for (size_t i = 0; i < msg->clen.l; i++) {
		if (msg->clen.p[i] < '0' || msg->clen.p[i] > '9')
			return false;
	}
	return pl_u32(&msg->clen) <= mbuf_get_left(msg->mb);
}


/* The one extension we support: session timers (RFC 4028). */
static bool supported(const struct pl *val)
{
	return 0 == pl_strcasecmp(val, "timer");
}


static bool add_require(const struct sip_hdr *hdr, const struct sip_msg *msg,
			void *arg)
{
	struct reqcheck *rc = arg;
	size_t n = strlen(rc->hdrs);
	(void)msg;

	if (supported(&hdr->val))
		return false;

	re_snprintf(rc->hdrs + n, sizeof(rc->hdrs) - n, "%s%r",
		    n ? ", " : "Unsupported: ", &hdr->val);
	return false;
}


/* Every Require value but those we support is unsupported: 420. */
static bool require_ok(const struct sip_msg *msg, struct reqcheck *rc)
{
	size_t n;

	if (!sip_msg_hdr(msg, SIP_HDR_REQUIRE) ||
	    0 == pl_strcmp(&msg->met, "ACK") ||
	    0 == pl_strcmp(&msg->met, "CANCEL"))
		return true;

	(void)sip_msg_hdr_apply(msg, true, SIP_HDR_REQUIRE, add_require, rc);
	n = strlen(rc->hdrs);
	if (!n)
		return true;
	re_snprintf(rc->hdrs + n, sizeof(rc->hdrs) - n, "\r\n");

	return false;
}


static bool accept_has_sdp(const struct sip_hdr *hdr,
			   const struct sip_msg *msg, void *arg)
{
	(void)msg; (void)arg;

	return 0 == re_regex(hdr->val.p, hdr->val.l, "application/sdp") ||
		0 == re_regex(hdr->val.p, hdr->val.l, "application/\\*") ||
		0 == re_regex(hdr->val.p, hdr->val.l, "\\*/\\*");
}


/* An INVITE's body must be SDP, and its answer must be acceptable. */
static bool content_ok(const struct sip_msg *msg, struct reqcheck *rc)
{
	if (pl_strcmp(&msg->met, "INVITE"))
		return true;

	if (mbuf_get_left(msg->mb) &&
	    !msg_ctype_cmp(&msg->ctyp, "application", "sdp")) {
		str_ncpy(rc->hdrs, "Accept: application/sdp\r\n",
			 sizeof(rc->hdrs));
		return fail(rc, 415, "Unsupported Media Type");
	}

	/* RFC 4475 3.3.15: a 406 with a Warning 399 saying why */
	if (sip_msg_hdr(msg, SIP_HDR_ACCEPT) &&
	    !sip_msg_hdr_apply(msg, true, SIP_HDR_ACCEPT, accept_has_sdp,
			       NULL)) {
		str_ncpy(rc->hdrs, "Warning: 399 lunapbx \"the answer would be"
			 " application/sdp, which Accept leaves out\"\r\n",
			 sizeof(rc->hdrs));
		return fail(rc, 406, "Not Acceptable");
	}

	return true;
}


/**
 * Check one request.  False, with the answer in @a rc, when it must be
 * refused.
 */
bool reqcheck_request(const struct sip_msg *msg, struct reqcheck *rc)
{
	struct pl scheme;

	memset(rc, 0, sizeof(*rc));
	ruri_scheme(msg, &scheme);

	if (!required_ok(msg) || !singles_ok(msg) || !scalars_ok(msg) ||
	    !length_ok(msg) || !addrs_ok(msg) ||
	    sip_msg_hdr_apply(msg, true, SIP_HDR_VIA, bad_via, NULL) ||
	    !scheme_ok(&scheme))
		return fail(rc, 400, "Bad Request");

	/* an unknown method says 501 first (RFC 4475 3.1.2.18) */
	if (pl_cmp(&msg->cseq.met, &msg->met))
		return known_method(&msg->met)
			? fail(rc, 400, "CSeq Method Mismatch")
			: fail(rc, 501, "Not Implemented");

	if (pl_strcasecmp(&scheme, "sip") && pl_strcasecmp(&scheme, "sips"))
		return fail(rc, 416, "Unsupported URI Scheme");

	if (!require_ok(msg, rc))
		return fail(rc, 420, "Bad Extension");

	return content_ok(msg, rc);
}
