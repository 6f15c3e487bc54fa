package xinetd

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/policy"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// ports is /etc/services as far as the tests need it.
func ports(name, proto string) (int, error) {
	p, ok := map[string]int{"finger": 79, "tftp": 69, "echo": 7, "daytime": 13, "chargen": 19, "discard": 9, "time": 37}[name]
	if !ok {
		return 0, fmt.Errorf("unknown service %s/%s", name, proto)
	}
	return p, nil
}

// TestParseErrors: every error, with file:line, no section skipped silently.
func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"attribute outside a section", "port = 7\n", []string{`x:1: unexpected "port" outside a section; expect defaults, service NAME, include or includedir`}},
		{"no brace", "service echo\nport = 7\n}\n", []string{`x:2: expect "{" after "service echo"`, `x:3: unexpected "}" outside a section; expect defaults, service NAME, include or includedir`}},
		{"not closed", "service echo\n{\nport = 7\n", []string{`x:1: service echo is not closed with "}"`}},
		{"no operator", "service echo\n{\nport 7\n}\n", []string{`x:3: "port 7" is not an attribute; expect NAME = VALUE`}},
		{"bad operator", "service echo\n{\nport =+ 7\nwait *= no\n}\n", nil},
		{"service without name", "service\n{\n}\n", []string{`x:1: service without a name`, `x:2: unexpected "{" outside a section; expect defaults, service NAME, include or includedir`, `x:3: unexpected "}" outside a section; expect defaults, service NAME, include or includedir`}},
		{"include arity", "include\nincludedir a b\n", []string{`x:1: include takes one path`, `x:2: includedir takes one path`}},
		{"junk after brace", "service echo {\n} x\n", []string{`x:2: unexpected "x" after "}"`}},
	} {
		c := &Config{}
		errs := c.parse("x", tc.text, 0)
		var got []string
		for _, e := range errs {
			got = append(got, e.Error())
		}
		if tc.want == nil {
			if len(errs) == 0 {
				t.Errorf("%s: no error", tc.name)
			}
			continue
		}
		if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

// TestIncludeDir: includedir skips names with a dot or a trailing ~, as
// xinetd does, and a directory argument is read the same way.
func TestIncludeDir(t *testing.T) {
	dir := t.TempDir()
	svc := func(name string) string {
		return "service " + name + "\n{\n socket_type = stream\n wait = no\n user = root\n type = INTERNAL\n}\n"
	}
	os.WriteFile(filepath.Join(dir, "echo"), []byte(svc("echo")), 0o644)
	os.WriteFile(filepath.Join(dir, "echo.dpkg-old"), []byte(svc("daytime")), 0o644)
	os.WriteFile(filepath.Join(dir, "echo~"), []byte(svc("time")), 0o644)
	conf := filepath.Join(t.TempDir(), "xinetd.conf")
	os.WriteFile(conf, []byte("defaults\n{\n}\nincludedir "+dir+"\n"), 0o644)
	for _, p := range []string{conf, dir} {
		c, err := Load(p)
		if err != nil || len(c.Services) != 1 || c.Services[0].Service != "echo" {
			t.Errorf("Load(%s): %v, %+v", p, err, c)
		}
	}
	// A file that includes itself stops at the depth limit with an error.
	loop := filepath.Join(t.TempDir(), "loop")
	os.WriteFile(loop, []byte("include "+loop+"\n"), 0o644)
	if _, err := Load(loop); err == nil || !strings.Contains(err.Error(), "nested more than 8 deep") {
		t.Errorf("self-include: %v", err)
	}
}

// TestConvertGolden translates testdata/full.conf; the four files and the
// notes are compared with testdata/full.golden.
func TestConvertGolden(t *testing.T) {
	c, err := Load("testdata/full.conf")
	if err != nil {
		t.Fatal(err)
	}
	r := Convert(c, Options{LookupPort: ports})
	var b strings.Builder
	for _, f := range []struct{ name, text string }{{"inetd.conf", r.InetdConf}, {"xinetd.policy", r.Policy},
		{"hosts.allow", r.HostsAllow}, {"hosts.deny", r.HostsDeny}} {
		fmt.Fprintf(&b, "==> %s <==\n%s", f.name, f.text)
	}
	b.WriteString("==> notes <==\n")
	for _, n := range r.Notes {
		b.WriteString(n.String() + "\n")
	}
	// The written policy is one hinetd loads.
	pol := filepath.Join(t.TempDir(), "xinetd.policy")
	os.WriteFile(pol, []byte(r.Policy), 0o644)
	if _, err := policy.Load(pol); err != nil {
		t.Errorf("the written policy does not load: %v\n%s", err, r.Policy)
	}
	got := b.String()
	if *update {
		os.WriteFile("testdata/full.golden", []byte(got), 0o644)
		return
	}
	want, err := os.ReadFile("testdata/full.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
}

// xinetdAllows is xinetd's own rule (xinetd.conf(5), only_from and
// no_access), on addresses: the most specific matching entry decides, a
// tie goes to no_access; with only_from set and no match, denied.
func xinetdAllows(only []string, hasOnly bool, noAccess []string, a netip.Addr) bool {
	best, allow := -1, !hasOnly
	for _, set := range []struct {
		list  []string
		allow bool
	}{{only, true}, {noAccess, false}} {
		for _, s := range set.list {
			es, _ := translateAddr(s)
			for _, e := range es {
				if (e.net.Contains(a) || e.pattern == "ALL") && (e.net.Bits() > best || e.net.Bits() == best && !set.allow) {
					best, allow = e.net.Bits(), set.allow
				}
			}
		}
	}
	return allow
}

// libwrapAllows decides the generated rules the way libwrap does for
// address patterns: hosts.allow first, then hosts.deny, else granted.
func libwrapAllows(r rules, a netip.Addr) bool {
	match := func(pats string) bool {
		for _, p := range strings.Fields(pats) {
			if p == "ALL" {
				return true
			}
			if strings.HasPrefix(p, "[") {
				p = strings.Replace(strings.Trim(strings.Replace(p, "]/", "/", 1), "[]"), "]", "", 1)
			}
			if addr, mask, ok := strings.Cut(p, "/"); ok {
				if m, err := netip.ParseAddr(mask); err == nil {
					ones := 0
					for _, b := range m.As4() {
						for ; b != 0; b <<= 1 {
							ones++
						}
					}
					p = addr + "/" + fmt.Sprint(ones)
				}
				if pf, err := netip.ParsePrefix(p); err == nil && pf.Contains(a) {
					return true
				}
			} else if pa, err := netip.ParseAddr(p); err == nil && pa == a {
				return true
			}
		}
		return false
	}
	decide := func(file string) bool {
		for _, ln := range strings.Split(strings.TrimSpace(file), "\n") {
			if ln == "" {
				continue
			}
			_, list, _ := strings.Cut(ln, ": ")
			yes, no, _ := strings.Cut(list, " EXCEPT ")
			if match(yes) && !match(no) {
				return true
			}
		}
		return false
	}
	if decide(r.allow) {
		return true
	}
	return !decide(r.deny)
}

// TestHostsRulesMeaning: for lists that overlap every way, the generated
// hosts rules decide every probe address as xinetd's rule does.
func TestHostsRulesMeaning(t *testing.T) {
	probes := []string{"10.0.0.1", "10.1.2.3", "10.1.2.200", "10.1.3.1", "10.9.9.9", "192.168.1.7", "192.168.2.7",
		"192.168.3.7", "172.16.0.1", "2001:db8::1", "2001:db9::1"}
	for _, tc := range []struct {
		only     []string
		hasOnly  bool
		noAccess []string
	}{
		{nil, false, nil},
		{[]string{"10.0.0.0"}, true, []string{"10.1.2.3"}},
		{[]string{"10.1.2.3"}, true, []string{"10.0.0.0"}},
		{[]string{"10.0.0.0/8", "10.1.2.0/24"}, true, []string{"10.1.0.0/16"}},
		{[]string{"192.168.{1,2}"}, true, nil},
		{nil, true, nil},
		{nil, false, []string{"10.0.0.0/8", "2001:db8::/32"}},
		{[]string{"0.0.0.0"}, true, []string{"10.1.2.0/24"}},
		{[]string{"2001:db8::/32", "10.1.2.3"}, true, []string{"10.1.2.3"}},
	} {
		vals := map[string]*value{}
		at := &Attr{File: "t", Line: 1}
		if tc.hasOnly {
			vals["only_from"] = &value{vals: tc.only, attr: at}
		}
		if tc.noAccess != nil {
			vals["no_access"] = &value{vals: tc.noAccess, attr: at}
		}
		r, notes := hostsRules("d", vals)
		if len(notes) > 0 {
			t.Errorf("%v: %v", tc, notes)
		}
		for _, p := range probes {
			a := netip.MustParseAddr(p)
			if want, got := xinetdAllows(tc.only, tc.hasOnly, tc.noAccess, a), libwrapAllows(r, a); want != got {
				t.Errorf("only_from %v no_access %v, client %s: rules %q/%q grant %v, xinetd %v", tc.only, tc.noAccess, p, r.allow, r.deny, got, want)
			}
		}
	}
}

// TestTranslateAddr: each xinetd address form and its libwrap pattern.
func TestTranslateAddr(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"10.1.2.3", "10.1.2.3", ""},
		{"128.138.12.0", "128.138.12.0/255.255.255.0", ""},
		{"0.0.0.0", "ALL", ""},
		{"10.0.0.0/8", "10.0.0.0/255.0.0.0", ""},
		{"10.1.2.3/16", "10.1.0.0/255.255.0.0", ""},
		{"128.138.{193,194}", "128.138.193.0/255.255.255.0 128.138.194.0/255.255.255.0", ""},
		{"10.{1,2}", "10.1.0.0/255.255.0.0 10.2.0.0/255.255.0.0", ""},
		{"2001:db8::1", "[2001:db8::1]", ""},
		{"2001:db8::/32", "[2001:db8::]/32", ""},
		{".example.org", ".example.org", ""},
		{"host.example.org", "host.example.org", ""},
		{"10.1.{2", "", "a factorized address is a.b.{c,d}"},
		{"a_b", "", "not an address or host name hinetd's rules can match"},
	} {
		es, err := translateAddr(tc.in)
		var got []string
		for _, e := range es {
			got = append(got, e.pattern)
		}
		if strings.Join(got, " ") != tc.want || err != tc.err {
			t.Errorf("%q: %q %q, want %q %q", tc.in, got, err, tc.want, tc.err)
		}
	}
}
