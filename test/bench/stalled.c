/* stalled - a log collector that has stopped reading: it accepts TCP
 * connections on ADDR PORT and keeps them open without ever reading, so
 * a sender's writes fill the socket buffers and then block, as they do
 * against a remote syslog server that hangs.
 *
 *   stalled ADDR PORT */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: stalled ADDR PORT\n");
		return 2;
	}
	int ls = listen_on("stalled", argv[1], argv[2], 16);
	if (ls < 0)
		return ls == -2 ? 2 : 1;
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
