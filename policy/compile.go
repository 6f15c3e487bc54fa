package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// Service is inetd.conf's view of one service, filled in by the daemon.
type Service struct {
	Name    string // "telnet"
	User    string // inetd.conf user ("nobody"), or "" when only UID is known
	Group   string // inetd.conf group ("" = the user's primary group)
	UID     int    // used when User is ""
	GID     int    // used when User and Group are ""
	Program string // absolute path of the server program
	Args    []string
	// Sections are the other names a [service …] section may select the
	// service by, most specific first: its bound ADDR:PORT ("127.0.0.1:67",
	// "[::1]:7100") and NAME/PROTO ("bootps/udp"). Name is tried last.
	Sections []string
}

// SectionFor returns the name of the [service …] section that applies to
// svc: the first of svc.Sections, then svc.Name, that has a section; ""
// when none does.
func (s *Set) SectionFor(svc Service) string {
	for _, k := range append(slices.Clone(svc.Sections), svc.Name) {
		if _, ok := s.Services[k]; ok {
			return k
		}
	}
	return ""
}

// CompileOptions says how hinetd runs. The zero value is the normal case:
// hinetd runs as root and switches every service to its user.
type CompileOptions struct {
	// Unprivileged is set when hinetd runs without root: only services of
	// the invoking user can run, without switching ids.
	Unprivileged bool
	InvokingUID  int
	// Filter compiles the seccomp program (internal/seccomp.Compiler).
	// policy decides which calls a service may make; turning that into
	// BPF needs libseccomp and cgo, which policy does without. A nil
	// Filter fails every service whose policy has seccomp on.
	Filter FilterCompiler
}

// FilterCompiler turns a seccomp allow-list into a BPF program.
type FilterCompiler interface {
	// Program compiles names (syscall names, sorted, groups expanded)
	// into a program whose action on any other call is action: "kill",
	// "log" or "errno NAME" (Action.String). With suidsgid, calls that
	// would make a setuid or setgid file fail EPERM; with families not
	// nil, socket() and socketpair() of any other family fail
	// EAFNOSUPPORT (Isolation.Restrictions). keepCaps are the
	// capabilities the service keeps, uid and gid its ids: in a service
	// run as root, setgroups, chroot, and setgid or setuid to another
	// id, when the capability they need is not kept, are logged (and fail EPERM from the kernel)
	// so that the daemon can say which privilege a server lacked.
	Program(names []string, action string, suidsgid bool, families []int, keepCaps []int, uid, gid uint32) ([]byte, error)
}

// Built-in rlimits. Every other rlimit is inherited from hinetd unless a
// policy sets it.
var defaultRlimits = []struct {
	name     string
	cur, max uint64
}{
	// No core dumps: a service's memory holds other users' data
	// (passwords typed into telnetd/ftpd), and a dump lands in its cwd.
	{"core", 0, 0},
	// 1024 is the classic soft limit and FD_SETSIZE: select()-based
	// servers corrupt memory above it. One connection rarely needs more.
	{"nofile", 1024, 1024},
	// Counted per real uid across every process of that user (nobody's
	// services share it): bounds a fork bomb in one service while leaving
	// room for many concurrent connections. Root is exempt in the kernel.
	{"nproc", 1024, 1024},
	// No single file written larger than 1 GiB: a runaway or hostile
	// upload cannot fill the disk in one file. Raise it for ftpd.
	{"fsize", 1 << 30, 1 << 30},
}

// builtin is the profile under every [default] section.
func builtin() Profile {
	p := Profile{Name: "built-in"}
	p.Caps = Field[[]string]{Set: true, Value: []string{}}
	p.SeccompGroups = Field[[]string]{Set: true, Value: slices.Clone(defaultGroups)}
	p.Umask = Field[int]{Set: true, Value: DefaultUmask}
	p.Dir = Field[string]{Set: true, Value: "/"}
	name, val, _ := strings.Cut(DefaultEnvPath, "=")
	p.Env = map[string]Field[string]{name: {Set: true, Value: val}}
	p.Rlimits = map[string]Field[Limit]{}
	for _, r := range defaultRlimits {
		p.Rlimits[r.name] = Field[Limit]{Set: true, Value: Limit{rlimitNames[r.name], r.cur, r.max}}
	}
	return p
}

func over[T any](dst *Field[T], src Field[T]) {
	if src.Set {
		*dst = src
	}
}

