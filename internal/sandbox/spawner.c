//go:build linux

/*
 * spawner.c - the per-service spawner: a single-threaded C process that
 * confines itself once, then forks a child per connection and execs the
 * service.
 *
 * It lives inside the hinetd binary and is entered from a constructor, before
 * the Go runtime starts, when the binary is re-executed with HS_ENV set (the
 * way runc's nsexec is entered). Why a spawner and not a helper per
 * connection: every step that every child of a service shares (ids,
 * capabilities, no_new_privs, rlimits, chroot, and above all the seccomp
 * filter, which costs 50-210 us to load) is paid once per service, and each
 * child inherits it for the price of a fork. See issue 4 for the figures.
 *
 * It never writes to stdout or stderr: those are /dev/null here and the
 * client's socket in the child. Everything it has to say goes to the
 * control socket as a struct hs_msg.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>

#include "spawner.h"
#include "isolate.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_IS_SET 1
#define PR_CAP_AMBIENT_RAISE 2
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

#if defined(__x86_64__)
#define HS_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define HS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define HS_AUDIT_ARCH AUDIT_ARCH_I386
#else
#error "unsupported architecture: add its AUDIT_ARCH_ value"
#endif

/* Child stack slots and how children are cloned: see "the loop" below. */
#define HS_SLOT_STACK (32 * 1024)
#define HS_SLOT_GUARD 4096
#define HS_SLOT_CHUNK 64
#define HS_MAX_SLOTS 4096
#define HS_CLONE_FLAGS (CLONE_VM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID | SIGCHLD)

#define HS_STEP_NAME(id, n, name) [n] = name,
static const char *const hs_step_names[HS_STEP_LIMIT] = {HS_STEPS(HS_STEP_NAME)};
#undef HS_STEP_NAME

/* hs_step_check - never called: a step number written twice in HS_STEPS is
 * a duplicate case label, which does not compile. */
#define HS_STEP_CASE(id, n, name) case n:
static inline __attribute__((unused)) void hs_step_check(int n)
{
	switch (n) {
		HS_STEPS(HS_STEP_CASE)
		break;
	}
}
#undef HS_STEP_CASE

_Static_assert(HS_MAX_FILTER == BPF_MAXINSNS, "HS_MAX_FILTER is the kernel's BPF_MAXINSNS");
_Static_assert(HS_MAX_RLIMITS == RLIM_NLIMITS, "HS_MAX_RLIMITS is one rlimit per resource");

const char *hs_step_name(int step)
{
	if (step < 0 || step >= HS_STEP_LIMIT || hs_step_names[step] == NULL)
		return "unknown";
	return hs_step_names[step];
}

/* The decoded Spec. Strings and arrays point into the received blob, which
 * lives as long as the spawner. */
struct hs_rlim {
	uint32_t resource;
	uint32_t pad;
	uint64_t cur, max;
};

/* The members of each kind of HS_SPEC_FIELDS. */
#define HS_MEMBER_U32(m) uint32_t m;
#define HS_MEMBER_I32(m) int32_t m;
#define HS_MEMBER_U64(m) uint64_t m;
#define HS_MEMBER_GIDS(m) uint32_t n##m; gid_t *m;
#define HS_MEMBER_RLIMS(m) uint32_t n##m; struct hs_rlim *m;
#define HS_MEMBER_STR(m) char *m;
#define HS_MEMBER_STRV(m) char **m;
#define HS_MEMBER_PROG(m) struct sock_fprog m;
#define HS_MEMBER(kind, m, go) HS_MEMBER_##kind(m)

struct hs_spec {
	HS_SPEC_FIELDS(HS_MEMBER)

	/* Derived at confinement time. */
	int child_seccomp;     /* the filter would forbid the spawner's own loop: install it in each child */
	uid_t ruid, euid, suid; /* what the read-back found, for the child's re-check */
	gid_t rgid, egid, sgid;
};

static struct hs_spec spec;

static int ctl = -1; /* control socket */
static int hostproc = -1; /* the host's /proc (O_PATH), opened before the mounts: a child reads its pid there */
static int ruleset = -1;  /* the landlock ruleset each child restricts itself with */

static void send_msg(const struct hs_msg *m)
{
	/* MSG_NOSIGNAL: a parent that went away must not kill us with SIGPIPE;
	 * we keep reaping our children regardless. Retry on EINTR only. */
	while (send(ctl, m, sizeof *m, MSG_NOSIGNAL) < 0 && errno == EINTR)
		;
}

static void __attribute__((noreturn)) fail_init_sub(int step, int sub, int err)
{
	struct hs_msg m;

	memset(&m, 0, sizeof m);
	m.kind = HS_MSG_INIT_FAILED;
	m.step = step;
	m.err = err;
	m.status = sub;
	m.pid = getpid();
	if (ctl >= 0)
		send_msg(&m);
	_exit(HS_EXIT_BASE + step);
}

static void __attribute__((noreturn)) fail_init(int step, int err)
{
	fail_init_sub(step, 0, err);
}

/* ---- Spec decoding ---------------------------------------------------- */

struct rd {
	uint8_t *p, *end;
};

static int rd_u32(struct rd *r, uint32_t *v)
{
	if (r->end - r->p < 4)
		return -1;
	memcpy(v, r->p, 4);
	r->p += 4;
	return 0;
}

static int rd_u64(struct rd *r, uint64_t *v)
{
	if (r->end - r->p < 8)
		return -1;
	memcpy(v, r->p, 8);
	r->p += 8;
	return 0;
}

/* rd_str - a u32 length that counts a terminating NUL, then the bytes; no
 * NUL may appear before the last byte (a truncated path must not pass). */
static int rd_str(struct rd *r, char **s)
{
	uint32_t n;

	if (rd_u32(r, &n) || n == 0 || (uint64_t)(r->end - r->p) < n)
		return -1;
	if (r->p[n - 1] != 0 || strlen((char *)r->p) != n - 1)
		return -1;
	*s = (char *)r->p;
	r->p += n;
	return 0;
}

