package systemd

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/config"
)

// socketFile binds a socket as a .socket unit would and returns it as the
// *os.File activation.Files would give.
func socketFile(t *testing.T, domain, typ int, sa unix.Sockaddr, v6only int, listen bool) *os.File {
	t.Helper()
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if domain == unix.AF_INET6 {
		unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only)
	}
	if err := unix.Bind(fd, sa); err != nil {
		t.Fatal(err)
	}
	if listen {
		unix.Listen(fd, 8)
	}
	return os.NewFile(uintptr(fd), "test")
}

// TestServes: a passed socket serves a service only if it is the socket
// hinetd would have bound for it.
func TestServes(t *testing.T) {
	lo4, lo6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	path := filepath.Join(t.TempDir(), "s")
	tcp4 := socketFile(t, unix.AF_INET, unix.SOCK_STREAM, &unix.SockaddrInet4{Addr: lo4.As4()}, 0, true)
	notListening := socketFile(t, unix.AF_INET, unix.SOCK_STREAM, &unix.SockaddrInet4{Addr: lo4.As4()}, 0, false)
	udp6 := socketFile(t, unix.AF_INET6, unix.SOCK_DGRAM, &unix.SockaddrInet6{Addr: lo6.As16()}, 1, false)
	dual := socketFile(t, unix.AF_INET6, unix.SOCK_STREAM, &unix.SockaddrInet6{}, 0, true)
	ux := socketFile(t, unix.AF_UNIX, unix.SOCK_STREAM, &unix.SockaddrUnix{Name: path}, 0, true)
	desc := func(f *os.File) *Socket {
		s, err := describe(f)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sT, sN, sU, sD, sX := desc(tcp4), desc(notListening), desc(udp6), desc(dual), desc(ux)
	svc := func(typ string, fam config.Family, a netip.Addr, port uint16) *config.Service {
		return &config.Service{SocketType: typ, Family: fam, BindAddr: a, Port: port}
	}
	for _, tc := range []struct {
		name string
		s    *Socket
		c    *config.Service
		want bool
	}{
		{"tcp4 same address", sT, svc(config.Stream, config.FamilyInet, lo4, sT.Addr.Port()), true},
		{"tcp4 other port", sT, svc(config.Stream, config.FamilyInet, lo4, sT.Addr.Port()+1), false},
		{"tcp4 for a udp service", sT, svc(config.Dgram, config.FamilyInet, lo4, sT.Addr.Port()), false},
		{"stream not listening", sN, svc(config.Stream, config.FamilyInet, lo4, sN.Addr.Port()), false},
		{"udp6 v6only for udp6", sU, svc(config.Dgram, config.FamilyInet6, lo6, sU.Addr.Port()), true},
		{"udp6 v6only for udp46", sU, svc(config.Dgram, config.FamilyDual, lo6, sU.Addr.Port()), false},
		{"dual for tcp46", sD, svc(config.Stream, config.FamilyDual, netip.IPv6Unspecified(), sD.Addr.Port()), true},
		{"dual for tcp6", sD, svc(config.Stream, config.FamilyInet6, netip.IPv6Unspecified(), sD.Addr.Port()), false},
		{"dual for tcp on 0.0.0.0", sD, svc(config.Stream, config.FamilyInet, netip.IPv4Unspecified(), sD.Addr.Port()), false},
		{"unix same path", sX, &config.Service{SocketType: config.Stream, Family: config.FamilyUnix, Path: path}, true},
		{"unix other path", sX, &config.Service{SocketType: config.Stream, Family: config.FamilyUnix, Path: path + "x"}, false},
	} {
		if got := tc.s.serves(tc.c); got != tc.want {
			t.Errorf("%s: serves = %v, want %v (socket %v)", tc.name, got, tc.want, tc.s)
		}
	}
	ss := &Sockets{free: []*Socket{sT, sU}}
	if got := ss.Take(svc(config.Dgram, config.FamilyInet6, lo6, sU.Addr.Port())); got != sU || len(ss.Free()) != 1 {
		t.Errorf("Take: %v, free %v", got, ss.Free())
	}
}
