/* stalled - a log collector that has stopped reading: it accepts TCP
 * connections on ADDR PORT and keeps them open without ever reading, so
 * a sender's writes fill the socket buffers and then block, as they do
 * against a remote syslog server that hangs.
 *
 *   stalled ADDR PORT */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: stalled ADDR PORT\n");
		return 2;
	}
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[2]));
	if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
		fprintf(stderr, "stalled: bad address %s\n", argv[1]);
		return 2;
	}
	int one = 1;
	int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 16) < 0) {
		perror("stalled: listen");
		return 1;
	}
	for (;;) {
		/* Accepted connections are kept, never read, never closed: the
		 * sender reconnects after each write timeout, a few times a
		 * minute, so the descriptors last a benchmark's length. */
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE) {
				sleep(1);
				continue;
			}
			perror("stalled: accept");
			return 1;
		}
	}
}
