/**
 * @file mixbench.c  The mixer's benchmark (bench/run's "conf" figures):
 * conference rooms without SIP, made of the PBX's own media objects.
 *
 *   mixbench -l ADDR -r ADDR:PORT [-p MIN-MAX]
 *     Rooms of terminated legs (core/media/term.h) on loopback RTP, each
 *     plugged into its room's mixer, paced by the media clock in libre's
 *     event loop, as the PBX runs them.  Each leg's stream is bound on
 *     ADDR (ports MIN-MAX) and sends to ADDR:PORT (rtpload -m conf, which
 *     plays the phones).  Commands on stdin, one JSON line back each:
 *       join ROOM K   K more members in room ROOM (made on first use):
 *                     {"ports":[...]}
 *       report        counters: media clock, mixers, jitter buffers
 *       quit
 *   mixbench -x -n N -t T [-r ROOMS] [-s SECONDS]
 *     The mixer alone: ROOMS rooms of N members, T of them talking, fed
 *     and mixed tick after tick as fast as one core goes (no sockets, no
 *     pacing); the CPU time per tick and per member.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <re.h>
#include "media/codec.h"
#include "media/mclock.h"
#include "media/pcmjb.h"
#include "media/rtpring.h"
#include "media/stream.h"
#include "media/term.h"
#include "media/mixer.h"

enum { MAX_ROOMS = 4096, F = 160 };

struct member {
	struct le le;
	struct stream *s;
	struct term *t;
	struct mixer_member *mb;
};

static struct {
	struct mixer *mixv[MAX_ROOMS];
	struct list members;
	struct sa laddr, raddr;
	uint16_t pmin, pmax;
	char line[256];
	size_t len;
} b;


static void member_destructor(void *arg)
{
	struct member *m = arg;

	list_unlink(&m->le);
	mem_deref(m->mb);
	mem_deref(m->t);
	mem_deref(m->s);
}


static int add_member(struct mixer *mix, uint16_t *port)
{
	struct term_params prm = { CODEC_PCMU, 0, 0, -1, -1 };
	struct member *m;
	int err;

	m = mem_zalloc(sizeof(*m), member_destructor);
	if (!m)
		return ENOMEM;
	list_append(&b.members, &m->le, m);

	err = stream_alloc(&m->s, &b.laddr, b.pmin, b.pmax);
	if (err)
		goto out;
	stream_set_remote(m->s, &b.raddr, NULL);
	err = term_alloc(&m->t, m->s, &prm, NULL, NULL, NULL, NULL);
	if (err)
		goto out;
	err = mixer_join_term(&m->mb, mix, m->t, NULL, NULL);
	*port = stream_lport(m->s);

 out:
	if (err)
		mem_deref(m);
	return err;
}


static void cmd_join(unsigned room, unsigned k)
{
	int err = 0;

	if (room >= MAX_ROOMS) {
		printf("{\"error\":\"room %u out of range\"}\n", room);
		return;
	}
	if (!b.mixv[room])
		err = mixer_alloc(&b.mixv[room], NULL);

	printf("{\"ports\":[");
	for (unsigned i = 0; i < k && !err; i++) {
		uint16_t port = 0;

		err = add_member(b.mixv[room], &port);
		if (!err)
			printf("%s%u", i ? "," : "", port);
	}
	printf("]%s%s%s}\n", err ? ",\"error\":\"" : "",
	       err ? strerror(err) : "", err ? "\"" : "");
}


static void cmd_report(void)
{
	const struct mclock_stats *cs = mclock_stats();
	uint64_t mixed = 0, encodes = 0, sent = 0, ticks = 0, talkers = 0;
	uint64_t missing = 0, late = 0;
	unsigned rooms = 0;
	struct le *le;

	for (unsigned i = 0; i < MAX_ROOMS; i++) {
		const struct mixer_stats *st = mixer_stats(b.mixv[i]);

		if (!st)
			continue;
		++rooms;
		mixed += st->mixed;
		encodes += st->encodes;
		sent += st->sent;
		ticks += st->ticks;
		talkers += st->talkers;
	}
	LIST_FOREACH(&b.members, le) {
		const struct member *m = le->data;
		const struct pcmjb_stats *js = mixer_jb_stats(m->mb);

		missing += js->missing;
		late += js->late;
	}

	printf("{\"members\":%u,\"rooms\":%u,\"talkers\":%llu,"
	       "\"ticks\":%llu,\"mixed\":%llu,\"encodes\":%llu,"
	       "\"sent\":%llu,\"clock_late\":%llu,\"clock_skipped\":%llu,"
	       "\"max_lag_ms\":%u,\"jb_missing\":%llu,\"jb_late\":%llu}\n",
	       list_count(&b.members), rooms, (unsigned long long)talkers,
	       (unsigned long long)ticks, (unsigned long long)mixed,
	       (unsigned long long)encodes, (unsigned long long)sent,
	       (unsigned long long)cs->late, (unsigned long long)cs->skipped,
	       cs->max_lag_ms, (unsigned long long)missing,
	       (unsigned long long)late);
	mclock_reset_stats();
}


static void command(const char *line)
{
	unsigned room, k;

	if (2 == sscanf(line, "join %u %u", &room, &k))
		cmd_join(room, k);
	else if (0 == strncmp(line, "report", 6))
		cmd_report();
	else if (0 == strncmp(line, "quit", 4))
		re_cancel();
	else if (line[0])
		printf("{\"error\":\"unknown command\"}\n");
	fflush(stdout);
}


static void stdin_handler(int flags, void *arg)
{
	ssize_t n;
	char *nl;
	(void)flags; (void)arg;

	n = read(STDIN_FILENO, b.line + b.len, sizeof(b.line) - 1 - b.len);
	if (n <= 0) {
		re_cancel();
		return;
	}
	b.len += (size_t)n;
	b.line[b.len] = 0;

	while ((nl = strchr(b.line, '\n'))) {
		*nl = 0;
		command(b.line);
		b.len -= (size_t)(nl + 1 - b.line);
		memmove(b.line, nl + 1, b.len + 1);
	}
	if (b.len >= sizeof(b.line) - 1)
		b.len = 0;               /* a line too long: dropped */
}


