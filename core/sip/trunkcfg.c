/**
 * @file trunkcfg.c  Trunk configuration, the pure parts.
 */
#include <string.h>
#include <re.h>
#include "sip/trunkcfg.h"


static void spec_destructor(void *arg)
{
	struct treg_spec *s = arg;

	list_unlink(&s->le);
	mem_deref(s->name);
	mem_deref(s->user);
	mem_deref(s->domain);
	mem_deref(s->secret);
	mem_deref(s->authuser);
	mem_deref(s->host);
	mem_deref(s->contact);
}


/* Finds the last @c c in @a pl; returns its offset or -1. */
static ssize_t pl_rchr_off(const struct pl *pl, char c)
{
	for (size_t i = pl->l; i > 0; i--) {
		if (pl->p[i - 1] == c)
			return (ssize_t)(i - 1);
	}
	return -1;
}


/* Splits @a pl at offset @a off: head before, tail after the separator. */
static void pl_cut(const struct pl *pl, size_t off, struct pl *head,
		   struct pl *tail)
{
	struct pl h = { pl->p, off };
	struct pl t = { pl->p + off + 1, pl->l - off - 1 };

	*head = h;
	if (tail)
		*tail = t;
}


static bool pl_digits(const struct pl *pl)
{
	if (!pl->l || pl->l > 9)
		return false;
	for (size_t i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
	}
	return true;
}


/* Characters no part of the line may hold (they would break a header). */
static bool line_ok(const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s <= ' ' || strchr("<>\";,", *s))
			return false;
	}
	return true;
}


static int dup_opt(char **dst, const struct pl *pl)
{
	return pl_isset(pl) && pl->l ? pl_strdup(dst, pl) : 0;
}


/* host[:port] or [v6]:port */
static int parse_hostport(struct treg_spec *s, const struct pl *hp,
			  char *errbuf, size_t errsz)
{
	struct pl host = *hp, port = PL_INIT;
	ssize_t colon;

	if (hp->l && hp->p[0] == '[') {
		const char *end = pl_strchr(hp, ']');

		if (!end)
			goto bad;
		host.p = hp->p + 1;
		host.l = (size_t)(end - host.p);
		if ((size_t)(end - hp->p) + 1 < hp->l) {
			if (end[1] != ':')
				goto bad;
			port.p = end + 2;
			port.l = hp->l - (size_t)(port.p - hp->p);
		}
	}
	else if ((colon = pl_rchr_off(hp, ':')) >= 0) {
		pl_cut(hp, (size_t)colon, &host, &port);
	}

	if (!host.l)
		goto bad;
	if (pl_isset(&port)) {
		uint32_t n = pl_digits(&port) ? pl_u32(&port) : 0;

		if (n < 1 || n > 65535) {
			re_snprintf(errbuf, errsz, "bad port '%r'", &port);
			return EINVAL;
		}
		s->port = (uint16_t)n;
	}

	return pl_strdup(&s->host, &host);

 bad:
	re_snprintf(errbuf, errsz, "bad host '%r'", hp);
	return EINVAL;
}


/* host[:port][/contact][~expiry] */
static int parse_server(struct treg_spec *s, const struct pl *right,
			char *errbuf, size_t errsz)
{
	struct pl hp = *right, tail;
	ssize_t off;
	int err;

	if ((off = pl_rchr_off(&hp, '~')) >= 0) {
		pl_cut(&hp, (size_t)off, &hp, &tail);
		if (!pl_digits(&tail) || !pl_u32(&tail)) {
			re_snprintf(errbuf, errsz, "bad expiry '~%r'", &tail);
			return EINVAL;
		}
		s->expires = pl_u32(&tail);
	}

	if ((off = pl_rchr_off(&hp, '/')) >= 0) {
		pl_cut(&hp, (size_t)off, &hp, &tail);
		if (!tail.l) {
			re_snprintf(errbuf, errsz, "empty contact after '/'");
			return EINVAL;
		}
		err = pl_strdup(&s->contact, &tail);
		if (err)
			return err;
	}

	return parse_hostport(s, &hp, errbuf, errsz);
}


