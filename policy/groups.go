package policy

import (
	"slices"
	"sort"
	"strings"
)

// Syscall groups. They are named after systemd's (systemd-analyze
// syscall-filter, systemd 252) so that an administrator who knows
// SystemCallFilter= reads them without a manual, but their contents are
// hinetd's own: where systemd's group holds a call that the default must
// deny (process_vm_readv in @ipc, unshare/setns in @process, userfaultfd
// and personality in @system-service, @keyring in @system-service), the
// call was moved to a group the default does not include.
//
// Names that do not exist on the native architecture (mmap2, socketcall,
// _llseek …) are kept, as systemd keeps them, and skipped when a filter
// is compiled: a group is a list of names, not of numbers.
//
// Three calls are never allowed as such, whatever groups a policy names:
//   - clone and unshare are allowed only without namespace flags
//     (CLONE_NEWUSER above all: a new user namespace hands the caller a
//     full capability set inside it, the entry point of many kernel
//     exploits);
//   - clone3 passes its flags in memory, where seccomp cannot look, so it
//     fails with ENOSYS and libc falls back to clone (glibc does since
//     2.34);
//   - personality is allowed only to query (0xffffffff) or to set
//     PER_LINUX (0): other personalities change the address-space layout
//     (READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE) or the syscall ABI.

// Group is one named set of syscalls.
type Group struct {
	Name        string   // "@network-io"
	Description string   // one line
	Syscalls    []string // names, and other groups as "@name"
	// Denied groups are the ones the default must never include; they
	// exist so that a policy can name them, and so that the exposure
	// report can say what is not reachable.
	Denied bool
}

// SpawnerGroup is always part of a compiled filter: the spawner installs
// the service's filter on itself once and then forks one child per
// connection, so it keeps running under the filter it installed. Its
// calls are SpawnerCalls, generated from internal/sandbox/spawner.calls.
// A policy may deny some of them; the spawner then installs the filter in
// each child instead (see CompileWith).
const SpawnerGroup = "@spawner"

// SpawnerCall is one system call the spawner makes once a filter may be in
// force, with the arguments (0 to 3) it passes; an argument it does not
// fix reads 0.
type SpawnerCall struct {
	Name string
	Args [4]uint64
	Why  string // where the spawner makes it
}

// SpawnerCalls returns the calls of SpawnerGroup, with their arguments,
// in the order of internal/sandbox/spawner.calls (a name may repeat with
// other arguments).
func SpawnerCalls() []SpawnerCall { return slices.Clone(spawnerCalls) }

// defaultGroups is the allow-list of a policy that names none
// (seccomp-groups).
var defaultGroups = []string{"@system-service"}

