//go:build linux

/*
 * spawner.h - the wire format between the Go parent and the C spawner.
 *
 * Both sides include this header (Go through cgo), so a struct can never
 * mean one thing in C and another in Go. Every message is one
 * SOCK_SEQPACKET record in native byte order.
 *
 * Parent -> spawner:
 *   1. the Spec, encoded as described at hs_parse_spec in spawner.c;
 *   2. any number of struct hs_req {HS_REQ_SPAWN, connID} each carrying
 *      exactly one fd in SCM_RIGHTS;
 *   3. end of file (shutdown(SHUT_WR)): take no more work, exit after the
 *      last child has been reaped.
 * Spawner -> parent: struct hs_msg, kind HS_MSG_*.
 */
#ifndef HINETD_SPAWNER_H
#define HINETD_SPAWNER_H

#include <stddef.h>
#include <stdint.h>

/* The environment variable that turns a re-executed hinetd (or test)
 * binary into a spawner; its value is the control socket's fd number. */
#define HS_ENV "_HINETD_SPAWNER"

#define HS_SPEC_MAGIC 0x31505348u /* "HSP1" */

/*
 * Limits of a Spec, shared by the parser here and policy.Validate: policy
 * (no cgo) gets them from this file through go generate (as policy.Max*,
 * in policy/zspawner.go), and a test fails when the two differ. Plain
 * decimal numbers, one per line, so that the generator reads them.
 */
#define HS_SPEC_MAX 1048576  /* bytes of one encoded Spec (1 MiB) */
#define HS_MAX_GROUPS 4096   /* supplementary groups (the read-back's buffer) */
#define HS_MAX_RLIMITS 16    /* rlimits: one per resource, RLIM_NLIMITS */
#define HS_MAX_FILTER 4096   /* BPF instructions: the kernel's BPF_MAXINSNS */
#define HS_MAX_STRINGS 65536 /* entries of argv, and of the environment */

/*
 * HS_SPEC_FIELDS - the Spec on the wire, after the u32 magic, in order: one
 * line per field, X(kind, member, go), and nothing else to edit for a new
 * field's transport. kind is how it is encoded and read:
 *   U32, I32, U64   the integer, native-endian;
 *   GIDS            u32 count (at most HS_MAX_GROUPS), u32 ids;
 *   RLIMS           u32 count (at most HS_MAX_RLIMITS), {u32 resource,
 *                   u32 pad, u64 cur, u64 max} each;
 *   STR             u32 length counting a final NUL, the bytes, the NUL;
 *   STRV            u32 count (at most HS_MAX_STRINGS), STR each;
 *   PROG            u32 byte count (whole struct sock_filter, at most
 *                   HS_MAX_FILTER of them), the program.
 * member is the struct hs_spec member it is read into (lists also get
 * n<member>, the count); go is the Go expression the encoder writes, spec
 * being the *policy.Spec. spawner.c expands this list into struct hs_spec,
 * its parser and its dump; go generate (gencalls) writes the Go side
 * (zwire.go: the encoder's fields, and what the round-trip test compares).
 */
#define HS_SPEC_FIELDS(X)                               \
	X(U32, flags, "specFlags(spec)")                \
	X(U32, uid, "uint32(spec.UID)")                 \
	X(U32, gid, "uint32(spec.GID)")                 \
	X(GIDS, groups, "spec.Groups")                  \
	X(U64, keep, "capMask(spec.KeepCaps)")          \
	X(U32, umask, "uint32(spec.Umask)")             \
	X(I32, nice, "spec.Nice")                       \
	X(RLIMS, rlim, "spec.Rlimits")                  \
	X(STR, chroot, "spec.Chroot")                   \
	X(STR, dir, "spec.Dir")                         \
	X(STR, path, "spec.Path")                       \
	X(STRV, argv, "spec.Argv")                      \
	X(STRV, envp, "spec.Env")                       \
	X(PROG, prog, "spec.Seccomp")                   \
	X(U32, iso_flags, "isoFlagsOf(spec.Isolation)") \
	X(U32, protect_system, "protectSystemOf(spec.Isolation)") \
	X(U32, protect_home, "protectHomeOf(spec.Isolation)") \
	X(STRV, rw, "spec.Isolation.ReadWrite")         \
	X(STRV, ro, "spec.Isolation.ReadOnly")          \
	X(STRV, inaccessible, "spec.Isolation.Inaccessible")

/* Bits of the flags field. */
#define HS_FLAG_SWITCH_IDS 1u
#define HS_FLAG_ALLOW_NEW_PRIVS 2u

#define HS_REQ_SPAWN 16u

struct hs_req {
	uint32_t kind;
	uint32_t pad;
	uint64_t conn;
};

enum {
	HS_MSG_READY = 1,       /* confinement done; pid = spawner pid, step = 1 if the filter is installed per child */
	HS_MSG_INIT_FAILED = 2, /* step, err, status = the hs_isolate step (isolate.h) for HS_STEP_ISOLATE; the spawner exits 64+step */
	HS_MSG_STARTED = 3,     /* conn, pid (as the host sees it): sent by the child itself */
	HS_MSG_FAILED = 4,      /* conn, step, err (the child, if any, is reaped) */
	HS_MSG_EXITED = 5,      /* conn, pid, status (wait status), dur_ns */
};

