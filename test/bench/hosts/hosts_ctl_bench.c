/*
 * hosts_ctl_bench - time libwrap's hosts_ctl(3) decisions, for the side by
 * side figures of hosts.BenchmarkLibwrap.
 *
 * usage: hosts_ctl_bench ALLOW DENY DAEMON CLIENT_ADDR ITERATIONS
 * prints: "<verdict> <nanoseconds per call>"
 *
 * The client name is passed as STRING_UNKNOWN so that no DNS lookup is
 * made: the figure is libwrap's file read and linear scan, which it does
 * on every connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <syslog.h>
#include <time.h>
#include <tcpd.h>

int allow_severity = LOG_INFO;
int deny_severity = LOG_WARNING;

int main(int argc, char **argv)
{
    struct timespec t0, t1;
    long i, n;
    int verdict = 0;

    if (argc != 6) {
	fprintf(stderr, "usage: %s ALLOW DENY DAEMON CLIENT_ADDR ITERATIONS\n", argv[0]);
	return 2;
    }
    hosts_allow_table = argv[1];
    hosts_deny_table = argv[2];
    n = atol(argv[5]);
    if (n < 1)
	n = 1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (i = 0; i < n; i++)
	verdict = hosts_ctl(argv[3], STRING_UNKNOWN, argv[4], STRING_UNKNOWN);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("%s %.1f\n", verdict ? "granted" : "denied",
	   ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n);
    return 0;
}
