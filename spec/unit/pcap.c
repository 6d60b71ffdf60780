/**
 * @file pcap.c  Spec of the pcap writer (core/capture/pcap.h): the bytes
 * of the file header, of each record header and of the IP, UDP and TCP
 * headers made up around a payload.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <re.h>
#include "pbx.h"
#include "log.h"
#include "capture/capture.h"
#include "capture/pcap.h"
#include "tap.h"


static char dir[64];

/* is_int() with a formatted name */
#define is_intf(got, exp, ...) \
	(ok((long long)(got) == (long long)(exp), __VA_ARGS__) || \
	 (diag("    got %lld, expected %lld", (long long)(got), \
	       (long long)(exp)), false))


static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}


static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)be16(p) << 16 | be16(p + 2);
}


static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}


/* One's complement sum folded: 0xffff when a header with its checksum
 * in place is intact. */
static uint16_t fold(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);

	return (uint16_t)sum;
}


/* The transport checksum checked over the pseudo-header. */
static uint16_t transport_sum(const uint8_t *ip, bool v6, uint8_t proto,
			      const uint8_t *t, size_t tlen)
{
	uint32_t sum = proto + (uint32_t)tlen;

	sum += fold(0, v6 ? ip + 8 : ip + 12, v6 ? 32 : 8);

	return fold(sum, t, tlen);
}


static size_t read_file(const char *path, uint8_t *buf, size_t sz)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return 0;
	n = fread(buf, 1, sz, f);
	fclose(f);

	return n;
}


static void test_file_header(const uint8_t *b, size_t n)
{
	ok(n >= 24, "the file starts with a 24-byte header");
	is_int(le32(b), 0xa1b2c3d4, "magic a1b2c3d4 (little-endian,"
	       " microsecond time stamps)");
	ok(b[4] == 2 && b[5] == 0 && b[6] == 4 && b[7] == 0,
	   "version 2.4");
	is_int(le32(b + 8), 0, "thiszone 0 (UTC)");
	is_int(le32(b + 16), 65535, "snaplen 65535");
	is_int(le32(b + 20), 101, "link type 101: raw IP");
}


static const uint8_t *test_udp4(const uint8_t *r, const char *payload)
{
	size_t plen = strlen(payload);
	const uint8_t *ip = r + 16, *udp = ip + 20;

	is_int(le32(r), 1700000000, "record: seconds of the time stamp");
	is_int(le32(r + 4), 123456, "record: microseconds");
	is_int(le32(r + 8), 28 + plen, "record: captured length = IPv4 +"
	       " UDP headers + payload");
	is_int(le32(r + 12), 28 + plen, "record: original length the same");
	is_int(ip[0], 0x45, "IPv4, 20-byte header");
	is_int(be16(ip + 2), 28 + plen, "IPv4 total length");
	is_int(be16(ip + 6), 0x4000, "don't fragment, offset 0");
	is_int(ip[8], 64, "TTL 64");
	is_int(ip[9], 17, "protocol 17 (UDP)");
	is_int(fold(0, ip, 20), 0xffff, "IPv4 header checksum is right");
	ok(!memcmp(ip + 12, "\x7f\x05\x50\x0b", 4) &&
	   !memcmp(ip + 16, "\x7f\x05\x50\x0a", 4),
	   "source 127.5.80.11, destination 127.5.80.10");
	is_int(be16(udp), 5060, "UDP source port");
	is_int(be16(udp + 2), 5070, "UDP destination port");
	is_int(be16(udp + 4), 8 + plen, "UDP length");
	is_int(transport_sum(ip, false, 17, udp, 8 + plen), 0xffff,
	       "UDP checksum is right");
	ok(!memcmp(udp + 8, payload, plen), "the payload follows, intact");

	return r + 16 + 28 + plen;
}


/* TCP: one segment; returns the next record. */
static const uint8_t *check_tcp(const uint8_t *r, size_t plen,
				uint16_t sport, uint32_t seq, uint32_t ack,
				uint8_t flags, const char *what)
{
	const uint8_t *ip = r + 16, *tcp = ip + 20;

	is_intf(le32(r + 8), 40 + plen, "%s: captured length", what);
	ok(ip[9] == 6 && be16(ip + 2) == 40 + plen,
	   "%s: IPv4 protocol 6 (TCP), total length", what);
	is_intf(be16(tcp), sport, what);
	is_intf(be32(tcp + 4), seq, "%s: sequence number", what);
	is_intf(be32(tcp + 8), ack, "%s: acknowledgement number", what);
	is_intf(tcp[12], 0x50, "%s: data offset 5 words", what);
	is_intf(tcp[13], flags, "%s: flags", what);
	is_intf(transport_sum(ip, false, 6, tcp, 20 + plen), 0xffff,
	       "%s: TCP checksum is right", what);

	return r + 16 + 40 + plen;
}


