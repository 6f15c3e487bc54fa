package policy

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/audit"
)

// rlimitNames maps the names a policy uses to RLIMIT_* numbers.
var rlimitNames = map[string]int{
	"as":         unix.RLIMIT_AS,
	"core":       unix.RLIMIT_CORE,
	"cpu":        unix.RLIMIT_CPU,
	"data":       unix.RLIMIT_DATA,
	"fsize":      unix.RLIMIT_FSIZE,
	"locks":      unix.RLIMIT_LOCKS,
	"memlock":    unix.RLIMIT_MEMLOCK,
	"msgqueue":   unix.RLIMIT_MSGQUEUE,
	"nice":       unix.RLIMIT_NICE,
	"nofile":     unix.RLIMIT_NOFILE,
	"nproc":      unix.RLIMIT_NPROC,
	"rss":        unix.RLIMIT_RSS,
	"rtprio":     unix.RLIMIT_RTPRIO,
	"rttime":     unix.RLIMIT_RTTIME,
	"sigpending": unix.RLIMIT_SIGPENDING,
	"stack":      unix.RLIMIT_STACK,
}

// RlimitName returns the policy name of an RLIMIT_* number ("nofile").
func RlimitName(resource int) string {
	for n, r := range rlimitNames {
		if r == resource {
			return n
		}
	}
	return "rlimit" + strconv.Itoa(resource)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// capByName maps "CAP_NET_BIND_SERVICE" to its number, from
// moby/sys/capability's list of known capabilities.
var capByName = func() map[string]capability.Cap {
	m := map[string]capability.Cap{}
	for _, c := range capability.ListKnown() {
		m["CAP_"+strings.ToUpper(c.String())] = c
	}
	return m
}()

// CapName returns "CAP_NET_BIND_SERVICE" for a capability number.
func CapName(c int) string {
	return "CAP_" + strings.ToUpper(capability.Cap(c).String())
}

// errnoByName maps "EPERM" to its number.
var errnoByName = func() map[string]syscall.Errno {
	m := map[string]syscall.Errno{}
	for e := syscall.Errno(1); e < 4096; e++ {
		if n := unix.ErrnoName(e); n != "" {
			m[n] = e
		}
	}
	return m
}()

// knownSyscall reports whether libseccomp knows name on any architecture
// (from the generated copy of its tables, zsyscalls.go).
func knownSyscall(name string) bool { return syscallNames[name] }

// parser holds the state of one file.
type parser struct {
	file    string
	set     *Set
	shipped bool // a shipped profile file: [program …] sections only
	errs    []error
	cur     *Profile
	aud     *AuditSection  // inside [audit] (cur is nil then)
	seen    map[string]int // key → line, per section, for scalar duplicates
}

func (p *parser) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...)))
}

// Parse reads one policy file's text. file names it in errors. Every
// error in the file is reported (errors.Join), each as "file:line: msg".
func Parse(file string, data []byte) (*Set, error) {
	s := &Set{}
	if err := s.parse(file, data); err != nil {
		return nil, err
	}
	return s, nil
}

// parse adds file's sections to s.
func (s *Set) parse(file string, data []byte) error {
	p := &parser{file: file, set: s}
	s.Files = append(s.Files, file)
	return p.parseText(data)
}

// parseText reads one file's lines into p.set.
func (p *parser) parseText(data []byte) error {
	for i, raw := range strings.Split(string(data), "\n") {
		line := i + 1
		text := strings.TrimSpace(raw)
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if strings.ContainsRune(text, 0) {
			p.errorf(line, "NUL byte in line")
			continue
		}
		if strings.HasPrefix(text, "[") {
			p.header(line, text)
			continue
		}
		switch {
		case p.aud != nil:
			p.auditSetting(line, text)
		case p.cur == nil:
			p.errorf(line, "setting %q outside a section; start with [default] or [service NAME]", firstWord(text))
		default:
			p.setting(line, text)
		}
	}
	return errors.Join(p.errs...)
}

