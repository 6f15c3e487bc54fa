// Package config reads inetd.conf into an immutable Snapshot: one Service per
// good line, and one error per bad line, naming file:line. A bad line skips
// that service only (classic inetd behaviour); every good line still loads.
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
	FamilyInet  Family = iota + 1 // tcp4/udp4, and plain tcp/udp on an IPv4 or '*' address
	FamilyInet6                   // tcp6/udp6: an IPv6 socket with IPV6_V6ONLY=1
	FamilyDual                    // tcp46/udp46: one IPv6 socket with IPV6_V6ONLY=0
	FamilyUnix                    // unix: service field is a socket path
)

// Service is one inetd.conf line. The zero value is not a valid service.
type Service struct {
	File string // the file the line came from
	Line int    // its line number, for errors and logs

	Name       string // service field as written ("echo", "7007", "/run/x.sock")
	Addr       string // host part as written ("" or "*" means the -a default)
	BindAddr   netip.Addr
	Port       uint16 // 0 for unix
	Path       string // unix socket path
	SocketType string // Stream or Dgram
	Protocol   string // as written: tcp, tcp4, tcp6, tcp46, udp, udp4, udp6, udp46, unix
	Family     Family
	Wait       bool

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
	Program  string   // absolute path of server_program
	Args     []string // argv, argv[0] included
}

// Key identifies a listener: two services with the same key are duplicates,
// and a listener whose key is unchanged survives a reload.
func (s *Service) Key() string {
	if s.Family == FamilyUnix {
		return "unix " + s.SocketType + " " + s.Path
	}
	// tcp on an IPv4 address and tcp4 are the same socket: key on the
	// transport and the family, not on the protocol word as written.
	transport := "tcp"
	if s.SocketType == Dgram {
		transport = "udp"
	}
	fam := map[Family]string{FamilyInet: "4", FamilyInet6: "6", FamilyDual: "46"}[s.Family]
	return transport + fam + " " + netip.AddrPortFrom(s.BindAddr, s.Port).String()
}

// Snapshot is a parsed configuration. It is never modified after Parse.
type Snapshot struct {
	Path     string
	Hash     string // sha256 of the file's bytes, hex, for logs
	Services []*Service
	LoadedAt time.Time
}