static void test_v4(void)
{
	static const char *inv = "INVITE sip:100@127.5.80.10 SIP/2.0\r\n"
		"Content-Length: 0\r\n\r\n";
	static const char *ok200 = "SIP/2.0 200 OK\r\n\r\n";
	struct sa a, b;
	struct pcapw *w = NULL;
	uint8_t buf[4096];
	const uint8_t *r;
	char path[128];
	struct leakcheck lc;
	size_t n, total;
	int err;

	leak_begin(&lc);
	re_snprintf(path, sizeof(path), "%s/v4.pcap", dir);
	(void)sa_set_str(&a, "127.5.80.11", 5060);
	(void)sa_set_str(&b, "127.5.80.10", 5070);

	err = pcapw_open(&w, path);
	is_int(err, 0, "pcapw_open() creates the file");
	if (err)
		return;
	is_str(pcapw_path(w), path, "pcapw_path() says where");

	err  = pcapw_write(w, 1700000000123456ULL, PCAPW_UDP, &a, &b,
			   (const uint8_t *)inv, strlen(inv));
	err |= pcapw_write(w, 1700000000223456ULL, PCAPW_TCP, &a, &b,
			   (const uint8_t *)inv, strlen(inv));
	err |= pcapw_write(w, 1700000000323456ULL, PCAPW_TCP, &b, &a,
			   (const uint8_t *)ok200, strlen(ok200));
	err |= pcapw_write(w, 1700000000423456ULL, PCAPW_TCP, &a, &b,
			   (const uint8_t *)ok200, strlen(ok200));
	is_int(err, 0, "four records written (UDP, then TCP both ways)");
	is_int(pcapw_records(w), 4, "pcapw_records() counts them");
	w = mem_deref(w);

	n = read_file(path, buf, sizeof(buf));
	total = 24 + 16 + 28 + strlen(inv) + 3 * (16 + 40) + strlen(inv) +
		2 * strlen(ok200);
	is_int(n, total, "file size: header + 4 records, nothing else");
	test_file_header(buf, n);
	if (n != total)
		goto out;

	r = test_udp4(buf + 24, inv);
	r = check_tcp(r, strlen(inv), 5060, 1, 0, 0x08,
		      "first TCP segment a->b (no ACK known yet)");
	r = check_tcp(r, strlen(ok200), 5070, 1, 1 + (uint32_t)strlen(inv),
		      0x18, "answer b->a acknowledges what a sent");
	(void)check_tcp(r, strlen(ok200), 5060, 1 + (uint32_t)strlen(inv),
			1 + (uint32_t)strlen(ok200), 0x18,
			"next a->b: sequence goes on after the first message");
 out:
	unlink(path);
	leak_end(&lc, "writing a v4 capture");
}


static void test_v6(void)
{
	static const char *pkt = "\x80\x00\x00\x01rtp!";
	struct sa a, b;
	struct pcapw *w = NULL;
	uint8_t buf[512];
	const uint8_t *ip, *udp;
	char path[128];
	struct leakcheck lc;
	size_t n;

	leak_begin(&lc);
	re_snprintf(path, sizeof(path), "%s/v6.pcap", dir);
	(void)sa_set_str(&a, "::1", 20000);
	(void)sa_set_str(&b, "fe80::1", 30000);

	if (pcapw_open(&w, path)) {
		ok(false, "pcapw_open() for IPv6");
		return;
	}
	is_int(pcapw_write(w, 5, PCAPW_UDP, &a, &b, (const uint8_t *)pkt, 8),
	       0, "an IPv6 UDP record");
	w = mem_deref(w);

	n = read_file(path, buf, sizeof(buf));
	is_int(n, 24 + 16 + 40 + 8 + 8, "file size with a 40-byte IPv6"
	       " header");
	ip = buf + 40;
	udp = ip + 40;
	if (n == 24 + 16 + 40 + 8 + 8) {
		is_int(ip[0] >> 4, 6, "IP version 6");
		is_int(be16(ip + 4), 16, "IPv6 payload length");
		ok(ip[6] == 17 && ip[7] == 64, "next header UDP, hop limit 64");
		ok(ip[8 + 15] == 1 && ip[24] == 0xfe && ip[25] == 0x80,
		   "source ::1, destination fe80::1");
		ok(be16(udp) == 20000 && be16(udp + 2) == 30000,
		   "UDP ports");
		is_int(transport_sum(ip, true, 17, udp, 16), 0xffff,
		       "UDP checksum over the IPv6 pseudo-header is right");
	}
	unlink(path);
	leak_end(&lc, "writing a v6 capture");
}


static void test_big_tcp(void)
{
	size_t big = 70000;
	uint8_t *data = calloc(1, big), *buf = malloc(big + 1024);
	struct pcapw *w = NULL;
	struct sa a, b;
	char path[128];
	const uint8_t *r;
	struct leakcheck lc;
	size_t n;

	leak_begin(&lc);
	re_snprintf(path, sizeof(path), "%s/big.pcap", dir);
	(void)sa_set_str(&a, "127.0.0.1", 5060);
	(void)sa_set_str(&b, "127.0.0.2", 5060);
	if (!data || !buf || pcapw_open(&w, path)) {
		ok(false, "set-up for a big TCP message");
		goto out;
	}
	is_int(pcapw_write(w, 0, PCAPW_TCP, &a, &b, data, big), 0,
	       "a 70000-byte message over TCP");
	is_int(pcapw_records(w), 2, "... is cut into two segments");
	w = mem_deref(w);

	n = read_file(path, buf, big + 1024);
	is_int(n, 24 + 2 * (16 + 40) + big, "... of 65000 and 5000 bytes");
	if (n == 24 + 2 * (16 + 40) + big) {
		r = check_tcp(buf + 24, 65000, 5060, 1, 0, 0x08,
			      "segment 1");
		(void)check_tcp(r, 5000, 5060, 65001, 0, 0x08,
				"segment 2 follows it");
	}
	unlink(path);
 out:
	mem_deref(w);
	free(data);
	free(buf);
	leak_end(&lc, "a big TCP message");
}


