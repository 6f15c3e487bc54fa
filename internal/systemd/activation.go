package systemd

import (
	"fmt"
	"net/netip"
	"os"
	"sync"

	"github.com/coreos/go-systemd/v22/activation"
	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/config"
)

// Socket is one descriptor systemd passed (LISTEN_FDS), as the kernel
// describes it: hinetd matches it to a service by what it is, never by
// its position or name alone.
type Socket struct {
	Name      string // from LISTEN_FDNAMES (FileDescriptorName=), else "LISTEN_FD_<n>"
	FD        int    // close-on-exec, non-blocking
	Type      string // config.Stream or config.Dgram; "" for anything else
	Domain    int    // AF_INET, AF_INET6, AF_UNIX
	Addr      netip.AddrPort
	Path      string // AF_UNIX
	V6Only    bool
	Listening bool // SO_ACCEPTCONN
}

func (s *Socket) String() string {
	where := s.Addr.String()
	if s.Domain == unix.AF_UNIX {
		where = s.Path
	}
	return fmt.Sprintf("%s (fd %d, %s %s)", s.Name, s.FD, s.Type, where)
}

// Sockets are the sockets systemd passed that no service has taken yet.
// The zero value holds none. Safe for concurrent use.
type Sockets struct {
	mu   sync.Mutex
	free []*Socket
}

// Listeners takes the descriptors of sd_listen_fds(3): LISTEN_PID must be
// this process, the descriptors start at 3. Each is moved to a new
// close-on-exec, non-blocking descriptor (the go-systemd *os.File is
// closed, so that its finalizer never closes a descriptor a listener
// owns) and the LISTEN_* variables are unset. A descriptor that is not a
// socket hinetd can serve (a FIFO, a netlink socket) is an error; the
// others are still returned.
func Listeners() (*Sockets, []error) {
	files := activation.Files(true)
	ss := &Sockets{}
	var errs []error
	for _, f := range files {
		s, err := describe(f)
		f.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ss.free = append(ss.free, s)
	}
	return ss, errs
}

func describe(f *os.File) (*Socket, error) {
	raw := int(f.Fd())
	fd, err := unix.FcntlInt(uintptr(raw), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, fmt.Errorf("systemd socket %s: fcntl(F_DUPFD_CLOEXEC): %w", f.Name(), err)
	}
	s := &Socket{Name: f.Name(), FD: fd}
	fail := func(op string, err error) (*Socket, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("systemd socket %s (fd %d): %s: %w", f.Name(), raw, op, err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		return fail("fcntl(O_NONBLOCK)", err)
	}
	typ, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fail("getsockopt(SO_TYPE)", err)
	}
	switch typ {
	case unix.SOCK_STREAM:
		s.Type = config.Stream
	case unix.SOCK_DGRAM:
		s.Type = config.Dgram
	default:
		return fail("socket type", fmt.Errorf("%d is neither stream nor dgram", typ))
	}
	acc, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	if err != nil {
		return fail("getsockopt(SO_ACCEPTCONN)", err)
	}
	s.Listening = acc == 1
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		s.Domain, s.Addr = unix.AF_INET, netip.AddrPortFrom(netip.AddrFrom4(a.Addr), uint16(a.Port))
	case *unix.SockaddrInet6:
		s.Domain, s.Addr = unix.AF_INET6, netip.AddrPortFrom(netip.AddrFrom16(a.Addr), uint16(a.Port))
		v6, err := unix.GetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
		if err != nil {
			return fail("getsockopt(IPV6_V6ONLY)", err)
		}
		s.V6Only = v6 == 1
	case *unix.SockaddrUnix:
		s.Domain, s.Path = unix.AF_UNIX, a.Name
	default:
		return fail("getsockname", fmt.Errorf("address family %T", sa))
	}
	return s, nil
}

// Take removes and returns the socket that serves c: same type, same
// family (IPV6_V6ONLY as tcp6 or tcp46 ask), same address and port, or the
// same path; a stream socket must already listen. nil when none does: the
// daemon binds the service itself.
func (ss *Sockets) Take(c *config.Service) *Socket {
	if ss == nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for i, s := range ss.free {
		if s.serves(c) {
			ss.free = append(ss.free[:i], ss.free[i+1:]...)
			return s
		}
	}
	return nil
}

// Free lists the sockets no service has taken.
func (ss *Sockets) Free() []*Socket {
	if ss == nil {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return append([]*Socket(nil), ss.free...)
}

// serves - whether s is the socket hinetd would have bound for c.
func (s *Socket) serves(c *config.Service) bool {
	if s.Type != c.SocketType || (s.Type == config.Stream && !s.Listening) {
		return false
	}
	switch c.Family {
	case config.FamilyUnix:
		return s.Domain == unix.AF_UNIX && s.Path == c.Path
	case config.FamilyInet:
		return s.Domain == unix.AF_INET && s.Addr == netip.AddrPortFrom(c.BindAddr.Unmap(), c.Port)
	case config.FamilyInet6:
		return s.Domain == unix.AF_INET6 && s.V6Only && s.Addr == netip.AddrPortFrom(c.BindAddr, c.Port)
	case config.FamilyDual:
		return s.Domain == unix.AF_INET6 && !s.V6Only && s.Addr == netip.AddrPortFrom(c.BindAddr, c.Port)
	}
	return false
}
