//go:build linux

/*
 * capdrop.c - drop the daemon's capabilities to a kept set, before the Go
 * runtime starts threads.
 *
 * Capabilities are per thread and Go with cgo has no way to change them on
 * every thread (syscall.AllThreadsSyscall refuses with cgo), so this runs
 * in a constructor, on the only thread there is, when Drop has re-executed
 * the binary with CD_ENV set; every thread Go starts later inherits the
 * result. It is its own constructor, not part of the spawner's (spawner.c):
 * the two are entered by different variables and share nothing but three
 * small capability calls.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

#include "capdrop.h"

#ifndef PR_CAP_AMBIENT
#define PR_CAP_AMBIENT 47
#define PR_CAP_AMBIENT_CLEAR_ALL 4
#endif

int cd_done, cd_errno;
const char *cd_op;

static void fail(const char *op, int err)
{
	cd_op = op;
	cd_errno = err;
}

static void drop(const char *v)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	uint64_t keep, eff, prm;
	char *end;
	int c;

	cd_done = 1;
	errno = 0;
	keep = strtoull(v, &end, 16);
	if (errno != 0 || *end != 0 || end == v)
		return fail("parse " CD_ENV, EINVAL);
	memset(d, 0, sizeof d);
	if (syscall(SYS_capget, &h, d) < 0)
		return fail("capget", errno);
	eff = d[0].effective | (uint64_t)d[1].effective << 32;
	prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	/* The bounding set first, while CAP_SETPCAP is still effective: it is
	 * what a later execve (the spawners') can give back to uid 0
	 * (capabilities(7), "Capability bounding set"). PR_CAPBSET_DROP
	 * answers EINVAL past the kernel's last capability. */
	if ((eff >> CAP_SETPCAP) & 1) {
		for (c = 0; c < 64; c++) {
			if ((keep >> c) & 1)
				continue;
			if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
				if (errno == EINVAL)
					break;
				return fail("capbset_drop", errno);
			}
		}
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return fail("ambient", errno);
	eff &= keep;
	prm &= keep;
	d[0].effective = (uint32_t)eff;
	d[1].effective = (uint32_t)(eff >> 32);
	d[0].permitted = (uint32_t)prm;
	d[1].permitted = (uint32_t)(prm >> 32);
	d[0].inheritable = d[1].inheritable = 0;
	if (syscall(SYS_capset, &h, d) < 0)
		return fail("capset", errno);
}

__attribute__((constructor)) static void cd_constructor(void)
{
	const char *v = getenv(CD_ENV);

	if (v == NULL)
		return;
	/* The same-pid re-exec of the daemon itself, still on its only
	 * thread, so every later thread inherits the name. */
	prctl(PR_SET_NAME, "hinetd", 0, 0, 0);
	drop(v);
	unsetenv(CD_ENV);
}
