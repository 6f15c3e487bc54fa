package hosts

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// mapResolver is a test-owned resolver: ptr gives reverse names, fwd
// forward addresses.
type mapResolver struct {
	ptr   map[string]string
	fwd   map[string][]string
	calls int
}

func (m *mapResolver) LookupAddr(_ context.Context, a netip.Addr) ([]string, error) {
	m.calls++
	if n, ok := m.ptr[a.String()]; ok {
		return []string{n}, nil
	}
	return nil, errors.New("no PTR")
}

func (m *mapResolver) LookupHost(_ context.Context, n string) ([]netip.Addr, error) {
	m.calls++
	var out []netip.Addr
	for _, s := range m.fwd[strings.ToLower(n)] {
		out = append(out, netip.MustParseAddr(s))
	}
	if len(out) == 0 {
		return nil, errors.New("no A")
	}
	return out, nil
}

func compile(t testing.TB, allow, deny string) *Table {
	t.Helper()
	tb, err := Compile(Source{"hosts.allow", []byte(allow)}, Source{"hosts.deny", []byte(deny)}, ParseOptions{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return tb
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		text    string
		wantErr string
	}{
		// The prefix inside the brackets: libwrap never matches it.
		{"in.fingerd: [2001:db8::/32]\n", `hosts.deny:1:13: bad IPv6 address "[2001:db8::/32]"; expect [n:n::n] or [n:n::]/len (libwrap never matches it)`},
		// A line without a colon: libwrap skips it.
		{"ALL ALL\n", `hosts.deny:1:1: missing ":" separator after the daemon list`},
		// Host bits beyond the length.
		{"ALL: 10.0.0.5/8\n", `hosts.deny:1:6: network "10.0.0.5/8" has bits set beyond /8; libwrap never matches it`},
		{"ALL: 10.0.0.1/255.0.0.0\n", `hosts.deny:1:6: network "10.0.0.1/255.0.0.0" has bits set outside the mask; libwrap never matches it`},
		// Octal.
		{"ALL: 010.0.0.0/255.0.0.0\n", `hosts.deny:1:6: bad network "010.0.0.0/255.0.0.0"; expect n.n.n.n/m.m.m.m, n.n.n.n/len or [n:n::]/len in decimal (libwrap never matches it)`},
		// Mapped pattern.
		{"ALL: [::ffff:10.0.0.1]\n", `hosts.deny:1:6: bad IPv6 address "[::ffff:10.0.0.1]"; expect [n:n::n] or [n:n::]/len (libwrap never matches it)`},
		// Indented comment.
		{"  # ALL: ALL\n", `hosts.deny:1:3: "#" after blanks does not start a comment; put it in column 1`},
		// No newline at the end.
		{"ALL: ALL", `hosts.deny:1: missing newline at end of rule; libwrap ignores such a rule`},
		// Comment swallowing a rule.
		{"# note \\\nALL: ALL\n", `hosts.deny:1: comment ends in a backslash and continues onto line 2; libwrap would ignore that line`},
		{"ALL: EXCEPT 10.0.0.1\n", `hosts.deny:1:6: "EXCEPT" with nothing before it never matches`},
		{"ALL: ALL : bogus\n", `hosts.deny:1:12: unknown option "bogus"; expect allow, deny, spawn, twist, banners, setenv, umask, user, group, nice, keepalive, linger, severity or rfc931`},
		{"ALL: ALL : deny : spawn x\n", `hosts.deny:1:12: option "deny" must be the last option`},
		{"ALL: ALL : umask 999\n", `hosts.deny:1:12: option "umask": bad umask "999"`},
		{"ALL: 10.1\n", `hosts.deny:1:6: bad IPv4 address "10.1"; expect n.n.n.n in decimal (libwrap never matches it)`},
		{"ALL: /nonexistent/file\n", `hosts.deny:1:6: pattern file "/nonexistent/file": no file reader given`},
		// Port numbers in the daemon list: 1..65535 in plain decimal.
		{"+79: ALL\n", `hosts.deny:1:1: bad port number "+79"; expect 1 to 65535`},
		{"70000@ALL: ALL\n", `hosts.deny:1:1: bad port number "70000"; expect 1 to 65535`},
		{"ALL: ALL\n", ""},
		{"ALL: ALL :\n", ""},
		{"079, 22@10.0.0.1: ALL\n", ""},
	}
	for _, tc := range tests {
		_, err := Parse("hosts.deny", []byte(tc.text), ParseOptions{})
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tc.wantErr {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tc.text, got, tc.wantErr)
		}
	}
}