static int rd_strv(struct rd *r, char ***v)
{
	uint32_t n, i;

	if (rd_u32(r, &n) || n > HS_MAX_STRINGS)
		return -1;
	*v = calloc(n + 1, sizeof(char *));
	if (*v == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (rd_str(r, &(*v)[i]))
			return -1;
	return 0;
}

static int rd_i32(struct rd *r, int32_t *v)
{
	return rd_u32(r, (uint32_t *)v);
}

static int rd_gids(struct rd *r, gid_t **v, uint32_t *n)
{
	uint32_t i, g;

	if (rd_u32(r, n) || *n > HS_MAX_GROUPS)
		return -1;
	*v = calloc(*n + 1, sizeof(gid_t));
	if (*v == NULL)
		return -1;
	for (i = 0; i < *n; i++) {
		if (rd_u32(r, &g))
			return -1;
		(*v)[i] = g;
	}
	return 0;
}

/* rd_rlims - resources below RLIM_NLIMITS, soft not above hard. */
static int rd_rlims(struct rd *r, struct hs_rlim **v, uint32_t *n)
{
	struct hs_rlim *l;
	uint32_t i;

	if (rd_u32(r, n) || *n > HS_MAX_RLIMITS)
		return -1;
	*v = l = calloc(*n + 1, sizeof *l);
	if (l == NULL)
		return -1;
	for (i = 0; i < *n; i++) {
		if (rd_u32(r, &l[i].resource) || rd_u32(r, &l[i].pad) || rd_u64(r, &l[i].cur) || rd_u64(r, &l[i].max))
			return -1;
		if (l[i].resource >= RLIM_NLIMITS || l[i].cur > l[i].max)
			return -1;
	}
	return 0;
}

static int rd_prog(struct rd *r, struct sock_fprog *prog)
{
	uint32_t n;

	if (rd_u32(r, &n) || n % sizeof(struct sock_filter) != 0 ||
	    n / sizeof(struct sock_filter) > HS_MAX_FILTER || (uint64_t)(r->end - r->p) < n)
		return -1;
	if (n > 0) {
		prog->len = n / sizeof(struct sock_filter);
		prog->filter = malloc(n);
		if (prog->filter == NULL)
			return -1;
		memcpy(prog->filter, r->p, n);
		r->p += n;
	}
	return 0;
}

#define HS_READ_U32(m) rd_u32(&r, &sp->m)
#define HS_READ_I32(m) rd_i32(&r, &sp->m)
#define HS_READ_U64(m) rd_u64(&r, &sp->m)
#define HS_READ_GIDS(m) rd_gids(&r, &sp->m, &sp->n##m)
#define HS_READ_RLIMS(m) rd_rlims(&r, &sp->m, &sp->n##m)
#define HS_READ_STR(m) rd_str(&r, &sp->m)
#define HS_READ_STRV(m) rd_strv(&r, &sp->m)
#define HS_READ_PROG(m) rd_prog(&r, &sp->m)
#define HS_READ(kind, m, go)           \
	if (HS_READ_##kind(m) != 0)    \
		return -1;

/*
 * hs_parse_spec - decode the Spec blob: u32 magic, then HS_SPEC_FIELDS
 * (spawner.h) in order, then nothing. An empty chroot or dir is the string
 * "". The path and argv[0] must be there.
 */
static int hs_parse_spec(struct hs_spec *sp, uint8_t *buf, size_t len)
{
	struct rd r = {buf, buf + len};
	uint32_t magic;

	if (rd_u32(&r, &magic) || magic != HS_SPEC_MAGIC)
		return -1;
	HS_SPEC_FIELDS(HS_READ)
	if (sp->path[0] == 0 || sp->argv[0] == NULL)
		return -1;
	if (r.p != r.end)
		return -1;
	return 0;
}

/* hs_spec_free - what hs_parse_spec allocated (lists and the program). */
#define HS_FREE_U32(m)
#define HS_FREE_I32(m)
#define HS_FREE_U64(m)
#define HS_FREE_GIDS(m) free(sp->m);
#define HS_FREE_RLIMS(m) free(sp->m);
#define HS_FREE_STR(m)
#define HS_FREE_STRV(m) free(sp->m);
#define HS_FREE_PROG(m) free(sp->m.filter);
#define HS_FREE(kind, m, go) HS_FREE_##kind(m)
static void hs_spec_free(struct hs_spec *sp)
{
	HS_SPEC_FIELDS(HS_FREE)
}

/* ---- seccomp program evaluation --------------------------------------- */

/*
 * bpf_eval - run a classic BPF seccomp program on one seccomp_data, as the
 * kernel would. Used only to ask "would this filter let the spawner's own
 * loop run?" before installing it; the kernel's verifier has the last word
 * when it is installed. Returns the filter's return value, or
 * SECCOMP_RET_KILL_PROCESS for anything malformed.
 */
static uint32_t bpf_eval(const struct sock_fprog *prog, const struct seccomp_data *d)
{
	uint32_t A = 0, X = 0, M[BPF_MEMWORDS] = {0};
	unsigned pc, steps;

	for (pc = 0, steps = 0; pc < prog->len && steps < 65536; pc++, steps++) {
		const struct sock_filter *f = &prog->filter[pc];
		uint32_t k = f->k, src;

		switch (BPF_CLASS(f->code)) {
		case BPF_LD:
			switch (BPF_MODE(f->code)) {
			case BPF_ABS:
				/* Not k + 4 > sizeof *d: that wraps for
				 * k >= 0xfffffffc and reads 4 GiB away. */
				if (BPF_SIZE(f->code) != BPF_W || k % 4 || k > sizeof *d - 4)
					return SECCOMP_RET_KILL_PROCESS;
				memcpy(&A, (const uint8_t *)d + k, 4);
				break;
			case BPF_LEN:
				A = sizeof *d;
				break;
			case BPF_IMM:
				A = k;
				break;
			case BPF_MEM:
				if (k >= BPF_MEMWORDS)
					return SECCOMP_RET_KILL_PROCESS;
				A = M[k];
				break;
			default:
				return SECCOMP_RET_KILL_PROCESS;
			}
			break;
		case BPF_LDX:
			switch (BPF_MODE(f->code)) {
			case BPF_LEN:
				X = sizeof *d;
				break;
			case BPF_IMM:
				X = k;
				break;
			case BPF_MEM:
				if (k >= BPF_MEMWORDS)
					return SECCOMP_RET_KILL_PROCESS;
				X = M[k];
				break;
			default:
				return SECCOMP_RET_KILL_PROCESS;
			}
			break;
		case BPF_ST:
		case BPF_STX:
			if (k >= BPF_MEMWORDS)
				return SECCOMP_RET_KILL_PROCESS;
			M[k] = BPF_CLASS(f->code) == BPF_ST ? A : X;
			break;
		case BPF_ALU:
			src = BPF_SRC(f->code) == BPF_X ? X : k;
			switch (BPF_OP(f->code)) {
			case BPF_ADD: A += src; break;
			case BPF_SUB: A -= src; break;
			case BPF_MUL: A *= src; break;
			case BPF_DIV: if (src == 0) return SECCOMP_RET_KILL_PROCESS; A /= src; break;
			case BPF_MOD: if (src == 0) return SECCOMP_RET_KILL_PROCESS; A %= src; break;
			case BPF_OR: A |= src; break;
			case BPF_AND: A &= src; break;
			case BPF_XOR: A ^= src; break;
			case BPF_LSH: A = src >= 32 ? 0 : A << src; break;
			case BPF_RSH: A = src >= 32 ? 0 : A >> src; break;
			case BPF_NEG: A = -A; break;
			default: return SECCOMP_RET_KILL_PROCESS;
			}
			break;
		case BPF_JMP:
			src = BPF_SRC(f->code) == BPF_X ? X : k;
			switch (BPF_OP(f->code)) {
			case BPF_JA: pc += k; break;
			case BPF_JEQ: pc += A == src ? f->jt : f->jf; break;
			case BPF_JGT: pc += A > src ? f->jt : f->jf; break;
			case BPF_JGE: pc += A >= src ? f->jt : f->jf; break;
			case BPF_JSET: pc += (A & src) ? f->jt : f->jf; break;
			default: return SECCOMP_RET_KILL_PROCESS;
			}
			break;
		case BPF_RET:
			return BPF_RVAL(f->code) == BPF_A ? A : k;
		case BPF_MISC:
			if (BPF_MISCOP(f->code) == BPF_TAX)
				X = A;
			else
				A = X;
			break;
		default:
			return SECCOMP_RET_KILL_PROCESS;
		}
	}
	return SECCOMP_RET_KILL_PROCESS;
}


/* hs_needed: generated from spawner.calls, the one list of what the
 * spawner calls once a filter may be in force. Every service filter should
 * allow these so that the filter can be inherited for free; if one does not,
 * the filter is installed in each child instead (slower, same confinement). */
#include "spawner_calls.h"

/* hs_needed_count, hs_needed_nr - the table, for the test that compares it
 * with policy's copy (policy.SpawnerCalls). */
int hs_needed_count(void)
{
	return (int)(sizeof hs_needed / sizeof hs_needed[0]);
}

long hs_needed_nr(int i, uint64_t args[4])
{
	memcpy(args, hs_needed[i].a, sizeof hs_needed[i].a);
	return hs_needed[i].nr;
}

static int filter_allows_spawner(const struct sock_fprog *prog)
{
	size_t i;
	for (i = 0; i < sizeof hs_needed / sizeof hs_needed[0]; i++) {
		struct seccomp_data d;
		memset(&d, 0, sizeof d);
		d.nr = hs_needed[i].nr;
		d.arch = HS_AUDIT_ARCH;
		memcpy(d.args, hs_needed[i].a, sizeof hs_needed[i].a);
		if ((bpf_eval(prog, &d) & SECCOMP_RET_ACTION_FULL) != SECCOMP_RET_ALLOW)
			return 0;
	}
	return 1;
}

/* ---- capabilities ------------------------------------------------------ */

static int capget2(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof d);
	if (syscall(SYS_capget, &h, d) < 0)
		return -1;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int capset2(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];

	d[0].effective = (uint32_t)eff;
	d[1].effective = (uint32_t)(eff >> 32);
	d[0].permitted = (uint32_t)prm;
	d[1].permitted = (uint32_t)(prm >> 32);
	d[0].inheritable = (uint32_t)inh;
	d[1].inheritable = (uint32_t)(inh >> 32);
	return (int)syscall(SYS_capset, &h, d);
}

/* last_cap - the highest capability this kernel knows (PR_CAPBSET_READ
 * answers EINVAL past it); read without opening a file. */
static int last_cap(void)
{
	int c;
	for (c = 0; c < 64; c++)
		if (prctl(PR_CAPBSET_READ, c, 0, 0, 0) < 0)
			break;
	return c - 1;
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * hs_confine - apply, once and in DESIGN.md section 3 order, everything every
 * child of this service shares, then read it all back. Fails the whole
 * spawner on the first error: nothing is ever exec'd with less confinement
 * than the Spec asks for.
 */
static void hs_confine(void)
{
	uint64_t eff, prm, inh, all;
	int lc, c, privileged;
	uint32_t i;

	/* Not dumpable: the services run as our uid once it is switched, and
	 * must not ptrace the spawner or read its memory through /proc (the
	 * uid switch would clear the flag too; this also covers hinetd run
	 * without root, where there is no switch). execve resets it for the
	 * children. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail_init(HS_STEP_DUMPABLE, errno);

	/* Signals: a handler or SIG_IGN inherited from the daemon's parent
	 * (nohup leaves SIGHUP ignored) would survive execve in the service;
	 * reset every disposition once here, so that children inherit defaults.
	 * SIGCHLD stays blocked in the spawner for its signalfd; each child
	 * empties its mask before execve. */
	{
		/* The kernel's struct sigaction with SIG_DFL, no flags, no mask
		 * is all zeros. The raw call, because glibc's sigaction refuses
		 * 32 and 33 (its own), which could still be inherited ignored. */
		uint64_t ksa[4] = {0, 0, 0, 0};
		sigset_t set;

		for (c = 1; c < _NSIG; c++) {
			if (c == SIGKILL || c == SIGSTOP)
				continue;
			if (syscall(SYS_rt_sigaction, c, ksa, NULL, sizeof(uint64_t)) < 0)
				fail_init(HS_STEP_SIGNALS, errno);
		}
		sigemptyset(&set);
		sigaddset(&set, SIGCHLD);
		if (sigprocmask(SIG_SETMASK, &set, NULL) < 0)
			fail_init(HS_STEP_SIGNALS, errno);
	}

	/* Resource limits are the service's, not the spawner's: they are set
	 * in each child, after clone (child_main), so that no limit a policy
	 * gives its service (rlimit as 16M, a low nofile, cpu) can starve the
	 * long-lived spawner or break its descriptor passing. The child has no
	 * privilege left by then and may only lower a hard limit, so a hard
	 * limit the policy raises above the inherited one is raised here,
	 * while CAP_SYS_RESOURCE may still be held; the soft limit stays. */
	for (i = 0; i < spec.nrlim; i++) {
		struct rlimit rl;
		if (getrlimit(spec.rlim[i].resource, &rl) < 0)
			fail_init(HS_STEP_RLIMIT, errno);
		if (spec.rlim[i].max <= rl.rlim_max)
			continue;
		rl.rlim_max = spec.rlim[i].max;
		if (setrlimit(spec.rlim[i].resource, &rl) < 0)
			fail_init(HS_STEP_RLIMIT, errno);
	}

	umask(spec.umask & 0777);

	/* Nice is absolute. Only set when it differs: lowering it needs
	 * CAP_SYS_NICE, and a daemon run without root may already be niced. */
	errno = 0;
	c = getpriority(PRIO_PROCESS, 0);
	if (errno != 0)
		fail_init(HS_STEP_NICE, errno);
	if (c != spec.nice && setpriority(PRIO_PROCESS, 0, spec.nice) < 0)
		fail_init(HS_STEP_NICE, errno);

	/* chroot needs CAP_SYS_CHROOT, so it comes before the capability drop;
	 * the chdir after it is what makes the chroot hold (a cwd outside the
	 * new root is the classic escape). No Dir means "/", never the
	 * daemon's cwd. */
	if (spec.chroot[0] != 0 && chroot(spec.chroot) < 0)
		fail_init(HS_STEP_CHROOT, errno);
	if (chdir(spec.dir[0] != 0 ? spec.dir : "/") < 0)
		fail_init(HS_STEP_CHDIR, errno);

	if (capget2(&eff, &prm, &inh) < 0)
		fail_init(HS_STEP_CAPGET, errno);
	lc = last_cap();
	if (lc < 0)
		fail_init(HS_STEP_CAPGET, EINVAL);
	all = lc >= 63 ? ~0ULL : (1ULL << (lc + 1)) - 1;
	if (spec.keep & ~all)
		fail_init(HS_STEP_SPEC, EINVAL);
	/* Capabilities can only be kept if we hold them. */
	if ((spec.keep & ~prm) != 0)
		fail_init(HS_STEP_PRIVILEGE, EPERM);
	/* Without CAP_SETPCAP (hinetd run without root) the bounding set and
	 * the securebits cannot be changed; no_new_privs then keeps the service
	 * from gaining anything by execve. */
	privileged = (eff >> CAP_SETPCAP) & 1;

	/* Bounding set first, while CAP_SETPCAP is still effective: it caps
	 * what any later execve (a setuid-root or file-capability binary) can
	 * grant (capabilities(7), "Capability bounding set"). */
	if (privileged) {
		for (c = 0; c <= lc; c++) {
			if ((spec.keep >> c) & 1)
				continue;
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0)
				fail_init(HS_STEP_CAPBSET, errno);
		}
	}

	/* Securebits, also needing CAP_SETPCAP, so before the uid switch.
	 * SECBIT_NOROOT (locked): uid 0 gets no capabilities from execve, so a
	 * service whose user is root, or a setuid-root binary run with
	 * AllowNewPrivs, keeps uid 0 and nothing else (capabilities(7),
	 * "The securebits flags"). */
	if (privileged) {
		int bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED;
		if (prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) < 0)
			fail_init(HS_STEP_SECUREBITS, errno);
	}

	/* KEEPCAPS so that setresuid away from 0 does not clear the permitted
	 * set we want to keep; it is cleared again by execve. */
	if (spec.keep != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		fail_init(HS_STEP_KEEPCAPS, errno);

	/* Groups, then gid, then uid: each needs the privilege the next one
	 * gives up. Real, effective and saved ids all, so there is no way
	 * back. */
	if (spec.flags & HS_FLAG_SWITCH_IDS) {
		if (setgroups(spec.ngroups, spec.groups) < 0)
			fail_init(HS_STEP_SETGROUPS, errno);
		if (setresgid(spec.gid, spec.gid, spec.gid) < 0)
			fail_init(HS_STEP_SETRESGID, errno);
		if (setresuid(spec.uid, spec.uid, spec.uid) < 0)
			fail_init(HS_STEP_SETRESUID, errno);
	}

	/* Clear every capability set but for the kept ones. The kept ones go
	 * in inheritable and then ambient, since only ambient capabilities
	 * survive execve of an ordinary binary as non-root (capabilities(7),
	 * "Transformation of capabilities during execve()"). */
	if (capset2(spec.keep, spec.keep, spec.keep) < 0)
		fail_init(HS_STEP_CAPSET, errno);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		fail_init(HS_STEP_AMBIENT, errno);
	for (c = 0; c <= lc; c++) {
		if (!((spec.keep >> c) & 1))
			continue;
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
			fail_init(HS_STEP_AMBIENT, errno);
	}
	if (spec.keep != 0 && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		fail_init(HS_STEP_KEEPCAPS, errno);

	/* no_new_privs: execve can no longer grant anything (setuid bits and
	 * file capabilities are ignored); also what lets an unprivileged
	 * process install a seccomp filter. */
	if (!(spec.flags & HS_FLAG_ALLOW_NEW_PRIVS) && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail_init(HS_STEP_NNP, errno);

	/*
	 * Read everything back before accepting any work. A call that returned
	 * 0 is not proof: xinetd once started services as root because one
	 * launch path skipped the uid switch (CVE-2013-4342); here a missed or
	 * partial switch stops the spawner instead.
	 */
	if (getresuid(&spec.ruid, &spec.euid, &spec.suid) < 0)
		fail_init(HS_STEP_CHECK_UID, errno);
	if (getresgid(&spec.rgid, &spec.egid, &spec.sgid) < 0)
		fail_init(HS_STEP_CHECK_GID, errno);
	if (spec.flags & HS_FLAG_SWITCH_IDS) {
		gid_t got[HS_MAX_GROUPS];
		int n;

		if (spec.ruid != spec.uid || spec.euid != spec.uid || spec.suid != spec.uid)
			fail_init(HS_STEP_CHECK_UID, EPERM);
		if (spec.rgid != spec.gid || spec.egid != spec.gid || spec.sgid != spec.gid)
			fail_init(HS_STEP_CHECK_GID, EPERM);
		if (spec.ngroups > sizeof got / sizeof got[0])
			fail_init(HS_STEP_CHECK_GROUPS, E2BIG);
		n = getgroups(sizeof got / sizeof got[0], got);
		if (n < 0)
			fail_init(HS_STEP_CHECK_GROUPS, errno);
		if ((uint32_t)n != spec.ngroups)
			fail_init(HS_STEP_CHECK_GROUPS, EPERM);
		qsort(got, n, sizeof got[0], cmp_gid);
		qsort(spec.groups, spec.ngroups, sizeof spec.groups[0], cmp_gid);
		if (n > 0 && memcmp(got, spec.groups, n * sizeof got[0]) != 0)
			fail_init(HS_STEP_CHECK_GROUPS, EPERM);
	}
	if (capget2(&eff, &prm, &inh) < 0)
		fail_init(HS_STEP_CHECK_CAPS, errno);
	if (eff != spec.keep || prm != spec.keep || inh != spec.keep)
		fail_init(HS_STEP_CHECK_CAPS, EPERM);
	for (c = 0; c <= lc; c++) {
		int want = (spec.keep >> c) & 1;
		int r = prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_IS_SET, c, 0, 0);
		if (r < 0)
			fail_init(HS_STEP_CHECK_AMBIENT, errno);
		if (r != want)
			fail_init(HS_STEP_CHECK_AMBIENT, EPERM);
		if (privileged) {
			r = prctl(PR_CAPBSET_READ, c, 0, 0, 0);
			if (r < 0)
				fail_init(HS_STEP_CHECK_BOUNDING, errno);
			if (r != want)
				fail_init(HS_STEP_CHECK_BOUNDING, EPERM);
		}
	}
	/* A uid 0 left anywhere, without SECBIT_NOROOT, would get every
	 * capability back on execve. */
	if (spec.ruid == 0 || spec.euid == 0 || spec.suid == 0) {
		int b = prctl(PR_GET_SECUREBITS, 0, 0, 0, 0);
		if (b < 0)
			fail_init(HS_STEP_CHECK_SECUREBITS, errno);
		if ((b & (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED)) != (SECBIT_NOROOT | SECBIT_NOROOT_LOCKED))
			fail_init(HS_STEP_CHECK_SECUREBITS, EPERM);
	}
	if (prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0)
		fail_init(HS_STEP_CHECK_DUMPABLE, EPERM);
	if (!(spec.flags & HS_FLAG_ALLOW_NEW_PRIVS)) {
		int r = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0);
		if (r < 0)
			fail_init(HS_STEP_CHECK_NNP, errno);
		if (r != 1)
			fail_init(HS_STEP_CHECK_NNP, EPERM);
	}
}

/* ---- the loop ---------------------------------------------------------- */

/*
 * Children are started with clone(CLONE_VM): they share the spawner's memory
 * until execve, so no page tables are copied (fork measured about 150 us
 * more CPU per spawn here), and, unlike CLONE_VFORK, the spawner does not
 * wait while the child execs: under load that wait made the spawner a
 * serial bottleneck (vfork: 600-800 us blocked per spawn at concurrency 8
 * on a busy 2-core machine, a third of the C fork+exec loop's rate).
 *
 * Each child runs on a stack slot of its own. The kernel clears the slot's
 * tid (CLONE_CHILD_CLEARTID) when the child's use of our memory ends, at
 * execve or exit; a child that fails before execve writes the step and
 * errno into its slot first, and the slot is kept until that child is
 * reaped. So a slot is free when its tid is 0 and it holds no failure.
 */

struct hs_slot {
	int32_t tid;   /* child's pid while it may use the slot; cleared by the kernel */
	int32_t step;  /* set by a child that failed, before it exits */
	int32_t err;
	int32_t owner; /* pid the slot was last given to; 0 = never used */
	int fd;        /* the connection, for the child */
	uint64_t conn; /* its id, for the child's Started report */
	char *stack_top;
};

static struct hs_slot slotv[HS_MAX_SLOTS];
static int nslots, slot_next;

struct hs_child {
	pid_t pid;
	int slot;
	uint64_t conn;
	struct timespec start;
};

static struct hs_child *children;
static size_t nchildren, capchildren;

/* slots_grow - map HS_SLOT_CHUNK more stacks, each above a guard page. */
static int slots_grow(void)
{
	size_t per = HS_SLOT_STACK + HS_SLOT_GUARD;
	char *m;
	int i;

	if (nslots + HS_SLOT_CHUNK > HS_MAX_SLOTS)
		return -1;
	m = mmap(NULL, per * HS_SLOT_CHUNK, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (m == MAP_FAILED)
		return -1;
	for (i = 0; i < HS_SLOT_CHUNK; i++) {
		if (mprotect(m + i * per, HS_SLOT_GUARD, PROT_NONE) < 0)
			return -1;
		slotv[nslots + i].stack_top = m + i * per + per - 64;
	}
	nslots += HS_SLOT_CHUNK;
	return 0;
}

/* slot_get - a free slot, or -1. */
static int slot_get(void)
{
	int n, i;

	for (n = 0; n < nslots; n++) {
		struct hs_slot *sl;

		i = (slot_next + n) % nslots;
		sl = &slotv[i];
		if (__atomic_load_n(&sl->tid, __ATOMIC_ACQUIRE) == 0 &&
		    __atomic_load_n(&sl->step, __ATOMIC_ACQUIRE) == 0) {
			slot_next = i + 1;
			return i;
		}
	}
	if (slots_grow() < 0)
		return -1;
	slot_next = nslots - HS_SLOT_CHUNK + 1;
	return nslots - HS_SLOT_CHUNK;
}

/* Raw system calls for the child: it shares our memory (and our thread's
 * errno) with the running spawner, so it must not go through libc's
 * syscall(), which writes errno. They return -errno on failure. */
static inline long hs_sys(long n, long a1, long a2, long a3, long a4)
{
#if defined(__x86_64__)
	long ret;
	register long r10 __asm__("r10") = a4;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10)
			 : "rcx", "r11", "memory");
	return ret;
#elif defined(__aarch64__)
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a1;
	register long x1 __asm__("x1") = a2;
	register long x2 __asm__("x2") = a3;
	register long x3 __asm__("x3") = a4;
	__asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3) : "memory", "cc");
	return x0;
