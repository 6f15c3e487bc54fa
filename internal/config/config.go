// Package config reads inetd.conf into an immutable Snapshot: one Service per
// good line, and one error per bad line, naming file:line. A bad line skips
// that service only (classic inetd behaviour); every good line still loads.
//
// A line is
//
//	[addr:]service socket_type protocol wait|nowait[.N][/max-child[/max-conn-per-ip-per-minute[/max-child-per-ip]]] user[:group] server_program [argv0 args...]
//
// with fields separated by spaces or tabs. A line whose first word starts
// with "#" is a comment; blank lines are ignored. service is a name from
// /etc/services (looked up for the protocol's transport), a port 1-65535, or
// for protocol unix an absolute socket path. socket_type is stream (with
// tcp* or unix) or dgram (with udp* or unix). user.group is accepted for
// user:group when the whole word is not itself a user name; without a
// group the user's primary group is used. server_program is an absolute
// path to an existing executable, or "internal" for a built-in (echo,
// discard, chargen, daytime, time) named by the service or, on a numeric
// port, by the word after "internal"; stream built-ins must be nowait, and
// the classic "dgram udp wait root internal" is read as nowait (as
// FreeBSD does), since built-ins run inside hinetd. Without
// arguments argv[0] is the program's base name. OpenBSD's nowait.N sets N
// invocations per minute; a bare "addr:" line sets the address of the
// lines after it, and "*:" goes back to the default.
//
// Addresses and families. addr is an IPv4 address, an IPv6 address (in
// brackets, or bare since service names hold no colon), a host name or
// "*". A line without addr takes the last bare "addr:" line's address, or
// the -a address (Options.DefaultAddr); "*" always means the -a address,
// which is itself "any" when -a is not given. Then, as on FreeBSD:
// tcp/udp bind IPv4 (FamilyInet, "any" = 0.0.0.0) unless the address is
// IPv6, which gives FamilyInet6; tcp4/udp4 are IPv4 only; tcp6/udp6 are an
// IPv6 socket with IPV6_V6ONLY set ("any" = ::); tcp46/udp46 are one IPv6
// socket with IPV6_V6ONLY cleared (FamilyDual, "any" = ::). An address of
// the wrong family for the protocol is an error. A host name is resolved
// at parse time and its first address of the needed family is used (for
// plain tcp/udp: the first IPv4 address, else the first IPv6 one); a
// service binds one address, never all of a name's addresses.
//
// Divergences from other inetds, all on the side of failing loudly: socket
// types other than stream and dgram, RPC services and tcpmux are refused;
// limits must be at least 1 (FreeBSD reads 0 as "no limit": leave the
// field out instead); per-client limits are refused with wait, where the
// server accepts clients itself; stream built-ins must be nowait; the program
// must exist when the file is loaded; an IPv4-mapped IPv6 address, an
// inet_aton form such as "127.1" and an unclean unix path ("/run//x") are
// refused; "#" starts a comment only as the first word of a line; control
// characters other than tab are an error, and a CR before the newline is
// ignored. Two lines with the same Service.Key are an error on the later
// one.
//
// A server run through tcpd ("/usr/sbin/tcpd /usr/sbin/in.rshd", as Debian
// writes its lines) is run directly: Program and Args are what tcpd would
// run, Wrapper is tcpd, and the wrapped server must exist. A line that
// runs a standalone daemon inetd(8) says must not be run from inetd
// (named, routed, rwhod, sendmail, listen, the NFS servers rpc.nfsd,
// rpc.mountd, rpc.statd, rpc.lockd), directly or behind tcpd, is an error.
package config

import (
	"net/netip"
	"time"
)

// Socket types and protocol families accepted in inetd.conf.
const (
	Stream = "stream"
	Dgram  = "dgram"
)

// Family says which address families a service listens on. The zero value
// is invalid; the parser always sets one.
type Family int

const (
	FamilyInet  Family = iota + 1 // tcp4/udp4, and plain tcp/udp on an IPv4 address or "any"
	FamilyInet6                   // tcp6/udp6, and plain tcp/udp on an IPv6 address: IPV6_V6ONLY=1
	FamilyDual                    // tcp46/udp46: one IPv6 socket with IPV6_V6ONLY=0
	FamilyUnix                    // unix: service field is a socket path
)

// String returns the protocol suffix the family stands for: "4", "6", "46"
// or "unix"; "invalid" for the zero value.
func (f Family) String() string {
	switch f {
	case FamilyInet:
		return "4"
	case FamilyInet6:
		return "6"
	case FamilyDual:
		return "46"
	case FamilyUnix:
		return "unix"
	}
	return "invalid"
}

// Service is one inetd.conf line. The zero value is not a valid service.
type Service struct {
	File string // the file the line came from
	Line int    // its line number, for errors and logs

	Name       string     // service field as written ("echo", "7007", "/run/x.sock")
	Addr       string     // host part as written: "" = last bare "addr:" line or -a, "*" = -a
	BindAddr   netip.Addr // resolved address; invalid (zero) for unix
	Port       uint16     // 0 for unix
	Path       string     // unix socket path
	SocketType string     // Stream or Dgram
	Protocol   string     // as written: tcp, tcp4, tcp6, tcp46, udp, udp4, udp6, udp46, unix
	Family     Family
	Wait       bool // always false for built-ins

	// Limits from the wait/nowait field; 0 means "use the daemon default".
	MaxChild        int // wait|nowait/max-child: concurrent children
	MaxConnPerIPMin int // /max-conn-per-ip-per-minute
	MaxChildPerIP   int // /max-child-per-ip: concurrent children per client
	RatePerMinute   int // nowait.N (OpenBSD): invocations per minute, 0 = -R default

	User  string
	Group string // "" means the user's primary group
	UID   int
	GID   int

	Internal string   // built-in name ("echo", ...) when server_program is "internal"
	Program  string   // absolute path of the server run
	Args     []string // argv, argv[0] included
	// Wrapper is tcpd's path when the line ran the server through tcpd:
	// Program and Args are then the server and the argv tcpd would have
	// run, and hinetd's own access decision is the only one.
	Wrapper string
}

// Key identifies a listener: two services with the same key are duplicates,
// and a listener whose key is unchanged survives a reload.
func (s *Service) Key() string {
	if s.Family == FamilyUnix {
		// One path is one socket file, whatever its socket type.
		return "unix " + s.Path
	}
	// tcp on an IPv4 address and tcp4 are the same socket: key on the
	// transport and the family, not on the protocol word as written.
	transport := "tcp"
	if s.SocketType == Dgram {
		transport = "udp"
	}
	return transport + s.Family.String() + " " + netip.AddrPortFrom(s.BindAddr, s.Port).String()
}

// Snapshot is a parsed configuration. It is never modified after Parse.
type Snapshot struct {
	Path     string
	Hash     string // sha256 of the file's bytes, hex, for logs
	Size     int    // the file's length in bytes (the watch holds back a shorter version)
	Services []*Service
	LoadedAt time.Time
	// Unterminated is the number of the last line when it has no
	// newline (0 when the file ends in one): a file cut short by a write
	// still under way looks like this. The line is parsed all the same.
	Unterminated int
}

// DefaultPath is the configuration file hinetd and hinetd-check read when
// the command line names none.
const DefaultPath = "/etc/inetd.conf"

// PathArg is the configuration file named by a command's operands (after
// its flags): DefaultPath when there is none, false when there are more
// than one (a usage error).
func PathArg(args []string) (string, bool) {
	switch len(args) {
	case 0:
		return DefaultPath, true
	case 1:
		return args[0], true
	}
	return "", false
}
