/*
 * probe - a service that reports what it was started with.
 *
 * Run as an inetd service with its socket on 0, 1 and 2, it writes to
 * stdout, in sections opened by "=== name" lines:
 *   status   /proc/self/status as is (ids, Cap*, NoNewPrivs, Seccomp, Sig*)
 *   fds      its open descriptors, from /proc/self/fd
 *   env      its environment, one entry a line
 *   cwd      its working directory
 *   umask    its umask, octal
 *   rlimits  "resource cur max" for every RLIMIT_*, -1 for unlimited
 *   sockopt  SO_KEEPALIVE and SO_LINGER of fd 0 ("keepalive N", "linger ON SECS")
 *   nice     its nice value
 *   sid      "sid pid" (session id and pid)
 * and then, for each argument naming a forbidden call, in the order given,
 * "=== call NAME" and "result ERRNO" (0 means the call succeeded). A call
 * that a seccomp filter kills ends the probe there, so tests name one call
 * per run when they expect a kill. Calls: ptrace (PTRACE_TRACEME), mount
 * (a bind mount of a missing source: EPERM without privilege, ENOENT with),
 * userns (unshare(CLONE_NEWUSER)), rawsock (socket(AF_INET, SOCK_RAW)),
 * bindlow (bind a TCP socket to 127.0.0.1:1), setuid0 (setuid(0)).
 * Calls with an argument, written NAME:ARG, for the isolation tests:
 * write:PATH (create PATH, kept), exists:PATH (stat), ls:DIR (opendir),
 * suid:PATH (create PATH, then chmod 04755), kill:PID (kill(PID, 0)),
 * mem:PID (open /proc/PID/mem read-write), socket:FAMILY (socket of that
 * family number), connect:PORT (TCP to 127.0.0.1:PORT), sleep:SECONDS;
 * and proc (prints "pids" and the numeric entries of /proc, and "self"
 * and its own pid, before its result).
 * An argument "-" reads more calls, space-separated, from one line of the
 * socket. "quiet" as the first argument skips the report.
 *
 * Built static, so that it runs in an empty chroot. Never writes to
 * stderr: stderr is the client's socket too.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <signal.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>

extern char **environ;

static void section(const char *name)
{
	printf("=== %s\n", name);
}

static void cat(const char *path)
{
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		printf("error %d\n", errno);
		return;
	}
	fflush(stdout);
	while ((n = read(fd, buf, sizeof buf)) > 0)
		fwrite(buf, 1, n, stdout);
	close(fd);
}

static void report(void)
{
	DIR *d;
	struct dirent *e;
	char cwd[4096];
	mode_t m;
	int r;

	section("status");
	cat("/proc/self/status");

	section("fds");
	d = opendir("/proc/self/fd");
	if (d == NULL) {
		printf("error %d\n", errno);
	} else {
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
				continue;
			printf("%s\n", e->d_name);
		}
		closedir(d);
	}

	section("env");
	for (char **p = environ; *p != NULL; p++)
		printf("%s\n", *p);

	section("cwd");
	if (getcwd(cwd, sizeof cwd) == NULL)
		printf("error %d\n", errno);
	else
		printf("%s\n", cwd);

	section("umask");
	m = umask(0);
	umask(m);
	printf("%04o\n", (unsigned)m);

	section("rlimits");
	for (r = 0; r < RLIM_NLIMITS; r++) {
		struct rlimit rl;
		if (getrlimit(r, &rl) < 0) {
			printf("%d error %d\n", r, errno);
			continue;
		}
		printf("%d %lld %lld\n", r,
		       rl.rlim_cur == RLIM_INFINITY ? -1LL : (long long)rl.rlim_cur,
		       rl.rlim_max == RLIM_INFINITY ? -1LL : (long long)rl.rlim_max);
	}

	section("sockopt");
	{
		int ka = -1;
		struct linger lg = {0, 0};
		socklen_t l1 = sizeof ka, l2 = sizeof lg;
		if (getsockopt(0, SOL_SOCKET, SO_KEEPALIVE, &ka, &l1) < 0)
			ka = -1;
		if (getsockopt(0, SOL_SOCKET, SO_LINGER, &lg, &l2) < 0)
			lg.l_onoff = -1;
		printf("keepalive %d\nlinger %d %d\n", ka, lg.l_onoff, lg.l_linger);
	}

	section("nice");
	errno = 0;
	printf("%d\n", getpriority(PRIO_PROCESS, 0));

	section("sid");
	printf("%d %d\n", (int)getsid(0), (int)getpid());
}

/* with_arg - the NAME:ARG calls. */
static int with_arg(const char *call)
{
	char name[32], path[256];
	const char *arg = strchr(call, ':');
	struct sockaddr_in sa;
	struct stat st;
	DIR *d;
	int fd;

	if (arg == NULL || (size_t)(arg - call) >= sizeof name)
		return EINVAL;
	memcpy(name, call, arg - call);
	name[arg - call] = 0;
	arg++;
	if (strcmp(name, "write") == 0) {
		fd = open(arg, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	}
	if (strcmp(name, "exists") == 0)
		return stat(arg, &st) < 0 ? errno : 0;
	if (strcmp(name, "ls") == 0) {
		d = opendir(arg);
		if (d == NULL)
			return errno;
		closedir(d);
		return 0;
	}
	if (strcmp(name, "suid") == 0) {
		fd = open(arg, O_CREAT | O_WRONLY | O_CLOEXEC, 0755);
		if (fd < 0)
			return errno;
		close(fd);
		return chmod(arg, 04755) < 0 ? errno : 0;
	}
	if (strcmp(name, "kill") == 0)
		return kill(atoi(arg), 0) < 0 ? errno : 0;
	if (strcmp(name, "mem") == 0) {
		snprintf(path, sizeof path, "/proc/%s/mem", arg);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	}
	if (strcmp(name, "socket") == 0) {
		fd = socket(atoi(arg), SOCK_DGRAM, 0);
		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	}
	if (strcmp(name, "connect") == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return errno;
		memset(&sa, 0, sizeof sa);
		sa.sin_family = AF_INET;
		sa.sin_port = htons(atoi(arg));
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			int e = errno;
			close(fd);
			return e;
		}
		close(fd);
		return 0;
	}
	if (strcmp(name, "sleep") == 0) {
		sleep(atoi(arg));
		return 0;
	}
	return EINVAL;
}