#else
#error "hs_sys: add this architecture's system call sequence"
#endif
}

static void __attribute__((noreturn)) child_fail(struct hs_slot *sl, int step, long ret)
{
	sl->err = (int32_t)-ret;
	__atomic_store_n(&sl->step, step, __ATOMIC_RELEASE);
	for (;;)
		hs_sys(SYS_exit_group, HS_EXIT_BASE + step, 0, 0, 0);
}

/*
 * child_main - between clone and execve, in the child. Only what differs per
 * connection happens here. It runs on the spawner's memory (CLONE_VM),
 * while the spawner runs on: raw system calls only, nothing written but
 * its own stack and slot, nothing from libc.
 */
static int child_main(void *arg)
{
	struct hs_slot *sl = arg;
	uint64_t empty = 0;
	uid_t r, e, s;
	gid_t rg, eg, sg;
	struct hs_msg m;
	struct iovec iov;
	struct msghdr mh;
	char buf[16];
	long ret;
	int i, pid = 0;

	/*
	 * Started, from the child itself: only it can name its pid as the
	 * host (and the audit log, and the kernel's seccomp records) sees it,
	 * by reading the host's /proc/self; in the spawner's pid namespace it
	 * is a small number. Before any step that can fail, so that a Failed
	 * that follows has a Started before it, as when the spawner sent it.
	 * Fields one by one: no memset from libc here.
	 */
	ret = hs_sys(SYS_readlinkat, hostproc, (long)"self", (long)buf, sizeof buf - 1);
	if (ret <= 0)
		child_fail(sl, HS_STEP_HOST_PROC, ret < 0 ? ret : -EIO);
	for (i = 0; i < ret; i++)
		pid = pid * 10 + (buf[i] - '0');
	m.kind = HS_MSG_STARTED;
	m.step = 0;
	m.err = 0;
	m.pid = pid;
	m.conn = sl->conn;
	m.status = 0;
	m.pad = 0;
	m.dur_ns = 0;
	iov.iov_base = &m;
	iov.iov_len = sizeof m;
	mh.msg_name = NULL;
	mh.msg_namelen = 0;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = NULL;
	mh.msg_controllen = 0;
	mh.msg_flags = 0;
	/* A parent gone (EPIPE) is no reason not to serve: carry on. */
	hs_sys(SYS_sendmsg, ctl, (long)&mh, MSG_NOSIGNAL, 0);

	/* The socket on 0, 1, 2; dup3 leaves them without FD_CLOEXEC. */
	for (i = 0; i < 3; i++)
		if ((ret = hs_sys(SYS_dup3, sl->fd, i, 0, 0)) < 0)
			child_fail(sl, HS_STEP_DUP, ret);
	/* A landlock domain of its own (isolate.c, hs_scope_ruleset): from
	 * here it may signal and ptrace only itself and what it starts. The
	 * spawner set no_new_privs, which landlock_restrict_self needs;
	 * before close_range, which closes the ruleset. */
	if (ruleset >= 0 && (ret = hs_sys(SYS_landlock_restrict_self, ruleset, 0, 0, 0)) < 0)
		child_fail(sl, HS_STEP_LANDLOCK, ret);
	/* Every other descriptor closed: the control socket, the signalfd,
	 * our copy of the connection, anything else. */
	if ((ret = hs_sys(SYS_close_range, 3, ~0U, 0, 0)) < 0)
		child_fail(sl, HS_STEP_CLOSE_RANGE, ret);
	/* Dispositions are already default (hs_confine); the mask is the
	 * spawner's (SIGCHLD blocked) and survives execve, so empty it. */
	if ((ret = hs_sys(SYS_rt_sigprocmask, SIG_SETMASK, (long)&empty, 0, sizeof empty)) < 0)
		child_fail(sl, HS_STEP_SIGMASK, ret);
	if ((ret = hs_sys(SYS_setsid, 0, 0, 0, 0)) < 0)
		child_fail(sl, HS_STEP_SETSID, ret);
	/* Cheap re-check: the ids the spawner verified are still ours. */
	if ((ret = hs_sys(SYS_getresuid, (long)&r, (long)&e, (long)&s, 0)) < 0 ||
	    (ret = hs_sys(SYS_getresgid, (long)&rg, (long)&eg, (long)&sg, 0)) < 0)
		child_fail(sl, HS_STEP_CHECK_IDS, ret);
	if (r != spec.ruid || e != spec.euid || s != spec.suid || rg != spec.rgid ||
	    eg != spec.egid || sg != spec.sgid)
		child_fail(sl, HS_STEP_CHECK_IDS, -EPERM);
	/* The policy's rlimits (see hs_confine): cur and max follow resource
	 * in struct hs_rlim as in struct rlimit64. Lowering needs no privilege;
	 * a raised hard limit was raised in the spawner already. */
	for (i = 0; i < (int)spec.nrlim; i++)
		if ((ret = hs_sys(SYS_prlimit64, 0, spec.rlim[i].resource, (long)&spec.rlim[i].cur, 0)) < 0)
			child_fail(sl, HS_STEP_CHILD_RLIMIT, ret);
	/* Only when the service's filter would not let the spawner itself run:
	 * then it is loaded here, last before execve. */
	if (spec.child_seccomp &&
	    (ret = hs_sys(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&spec.prog, 0)) < 0)
		child_fail(sl, HS_STEP_SECCOMP_CHILD, ret);
	ret = hs_sys(SYS_execve, (long)spec.path, (long)spec.argv, (long)spec.envp, 0);
	child_fail(sl, HS_STEP_EXECVE, ret);
	return 0;
}

