/**
 * @file pcap.c  A pcap file writer (see pcap.h).
 *
 * One record per payload, written with a single writev(): a reader that
 * follows the file while the PBX writes it (tshark -r, Wireshark's reload)
 * never sees half a record.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>
#include <re.h>
#include "capture/pcap.h"

enum {
	REC_HDR = 16,
	IP4_HDR = 20,
	IP6_HDR = 40,
	UDP_HDR = 8,
	TCP_HDR = 20,
	HDR_MAX = REC_HDR + IP6_HDR + TCP_HDR,
	TCP_SEG_MAX = 65000,     /* payload per made-up TCP segment     */
	MAX_FLOWS = 4096,        /* TCP directions remembered           */
	TTL = 64,
};

struct pcapw {
	int fd;
	char *path;
	uint64_t records;
	uint16_t ip_id;
	struct hash *flows;
	uint32_t nflows;
};

/* One direction of a TCP connection: the next sequence number it sends. */
struct flow {
	struct le he;
	struct sa src, dst;
	uint32_t seq;
};


static void destructor(void *arg)
{
	struct pcapw *w = arg;

	if (w->fd >= 0)
		(void)close(w->fd);
	hash_flush(w->flows);
	mem_deref(w->flows);
	mem_deref(w->path);
}


static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}


static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}


static void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}


/* The Internet checksum (RFC 1071), summed in pieces of even length
 * except the last. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	for (; len > 1; p += 2, len -= 2)
		sum += (uint32_t)(p[0] << 8 | p[1]);
	if (len)
		sum += (uint32_t)(p[0] << 8);

	return sum;
}


static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);

	return (uint16_t)~sum;
}


/** Write the file header.  O_NOFOLLOW: a link planted where the capture
 *  goes is refused, not followed. */
int pcapw_open(struct pcapw **wp, const char *path)
{
	uint8_t hdr[24];
	struct pcapw *w;
	int err;

	if (!wp || !path)
		return EINVAL;

	w = mem_zalloc(sizeof(*w), destructor);
	if (!w)
		return ENOMEM;

	w->fd = -1;
	err = str_dup(&w->path, path);
	if (!err)
		err = hash_alloc(&w->flows, 64);
	if (err)
		goto out;

	w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
		     O_CLOEXEC, 0600);
	if (w->fd < 0) {
		err = errno;
		goto out;
	}

	put32le(hdr, 0xa1b2c3d4);              /* magic: microseconds  */
	hdr[4] = 2; hdr[5] = 0;                /* version 2.4, LE      */
	hdr[6] = 4; hdr[7] = 0;
	put32le(hdr + 8, 0);                   /* thiszone: UTC        */
	put32le(hdr + 12, 0);                  /* sigfigs              */
	put32le(hdr + 16, PCAPW_SNAPLEN);
	put32le(hdr + 20, PCAPW_LINKTYPE_RAW);
	if (write(w->fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr))
		err = errno ? errno : EIO;

 out:
	if (err)
		mem_deref(w);
	else
		*wp = w;

	return err;
}


static bool flow_cmp(struct le *le, void *arg)
{
	const struct flow *f = le->data;
	const struct sa *key = arg;

	return sa_cmp(&f->src, &key[0], SA_ALL) &&
		sa_cmp(&f->dst, &key[1], SA_ALL);
}


static struct flow *flow_find(const struct pcapw *w, const struct sa *src,
			      const struct sa *dst)
{
	struct sa key[2] = { *src, *dst };
	struct le *le = hash_lookup(w->flows, sa_hash(src, SA_ALL) ^
				    sa_hash(dst, SA_ALL), flow_cmp, key);

	return le ? le->data : NULL;
}


/* The direction src -> dst, created at sequence number 1 when new. */
static struct flow *flow_get(struct pcapw *w, const struct sa *src,
			     const struct sa *dst)
{
	struct flow *f = flow_find(w, src, dst);

	if (f)
		return f;

	if (w->nflows >= MAX_FLOWS) {   /* forget them all: rare, harmless */
		hash_flush(w->flows);
		w->nflows = 0;
	}

	f = mem_zalloc(sizeof(*f), NULL);
	if (!f)
		return NULL;

	f->src = *src;
	f->dst = *dst;
	f->seq = 1;
	hash_append(w->flows, sa_hash(src, SA_ALL) ^ sa_hash(dst, SA_ALL),
		    &f->he, f);
	++w->nflows;

	return f;
}


/* IP header at @a p; returns its length.  The pseudo-header sum of the
 * transport checksum goes to @a sum. */
static size_t ip_header(struct pcapw *w, uint8_t *p, enum pcapw_proto proto,
			const struct sa *src, const struct sa *dst,
			size_t tlen, uint32_t *sum)
{
	uint8_t pseudo[4];

	put16(pseudo, (uint16_t)proto);
	put16(pseudo + 2, (uint16_t)tlen);

	if (sa_af(src) == AF_INET) {
		memset(p, 0, IP4_HDR);
		p[0] = 0x45;
		put16(p + 2, (uint16_t)(IP4_HDR + tlen));
		put16(p + 4, ++w->ip_id);
		put16(p + 6, 0x4000);          /* don't fragment */
		p[8] = TTL;
		p[9] = (uint8_t)proto;
		memcpy(p + 12, &src->u.in.sin_addr, 4);
		memcpy(p + 16, &dst->u.in.sin_addr, 4);
		put16(p + 10, csum_fold(csum_add(0, p, IP4_HDR)));
		*sum = csum_add(csum_add(0, p + 12, 8), pseudo, 4);
		return IP4_HDR;
	}

	memset(p, 0, IP6_HDR);
	p[0] = 0x60;
	put16(p + 4, (uint16_t)tlen);
	p[6] = (uint8_t)proto;
	p[7] = TTL;
	memcpy(p + 8, &src->u.in6.sin6_addr, 16);
	memcpy(p + 24, &dst->u.in6.sin6_addr, 16);
	*sum = csum_add(csum_add(0, p + 8, 32), pseudo, 4);

	return IP6_HDR;
}


