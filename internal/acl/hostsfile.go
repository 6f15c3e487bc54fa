package acl

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"strings"
)

// ErrNotFound is returned by HostsFile for a name or address it does not list.
var ErrNotFound = errors.New("not found in hosts file")

// HostsFile resolves names from an /etc/hosts style file the way glibc's
// "files" backend does with "multi on" (Debian's /etc/host.conf): the
// reverse lookup gives the first name of the first line with the address;
// a forward lookup gives the addresses of every line that lists the name
// (case-insensitively) as name or alias. hinetd-match uses it for
// --hosts-file, and tests use it as a resolver they own.
type HostsFile struct {
	lines []hostsLine
}

type hostsLine struct {
	addr  netip.Addr
	names []string
}

// ParseHostsFile parses hosts file text. Malformed lines are ignored, as
// glibc ignores them.
func ParseHostsFile(text string) *HostsFile {
	h := &HostsFile{}
	for _, ln := range strings.Split(text, "\n") {
		if i := strings.IndexByte(ln, '#'); i >= 0 {
			ln = ln[:i]
		}
		f := strings.Fields(ln)
		if len(f) < 2 {
			continue
		}
		a, err := netip.ParseAddr(f[0])
		if err != nil || a.Zone() != "" {
			continue
		}
		h.lines = append(h.lines, hostsLine{a.Unmap(), f[1:]})
	}
	return h
}

// ReadHostsFile reads and parses a hosts file.
func ReadHostsFile(path string) (*HostsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseHostsFile(string(b)), nil
}

// LookupAddr implements hosts.Resolver.
func (h *HostsFile) LookupAddr(_ context.Context, a netip.Addr) ([]string, error) {
	a = a.Unmap()
	for _, l := range h.lines {
		if l.addr == a {
			return []string{l.names[0]}, nil
		}
	}
	return nil, ErrNotFound
}

// LookupHost implements hosts.Resolver.
func (h *HostsFile) LookupHost(_ context.Context, name string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, l := range h.lines {
		for _, n := range l.names {
			if asciiEqualFold(n, name) {
				out = append(out, l.addr)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, ErrNotFound
	}
	return out, nil
}

// LookupCanonical implements hosts.CanonicalResolver: the first name of
// the first line that lists name.
func (h *HostsFile) LookupCanonical(_ context.Context, name string) (string, error) {
	for _, l := range h.lines {
		for _, n := range l.names {
			if asciiEqualFold(n, name) {
				return l.names[0], nil
			}
		}
	}
	return "", ErrNotFound
}

// asciiEqualFold compares like strcasecmp(3) in the C locale, as glibc's
// files backend does: ASCII letters fold, other bytes must be equal.
func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 32
		}
		if 'A' <= y && y <= 'Z' {
			y += 32
		}
		if x != y {
			return false
		}
	}
	return true
}
