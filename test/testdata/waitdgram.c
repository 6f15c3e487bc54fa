/*
 * waitdgram - a "wait" datagram service: fd 0 is the UDP socket itself. It
 * answers up to three datagrams, from whoever sends them, with
 * "got <pid>: <data>", then exits (or after 2 s without one), so the test
 * sees what reaches a server that reads the socket itself.
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

int main(void)
{
	struct timeval tv = {2, 0};
	setsockopt(0, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	for (int i = 0; i < 3; i++) {
		char buf[512], out[600];
		struct sockaddr_storage from;
		socklen_t len = sizeof from;
		ssize_t n = recvfrom(0, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &len);
		if (n < 0)
			return 0;
		buf[n] = 0;
		int m = snprintf(out, sizeof out, "got %d: %s", (int)getpid(), buf);
		sendto(0, out, m, 0, (struct sockaddr *)&from, len);
	}
	return 0;
}
