package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/sys/capability"
)

// checks are run by Validate in order; each looks at one thing, in the
// manner of runc's libcontainer/configs/validate.
var checks = []struct {
	name string
	fn   func(*Spec) error
}{
	{"program", checkProgram},
	{"ids", checkIDs},
	{"caps", checkCaps},
	{"rlimits", checkRlimits},
	{"env", checkEnv},
	{"process", checkProcess},
	{"paths", checkPaths},
	{"seccomp", checkSeccomp},
	{"isolation", checkIsolation},
	{"size", checkSize},
}

// Validate reports every way sp is not a spec the spawner may apply: it is
// the one validation of a Spec, with the spawner's own limits (Max*,
// generated from internal/sandbox/spawner.h). CompileWith calls it, and
// sandbox.Start calls it again before it encodes a Spec, so that one built
// by hand, or derived by the daemon from a compiled one, is refused whole
// rather than applied in part. The Hash is not checked: the daemon derives
// specs (hosts options) with a hash of its own.
func (sp *Spec) Validate() error {
	var errs []error
	for _, c := range checks {
		if err := c.fn(sp); err != nil {
			errs = append(errs, fmt.Errorf("spec %s: %s: %w", sp.Service, c.name, err))
		}
	}
	return errors.Join(errs...)
}

func checkProgram(sp *Spec) error {
	if !strings.HasPrefix(sp.Path, "/") {
		return fmt.Errorf("program %q is not an absolute path", sp.Path)
	}
	if len(sp.Argv) == 0 {
		return errors.New("empty argv")
	}
	if len(sp.Argv) > MaxStrings {
		return fmt.Errorf("%d arguments, at most %d", len(sp.Argv), MaxStrings)
	}
	for _, a := range append([]string{sp.Path}, sp.Argv...) {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("NUL byte in %q", a)
		}
	}
	for i, a := range sp.Argv {
		if len(a)+1 > MaxArgStrlen {
			return fmt.Errorf("argument %d is %d bytes; execve(2) takes at most %d (MAX_ARG_STRLEN)", i, len(a), MaxArgStrlen-1)
		}
	}
	return nil
}

// MaxArgStrlen is the longest argument or environment string execve(2)
// takes, its NUL included (MAX_ARG_STRLEN, 32 pages): a longer one fails
// every exec with E2BIG.
const MaxArgStrlen = 32 * 4096

func checkIDs(sp *Spec) error {
	if sp.UID < 0 || sp.UID > 0xfffffffe || sp.GID < 0 || sp.GID > 0xfffffffe {
		return fmt.Errorf("uid %d / gid %d out of range", sp.UID, sp.GID)
	}
	if len(sp.Groups) > MaxGroups {
		return fmt.Errorf("%d supplementary groups, at most %d", len(sp.Groups), MaxGroups)
	}
	for _, g := range sp.Groups {
		if g < 0 || g > 0xfffffffe {
			return fmt.Errorf("group %d out of range", g)
		}
	}
	return nil
}

func checkCaps(sp *Spec) error {
	last := capability.ListKnown()
	for i, c := range sp.KeepCaps {
		if !slices.Contains(last, capability.Cap(c)) {
			return fmt.Errorf("unknown capability %d", c)
		}
		if i > 0 && sp.KeepCaps[i-1] >= c {
			return errors.New("capabilities not sorted or repeated")
		}
	}
	return nil
}

func checkRlimits(sp *Spec) error {
	seen := map[int]bool{}
	for _, r := range sp.Rlimits {
		if RlimitName(r.Resource) == fmt.Sprint("rlimit", r.Resource) {
			return fmt.Errorf("unknown rlimit %d", r.Resource)
		}
		if seen[r.Resource] {
			return fmt.Errorf("rlimit %s set twice", RlimitName(r.Resource))
		}
		seen[r.Resource] = true
		if r.Cur > r.Max {
			return fmt.Errorf("rlimit %s: soft %d above hard %d", RlimitName(r.Resource), r.Cur, r.Max)
		}
	}
	return nil
}

