/**
 * @file rawudp.c  Spec of the datagrams the PBX sends through its raw
 * socket (core/media/rawudp.h): the IPv4 and UDP headers a phone's stack
 * accepts, the UDP checksum as RFC 768 defines it (checked against
 * values computed independently, even and odd payload lengths), and no
 * datagram where one cannot be made.
 */
#include <string.h>
#include <re.h>
#include "pbx.h"
#include "media/rawudp.h"
#include "tap.h"



static unsigned be16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}


static void test_datagram(const char *payload, unsigned exp_csum)
{
	uint8_t buf[256];
	struct sa src, dst;
	size_t len = strlen(payload);
	size_t n;

	(void)sa_set_str(&src, "192.0.2.1", 4000);
	(void)sa_set_str(&dst, "198.51.100.7", 5004);
	n = rawudp_fill(buf, sizeof(buf), &src, &dst,
			(const uint8_t *)payload, len);

	diag("payload \"%s\"", payload);
	is_int((long long)n, RAWUDP_HDR + (long long)len,
	       "IPv4 header, UDP header and payload");
	is_int(buf[0], 0x45, "... IPv4, a 20-byte header");
	is_int(be16(buf + 2), (long long)n, "... total length");
	is_int(be16(buf + 6), 0x4000, "... don't fragment");
	is_int(buf[9], 17, "... protocol UDP");
	ok(0 == memcmp(buf + 12, "\xc0\x00\x02\x01\xc6\x33\x64\x07", 8),
	   "... from 192.0.2.1 to 198.51.100.7");
	is_int(be16(buf + 20), 4000, "... source port");
	is_int(be16(buf + 22), 5004, "... destination port");
	is_int(be16(buf + 24), 8 + (long long)len, "... UDP length");
	is_int(be16(buf + 26), exp_csum, "... the UDP checksum (RFC 768)");
	ok(0 == memcmp(buf + RAWUDP_HDR, payload, len), "... the payload");
}


static void test_refusals(void)
{
	uint8_t buf[64], big[100] = {0};
	struct sa v4, v6;

	(void)sa_set_str(&v4, "192.0.2.1", 4000);
	(void)sa_set_str(&v6, "2001:db8::1", 4000);

	is_int((long long)rawudp_fill(buf, sizeof(buf), &v6, &v4, big, 4), 0,
	       "no datagram from an IPv6 address");
	is_int((long long)rawudp_fill(buf, sizeof(buf), &v4, &v6, big, 4), 0,
	       "... nor to one");
	is_int((long long)rawudp_fill(buf, sizeof(buf), &v4, &v4, big,
				      sizeof(big)), 0,
	       "... nor one larger than the buffer");
	is_int((long long)rawudp_fill(buf, sizeof(buf), NULL, &v4, big, 4), 0,
	       "... nor without a source");
}


/* RFC 768 written out the slow way, one 16-bit word at a time. */
static unsigned ref_csum(const uint8_t *dgram, size_t n)
{
	uint32_t sum = 17 + (uint32_t)(n - 20);
	uint8_t tmp[512];

	memcpy(tmp, dgram, n);
	tmp[26] = tmp[27] = 0;
	for (size_t i = 12; i < 20; i += 2)         /* the addresses */
		sum += (uint32_t)tmp[i] << 8 | tmp[i + 1];
	for (size_t i = 20; i < n; i += 2)
		sum += (uint32_t)tmp[i] << 8 | (i + 1 < n ? tmp[i + 1] : 0);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;

	return sum ? sum : 0xffff;
}


/* Every payload length up to 300 bytes (an RTP packet is 172), random
 * bytes: the checksum is RFC 768's. */
static void test_lengths(void)
{
	uint8_t payload[300], buf[512];
	struct sa src, dst;
	int bad = 0;

	(void)sa_set_str(&src, "10.1.2.3", 40000);
	(void)sa_set_str(&dst, "10.200.3.4", 5004);
	for (size_t len = 0; len <= sizeof(payload); len++) {
		size_t n;

		for (size_t i = 0; i < len; i++)
			payload[i] = (uint8_t)rand_u16();
		n = rawudp_fill(buf, sizeof(buf), &src, &dst, payload, len);
		bad += n != RAWUDP_HDR + len || be16(buf + 26) !=
			ref_csum(buf, n);
	}
	is_int(bad, 0, "checksums of payloads of 0 to 300 random bytes");
}


int main(void)
{
	test_datagram("lunapbx!", 0x2d0b);
	test_datagram("lunapbx", 0x2d2e);
	test_lengths();
	test_refusals();

	return done_testing();
}