static int64_t since_ns(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)(t.tv_sec - t0->tv_sec) * 1000000000 + (t.tv_nsec - t0->tv_nsec);
}

static void spawn_one(uint64_t conn, int fd)
{
	struct hs_msg m;
	struct hs_slot *sl;
	pid_t pid;
	int si;

	memset(&m, 0, sizeof m);
	m.conn = conn;
	m.kind = HS_MSG_FAILED;
	m.step = HS_STEP_CLONE;
	if (nchildren == capchildren) {
		size_t n = capchildren ? capchildren * 2 : 256;
		struct hs_child *p = realloc(children, n * sizeof *p);
		if (p == NULL) {
			m.err = ENOMEM;
			send_msg(&m);
			return;
		}
		children = p;
		capchildren = n;
	}
	si = slot_get();
	if (si < 0) {
		m.err = EAGAIN;
		send_msg(&m);
		return;
	}
	sl = &slotv[si];
	sl->fd = fd;
	sl->conn = conn;
	sl->err = 0;
	__atomic_store_n(&sl->step, 0, __ATOMIC_RELAXED);
	/* The kernel stores the pid in tid before the child runs
	 * (CLONE_PARENT_SETTID), so the slot is never seen free too early. */
	clock_gettime(CLOCK_MONOTONIC, &children[nchildren].start);
	pid = clone(child_main, sl->stack_top, HS_CLONE_FLAGS, sl, &sl->tid, NULL, &sl->tid);
	if (pid < 0) {
		m.err = errno;
		__atomic_store_n(&sl->tid, 0, __ATOMIC_RELEASE);
		send_msg(&m);
		return;
	}
	sl->owner = pid;
	children[nchildren].pid = pid;
	children[nchildren].slot = si;
	children[nchildren].conn = conn;
	nchildren++;
	/* Started comes from the child (child_main). If a step fails before
	 * execve, Failed follows (when it is reaped) instead of Exited. */
}

