/**
 * @file rtpload.c  RTP for the media benchmarks: G.711 streams of many calls
 * from one socket, and what comes back (loss, lateness).
 *
 *   rtpload -l ADDR:PORT [-m echo|listen] [-L LATE_MS]
 *     Commands on stdin, one a line:
 *       add ID ADDR:PORT  echo: send a 20 ms G.711 stream (SSRC from ID) to
 *                         ADDR:PORT and expect it back, echoed by the far
 *                         end; listen: expect a stream from ADDR:PORT
 *       del ID            forget a call
 *       report            one JSON line of counters on stdout
 *       quit
 *   rtpload -l ADDR:PORT -m conf [-L LATE_MS]
 *       add ID ADDR:PORT [tone]
 *                         conference: send a 20 ms G.711 stream to a
 *                         member's ADDR:PORT (a 1 kHz tone, or silence)
 *                         and expect the mix back from it, as listen does
 *   rtpload -l ADDR:PORT -b ADDR:PORT [-s SECONDS]
 *     blast: packets as fast as one core sends them (to saturate a relay)
 *
 * A packet is late when it arrives LATE_MS (default 50) after it should:
 * echo: its round trip, from the time stamp it carries; listen: its
 * transit (arrival minus RTP time stamp) above the call's smallest.
 * Arrival times are the kernel's (SO_TIMESTAMPNS), so this process being
 * scheduled late does not count against the PBX.  Losses are gaps in
 * per-call counters (echo) or RTP sequence numbers (listen).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "udpaddr.h"

enum {
	MAX_CALLS = 20000,
	BATCH = 64,
	PTIME_MS = 20,
	SAMPLES = 160,               /* 20 ms of 8 kHz G.711 */
	PKT_LEN = 12 + SAMPLES,
	PKT_MAX = 2048,
	SSRC_BASE = 0x10000000,
};

struct call {
	bool active;
	struct sockaddr_in peer;     /* echo: destination; listen: source */
	uint64_t added_ns;
	/* sending (echo, conf) */
	bool tone;                   /* conf: a tone, else silence */
	uint16_t seq;
	uint32_t ts, counter;
	uint64_t tx;
	/* receiving */
	bool rx_started;
	uint64_t rx, last_rx_ns;
	uint32_t first, highest;     /* extended counter or sequence */
	int64_t min_transit;         /* listen */
};

static struct call calls[MAX_CALLS];
static int buckets[PTIME_MS][MAX_CALLS];   /* send phase -> call ids */
static int nbucket[PTIME_MS];
static uint16_t port_call[65536];          /* listen: source port -> id+1 */
static bool listen_mode;
static bool conf_mode;           /* listen, and send as a phone does */
static uint8_t tone_frame[SAMPLES];   /* u-law, 1 kHz: 20 periods */
static int64_t late_ns = 50 * 1000000LL;

/* since the last report */
static struct {
	uint64_t late, unknown, dup;
	int64_t delay_max, delay_sum;
	uint64_t delay_n;
} win;
static uint64_t total_late, total_unknown;


static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}


static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}


static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		(uint32_t)p[2] << 8 | p[3];
}


/* ---- sending -------------------------------------------------------- */

/* G.711 u-law of one sample (ITU-T G.711, with the 0x84 bias). */
static uint8_t ulaw(int pcm)
{
	int sign = pcm < 0 ? 0x80 : 0, exp = 7, mant;

	if (pcm < 0)
		pcm = -pcm;
	if (pcm > 32635)
		pcm = 32635;
	pcm += 0x84;
	while (exp > 0 && !(pcm & (0x4000 >> (7 - exp))))
		--exp;
	mant = (pcm >> (exp + 3)) & 0x0f;

	return (uint8_t)~(sign | exp << 4 | mant);
}


static void build_packet(uint8_t *p, int id, uint64_t t)
{
	struct call *c = &calls[id];

	p[0] = 0x80;
	p[1] = 0;                    /* PCMU */
	p[2] = (uint8_t)(c->seq >> 8);
	p[3] = (uint8_t)c->seq;
	put32(p + 4, c->ts);
	put32(p + 8, SSRC_BASE + (uint32_t)id);
	if (conf_mode) {             /* what a phone says */
		if (c->tone)
			memcpy(p + 12, tone_frame, SAMPLES);
		else
			memset(p + 12, 0xff, SAMPLES);
	}
	else {
		memcpy(p + 12, &t, sizeof(t));  /* read back by us */
		put32(p + 20, c->counter);
		memset(p + 24, 0xff, PKT_LEN - 24);  /* u-law silence */
	}
	++c->seq;
	c->ts += SAMPLES;
	++c->counter;
	++c->tx;
}