static int run_rtp(const char *laddr, const char *raddr, const char *range)
{
	unsigned pmin = 20000, pmax = 60000;
	int err;

	if (range && 2 != sscanf(range, "%u-%u", &pmin, &pmax))
		return EINVAL;
	b.pmin = (uint16_t)pmin;
	b.pmax = (uint16_t)pmax;
	err = sa_set_str(&b.laddr, laddr, 0);
	err |= sa_decode(&b.raddr, raddr, strlen(raddr));
	if (err) {
		fprintf(stderr, "mixbench: bad address\n");
		return EINVAL;
	}

	/* libre watches only fds below FD_SETSIZE unless told the real
	 * limit (as core/main.c does): a member holds two */
	{
		struct rlimit rl;

		if (!getrlimit(RLIMIT_NOFILE, &rl)) {
			rl.rlim_cur = rl.rlim_max;
			(void)setrlimit(RLIMIT_NOFILE, &rl);
			(void)fd_setsize((int)rl.rlim_cur);
		}
	}

	err = fd_listen(STDIN_FILENO, FD_READ, stdin_handler, NULL);
	if (err)
		return err;
	printf("{\"ready\":true}\n");
	fflush(stdout);

	(void)re_main(NULL);

	fd_close(STDIN_FILENO);
	list_flush(&b.members);
	for (unsigned i = 0; i < MAX_ROOMS; i++)
		b.mixv[i] = mem_deref(b.mixv[i]);
	rtpring_close();

	return 0;
}


/* ---- the mixer alone ----------------------------------------------- */

static uint8_t sink[F];

static void out_h(const struct mixer_frame *f, void *arg)
{
	(void)arg;
	if (f->payload)                  /* what a term does with it */
		memcpy(sink, f->payload, f->len);
}