static void reap(void)
{
	for (;;) {
		struct hs_msg m;
		size_t i;
		int st;
		pid_t pid = wait4(-1, &st, WNOHANG, NULL);

		if (pid < 0 && errno == EINTR)
			continue;
		if (pid <= 0)
			return;
		memset(&m, 0, sizeof m);
		m.kind = HS_MSG_EXITED;
		m.pid = pid;
		m.status = st;
		for (i = 0; i < nchildren; i++) {
			struct hs_slot *sl;

			if (children[i].pid != pid)
				continue;
			m.conn = children[i].conn;
			m.dur_ns = since_ns(&children[i].start);
			sl = &slotv[children[i].slot];
			/* The slot is still this child's only if it failed
			 * before execve (a slot is not reused while it holds a
			 * failure); then this is a failed start. */
			if (sl->owner == pid && __atomic_load_n(&sl->step, __ATOMIC_ACQUIRE) != 0) {
				m.kind = HS_MSG_FAILED;
				m.step = sl->step;
				m.err = sl->err;
				m.status = 0;
				sl->err = 0;
				__atomic_store_n(&sl->step, 0, __ATOMIC_RELEASE);
			}
			children[i] = children[--nchildren];
			break;
		}
		send_msg(&m);
	}
}

static void __attribute__((noreturn)) hs_loop(int sfd)
{
	struct pollfd pfd[2];
	int closing = 0;

	pfd[0].fd = ctl;
	pfd[0].events = POLLIN;
	pfd[1].fd = sfd;
	pfd[1].events = POLLIN;
	for (;;) {
		if (closing && nchildren == 0)
			_exit(0);
		if (ppoll(pfd, 2, NULL, NULL) < 0) {
			if (errno == EINTR)
				continue;
			_exit(HS_EXIT_BASE + HS_STEP_LOOP);
		}
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si[16];
			while (read(sfd, si, sizeof si) > 0)
				;
			reap();
		}
		if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			struct hs_req req;
			union {
				char buf[CMSG_SPACE(sizeof(int) * 4)];
				struct cmsghdr align;
			} cbuf;
			struct iovec iov = {&req, sizeof req};
			struct msghdr mh;
			struct cmsghdr *cm;
			int fds[4], nfd = 0, i;
			ssize_t n;

			memset(&mh, 0, sizeof mh);
			mh.msg_iov = &iov;
			mh.msg_iovlen = 1;
			mh.msg_control = cbuf.buf;
			mh.msg_controllen = sizeof cbuf.buf;
			n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				/* End of work: the parent closed its end or went away. */
				closing = 1;
				pfd[0].fd = -1;
				continue;
			}
			for (cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
				if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
					continue;
				for (i = 0; (size_t)i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int) && nfd < 4; i++)
					memcpy(&fds[nfd++], CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			}
			if (n != sizeof req || req.kind != HS_REQ_SPAWN || nfd != 1 ||
			    (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC))) {
				struct hs_msg m;
				memset(&m, 0, sizeof m);
				m.kind = HS_MSG_FAILED;
				m.conn = n == sizeof req ? req.conn : 0;
				m.step = HS_STEP_RECV;
				m.err = (mh.msg_flags & MSG_CTRUNC) ? EMFILE : EBADMSG;
				send_msg(&m);
			} else {
				spawn_one(req.conn, fds[0]);
			}
			for (i = 0; i < nfd; i++)
				close(fds[i]);
		}
	}
}

