//go:build linux

/*
 * capdrop.h - between capdrop.c's constructor and capdrop_linux.go.
 */
#ifndef HINETD_CAPDROP_H
#define HINETD_CAPDROP_H

/* The environment variable that makes the constructor drop the process's
 * capabilities before the Go runtime starts (see Drop). Its value is the
 * kept set as a hexadecimal bit mask. */
#define CD_ENV "_HINETD_PARENT_CAPS"

/* Set by the constructor when CD_ENV was present: cd_done is 1; cd_op
 * names the operation that failed (NULL when none did) and cd_errno its
 * errno. */
extern int cd_done, cd_errno;
extern const char *cd_op;

#endif
