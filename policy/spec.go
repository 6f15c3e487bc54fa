package policy

// Adding a confinement key (a policy setting the spawner applies) is a
// change in these places, and only these:
//
//  1. policy/policy.go: a Field[T] in Profile (layering goes by
//     reflection, see overlay).
//  2. policy/parse.go: one row of settings: the key, how its line is read
//     into the Profile, and how the effective value goes into the Spec.
//  3. policy/spec.go: the Spec field, below (its zero value the safe one).
//  4. policy/validate.go: a check, if the value has bounds.
//  5. internal/sandbox/spawner.h: one line of HS_SPEC_FIELDS (kind, struct
//     hs_spec member, Go expression). The wire format, the C struct, its
//     parser and dump, the Go encoder, Spec.WireSize and the round-trip
//     test all follow from it (go generate ./internal/sandbox). And, if
//     applying it is a step of its own, a line of HS_STEPS with the next
//     free number.
//  6. internal/sandbox/spawner.c: the step itself, in hs_confine (once per
//     service, in the spawner) or child_main (per connection, raw system
//     calls only: it runs on the spawner's memory).
//  7. docs/policy.md: the key's row, and docs/man/hinetd.policy.5: its
//     entry under KEYS (TestDocsKeys checks both).
//
// Optional: the key's default in builtin() (policy/compile.go) when it is
// not the zero value; Exposure (what hinetd-check prints; a field of its
// own also needs one in internal/check's JSON Service) and stepDetail in
// internal/sandbox (the argument a failed step's error names).
// TestSpecFieldsOnWire (internal/sandbox) fails when a Spec field is
// neither on the wire nor one of the Go-only fields it lists.

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

	// Isolation is what the service may see and reach of the system
	// (isolation.go); the zero value is everything on.
	Isolation Isolation
}

// Rlimit is one resource limit (RLIMIT_* number from <sys/resource.h>).
type Rlimit struct {
	Resource int
	Cur, Max uint64
}
