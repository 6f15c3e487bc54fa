/* acceptclose - a bare C accept-and-close server: the fastest possible
 * refusal, the yardstick for a super-server's refusal path.
 *
 *   acceptclose ADDR PORT */
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
		fprintf(stderr, "usage: acceptclose ADDR PORT\n");
		return 2;
	}
	int ls = listen_on("acceptclose", argv[1], argv[2], 1024);
	if (ls < 0)
		return ls == -2 ? 2 : 1;
	for (;;) {
		int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				usleep(10000);
				continue;
			}
			perror("acceptclose: accept");
			return 1;
		}
		close(c);
	}
}