static double cpu_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}


static int run_alone(unsigned n, unsigned talkers, unsigned rooms,
		     double seconds)
{
	struct mixer_member **mv;
	struct mixer **rv;
	int16_t voice[F], noise[F];
	uint64_t ticks = 0;
	double t0, t1;
	uint32_t ts = 0;
	int err = 0;

	/* a talker's 1 kHz, a listener's background noise far below the
	 * talk level (phones send RTP when nobody speaks) */
	for (unsigned i = 0; i < F; i++) {
		voice[i] = (int16_t)(8000 * sin(2 * M_PI * i / 8.0));
		noise[i] = (int16_t)(((i * 7919) % 61) - 30);
	}

	mv = mem_zalloc(n * rooms * sizeof(*mv), NULL);
	rv = mem_zalloc(rooms * sizeof(*rv), NULL);
	if (!mv || !rv)
		return ENOMEM;

	for (unsigned r = 0; r < rooms && !err; r++) {
		err = mixer_alloc(&rv[r], NULL);
		for (unsigned i = 0; i < n && !err; i++)
			err = mixer_join(&mv[r * n + i], rv[r], CODEC_PCMU,
					 out_h, NULL, NULL);
	}
	if (err)
		goto out;

	t0 = cpu_us();
	do {
		for (unsigned k = 0; k < 50; k++, ticks++, ts += F) {
			for (unsigned r = 0; r < rooms; r++) {
				for (unsigned i = 0; i < n; i++)
					mixer_put(i < talkers ? voice : noise,
						  F, ts, mv[r * n + i]);
				mixer_tick(rv[r], ticks);
			}
		}
		t1 = cpu_us();
	} while (t1 - t0 < seconds * 1e6);

	{
		double per_tick = (t1 - t0) / (double)ticks;
		double per_member = per_tick / (n * rooms);

		printf("{\"members\":%u,\"talkers\":%u,\"rooms\":%u,"
		       "\"ticks\":%llu,\"us_per_tick\":%.2f,"
		       "\"us_per_member_tick\":%.4f,\"members_per_core\":%.0f,"
		       "\"mixed_per_tick\":%.2f}\n",
		       n, talkers, rooms, (unsigned long long)ticks,
		       per_tick, per_member, 20000.0 / per_member,
		       (double)mixer_stats(rv[0])->mixed /
		       (double)mixer_stats(rv[0])->ticks);
	}

 out:
	for (unsigned i = 0; i < n * rooms; i++)
		mem_deref(mv[i]);
	for (unsigned r = 0; r < rooms; r++)
		mem_deref(rv[r]);
	mem_deref(mv);
	mem_deref(rv);

	return err;
}


static void usage(void)
{
	fprintf(stderr,
		"usage: mixbench -l ADDR -r ADDR:PORT [-p MIN-MAX]\n"
		"       mixbench -x -n N -t T [-r ROOMS] [-s SECONDS]\n");
	exit(2);
}


int main(int argc, char *argv[])
{
	const char *laddr = NULL, *raddr = NULL, *range = NULL;
	unsigned n = 10, talkers = 2, rooms = 1;
	double seconds = 3;
	bool alone = false;
	int c, err;

	while ((c = getopt(argc, argv, "l:r:p:xn:t:s:")) != -1) {
		switch (c) {
		case 'l': laddr = optarg; break;
		case 'r': raddr = optarg; break;
		case 'p': range = optarg; break;
		case 'x': alone = true; break;
		case 'n': n = (unsigned)atoi(optarg); break;
		case 't': talkers = (unsigned)atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		default:  usage();
		}
	}
	if (alone && raddr)
		rooms = (unsigned)atoi(raddr);
	if (alone ? (!n || !rooms) : (!laddr || !raddr))
		usage();

	if (libre_init())
		return 1;

	err = alone ? run_alone(n, talkers, rooms, seconds)
		    : run_rtp(laddr, raddr, range);

	libre_close();

	return err ? 1 : 0;
}
