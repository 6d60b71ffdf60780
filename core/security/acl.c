/**
 * @file acl.c  Address lists (see acl.h).
 */
#include <string.h>
#include <re.h>
#include "security/acl.h"

enum { MAX_RULES = 64 };

struct rule {
	uint8_t addr[16];      /* IPv4 in the first 4 bytes */
	uint8_t bits;          /* prefix length              */
	bool v6;
	bool permit;
};

struct acl {
	struct rule rules[MAX_RULES];
	uint32_t n;
	bool has_permit;
};


int acl_alloc(struct acl **aclp)
{
	struct acl *acl;

	if (!aclp)
		return EINVAL;

	acl = mem_zalloc(sizeof(*acl), NULL);
	if (!acl)
		return ENOMEM;

	*aclp = acl;
	return 0;
}


/* A dotted netmask as a prefix length; -1 when not contiguous. */
static int mask_bits(const struct pl *mask)
{
	struct sa sa;
	uint32_t m;
	int bits = 0;

	if (sa_set(&sa, mask, 0) || sa_af(&sa) != AF_INET)
		return -1;

	m = sa_in(&sa);              /* host order */
	while (m & 0x80000000u) {
		++bits;
		m <<= 1;
	}

	return m ? -1 : bits;
}


/* An address as family and bytes; an IPv4-mapped IPv6 one as IPv4. */
static bool addr_bytes(const struct sa *sa, uint8_t *b, bool *v6)
{
	static const uint8_t mapped[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};
	uint32_t v4;

	memset(b, 0, 16);
	switch (sa_af(sa)) {

	case AF_INET:
		v4 = sa_in(sa);            /* host order */
		b[0] = (uint8_t)(v4 >> 24);
		b[1] = (uint8_t)(v4 >> 16);
		b[2] = (uint8_t)(v4 >> 8);
		b[3] = (uint8_t)v4;
		*v6 = false;
		return true;

	case AF_INET6:
		sa_in6(sa, b);
		if (0 == memcmp(b, mapped, sizeof(mapped))) {
			memmove(b, b + 12, 4);
			memset(b + 4, 0, 12);
			*v6 = false;
		}
		else {
			*v6 = true;
		}
		return true;

	default:
		return false;
	}
}


static bool all_digits(const struct pl *pl)
{
	for (size_t i = 0; i < pl->l; i++) {
		if (pl->p[i] < '0' || pl->p[i] > '9')
			return false;
	}
	return pl->l > 0;
}


/** Add "ADDR[/BITS|/MASK]"; EINVAL when it is not one. */
int acl_add(struct acl *acl, bool permit, const char *s)
{
	const char *slash;
	struct pl addr, len = PL_INIT;
	struct rule *r;
	struct sa sa;
	int bits;

	if (!acl || !s)
		return EINVAL;
	if (acl->n >= MAX_RULES)
		return E2BIG;

	slash = strchr(s, '/');
	pl_set_str(&addr, s);
	if (slash) {
		addr.l = (size_t)(slash - s);
		pl_set_str(&len, slash + 1);
		if (!len.l)
			return EINVAL;
	}
	if (sa_set(&sa, &addr, 0))
		return EINVAL;

	r = &acl->rules[acl->n];
	memset(r, 0, sizeof(*r));
	if (!addr_bytes(&sa, r->addr, &r->v6))
		return EINVAL;

	if (!len.l)
		bits = r->v6 ? 128 : 32;
	else if (pl_strchr(&len, '.'))
		bits = r->v6 ? -1 : mask_bits(&len);
	else if (len.l <= 3 && all_digits(&len))
		bits = (int)pl_u32(&len);
	else
		bits = -1;
	if (bits < 0 || bits > (r->v6 ? 128 : 32) || len.l > 15)
		return EINVAL;

	r->bits = (uint8_t)bits;
	r->permit = permit;
	acl->has_permit |= permit;
	++acl->n;

	return 0;
}


static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;

	if (memcmp(a, b, whole))
		return false;
	if (!rest)
		return true;

	return ((a[whole] ^ b[whole]) & (uint8_t)(0xff << (8 - rest))) == 0;
}


bool acl_allows(const struct acl *acl, const struct sa *addr)
{
	const struct rule *best = NULL;
	uint8_t b[16];
	bool v6;

	if (!acl || !acl->n)
		return true;
	if (!addr || !addr_bytes(addr, b, &v6))
		return false;

	for (uint32_t i = 0; i < acl->n; i++) {
		const struct rule *r = &acl->rules[i];

		if (r->v6 != v6 || !prefix_match(r->addr, b, r->bits))
			continue;
		if (!best || r->bits > best->bits ||
		    (r->bits == best->bits && !r->permit))
			best = r;
	}

	return best ? best->permit : !acl->has_permit;
}


uint32_t acl_count(const struct acl *acl)
{
	return acl ? acl->n : 0;
}