var groups = map[string]Group{
	"@default": {Description: "System calls that are always permitted", Syscalls: []string{
		"arch_prctl", "brk", "cacheflush", "clock_getres", "clock_getres_time64",
		"clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64",
		"execve", "exit", "exit_group", "futex", "futex_time64", "futex_waitv",
		"get_robust_list", "get_thread_area", "getegid", "getegid32", "geteuid",
		"geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getpgid",
		"getpgrp", "getpid", "getppid", "getrandom", "getresgid", "getresgid32",
		"getresuid", "getresuid32", "getrlimit", "getsid", "gettid", "gettimeofday",
		"getuid", "getuid32", "membarrier", "mmap", "mmap2", "mprotect", "munmap",
		"nanosleep", "pause", "prlimit64", "restart_syscall", "rseq", "rt_sigreturn",
		"sched_getaffinity", "sched_yield", "set_robust_list", "set_thread_area",
		"set_tid_address", "set_tls", "sigreturn", "time", "ugetrlimit",
	}},
	"@aio": {Description: "Asynchronous IO (classic AIO; io_uring is in @io-uring)", Syscalls: []string{
		"io_cancel", "io_destroy", "io_getevents", "io_pgetevents",
		"io_pgetevents_time64", "io_setup", "io_submit",
	}},
	"@io-uring": {Description: "io_uring (a large kernel attack surface; not in the default)", Syscalls: []string{
		"io_uring_enter", "io_uring_register", "io_uring_setup",
	}},
	"@basic-io": {Description: "Basic IO", Syscalls: []string{
		"_llseek", "close", "close_range", "dup", "dup2", "dup3", "lseek", "pread64",
		"preadv", "preadv2", "pwrite64", "pwritev", "pwritev2", "read", "readv",
		"write", "writev",
	}},
	"@chown": {Description: "Change ownership of files and directories", Syscalls: []string{
		"chown", "chown32", "fchown", "fchown32", "fchownat", "lchown", "lchown32",
	}},
	"@file-system": {Description: "File system operations", Syscalls: []string{
		"access", "chdir", "chmod", "close", "creat", "faccessat", "faccessat2",
		"fallocate", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fcntl", "fcntl64",
		"fgetxattr", "flistxattr", "fremovexattr", "fsetxattr", "fstat", "fstat64",
		"fstatat64", "fstatfs", "fstatfs64", "ftruncate", "ftruncate64", "futimesat",
		"getcwd", "getdents", "getdents64", "getxattr", "inotify_add_watch",
		"inotify_init", "inotify_init1", "inotify_rm_watch", "lgetxattr", "link",
		"linkat", "listxattr", "llistxattr", "lremovexattr", "lsetxattr", "lstat",
		"lstat64", "mkdir", "mkdirat", "mknod", "mknodat", "newfstatat", "oldfstat",
		"oldlstat", "oldstat", "open", "openat", "openat2", "readlink", "readlinkat",
		"removexattr", "rename", "renameat", "renameat2", "rmdir", "setxattr", "stat",
		"stat64", "statfs", "statfs64", "statx", "symlink", "symlinkat", "truncate",
		"truncate64", "unlink", "unlinkat", "utime", "utimensat", "utimensat_time64",
		"utimes",
	}},
	"@io-event": {Description: "Event loop system calls", Syscalls: []string{
		"_newselect", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_ctl_old",
		"epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd",
		"eventfd2", "poll", "ppoll", "ppoll_time64", "pselect6", "pselect6_time64",
		"select",
	}},
	"@ipc": {Description: "SysV IPC, POSIX message queues, pipes (without systemd's process_vm_*/process_madvise)", Syscalls: []string{
		"ipc", "memfd_create", "mq_getsetattr", "mq_notify", "mq_open",
		"mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend",
		"mq_timedsend_time64", "mq_unlink", "msgctl", "msgget", "msgrcv", "msgsnd",
		"pipe", "pipe2", "semctl", "semget", "semop", "semtimedop",
		"semtimedop_time64", "shmat", "shmctl", "shmdt", "shmget",
	}},
	"@memlock": {Description: "Memory locking control (bounded by RLIMIT_MEMLOCK)", Syscalls: []string{
		"mlock", "mlock2", "mlockall", "munlock", "munlockall",
	}},
	"@network-io": {Description: "Network or Unix socket IO", Syscalls: []string{
		"accept", "accept4", "bind", "connect", "getpeername", "getsockname",
		"getsockopt", "listen", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64",
		"recvmsg", "send", "sendmmsg", "sendmsg", "sendto", "setsockopt", "shutdown",
		"socket", "socketcall", "socketpair",
	}},
	"@process": {Description: "Process control and execution (clone/unshare without namespace flags; no setns)", Syscalls: []string{
		"capget", "clone", "clone3", "execveat", "fork", "getrusage", "kill",
		"pidfd_open", "pidfd_send_signal", "prctl", "rt_sigqueueinfo",
		"rt_tgsigqueueinfo", "tgkill", "times", "tkill", "unshare", "vfork", "wait4",
		"waitid", "waitpid",
	}},
	"@resources": {Description: "Alter resource settings (within the limits the kernel enforces)", Syscalls: []string{
		"ioprio_set", "mbind", "migrate_pages", "move_pages", "nice",
		"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
		"set_mempolicy", "set_mempolicy_home_node", "setpriority", "setrlimit",
	}},
	"@setuid": {Description: "Change user/group credentials (ftpd, telnetd/login switch to the authenticated user)", Syscalls: []string{
		"setgid", "setgid32", "setgroups", "setgroups32", "setregid", "setregid32",
		"setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
		"setreuid32", "setuid", "setuid32", "setfsuid", "setfsuid32", "setfsgid",
		"setfsgid32",
	}},
	"@signal": {Description: "Process signal handling", Syscalls: []string{
		"rt_sigaction", "rt_sigpending", "rt_sigprocmask", "rt_sigsuspend",
		"rt_sigtimedwait", "rt_sigtimedwait_time64", "sigaction", "sigaltstack",
		"signal", "signalfd", "signalfd4", "sigpending", "sigprocmask", "sigsuspend",
	}},
	"@sync": {Description: "Synchronize files and memory to storage", Syscalls: []string{
		"fdatasync", "fsync", "msync", "sync", "sync_file_range", "sync_file_range2",
		"syncfs",
	}},
	"@timer": {Description: "Schedule operations by time", Syscalls: []string{
		"alarm", "getitimer", "setitimer", "timer_create", "timer_delete",
		"timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
		"timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
		"timerfd_settime", "timerfd_settime64", "times",
	}},
	"@system-service": {Description: "General system service operations (hinetd's default)", Syscalls: []string{
		"@default", "@aio", "@basic-io", "@chown", "@file-system", "@io-event",
		"@ipc", "@memlock", "@network-io", "@process", "@resources", "@setuid",
		"@signal", "@sync", "@timer",
		"arm_fadvise64_64", "capget", "capset", "copy_file_range", "fadvise64",
		"fadvise64_64", "flock", "get_mempolicy", "getcpu", "getpriority", "ioctl",
		"ioprio_get", "madvise", "mremap", "name_to_handle_at", "oldolduname",
		"olduname", "personality", "readahead", "readdir", "remap_file_pages",
		"sched_get_priority_max", "sched_get_priority_min", "sched_getattr",
		"sched_getparam", "sched_getscheduler", "sched_rr_get_interval",
		"sched_rr_get_interval_time64", "sendfile", "sendfile64", "setpgid", "setsid",
		"splice", "sysinfo", "tee", "umask", "uname", "vmsplice",
	}},

	// Denied by default. A policy may add them, and the exposure report
	// then shows it.
	"@clock": {Denied: true, Description: "Change the system time", Syscalls: []string{
		"adjtimex", "clock_adjtime", "clock_adjtime64", "clock_settime",
		"clock_settime64", "settimeofday", "stime",
	}},
	"@cpu-emulation": {Denied: true, Description: "CPU emulation", Syscalls: []string{
		"modify_ldt", "subpage_prot", "switch_endian", "vm86", "vm86old",
	}},
	"@debug": {Denied: true, Description: "Debugging, tracing, reading other processes' memory", Syscalls: []string{
		"lookup_dcookie", "perf_event_open", "pidfd_getfd", "ptrace", "rtas",
		"s390_runtime_instr", "sys_debug_setcontext", "process_vm_readv",
		"process_vm_writev", "process_madvise", "kcmp",
	}},
	"@keyring": {Denied: true, Description: "Kernel keyring access", Syscalls: []string{
		"add_key", "keyctl", "request_key",
	}},
	"@module": {Denied: true, Description: "Loading and unloading of kernel modules", Syscalls: []string{
		"delete_module", "finit_module", "init_module",
	}},
	"@mount": {Denied: true, Description: "Mounting and unmounting of file systems", Syscalls: []string{
		"chroot", "fsconfig", "fsmount", "fsopen", "fspick", "mount",
		"mount_setattr", "move_mount", "open_tree", "pivot_root", "umount", "umount2",
	}},
	"@namespace": {Denied: true, Description: "Joining namespaces (creating them is refused by argument filters)", Syscalls: []string{
		"setns",
	}},
	"@obsolete": {Denied: true, Description: "Unusual, obsolete or unimplemented system calls", Syscalls: []string{
		"_sysctl", "afs_syscall", "bdflush", "break", "create_module", "ftime",
		"get_kernel_syms", "getpmsg", "gtty", "idle", "lock", "mpx", "prof", "profil",
		"putpmsg", "query_module", "security", "sgetmask", "ssetmask", "stty",
		"sysfs", "tuxcall", "ulimit", "uselib", "ustat", "vserver",
	}},
	"@pkey": {Denied: true, Description: "Memory protection keys", Syscalls: []string{
		"pkey_alloc", "pkey_free", "pkey_mprotect",
	}},
	"@privileged": {Denied: true, Description: "Other calls that need super-user capabilities", Syscalls: []string{
		"acct", "bpf", "fanotify_init", "fanotify_mark", "nfsservctl",
		"open_by_handle_at", "quotactl", "quotactl_fd", "setdomainname",
		"sethostname", "vhangup", "userfaultfd",
	}},
	"@raw-io": {Denied: true, Description: "Raw I/O port access", Syscalls: []string{
		"ioperm", "iopl", "pciconfig_iobase", "pciconfig_read", "pciconfig_write",
		"s390_pci_mmio_read", "s390_pci_mmio_write",
	}},
	"@reboot": {Denied: true, Description: "Reboot and kexec", Syscalls: []string{
		"kexec_file_load", "kexec_load", "reboot",
	}},
	"@swap": {Denied: true, Description: "Enable/disable swap devices", Syscalls: []string{
		"swapoff", "swapon",
	}},
}