// overlay writes every field that p sets over r: each Field whose Set is
// true, and each entry of a map of Fields (rlimits, env). It goes by
// reflection over Profile, so that a new setting is a Profile field and a
// row of settings (parse.go), and nothing here.
func (r *Profile) overlay(p *Profile) {
	dst, src := reflect.ValueOf(r).Elem(), reflect.ValueOf(p).Elem()
	for i := 0; i < dst.NumField(); i++ {
		d, v := dst.Field(i), src.Field(i)
		switch {
		case v.Kind() == reflect.Map:
			if d.IsNil() && v.Len() > 0 {
				d.Set(reflect.MakeMap(d.Type()))
			}
			for it := v.MapRange(); it.Next(); {
				d.SetMapIndex(it.Key(), it.Value())
			}
		case v.Kind() == reflect.Struct && v.FieldByName("Set").IsValid() && v.FieldByName("Set").Bool():
			d.Set(v)
		}
	}
}

// Effective returns the settings that apply to service: the built-in
// defaults, overlaid field by field with the [default] section, overlaid
// with the service's own section. Name is the policy that decided it:
// the service's name, "default" or "built-in".
func (s *Set) Effective(service string) Profile {
	return s.EffectiveFor(Service{Name: service})
}

// EffectiveFor is Effective with the shipped profile of the service's
// program (ProfileFor) between the [default] section and the service's
// own: built-in, [default], profile, [service NAME], each key of a layer
// replacing the one below. Name is then "NAME over profile X" when both
// apply.
func (s *Set) EffectiveFor(svc Service) Profile {
	r := builtin()
	if s.Default.Name != "" {
		r.overlay(&s.Default)
		r.Name, r.Pos = "default", s.Default.Pos
	}
	prof := ProfileFor(svc.Program)
	if prof != nil {
		r.overlay(prof)
		r.Name, r.Pos = prof.Name, prof.Pos
	}
	if p, ok := s.Services[s.SectionFor(svc)]; ok {
		r.overlay(p)
		r.Name, r.Pos = p.Name, p.Pos
		if prof != nil {
			r.Name = p.Name + " over " + prof.Name
		}
	}
	return r
}

// posErr prefixes file:line when the setting came from a file.
func posErr(pos Pos, service, format string, args ...any) error {
	msg := fmt.Sprintf("service %s: %s", service, fmt.Sprintf(format, args...))
	if pos.File != "" {
		msg = pos.String() + ": " + msg
	}
	return errors.New(msg)
}

