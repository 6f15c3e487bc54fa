//go:build linux

/*
 * isolate.h - the spawner's isolation layers (issue 11): a private mount
 * namespace with the tree read-only, private /tmp, /var/tmp, /dev/shm, a
 * minimal /dev, hidden home directories, a pid-only /proc; a private network
 * namespace; and the landlock scope each child enters before execve.
 *
 * Self-contained: everything comes in a plain struct hs_iso, so the
 * functions can be driven from the spawner and from a standalone test
 * program alike.
 */
#ifndef HINETD_ISOLATE_H
#define HINETD_ISOLATE_H

#include <stdint.h>

/* protect-system, as systemd's ProtectSystem= (strict: the whole tree
 * read-only but for /dev, /proc, /sys's own mounts and the private ones;
 * full: /usr, /boot, /efi, /etc read-only). */
#define HS_PROTECT_SYSTEM_OFF 0u
#define HS_PROTECT_SYSTEM_FULL 1u
#define HS_PROTECT_SYSTEM_STRICT 2u

/* protect-home, as systemd's ProtectHome= (on: /home, /root, /run/user
 * inaccessible; read-only: read-only). */
#define HS_PROTECT_HOME_OFF 0u
#define HS_PROTECT_HOME_READ_ONLY 1u
#define HS_PROTECT_HOME_ON 2u

/* hs_iso flags. */
#define HS_ISO_PRIVATE_TMP 1u      /* fresh tmpfs on /tmp and /var/tmp */
#define HS_ISO_PRIVATE_DEVICES 2u  /* a minimal /dev of our own */
#define HS_ISO_DEVPTS 4u           /* a devpts instance in that /dev */
#define HS_ISO_PROC 8u             /* procfs with hidepid=invisible,subset=pid */
#define HS_ISO_PRIVATE_NETWORK 16u /* a network namespace, loopback only */
#define HS_ISO_SCOPE 32u           /* a landlock domain per child (signal, ptrace scope) */
#define HS_ISO_MOUNTS 64u          /* a mount namespace at all */

/*
 * struct hs_iso - what a service's isolation asks for. Path lists are
 * NULL-terminated; an entry that starts with '-' is optional (skipped when
 * the path does not exist), as in systemd. The zero value asks for nothing.
 */
struct hs_iso {
	uint32_t flags;
	uint32_t protect_system;
	uint32_t protect_home;
	char **rw, **ro, **inaccessible;
};

/* The steps of hs_isolate, in order; the step that failed is reported by
 * name, with the path it was working on. */
#define HS_ISO_STEPS(X)                                 \
	X(HS_ISO_STEP_NONE, "none")                     \
	X(HS_ISO_STEP_UNSHARE_NS, "unshare_mount_ns")   \
	X(HS_ISO_STEP_PRIVATE_ROOT, "mount_private")    \
	X(HS_ISO_STEP_DEV_CLONE, "dev_clone")           \
	X(HS_ISO_STEP_BIND, "bind_paths")               \
	X(HS_ISO_STEP_INACCESSIBLE, "inaccessible")     \
	X(HS_ISO_STEP_PROTECT_SYSTEM, "protect_system") \
	X(HS_ISO_STEP_READ_ONLY, "read_only")           \
	X(HS_ISO_STEP_READ_WRITE, "read_write")         \
	X(HS_ISO_STEP_PROTECT_HOME, "protect_home")     \
	X(HS_ISO_STEP_PRIVATE_TMP, "private_tmp")       \
	X(HS_ISO_STEP_PRIVATE_DEVICES, "private_devices") \
	X(HS_ISO_STEP_PROC, "mount_proc")               \
	X(HS_ISO_STEP_NETWORK, "private_network")       \
	X(HS_ISO_STEP_LANDLOCK, "landlock")

#define HS_ISO_STEP_ENUM(id, name) id,
enum { HS_ISO_STEPS(HS_ISO_STEP_ENUM) HS_ISO_STEP_COUNT };
#undef HS_ISO_STEP_ENUM

const char *hs_iso_step_name(int step);

/*
 * hs_isolate - apply iso to the calling process, which must hold
 * CAP_SYS_ADMIN (and CAP_NET_ADMIN for a private network) and be the only
 * thread. Returns 0, or an errno with *step and *path naming where it
 * failed (path may be NULL).
 */
int hs_isolate(const struct hs_iso *iso, int *step, const char **path);

/*
 * hs_scope_ruleset - the landlock ruleset every child restricts itself
 * with: no file system or network rights handled, only the scopes
 * (signals, abstract unix sockets). Returns the fd (close-on-exec), or
 * -errno; -EOPNOTSUPP when the kernel's landlock ABI is below 6.
 */
int hs_scope_ruleset(void);

/* hs_landlock_abi - the kernel's landlock ABI version, or -errno. */
int hs_landlock_abi(void);

#endif