func TestWildMatch(t *testing.T) {
	for _, tc := range []struct {
		s, pat string
		want   bool
	}{
		{"*0", "*", true}, // a "*" in the string is no wildcard
		{"in.fingerd", "in.*", true},
		{"in.fingerd", "*d", true},
		{"in.fingerd", "?n.f*r?", true},
		{"in.fingerd", "?n.f*x", false},
		{"a.b.example", "*.example", true},
		{"example", "*.example", false},
		{"", "*", true},
		{"ab", "a?*", true},
		{"a", "a?*", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab", "*a*a*a*a*a*a*a*a*a*a*c", false},
	} {
		if got := wildMatch(tc.s, tc.pat); got != tc.want {
			t.Errorf("wildMatch(%q, %q) = %v", tc.s, tc.pat, got)
		}
	}
}

func TestAllErrorsReported(t *testing.T) {
	_, err := Parse("f", []byte("a b\nALL: 10.1\nALL: ALL\nx: [1::/3]\n"), ParseOptions{})
	if err == nil || strings.Count(err.Error(), "\n") != 2 {
		t.Fatalf("want 3 errors, got %v", err)
	}
}

func TestDecide(t *testing.T) {
	res := &mapResolver{
		ptr: map[string]string{"10.0.0.1": "good.example.com", "10.0.0.2": "liar.example.com", "10.0.0.3": "1.2.3.4"},
		fwd: map[string][]string{"good.example.com": {"10.0.0.1"}, "liar.example.com": {"10.9.9.9"}},
	}
	allow := "in.fingerd: 10.0.0.0/8 EXCEPT 10.1.0.0/16\n" +
		"sshd: .example.com EXCEPT PARANOID\n" +
		"ftpd: [2001:db8::]/32 : banners /etc/banners : setenv X %a\n" +
		"telnetd: 192.168. : deny\n"
	deny := "sshd: PARANOID : twist /bin/echo go away %h\nALL: ALL\n"
	tb := compile(t, allow, deny)
	tests := []struct {
		daemon, client string
		want           Verdict
		line           int
		file           string
	}{
		{"in.fingerd", "10.0.0.1", Granted, 1, "hosts.allow"},
		{"in.fingerd", "::ffff:10.0.0.1", Granted, 1, "hosts.allow"},
		{"in.fingerd", "10.1.2.3", Denied, 2, "hosts.deny"},
		{"IN.FINGERD", "10.0.0.1", Granted, 1, "hosts.allow"},
		{"sshd", "10.0.0.1", Granted, 2, "hosts.allow"},
		{"sshd", "10.0.0.2", Denied, 1, "hosts.deny"},
		{"sshd", "10.0.0.3", Denied, 1, "hosts.deny"},
		{"ftpd", "2001:db8::5", Granted, 3, "hosts.allow"},
		{"ftpd", "2001:db9::5", Denied, 2, "hosts.deny"},
		{"telnetd", "192.168.1.1", Denied, 4, "hosts.allow"},
	}
	for _, tc := range tests {
		d := tb.Decide(Request{Daemon: tc.daemon, ClientAddr: netip.MustParseAddr(tc.client), Resolver: res})
		if d.Verdict != tc.want || d.Line != tc.line || d.File != tc.file {
			t.Errorf("%s %s: got %v %s:%d, want %v %s:%d", tc.daemon, tc.client, d.Verdict, d.File, d.Line, tc.want, tc.file, tc.line)
		}
	}
	// libwrap's wildcard quirk: a trailing "**" needs a character.
	wt := compile(t, "in.fingerd**: ALL\nin.finger**: ALL\n", "ALL: ALL\n")
	if d := wt.Decide(Request{Daemon: "in.fingerd"}); d.Line != 2 {
		t.Errorf("trailing **: matched line %d, want 2", d.Line)
	}
	// A link-local client with a zone is matched without it.
	zt := compile(t, "", "ALL: [fe80::]/10 EXCEPT [fe80::1]\n")
	if d := zt.Decide(Request{Daemon: "x", ClientAddr: netip.MustParseAddr("fe80::2%eth0")}); d.Verdict != Denied {
		t.Errorf("zoned client: %v", d.Verdict)
	}
	if d := zt.Decide(Request{Daemon: "x", ClientAddr: netip.MustParseAddr("fe80::1%eth0")}); d.Verdict != Granted {
		t.Errorf("zoned client in EXCEPT: %v", d.Verdict)
	}
	// A numeric daemon pattern matches the server port, not the name.
	pt := compile(t, "79: ALL\n", "ALL: ALL\n")
	for _, tc := range []struct {
		daemon string
		port   uint16
		want   Verdict
	}{{"in.fingerd", 79, Granted}, {"79", 80, Denied}, {"x", 0, Denied}} {
		if d := pt.Decide(Request{Daemon: tc.daemon, ServerPort: tc.port}); d.Verdict != tc.want {
			t.Errorf("port rule: daemon %s port %d: %v", tc.daemon, tc.port, d.Verdict)
		}
	}
	if d := compile(t, "", "").Decide(Request{Daemon: "x"}); d.Verdict != Granted || !d.Default {
		t.Errorf("empty tables: %+v", d)
	}
}

// An address-only table never calls the resolver.
func TestAddressRulesNeverResolve(t *testing.T) {
	res := &mapResolver{}
	tb := compile(t, "sshd: 10.0.0.0/8, [2001:db8::]/32 EXCEPT 10.1.2.3\nALL: 192.168. 172.16.0.0/255.240.0.0\n", "ALL: ALL\n")
	if tb.NeedsNames() {
		t.Fatal("NeedsNames true for an address-only table")
	}
	for _, c := range []string{"10.0.0.1", "10.1.2.3", "1.2.3.4", "2001:db8::1", "::1", "192.168.4.4"} {
		tb.Decide(Request{Daemon: "sshd", ClientAddr: netip.MustParseAddr(c), Resolver: res})
		if _, ok := tb.DecideNoLookup(Request{Daemon: "sshd", ClientAddr: netip.MustParseAddr(c), Resolver: res}); !ok {
			t.Errorf("DecideNoLookup(%s) needed a lookup", c)
		}
	}
	if res.calls != 0 {
		t.Fatalf("resolver called %d times", res.calls)
	}
	// With a name rule after an address rule that matches first, still no lookup.
	tb = compile(t, "ALL: 10.0.0.0/8\nALL: .example.com\n", "")
	tb.Decide(Request{Daemon: "sshd", ClientAddr: netip.MustParseAddr("10.2.3.4"), Resolver: res})
	if res.calls != 0 {
		t.Fatalf("resolver called %d times", res.calls)
	}
	if _, ok := tb.DecideNoLookup(Request{Daemon: "sshd", ClientAddr: netip.MustParseAddr("11.2.3.4"), Resolver: res}); ok {
		t.Fatal("DecideNoLookup decided a request that needs a name")
	}
}