func init() {
	names := map[string]bool{}
	for _, c := range spawnerCalls {
		names[c.Name] = true
	}
	groups[SpawnerGroup] = Group{Description: "What the hinetd spawner calls once the filter may be in force (always included)",
		Syscalls: sortedKeys(names)}
	for name, g := range groups {
		g.Name = name
		groups[name] = g
	}
}

// Groups returns every known group, sorted by name. The slices are copies.
func Groups() []Group {
	out := make([]Group, 0, len(groups))
	for _, g := range groups {
		g.Syscalls = slices.Clone(g.Syscalls)
		out = append(out, g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupGroup returns the group called name ("@network-io").
func LookupGroup(name string) (Group, bool) {
	g, ok := groups[name]
	g.Syscalls = slices.Clone(g.Syscalls)
	return g, ok
}

// expand adds the syscall names of item (a syscall name or an "@group")
// to set. It reports false for an unknown group.
func expand(item string, set map[string]bool) bool {
	if !strings.HasPrefix(item, "@") {
		set[item] = true
		return true
	}
	g, ok := groups[item]
	if !ok {
		return false
	}
	for _, s := range g.Syscalls {
		expand(s, set)
	}
	return true
}

// Expand returns the syscall names of items (syscall names and "@groups",
// groups expanded recursively; an unknown group adds nothing).
func Expand(items ...string) map[string]bool {
	set := map[string]bool{}
	for _, it := range items {
		expand(it, set)
	}
	return set
}

// DefaultGroups returns the allow-list of a policy that names no
// seccomp-groups.
func DefaultGroups() []string { return slices.Clone(defaultGroups) }
