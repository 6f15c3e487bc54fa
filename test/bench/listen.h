/* listen.h - the listening socket of the benchmark's C servers
 * (forkexec, acceptclose, stalled): one IPv4 TCP socket on ADDR PORT.
 * A header, not a library: each server stays one static program. */
#ifndef BENCH_LISTEN_H
#define BENCH_LISTEN_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* listen_on returns a listening socket on addr:port, or after saying why
 * on stderr, prefixed with name: -2 for a bad address (a usage error), -1
 * when the socket cannot listen. */
static int listen_on(const char *name, const char *addr, const char *port, int backlog)
{
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(port));
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "%s: bad address %s\n", name, addr);
		return -2;
	}
	int one = 1;
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, backlog) < 0) {
		fprintf(stderr, "%s: listen on %s:%s: ", name, addr, port);
		perror(NULL);
		return -1;
	}
	return ls;
}

#endif
