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
#define HS_SPEC_MAX (1u << 20)

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
	HS_MSG_INIT_FAILED = 2, /* step, err; the spawner exits 64+step */
	HS_MSG_STARTED = 3,     /* conn, pid */
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

/* Steps, in the order they run. A failed step is reported by number; the
 * process that failed exits with status HS_EXIT_BASE + step. */
#define HS_STEPS(X)                                      \
	X(HS_STEP_NONE, "none")                          \
	X(HS_STEP_SOCKET, "control_socket")              \
	X(HS_STEP_FDS, "fds")                            \
	X(HS_STEP_SPEC, "spec")                          \
	X(HS_STEP_DUMPABLE, "dumpable")                  \
	X(HS_STEP_SIGNALS, "signals")                    \
	X(HS_STEP_RLIMIT, "setrlimit")                   \
	X(HS_STEP_NICE, "setpriority")                   \
	X(HS_STEP_CHROOT, "chroot")                      \
	X(HS_STEP_CHDIR, "chdir")                        \
	X(HS_STEP_CAPGET, "capget")                      \
	X(HS_STEP_PRIVILEGE, "privilege")                \
	X(HS_STEP_CAPBSET, "capbset_drop")               \
	X(HS_STEP_SECUREBITS, "securebits")              \
	X(HS_STEP_KEEPCAPS, "keepcaps")                  \
	X(HS_STEP_SETGROUPS, "setgroups")                \
	X(HS_STEP_SETRESGID, "setresgid")                \
	X(HS_STEP_SETRESUID, "setresuid")                \
	X(HS_STEP_CAPSET, "capset")                      \
	X(HS_STEP_AMBIENT, "ambient")                    \
	X(HS_STEP_NNP, "no_new_privs")                   \
	X(HS_STEP_CHECK_UID, "check_uid")                \
	X(HS_STEP_CHECK_GID, "check_gid")                \
	X(HS_STEP_CHECK_GROUPS, "check_groups")          \
	X(HS_STEP_CHECK_CAPS, "check_caps")              \
	X(HS_STEP_CHECK_BOUNDING, "check_bounding")      \
	X(HS_STEP_CHECK_AMBIENT, "check_ambient")        \
	X(HS_STEP_CHECK_SECUREBITS, "check_securebits")  \
	X(HS_STEP_CHECK_NNP, "check_no_new_privs")       \
	X(HS_STEP_CHECK_DUMPABLE, "check_dumpable")      \
	X(HS_STEP_LOOP, "event_loop")                    \
	X(HS_STEP_SECCOMP, "seccomp")                    \
	X(HS_STEP_RECV, "recvmsg")                       \
	X(HS_STEP_CLONE, "clone")                        \
	X(HS_STEP_DUP, "dup3")                           \
	X(HS_STEP_CLOSE_RANGE, "close_range")            \
	X(HS_STEP_SIGMASK, "sigprocmask")                \
	X(HS_STEP_SETSID, "setsid")                      \
	X(HS_STEP_CHECK_IDS, "check_ids")                \
	X(HS_STEP_RLIMIT_CPU, "setrlimit_cpu")           \
	X(HS_STEP_SECCOMP_CHILD, "seccomp_child")        \
	X(HS_STEP_EXECVE, "execve")

#define HS_STEP_ENUM(id, name) id,
enum { HS_STEPS(HS_STEP_ENUM) HS_STEP_COUNT };
#undef HS_STEP_ENUM

#define HS_EXIT_BASE 64

const char *hs_step_name(int step);
int hs_spec_check(const void *blob, size_t len);

#endif