/*
 * hs_isolation - the service's view of the system (isolate.c), while the
 * spawner still holds CAP_SYS_ADMIN: before hs_confine drops it, and
 * before chroot, so that the paths a policy names are the host's.
 */
static void hs_isolation(void)
{
	struct hs_iso iso;
	const char *path;
	int step, r;

	/* The host's /proc, for the children's Started reports, before a
	 * procfs of the spawner's pid namespace covers it. */
	hostproc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (hostproc < 0)
		fail_init(HS_STEP_HOST_PROC, errno);
	/* The process scope needs the pid namespace the parent made for us
	 * (CLONE_NEWPID): read it back, as the ids are, rather than trust
	 * it. As its init we take every child down with us if we die. */
	if ((spec.iso_flags & HS_ISO_SCOPE) && getpid() != 1)
		fail_init(HS_STEP_PID_NS, ESRCH);
	memset(&iso, 0, sizeof iso);
	iso.flags = spec.iso_flags;
	iso.protect_system = spec.protect_system;
	iso.protect_home = spec.protect_home;
	iso.rw = spec.rw;
	iso.ro = spec.ro;
	iso.inaccessible = spec.inaccessible;
	r = hs_isolate(&iso, &step, &path);
	if (r != 0)
		fail_init_sub(HS_STEP_ISOLATE, step, r);
	if (spec.iso_flags & HS_ISO_SCOPE) {
		ruleset = hs_scope_ruleset();
		if (ruleset < 0)
			fail_init(HS_STEP_LANDLOCK_RULESET, -ruleset);
	}
}

