package config

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/hinetd/hinetd/policy"
)

// DaemonName is the name hosts.allow and hosts.deny rules see for the
// service: the server's argv[0] base name, as tcpd sees it, or the
// built-in's name. The daemon decides with it and hinetd-check checks
// the rules' daemon lists against it.
func (s *Service) DaemonName() string {
	if s.Internal != "" {
		return s.Internal
	}
	if len(s.Args) > 0 {
		return filepath.Base(s.Args[0])
	}
	return filepath.Base(s.Program)
}

// Policy is what the policy compiler needs to know about the service.
func (s *Service) Policy() policy.Service {
	return policy.Service{Name: s.Name, User: s.User, Group: s.Group, UID: s.UID, GID: s.GID,
		Program: s.Program, Args: s.Args, Sections: s.Sections()}
}

// Sections are the names besides the service field that a policy's
// [service …] section may name the service by, most specific first: the
// address and port it binds ("127.0.0.1:67", "[::1]:7100", "0.0.0.0:69"
// for any address), then the service field with its transport and with
// its protocol as written ("bootps/udp", "ftp/tcp6"). Two lines with the
// same service field on different addresses (bootpd and bootpgw are both
// bootps) can so have sections of their own.
func (s *Service) Sections() []string {
	if s.Family == FamilyUnix {
		return nil
	}
	transport := "tcp"
	if s.SocketType == Dgram {
		transport = "udp"
	}
	out := []string{netip.AddrPortFrom(s.BindAddr.Unmap(), s.Port).String(), s.Name + "/" + transport}
	if s.Protocol != transport {
		out = append(out, s.Name+"/"+s.Protocol)
	}
	return out
}

// CompileOptions are the options every spawn spec of this process is
// compiled with, its seccomp programs by filter (internal/seccomp's
// Compiler: a caller keeps one, which reuses programs): without root, only
// the invoking user's services can run, and they run without an id switch.
func CompileOptions(filter policy.FilterCompiler) policy.CompileOptions {
	if os.Geteuid() == 0 {
		return policy.CompileOptions{Filter: filter}
	}
	return policy.CompileOptions{Unprivileged: true, InvokingUID: os.Geteuid(), Filter: filter}
}

// Compile compiles the spawn spec of an external service under pol, as
// the daemon runs it and hinetd-check reports it.
func (s *Service) Compile(pol *policy.Set, filter policy.FilterCompiler) (*policy.Spec, []policy.Note, error) {
	return pol.CompileWith(s.Policy(), CompileOptions(filter))
}

// Unused is a policy section that selects no service.
type Unused struct {
	Pos     policy.Pos
	Name    string
	Message string
}

// UnusedSections lists the names of pol's [service …] sections that no
// service of snap selects (policy.Set.SectionFor), in name order: a
// section named after a service inetd.conf does not define, or shadowed
// by a more specific one, applies to nothing.
func UnusedSections(snap *Snapshot, pol *policy.Set) []Unused {
	used := map[string]bool{}
	for _, c := range snap.Services {
		// Built-ins read their limits by the same names.
		used[pol.SectionFor(c.Policy())] = true
	}
	var out []Unused
	for _, name := range pol.ServiceNames() {
		if used[name] {
			continue
		}
		p, _ := pol.Lookup(name)
		out = append(out, Unused{Pos: p.Pos, Name: name, Message: fmt.Sprintf(
			"policy for service %q, which selects no service of %s: name a service by its first field, ADDR:PORT or NAME/PROTO (a more specific section wins)", name, snap.Path)})
	}
	return out
}
