/* stalled - a log collector that has stopped reading: it accepts TCP
 * connections on ADDR PORT and keeps them open without ever reading, so
 * a sender's writes fill the socket buffers and then block, as they do
 * against a remote syslog server that hangs.
 *
 *   stalled ADDR PORT */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/socket.h>

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
		if (accept_conn("stalled", ls, SOCK_CLOEXEC) < 0)
			return 1;
	}
}
