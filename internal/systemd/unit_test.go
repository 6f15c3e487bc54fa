package systemd

import (
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/config"
)

// bindAsSystemd creates the sockets a .socket unit's text asks for, as
// systemd does (socket(7) family from the address, IPV6_V6ONLY from
// BindIPv6Only=, listen for ListenStream=), and returns them described.
func bindAsSystemd(t *testing.T, unit string) []*Socket {
	t.Helper()
	v6only := 0
	if strings.Contains(unit, "\nBindIPv6Only=ipv6-only\n") {
		v6only = 1
	}
	var out []*Socket
	for _, ln := range strings.Split(unit, "\n") {
		dir, where, ok := strings.Cut(ln, "=")
		if !ok || (dir != "ListenStream" && dir != "ListenDatagram") {
			continue
		}
		typ := unix.SOCK_STREAM
		if dir == "ListenDatagram" {
			typ = unix.SOCK_DGRAM
		}
		var domain int
		var sa unix.Sockaddr
		if strings.HasPrefix(where, "/") {
			domain, sa = unix.AF_UNIX, &unix.SockaddrUnix{Name: where}
		} else {
			ap := netip.MustParseAddrPort(where)
			if ap.Addr().Is4() {
				domain, sa = unix.AF_INET, &unix.SockaddrInet4{Addr: ap.Addr().As4(), Port: int(ap.Port())}
			} else {
				domain, sa = unix.AF_INET6, &unix.SockaddrInet6{Addr: ap.Addr().As16(), Port: int(ap.Port())}
			}
		}
		fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		if domain == unix.AF_INET6 {
			unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, v6only)
		}
		if err := unix.Bind(fd, sa); err != nil {
			t.Fatalf("%s=%s: bind: %v", dir, where, err)
		}
		if typ == unix.SOCK_STREAM {
			unix.Listen(fd, 8)
		}
		s, err := describe(os.NewFile(uintptr(fd), "x"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { unix.Close(s.FD) })
		out = append(out, s)
	}
	return out
}

func freePort(t *testing.T) uint16 {
	t.Helper()
	l, err := net.Listen("tcp", "[::]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port)
}

// TestSocketUnitsRoundTrip: the units SocketUnits writes, bound the way
// systemd binds them, give exactly one socket per service, each the one
// hinetd takes for that service (no socket left over, none missing).
func TestSocketUnitsRoundTrip(t *testing.T) {
	lo4, lo6 := netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")
	path := filepath.Join(t.TempDir(), "svc.sock")
	svcs := []*config.Service{
		{Name: "daytime", SocketType: config.Stream, Protocol: "tcp", Family: config.FamilyInet, BindAddr: lo4, Port: freePort(t)},
		{Name: "tftp", SocketType: config.Dgram, Protocol: "udp4", Family: config.FamilyInet, BindAddr: netip.IPv4Unspecified(), Port: freePort(t)},
		{Name: "finger", SocketType: config.Stream, Protocol: "tcp6", Family: config.FamilyInet6, BindAddr: lo6, Port: freePort(t)},
		{Name: "echo", SocketType: config.Stream, Protocol: "tcp46", Family: config.FamilyDual, BindAddr: netip.IPv6Unspecified(), Port: freePort(t)},
		{Name: path, SocketType: config.Stream, Protocol: "unix", Family: config.FamilyUnix, Path: path},
	}
	units := SocketUnits(svcs)
	if len(units) != 2 || units["hinetd.socket"] == "" || units["hinetd6.socket"] == "" {
		t.Fatalf("units: %v", units)
	}
	ss := &Sockets{}
	for _, u := range units {
		ss.free = append(ss.free, bindAsSystemd(t, u)...)
	}
	if len(ss.free) != len(svcs) {
		t.Fatalf("%d sockets for %d services:\n%s%s", len(ss.free), len(svcs), units["hinetd.socket"], units["hinetd6.socket"])
	}
	for _, s := range svcs {
		if ss.Take(s) == nil {
			t.Errorf("no passed socket serves %s (%s)", s.Name, s.Protocol)
		}
	}
	if left := ss.Free(); len(left) != 0 {
		t.Errorf("sockets no service takes: %v", left)
	}
}
