/* acceptclose - a bare C accept-and-close server: the fastest possible
 * refusal, the yardstick for a super-server's refusal path.
 *
 *   acceptclose ADDR PORT */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listen.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: acceptclose ADDR PORT\n");
		return 2;
	}
	int ls = listen_on("acceptclose", argv[1], argv[2], 1024);
	if (ls < 0)
		return ls == -2 ? 2 : 1;
	for (;;) {
		int c = accept_conn("acceptclose", ls, SOCK_CLOEXEC);
		if (c < 0)
			return 1;
		close(c);
	}
}
