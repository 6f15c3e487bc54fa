package policy

// Spec is everything the spawn stage needs to start one service, flattened
// to plain values: no names left to look up, no files left to read, the
// seccomp program already compiled. It is built once per service when the
// configuration is loaded and never changed afterwards.
//
// The zero value of every field is the safe value: no capabilities, no
// extra groups, no seccomp exception, no_new_privs on.
type Spec struct {
	Service string // service name, for logs
	Policy  string // name of the policy that produced it ("default", "ftp" …)
	Hash    string // hash of the spec, for the audit log

	Path string   // program to execve (inside Chroot when set)
	Argv []string // argv, argv[0] included
	Env  []string // the whole environment, "K=V"

	User   string // user name, for logs and the exposure report ("" if none)
	UID    int
	GID    int
	Groups []int // supplementary groups, as initgroups would give them
	// SwitchIDs is false only when hinetd runs without root and the service
	// runs as the invoking user: then setgroups/setresgid/setresuid are skipped.
	SwitchIDs bool

	KeepCaps []int // capabilities kept (bounding, permitted, effective, inheritable, ambient)

	Rlimits []Rlimit
	Umask   int // e.g. 0o027
	Nice    int
	Chroot  string // "" = none
	Dir     string // working directory, after chroot

	// Seccomp is the compiled BPF program (struct sock_filter, 8 bytes per
	// instruction, native byte order). Empty means no filter: only a policy
	// that says so explicitly can produce that.
	Seccomp []byte
	// NoSeccomp is the opt-out of the filter, set only by "seccomp off".
	// A Spec with an empty Seccomp and NoSeccomp false is invalid: the
	// spawner must refuse it rather than run the service unfiltered.
	NoSeccomp bool
	// What the filter was built from, for logs and hinetd-check: the base
	// groups, the syscalls and groups added and removed, and the action on
	// a violation ("kill", "log", "errno EPERM"). The @spawner group is
	// always included and is not listed.
	SeccompGroups []string
	SeccompAllow  []string
	SeccompDeny   []string
	SeccompAction string
	// AllowNewPrivs opts out of PR_SET_NO_NEW_PRIVS. Only for a policy that
	// says so; the default keeps it off.
	AllowNewPrivs bool
}

// Rlimit is one resource limit (RLIMIT_* number from <sys/resource.h>).
type Rlimit struct {
	Resource int
	Cur, Max uint64
}