/* user[@domain][:secret[:authuser]] */
static int parse_account(struct treg_spec *s, const struct pl *left,
			 char *errbuf, size_t errsz)
{
	struct pl user = *left, secret = PL_INIT, authuser = PL_INIT;
	const char *c = pl_strchr(left, ':');
	const char *at;
	int err;

	if (c) {
		pl_cut(left, (size_t)(c - left->p), &user, &secret);
		c = pl_strchr(&secret, ':');
		if (c)
			pl_cut(&secret, (size_t)(c - secret.p), &secret,
			       &authuser);
		if (pl_strchr(&authuser, ':')) {
			re_snprintf(errbuf, errsz, "too many ':' before '@'"
				    " (user:secret:authuser)");
			return EINVAL;
		}
	}

	at = pl_strchr(&user, '@');
	if (at) {
		struct pl domain;

		pl_cut(&user, (size_t)(at - user.p), &user, &domain);
		if (!domain.l) {
			re_snprintf(errbuf, errsz, "empty domain after"
				    " user@");
			return EINVAL;
		}
		err = pl_strdup(&s->domain, &domain);
		if (err)
			return err;
	}

	if (!user.l) {
		re_snprintf(errbuf, errsz, "no user before '@'");
		return EINVAL;
	}

	err  = pl_strdup(&s->user, &user);
	err |= dup_opt(&s->secret, &secret);
	err |= dup_opt(&s->authuser, &authuser);

	return err;
}


static int default_name(struct treg_spec *s)
{
	return s->port
		? re_sdprintf(&s->name, "%s@%s:%u", s->user, s->host, s->port)
		: re_sdprintf(&s->name, "%s@%s", s->user, s->host);
}


/**
 * Parse `[udp://|tcp://]user[@domain][:secret[:authuser]]@host[:port]
 * [/contact][~expiry]`, the syntax of sip.conf's `register =>`.
 * On error, @a errbuf says what is wrong, never quoting the secret.
 */
int treg_spec_parse(struct treg_spec **specp, const char *line,
		    char *errbuf, size_t errsz)
{
	struct treg_spec *s;
	struct pl pl, left, right;
	const char *scheme;
	ssize_t at;
	int err;

	if (!specp || !line)
		return EINVAL;

	if (!*line || !line_ok(line)) {
		re_snprintf(errbuf, errsz, "spaces, quotes, <>;, are not"
			    " allowed");
		return EINVAL;
	}

	s = mem_zalloc(sizeof(*s), spec_destructor);
	if (!s)
		return ENOMEM;

	s->tp = SIP_TRANSP_UDP;
	s->expires = TREG_DEFAULT_EXPIRES;
	s->timeout_s = TREG_DEFAULT_TIMEOUT;
	s->retry_min = TREG_DEFAULT_RETRY_MIN;
	s->retry_max = TREG_DEFAULT_RETRY_MAX;

	pl_set_str(&pl, line);
	scheme = strstr(line, "://");
	if (scheme) {
		struct pl tp = { line, (size_t)(scheme - line) };

		if (!pl_strcasecmp(&tp, "tcp"))
			s->tp = SIP_TRANSP_TCP;
		else if (pl_strcasecmp(&tp, "udp")) {
			re_snprintf(errbuf, errsz, "transport '%r://' (udp://"
				    " or tcp://)", &tp);
			err = EINVAL;
			goto out;
		}
		pl_advance(&pl, tp.l + 3);
	}

	at = pl_rchr_off(&pl, '@');
	if (at < 0) {
		re_snprintf(errbuf, errsz, "no '@': user[:secret]@host"
			    "[:port][/contact] expected");
		err = EINVAL;
		goto out;
	}
	pl_cut(&pl, (size_t)at, &left, &right);

	err = parse_account(s, &left, errbuf, errsz);
	if (!err)
		err = parse_server(s, &right, errbuf, errsz);
	if (!err)
		err = default_name(s);

 out:
	if (err)
		mem_deref(s);
	else
		*specp = s;

	return err;
}


int treg_spec_set_name(struct treg_spec *spec, const char *name)
{
	if (!spec || !name || !*name)
		return EINVAL;

	spec->name = mem_deref(spec->name);

	return str_dup(&spec->name, name);
}


static bool str_same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && 0 == strcmp(a, b));
}


