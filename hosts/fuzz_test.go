package hosts

import (
	"context"
	"errors"
	"net/netip"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

var errLoc = regexp.MustCompile(`^(hosts\.allow|f):[0-9]+(:[0-9]+)?: `)

// FuzzParse: never panics; every error line names file:line[:col]; a file
// that parses compiles and decides without panicking.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"ALL: ALL\n",
		"in.fingerd: 10.0.0.0/8 EXCEPT 10.1.0.0/16 : spawn /bin/echo %h : deny\n",
		"sshd@[::1]: [2001:db8::]/32, .example.com, user@host.\n",
		"# c \\\nALL: ALL\n  # x\n",
		"a,b EXCEPT c: d EXCEPT e EXCEPT f : twist x\\:y\n",
		"ALL: /etc/nonexistent @ng *.x ?.y 10.0.0.0/255.0.255.0\n",
		"ALL: [2001:db8::/32]\nALL: 010.1.1.1/8\nx\n",
		"ALL: ALL : setenv A=b : umask 077 : nice -5 : linger 1 : rfc931 : severity mail.info : allow\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		rules, err := Parse("f", []byte(text), ParseOptions{ReadFile: func(string) ([]byte, error) {
			return []byte("10.0.0.1 .example"), nil
		}})
		if err != nil {
			for _, ln := range strings.Split(err.Error(), "\n") {
				if !errLoc.MatchString(ln) {
					t.Fatalf("error without file:line: %q", ln)
				}
			}
			return
		}
		for _, r := range rules {
			if r.Line < 1 || r.File != "f" {
				t.Fatalf("bad rule location %+v", r)
			}
		}
		tb, err := Compile(Source{"f", []byte(text)}, Source{"g", nil}, ParseOptions{ReadFile: func(string) ([]byte, error) {
			return []byte("10.0.0.1 .example"), nil
		}})
		if err != nil {
			t.Fatalf("Parse accepted, Compile refused: %v", err)
		}
		tb.Decide(Request{Daemon: "sshd", ClientAddr: netip.MustParseAddr("10.0.0.1")})
	})
}

// hostileResolver answers every reverse lookup with the fuzzed name and
// confirms it, so the name reaches %h, %n, %c, %H, %N and %s verified.
type hostileResolver struct{ name string }

func (h hostileResolver) LookupAddr(context.Context, netip.Addr) ([]string, error) {
	return []string{h.name}, nil
}

func (h hostileResolver) LookupHost(_ context.Context, n string) ([]netip.Addr, error) {
	if n != h.name {
		return nil, errors.New("no")
	}
	return []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")}, nil
}

// FuzzExpand: nothing outside libwrap's safe set ever comes out of an
// expansion of network-derived data (host names, user, daemon), whatever
// the PTR record or ident reply holds.
func FuzzExpand(f *testing.F) {
	f.Add("spawn /bin/echo %h %n %c %u %a %d %s %H %N %% %x %", "evil;rm -rf /", "root`id`", "in.fingerd")
	f.Add("%h", "$(reboot).example.com", "a b\nc", "x")
	f.Add("%c%u", "a\x00b", "'\"", "d|e")
	f.Add("%n", "10.0.0.1", "", "")
	f.Fuzz(func(t *testing.T, tmpl, ptr, user, daemon string) {
		req := Request{Daemon: daemon, ClientAddr: netip.MustParseAddr("10.0.0.1"),
			ServerAddr: netip.MustParseAddr("10.0.0.2"), Resolver: hostileResolver{ptr}, Ident: fixedIdent(user)}
		// Replace the template's own text by safe characters: whatever
		// unsafe byte remains in the output came from an expansion.
		var tb strings.Builder
		for i := 0; i < len(tmpl); i++ {
			if tmpl[i] == '%' && i+1 < len(tmpl) {
				tb.WriteByte('%')
				tb.WriteByte(tmpl[i+1])
				i++
				continue
			}
			tb.WriteByte('x')
		}
		out := Expand(tb.String(), req)
		for i := 0; i < len(out); i++ {
			if !safeTable[out[i]] && out[i] != 'x' {
				t.Fatalf("unsafe byte %q in %q (template %q, ptr %q, user %q)", out[i], out, tb.String(), ptr, user)
			}
		}
		// %% and unknown letters: a template of safe text stays as is.
		if !strings.Contains(tmpl, "%") && utf8.ValidString(tmpl) && Expand(tmpl, req) != tmpl {
			t.Fatal("template without % changed")
		}
	})
}

func TestExpand(t *testing.T) {
	req := Request{Daemon: "in.fingerd", PID: 42, ClientAddr: netip.MustParseAddr("::ffff:10.0.0.1"), ClientPort: 1234,
		ServerAddr: netip.MustParseAddr("10.0.0.2"), ServerPort: 79,
		Resolver: hostileResolver{"a;b.example"}, Ident: fixedIdent("ro ot")}
	tests := []struct{ tmpl, want string }{
		{"%a %A %r %R %p %d", "10.0.0.1 10.0.0.2 1234 79 42 in.fingerd"},
		{"%h|%n|%H|%N", "a_b.example|a_b.example|a_b.example|a_b.example"},
		{"%c %u %s", "ro_ot@a_b.example ro_ot in.fingerd@a_b.example"},
		{"100%% %z %", "100%  %"},
		{"plain; text", "plain; text"},
	}
	for _, tc := range tests {
		if got := Expand(tc.tmpl, req); got != tc.want {
			t.Errorf("Expand(%q) = %q, want %q", tc.tmpl, got, tc.want)
		}
	}
	// No resolver, no ident: libwrap's fallbacks.
	bare := Request{Daemon: "d", ClientAddr: netip.MustParseAddr("2001:db8::1")}
	if got := Expand("%h %n %c %u %s %H", bare); got != "2001:db8::1 unknown 2001:db8::1 unknown d unknown" {
		t.Errorf("bare: %q", got)
	}
	// A nasty PTR that pretends to be an address is paranoid.
	req.Resolver = hostileResolver{"10.0.0.1"}
	if got := Expand("%n %h", req); got != "paranoid 10.0.0.1" {
		t.Errorf("numeric PTR: %q", got)
	}
}
