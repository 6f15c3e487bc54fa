package seccomp

import (
	"sort"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// archs are the architectures libseccomp 2.5 supports; KnownSyscalls
// reads the syscall table of each.
var archs = []libseccomp.ScmpArch{
	libseccomp.ArchX86, libseccomp.ArchAMD64, libseccomp.ArchX32, libseccomp.ArchARM,
	libseccomp.ArchARM64, libseccomp.ArchMIPS, libseccomp.ArchMIPS64, libseccomp.ArchMIPS64N32,
	libseccomp.ArchMIPSEL, libseccomp.ArchMIPSEL64, libseccomp.ArchMIPSEL64N32, libseccomp.ArchPPC,
	libseccomp.ArchPPC64, libseccomp.ArchPPC64LE, libseccomp.ArchS390, libseccomp.ArchS390X,
	libseccomp.ArchPARISC, libseccomp.ArchPARISC64, libseccomp.ArchRISCV64,
}

// KnownSyscalls returns, sorted, every system call name libseccomp knows
// on any architecture: the names a policy may write. policy keeps a
// generated copy (policy/zsyscalls.go, go generate ./internal/seccomp) so
// that parsing a policy needs no cgo.
func KnownSyscalls() []string {
	set := map[string]bool{}
	for _, a := range archs {
		// Syscall numbers start at 0 on most tables, at an offset on
		// x32 (the x32 bit), MIPS (4000, 5000, 6000) and ARM's private
		// calls (0x0f0000).
		for _, base := range []int{0, 0x40000000, 4000, 5000, 6000, 0x0f0000} {
			for nr := 0; nr < 1100; nr++ {
				if n, err := libseccomp.ScmpSyscall(base + nr).GetNameByArch(a); err == nil {
					set[n] = true
				}
			}
		}
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
