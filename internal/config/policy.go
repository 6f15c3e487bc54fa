package config

import (
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
		Program: s.Program, Args: s.Args}
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
