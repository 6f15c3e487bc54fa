package hosts

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
)

// TestAddressRules: which rules can apply to a daemon, and which need
// more than the client address (with the rule's file:line).
func TestAddressRules(t *testing.T) {
	for _, tc := range []struct {
		name        string
		allow, deny string
		daemon      string
		server      string
		wantRules   int
		wantErr     string
	}{
		// Rules for other daemons do not count, whatever they need.
		{"other daemons", "sshd: .example.com\n", "ftpd: alice@ALL\nwaitsrv: 10.0.0.1\n", "waitsrv", "0.0.0.0:25", 1, ""},
		// Address patterns of every shape.
		{"addresses", "waitsrv: 10.0.0.1, 10., 192.168.0.0/255.255.0.0, [2001:db8::]/32, 10.0.0.0/255.0.255.0\n", "ALL: ALL EXCEPT 127.0.0.1\n", "waitsrv", "0.0.0.0:25", 2, ""},
		{"host name", "", "ALL: 10.0.0.1\nwaitsrv: .example.com\n", "waitsrv", "0.0.0.0:25", 0, `deny:2: needs more than the client address: "waitsrv: .example.com" (client pattern ".example.com" needs the client's host name)`},
		{"user", "", "waitsrv: bob@ALL\n", "waitsrv", "0.0.0.0:25", 0, `deny:1: needs more than the client address: "waitsrv: bob@ALL" (client pattern "bob@ALL" needs the client's user name)`},
		{"KNOWN", "waitsrv: KNOWN\n", "", "waitsrv", "0.0.0.0:25", 0, `allow:1: needs more than the client address: "waitsrv: KNOWN" (client pattern "KNOWN" needs the client's host name)`},
		{"text", "", "waitsrv: .5\n", "waitsrv", "0.0.0.0:25", 0, `(client pattern ".5" matches the address as text)`},
		{"wildcard", "", "waitsrv: 10.0.0.*\n", "waitsrv", "0.0.0.0:25", 0, `(client pattern "10.0.0.*" needs the client's host name)`},
		{"option", "", "waitsrv: ALL: spawn echo %a\n", "waitsrv", "0.0.0.0:25", 0, `(option "spawn" acts on the connection)`},
		{"allow option", "", "waitsrv: 10.0.0.1: allow\nwaitsrv: ALL\n", "waitsrv", "0.0.0.0:25", 2, ""},
		{"server on a wildcard listener", "", "waitsrv@127.0.0.1: ALL\n", "waitsrv", "0.0.0.0:25", 0, `(server pattern "waitsrv@127.0.0.1": the service listens on every address)`},
		{"server address known", "", "waitsrv@127.0.0.1: ALL\nwaitsrv@127.0.0.2: ALL\n", "waitsrv", "127.0.0.1:25", 1, ""},
		{"port pattern", "", "25: ALL\n26: .example.com\n", "waitsrv", "127.0.0.1:25", 1, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb, err := Compile(Source{"allow", []byte(tc.allow)}, Source{"deny", []byte(tc.deny)}, ParseOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rules, err := tb.AddressRules(tc.daemon, netip.MustParseAddrPort(tc.server))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || len(rules) != tc.wantRules {
				t.Fatalf("%d rules, %v; want %d", len(rules), err, tc.wantRules)
			}
		})
	}
}

// TestDecideAddrAgreesWithDecide: for address-only tables, the reduced
// rules decide every client as the table does (the slow, whole path).
func TestDecideAddrAgreesWithDecide(t *testing.T) {
	allow := "waitsrv: 10.0.0.1, 10.1., [2001:db8::]/32 EXCEPT [2001:db8::5]\nALL EXCEPT waitsrv: 10.9.9.9\nwaitsrv: 10.2.0.0/255.255.0.0 EXCEPT 10.2.3.0/24 EXCEPT 10.2.3.4\n"
	deny := "waitsrv: 10.0.0.0/8, 10.0.0.0/255.0.255.0: allow\nwaitsrv: 127.0.0.1\nwaitsrv, ftpd: [::1]\nALL: ALL EXCEPT 192.168.0.0/16\n"
	tb, err := Compile(Source{"allow", []byte(allow)}, Source{"deny", []byte(deny)}, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := tb.AddressRules("waitsrv", netip.MustParseAddrPort("0.0.0.0:25"))
	if err != nil {
		t.Fatal(err)
	}
	seeds := []string{"10.0.0.1", "10.1.2.3", "10.2.3.4", "10.2.3.5", "10.2.4.4", "10.9.9.9", "10.3.0.7", "127.0.0.1",
		"192.168.1.1", "2001:db8::5", "2001:db8::6", "::1", "::2", "::ffff:10.0.0.1", "::ffff:127.0.0.1", "1.2.3.4"}
	rnd := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20000; i++ {
		var a netip.Addr
		if i < len(seeds) {
			a = netip.MustParseAddr(seeds[i])
		} else if i%2 == 0 {
			a = netip.AddrFrom4([4]byte{[]byte{10, 127, 192, 1}[rnd.IntN(4)], byte(rnd.IntN(4)), byte(rnd.IntN(5)), byte(rnd.IntN(6))})
		} else {
			b := netip.MustParseAddr("2001:db8::").As16()
			b[15] = byte(rnd.IntN(8))
			if rnd.IntN(3) == 0 {
				b = netip.IPv6Loopback().As16()
				b[15] = byte(rnd.IntN(3))
			}
			a = netip.AddrFrom16(b)
		}
		want := tb.Decide(Request{Daemon: "waitsrv", ServerPort: 25, ClientAddr: a, ClientName: Unknown, User: Unknown})
		got, r := DecideAddr(rules, a)
		if got != want.Verdict || (r == nil) != want.Default || (r != nil && r.Line != want.Line) {
			t.Fatalf("%v: DecideAddr %v (rule %+v), Decide %v %s:%d", a, got, r, want.Verdict, want.File, want.Line)
		}
	}
}
