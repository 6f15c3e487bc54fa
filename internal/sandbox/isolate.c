//go:build linux

/*
 * isolate.c - the spawner's isolation layers; see isolate.h.
 *
 * The mount namespace is built in place, as systemd's namespace.c does for
 * ProtectSystem= and friends, not by pivot_root into a new tree as
 * bubblewrap does: the service keeps seeing the host's paths (its
 * inetd.conf line names host paths) and only their mount flags change.
 * Every step is fatal: a spawner that cannot build what its policy asks for
 * never takes work (fail closed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "isolate.h"

#define HS_ISO_STEP_NAME(id, name) name,
static const char *const hs_iso_step_names[] = {HS_ISO_STEPS(HS_ISO_STEP_NAME)};
#undef HS_ISO_STEP_NAME

const char *hs_iso_step_name(int step)
{
	if (step < 0 || step >= HS_ISO_STEP_COUNT)
		return "unknown";
	return hs_iso_step_names[step];
}

/* The device nodes of a private /dev, as bubblewrap's --dev makes it
 * (bubblewrap.c, devnodes[]); "console" and "ptmx" are left out. */
static const char *const hs_devnodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
#define HS_NDEV (sizeof hs_devnodes / sizeof hs_devnodes[0])

/* Home directories, as systemd's ProtectHome= names them. */
static const char *const hs_home[] = {"-/home", "-/root", "-/run/user", NULL};
/* ProtectSystem=full: these read-only (and /boot, /efi when present). */
static const char *const hs_system_full[] = {"/usr", "-/boot", "-/efi", "/etc", NULL};

/* An error with the step and path it happened at. */
struct iso_err {
	int step;
	const char *path;
};

static int fail(struct iso_err *e, int step, const char *path, int err)
{
	e->step = step;
	e->path = path;
	return err ? err : EINVAL;
}

/* opt - the path of a list entry, and whether it may be missing. */
static const char *opt(const char *entry, int *optional)
{
	*optional = entry[0] == '-';
	return *optional ? entry + 1 : entry;
}

/* exists - 1 if path exists (not following a final symlink: a symlink is
 * bound as what it names, which is what the kernel does anyway), 0 if not,
 * -errno on another error. */
static int exists(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
}

/* setattr - mount_setattr(2) on path, recursively. */
static int setattr(const char *path, uint64_t set, uint64_t clr)
{
	struct mount_attr a;

	memset(&a, 0, sizeof a);
	a.attr_set = set;
	a.attr_clr = clr;
	return syscall(SYS_mount_setattr, AT_FDCWD, path, AT_RECURSIVE, &a, sizeof a) < 0 ? errno : 0;
}

/* bind_self - make path a mount point of its own (a recursive bind onto
 * itself), so that mount_setattr changes it and nothing around it. */
static int bind_self(struct iso_err *e, int step, const char *entry)
{
	int optional, x;
	const char *p = opt(entry, &optional);

	x = exists(p);
	if (x < 0)
		return fail(e, step, p, -x);
	if (x == 0)
		return optional ? 0 : fail(e, step, p, ENOENT);
	if (mount(p, p, NULL, MS_BIND | MS_REC, NULL) < 0)
		return fail(e, step, p, errno);
	return 0;
}

static int bind_list(struct iso_err *e, int step, char *const *list)
{
	int r;

	for (; list != NULL && *list != NULL; list++)
		if ((r = bind_self(e, step, *list)) != 0)
			return r;
	return 0;
}

/* setattr_list - mount_setattr on every existing path of list (bound onto
 * itself before, by bind_list). */
static int setattr_list(struct iso_err *e, int step, char *const *list, uint64_t set, uint64_t clr)
{
	int optional, r;

	for (; list != NULL && *list != NULL; list++) {
		const char *p = opt(*list, &optional);
		if ((r = exists(p)) <= 0) {
			if (r < 0 || !optional)
				return fail(e, step, p, r < 0 ? -r : ENOENT);
			continue;
		}
		if ((r = setattr(p, set, clr)) != 0)
			return fail(e, step, p, r);
	}
	return 0;
}

