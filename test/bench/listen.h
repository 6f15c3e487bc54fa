/* listen.h - the listening socket of the benchmark's C servers
 * (forkexec, acceptclose, stalled): one IPv4 TCP socket on ADDR PORT, and
 * their accept loop. A header, not a library: each server stays one
 * static program. */
#ifndef BENCH_LISTEN_H
#define BENCH_LISTEN_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

/* accept_conn returns the next connection on ls (accept4 with flags). It
 * goes on past what concerns one client (EINTR, an aborted connection)
 * and, 10 ms at a time, past a shortage of descriptors or memory; on any
 * other error it says why on stderr, prefixed with name, and returns -1. */
static int accept_conn(const char *name, int ls, int flags)
{
	for (;;) {
		int c = accept4(ls, NULL, NULL, flags);
		if (c >= 0)
			return c;
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
			usleep(10000);
			continue;
		}
		fprintf(stderr, "%s: accept: ", name);
		perror(NULL);
		return -1;
	}
}

#endif
