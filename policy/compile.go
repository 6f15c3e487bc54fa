package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/moby/sys/capability"
	seccomp "github.com/seccomp/libseccomp-golang"
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
}

// CompileOptions says how hinetd runs. The zero value is the normal case:
// hinetd runs as root and switches every service to its user.
type CompileOptions struct {
	// Unprivileged is set when hinetd runs without root: only services of
	// the invoking user can run, without switching ids.
	Unprivileged bool
	InvokingUID  int
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

func overMap[T any](dst map[string]Field[T], src map[string]Field[T]) {
	for k, v := range src {
		dst[k] = v
	}
}

// overlay writes every field that p sets over r.
func (r *Profile) overlay(p *Profile) {
	over(&r.User, p.User)
	over(&r.Group, p.Group)
	over(&r.Groups, p.Groups)
	over(&r.Caps, p.Caps)
	over(&r.SeccompOff, p.SeccompOff)
	over(&r.SeccompGroups, p.SeccompGroups)
	over(&r.SeccompAllow, p.SeccompAllow)
	over(&r.SeccompDeny, p.SeccompDeny)
	over(&r.SeccompAction, p.SeccompAction)
	over(&r.AllowNewPrivs, p.AllowNewPrivs)
	overMap(r.Rlimits, p.Rlimits)
	over(&r.Nice, p.Nice)
	over(&r.Umask, p.Umask)
	overMap(r.Env, p.Env)
	over(&r.Pass, p.Pass)
	over(&r.Dir, p.Dir)
	over(&r.Chroot, p.Chroot)
}

// Effective returns the settings that apply to service: the built-in
// defaults, overlaid field by field with the [default] section, overlaid
// with the service's own section. Name is the policy that decided it:
// the service's name, "default" or "built-in".
func (s *Set) Effective(service string) Profile {
	r := builtin()
	if s.Default.Name != "" {
		r.overlay(&s.Default)
		r.Name, r.Pos = "default", s.Default.Pos
	}
	if p, ok := s.Services[service]; ok {
		r.overlay(p)
		r.Name, r.Pos = p.Name, p.Pos
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

// Compile builds the Spec of svc for a hinetd running as root. See
// CompileWith.
func (s *Set) Compile(svc Service) (*Spec, []Note, error) {
	return s.CompileWith(svc, CompileOptions{})
}

// CompileWith builds the Spec of svc: it resolves user, group and
// supplementary groups (initgroups semantics unless the policy lists
// them), the environment, rlimits and capabilities, and compiles the
// seccomp program (once per distinct rule set in s). The notes say where
// the policy overrides inetd.conf; the daemon logs them. Every problem is
// reported, file:line first when a policy setting caused it.
func (s *Set) CompileWith(svc Service, opt CompileOptions) (*Spec, []Note, error) {
	r := s.Effective(svc.Name)
	sp := &Spec{Service: svc.Name, Policy: r.Name, Path: svc.Program}
	sp.Argv = slices.Clone(svc.Args)
	if len(sp.Argv) == 0 {
		sp.Argv = []string{svc.Program}
	}
	var notes []Note
	var errs []error
	note := func(pos Pos, format string, args ...any) {
		notes = append(notes, Note{Pos: pos, Service: svc.Name, Message: fmt.Sprintf(format, args...)})
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
	for k, v := range r.Env {
		env[k] = v.Value
	}
	for _, k := range r.Pass.Value {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		} else {
			note(r.Pass.Pos, "pass %q: not in hinetd's environment", k)
		}
	}
	for _, k := range sortedKeys(env) {
		sp.Env = append(sp.Env, k+"="+env[k])
	}

	for _, f := range r.Rlimits {
		sp.Rlimits = append(sp.Rlimits, Rlimit{Resource: f.Value.Resource, Cur: f.Value.Cur, Max: f.Value.Max})
	}
	sort.Slice(sp.Rlimits, func(i, j int) bool { return sp.Rlimits[i].Resource < sp.Rlimits[j].Resource })

	sp.Nice = r.Nice.Value
	sp.Umask = r.Umask.Value
	sp.Dir = r.Dir.Value
	sp.Chroot = r.Chroot.Value
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
	sp.AllowNewPrivs = r.AllowNewPrivs.Value
	if sp.AllowNewPrivs {
		note(r.AllowNewPrivs.Pos, "no_new_privs is off: setuid programs can gain privileges")
	}

	// Seccomp.
	if r.SeccompOff.Value {
		sp.NoSeccomp = true
		note(r.SeccompOff.Pos, "seccomp is off")
	} else {
		sp.SeccompGroups = slices.Clone(r.SeccompGroups.Value)
		sp.SeccompAllow = slices.Clone(r.SeccompAllow.Value)
		sp.SeccompDeny = slices.Clone(r.SeccompDeny.Value)
		sp.SeccompAction = r.SeccompAction.Value.String()
		prog, err := s.program(sp.SeccompGroups, sp.SeccompAllow, sp.SeccompDeny, r.SeccompAction.Value)
		if err != nil {
			errs = append(errs, posErr(r.Pos, svc.Name, "seccomp: %v", err))
		}
		sp.Seccomp = prog
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
func (s *Set) resolveIDs(sp *Spec, svc Service, r *Profile, opt CompileOptions, note func(Pos, string, ...any)) error {
	var errs []error
	var u *user.User
	name, pos := svc.User, Pos{}
	if r.User.Set {
		if r.User.Value != svc.User {
			note(r.User.Pos, "policy sets user %q instead of inetd.conf's %q", r.User.Value, svc.User)
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
			note(r.Group.Pos, "policy sets group %q instead of inetd.conf's %q", r.Group.Value, svc.Group)
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
		note(r.Groups.Pos, "policy sets supplementary groups %q", strings.Join(r.Groups.Value, " "))
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

// Namespace flags that clone and unshare may not carry. CLONE_NEWTIME is
// left out: its bit is CSIGNAL's in clone's flags.
const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// program returns the compiled filter for one rule set, from the cache
// when another service already compiled the same one.
func (s *Set) program(base, allow, deny []string, act Action) ([]byte, error) {
	names := map[string]bool{}
	for _, list := range [][]string{base, allow} {
		for _, it := range list {
			if !expand(it, names) {
				return nil, fmt.Errorf("unknown syscall group %q", it)
			}
		}
	}
	for _, it := range deny {
		drop := map[string]bool{}
		expand(it, drop)
		for n := range drop {
			delete(names, n)
		}
	}
	expand(SpawnerGroup, names)
	list := sortedKeys(names)
	key := act.String() + "\n" + strings.Join(list, "\n")

	s.mu.Lock()
	defer s.mu.Unlock()
	if prog, ok := s.cache[key]; ok {
		return prog, nil
	}
	prog, err := buildFilter(list, act)
	if err != nil {
		return nil, err
	}
	if s.cache == nil {
		s.cache = map[string][]byte{}
	}
	s.cache[key] = prog
	return prog, nil
}

func scmpAction(a Action) seccomp.ScmpAction {
	switch {
	case a.Log:
		return seccomp.ActLog
	case a.Errno != "":
		return seccomp.ActErrno.SetReturnCode(int16(errnoByName[a.Errno]))
	}
	return seccomp.ActKillProcess
}

// buildFilter compiles an allow-list of syscall names into a BPF program
// for the native architecture.
func buildFilter(names []string, act Action) ([]byte, error) {
	f, err := seccomp.NewFilter(scmpAction(act))
	if err != nil {
		return nil, fmt.Errorf("seccomp_init: %w", err)
	}
	defer f.Release()
	// Another architecture (i386 via int 0x80 on x86_64 …) is a different
	// syscall table the allow-list was not written for: kill, whatever
	// the action. libseccomp admits only the native arch by default and,
	// on x86_64, sends x32 numbers (nr >= 0x40000000) to this action too.
	if err := f.SetBadArchAction(seccomp.ActKillProcess); err != nil {
		return nil, fmt.Errorf("bad-arch action: %w", err)
	}
	// The spawner sets no_new_privs itself, before installing the filter.
	if err := f.SetNoNewPrivsBit(false); err != nil {
		return nil, fmt.Errorf("nnp bit: %w", err)
	}
	// Binary tree by syscall number: about 53 µs to load instead of
	// 210 µs for the linear layout, and O(log n) per call.
	if err := f.SetOptimize(2); err != nil {
		return nil, fmt.Errorf("optimize: %w", err)
	}
	native, err := seccomp.GetNativeArch()
	if err != nil {
		return nil, err
	}
	nsMask := func(arg uint) []seccomp.ScmpCondition {
		c, err := seccomp.MakeCondition(arg, seccomp.CompareMaskedEqual, nsFlags, 0)
		if err != nil {
			panic(err) // constant arguments
		}
		return []seccomp.ScmpCondition{c}
	}
	for _, name := range names {
		nr, err := seccomp.GetSyscallFromNameByArch(name, native)
		if err != nil || nr < 0 {
			// Not a call of this architecture (groups are multi-arch).
			continue
		}
		switch name {
		case "clone3":
			// Its flags are in memory, out of seccomp's sight: make libc
			// fall back to clone, whose flags we can check.
			err = f.AddRule(nr, seccomp.ActErrno.SetReturnCode(int16(unix.ENOSYS)))
		case "clone":
			// x86_64, like most: flags are the first argument.
			err = f.AddRuleConditional(nr, seccomp.ActAllow, nsMask(0))
		case "unshare":
			err = f.AddRuleConditional(nr, seccomp.ActAllow, nsMask(0))
		case "personality":
			for _, v := range []uint64{0xffffffff, perLinux} {
				c, _ := seccomp.MakeCondition(0, seccomp.CompareMaskedEqual, 0xffffffff, v)
				if err = f.AddRuleConditional(nr, seccomp.ActAllow, []seccomp.ScmpCondition{c}); err != nil {
					break
				}
			}
		default:
			err = f.AddRule(nr, seccomp.ActAllow)
		}
		if err != nil {
			return nil, fmt.Errorf("rule for %q: %w", name, err)
		}
	}
	if err := addNewerThanLibseccomp(f, native); err != nil {
		return nil, err
	}
	prog, err := exportBPF(f)
	if err != nil {
		return nil, err
	}
	if err := verifyProgram(prog); err != nil {
		return nil, err
	}
	return prog, nil
}

// exportBPF writes the program to a memfd and reads it back (libseccomp
// 2.5 has no export to memory).
func exportBPF(f *seccomp.ScmpFilter) ([]byte, error) {
	fd, err := unix.MemfdCreate("hinetd-seccomp", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	file := os.NewFile(uintptr(fd), "hinetd-seccomp")
	defer file.Close()
	if err := f.ExportBPF(file); err != nil {
		return nil, fmt.Errorf("seccomp_export_bpf: %w", err)
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.ReadAll(file)
}

// perLinux is PER_LINUX from <sys/personality.h>.
const perLinux = 0

// newerSyscalls is how many syscall numbers past the last one libseccomp
// knows get ENOSYS instead of the violation action.
const newerSyscalls = 64

// addNewerThanLibseccomp makes syscalls newer than libseccomp's table
// (statmount, mseal … for libseccomp 2.5.4 on a 6.x kernel) fail with
// ENOSYS, as the kernel would answer a libc that tries a call the kernel
// lacks: the libc then falls back to the older call instead of the
// service being killed for using a newer libc. The call is still denied.
// Only for x86_64, where the numbers are one dense table.
func addNewerThanLibseccomp(f *seccomp.ScmpFilter, native seccomp.ScmpArch) error {
	if native != seccomp.ArchAMD64 {
		return nil
	}
	last := lastKnownSyscall()
	for nr := last + 1; nr <= last+newerSyscalls; nr++ {
		if err := f.AddRule(seccomp.ScmpSyscall(nr), seccomp.ActErrno.SetReturnCode(int16(unix.ENOSYS))); err != nil {
			return fmt.Errorf("ENOSYS rule for syscall %d: %w", nr, err)
		}
	}
	return nil
}

// lastKnownSyscall is the highest x86_64 syscall number libseccomp names.
var lastKnownSyscall = sync.OnceValue(func() int {
	last := 0
	for nr := 0; nr < 1024; nr++ {
		if _, err := seccomp.ScmpSyscall(nr).GetNameByArch(seccomp.ArchAMD64); err == nil {
			last = nr
		}
	}
	return last
})