// CompileWith builds the Spec of svc: it resolves user, group and
// supplementary groups (initgroups semantics unless the policy lists
// them), the environment, rlimits and capabilities, and compiles the
// seccomp program (once per distinct rule set in s). The notes say where
// the policy overrides inetd.conf; the daemon logs them. Every problem is
// reported, file:line first when a policy setting caused it.
func (s *Set) CompileWith(svc Service, opt CompileOptions) (*Spec, []Note, error) {
	r := s.EffectiveFor(svc)
	sp := &Spec{Service: svc.Name, Policy: r.Name, Path: svc.Program}
	sp.Argv = slices.Clone(svc.Args)
	if len(sp.Argv) == 0 {
		sp.Argv = []string{svc.Program}
	}
	var notes []Note
	var errs []error
	note := func(kind string, pos Pos, format string, args ...any) {
		notes = append(notes, Note{Pos: pos, Service: svc.Name, Kind: kind, Message: fmt.Sprintf(format, args...)})
	}

	// Ids.
	if err := s.resolveIDs(sp, svc, &r, opt, note); err != nil {
		errs = append(errs, err)
	}

	// Capabilities: numbers, sorted.
	last, lastErr := capability.LastCap()
	for _, c := range r.Caps.Value {
		if lastErr == nil && capByName[c] > last {
			// Known to the library, not to this kernel: the spawner
			// could not keep it, so say so now rather than per spawn.
			errs = append(errs, posErr(r.Caps.Pos, svc.Name, "capability %s is not supported by this kernel", c))
			continue
		}
		sp.KeepCaps = append(sp.KeepCaps, int(capByName[c]))
	}
	slices.Sort(sp.KeepCaps)
	if opt.Unprivileged && len(sp.KeepCaps) > 0 {
		errs = append(errs, posErr(r.Caps.Pos, svc.Name, "needs root to keep capabilities %s", strings.Join(r.Caps.Value, " ")))
	}

	// Environment: the set list, then the pass list from our own
	// environment, sorted by name so that the hash is stable.
	env := map[string]string{}
	if len(r.UserEnv.Value) > 0 {
		// From the user the service runs as, as login(1) sets them: a
		// server started by inetd gets none, and dovecot's imap, run
		// pre-authenticated, refuses to start without USER and HOME.
		u, err := lookupUser(sp.User)
		for _, k := range r.UserEnv.Value {
			switch {
			case err != nil:
				errs = append(errs, posErr(r.UserEnv.Pos, svc.Name, "user-env: user %q: %v", sp.User, err))
			case k == "HOME":
				env[k] = u.HomeDir
			case k == "SHELL":
				// As login(1) sets it (telnetd and rlogind's login
				// does; a server run straight by inetd gets none).
				sh, serr := userShell(u.Username)
				if serr != nil {
					errs = append(errs, posErr(r.UserEnv.Pos, svc.Name, "user-env SHELL: %v", serr))
					continue
				}
				env[k] = sh
			default: // USER, LOGNAME
				env[k] = u.Username
			}
			if err != nil {
				break
			}
		}
	}
	for k, v := range r.Env {
		env[k] = v.Value
	}
	for _, k := range r.Pass.Value {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		} else {
			note(NotePassAbsent, r.Pass.Pos, "pass %q: not in hinetd's environment", k)
		}
	}
	for _, k := range sortedKeys(env) {
		sp.Env = append(sp.Env, k+"="+env[k])
	}

	for _, f := range r.Rlimits {
		sp.Rlimits = append(sp.Rlimits, Rlimit{Resource: f.Value.Resource, Cur: f.Value.Cur, Max: f.Value.Max})
	}
	sort.Slice(sp.Rlimits, func(i, j int) bool { return sp.Rlimits[i].Resource < sp.Rlimits[j].Resource })

	// Settings the spawner applies as written (settings, parse.go).
	for _, st := range settings {
		if st.spec != nil {
			st.spec(&r, sp)
		}
	}
	if opt.Unprivileged && sp.Chroot != "" {
		errs = append(errs, posErr(r.Chroot.Pos, svc.Name, "needs root to chroot to %q", sp.Chroot))
	}
	if opt.Unprivileged {
		// Nice is absolute, and only root may lower it: without root a
		// service inherits hinetd's own unless its policy raises it.
		if prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0); err == nil {
			own := 20 - prio // the raw syscall returns 20 - nice
			if !r.Nice.Set {
				sp.Nice = own
			} else if sp.Nice < own {
				errs = append(errs, posErr(r.Nice.Pos, svc.Name, "needs root for nice %d (hinetd runs at %d)", sp.Nice, own))
			}
		}
	}
	if sp.AllowNewPrivs {
		note(NoteWeaker, r.AllowNewPrivs.Pos, "no_new_privs is off: setuid programs can gain privileges")
	}
	errs = append(errs, isolationErrors(&r, sp, svc.Name, opt)...)

	// Seccomp.
	if r.SeccompOff.Value {
		sp.NoSeccomp = true
		if !sp.Isolation.AllowSUIDSGID || !sp.Isolation.AnyAddressFamily {
			// Those restrictions are seccomp rules: with no filter
			// there are none, so say that they are gone with it.
			note(NoteWeaker, r.SeccompOff.Pos, "seccomp is off (and with it restrict-suid-sgid and address-families)")
		} else {
			note(NoteWeaker, r.SeccompOff.Pos, "seccomp is off")
		}
	} else {
		sp.SeccompGroups = slices.Clone(r.SeccompGroups.Value)
		sp.SeccompAllow = slices.Clone(r.SeccompAllow.Value)
		sp.SeccompDeny = slices.Clone(r.SeccompDeny.Value)
		sp.SeccompAction = r.SeccompAction.Value.String()
		suid, fams := sp.Isolation.Restrictions()
		prog, denied, err := program(opt.Filter, sp.SeccompGroups, sp.SeccompAllow, sp.SeccompDeny, r.SeccompAction.Value, suid, fams,
			sp.KeepCaps, uint32(sp.UID), uint32(sp.GID))
		if err != nil {
			errs = append(errs, posErr(r.Pos, svc.Name, "seccomp: %v", err))
		}
		sp.Seccomp = prog
		if len(denied) > 0 {
			note(NoteSeccompChild, r.SeccompDeny.Pos, "seccomp-deny removes %s, which the spawner calls itself: the filter is "+
				"installed in each child before execve, not once in the spawner (about 50 µs more per connection)",
				strings.Join(denied, " "))
		}
		if sp.AllowNewPrivs && !slices.Contains(sp.KeepCaps, int(capability.CAP_SYS_ADMIN)) {
			errs = append(errs, posErr(r.AllowNewPrivs.Pos, svc.Name, "%v", errNNPSeccomp))
		}
	}

	if err := errors.Join(errs...); err != nil {
		return nil, notes, err
	}
	sp.Hash = sp.hash()
	if err := sp.Validate(); err != nil {
		return nil, notes, err
	}
	return sp, notes, nil
}

