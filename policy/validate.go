package policy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/moby/sys/capability"
)

// BPFMaxInstructions is the kernel's limit on one filter (BPF_MAXINSNS).
const BPFMaxInstructions = 4096

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
	{"hash", checkHash},
}

// Validate reports every way sp is not a spec the spawner may apply. The
// spawner calls it too: a Spec built by hand, or changed after Compile,
// is refused rather than applied in part.
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
	for _, a := range append([]string{sp.Path}, sp.Argv...) {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("NUL byte in %q", a)
		}
	}
	return nil
}

func checkIDs(sp *Spec) error {
	if sp.UID < 0 || sp.UID > 0xfffffffe || sp.GID < 0 || sp.GID > 0xfffffffe {
		return fmt.Errorf("uid %d / gid %d out of range", sp.UID, sp.GID)
	}
	if len(sp.Groups) > 65536 {
		return fmt.Errorf("%d supplementary groups, more than NGROUPS_MAX", len(sp.Groups))
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
	seen := map[string]bool{}
	for _, kv := range sp.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !validEnvName(k) || strings.IndexByte(kv, 0) >= 0 {
			return fmt.Errorf("bad environment entry %q", kv)
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
	case len(sp.Seccomp)/8 > BPFMaxInstructions:
		return fmt.Errorf("program of %d instructions exceeds the kernel's %d", len(sp.Seccomp)/8, BPFMaxInstructions)
	}
	return nil
}

func checkHash(sp *Spec) error {
	if sp.Hash != sp.hash() {
		return errors.New("hash does not match the spec (changed after Compile?)")
	}
	return nil
}
