/**
 * @file rawudp.h  A UDP datagram with its IPv4 header, for a raw socket.
 *
 * The PBX sends a bridged leg's RTP through one raw socket (IPPROTO_RAW:
 * it sends only, and receives nothing) rather than through the leg's own
 * UDP socket: the kernel then touches one socket, always in the cache,
 * instead of one per leg.  The datagram must say which address and port
 * it comes from, the leg's own: the phone sees no difference.
 */

enum { RAWUDP_HDR = 28 };    /* IPv4 (20, no options) + UDP (8) */

size_t rawudp_fill(uint8_t *buf, size_t size, const struct sa *src,
		   const struct sa *dst, const uint8_t *payload, size_t len);