func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// header - [default], [service NAME ...] or [audit]
func (p *parser) header(line int, text string) {
	p.cur, p.aud = nil, nil
	if !strings.HasSuffix(text, "]") {
		p.errorf(line, "section header %q lacks a closing \"]\"", text)
		return
	}
	f := strings.Fields(text[1 : len(text)-1])
	pos := Pos{p.file, line}
	if p.shipped {
		p.programHeader(line, f, pos)
		p.seen = map[string]int{}
		return
	}
	switch {
	case len(f) == 1 && f[0] == "default":
		if p.set.Default.Name != "" {
			p.errorf(line, "duplicate section [default] (first at %s)", p.set.Default.Pos)
			// Parse its settings anyway, into a scratch profile, so that
			// their errors are reported too.
			p.cur = &Profile{Name: "default", Pos: pos}
		} else {
			p.set.Default = Profile{Name: "default", Pos: pos}
			p.cur = &p.set.Default
		}
	case len(f) >= 2 && f[0] == "service":
		prof := &Profile{Name: f[1], Pos: pos}
		if p.set.Services == nil {
			p.set.Services = map[string]*Profile{}
		}
		for _, name := range f[1:] {
			if old, ok := p.set.Services[name]; ok {
				p.errorf(line, "duplicate section for service %q (first at %s)", name, old.Pos)
				continue
			}
			if name == "default" || strings.ContainsAny(name, "[]") && !bracketedAddrPort(name) {
				p.errorf(line, "bad service name %q", name)
				continue
			}
			p.set.Services[name] = prof
		}
		p.cur = prof
	case len(f) == 1 && f[0] == "service":
		p.errorf(line, "section [service] needs a service name")
	case len(f) == 1 && f[0] == "audit":
		if p.set.Audit.Pos.File != "" {
			p.errorf(line, "duplicate section [audit] (first at %s)", p.set.Audit.Pos)
			p.aud = &AuditSection{Pos: pos} // its errors are reported too
		} else {
			p.set.Audit.Pos = pos
			p.aud = &p.set.Audit
		}
	default:
		p.errorf(line, "unknown section %q; expect [default], [service NAME] or [audit]", text)
	}
	p.seen = map[string]int{}
}

// bracketedAddrPort reports whether name is an IPv6 "[ADDR]:PORT", the
// only section name that may hold brackets.
func bracketedAddrPort(name string) bool {
	_, err := netip.ParseAddrPort(name)
	return err == nil && strings.HasPrefix(name, "[")
}

// programHeader - [program PATH-OR-NAME ...], the header of a shipped
// profile: the servers it is for, by absolute path or base name.
func (p *parser) programHeader(line int, f []string, pos Pos) {
	if len(f) < 2 || f[0] != "program" {
		p.errorf(line, "a shipped profile's section is [program PATH-OR-NAME ...], not %q", strings.Join(f, " "))
		return
	}
	prof := &Profile{Name: "profile " + strings.TrimSuffix(filepath.Base(p.file), ".policy"), Pos: pos}
	if p.set.Programs == nil {
		p.set.Programs = map[string]*Profile{}
	}
	for _, name := range f[1:] {
		if old, ok := p.set.Programs[name]; ok {
			p.errorf(line, "duplicate profile for program %q (first at %s)", name, old.Pos)
			continue
		}
		p.set.Programs[name] = prof
	}
	p.cur = prof
}

// auditSetting is one line of the [audit] section.
func (p *parser) auditSetting(line int, text string) {
	f := strings.Fields(text)
	key, args := f[0], f[1:]
	a := p.aud
	switch key {
	case "log-to":
		if len(args) == 0 {
			p.errorf(line, "log-to needs a sink URL")
		}
		for _, u := range args {
			if err := audit.CheckTarget(u); err != nil {
				p.errorf(line, "%v", err)
				continue
			}
			a.LogTo = append(a.LogTo, u)
		}
	case "log-format":
		if !p.scalar(line, key) {
			return
		}
		if len(args) != 1 || !slices.Contains([]string{"auto", "rfc5424", "rfc3164"}, args[0]) {
			p.errorf(line, "log-format takes one of auto, rfc5424, rfc3164")
			return
		}
		a.Format = args[0]
	case "log-facility":
		if !p.scalar(line, key) {
			return
		}
		if len(args) != 1 {
			p.errorf(line, "log-facility takes one syslog facility (daemon, auth, authpriv, local0 … local7)")
			return
		}
		if _, ok := audit.ParseFacility(args[0]); !ok {
			p.errorf(line, "unknown syslog facility %q", args[0])
			return
		}
		a.Facility = args[0]
	default:
		p.errorf(line, "unknown key %q in [audit]; expect log-to, log-format or log-facility", key)
	}
}