/* cover - bind the mode-0000 node of the right kind over one path, and
 * make that mount read-only: the node is root's, and a service running as
 * root could chmod it back otherwise. */
static int cover(struct iso_err *e, const char *entry)
{
	struct stat st;
	int optional;
	const char *p = opt(entry, &optional);
	const char *node;

	if (stat(p, &st) < 0) {
		if ((errno == ENOENT || errno == ENOTDIR) && optional)
			return 0;
		return fail(e, HS_ISO_STEP_INACCESSIBLE, p, errno);
	}
	node = S_ISDIR(st.st_mode) ? "/tmp/d" : "/tmp/f";
	if (mount(node, p, NULL, MS_BIND, NULL) < 0)
		return fail(e, HS_ISO_STEP_INACCESSIBLE, p, errno);
	{
		struct mount_attr a;
		memset(&a, 0, sizeof a);
		a.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;
		if (syscall(SYS_mount_setattr, AT_FDCWD, p, 0, &a, sizeof a) < 0)
			return fail(e, HS_ISO_STEP_INACCESSIBLE, p, errno);
	}
	return 0;
}

/*
 * inaccessible - cover each path with an empty directory or file of mode
 * 0000 on a read-only mount, as systemd's InaccessiblePaths= does with its
 * /run/systemd/inaccessible nodes. The nodes are made on a scratch tmpfs
 * mounted for a moment on /tmp (any directory would do; /tmp is replaced
 * later anyway); the bind mounts keep that tmpfs alive after it is
 * detached from /tmp.
 */
static int inaccessible(struct iso_err *e, char *const *list, int home)
{
	const char *const *h;
	int fd, any = 0, r = 0;
	char *const *l;

	for (l = list; l != NULL && *l != NULL; l++)
		any = 1;
	if (!any && !home)
		return 0;
	if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=16k") < 0)
		return fail(e, HS_ISO_STEP_INACCESSIBLE, "/tmp", errno);
	if (mkdir("/tmp/d", 0) < 0 || chmod("/tmp/d", 0) < 0)
		return fail(e, HS_ISO_STEP_INACCESSIBLE, "/tmp/d", errno);
	fd = open("/tmp/f", O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0);
	if (fd < 0 || fchmod(fd, 0) < 0)
		return fail(e, HS_ISO_STEP_INACCESSIBLE, "/tmp/f", errno);
	close(fd);
	for (l = list; r == 0 && l != NULL && *l != NULL; l++)
		r = cover(e, *l);
	for (h = hs_home; r == 0 && home && *h != NULL; h++)
		r = cover(e, *h);
	if (r != 0)
		return r;
	if (umount2("/tmp", MNT_DETACH) < 0)
		return fail(e, HS_ISO_STEP_INACCESSIBLE, "/tmp", errno);
	return 0;
}

/* private_tmp - a fresh tmpfs on each of /tmp and /var/tmp that is a real
 * directory (a symlink is left alone: it points into one of them or into
 * a read-only tree), and on /dev/shm unless a private /dev brings its own. */
