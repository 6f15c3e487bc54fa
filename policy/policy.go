// Package policy reads hinetd's per-service hardening policies and
// compiles them, once per service at configuration load, into a Spec: the
// plain values the spawn stage applies before execve (ids, capabilities,
// no_new_privs, a compiled seccomp program, rlimits, umask, nice, chroot,
// working directory, environment). With no policy file at all every
// service gets the secure default: no capabilities, no_new_privs, the
// @system-service seccomp allow-list killing the process on violation,
// RLIMIT_CORE 0, bounded NOFILE/NPROC/FSIZE, umask 027, working directory
// "/" and an environment holding only PATH. The file format is described
// in docs/policy.md.
package policy

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// DefaultPath is where Load looks when given no path. A missing default
// directory means built-in defaults only.
const DefaultPath = "/etc/hinetd/"

// DefaultEnvPath is the whole default environment of a service.
const DefaultEnvPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// DefaultUmask is the umask of a service whose policy sets none: group may
// read, others get nothing.
const DefaultUmask = 0o027

// Pos is where a setting was written. The zero Pos means a built-in
// default.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.File == "" {
		return "built-in"
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Field is one optional setting of a Profile. The zero Field is unset:
// the value comes from the next layer (service → default → built-in).
type Field[T any] struct {
	Set   bool
	Value T
	Pos   Pos
}

// Action is what a seccomp violation does. The zero Action kills the
// process (SECCOMP_RET_KILL_PROCESS).
type Action struct {
	Log   bool   // SECCOMP_RET_LOG: allow, but log (for writing a policy)
	Errno string // "EPERM": fail the call with this errno; "" = kill
}

func (a Action) String() string {
	switch {
	case a.Log:
		return "log"
	case a.Errno != "":
		return "errno " + a.Errno
	}
	return "kill"
}

// Limit is one rlimit setting as written.
type Limit struct {
	Resource int // RLIMIT_*
	Cur, Max uint64
}

// Profile is one section of a policy file: the settings it names, each
// unset unless the section wrote it. The zero Profile sets nothing.
type Profile struct {
	Name string // "default" or the service name
	Pos  Pos    // the section header

	User   Field[string]
	Group  Field[string]
	Groups Field[[]string] // supplementary groups; empty Value = none
	Caps   Field[[]string] // "CAP_NET_BIND_SERVICE"; empty Value = none

	// SeccompOff is the opt-out of the seccomp filter ("seccomp off").
	SeccompOff    Field[bool]
	SeccompGroups Field[[]string] // base allow-list, replaces defaultGroups
	SeccompAllow  Field[[]string] // syscalls and @groups added to it
	SeccompDeny   Field[[]string] // syscalls and @groups removed from it
	SeccompAction Field[Action]
	// AllowNewPrivs is the opt-out of no_new_privs ("no-new-privs off").
	AllowNewPrivs Field[bool]

	Rlimits map[string]Field[Limit] // by name: "nofile"
	Nice    Field[int]
	Umask   Field[int]
	Env     map[string]Field[string] // set list, by variable name
	Pass    Field[[]string]          // variables copied from hinetd's environment
	UserEnv Field[[]string]          // USER, LOGNAME, HOME, SHELL set from the service's user
	Dir     Field[string]
	Chroot  Field[string]

	// Isolation (isolation.go): unset means the default, on.
	ProtectSystem    Field[string]   // strict, full, off
	ProtectHome      Field[string]   // on, read-only, off
	ReadWrite        Field[[]string] // lines in one section add up
	ReadOnly         Field[[]string]
	Inaccessible     Field[[]string]
	PrivateTmp       Field[bool]
	PrivateDevices   Field[bool]
	Terminals        Field[bool]
	PrivateNetwork   Field[bool]
	RestrictSUIDSGID Field[bool]
	ProcessScope     Field[bool]
	AddressFamilies  Field[[]string] // nil Value: any

	// Connection limits: not part of the Spec (the spawn stage has no use
	// for them); the daemon reads them through Set.Limits.
	MaxChild             Field[int]
	MaxChildPerIP        Field[int]
	ConnPerIPPerMinute   Field[int]
	InvocationsPerMinute Field[int]
	CPS                  Field[CPS]
	SourceRate           Field[Rate]
	ListenBacklog        Field[int]
}

// Set is every policy read from one path: the default and one profile
// per service. The zero Set is the built-in default for every service.
// A Set is safe for concurrent use once loaded.
type Set struct {
	Default  Profile             // the [default] section; zero when none
	Services map[string]*Profile // [service NAME] sections
	// Programs are the profiles shipped with hinetd (Shipped), by the
	// server's path or base name; empty in a Set read by Load.
	Programs map[string]*Profile
	Audit    AuditSection // the [audit] section; zero when none
	Files    []string     // files read, in order
}

// AuditSection is the [audit] section: where the daemon's audit records
// go, as the flags of the same names say (a flag given on the command line
// wins over its key). The daemon reads it at start; a change waits for a
// restart, since the sinks it opened hold spooled records.
type AuditSection struct {
	Pos      Pos      // the section header; zero when there is none
	LogTo    []string // log-to: sink URLs, repeatable
	Format   string   // log-format: auto, rfc5424 or rfc3164
	Facility string   // log-facility: a syslog facility name or number
}

// Same reports whether a and b configure the same audit log (where they
// are written down aside).
func (a AuditSection) Same(b AuditSection) bool {
	return slices.Equal(a.LogTo, b.LogTo) && a.Format == b.Format && a.Facility == b.Facility
}

// Lookup returns the profile written for service, if any.
func (s *Set) Lookup(service string) (*Profile, bool) {
	p, ok := s.Services[service]
	return p, ok
}

// ServiceNames returns the services that have a profile of their own,
// sorted, so that hinetd-check can warn about names inetd.conf lacks.
func (s *Set) ServiceNames() []string {
	out := make([]string, 0, len(s.Services))
	for n := range s.Services {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Note is something the daemon should log about a compiled service, for
// example that its policy overrides the user inetd.conf names.
type Note struct {
	Pos     Pos
	Service string
	Kind    string // one of the Note… kinds: what the note is about
	Message string
}

// The kinds of Note, for the daemon to log each at its severity.
const (
	NoteOverride       = "override"      // the policy sets the user, group or groups instead of inetd.conf's: info
	NotePassAbsent     = "pass-absent"   // a pass variable hinetd's environment lacks: notice
	NoteWeaker         = "weaker"        // seccomp off, no_new_privs off: warning
	NoteSeccompChild   = "seccomp-child" // the filter goes into each child (slower): notice
	NoteLimitsOverride = "limits"        // a policy limit replaces inetd.conf's field: info
)

func (n Note) String() string {
	var b strings.Builder
	if n.Pos.File != "" {
		b.WriteString(n.Pos.String())
		b.WriteString(": ")
	}
	fmt.Fprintf(&b, "service %s: %s", n.Service, n.Message)
	return b.String()
}
