/**
 * @file rawudp.c  A UDP datagram with its IPv4 header (see rawudp.h).
 *
 * The kernel fills in the IP header's checksum and identification; the
 * UDP checksum is ours, over the pseudo-header (RFC 768), since a raw
 * socket's packet gets no checksum offload.
 */
#include <endian.h>
#include <stddef.h>
#include <string.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <re.h>
#include "media/rawudp.h"

enum { TTL = 64 };


/* The 16-bit big-endian words of @a p added to @a sum.  Eight bytes at a
 * time: a 32-bit word is two 16-bit ones, and 2^16 = 1 modulo 0xffff, so
 * folding the 64-bit total gives the ones' complement sum (RFC 1071). */
static uint64_t sum16(uint64_t sum, const uint8_t *p, size_t len)
{
	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;

		memcpy(&w, p, sizeof(w));
		w = be64toh(w);
		sum += (w >> 32) + (w & 0xffffffffu);
	}
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}


static uint16_t fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}


/**
 * Write into @a buf (@a size bytes) the datagram carrying @a payload from
 * @a src to @a dst (both IPv4).  The datagram's length, or 0 when it does
 * not fit or an address is not IPv4.
 */
size_t rawudp_fill(uint8_t *buf, size_t size, const struct sa *src,
		   const struct sa *dst, const uint8_t *payload, size_t len)
{
	struct iphdr ip;
	struct udphdr u;
	uint16_t csum;
	size_t total = RAWUDP_HDR + len;

	if (!buf || !src || !dst || sa_af(src) != AF_INET ||
	    sa_af(dst) != AF_INET || total > size || total > 0xffff)
		return 0;

	memset(&ip, 0, sizeof(ip));
	ip.version = 4;
	ip.ihl = 5;
	ip.tot_len = htons((uint16_t)total);
	ip.frag_off = htons(IP_DF);     /* as Linux sends UDP by default */
	ip.ttl = TTL;
	ip.protocol = IPPROTO_UDP;
	ip.saddr = src->u.in.sin_addr.s_addr;
	ip.daddr = dst->u.in.sin_addr.s_addr;

	memset(&u, 0, sizeof(u));
	u.source = src->u.in.sin_port;
	u.dest = dst->u.in.sin_port;
	u.len = htons((uint16_t)(sizeof(u) + len));

	memcpy(buf, &ip, sizeof(ip));
	memcpy(buf + sizeof(ip), &u, sizeof(u));
	memcpy(buf + RAWUDP_HDR, payload, len);

	/* pseudo-header: addresses, protocol, UDP length; then the datagram */
	csum = fold(sum16(sum16(IPPROTO_UDP + sizeof(u) + len,
				(const uint8_t *)&ip.saddr, 8),
			  buf + sizeof(ip), sizeof(u) + len));
	csum = htons(csum ? csum : 0xffff);  /* 0 would mean "none" */
	memcpy(buf + sizeof(ip) + offsetof(struct udphdr, check), &csum,
	       sizeof(csum));

	return total;
}
