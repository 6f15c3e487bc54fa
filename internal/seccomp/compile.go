// Package seccomp compiles the seccomp allow-lists that package policy
// decides into classic BPF programs, with libseccomp (through cgo), and
// checks each program with a small BPF interpreter of its own.
//
// It is a package of its own, and not part of policy, so that policy stays
// plain data (parse, layer, Validate, limits) that builds with
// CGO_ENABLED=0 and can be imported by tools that never compile a filter.
// It sits under internal/ because its only callers are hinetd's daemon and
// hinetd-check, which hand it to policy through CompileOptions.Filter; it
// does not import policy, so policy's own tests can compile real programs
// with it. The kernel-facing layout (bad-arch action, binary tree, the
// clone/unshare/personality/clone3 rules) is decided here and nowhere else.
package seccomp

import (
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"syscall"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// maxCached bounds the programs a Compiler keeps: a daemon reloaded many
// times with changing policies must not grow without end. When full, the
// cache starts again empty.
const maxCached = 256

// Compiler turns allow-lists into BPF programs, once per distinct list and
// action. The zero Compiler is ready to use; it is safe for concurrent use
// (the daemon compiles at reload while it serves).
type Compiler struct {
	mu    sync.Mutex
	cache map[string][]byte // by action and sorted names
}

// Program compiles names (syscall names, groups already expanded, sorted)
// into a program whose action on anything else is action: "kill", "log"
// or "errno NAME" (as policy.Action.String writes it). keepCaps are the
// capability numbers the service keeps and uid, gid its ids: the
// privileged calls a service run as root may not make are logged
// (Unprivileged). Programs
// with the same arguments are shared: callers must not change them.
func (c *Compiler) Program(names []string, action string, suidsgid bool, families []int, keepCaps []int, uid, gid uint32) ([]byte, error) {
	act, err := parseAction(action)
	if err != nil {
		return nil, err
	}
	r := Restrict{SUIDSGID: suidsgid, Families: families}
	if uid == 0 {
		// Only a service run as root: it is the one that expects to
		// switch ids or chroot and dies when it cannot (ftpd, telnetd's
		// login, tftpd-hpa, rexecd). A service run as another user
		// calls setuid(0) and setgid(0) on purpose, to check that they
		// fail (dovecot's restrict_access does on every connection),
		// and a record of that would be noise.
		r.Unprivileged = &Unprivileged{
			SetUID: slices.Contains(keepCaps, unix.CAP_SETUID),
			SetGID: slices.Contains(keepCaps, unix.CAP_SETGID),
			Chroot: slices.Contains(keepCaps, unix.CAP_SYS_CHROOT),
			UID:    uid, GID: gid,
		}
	}
	key := action + "\n" + r.key() + "\n" + strings.Join(names, "\n")
	c.mu.Lock()
	defer c.mu.Unlock()
	if prog, ok := c.cache[key]; ok {
		return prog, nil
	}
	prog, err := buildFilter(names, act, r)
	if err != nil {
		return nil, err
	}
	if c.cache == nil || len(c.cache) >= maxCached {
		c.cache = map[string][]byte{}
	}
	c.cache[key] = prog
	return prog, nil
}

// parseAction - "kill", "log" or "errno NAME".
func parseAction(s string) (libseccomp.ScmpAction, error) {
	switch {
	case s == "kill" || s == "":
		return libseccomp.ActKillProcess, nil
	case s == "log":
		return libseccomp.ActLog, nil
	case strings.HasPrefix(s, "errno "):
		name := strings.TrimPrefix(s, "errno ")
		for e := syscall.Errno(1); e < 4096; e++ {
			if unix.ErrnoName(e) == name {
				return libseccomp.ActErrno.SetReturnCode(int16(e)), nil
			}
		}
		return 0, fmt.Errorf("unknown errno %q", name)
	}
	return 0, fmt.Errorf("unknown seccomp action %q", s)
}

// Namespace flags that clone and unshare may not carry. CLONE_NEWTIME is
// left out: its bit is CSIGNAL's in clone's flags.
const nsFlags = unix.CLONE_NEWNS | unix.CLONE_NEWCGROUP | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWUSER | unix.CLONE_NEWPID | unix.CLONE_NEWNET

// buildFilter compiles an allow-list of syscall names into a BPF program
// for the native architecture.
func buildFilter(names []string, act libseccomp.ScmpAction, r Restrict) ([]byte, error) {
	f, err := libseccomp.NewFilter(act)
	if err != nil {
		return nil, fmt.Errorf("seccomp_init: %w", err)
	}
	defer f.Release()
	// Another architecture (i386 via int 0x80 on x86_64 …) is a different
	// syscall table the allow-list was not written for: kill, whatever
	// the action. libseccomp admits only the native arch by default and,
	// on x86_64, sends x32 numbers (nr >= 0x40000000) to this action too.
	if err := f.SetBadArchAction(libseccomp.ActKillProcess); err != nil {
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
	native, err := libseccomp.GetNativeArch()
	if err != nil {
		return nil, err
	}
	nsMask := func(arg uint) []libseccomp.ScmpCondition {
		c, err := libseccomp.MakeCondition(arg, libseccomp.CompareMaskedEqual, nsFlags, 0)
		if err != nil {
			panic(err) // constant arguments
		}
		return []libseccomp.ScmpCondition{c}
	}
	for _, name := range names {
		nr, err := libseccomp.GetSyscallFromNameByArch(name, native)
		if err != nil || nr < 0 {
			// Not a call of this architecture (groups are multi-arch).
			continue
		}
		switch {
		case r.restricted(name):
			err = r.addRestrict(f, nr, name, act)
		case r.Unprivileged.logs(name):
			err = r.Unprivileged.addLog(f, nr, name, act)
		case name == "clone3":
			continue // below, whether listed or not
		case name == "clone":
			// x86_64, like most: flags are the first argument.
			err = f.AddRuleConditional(nr, libseccomp.ActAllow, nsMask(0))
		case name == "unshare":
			err = f.AddRuleConditional(nr, libseccomp.ActAllow, nsMask(0))
		case name == "personality":
			for _, v := range []uint64{0xffffffff, perLinux} {
				c, _ := libseccomp.MakeCondition(0, libseccomp.CompareMaskedEqual, 0xffffffff, v)
				if err = f.AddRuleConditional(nr, libseccomp.ActAllow, []libseccomp.ScmpCondition{c}); err != nil {
					break
				}
			}
		default:
			err = f.AddRule(nr, libseccomp.ActAllow)
		}
		if err != nil {
			return nil, fmt.Errorf("rule for %q: %w", name, err)
		}
	}
	// clone3's flags are in memory, out of seccomp's sight: it fails with
	// ENOSYS in every program, listed or not, so that libc falls back to
	// clone, whose flags are checked (glibc does since 2.34).
	if nr, err := libseccomp.GetSyscallFromNameByArch("clone3", native); err == nil && nr >= 0 {
		if err := f.AddRule(nr, libseccomp.ActErrno.SetReturnCode(int16(unix.ENOSYS))); err != nil {
			return nil, fmt.Errorf("rule for clone3: %w", err)
		}
	}
	if err := addNewerThanLibseccomp(f, native); err != nil {
		return nil, err
	}
	prog, err := exportBPF(f)
	if err != nil {
		return nil, err
	}
	if err := Verify(prog); err != nil {
		return nil, err
	}
	return prog, nil
}

// exportBPF writes the program to a memfd and reads it back (libseccomp
// 2.5 has no export to memory).
func exportBPF(f *libseccomp.ScmpFilter) ([]byte, error) {
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
func addNewerThanLibseccomp(f *libseccomp.ScmpFilter, native libseccomp.ScmpArch) error {
	if native != libseccomp.ArchAMD64 {
		return nil
	}
	last := lastKnownSyscall()
	for nr := last + 1; nr <= last+newerSyscalls; nr++ {
		if err := f.AddRule(libseccomp.ScmpSyscall(nr), libseccomp.ActErrno.SetReturnCode(int16(unix.ENOSYS))); err != nil {
			return fmt.Errorf("ENOSYS rule for syscall %d: %w", nr, err)
		}
	}
	return nil
}

// lastKnownSyscall is the highest x86_64 syscall number libseccomp names.
var lastKnownSyscall = sync.OnceValue(func() int {
	last := 0
	for nr := 0; nr < 1024; nr++ {
		if _, err := libseccomp.ScmpSyscall(nr).GetNameByArch(libseccomp.ArchAMD64); err == nil {
			last = nr
		}
	}
	return last
})
