/**
 * @file udpaddr.c  ADDR:PORT parsing and bound UDP sockets for the bench
 * tools.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "udpaddr.h"

enum { SOCKBUF = 16 << 20 };


int udpaddr_parse(const char *str, struct sockaddr_in *sin)
{
	char host[64];
	const char *colon = strrchr(str, ':');
	size_t len;

	if (!colon || (len = (size_t)(colon - str)) >= sizeof(host))
		return -1;
	memcpy(host, str, len);
	host[len] = 0;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_port = htons((unsigned short)atoi(colon + 1));

	return inet_pton(AF_INET, host, &sin->sin_addr) == 1 ? 0 : -1;
}


/* Big buffers: a burst of thousands of calls' packets must not be dropped
 * by the tool that measures the drops.  SO_*BUFFORCE ignores rmem_max
 * (we are root); the plain option is the fallback. */
static void set_buffers(int fd)
{
	int sz = SOCKBUF;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)))
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)))
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}


int udpaddr_bind(const char *str)
{
	struct sockaddr_in sin;
	int fd;

	if (udpaddr_parse(str, &sin)) {
		fprintf(stderr, "bad address %s (want IPv4 ADDR:PORT)\n", str);
		return -1;
	}

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0) {
		perror("socket");
		return -1;
	}
	set_buffers(fd);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		fprintf(stderr, "bind %s: ", str);
		perror(NULL);
		close(fd);
		return -1;
	}

	return fd;
}