static void __attribute__((noreturn)) hs_main(int fd)
{
	uint8_t *buf;
	ssize_t n;
	int type = 0, sfd;
	socklen_t tl = sizeof type;
	struct hs_msg m;
	sigset_t set;

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) < 0 || type != SOCK_SEQPACKET)
		_exit(HS_EXIT_BASE + HS_STEP_SOCKET);
	ctl = fd;
	if (fcntl(ctl, F_SETFD, FD_CLOEXEC) < 0)
		fail_init(HS_STEP_FDS, errno);

	/* 0, 1 and 2 must be open, so that a received connection never lands
	 * on them; everything else but the control socket is closed. */
	for (n = 0; n < 3; n++) {
		if (fcntl((int)n, F_GETFD) < 0) {
			int nul = open("/dev/null", O_RDWR);
			if (nul < 0)
				fail_init(HS_STEP_FDS, errno);
			if (nul != n)
				fail_init(HS_STEP_FDS, EBADF);
		}
	}
	if (ctl > 3 && syscall(SYS_close_range, 3, ctl - 1, 0) < 0)
		fail_init(HS_STEP_FDS, errno);
	if (syscall(SYS_close_range, ctl + 1, ~0U, 0) < 0)
		fail_init(HS_STEP_FDS, errno);

	/* The Spec: one record; peek its size first. */
	n = recv(ctl, NULL, 0, MSG_PEEK | MSG_TRUNC);
	if (n <= 0 || (size_t)n > HS_SPEC_MAX)
		fail_init(HS_STEP_SPEC, n < 0 ? errno : EMSGSIZE);
	buf = malloc(n);
	if (buf == NULL)
		fail_init(HS_STEP_SPEC, ENOMEM);
	if (recv(ctl, buf, n, 0) != n)
		fail_init(HS_STEP_SPEC, EIO);
	if (hs_parse_spec(&spec, buf, n) < 0)
		fail_init(HS_STEP_SPEC, EINVAL);

	hs_isolation();
	hs_confine();

	/* What the loop needs, made before the filter: it may forbid
	 * signalfd4. */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		fail_init(HS_STEP_LOOP, errno);
	children = malloc(256 * sizeof *children);
	if (children == NULL)
		fail_init(HS_STEP_LOOP, ENOMEM);
	capchildren = 256;
	if (slots_grow() < 0)
		fail_init(HS_STEP_LOOP, errno ? errno : ENOMEM);

	/* seccomp last, as close to the work as possible: everything above
	 * may use system calls the service may not. If the service's filter
	 * would also stop the spawner's own loop, it goes into each child. */
	if (spec.prog.len > 0) {
		if (filter_allows_spawner(&spec.prog)) {
			if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &spec.prog) < 0)
				fail_init(HS_STEP_SECCOMP, errno);
		} else {
			/* Load it once in a throwaway child, so that a program
			 * the kernel refuses fails the spawner now, by name,
			 * rather than every connection later. */
			int st;
			pid_t pid = fork();
			if (pid < 0)
				fail_init(HS_STEP_SECCOMP, errno);
			if (pid == 0)
				_exit(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &spec.prog) < 0 ? errno : 0);
			if (waitpid(pid, &st, 0) < 0)
				fail_init(HS_STEP_SECCOMP, errno);
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				fail_init(HS_STEP_SECCOMP, WIFEXITED(st) ? WEXITSTATUS(st) : EINVAL);
			spec.child_seccomp = 1;
		}
	}

	memset(&m, 0, sizeof m);
	m.kind = HS_MSG_READY;
	m.pid = getpid();
	m.step = spec.child_seccomp;
	send_msg(&m);
	hs_loop(sfd);
}