static int write_record(struct pcapw *w, uint64_t ts_us, uint8_t *hdr,
			size_t hlen, const uint8_t *data, size_t len)
{
	struct iovec iov[2];
	size_t total = hlen - REC_HDR + len;
	ssize_t n;

	put32le(hdr, (uint32_t)(ts_us / 1000000));
	put32le(hdr + 4, (uint32_t)(ts_us % 1000000));
	put32le(hdr + 8, (uint32_t)total);
	put32le(hdr + 12, (uint32_t)total);

	iov[0].iov_base = hdr;
	iov[0].iov_len = hlen;
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;

	n = writev(w->fd, iov, len ? 2 : 1);
	if (n < 0)
		return errno;
	if ((size_t)n != hlen + len)
		return EIO;

	++w->records;
	return 0;
}


static int write_udp(struct pcapw *w, uint64_t ts_us, const struct sa *src,
		     const struct sa *dst, const uint8_t *data, size_t len)
{
	uint8_t hdr[HDR_MAX], *udp;
	uint32_t sum;
	uint16_t cs;
	size_t ip;

	if (len > PCAPW_SNAPLEN - IP6_HDR - UDP_HDR)
		return EMSGSIZE;

	ip = ip_header(w, hdr + REC_HDR, PCAPW_UDP, src, dst,
		       UDP_HDR + len, &sum);
	udp = hdr + REC_HDR + ip;
	put16(udp, sa_port(src));
	put16(udp + 2, sa_port(dst));
	put16(udp + 4, (uint16_t)(UDP_HDR + len));
	put16(udp + 6, 0);
	cs = csum_fold(csum_add(csum_add(sum, udp, UDP_HDR), data, len));
	put16(udp + 6, cs ? cs : 0xffff);

	return write_record(w, ts_us, hdr, REC_HDR + ip + UDP_HDR, data, len);
}


static int write_tcp(struct pcapw *w, uint64_t ts_us, const struct sa *src,
		     const struct sa *dst, const uint8_t *data, size_t len)
{
	struct flow *f = flow_get(w, src, dst);
	const struct flow *back = flow_find(w, dst, src);
	uint8_t hdr[HDR_MAX], *tcp;
	uint32_t sum;
	size_t ip, seg;
	int err = 0;

	if (!f)
		return ENOMEM;

	/* a message bigger than one IP packet: several segments */
	do {
		seg = min(len, (size_t)TCP_SEG_MAX);
		ip = ip_header(w, hdr + REC_HDR, PCAPW_TCP, src, dst,
			       TCP_HDR + seg, &sum);
		tcp = hdr + REC_HDR + ip;
		memset(tcp, 0, TCP_HDR);
		put16(tcp, sa_port(src));
		put16(tcp + 2, sa_port(dst));
		put32(tcp + 4, f->seq);
		put32(tcp + 8, back ? back->seq : 0);
		tcp[12] = (TCP_HDR / 4) << 4;
		tcp[13] = back ? 0x18 : 0x08;  /* PSH (+ACK when known) */
		put16(tcp + 14, 65535);        /* window */
		put16(tcp + 16, csum_fold(csum_add(csum_add(sum, tcp,
							     TCP_HDR),
						   data, seg)));

		err = write_record(w, ts_us, hdr, REC_HDR + ip + TCP_HDR,
				   data, seg);
		f->seq += (uint32_t)seg;
		data += seg;
		len -= seg;
	} while (!err && len);

	return err;
}


/**
 * One payload as a record.  Both addresses must be of one family (IPv4
 * or IPv6): a datagram never crosses families.
 */
int pcapw_write(struct pcapw *w, uint64_t ts_us, enum pcapw_proto proto,
		const struct sa *src, const struct sa *dst,
		const uint8_t *data, size_t len)
{
	if (!w || !src || !dst || (!data && len))
		return EINVAL;

	if (sa_af(src) != sa_af(dst) ||
	    (sa_af(src) != AF_INET && sa_af(src) != AF_INET6))
		return EAFNOSUPPORT;

	switch (proto) {

	case PCAPW_UDP:
		return write_udp(w, ts_us, src, dst, data, len);

	case PCAPW_TCP:
		return write_tcp(w, ts_us, src, dst, data, len);

	default:
		return EPROTONOSUPPORT;
	}
}


/** Wall-clock time in microseconds, as pcap records want it. */
uint64_t pcapw_now(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);

	return (uint64_t)tv.tv_sec * 1000000 + (uint64_t)tv.tv_usec;
}


uint64_t pcapw_records(const struct pcapw *w)
{
	return w ? w->records : 0;
}


const char *pcapw_path(const struct pcapw *w)
{
	return w ? w->path : NULL;
}