// scalar records a single-valued key and reports a duplicate.
func (p *parser) scalar(line int, key string) bool {
	if first, ok := p.seen[key]; ok {
		p.errorf(line, "duplicate %q (first at line %d)", key, first)
		return false
	}
	p.seen[key] = line
	return true
}

// setArgs is one line of a [default] or [service NAME] section, split into
// its key and values, for the row of settings that reads it.
type setArgs struct {
	p    *parser
	line int
	key  string
	rest string   // the line after the key, blanks trimmed (env keeps its spaces)
	args []string // rest, split on blanks
	pos  Pos
	pr   *Profile
}

func (a *setArgs) errorf(format string, args ...any) { a.p.errorf(a.line, format, args...) }

// one - the key's single value, once per section.
func (a *setArgs) one() (string, bool) {
	if len(a.args) != 1 {
		a.errorf("%q takes one value, got %d", a.key, len(a.args))
		return "", false
	}
	return a.args[0], a.p.scalar(a.line, a.key)
}

// some - at least one value.
func (a *setArgs) some() bool {
	if len(a.args) == 0 {
		a.errorf("%q needs at least one value", a.key)
		return false
	}
	return true
}

// onOff - "on" or "off", once per section.
func (a *setArgs) onOff() (bool, bool) {
	v, ok := a.one()
	if !ok {
		return false, false
	}
	switch v {
	case "on":
		return true, true
	case "off":
		return false, true
	}
	a.errorf("bad %s value %q; expect on or off", a.key, v)
	return false, false
}

// set writes v into the Profile field dst, as written at this line.
func set[T any](a *setArgs, dst *Field[T], v T) { *dst = Field[T]{true, v, a.pos} }

// settings - every key of a [default] or [service NAME] section: how its
// line is read into the Profile and, for a setting the spawner applies as
// written, how the effective value goes into the Spec (CompileWith runs
// these; settings that need resolving, like user or caps, are compiled
// there). The order is the one error messages list. A new confinement key
// is a row here: see "Adding a confinement key" in spec.go.
var settings = append([]setting{
	{"user", func(a *setArgs) {
		if v, ok := a.one(); ok {
			set(a, &a.pr.User, v)
		}
	}, nil},
	{"group", func(a *setArgs) {
		if v, ok := a.one(); ok {
			set(a, &a.pr.Group, v)
		}
	}, nil},
	{"groups", func(a *setArgs) {
		if !a.some() || !a.p.scalar(a.line, a.key) {
			return
		}
		if len(a.args) == 1 && a.args[0] == "none" {
			a.args = []string{}
		}
		set(a, &a.pr.Groups, a.args)
	}, nil},
	{"caps", parseCaps, nil},
	{"seccomp", func(a *setArgs) {
		if on, ok := a.onOff(); ok {
			set(a, &a.pr.SeccompOff, !on)
		}
	}, nil},
	{"seccomp-groups", func(a *setArgs) {
		if !a.some() || !a.p.scalar(a.line, a.key) {
			return
		}
		for _, g := range a.args {
			if !strings.HasPrefix(g, "@") {
				a.errorf("seccomp-groups takes groups (\"@name\"), got %q; use seccomp-allow for single syscalls", g)
			} else if _, ok := groups[g]; !ok {
				a.errorf("unknown syscall group %q", g)
			}
		}
		set(a, &a.pr.SeccompGroups, a.args)
	}, nil},
	{"seccomp-allow", func(a *setArgs) { parseSyscalls(a, &a.pr.SeccompAllow) }, nil},
	{"seccomp-deny", func(a *setArgs) {
		for _, it := range a.args {
			// The filter is in force when the spawner, or the child,
			// calls execve: without it nothing ever starts. Other calls
			// the spawner needs may be denied; the filter then goes
			// into each child (CompileWith).
			if Expand(it)["execve"] {
				a.errorf("cannot deny %q: it removes execve, which starts the service under the filter", it)
			}
		}
		parseSyscalls(a, &a.pr.SeccompDeny)
	}, nil},
	{"seccomp-action", parseAction, nil},
	{"no-new-privs", func(a *setArgs) {
		if on, ok := a.onOff(); ok {
			set(a, &a.pr.AllowNewPrivs, !on)
		}
	}, func(r *Profile, sp *Spec) { sp.AllowNewPrivs = r.AllowNewPrivs.Value }},
	{"rlimit", func(a *setArgs) { a.p.rlimit(a.line, a.args) }, nil},
	{"nice", func(a *setArgs) {
		if v, ok := a.one(); ok {
			n, err := strconv.Atoi(v)
			if err != nil || n < -20 || n > 19 {
				a.errorf("bad nice %q; expect -20 to 19", v)
				return
			}
			set(a, &a.pr.Nice, n)
		}
	}, func(r *Profile, sp *Spec) { sp.Nice = r.Nice.Value }},
	{"umask", func(a *setArgs) {
		if v, ok := a.one(); ok {
			n, err := strconv.ParseUint(v, 8, 32)
			if err != nil || n > 0o777 {
				a.errorf("bad umask %q; expect octal 000 to 777", v)
				return
			}
			set(a, &a.pr.Umask, int(n))
		}
	}, func(r *Profile, sp *Spec) { sp.Umask = r.Umask.Value }},
	{"env", func(a *setArgs) {
		// The value is the rest of the line, spaces included.
		name, val, ok := strings.Cut(a.rest, "=")
		if !ok || !validEnvName(name) {
			a.errorf("bad env %q; expect NAME=VALUE", a.rest)
			return
		}
		if a.pr.Env == nil {
			a.pr.Env = map[string]Field[string]{}
		}
		if old, dup := a.pr.Env[name]; dup {
			a.errorf("duplicate env %q (first at line %d)", name, old.Pos.Line)
			return
		}
		a.pr.Env[name] = Field[string]{true, val, a.pos}
	}, nil},
	{"pass", func(a *setArgs) {
		if !a.some() || !a.p.scalar(a.line, a.key) {
			return
		}
		for _, v := range a.args {
			if !validEnvName(v) {
				a.errorf("bad variable name %q", v)
			}
		}
		set(a, &a.pr.Pass, a.args)
	}, nil},
	{"user-env", func(a *setArgs) {
		if !a.some() || !a.p.scalar(a.line, a.key) {
			return
		}
		for _, v := range a.args {
			if !slices.Contains(userEnvNames, v) {
				a.errorf("user-env %q: expect %s", v, strings.Join(userEnvNames, ", "))
				return
			}
		}
		set(a, &a.pr.UserEnv, a.args)
	}, nil},
	{"dir", func(a *setArgs) {
		if v, ok := absPath(a, false); ok {
			set(a, &a.pr.Dir, v)
		}
	}, func(r *Profile, sp *Spec) { sp.Dir = r.Dir.Value }},
	{"chroot", func(a *setArgs) {
		if v, ok := absPath(a, true); ok {
			set(a, &a.pr.Chroot, v)
		}
	}, func(r *Profile, sp *Spec) { sp.Chroot = r.Chroot.Value }},
}, isolationSettings...)

