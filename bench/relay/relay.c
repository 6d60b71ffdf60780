/**
 * @file relay.c  A bare UDP relay: the packet rate this machine moves on one
 * core, the ceiling against which the PBX's media relay is judged.
 *
 *   relay -l ADDR:PORT -t ADDR:PORT    forward every packet to one address
 *   relay -l ADDR:PORT -e              echo every packet to its sender
 *   relay -l ADDR:PORT -d              drain: count and drop (a sink)
 *   -i MS                              drain the socket every MS ms instead
 *                                      of sleeping on it (see below)
 *
 * One thread, one socket, recvmmsg()/sendmmsg() in batches of up to 64: as
 * little work per packet as Linux allows.  The echo mode is also the far
 * end of the benchmark's media calls (it stands for the phone that echoes).
 * SIGUSR1 prints the counters as one JSON line on stdout; SIGTERM prints
 * them and exits.
 *
 * With -i the relay never sleeps on its socket: on loopback the sender's
 * sendto() pays for waking a sleeping receiver, so an echo that slept
 * would load the PBX it measures with work phones on a network never
 * cause.  The ceiling is measured without -i, saturated: it rarely sleeps.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "udpaddr.h"

enum { BATCH = 64, PKT_MAX = 2048 };

static volatile sig_atomic_t report_req, stop_req;


static void on_usr1(int sig) { (void)sig; report_req = 1; }
static void on_term(int sig) { (void)sig; stop_req = 1; }


static void report(unsigned long long in, unsigned long long out,
		   unsigned long long calls)
{
	printf("{\"in\":%llu,\"out\":%llu,\"recv_calls\":%llu}\n",
	       in, out, calls);
	fflush(stdout);
}


static void usage(void)
{
	fprintf(stderr, "usage: relay -l ADDR:PORT (-t ADDR:PORT | -e | -d)"
		" [-i MS]\n");
	exit(2);
}


int main(int argc, char *argv[])
{
	static char bufs[BATCH][PKT_MAX];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_in from[BATCH], to;
	unsigned long long in = 0, out = 0, calls = 0;
	const char *laddr = NULL, *taddr = NULL;
	struct sigaction sa;
	int c, fd, echo = 0, drain = 0, interval_ms = 0;

	while ((c = getopt(argc, argv, "l:t:edi:")) != -1) {
		switch (c) {
		case 'l': laddr = optarg; break;
		case 't': taddr = optarg; break;
		case 'e': echo = 1; break;
		case 'd': drain = 1; break;
		case 'i': interval_ms = atoi(optarg); break;
		default:  usage();
		}
	}
	if (!laddr || (!!taddr + echo + drain) != 1)
		usage();
	if (taddr && udpaddr_parse(taddr, &to)) {
		fprintf(stderr, "relay: bad address %s\n", taddr);
		return 2;
	}

	fd = udpaddr_bind(laddr);
	if (fd < 0)
		return 1;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;      /* no SA_RESTART: recvmmsg returns */
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	printf("{\"ready\":\"%s\"}\n", laddr);
	fflush(stdout);

	while (!stop_req) {
		int n, sent;

		for (int i = 0; i < BATCH; i++) {
			iov[i].iov_base = bufs[i];
			iov[i].iov_len = PKT_MAX;
			memset(&msgs[i].msg_hdr, 0, sizeof(msgs[i].msg_hdr));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_name = &from[i];
			msgs[i].msg_hdr.msg_namelen = sizeof(from[i]);
		}

		n = recvmmsg(fd, msgs, BATCH,
			     interval_ms ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
		if (report_req) {
			report_req = 0;
			report(in, out, calls);
		}
		if (n <= 0) {
			if (interval_ms) {
				struct timespec ts = { 0, interval_ms *
						       1000000L };
				nanosleep(&ts, NULL);
			}
			continue;
		}
		++calls;
		in += (unsigned)n;
		if (drain)
			continue;

		/* the same buffers go back out: only the length and the
		 * destination change */
		for (int i = 0; i < n; i++) {
			iov[i].iov_len = msgs[i].msg_len;
			if (!echo) {
				msgs[i].msg_hdr.msg_name = &to;
				msgs[i].msg_hdr.msg_namelen = sizeof(to);
			}
		}
		for (int done = 0; done < n; done += sent) {
			sent = sendmmsg(fd, msgs + done, (unsigned)(n - done),
					0);
			if (sent <= 0) {
				if (sent < 0 && errno == EINTR)
					sent = 0;
				else
					break;   /* lost: the counters say so */
			}
			out += (unsigned)sent;
		}
	}

	report(in, out, calls);
	close(fd);

	return 0;
}
