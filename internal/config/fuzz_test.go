package config

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzHosts resolves a fixed set of names and nothing else, so fuzzing
// never waits on DNS.
func fuzzHosts(name string) ([]netip.Addr, error) {
	switch name {
	case "localhost":
		return []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")}, nil
	case "v6.test":
		return []netip.Addr{netip.MustParseAddr("2001:db8::10")}, nil
	}
	return nil, errors.New("no such host")
}

// FuzzParse checks properties of Parse on any input: it never panics;
// every error is an *Error naming the file and a line that exists, and
// reads "file:line:"; every service is valid, comes from a line that had
// no error, and has a Key no other service has.
func FuzzParse(f *testing.F) {
	// Seeds: the test configurations, the shipped example, and lines that
	// sit on the edges of the grammar.
	paths, _ := filepath.Glob("testdata/*.conf")
	paths = append(paths, "../../examples/inetd.conf")
	for _, p := range paths {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		"",                                     // empty file
		"\n\n#\n",                              // only blanks and a comment
		"echo stream tcp nowait root internal", // no final newline
		"[::1]:7 stream tcp nowait root internal echo\n",         // bracketed IPv6
		"::1:7 stream tcp46 nowait root internal echo\n",         // bare IPv6
		"localhost:\necho stream tcp6 nowait root internal\n",    // bare default line
		"[::1:\n[]:\n:\n*:\n",                                    // bad bare default lines
		"7 stream tcp nowait.5/1/2/3 root.root /bin/cat a b\n",   // every limit
		"/s stream unix nowait root internal echo\r\n",           // unix, CRLF
		"7 stream tcp nowait/1/2/3/4/5 root:root internal x y\n", // too much of everything
		"echo stream tcp nowait root internal\x00\n",             // control character
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// One file per worker process, rewritten for every input: a fresh
		// directory per input would cost more than the parse.
		path := filepath.Join(scratch, "inetd.conf")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		snap, errs := Parse(path, Options{LookupHost: fuzzHosts})
		if snap == nil {
			t.Fatalf("nil snapshot for a readable file: %v", errs)
		}
		nlines := bytes.Count(data, []byte("\n")) + 1
		bad := map[int]bool{}
		for _, err := range errs {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			if e.File != path || e.Line < 1 || e.Line > nlines || e.Col < 0 || e.Msg == "" {
				t.Fatalf("error %+v: file, line (1..%d), col or message out of range", *e, nlines)
			}
			if !strings.HasPrefix(err.Error(), fmt.Sprintf("%s:%d:", path, e.Line)) {
				t.Fatalf("error %q does not start with file:line", err)
			}
			if bad[e.Line] {
				t.Fatalf("two errors for line %d", e.Line)
			}
			bad[e.Line] = true
		}
		keys := map[string]bool{}
		for _, s := range snap.Services {
			if s.Line < 1 || s.Line > nlines || bad[s.Line] || s.File != path {
				t.Fatalf("service %+v: bad or errored line", *s)
			}
			if err := checkService(s); err != nil {
				t.Fatalf("line %d: %v: %+v", s.Line, err, *s)
			}
			k := s.Key()
			if keys[k] {
				t.Fatalf("duplicate key %s loaded", k)
			}
			keys[k] = true
		}
	})
}

// checkService states what a loaded service guarantees to the daemon.
func checkService(s *Service) error {
	switch {
	case s.SocketType != Stream && s.SocketType != Dgram:
		return fmt.Errorf("socket type %q", s.SocketType)
	case s.UID < 0 || s.GID < 0 || s.User == "":
		return errors.New("bad user")
	case s.MaxChild < 0 || s.MaxConnPerIPMin < 0 || s.MaxChildPerIP < 0 || s.RatePerMinute < 0:
		return errors.New("negative limit")
	case s.Wait && (s.MaxConnPerIPMin > 0 || s.MaxChildPerIP > 0):
		return errors.New("per-client limit with wait")
	}
	switch s.Family {
	case FamilyUnix:
		if s.Protocol != "unix" || !filepath.IsAbs(s.Path) || filepath.Clean(s.Path) != s.Path || len(s.Path) > maxUnixPath || s.Port != 0 || s.BindAddr.IsValid() {
			return errors.New("bad unix service")
		}
	case FamilyInet, FamilyInet6, FamilyDual:
		tr := s.Protocol[:3]
		if (tr == "tcp") != (s.SocketType == Stream) || (tr != "tcp" && tr != "udp") {
			return errors.New("protocol and socket type disagree")
		}
		if s.Port == 0 || !s.BindAddr.IsValid() || s.BindAddr.Is4In6() {
			return errors.New("bad port or address")
		}
		if s.BindAddr.Is4() != (s.Family == FamilyInet) {
			return errors.New("address and family disagree")
		}
		want := map[string]Family{"4": FamilyInet, "6": FamilyInet6, "46": FamilyDual}[s.Protocol[3:]]
		if want != 0 && want != s.Family {
			return errors.New("protocol and family disagree")
		}
	default:
		return fmt.Errorf("family %d", s.Family)
	}
	if s.Internal != "" {
		if !isBuiltin(s.Internal) || s.Wait || s.Program != "" || s.Args != nil {
			return errors.New("bad built-in")
		}
		return nil
	}
	if !filepath.IsAbs(s.Program) || len(s.Args) == 0 {
		return errors.New("bad program or argv")
	}
	fi, err := os.Stat(s.Program)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return errors.New("program not an executable file")
	}
	return nil
}