// setting is one row of settings.
type setting struct {
	key   string
	parse func(a *setArgs)
	spec  func(r *Profile, sp *Spec) // nil: compiled in CompileWith
}

// keys lists the settings, for error messages.
var keys = func() []string {
	var out []string
	for _, s := range settings {
		out = append(out, s.key)
	}
	return append(out, limitKeys...)
}()

// setting is one line of a [default] or [service NAME] section.
func (p *parser) setting(line int, text string) {
	a := &setArgs{p: p, line: line, key: text, pos: Pos{p.file, line}, pr: p.cur}
	if i := strings.IndexAny(text, " \t"); i >= 0 {
		a.key, a.rest = text[:i], strings.TrimSpace(text[i+1:])
	}
	a.args = strings.Fields(a.rest)
	for _, s := range settings {
		if s.key == a.key {
			s.parse(a)
			return
		}
	}
	if p.limit(line, a.key, a.args) {
		return
	}
	p.errorf(line, "unknown setting %q; expect %s", a.key, strings.Join(keys, ", "))
}

// parseCaps - caps NAME... or none; names with or without CAP_, any case.
func parseCaps(a *setArgs) {
	if !a.some() || !a.p.scalar(a.line, a.key) {
		return
	}
	caps := []string{}
	if !(len(a.args) == 1 && a.args[0] == "none") {
		for _, c := range a.args {
			name := strings.ToUpper(c)
			if !strings.HasPrefix(name, "CAP_") {
				name = "CAP_" + name
			}
			if _, ok := capByName[name]; !ok {
				a.errorf("unknown capability %q", c)
				continue
			}
			if !slices.Contains(caps, name) {
				caps = append(caps, name)
			}
		}
	}
	set(a, &a.pr.Caps, caps)
}