/* ---- what the parser read, for the round-trip test ---------------------- */

struct wr {
	char *p, *end;
	int full;
};

static void wr_f(struct wr *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wr_f(struct wr *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->p, (size_t)(w->end - w->p), fmt, ap);
	va_end(ap);
	if (n < 0 || n >= w->end - w->p) {
		w->full = 1;
		return;
	}
	w->p += n;
}

/* wr_hex - key=hex of n bytes, then a newline. */
static void wr_hex(struct wr *w, const char *key, const void *b, size_t n)
{
	const uint8_t *q = b;
	size_t i;

	wr_f(w, "%s=", key);
	for (i = 0; i < n; i++)
		wr_f(w, "%02x", q[i]);
	wr_f(w, "\n");
}

/* How each kind of HS_SPEC_FIELDS is dumped: integers in decimal, lists as
 * one line per element, strings and the program in hex. */
#define HS_DUMP_U32(m) wr_f(&w, #m "=%u\n", sp.m);
#define HS_DUMP_I32(m) wr_f(&w, #m "=%d\n", sp.m);
#define HS_DUMP_U64(m) wr_f(&w, #m "=%llu\n", (unsigned long long)sp.m);
#define HS_DUMP_GIDS(m)                                         \
	for (i = 0; i < sp.n##m; i++)                           \
		wr_f(&w, #m "=%u\n", (unsigned)sp.m[i]);
#define HS_DUMP_RLIMS(m)                                                        \
	for (i = 0; i < sp.n##m; i++)                                           \
		wr_f(&w, #m "=%u:%llu:%llu\n", sp.m[i].resource,                \
		     (unsigned long long)sp.m[i].cur, (unsigned long long)sp.m[i].max);
#define HS_DUMP_STR(m) wr_hex(&w, #m, sp.m, strlen(sp.m));
#define HS_DUMP_STRV(m)                                 \
	for (i = 0; sp.m[i] != NULL; i++)               \
		wr_hex(&w, #m, sp.m[i], strlen(sp.m[i]));
#define HS_DUMP_PROG(m) wr_hex(&w, #m, sp.m.filter, (size_t)sp.m.len * sizeof(struct sock_filter));
#define HS_DUMP(kind, m, go) HS_DUMP_##kind(m)

/*
 * hs_spec_dump - parse a Spec blob as the spawner would and write what it
 * read into out, one "member=value" line per field of HS_SPEC_FIELDS (lists
 * one line per element), from the parsed struct hs_spec, not from the blob:
 * a field read into the wrong member shows. For FuzzSpecRoundTrip,
 * which compares it with the policy.Spec that was encoded. Returns the
 * length written, -1 when the blob is refused, -2 when out is too small.
 */
long hs_spec_dump(const void *blob, size_t len, char *out, size_t cap)
{
	struct hs_spec sp;
	struct wr w = {out, out + cap, 0};
	uint8_t *buf = malloc(len + 1);
	long r = -1;
	uint32_t i;

	memset(&sp, 0, sizeof sp);
	if (buf == NULL)
		return -1;
	memcpy(buf, blob, len);
	if (hs_parse_spec(&sp, buf, len) == 0) {
		HS_SPEC_FIELDS(HS_DUMP)
		r = w.full ? -2 : (long)(w.p - out);
	}
	hs_spec_free(&sp);
	free(buf);
	return r;
}

/*
 * hs_spec_check - parse a Spec blob as the spawner would and, if it has a
 * filter, evaluate it for the spawner's own calls; for the fuzz test
 * (FuzzSpecParse), in the test process: touches no global state. Returns 0
 * when the blob is accepted, 1 when it is and its filter lets the spawner
 * run, -1 when it is refused.
 */
int hs_spec_check(const void *blob, size_t len)
{
	struct hs_spec sp;
	uint8_t *buf = malloc(len + 1);
	int r = -1;

	memset(&sp, 0, sizeof sp);
	if (buf == NULL)
		return -1;
	memcpy(buf, blob, len);
	if (hs_parse_spec(&sp, buf, len) == 0) {
		r = 0;
		if (sp.prog.len > 0 && filter_allows_spawner(&sp.prog))
			r = 1;
	}
	hs_spec_free(&sp);
	free(buf);
	return r;
}

__attribute__((constructor)) static void hs_constructor(void)
{
	const char *v = getenv(HS_ENV);

	if (v != NULL) {
		char *end;
		long fd = strtol(v, &end, 10);
		if (*v == 0 || *end != 0 || fd < 0 || fd > 1 << 20)
			_exit(HS_EXIT_BASE + HS_STEP_SOCKET);
		/* Started as /proc/self/exe, the kernel names us "exe": give
		 * ps, top and the audit records a name an administrator reads. */
		prctl(PR_SET_NAME, "hinetd-spawner", 0, 0, 0);
		hs_main((int)fd);
	}
}