struct hs_msg {
	uint32_t kind;
	int32_t step;
	int32_t err;
	int32_t pid;
	uint64_t conn;
	int32_t status;
	int32_t pad;
	int64_t dur_ns;
};

/*
 * Steps. A failed step is reported by number (struct hs_msg.step) and the
 * process that failed exits with status HS_EXIT_BASE + number; logs and
 * audit records keep those numbers, so a step's number never changes and
 * is never reused: a new step takes the next free number, wherever it runs
 * (the order of the steps is the code's, not this list's). The numbers
 * must stay below HS_STEP_LIMIT (64 + 63 = 127, under the 128 + signal
 * range of shell exit codes). A retired step keeps its line, so that old
 * records still read. Duplicate numbers fail to compile (hs_step_check in
 * spawner.c); TestStepNumbersStable pins every number to its name.
 */
#define HS_STEPS(X) \
	X(HS_STEP_NONE, 0, "none")                      \
	X(HS_STEP_SOCKET, 1, "control_socket")          \
	X(HS_STEP_FDS, 2, "fds")                        \
	X(HS_STEP_SPEC, 3, "spec")                      \
	X(HS_STEP_DUMPABLE, 4, "dumpable")              \
	X(HS_STEP_SIGNALS, 5, "signals")                \
	X(HS_STEP_RLIMIT, 6, "setrlimit")               \
	X(HS_STEP_NICE, 7, "setpriority")               \
	X(HS_STEP_CHROOT, 8, "chroot")                  \
	X(HS_STEP_CHDIR, 9, "chdir")                    \
	X(HS_STEP_CAPGET, 10, "capget")                 \
	X(HS_STEP_PRIVILEGE, 11, "privilege")           \
	X(HS_STEP_CAPBSET, 12, "capbset_drop")          \
	X(HS_STEP_SECUREBITS, 13, "securebits")         \
	X(HS_STEP_KEEPCAPS, 14, "keepcaps")             \
	X(HS_STEP_SETGROUPS, 15, "setgroups")           \
	X(HS_STEP_SETRESGID, 16, "setresgid")           \
	X(HS_STEP_SETRESUID, 17, "setresuid")           \
	X(HS_STEP_CAPSET, 18, "capset")                 \
	X(HS_STEP_AMBIENT, 19, "ambient")               \
	X(HS_STEP_NNP, 20, "no_new_privs")              \
	X(HS_STEP_CHECK_UID, 21, "check_uid")           \
	X(HS_STEP_CHECK_GID, 22, "check_gid")           \
	X(HS_STEP_CHECK_GROUPS, 23, "check_groups")     \
	X(HS_STEP_CHECK_CAPS, 24, "check_caps")         \
	X(HS_STEP_CHECK_BOUNDING, 25, "check_bounding") \
	X(HS_STEP_CHECK_AMBIENT, 26, "check_ambient")   \
	X(HS_STEP_CHECK_SECUREBITS, 27, "check_securebits") \
	X(HS_STEP_CHECK_NNP, 28, "check_no_new_privs")  \
	X(HS_STEP_CHECK_DUMPABLE, 29, "check_dumpable") \
	X(HS_STEP_LOOP, 30, "event_loop")               \
	X(HS_STEP_SECCOMP, 31, "seccomp")               \
	X(HS_STEP_RECV, 32, "recvmsg")                  \
	X(HS_STEP_CLONE, 33, "clone")                   \
	X(HS_STEP_DUP, 34, "dup3")                      \
	X(HS_STEP_CLOSE_RANGE, 35, "close_range")       \
	X(HS_STEP_SIGMASK, 36, "sigprocmask")           \
	X(HS_STEP_SETSID, 37, "setsid")                 \
	X(HS_STEP_CHECK_IDS, 38, "check_ids")           \
	/* retired: every rlimit is set in the child (child_rlimit) */ \
	X(HS_STEP_RLIMIT_CPU, 39, "setrlimit_cpu")      \
	X(HS_STEP_SECCOMP_CHILD, 40, "seccomp_child")   \
	X(HS_STEP_EXECVE, 41, "execve")                 \
	X(HS_STEP_CHILD_RLIMIT, 42, "child_rlimit")     \
	X(HS_STEP_ISOLATE, 43, "isolate")               \
	X(HS_STEP_LANDLOCK_RULESET, 44, "landlock_ruleset") \
	X(HS_STEP_HOST_PROC, 45, "host_proc")           \
	X(HS_STEP_LANDLOCK, 46, "landlock_restrict_self") \
	X(HS_STEP_PID_NS, 47, "pid_namespace")

#define HS_STEP_ENUM(id, n, name) id = n,
enum { HS_STEPS(HS_STEP_ENUM) };
#undef HS_STEP_ENUM
#define HS_STEP_LIMIT 64

#define HS_EXIT_BASE 64

const char *hs_step_name(int step);
int hs_spec_check(const void *blob, size_t len);
long hs_spec_dump(const void *blob, size_t len, char *out, size_t cap);
int hs_needed_count(void);
long hs_needed_nr(int i, uint64_t args[4]);

#endif
