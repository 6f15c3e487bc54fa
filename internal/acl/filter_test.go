package acl

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/hosts"
)

func addrRules(t *testing.T, allow, deny string) []hosts.AddrRule {
	t.Helper()
	tb, err := hosts.Compile(hosts.Source{Name: "hosts.allow", Text: []byte(allow)}, hosts.Source{Name: "hosts.deny", Text: []byte(deny)}, hosts.ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := tb.AddressRules("waitsrv", netip.AddrPort{})
	if err != nil {
		t.Fatal(err)
	}
	return rules
}

// filteredListener is a listening socket with the filter of allow/deny.
func filteredListener(t *testing.T, network, addr, allow, deny string) net.Listener {
	t.Helper()
	f, err := CompileFilter(addrRules(t, allow, deny))
	if err != nil {
		t.Fatal(err)
	}
	l, err := plainListen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	rc, _ := l.(*net.TCPListener).SyscallConn()
	var aerr error
	rc.Control(func(fd uintptr) { aerr = f.Attach(int(fd)) })
	if aerr != nil {
		t.Fatal(aerr)
	}
	return l
}

// plainListen listens on a TCP socket, not MPTCP (Go's default for
// listeners), whose SOL_SOCKET options differ; hinetd's own sockets are
// plain TCP.
func plainListen(network, addr string) (net.Listener, error) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	return lc.Listen(context.Background(), network, addr)
}

func connects(src string, addr net.Addr) bool {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 300 * time.Millisecond}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// TestFilterTCP: a denied client's SYN is dropped on a listening socket
// (no connection), a granted one connects; IPv4 clients of a dual-stack
// socket are decided as IPv4, IPv6 ones by their address.
func TestFilterTCP(t *testing.T) {
	allow := "waitsrv: 127.0.0.3\n"
	deny := "waitsrv: 127.0.0.2, 127.0.0.3, [::1]\nALL: 127.0.0.4\n"
	for _, tc := range []struct{ network, addr string }{{"tcp4", "127.0.0.1:0"}, {"tcp", "[::]:0"}} {
		l := filteredListener(t, tc.network, tc.addr, allow, deny)
		for src, want := range map[string]bool{"127.0.0.1": true, "127.0.0.2": false, "127.0.0.3": true, "127.0.0.4": false, "127.0.0.5": true} {
			port := l.Addr().(*net.TCPAddr).Port
			if got := connects(src, &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: port}); got != want {
				t.Errorf("%s: client %s connected %v, want %v", tc.network, src, got, want)
			}
		}
		if tc.network == "tcp" {
			port := l.Addr().(*net.TCPAddr).Port
			if connects("::1", &net.TCPAddr{IP: net.IPv6loopback, Port: port}) {
				t.Errorf("::1 connected, denied by [::1]")
			}
		}
	}
	// DropAll lets nobody in.
	l, _ := plainListen("tcp4", "127.0.0.1:0")
	defer l.Close()
	rc, _ := l.(*net.TCPListener).SyscallConn()
	rc.Control(func(fd uintptr) { DropAll().Attach(int(fd)) })
	if connects("127.0.0.1", l.Addr()) {
		t.Error("DropAll let a client in")
	}
	// Detach: everybody again.
	rc.Control(func(fd uintptr) { (*Filter)(nil).Attach(int(fd)) })
	if !connects("127.0.0.1", l.Addr()) {
		t.Error("no filter, no connection")
	}
}

// TestFilterAgreesWithDecide: random rule sets over 127.0.0.0/8 (prefixes,
// net/masks, EXCEPT, allow/deny options), attached to a UDP socket, let
// through exactly the datagrams of the sources hosts.Table.Decide grants.
func TestFilterAgreesWithDecide(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 13))
	pat := func() string {
		switch rnd.IntN(6) {
		case 0:
			return fmt.Sprintf("127.0.%d.%d", rnd.IntN(3), 1+rnd.IntN(6))
		case 1:
			return fmt.Sprintf("127.0.%d.", rnd.IntN(3))
		case 2:
			return fmt.Sprintf("127.0.%d.0/%d", rnd.IntN(3), 24+rnd.IntN(7))
		case 3:
			return fmt.Sprintf("127.0.0.%d/255.255.254.%d", 2*rnd.IntN(3), 254)
		case 4:
			return "ALL"
		}
		return "[2001:db8::]/32"
	}
	list := func() string {
		s := pat()
		for i := rnd.IntN(3); i > 0; i-- {
			s += ", " + pat()
		}
		if rnd.IntN(3) == 0 {
			s += " EXCEPT " + pat()
		}
		return s
	}
	file := func() string {
		var s string
		for i := rnd.IntN(4); i > 0; i-- {
			s += []string{"waitsrv", "ALL", "other"}[rnd.IntN(3)] + ": " + list()
			if rnd.IntN(5) == 0 {
				s += []string{": allow", ": deny"}[rnd.IntN(2)]
			}
			s += "\n"
		}
		return s
	}
	for round := 0; round < 30; round++ {
		allow, deny := file(), file()
		tb, err := hosts.Compile(hosts.Source{Name: "a", Text: []byte(allow)}, hosts.Source{Name: "d", Text: []byte(deny)}, hosts.ParseOptions{})
		if err != nil {
			continue // a random pattern libwrap never matches
		}
		rules, err := tb.AddressRules("waitsrv", netip.AddrPort{})
		if err != nil {
			t.Fatal(err)
		}
		f, err := CompileFilter(rules)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := srv.(*net.UDPConn).SyscallConn()
		rc.Control(func(fd uintptr) {
			if err := f.Attach(int(fd)); err != nil {
				t.Fatal(err)
			}
			unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
		})
		want := map[string]bool{}
		for c := 0; c < 3; c++ {
			for h := 0; h < 8; h++ {
				src := fmt.Sprintf("127.0.%d.%d", c, h+1)
				a := netip.MustParseAddr(src)
				want[src] = tb.Decide(hosts.Request{Daemon: "waitsrv", ClientAddr: a, ClientName: hosts.Unknown, User: hosts.Unknown}).Verdict == hosts.Granted
				cl, err := net.DialUDP("udp4", &net.UDPAddr{IP: a.AsSlice()}, srv.LocalAddr().(*net.UDPAddr))
				if err != nil {
					t.Fatal(err)
				}
				cl.Write([]byte(src))
				cl.Close()
			}
		}
		got := map[string]bool{}
		buf := make([]byte, 64)
		for i := 0; i < 100; i++ {
			srv.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, _, err := srv.ReadFrom(buf)
			if err != nil {
				break
			}
			got[string(buf[:n])] = true
		}
		srv.Close()
		for src, w := range want {
			if got[src] != w {
				t.Fatalf("round %d: %s let through %v, Decide grants %v\nhosts.allow:\n%shosts.deny:\n%s(%d instructions)", round, src, got[src], w, allow, deny, f.Len())
			}
		}
	}
}

// TestFilterSize: the program grows with the rules and stays under the
// kernel's limit for a few hundred patterns; beyond, an error.
func TestFilterSize(t *testing.T) {
	var deny string
	for i := 0; i < 300; i++ {
		deny += "waitsrv: 10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250) + "\n"
	}
	f, err := CompileFilter(addrRules(t, "", deny))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("300 address rules: %d instructions", f.Len())
	deny = ""
	for i := 0; i < 2000; i++ {
		deny += "waitsrv: 10.0." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250) + "\n"
	}
	if _, err := CompileFilter(addrRules(t, "", deny)); err == nil {
		t.Fatal("2000 rules compiled")
	}
}
