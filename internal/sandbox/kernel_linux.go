//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/policy"
)

// LandlockABI is the running kernel's landlock ABI version, 0 when it has
// no landlock (or it is disabled at boot).
func LandlockABI() int {
	v, _, e := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, 1 /* LANDLOCK_CREATE_RULESET_VERSION */)
	if e != 0 {
		return 0
	}
	return int(v)
}

// KernelError is a kernel feature an isolation needs and does not have.
type KernelError struct {
	Feature string // "landlock ABI 6 (Linux 6.12)"
	Key     string // the policy setting that opts out: "process-scope off"
	Detail  string // what was found
}

func (e *KernelError) Error() string {
	return fmt.Sprintf("kernel lacks %s (%s); the service does not start without it; opt out with %q", e.Feature, e.Detail, e.Key)
}

// CheckKernel reports, before a spawner tries, a kernel feature that iso
// needs and the running kernel lacks, naming the key that opts out. The
// spawner fails closed on the same things anyway; this says why in
// words, for hinetd-check and the daemon's load.
func CheckKernel(iso policy.Isolation) error {
	var errs []error
	if !iso.NoProcessScope {
		if abi := LandlockABI(); abi < 6 {
			errs = append(errs, &KernelError{"landlock ABI 6 (Linux 6.12: LANDLOCK_SCOPE_SIGNAL)", "process-scope off",
				fmt.Sprintf("landlock ABI %d", abi)})
		}
		if _, err := os.Stat("/proc/self/ns/pid"); err != nil {
			errs = append(errs, &KernelError{"pid namespaces (CONFIG_PID_NS)", "process-scope off", err.Error()})
		}
	}
	if iso.NeedsMounts() {
		// mount_setattr(2), Linux 5.12: with a bad descriptor it fails
		// EBADF when it exists, ENOSYS when it does not.
		_, _, e := unix.Syscall6(unix.SYS_MOUNT_SETATTR, ^uintptr(0), 0, 0, 0, 0, 0)
		if e == unix.ENOSYS {
			errs = append(errs, &KernelError{"mount_setattr(2) (Linux 5.12)",
				"protect-system off, private-tmp off, private-devices off, protect-home off and process-scope off",
				"ENOSYS"})
		}
		if _, err := os.Stat("/proc/self/ns/mnt"); err != nil {
			errs = append(errs, &KernelError{"mount namespaces", "protect-system off, private-tmp off, private-devices off, protect-home off and process-scope off", err.Error()})
		}
	}
	if iso.PrivateNetwork {
		if _, err := os.Stat("/proc/self/ns/net"); err != nil {
			errs = append(errs, &KernelError{"network namespaces (CONFIG_NET_NS)", "private-network off", err.Error()})
		}
	}
	return errors.Join(errs...)
}