/** Same registration: a reload keeps it running, without a new REGISTER. */
bool treg_spec_equal(const struct treg_spec *a, const struct treg_spec *b)
{
	if (!a || !b)
		return false;

	return str_same(a->name, b->name) && str_same(a->user, b->user) &&
		str_same(a->domain, b->domain) &&
		str_same(a->secret, b->secret) &&
		str_same(a->authuser, b->authuser) &&
		str_same(a->host, b->host) && a->port == b->port &&
		str_same(a->contact, b->contact) && a->tp == b->tp &&
		a->expires == b->expires && a->timeout_s == b->timeout_s &&
		a->retry_min == b->retry_min && a->retry_max == b->retry_max;
}


static int print_host(struct re_printf *pf, const struct treg_spec *s)
{
	bool v6 = strchr(s->host, ':') != NULL;
	int err;

	err = re_hprintf(pf, v6 ? "[%s]" : "%s", s->host);
	if (s->port)
		err |= re_hprintf(pf, ":%u", s->port);

	return err;
}


/** The address of record: sip:user@domain (the server when no domain). */
int treg_spec_aor(const struct treg_spec *s, char *buf, size_t sz)
{
	int n = s->domain
		? re_snprintf(buf, sz, "sip:%s@%s", s->user, s->domain)
		: re_snprintf(buf, sz, "sip:%s@%H", s->user, print_host, s);

	return n < 0 || (size_t)n >= sz ? ENOMEM : 0;
}


/** The registrar's URI, where REGISTER goes: sip:host[:port][;transport]. */
int treg_spec_server(const struct treg_spec *s, char *buf, size_t sz)
{
	int n = re_snprintf(buf, sz, "sip:%H%s", print_host, s,
			    s->tp == SIP_TRANSP_TCP ? ";transport=tcp" : "");

	return n < 0 || (size_t)n >= sz ? ENOMEM : 0;
}


/**
 * Seconds to wait before attempt number @a failures + 1: @a min_s after
 * the first failure, doubling each time, never more than @a max_s.
 */
uint32_t trunk_backoff(uint32_t failures, uint32_t min_s, uint32_t max_s)
{
	uint64_t wait = min_s ? min_s : 1;

	if (!failures)
		return 0;
	if (max_s < wait)
		max_s = (uint32_t)wait;

	for (uint32_t i = 1; i < failures && wait < max_s; i++)
		wait *= 2;

	return wait > max_s ? max_s : (uint32_t)wait;
}


/** sip.conf's insecure=: "port", "invite", "port,invite", "no". */
int trunk_insecure_parse(const char *s, unsigned *flags)
{
	struct pl pl, word;

	if (!s || !flags)
		return EINVAL;

	*flags = 0;
	pl_set_str(&pl, s);
	while (pl.l) {
		const char *comma = pl_strchr(&pl, ',');

		word.p = pl.p;
		word.l = comma ? (size_t)(comma - pl.p) : pl.l;
		pl_advance(&pl, word.l + (comma ? 1 : 0));

		if (!pl_strcasecmp(&word, "port"))
			*flags |= INSECURE_PORT;
		else if (!pl_strcasecmp(&word, "invite"))
			*flags |= INSECURE_INVITE;
		else if (pl_strcasecmp(&word, "no") || *flags)
			return EINVAL;
	}

	return 0;
}


/**
 * @a uri with its user part replaced by @a user: how a number is dialled
 * over a peer that registered a contact (sip:trunk@10.0.0.2:5060;ob
 * becomes sip:900@10.0.0.2:5060;ob).
 */
int trunk_uri_with_user(char *buf, size_t sz, const char *uri,
			const char *user)
{
	const char *colon, *hostpart, *at;
	int n;

	if (!buf || !uri || !user)
		return EINVAL;

	colon = strchr(uri, ':');
	if (!colon || colon == uri)
		return EINVAL;

	/* an '@' counts only before the parameters and headers */
	hostpart = colon + 1;
	at = strchr(hostpart, '@');
	if (at && (size_t)(at - hostpart) < strcspn(hostpart, ";?"))
		hostpart = at + 1;
	if (!*hostpart)
		return EINVAL;

	n = re_snprintf(buf, sz, "%b:%s@%s", uri, (size_t)(colon - uri),
			user, hostpart);

	return n < 0 || (size_t)n >= sz ? ENOMEM : 0;
}
