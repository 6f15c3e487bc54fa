package acl

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/testenv"
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
	// Linux 6.18 attaches a filter to a TCP socket only with CAP_NET_ADMIN.
	testenv.NeedRoot(t)
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

// runFilter is a classic BPF interpreter for the instructions
// CompileFilter emits, run on a packet whose network header is net (the
// kernel's SKF_NET_OFF loads read it). It returns the program's verdict:
// the bytes to keep, 0 to drop. Anything else it meets fails the test.
func runFilter(t *testing.T, f *Filter, net []byte) uint32 {
	var a uint32
	var mem [16]uint32
	load := func(k uint32, n int) (uint32, bool) {
		off := int(int32(k)) - skfNetOff
		if off < 0 || off+n > len(net) {
			return 0, false // the kernel drops the packet
		}
		var v uint32
		for i := 0; i < n; i++ {
			v = v<<8 | uint32(net[off+i])
		}
		return v, true
	}
	for pc, steps := 0, 0; pc < len(f.prog) && steps < 100000; pc, steps = pc+1, steps+1 {
		in := f.prog[pc]
		switch in.Code {
		case unix.BPF_LD | unix.BPF_B | unix.BPF_ABS, unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			n := 4
			if in.Code&0x18 == unix.BPF_B { // the size bits: BPF_W 0, BPF_H 8, BPF_B 0x10
				n = 1
			}
			v, ok := load(in.K, n)
			if !ok {
				return 0
			}
			a = v
		case unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K:
			a >>= in.K
		case unix.BPF_ALU | unix.BPF_AND | unix.BPF_K:
			a &= in.K
		case unix.BPF_ST:
			mem[in.K] = a
		case unix.BPF_LD | unix.BPF_MEM:
			a = mem[in.K]
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K:
			if a == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case unix.BPF_JMP | unix.BPF_JA:
			pc += int(in.K)
		case unix.BPF_RET | unix.BPF_K:
			return in.K
		default:
			t.Fatalf("instruction %d: code %#x not expected", pc, in.Code)
		}
	}
	t.Fatal("the program ran off its end")
	return 0
}

// header is a minimal IPv4 or IPv6 header from src.
func header(src netip.Addr) []byte {
	if src.Is4() {
		h := make([]byte, 20)
		h[0] = 0x45
		b := src.As4()
		copy(h[12:], b[:])
		return h
	}
	h := make([]byte, 40)
	h[0] = 0x60
	b := src.As16()
	copy(h[8:], b[:])
	return h
}

type fixedIdent string

func (u fixedIdent) LookupUser(context.Context, netip.AddrPort, netip.AddrPort) (string, error) {
	return string(u), nil
}

// FuzzWaitFilter: for any pair of hosts files, a daemon and a client,
// either AddressRules names every rule it cannot reduce (file:line), or
// its rules decide as Table.Decide does (with a resolver that knows the
// client's name and an ident server that answers: an address-only result
// must not depend on them), and the socket filter compiled from them lets
// the client's packets in exactly when they grant it.
func FuzzWaitFilter(f *testing.F) {
	f.Add("waitsrv: 10.0.0.1, [2001:db8::]/32 EXCEPT [2001:db8::5]\n", "ALL: ALL EXCEPT 10.0.0.0/255.0.255.0\n", "waitsrv", []byte{10, 0, 0, 1}, byte(0))
	f.Add("", "waitsrv: 10.0.0.0/8: allow\nwaitsrv@10.0.0.1: ALL\n", "waitsrv", []byte{10, 9, 9, 9}, byte(1))
	f.Add("ALL EXCEPT waitsrv: 10.\n", "waitsrv: .example, KNOWN, bob@ALL\n", "waitsrv", []byte{32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5}, byte(0))
	f.Add("", "25: [::1]\n", "other", []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, byte(3))
	f.Fuzz(func(t *testing.T, allow, deny, daemon string, addr []byte, flags byte) {
		if len(allow)+len(deny) > 4096 || strings.Count(allow+deny, "*") > 16 {
			return
		}
		tb, err := hosts.Compile(hosts.Source{Name: "a", Text: []byte(allow)}, hosts.Source{Name: "d", Text: []byte(deny)}, hosts.ParseOptions{})
		if err != nil {
			return
		}
		server := netip.AddrPortFrom(netip.IPv4Unspecified(), 25)
		if flags&1 != 0 {
			server = netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, 1}), 25)
		}
		rules, err := tb.AddressRules(daemon, server)
		if err != nil {
			for _, ln := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(ln, "a:") && !strings.HasPrefix(ln, "d:") || !strings.Contains(ln, ": needs more than the client address: ") {
					t.Fatalf("error line without file:line: %q", ln)
				}
			}
			return
		}
		client, ok := netip.AddrFromSlice(addr)
		if !ok {
			return
		}
		q := hosts.Request{Daemon: daemon, ServerAddr: server.Addr(), ServerPort: server.Port(), ClientAddr: client, ClientPort: 4000,
			Resolver: ParseHostsFile(client.Unmap().String() + " h.example h\n"), Netgroups: nil}
		if flags&2 != 0 {
			q.Ident = fixedIdent("bob")
		}
		want := tb.Decide(q)
		got, r := hosts.DecideAddr(rules, client)
		if got != want.Verdict || (r == nil) != want.Default || (r != nil && (r.File != want.File || r.Line != want.Line)) {
			t.Fatalf("client %v: DecideAddr %v %+v, Decide %v %s:%d", client, got, r, want.Verdict, want.File, want.Line)
		}
		prog, err := CompileFilter(rules)
		if err != nil {
			return // over the kernel's size: refused, not attached
		}
		if client.Is4In6() {
			return // Linux drops IPv6 packets from an IPv4-mapped source (ipv6_rcv)
		}
		if in := runFilter(t, prog, header(client)) != 0; in != (got == hosts.Granted) {
			t.Fatalf("client %v: the filter lets it in %v, the rules grant %v (%d instructions)", client, in, got == hosts.Granted, prog.Len())
		}
	})
}
