//go:build !cgo

package acl

import (
	"os"
	"strings"
)

// SystemNetgroups answers netgroup membership from /etc/netgroup (the
// "files" source) when hinetd is built without cgo and cannot call
// innetgr(3). Host only, case-insensitive, nested groups followed.
type SystemNetgroups struct{}

// InNetgroup implements hosts.Netgroups.
func (SystemNetgroups) InNetgroup(group, host string) bool {
	b, err := os.ReadFile("/etc/netgroup")
	if err != nil {
		return false
	}
	m := map[string][]string{}
	for _, ln := range strings.Split(string(b), "\n") {
		if f := strings.Fields(ln); len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			m[f[0]] = append(m[f[0]], f[1:]...)
		}
	}
	var in func(g string, depth int) bool
	in = func(g string, depth int) bool {
		if depth > 16 {
			return false
		}
		for _, mem := range m[g] {
			if strings.HasPrefix(mem, "(") {
				h, _, _ := strings.Cut(strings.Trim(mem, "()"), ",")
				if h = strings.TrimSpace(h); h == "" || strings.EqualFold(h, host) {
					return true
				}
			} else if in(mem, depth+1) {
				return true
			}
		}
		return false
	}
	return in(group, 0)
}