static int private_tmp(struct iso_err *e, int shm)
{
	static const char *const dirs[] = {"/tmp", "/var/tmp", "/dev/shm"};
	unsigned i;

	for (i = 0; i < 3; i++) {
		struct stat st;

		if (i == 2 && !shm)
			break;
		if (lstat(dirs[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			return fail(e, HS_ISO_STEP_PRIVATE_TMP, dirs[i], errno);
		}
		if (!S_ISDIR(st.st_mode))
			continue;
		if (mount("tmpfs", dirs[i], "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
			return fail(e, HS_ISO_STEP_PRIVATE_TMP, dirs[i], errno);
	}
	return 0;
}

/*
 * dev_clone - detached bind mounts of the host's device nodes, taken before
 * anything changes /dev's mount flags (protect-system makes it read-only
 * and nodev), to be attached in the private /dev later.
 */
static int dev_clone(struct iso_err *e, int *fds)
{
	unsigned i;
	char p[32];

	for (i = 0; i < HS_NDEV; i++) {
		strcpy(p, "/dev/");
		strcat(p, hs_devnodes[i]);
		fds[i] = syscall(SYS_open_tree, AT_FDCWD, p, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
		if (fds[i] < 0)
			return fail(e, HS_ISO_STEP_DEV_CLONE, hs_devnodes[i], errno);
	}
	return 0;
}

/*
 * private_devices - a tmpfs on /dev holding only the nodes above (each a
 * bind mount of the host's node, so no CAP_MKNOD is needed and the tmpfs
 * itself can be nodev... except that a bind mount carries its own flags,
 * which are the host /dev's), the usual /proc/self/fd links, a /dev/shm,
 * and a devpts instance of its own when terminals are asked for; then the
 * tmpfs read-only. PrivateDevices= in systemd, --dev in bubblewrap.
 */
static int private_devices(struct iso_err *e, const int *fds, int pts)
{
	static const char *const links[][2] = {
		{"/proc/self/fd", "/dev/fd"},
		{"/proc/self/fd/0", "/dev/stdin"},
		{"/proc/self/fd/1", "/dev/stdout"},
		{"/proc/self/fd/2", "/dev/stderr"},
	};
	struct mount_attr a;
	unsigned i;
	char p[32];
	int fd;

	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC | MS_NODEV, "mode=0755,size=64k") < 0)
		return fail(e, HS_ISO_STEP_PRIVATE_DEVICES, "/dev", errno);
	for (i = 0; i < HS_NDEV; i++) {
		strcpy(p, "/dev/");
		strcat(p, hs_devnodes[i]);
		fd = open(p, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0);
		if (fd < 0)
			return fail(e, HS_ISO_STEP_PRIVATE_DEVICES, hs_devnodes[i], errno);
		close(fd);
		if (move_mount(fds[i], "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
			return fail(e, HS_ISO_STEP_PRIVATE_DEVICES, hs_devnodes[i], errno);
	}
	for (i = 0; i < sizeof links / sizeof links[0]; i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			return fail(e, HS_ISO_STEP_PRIVATE_DEVICES, links[i][1], errno);
	if (mkdir("/dev/shm", 01777) < 0 || chmod("/dev/shm", 01777) < 0)
		return fail(e, HS_ISO_STEP_PRIVATE_DEVICES, "/dev/shm", errno);
	if (mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		return fail(e, HS_ISO_STEP_PRIVATE_DEVICES, "/dev/shm", errno);
	if (pts) {
		if (mkdir("/dev/pts", 0755) < 0)
			return fail(e, HS_ISO_STEP_PRIVATE_DEVICES, "/dev/pts", errno);
		/* A new instance: the host's terminals are not in it. */
		if (mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
			  "newinstance,ptmxmode=0666,mode=0620") < 0)
			return fail(e, HS_ISO_STEP_PRIVATE_DEVICES, "/dev/pts", errno);
		if (symlink("pts/ptmx", "/dev/ptmx") < 0)
			return fail(e, HS_ISO_STEP_PRIVATE_DEVICES, "/dev/ptmx", errno);
	}
	/* The tmpfs itself read-only (not recursive: shm and pts stay
	 * writable, the nodes keep the host /dev's flags). */
	memset(&a, 0, sizeof a);
	a.attr_set = MOUNT_ATTR_RDONLY;
	if (syscall(SYS_mount_setattr, AT_FDCWD, "/dev", 0, &a, sizeof a) < 0)
		return fail(e, HS_ISO_STEP_PRIVATE_DEVICES, "/dev", errno);
	return 0;
}

/*
 * private_network - a network namespace of our own, with its loopback up
 * (the kernel creates it down). The connection the service is handed was
 * accepted in the host's namespace and keeps working: a socket belongs to
 * the namespace it was created in, not to its holder's.
 */
static int private_network(struct iso_err *e)
{
	struct ifreq ifr;
	int s;

	if (unshare(CLONE_NEWNET) < 0)
		return fail(e, HS_ISO_STEP_NETWORK, NULL, errno);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return fail(e, HS_ISO_STEP_NETWORK, "lo", errno);
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		int err = errno;
		close(s);
		return fail(e, HS_ISO_STEP_NETWORK, "lo", err);
	}
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		int err = errno;
		close(s);
		return fail(e, HS_ISO_STEP_NETWORK, "lo", err);
	}
	close(s);
	return 0;
}

/*
 * hs_isolate - the checklist. Why this order:
 *  - the namespace first, and private propagation, so that nothing below
 *    leaks to the host (mount_namespaces(7));
 *  - device nodes cloned while /dev still has the host's flags;
 *  - every path that gets flags of its own bound onto itself before the
 *    recursive flag change, so that it is a mount the later, narrower
 *    mount_setattr can target without touching its parent;
 *  - read-only (recursive) before read-write: the narrower rule last wins;
 *  - the private mounts (tmp, /dev, /proc) last, each made with its own
 *    flags on top of the now read-only tree.
 */
int hs_isolate(const struct hs_iso *iso, int *step, const char **path)
{
	struct iso_err e = {0, NULL};
	int devfd[HS_NDEV];
	int r = 0, ps = iso->protect_system, devs = iso->flags & HS_ISO_PRIVATE_DEVICES;
	unsigned i;

	for (i = 0; i < HS_NDEV; i++)
		devfd[i] = -1;
	*step = 0;
	*path = NULL;
	if (iso->flags & HS_ISO_MOUNTS) {
		if (unshare(CLONE_NEWNS) < 0) {
			r = fail(&e, HS_ISO_STEP_UNSHARE_NS, NULL, errno);
			goto out;
		}
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
			r = fail(&e, HS_ISO_STEP_PRIVATE_ROOT, "/", errno);
			goto out;
		}
		if (devs && (r = dev_clone(&e, devfd)) != 0)
			goto out;
		/* Mount points of their own for what gets flags of its own. */
		if ((r = bind_list(&e, HS_ISO_STEP_BIND, iso->rw)) != 0 ||
		    (r = bind_list(&e, HS_ISO_STEP_BIND, iso->ro)) != 0)
			goto out;
		if (ps == HS_PROTECT_SYSTEM_FULL &&
		    (r = bind_list(&e, HS_ISO_STEP_BIND, (char *const *)hs_system_full)) != 0)
			goto out;
		if (iso->protect_home == HS_PROTECT_HOME_READ_ONLY &&
		    (r = bind_list(&e, HS_ISO_STEP_BIND, (char *const *)hs_home)) != 0)
			goto out;
		if (!devs && (r = bind_self(&e, HS_ISO_STEP_BIND, "/dev")) != 0)
			goto out;
		if ((r = inaccessible(&e, iso->inaccessible, iso->protect_home == HS_PROTECT_HOME_ON)) != 0)
			goto out;
		/* nosuid everywhere (no_new_privs already makes setuid bits
		 * inert; this holds with allow-new-privs too), nodev everywhere
		 * but a host /dev the service keeps. */
		if (ps == HS_PROTECT_SYSTEM_STRICT &&
		    (r = setattr("/", MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0)) != 0) {
			r = fail(&e, HS_ISO_STEP_PROTECT_SYSTEM, "/", r);
			goto out;
		}
		if (ps != HS_PROTECT_SYSTEM_STRICT &&
		    (r = setattr("/", MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0)) != 0) {
			r = fail(&e, HS_ISO_STEP_PROTECT_SYSTEM, "/", r);
			goto out;
		}
		if (ps == HS_PROTECT_SYSTEM_FULL &&
		    (r = setattr_list(&e, HS_ISO_STEP_PROTECT_SYSTEM, (char *const *)hs_system_full,
				      MOUNT_ATTR_RDONLY, 0)) != 0)
			goto out;
		if (!devs && (r = setattr("/dev", 0, MOUNT_ATTR_NODEV)) != 0) {
			r = fail(&e, HS_ISO_STEP_PROTECT_SYSTEM, "/dev", r);
			goto out;
		}
		if ((r = setattr_list(&e, HS_ISO_STEP_READ_ONLY, iso->ro, MOUNT_ATTR_RDONLY, 0)) != 0)
			goto out;
		if ((r = setattr_list(&e, HS_ISO_STEP_READ_WRITE, iso->rw,
				      MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, MOUNT_ATTR_RDONLY)) != 0)
			goto out;
		if (iso->protect_home == HS_PROTECT_HOME_READ_ONLY &&
		    (r = setattr_list(&e, HS_ISO_STEP_PROTECT_HOME, (char *const *)hs_home,
				      MOUNT_ATTR_RDONLY, 0)) != 0)
			goto out;
		if ((iso->flags & HS_ISO_PRIVATE_TMP) && (r = private_tmp(&e, !devs)) != 0)
			goto out;
		if (devs && (r = private_devices(&e, devfd, iso->flags & HS_ISO_DEVPTS)) != 0)
			goto out;
		/* A procfs of our own: it shows the pid namespace the spawner
		 * is init of, and of that only what ptrace_may_access allows
		 * (hidepid=invisible), which the landlock scope narrows to the
		 * child's own domain; subset=pid leaves out /proc/sys,
		 * /proc/sysrq-trigger, /proc/kcore and the rest (proc(5)). */
		if ((iso->flags & HS_ISO_PROC) &&
		    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "hidepid=ptraceable,subset=pid") < 0) {
			r = fail(&e, HS_ISO_STEP_PROC, "/proc", errno);
			goto out;
		}
	}
	if ((iso->flags & HS_ISO_PRIVATE_NETWORK) && (r = private_network(&e)) != 0)
		goto out;
out:
	for (i = 0; i < HS_NDEV; i++)
		if (devfd[i] >= 0)
			close(devfd[i]);
	if (r != 0) {
		*step = e.step;
		*path = e.path;
	}
	return r;
}

/* ---- landlock ---------------------------------------------------------- */

/* The ABI 6 layout of struct landlock_ruleset_attr (older headers lack
 * "scoped"); the kernel takes the size we pass. */
struct hs_ll_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;
	uint64_t scoped;
};
#define HS_LL_CREATE_RULESET_VERSION 1u
#define HS_LL_SCOPE_ABSTRACT_UNIX_SOCKET 1ull
#define HS_LL_SCOPE_SIGNAL 2ull

int hs_landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0, HS_LL_CREATE_RULESET_VERSION);
	return v < 0 ? -errno : (int)v;
}

/*
 * hs_scope_ruleset - no access rights handled (the mount namespace does
 * the file system), only the scopes. Entering any landlock domain also
 * scopes ptrace: a process may then ptrace, or open /proc/PID/mem of, only
 * processes in its own domain or one nested in it (ptrace_may_access, and
 * with it procfs's hidepid check, go through landlock's
 * ptrace_access_check hook). Each child enters a domain of its own, so
 * that is itself and what it starts.
 */
int hs_scope_ruleset(void)
{
	struct hs_ll_attr a;
	int abi = hs_landlock_abi();
	long fd;

	if (abi < 0)
		return abi == -ENOSYS || abi == -EOPNOTSUPP ? -EOPNOTSUPP : abi;
	if (abi < 6)
		return -EOPNOTSUPP;
	memset(&a, 0, sizeof a);
	a.scoped = HS_LL_SCOPE_SIGNAL | HS_LL_SCOPE_ABSTRACT_UNIX_SOCKET;
	fd = syscall(SYS_landlock_create_ruleset, &a, sizeof a, 0);
	return fd < 0 ? -errno : (int)fd;
}