func checkEnv(sp *Spec) error {
	if len(sp.Env) > MaxStrings {
		return fmt.Errorf("%d environment entries, at most %d", len(sp.Env), MaxStrings)
	}
	seen := map[string]bool{}
	for _, kv := range sp.Env {
		// What execve takes: NAME=VALUE with a name, no NUL. Not the
		// policy parser's shell names: the daemon derives specs whose
		// variables come from hosts.allow's setenv, which libwrap lets
		// name anything but "=".
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" || strings.IndexByte(kv, 0) >= 0 {
			return fmt.Errorf("bad environment entry %q", kv)
		}
		if len(kv)+1 > MaxArgStrlen {
			return fmt.Errorf("environment string %.20q… is %d bytes; execve(2) takes at most %d (MAX_ARG_STRLEN)", kv, len(kv), MaxArgStrlen-1)
		}
		if seen[k] {
			return fmt.Errorf("variable %q set twice", k)
		}
		seen[k] = true
	}
	return nil
}

func checkProcess(sp *Spec) error {
	if sp.Umask < 0 || sp.Umask > 0o777 {
		return fmt.Errorf("umask %#o out of range", sp.Umask)
	}
	if sp.Nice < -20 || sp.Nice > 19 {
		return fmt.Errorf("nice %d out of range", sp.Nice)
	}
	return nil
}

func checkPaths(sp *Spec) error {
	if sp.Chroot != "" && !strings.HasPrefix(sp.Chroot, "/") {
		return fmt.Errorf("chroot %q is not absolute", sp.Chroot)
	}
	if !strings.HasPrefix(sp.Dir, "/") {
		return fmt.Errorf("working directory %q is not absolute", sp.Dir)
	}
	if strings.IndexByte(sp.Chroot, 0) >= 0 || strings.IndexByte(sp.Dir, 0) >= 0 {
		return fmt.Errorf("NUL byte in chroot %q or directory %q", sp.Chroot, sp.Dir)
	}
	return nil
}

func checkSeccomp(sp *Spec) error {
	switch {
	case sp.NoSeccomp && len(sp.Seccomp) > 0:
		return errors.New("both a filter and the opt-out")
	case sp.NoSeccomp:
		return nil
	case len(sp.Seccomp) == 0:
		return errors.New("no filter, and no opt-out")
	case len(sp.Seccomp)%8 != 0:
		return fmt.Errorf("program of %d bytes is not whole instructions", len(sp.Seccomp))
	case len(sp.Seccomp)/8 > MaxFilterInstructions:
		return fmt.Errorf("program of %d instructions exceeds the kernel's %d", len(sp.Seccomp)/8, MaxFilterInstructions)
	case sp.AllowNewPrivs && !slices.Contains(sp.KeepCaps, int(capability.CAP_SYS_ADMIN)):
		return errNNPSeccomp
	}
	return nil
}

// errNNPSeccomp: seccomp(2), SECCOMP_SET_MODE_FILTER: "either the calling
// thread must have the CAP_SYS_ADMIN capability in its user namespace, or
// the thread must already have the no_new_privs bit set". The spawner has
// dropped its capabilities to the kept set before it installs the filter
// (the filter may forbid capset and prctl), so without no_new_privs it gets
// EACCES at every start, unless the service keeps CAP_SYS_ADMIN.
var errNNPSeccomp = errors.New("no_new_privs off with a seccomp filter: seccomp(2) installs a filter only " +
	"with no_new_privs or CAP_SYS_ADMIN, and the spawner has dropped its capabilities by then; " +
	"turn seccomp off, or no_new_privs on")

// checkSize - the Spec as encoded for the spawner (hs_parse_spec in
// internal/sandbox/spawner.c) fits one message.
func checkSize(sp *Spec) error {
	if n := sp.WireSize(); n > MaxSpecBytes {
		return fmt.Errorf("%d bytes encoded, at most %d", n, MaxSpecBytes)
	}
	return nil
}

// wireStr and wireStrv are the sizes of a string and a list of strings on
// the spawner's wire (a u32 length or count; a string's bytes and NUL), for
// WireSize (zspawner.go, generated from HS_SPEC_FIELDS).
func wireStr(s string) int { return 4 + len(s) + 1 }

func wireStrv(list []string) int {
	n := 4
	for _, s := range list {
		n += wireStr(s)
	}
	return n
}
