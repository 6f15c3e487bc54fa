/*
 * dgramsrv - a "nowait" datagram service: fd 0 is the shared UDP socket.
 * It takes one datagram and answers its sender with "got <pid>: <data>".
 */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	char buf[512], out[600];
	struct sockaddr_storage from;
	socklen_t len = sizeof from;
	ssize_t n = recvfrom(0, buf, sizeof buf - 1, 0, (struct sockaddr *)&from, &len);
	if (n < 0)
		return 1;
	buf[n] = 0;
	int m = snprintf(out, sizeof out, "got %d: %s", (int)getpid(), buf);
	sendto(0, out, m, 0, (struct sockaddr *)&from, len);
	return 0;
}