static void send_bucket(int fd, int phase)
{
	static uint8_t bufs[BATCH][PKT_LEN];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	int n = 0;

	for (int i = 0; i < nbucket[phase]; i++) {
		int id = buckets[phase][i];

		if (!calls[id].active)
			continue;
		build_packet(bufs[n], id, now_ns());
		iov[n].iov_base = bufs[n];
		iov[n].iov_len = PKT_LEN;
		memset(&msgs[n], 0, sizeof(msgs[n]));
		msgs[n].msg_hdr.msg_iov = &iov[n];
		msgs[n].msg_hdr.msg_iovlen = 1;
		msgs[n].msg_hdr.msg_name = &calls[id].peer;
		msgs[n].msg_hdr.msg_namelen = sizeof(calls[id].peer);
		if (++n == BATCH || i == nbucket[phase] - 1) {
			for (int done = 0; done < n; ) {
				int s = sendmmsg(fd, msgs + done,
						 (unsigned)(n - done), 0);
				if (s <= 0)
					break;   /* counted as lost by the peer */
				done += s;
			}
			n = 0;
		}
	}
	if (n)
		(void)sendmmsg(fd, msgs, (unsigned)n, 0);
}


/* ---- receiving ------------------------------------------------------ */

static void count_delay(int64_t delay)
{
	if (delay > win.delay_max)
		win.delay_max = delay;
	win.delay_sum += delay;
	++win.delay_n;
	if (delay > late_ns) {
		++win.late;
		++total_late;
	}
}


/* Extend a 16-bit sequence number near the highest seen. */
static uint32_t extend_seq(uint32_t highest, uint16_t seq)
{
	uint32_t ext = (highest & 0xffff0000u) | seq;

	if (ext + 0x8000u < highest)
		ext += 0x10000u;
	else if (ext > highest + 0x8000u && ext >= 0x10000u)
		ext -= 0x10000u;
	return ext;
}


static void account(struct call *c, uint32_t n, uint64_t arrival)
{
	if (!c->rx_started) {
		c->rx_started = true;
		c->first = c->highest = n;
	}
	else if (n > c->highest) {
		c->highest = n;
	}
	else if (n < c->first) {
		c->first = n;    /* reordered start */
	}
	++c->rx;
	c->last_rx_ns = arrival;
}


static void on_packet(const uint8_t *p, size_t len,
		      const struct sockaddr_in *src, uint64_t arrival)
{
	struct call *c;
	uint32_t id;

	if (len < 12 || (p[0] >> 6) != 2) {
		++win.unknown, ++total_unknown;
		return;
	}

	if (listen_mode) {
		uint16_t slot = port_call[ntohs(src->sin_port)];
		uint16_t seq = (uint16_t)(p[2] << 8 | p[3]);
		int64_t transit;

		if (!slot || !calls[slot - 1].active) {
			++win.unknown, ++total_unknown;
			return;
		}
		c = &calls[slot - 1];
		/* transit in ns, against the 8 kHz RTP clock */
		transit = (int64_t)arrival -
			(int64_t)get32(p + 4) * 125000LL;
		if (!c->rx_started || transit < c->min_transit)
			c->min_transit = transit;
		account(c, c->rx_started ? extend_seq(c->highest, seq) : seq,
			arrival);
		count_delay(transit - c->min_transit);
		return;
	}

	id = get32(p + 8) - SSRC_BASE;
	if (len < 24 || id >= MAX_CALLS || !calls[id].active) {
		++win.unknown, ++total_unknown;
		return;
	}
	c = &calls[id];
	{
		uint64_t sent;

		memcpy(&sent, p + 12, sizeof(sent));
		account(c, get32(p + 20), arrival);
		count_delay((int64_t)(arrival - sent));
	}
}


