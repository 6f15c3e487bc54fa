package policy

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestLookupPasswd: entries of testdata/passwd, found by name.
func TestLookupPasswd(t *testing.T) {
	data, err := os.ReadFile("testdata/passwd")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		want    passwdEntry
		wantErr string
	}{
		// An ordinary entry.
		{name: "root", want: passwdEntry{"root", 0, 0, "/root", "/bin/bash"}},
		// After a comment and NIS compat lines, which are passed over.
		{name: "daemon", want: passwdEntry{"daemon", 1, 1, "/usr/sbin", "/usr/sbin/nologin"}},
		// An empty shell field is /bin/sh (passwd(5)).
		{name: "noshell", want: passwdEntry{"noshell", 1000, 1000, "/home/noshell", "/bin/sh"}},
		// The first of two entries, as glibc takes it.
		{name: "twice", want: passwdEntry{"twice", 1003, 1003, "/home/first", "/bin/first"}},
		// Spaces are part of a field.
		{name: "spaced", want: passwdEntry{"spaced", 1005, 1005, "/home/with space", "/bin/zsh"}},
		// A field missing: an error at the line, not a shift of fields.
		{name: "short", wantErr: `testdata/passwd:7: entry of "short" has 6 fields; expect 7`},
		{name: "badid", wantErr: `testdata/passwd:8: entry of "badid": bad uid "abc" or gid "1002"`},
		// The NIS lines do not name users "+nisuser" or "-excluded".
		{name: "+nisuser", wantErr: `user "+nisuser" is not in testdata/passwd (its login shell is not known)`},
		// A user the file does not hold (NSS may find it elsewhere).
		{name: "nobody", wantErr: `user "nobody" is not in testdata/passwd (its login shell is not known)`},
		// Names that cannot be in the file.
		{name: "", wantErr: `bad user name ""`},
		{name: "root:x", wantErr: `bad user name "root:x"`},
	} {
		got, err := lookupPasswd("testdata/passwd", strings.NewReader(string(data)), tt.name)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("%q: error %v, want %s", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%q: %+v, %v; want %+v", tt.name, got, err, tt.want)
		}
	}
}

// TestUserEnvShell: user-env SHELL and LOGNAME come from the user's
// passwd entry; a user without one fails the compile at the key's line.
func TestUserEnvShell(t *testing.T) {
	old := passwdFile
	passwdFile = "testdata/passwd"
	t.Cleanup(func() { passwdFile = old })
	s := mustParse(t, "[service sh]\nuser-env SHELL LOGNAME\n")
	sp, _, err := s.CompileWith(Service{Name: "sh", User: "root", Program: "/bin/true"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(sp.Env, "SHELL=/bin/bash") || !slices.Contains(sp.Env, "LOGNAME=root") {
		t.Errorf("env %q, want SHELL=/bin/bash and LOGNAME=root", sp.Env)
	}
	_, _, err = s.CompileWith(Service{Name: "sh", User: "nobody", Program: "/bin/true"}, testOpts)
	if want := `p:2: service sh: user-env SHELL: user "nobody" is not in testdata/passwd (its login shell is not known)`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a user not in the passwd file: %v, want %s", err, want)
	}
}

// FuzzPasswd: no panic on any file; an entry found is the name's, its
// fields hold no separator, and the line it came from, written back,
// gives the same entry.
func FuzzPasswd(f *testing.F) {
	if data, err := os.ReadFile("testdata/passwd"); err == nil {
		for _, name := range []string{"root", "daemon", "noshell", "short", "twice", "spaced"} {
			f.Add(string(data), name)
		}
	}
	f.Add("a:b:c:d:e:f:g\n", "a")
	f.Add("a:x:-1:0::/:/bin/sh", "a")
	f.Add("a:x:1:1::/:/bin/sh\r\n", "a")
	f.Fuzz(func(t *testing.T, data, name string) {
		e, err := lookupPasswd("f", strings.NewReader(data), name)
		if err != nil {
			if e != (passwdEntry{}) {
				t.Fatalf("error %v with entry %+v", err, e)
			}
			return
		}
		if e.Name != name || e.Shell == "" || e.UID < 0 || e.GID < 0 {
			t.Fatalf("entry %+v for %q", e, name)
		}
		for _, v := range []string{e.Name, e.Home, e.Shell} {
			if strings.ContainsAny(v, ":\n") {
				t.Fatalf("field %q of %+v holds a separator", v, e)
			}
		}
		line := strings.Join([]string{e.Name, "x", strconv.Itoa(e.UID), strconv.Itoa(e.GID), "", e.Home, e.Shell}, ":")
		if again, err := lookupPasswd("f", strings.NewReader(line), name); err != nil || again != e {
			t.Fatalf("written back as %q: %+v, %v; want %+v", line, again, err, e)
		}
	})
}
