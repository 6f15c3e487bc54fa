/*
 * libwrap_oracle - decide real loopback connections with libwrap, the way
 * a daemon linked with it does (request_init + fromhost + hosts_access),
 * for hosts.TestOracle. It must run in a private network namespace (it
 * brings lo up and binds any 127.x address and port).
 *
 * stdin, one case per line:  DIR DAEMON CLIENT_ADDR SERVER_ADDR SERVER_PORT
 * stdout, one line per case: granted|denied CLIENT_NAME CLIENT_ADDR
 *                            (or "error MESSAGE")
 */
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>
#include <tcpd.h>

int allow_severity = LOG_INFO;
int deny_severity = LOG_WARNING;

static void lo_up(void)
{
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM, 0);

    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
	ifr.ifr_flags |= IFF_UP;
	ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    close(s);
}

/* sa - fill a sockaddr from text; an IPv4 address given to a v6 peer is mapped. */
static socklen_t sa(const char *text, int port, int family, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
	struct sockaddr_in *s4 = (struct sockaddr_in *) ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	if (inet_pton(AF_INET, text, &s4->sin_addr) != 1)
	    return 0;
	return sizeof(*s4);
    } else {
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *) ss;
	char buf[64];
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(port);
	if (strchr(text, ':') == 0) {
	    snprintf(buf, sizeof(buf), "::ffff:%s", text);
	    text = buf;
	}
	if (inet_pton(AF_INET6, text, &s6->sin6_addr) != 1)
	    return 0;
	return sizeof(*s6);
    }
}

int main(void)
{
    char line[4096], dir[2048], daemon[256], caddr[64], saddr[64];
    char allow[2100], deny[2100];
    int port;

    lo_up();
    setvbuf(stdout, 0, _IOLBF, 0);
    while (fgets(line, sizeof(line), stdin)) {
	struct sockaddr_storage sss, css;
	socklen_t sl, cl;
	int family, ls, cs, as, one = 1;
	struct request_info req;

	if (sscanf(line, "%2047s %255s %63s %63s %d", dir, daemon, caddr, saddr, &port) != 5) {
	    printf("error bad input\n");
	    continue;
	}
	/* A mapped client needs a v6 socket on both ends; "m:" marks it. */
	family = (strchr(saddr, ':') || strncmp(caddr, "m:", 2) == 0) ? AF_INET6 : AF_INET;
	if (strncmp(caddr, "m:", 2) == 0)
	    memmove(caddr, caddr + 2, strlen(caddr + 2) + 1);
	sl = sa(saddr, port, family, &sss);
	cl = sa(caddr, 0, family, &css);
	if (sl == 0 || cl == 0) {
	    printf("error bad address\n");
	    continue;
	}
	ls = socket(family, SOCK_STREAM, 0);
	cs = socket(family, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *) &sss, sl) || listen(ls, 1)
	    || bind(cs, (struct sockaddr *) &css, cl)
	    || connect(cs, (struct sockaddr *) &sss, sl)
	    || (as = accept(ls, 0, 0)) < 0) {
	    printf("error socket: %s\n", strerror(errno));
	    close(ls);
	    close(cs);
	    continue;
	}
	snprintf(allow, sizeof(allow), "%s/hosts.allow", dir);
	snprintf(deny, sizeof(deny), "%s/hosts.deny", dir);
	hosts_allow_table = allow;
	hosts_deny_table = deny;
	request_init(&req, RQ_DAEMON, daemon, RQ_FILE, as, 0);
	fromhost(&req);
	{
	    int v = hosts_access(&req);
	    printf("%s %s %s\n", v ? "granted" : "denied",
		   eval_hostname(req.client), eval_hostaddr(req.client));
	}
	close(as);
	close(cs);
	close(ls);
    }
    return 0;
}
