package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/acl"
	"github.com/hinetd/hinetd/internal/config"
)

// defaultBacklog is the listen(2) queue for stream services when neither
// -q nor a policy's listen-backlog sets one; the kernel clamps it to
// net.core.somaxconn.
const defaultBacklog = 1024

// openSocket creates, binds and (for stream) listens on the socket of s
// with a queue of backlog connections.
// The descriptor is non-blocking and close-on-exec: the daemon watches it
// through Go's poller, and a child only ever gets it through the spawner.
//
// filter, when not nil, is attached before bind: no connection or
// datagram can reach the socket unfiltered (waitacl.go).
func openSocket(s *config.Service, backlog int, filter *acl.Filter) (int, error) {
	typ := unix.SOCK_STREAM
	if s.SocketType == config.Dgram {
		typ = unix.SOCK_DGRAM
	}
	typ |= unix.SOCK_CLOEXEC | unix.SOCK_NONBLOCK

	var domain int
	var sa unix.Sockaddr
	switch s.Family {
	case config.FamilyUnix:
		domain = unix.AF_UNIX
		sa = &unix.SockaddrUnix{Name: s.Path}
	case config.FamilyInet:
		domain = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: int(s.Port), Addr: s.BindAddr.Unmap().As4()}
	case config.FamilyInet6, config.FamilyDual:
		domain = unix.AF_INET6
		sa6 := &unix.SockaddrInet6{Port: int(s.Port), Addr: s.BindAddr.As16()}
		if z := s.BindAddr.Zone(); z != "" {
			if ifi, err := netInterfaceIndex(z); err == nil {
				sa6.ZoneId = uint32(ifi)
			}
		}
		sa = sa6
	default:
		return -1, fmt.Errorf("unknown address family %d", s.Family)
	}

	fd, err := unix.Socket(domain, typ, 0)
	if err != nil {
		return -1, fmt.Errorf("socket: %w", err)
	}
	fail := func(op string, err error) (int, error) {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", op, err)
	}
	if filter != nil {
		if err := filter.Attach(fd); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	if domain != unix.AF_UNIX {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1); err != nil {
			return fail("setsockopt(SO_REUSEADDR)", err)
		}
	}
	if domain == unix.AF_INET6 {
		// Set IPV6_V6ONLY explicitly either way: the kernel default comes
		// from net.ipv6.bindv6only and must not decide what tcp6 means.
		v6only := 1
		if s.Family == config.FamilyDual {
			v6only = 0
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only); err != nil {
			return fail("setsockopt(IPV6_V6ONLY)", err)
		}
	}
	if domain == unix.AF_UNIX {
		// As inetd(8) does: a stale socket file from an earlier run would
		// make bind fail. Only a socket is removed, never a regular file.
		if fi, err := os.Lstat(s.Path); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(s.Path)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return fail(fmt.Sprintf("bind(%s)", bindName(s)), err)
	}
	if domain == unix.AF_UNIX {
		// Connecting needs write permission on the socket file; access
		// control is hosts.allow's and the directory's business.
		if err := os.Chmod(s.Path, 0o666); err != nil {
			return fail("chmod", err)
		}
	}
	if s.SocketType == config.Stream {
		if err := unix.Listen(fd, backlog); err != nil {
			return fail("listen", err)
		}
	}
	return fd, nil
}

func bindName(s *config.Service) string {
	if s.Family == config.FamilyUnix {
		return s.Path
	}
	return netip.AddrPortFrom(s.BindAddr, s.Port).String()
}

// sockaddrToAddrPort converts a kernel socket address, unmapping IPv4-mapped
// IPv6 addresses so that limits, ACLs and logs see one form of each client.
func sockaddrToAddrPort(sa unix.Sockaddr) netip.AddrPort {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(a.Addr).Unmap(), uint16(a.Port))
	}
	return netip.AddrPort{}
}

func setBlocking(fd int, blocking bool) error {
	return unix.SetNonblock(fd, !blocking)
}

func netInterfaceIndex(name string) (int, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return 0, err
	}
	return ifi.Index, nil
}
