/*
 * waitsrv - a "wait" stream service: fd 0 is the listening socket. It
 * accepts connections itself, answers each with "wait-ok <pid>\n", and
 * exits after the second one, so the test sees hinetd start it again.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	for (int i = 0; i < 2; i++) {
		char msg[64];
		int c = accept(0, NULL, NULL);
		if (c < 0)
			return 1;
		int n = snprintf(msg, sizeof msg, "wait-ok %d\n", (int)getpid());
		write(c, msg, n);
		close(c);
	}
	return 0;
}