// hash - sha256 of the canonical encoding: the JSON of the Spec (fields in
// declaration order, slices in order) with Hash empty.
func (sp *Spec) hash() string {
	c := *sp
	c.Hash = ""
	b, err := json.Marshal(&c)
	if err != nil {
		panic("policy: spec does not encode: " + err.Error()) // plain data always encodes
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func lookupUser(name string) (*user.User, error) {
	if _, err := strconv.Atoi(name); err == nil {
		if u, err := user.LookupId(name); err == nil {
			return u, nil
		}
	}
	return user.Lookup(name)
}

func lookupGroup(name string) (int, error) {
	if n, err := strconv.Atoi(name); err == nil && n >= 0 {
		return n, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(g.Gid)
}

// resolveIDs fills User, UID, GID, Groups and SwitchIDs.
func (s *Set) resolveIDs(sp *Spec, svc Service, r *Profile, opt CompileOptions, note func(string, Pos, string, ...any)) error {
	var errs []error
	var u *user.User
	name, pos := svc.User, Pos{}
	if r.User.Set {
		if r.User.Value != svc.User {
			note(NoteOverride, r.User.Pos, "policy sets user %q instead of inetd.conf's %q", r.User.Value, svc.User)
		}
		name, pos = r.User.Value, r.User.Pos
	}
	uid, gid := svc.UID, svc.GID
	if name != "" {
		var err error
		u, err = lookupUser(name)
		if err != nil {
			return posErr(pos, svc.Name, "unknown user %q", name)
		}
		uid, _ = strconv.Atoi(u.Uid)
		gid, _ = strconv.Atoi(u.Gid)
	} else if lu, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		u, name = lu, lu.Username
	}
	sp.User, sp.UID = name, uid

	gname, gpos := svc.Group, Pos{}
	if r.Group.Set {
		if r.Group.Value != svc.Group {
			note(NoteOverride, r.Group.Pos, "policy sets group %q instead of inetd.conf's %q", r.Group.Value, svc.Group)
		}
		gname, gpos = r.Group.Value, r.Group.Pos
	}
	if gname != "" {
		g, err := lookupGroup(gname)
		if err != nil {
			errs = append(errs, posErr(gpos, svc.Name, "unknown group %q", gname))
		}
		gid = g
	}
	sp.GID = gid

	// Supplementary groups: initgroups(user, gid) unless the policy
	// lists them.
	if r.Groups.Set {
		note(NoteOverride, r.Groups.Pos, "policy sets supplementary groups %q", strings.Join(r.Groups.Value, " "))
		sp.Groups = []int{}
		for _, g := range r.Groups.Value {
			n, err := lookupGroup(g)
			if err != nil {
				errs = append(errs, posErr(r.Groups.Pos, svc.Name, "unknown group %q", g))
				continue
			}
			if !slices.Contains(sp.Groups, n) {
				sp.Groups = append(sp.Groups, n)
			}
		}
	} else {
		sp.Groups = []int{gid}
		if u != nil {
			ids, err := u.GroupIds()
			if err != nil {
				errs = append(errs, posErr(pos, svc.Name, "groups of user %q: %v", name, err))
			}
			for _, id := range ids {
				if n, err := strconv.Atoi(id); err == nil && !slices.Contains(sp.Groups, n) {
					sp.Groups = append(sp.Groups, n)
				}
			}
		}
		slices.Sort(sp.Groups)
	}

	if opt.Unprivileged {
		if uid != opt.InvokingUID {
			errs = append(errs, posErr(pos, svc.Name, "needs root to run as user %q (uid %d)", name, uid))
		}
		// Without root the ids cannot change: report the ones it will run with.
		sp.SwitchIDs = false
		sp.GID = os.Getgid()
		sp.Groups = nil
		if gs, err := os.Getgroups(); err == nil {
			sp.Groups = gs
		}
	} else {
		sp.SwitchIDs = true
	}
	return errors.Join(errs...)
}

// program returns the compiled filter for one rule set: the base groups,
// the additions and what the spawner needs, less the removals; and the
// spawner's calls that the removals took out (then the spawner cannot run
// under the filter, and installs it in each child instead).
func program(fc FilterCompiler, base, allow, deny []string, act Action, suidsgid bool, families []int, keepCaps []int, uid, gid uint32) ([]byte, []string, error) {
	if fc == nil {
		return nil, nil, errors.New("no filter compiler (CompileOptions.Filter)")
	}
	names := map[string]bool{}
	for _, list := range [][]string{base, allow, {SpawnerGroup}} {
		for _, it := range list {
			if !expand(it, names) {
				return nil, nil, fmt.Errorf("unknown syscall group %q", it)
			}
		}
	}
	dropped := map[string]bool{}
	for _, it := range deny {
		expand(it, dropped)
	}
	var denied []string
	for n := range dropped {
		delete(names, n)
	}
	for _, n := range groups[SpawnerGroup].Syscalls {
		if dropped[n] {
			denied = append(denied, n)
		}
	}
	prog, err := fc.Program(sortedKeys(names), act.String(), suidsgid, families, keepCaps, uid, gid)
	return prog, denied, err
}
