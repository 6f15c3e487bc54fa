/*
 * forkexec_loop - the spawn benchmark's baseline: the cheapest C spawn of
 * a service on a socket, confining nothing.
 *
 *   forkexec_loop N C PATH
 *
 * C worker processes share N spawns; each spawn is socketpair, fork, in the
 * child dup2 onto 0/1/2 and execve(PATH) with an empty environment, in the
 * parent read the service's output to EOF and waitpid. Prints the elapsed
 * nanoseconds for all N on stdout; exits 1 if any spawn did not answer
 * "hello\n" and exit 0.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int worker(long n, char *path)
{
	char *argv[] = {path, NULL}, *envp[] = {NULL};
	long i;

	for (i = 0; i < n; i++) {
		int s[2], st, got = 0;
		char buf[64];
		ssize_t r;
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0)
			return 1;
		pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0) {
			dup2(s[1], 0);
			dup2(s[1], 1);
			dup2(s[1], 2);
			execve(path, argv, envp);
			_exit(127);
		}
		close(s[1]);
		while ((r = read(s[0], buf + got, sizeof buf - got)) > 0)
			got += r;
		close(s[0]);
		if (waitpid(pid, &st, 0) != pid || st != 0 || got != 6 || memcmp(buf, "hello\n", 6) != 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	long n, w, c;
	int st, bad = 0;

	if (argc != 4)
		return 2;
	n = atol(argv[1]);
	c = atol(argv[2]);
	if (n <= 0 || c <= 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (w = 0; w < c; w++) {
		pid_t pid = fork();
		if (pid < 0)
			return 1;
		if (pid == 0)
			_exit(worker(n / c + (w < n % c), argv[3]));
	}
	for (w = 0; w < c; w++)
		if (wait(&st) < 0 || st != 0)
			bad = 1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%lld\n", (long long)(t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
	return bad;
}
