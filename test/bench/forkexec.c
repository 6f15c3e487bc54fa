/* forkexec - the baseline: a bare C fork+exec super-server for one service.
 *
 *   forkexec ADDR PORT PROGRAM [ARGV0 ARGS...]
 *
 * Accept loop, fork per connection, the connection on fds 0, 1, 2, exec the
 * program; SIGCHLD reaps.  It confines nothing, logs nothing and checks no
 * limit: it is the least work an inetd can do per connection, the yardstick
 * the benchmark divides every other server by. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "listen.h"

extern char **environ;

static void reap(int sig)
{
	int saved = errno;
	(void)sig;
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	errno = saved;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: forkexec ADDR PORT PROGRAM [ARGV0 ARGS...]\n");
		return 2;
	}
	char *prog = argv[3];
	char **args = argc > 4 ? &argv[4] : &argv[3];

	int ls = listen_on("forkexec", argv[1], argv[2], 1024);
	if (ls < 0)
		return ls == -2 ? 2 : 1;

	/* SA_RESTART: accept resumes after a reap instead of failing with EINTR. */
	struct sigaction act;
	memset(&act, 0, sizeof act);
	act.sa_handler = reap;
	act.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigemptyset(&act.sa_mask);
	sigaction(SIGCHLD, &act, NULL);

	for (;;) {
		int c = accept_conn("forkexec", ls, 0);
		if (c < 0)
			return 1;
		pid_t pid = fork();
		if (pid == 0) {
			struct sigaction dfl;
			memset(&dfl, 0, sizeof dfl);
			dfl.sa_handler = SIG_DFL;
			sigaction(SIGCHLD, &dfl, NULL);
			dup2(c, 0);
			dup2(c, 1);
			dup2(c, 2);
			if (c > 2)
				close(c);
			execve(prog, args, environ);
			_exit(127);
		}
		close(c);
	}
}
