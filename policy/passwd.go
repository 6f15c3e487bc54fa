package policy

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// passwdFile is where user-env SHELL reads a user's login shell: os/user
// gives the name, ids and home directory, not the shell (policy does
// without cgo, so getpwnam(3) is out of reach).
var passwdFile = "/etc/passwd"

// passwdEntry is one line of the passwd file (passwd(5)). The zero value
// is no entry.
type passwdEntry struct {
	Name     string
	UID, GID int
	Home     string
	Shell    string // "/bin/sh" when the field is empty, as passwd(5) says
}

// lookupPasswd - the entry of the user name in the passwd file r (named
// file, for errors): the first line with that name, as glibc's files
// source takes it. Lines of the NIS compat syntax (+, -) and comments are
// passed over; a malformed line of that user is an error naming
// file:line, never a guess. A user not in the file (one NSS finds
// elsewhere, LDAP say) is an error too: its shell is not known here.
func lookupPasswd(file string, r io.Reader, name string) (passwdEntry, error) {
	if name == "" || strings.ContainsAny(name, ":\n") {
		return passwdEntry{}, fmt.Errorf("bad user name %q", name)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' || line[0] == '+' || line[0] == '-' {
			continue
		}
		f := strings.Split(line, ":")
		if f[0] != name {
			continue
		}
		if len(f) != 7 {
			return passwdEntry{}, fmt.Errorf("%s:%d: entry of %q has %d fields; expect 7", file, n, name, len(f))
		}
		e := passwdEntry{Name: name, Home: f[5], Shell: f[6]}
		var err1, err2 error
		e.UID, err1 = strconv.Atoi(f[2])
		e.GID, err2 = strconv.Atoi(f[3])
		if err1 != nil || err2 != nil || e.UID < 0 || e.GID < 0 {
			return passwdEntry{}, fmt.Errorf("%s:%d: entry of %q: bad uid %q or gid %q", file, n, name, f[2], f[3])
		}
		// A control character (a stray \r past the one the scanner drops
		// from a CRLF line) makes a home or shell that names no file, and
		// one that would not survive being written back.
		if i := strings.IndexFunc(e.Home+e.Shell, func(r rune) bool { return r < 0x20 || r == 0x7f }); i >= 0 {
			return passwdEntry{}, fmt.Errorf("%s:%d: entry of %q: control character in its home or shell field", file, n, name)
		}
		if e.Shell == "" {
			e.Shell = "/bin/sh"
		}
		return e, nil
	}
	if err := sc.Err(); err != nil {
		return passwdEntry{}, fmt.Errorf("%s: %w", file, err)
	}
	return passwdEntry{}, fmt.Errorf("user %q is not in %s (its login shell is not known)", name, file)
}

// userShell returns the login shell of the user name from passwdFile.
func userShell(name string) (string, error) {
	f, err := os.Open(passwdFile)
	if err != nil {
		return "", err
	}
	defer f.Close()
	e, err := lookupPasswd(passwdFile, f, name)
	return e.Shell, err
}