static void drain(int fd)
{
	static uint8_t bufs[BATCH][PKT_MAX];
	static char ctl[BATCH][64];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in from[BATCH];
	int n;

	do {
		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = PKT_MAX;
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
			msgs[i].msg_hdr.msg_control = ctl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &msgs[i].msg_hdr;
			uint64_t arrival = 0;

			for (struct cmsghdr *cm = CMSG_FIRSTHDR(mh); cm;
			     cm = CMSG_NXTHDR(mh, cm)) {
				struct timespec ts;

				if (cm->cmsg_level != SOL_SOCKET ||
				    cm->cmsg_type != SO_TIMESTAMPNS)
					continue;
				memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
				arrival = (uint64_t)ts.tv_sec * 1000000000ULL
					+ (uint64_t)ts.tv_nsec;
			}
			if (!arrival)
				arrival = now_ns();
			on_packet(bufs[i], msgs[i].msg_len, &from[i], arrival);
		}
	} while (n == BATCH);
}


/* ---- commands ------------------------------------------------------- */

static void report(void)
{
	uint64_t tx = 0, rx = 0, lost = 0, now = now_ns();
	int active = 0, silent = 0;

	for (int i = 0; i < MAX_CALLS; i++) {
		struct call *c = &calls[i];
		uint64_t expected;

		if (!c->active)
			continue;
		++active;
		tx += c->tx;
		rx += c->rx;
		expected = c->rx_started ? (uint64_t)(c->highest - c->first)
			+ 1 : 0;
		if (expected > c->rx)
			lost += expected - c->rx;
		/* a call that gets nothing for a second: all of it is lost */
		if (now - (c->rx_started ? c->last_rx_ns : c->added_ns)
		    > 1000000000ULL)
			++silent;
	}

	printf("{\"calls\":%d,\"tx\":%llu,\"rx\":%llu,\"lost\":%llu,"
	       "\"late\":%llu,\"silent\":%d,\"unknown\":%llu,"
	       "\"delay_max_us\":%lld,\"delay_avg_us\":%lld,"
	       "\"win_late\":%llu}\n",
	       active, (unsigned long long)tx, (unsigned long long)rx,
	       (unsigned long long)lost, (unsigned long long)total_late,
	       silent, (unsigned long long)total_unknown,
	       (long long)(win.delay_max / 1000),
	       (long long)(win.delay_n ? win.delay_sum / (int64_t)win.delay_n
			   / 1000 : 0),
	       (unsigned long long)win.late);
	fflush(stdout);
	memset(&win, 0, sizeof(win));
}


static void add_call(int id, const char *addr, bool tone)
{
	struct call *c;

	if (id < 0 || id >= MAX_CALLS || calls[id].active) {
		fprintf(stderr, "rtpload: bad or busy call id %d\n", id);
		return;
	}
	c = &calls[id];
	memset(c, 0, sizeof(*c));
	if (udpaddr_parse(addr, &c->peer)) {
		fprintf(stderr, "rtpload: bad address %s\n", addr);
		return;
	}
	c->active = true;
	c->added_ns = now_ns();
	c->seq = (uint16_t)(id * 7919);
	c->ts = (uint32_t)id * 160000u;
	c->tone = tone;
	if (listen_mode) {
		port_call[ntohs(c->peer.sin_port)] = (uint16_t)(id + 1);
		if (!conf_mode)
			return;
	}
	buckets[id % PTIME_MS][nbucket[id % PTIME_MS]++] = id;
}


static void del_call(int id)
{
	if (id < 0 || id >= MAX_CALLS || !calls[id].active)
		return;
	calls[id].active = false;
	if (listen_mode)
		port_call[ntohs(calls[id].peer.sin_port)] = 0;
	/* its bucket entry stays, skipped while inactive */
}


/* Returns false on quit. */
static bool command(char *line)
{
	char addr[64], what[16] = "";
	int id;

	if (2 <= sscanf(line, "add %d %63s %15s", &id, addr, what))
		add_call(id, addr, 0 == strcmp(what, "tone"));
	else if (1 == sscanf(line, "del %d", &id))
		del_call(id);
	else if (0 == strncmp(line, "report", 6))
		report();
	else if (0 == strncmp(line, "quit", 4))
		return false;
	else if (line[0])
		fprintf(stderr, "rtpload: unknown command '%s'\n", line);

	return true;
}


