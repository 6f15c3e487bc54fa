package sandbox

import (
	"sort"

	"github.com/moby/sys/capability"

	"github.com/hinetd/hinetd/policy"
)

// SpawnerCaps are the capabilities a spawner needs to confine itself, and
// so the ones the daemon must keep in its bounding set: a spawner is exec'd
// by the daemon as uid 0, and execve gives a root process exactly its
// bounding set (capabilities(7), "Capabilities and execution of programs
// by root"); nothing else gives it anything. capdrop.Check(SpawnerCaps...)
// at start-up says clearly when they are missing.
//
//   - CAP_SETUID, CAP_SETGID: setgroups, setresgid, setresuid.
//   - CAP_SETPCAP: dropping the bounding set and setting SECBIT_NOROOT.
//   - CAP_SYS_CHROOT: chroot.
//   - CAP_SYS_ADMIN: the isolation (issue 11): the pid namespace the
//     daemon clones the spawner into, and the spawner's mount namespace,
//     mounts and mount_setattr. The spawner drops it with the rest.
var SpawnerCaps = []capability.Cap{
	capability.CAP_SETUID,
	capability.CAP_SETGID,
	capability.CAP_SETPCAP,
	capability.CAP_SYS_CHROOT,
	capability.CAP_SYS_ADMIN,
}

// SpawnerOptionalCaps are kept when the daemon has them, for policies that
// need them; without them only those policies fail (step "setrlimit" or
// "setpriority"):
//
//   - CAP_SYS_RESOURCE: an rlimit above the daemon's own hard limit.
//   - CAP_SYS_NICE: a nice value below the daemon's.
var SpawnerOptionalCaps = []capability.Cap{
	capability.CAP_SYS_RESOURCE,
	capability.CAP_SYS_NICE,
}

// ParentCaps is the set the daemon keeps: SpawnerCaps, SpawnerOptionalCaps,
// CAP_NET_BIND_SERVICE (to bind ports below 1024 again on reload),
// CAP_SYSLOG (to read the kernel's seccomp audit records on /dev/kmsg when
// kernel.dmesg_restrict is 1, so that a SIGSYS death names its system
// call), CAP_KILL (to stop a wait server, which runs as its service's user,
// on a reload that changes its service and at exit), and every capability
// kept by one of specs. A policy that keeps another
// capability after the drop fails its spawner's "privilege" step. Asking
// to keep a capability the daemon does not have is harmless.
func ParentCaps(specs ...*policy.Spec) []capability.Cap {
	set := map[capability.Cap]bool{capability.CAP_NET_BIND_SERVICE: true, capability.CAP_SYSLOG: true, capability.CAP_KILL: true}
	for _, c := range SpawnerCaps {
		set[c] = true
	}
	for _, c := range SpawnerOptionalCaps {
		set[c] = true
	}
	for _, s := range specs {
		if s == nil {
			continue
		}
		for _, c := range s.KeepCaps {
			set[capability.Cap(c)] = true
		}
		if s.Isolation.PrivateNetwork {
			// Bringing the loopback of its network namespace up.
			set[capability.CAP_NET_ADMIN] = true
		}
	}
	out := make([]capability.Cap, 0, len(set))
	for c := range set {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