static int forbidden(const char *name)
{
	int fd;
	struct sockaddr_in sa;

	fflush(stdout);
	if (strcmp(name, "ptrace") == 0)
		return ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0 ? errno : 0;
	if (strcmp(name, "mount") == 0)
		/* Harmless even if permitted: the permission check comes
		 * first (EPERM), then the missing source (ENOENT); nothing
		 * is ever mounted. */
		return mount("/nonexistent-hinetd-probe", ".", NULL, MS_BIND, NULL) < 0 ? errno : 0;
	if (strcmp(name, "userns") == 0)
		return unshare(CLONE_NEWUSER) < 0 ? errno : 0;
	if (strcmp(name, "rawsock") == 0) {
		fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
		if (fd < 0)
			return errno;
		close(fd);
		return 0;
	}
	if (strcmp(name, "bindlow") == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			return errno;
		memset(&sa, 0, sizeof sa);
		sa.sin_family = AF_INET;
		sa.sin_port = htons(1);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
			int e = errno;
			close(fd);
			return e;
		}
		close(fd);
		return 0;
	}
	if (strcmp(name, "setuid0") == 0)
		return setuid(0) < 0 ? errno : 0;
	if (strcmp(name, "proc") == 0) {
		DIR *d = opendir("/proc");
		struct dirent *e;
		if (d == NULL)
			return errno;
		printf("pids");
		while ((e = readdir(d)) != NULL)
			if (e->d_name[0] >= '0' && e->d_name[0] <= '9')
				printf(" %s", e->d_name);
		printf("\nself %d\n", (int)getpid());
		closedir(d);
		return 0;
	}
	return with_arg(name);
}

static void call(const char *name)
{
	int e;

	section("call");
	printf("%s\n", name);
	e = forbidden(name);
	printf("result %d\n", e);
}

/* from_socket - the calls on one line read from fd 0. */
static void from_socket(void)
{
	char line[4096], *tok, *save;
	size_t n = 0;

	while (n < sizeof line - 1 && read(0, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = 0;
	for (tok = strtok_r(line, " \t\r", &save); tok != NULL; tok = strtok_r(NULL, " \t\r", &save))
		call(tok);
}

int main(int argc, char **argv)
{
	int i = 1;

	if (argc > 1 && strcmp(argv[1], "quiet") == 0)
		i = 2;
	else
		report();
	for (; i < argc; i++) {
		if (strcmp(argv[i], "-") == 0)
			from_socket();
		else
			call(argv[i]);
	}
	fflush(stdout);
	return 0;
}