/* Returns false at end of input or on quit. */
static bool read_commands(void)
{
	static char buf[65536];
	static size_t len;
	ssize_t n = read(0, buf + len, sizeof(buf) - 1 - len);
	char *p, *nl;

	if (n <= 0)
		return n < 0 && errno == EINTR;
	len += (size_t)n;
	buf[len] = 0;

	for (p = buf; (nl = strchr(p, '\n')); p = nl + 1) {
		*nl = 0;
		if (!command(p))
			return false;
	}
	len -= (size_t)(p - buf);
	memmove(buf, p, len);

	return true;
}


/* ---- main loops ----------------------------------------------------- */

/*
 * The socket is drained on a 1 ms tick, never waited on: a process asleep
 * on a loopback socket is woken by the sender's sendto(), which then pays
 * for the wake-up (a third of the PBX's CPU in the media benchmark).  Phones
 * on a network cost the PBX no such thing; the kernel time stamps keep
 * the lateness exact.
 */
static int run_load(int fd)
{
	uint64_t tick_ns = 1000000, next = now_ns(), tick = 0;
	struct pollfd pf = { 0, POLLIN, 0 };
	int on = 1;

	(void)setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof(on));
	printf("{\"ready\":true}\n");
	fflush(stdout);

	for (;;) {
		uint64_t now = now_ns();
		/* rounded up: a sub-millisecond wait must not become a spin */
		int timeout = now >= next ? 0
			: (int)((next - now + 999999) / 1000000);

		if (poll(&pf, 1, timeout) < 0 && errno != EINTR)
			return 1;
		drain(fd);
		if ((pf.revents & (POLLIN | POLLHUP)) && !read_commands())
			return 0;

		/* one phase per millisecond: a call sends every 20 ms, the
		 * calls spread over the 20 phases like unrelated phones */
		for (now = now_ns(); now >= next; next += tick_ns, ++tick) {
			if (!listen_mode || conf_mode)
				send_bucket(fd, (int)(tick % PTIME_MS));
		}
	}
}


static int run_blast(int fd, const char *dst, int seconds)
{
	static uint8_t pkt[PKT_LEN];
	struct sockaddr_in to;
	struct mmsghdr msgs[BATCH];
	struct iovec iov = { pkt, PKT_LEN };
	uint64_t end, sent = 0;

	if (udpaddr_parse(dst, &to))
		return 2;
	memset(msgs, 0, sizeof(msgs));
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
		msgs[i].msg_hdr.msg_name = &to;
		msgs[i].msg_hdr.msg_namelen = sizeof(to);
	}
	pkt[0] = 0x80;

	end = now_ns() + (uint64_t)seconds * 1000000000ULL;
	while (now_ns() < end) {
		int n = sendmmsg(fd, msgs, BATCH, 0);

		if (n > 0)
			sent += (unsigned)n;
	}
	printf("{\"sent\":%llu,\"seconds\":%d}\n", (unsigned long long)sent,
	       seconds);

	return 0;
}


static void usage(void)
{
	fprintf(stderr,
		"usage: rtpload -l ADDR:PORT [-m echo|listen|conf] [-L LATE_MS]\n"
		"       rtpload -l ADDR:PORT -b ADDR:PORT [-s SECONDS]\n");
	exit(2);
}


int main(int argc, char *argv[])
{
	const char *laddr = NULL, *blast = NULL;
	int c, fd, seconds = 5;

	while ((c = getopt(argc, argv, "l:m:L:b:s:")) != -1) {
		switch (c) {
		case 'l': laddr = optarg; break;
		case 'm':
			conf_mode = 0 == strcmp(optarg, "conf");
			listen_mode = conf_mode || 0 == strcmp(optarg, "listen");
			break;
		case 'L': late_ns = atoll(optarg) * 1000000LL; break;
		case 'b': blast = optarg; break;
		case 's': seconds = atoi(optarg); break;
		default:  usage();
		}
	}
	if (!laddr)
		usage();
	for (int i = 0; i < SAMPLES; i++)   /* 1 kHz at 8 kHz: 8 a period */
		tone_frame[i] = ulaw((int)(8000 * sin(2 * 3.14159265358979 *
						       i / 8.0)));

	fd = udpaddr_bind(laddr);
	if (fd < 0)
		return 1;

	return blast ? run_blast(fd, blast, seconds) : run_load(fd);
}
