package hosts

import (
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	allow := "sshd: 10.0.0.0/8 .example.com\n" +
		"sshd: 10.1.2.0/24 EXCEPT 10.1.2.3\n" + // not indexable: not analysed
		"sshd, in.fingerd: 10.1.0.0/16 a.example.com\n" + // in.fingerd part not covered
		"sshd: 10.2.0.0/16 b.sub.example.com\n" + // covered by line 1
		"telnet: ALL : allow\n" +
		"ftpd: host.example.com.\n" +
		"ftpd: .1\n" +
		"ftpd: nosuch.invalid [2001:db8::6]/64\n"
	deny := "sshd: 10.3.3.3\n" + // covered by hosts.allow:1
		"ALL: ALL\n" +
		"ALL: 192.168.0.0/16\n" // covered by line 2
	res := &mapResolver{fwd: map[string][]string{"a.example.com": {"10.1.0.1"}, "b.sub.example.com": {"10.2.0.1"}}}
	got := CheckSources(Source{"hosts.allow", []byte(allow)}, Source{"hosts.deny", []byte(deny)},
		CheckOptions{Daemons: []string{"sshd", "in.fingerd", "ftpd"}, Resolver: res})
	var lines []string
	for _, f := range got {
		lines = append(lines, f.String())
	}
	want := []string{
		`hosts.allow:4: warning: rule never decides: hosts.allow:1 always matches first`,
		`hosts.allow:5: info: "allow" in hosts.allow changes nothing`,
		`hosts.allow:5:1: warning: daemon "telnet" is not a service in the configuration`,
		`hosts.allow:6:7: warning: "host.example.com." ends in a dot, so it matches names that begin with it; for the host, drop the final dot`,
		`hosts.allow:7:7: warning: ".1" matches addresses whose text ends in it (such as 10.0.0.1), not a network`,
		`hosts.allow:8: warning: host name "nosuch.invalid" does not resolve: the rule cannot match it by name`,
		`hosts.allow:8:22: warning: "[2001:db8::6]/64" has bits set beyond the prefix length; it means 2001:db8::/64`,
		`hosts.deny:1: warning: rule never decides: hosts.allow:1 always matches first`,
		`hosts.deny:3: warning: rule never decides: hosts.deny:2 always matches first`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	// Syntax errors, every one, with file:line:col; and no default deny.
	got = CheckSources(Source{"a", []byte("x y\nALL: [2001:db8::/32]\n")}, Source{"d", nil}, CheckOptions{})
	if len(got) != 2 || got[0].String() != `a:1:1: error: missing ":" separator after the daemon list` ||
		!strings.HasPrefix(got[1].String(), `a:2:6: error: bad IPv6 address`) {
		t.Errorf("syntax findings: %v", got)
	}
	got = CheckSources(Source{"a", []byte("sshd: 10.0.0.0/8 EXCEPT ALL\nALL EXCEPT ALL: 10.0.0.1\n")}, Source{"d", []byte("ALL: ALL\n")}, CheckOptions{})
	if len(got) != 2 || got[0].String() != `a:1:25: warning: the rule never matches: everything is excepted by "ALL"` ||
		got[1].String() != `a:2:12: warning: the rule never matches: everything is excepted by "ALL"` {
		t.Errorf("EXCEPT ALL: %v", got)
	}
	got = CheckSources(Source{"a", nil}, Source{"d", []byte("ALL: ALL EXCEPT 10.0.0.1\n")}, CheckOptions{Verbose: true})
	if len(got) != 2 || got[1].String() != "d:1: info: ALL: ALL EXCEPT 10.0.0.1 -> deny" ||
		got[0].Code != "no-default-deny" {
		t.Errorf("verbose/default deny: %v", got)
	}
}

// Shadow analysis on 100,000 rules stays fast (one probe per length).
func TestCheckLarge(t *testing.T) {
	text, _ := benchRules(100000)
	got := CheckSources(Source{"a", nil}, Source{"d", []byte(text + "ALL: 11.0.0.0/8\nALL: 11.0.0.1\n")}, CheckOptions{})
	n := 0
	for _, f := range got {
		if f.Code == "shadowed" {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("want 1 shadowed rule (the last), got %d", n)
	}
}
