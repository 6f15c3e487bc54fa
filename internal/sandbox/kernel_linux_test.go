//go:build linux

package sandbox

import (
	"syscall"
	"testing"

	"github.com/hinetd/hinetd/internal/testenv"
	"github.com/hinetd/hinetd/policy"
)

// TestCheckKernel: this kernel (6.x, landlock ABI ≥ 6) has everything the
// default isolation needs; a missing feature's error names it and the key
// that opts out, as does a failed isolation step (issue 11 item 5).
func TestCheckKernel(t *testing.T) {
	if abi := LandlockABI(); abi < 6 {
		testenv.Skip(t, "landlock ABI %d: the default isolation cannot run here", abi)
	}
	if err := CheckKernel(policy.Isolation{}); err != nil {
		t.Fatalf("default isolation on this kernel: %v", err)
	}
	ke := &KernelError{Feature: "landlock ABI 6 (Linux 6.12: LANDLOCK_SCOPE_SIGNAL)", Key: "process-scope off", Detail: "landlock ABI 4"}
	want := `kernel lacks landlock ABI 6 (Linux 6.12: LANDLOCK_SCOPE_SIGNAL) (landlock ABI 4); the service does not start without it; opt out with "process-scope off"`
	if got := ke.Error(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	for _, tt := range []struct {
		step  string
		errno syscall.Errno
		want  string
	}{
		{"mount_proc", syscall.EPERM, "isolate(mount_proc) needs CAP_SYS_ADMIN in hinetd (and CAP_NET_ADMIN for private-network); opt out with process-scope off"},
		{"protect_system", syscall.ENOSYS, "isolate(protect_system) is not supported by this kernel; opt out with protect-system off"},
		{"private_network", syscall.EPERM, "isolate(private_network) needs CAP_SYS_ADMIN in hinetd (and CAP_NET_ADMIN for private-network); opt out with private-network off"},
	} {
		n := -1
		for i := 0; i < 32; i++ {
			if isoStepName(i) == tt.step {
				n = i
			}
		}
		if got := isolateDetail(n, tt.errno); got != tt.want {
			t.Errorf("%s: got  %s\nwant %s", tt.step, got, tt.want)
		}
	}
}
