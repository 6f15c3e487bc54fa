package daemon

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"

	"golang.org/x/sys/unix"
)

// writePidFile writes the daemon's pid to path without following a
// symbolic link at path: in a world-writable directory anyone can plant
// one pointing at a root-owned file, which open(O_TRUNC) would truncate
// and overwrite (CVE-2008-3523-style pid file attacks; open(2) O_NOFOLLOW).
// The pid goes to a new file created O_EXCL|O_NOFOLLOW under a random
// name in the same directory, and rename(2) puts it in place: rename
// replaces a symbolic link itself, never its target, and readers never
// see a half-written file. Everything is done relative to one descriptor
// of the directory, so the directory cannot be swapped half-way.
//
// remove unlinks the pid file when the daemon stops, if the name still
// holds the file written here.
func writePidFile(path string) (remove func(), err error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	dfd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("pid file %s: open(%s): %w", path, dir, err)
	}
	fail := func(format string, args ...any) (func(), error) {
		unix.Close(dfd)
		return nil, fmt.Errorf("pid file %s: "+format, append([]any{path}, args...)...)
	}
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := "." + base + "." + hex.EncodeToString(rnd[:])
	fd, err := unix.Openat(dfd, tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fail("openat(%s): %w", tmp, err)
	}
	pid := []byte(strconv.Itoa(unix.Getpid()) + "\n")
	_, werr := unix.Write(fd, pid)
	if werr == nil {
		// 0644 whatever the umask: tools read pid files as any user.
		werr = unix.Fchmod(fd, 0o644)
	}
	var st unix.Stat_t
	if werr == nil {
		werr = unix.Fstat(fd, &st)
	}
	unix.Close(fd)
	if werr != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return fail("write(%s): %w", tmp, werr)
	}
	if err := unix.Renameat(dfd, tmp, dfd, base); err != nil {
		unix.Unlinkat(dfd, tmp, 0)
		return fail("rename(%s, %s): %w", tmp, base, err)
	}
	return func() {
		defer unix.Close(dfd)
		var now unix.Stat_t
		if unix.Fstatat(dfd, base, &now, unix.AT_SYMLINK_NOFOLLOW) == nil && now.Dev == st.Dev && now.Ino == st.Ino {
			unix.Unlinkat(dfd, base, 0)
		}
	}, nil
}