// parseSyscalls - seccomp-allow and seccomp-deny: syscalls and @groups,
// repeated lines adding to the list.
func parseSyscalls(a *setArgs, f *Field[[]string]) {
	if !a.some() {
		return
	}
	for _, it := range a.args {
		if strings.HasPrefix(it, "@") {
			if _, ok := groups[it]; !ok {
				a.errorf("unknown syscall group %q", it)
			}
		} else if !knownSyscall(it) {
			a.errorf("unknown syscall %q", it)
		}
	}
	if !f.Set {
		*f = Field[[]string]{true, nil, a.pos}
	}
	f.Value = append(f.Value, a.args...)
}

// parseAction - seccomp-action kill, log or errno NAME.
func parseAction(a *setArgs) {
	if len(a.args) == 0 || !a.p.scalar(a.line, a.key) {
		if len(a.args) == 0 {
			a.errorf("%q needs a value; expect kill, log or errno NAME", a.key)
		}
		return
	}
	var act Action
	switch {
	case len(a.args) == 1 && a.args[0] == "kill":
	case len(a.args) == 1 && a.args[0] == "log":
		act.Log = true
	case len(a.args) == 2 && a.args[0] == "errno":
		if _, ok := errnoByName[a.args[1]]; !ok {
			a.errorf("unknown errno %q", a.args[1])
			return
		}
		act.Errno = a.args[1]
	default:
		a.errorf("bad seccomp-action %q; expect kill, log or errno NAME", a.rest)
		return
	}
	set(a, &a.pr.SeccompAction, act)
}

// absPath - dir or chroot: an absolute path; for chroot also "none".
func absPath(a *setArgs, noneOK bool) (string, bool) {
	v, ok := a.one()
	if !ok {
		return "", false
	}
	if noneOK && v == "none" {
		return "", true
	}
	if !strings.HasPrefix(v, "/") {
		a.errorf("%s must be an absolute path, got %q", a.key, v)
		return "", false
	}
	return v, true
}

// validEnvName - a shell-style variable name.
func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// rlimit NAME SOFT [HARD]
func (p *parser) rlimit(line int, args []string) {
	if len(args) != 2 && len(args) != 3 {
		p.errorf(line, "rlimit takes NAME SOFT [HARD], got %d values", len(args))
		return
	}
	res, ok := rlimitNames[args[0]]
	if !ok {
		p.errorf(line, "unknown rlimit %q; expect %s", args[0], strings.Join(sortedKeys(rlimitNames), ", "))
		return
	}
	cur, err1 := parseLimit(args[1])
	if err1 != nil {
		p.errorf(line, "bad rlimit value %q; %v", args[1], err1)
	}
	max := cur
	var err2 error
	if len(args) == 3 {
		max, err2 = parseLimit(args[2])
		if err2 != nil {
			p.errorf(line, "bad rlimit value %q; %v", args[2], err2)
		}
	}
	if err1 != nil || err2 != nil {
		return
	}
	if cur > max {
		p.errorf(line, "rlimit %s: soft limit %q above hard limit %q", args[0], args[1], args[2])
		return
	}
	if p.cur.Rlimits == nil {
		p.cur.Rlimits = map[string]Field[Limit]{}
	}
	if old, dup := p.cur.Rlimits[args[0]]; dup {
		p.errorf(line, "duplicate rlimit %q (first at line %d)", args[0], old.Pos.Line)
		return
	}
	p.cur.Rlimits[args[0]] = Field[Limit]{true, Limit{res, cur, max}, Pos{p.file, line}}
}

// Infinity is RLIM_INFINITY.
const Infinity = math.MaxUint64

// parseLimit - a number, a number with a binary suffix K, M, G or T, or
// "infinity".
func parseLimit(s string) (uint64, error) {
	if s == "infinity" || s == "unlimited" {
		return Infinity, nil
	}
	mult := uint64(1)
	num := s
	if n := len(s); n > 1 {
		switch s[n-1] {
		case 'K', 'k':
			mult = 1 << 10
		case 'M', 'm':
			mult = 1 << 20
		case 'G', 'g':
			mult = 1 << 30
		case 'T', 't':
			mult = 1 << 40
		}
		if mult != 1 {
			num = s[:n-1]
		}
	}
	v, err := strconv.ParseUint(num, 10, 64)
	if err != nil || v > math.MaxUint64/mult || v*mult == Infinity {
		return 0, errors.New("expect a number, optionally with K, M, G or T, or infinity")
	}
	return v * mult, nil
}