static void test_errors(void)
{
	struct pcapw *w = NULL;
	struct sa a, b;
	char path[128], link[128];
	struct leakcheck lc;

	leak_begin(&lc);
	re_snprintf(path, sizeof(path), "%s/err.pcap", dir);
	re_snprintf(link, sizeof(link), "%s/link.pcap", dir);
	(void)sa_set_str(&a, "127.0.0.1", 1);
	(void)sa_set_str(&b, "::1", 2);

	if (0 == pcapw_open(&w, path)) {
		is_int(pcapw_write(w, 0, PCAPW_UDP, &a, &b,
				   (const uint8_t *)"x", 1), EAFNOSUPPORT,
		       "IPv4 to IPv6 is refused");
		is_int(pcapw_write(w, 0, (enum pcapw_proto)1, &a, &a,
				   (const uint8_t *)"x", 1), EPROTONOSUPPORT,
		       "a protocol other than UDP or TCP is refused");
		is_int(pcapw_write(w, 0, PCAPW_UDP, &a, &a, NULL, 70000),
		       EINVAL, "no data is refused");
		is_int(pcapw_records(w), 0, "nothing was written");
	}
	w = mem_deref(w);

	ok(0 == symlink(path, link), "a symbolic link to a capture file");
	is_int(pcapw_open(&w, link), ELOOP, "pcapw_open() does not follow"
	       " a symbolic link");
	ok(pcapw_open(&w, "/nonexistent/dir/x.pcap") == ENOENT && !w,
	   "a missing folder: ENOENT, nothing allocated");
	unlink(link);
	unlink(path);
	leak_end(&lc, "errors");
}


static void test_capture(void)
{
	static const struct { const char *name; bool ok; } names[] = {
		{"lab.pcap", true}, {"call-2024_05.pcap", true}, {"x", true},
		{"", false}, {".hidden.pcap", false}, {"../escape.pcap", false},
		{"a/b.pcap", false}, {"sp ace.pcap", false}, {"x;rm", false},
	};
	struct capture *c = NULL;
	struct leakcheck lc;
	char path[128];

	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		ok(capture_name_ok(names[i].name) == names[i].ok,
		   "capture name '%s' is %s", names[i].name,
		   names[i].ok ? "accepted" : "refused");

	leak_begin(&lc);
	if (capture_alloc(&c, dir)) {
		ok(false, "capture_alloc()");
		return;
	}
	ok(!capture_path(c) && !capture_rtp_all(c), "no capture at first");
	is_int(capture_start(c, "../escape.pcap", true), EINVAL,
	       "a name that leaves the folder: EINVAL");
	is_int(capture_start(c, "one.pcap", true), 0,
	       "start: <state>/captures/one.pcap (the folder is made)");
	re_snprintf(path, sizeof(path), "%s/captures/one.pcap", dir);
	is_str(capture_path(c), path, "capture_path() says where");
	ok(capture_rtp_all(c), "... with the RTP of every call");
	is_int(capture_start(c, "one.pcap", false), 0,
	       "the same file again: goes on, rtp now false");
	ok(!capture_rtp_all(c), "... rtp_all follows");
	is_int(capture_start(c, "two.pcap", true), 0, "another file");
	re_snprintf(path, sizeof(path), "%s/captures/two.pcap", dir);
	is_str(capture_path(c), path, "... is the one written now");
	capture_stop(c);
	ok(!capture_path(c), "stopped: no file");
	c = mem_deref(c);

	re_snprintf(path, sizeof(path), "%s/captures/one.pcap", dir);
	unlink(path);
	re_snprintf(path, sizeof(path), "%s/captures/two.pcap", dir);
	unlink(path);
	re_snprintf(path, sizeof(path), "%s/captures", dir);
	rmdir(path);
	leak_end(&lc, "capture sessions");
}


int main(void)
{
	struct leakcheck all;
	int err;

	err = libre_init();
	if (err)
		return 1;
	log_set_level(LOG_WARN);   /* the capture's info lines are no news */
	leak_begin(&all);

	str_ncpy(dir, "/tmp/lunapbx-pcap-XXXXXX", sizeof(dir));
	if (!mkdtemp(dir)) {
		ok(false, "a temporary folder");
		return done_testing();
	}

	test_v4();
	test_v6();
	test_big_tcp();
	test_errors();
	test_capture();
	rmdir(dir);

	leak_end(&all, "the whole file");
	libre_close();

	return done_testing();
}
