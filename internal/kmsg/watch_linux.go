//go:build linux

package kmsg

import (
	"bytes"
	"strconv"
	"time"

	"golang.org/x/sys/unix"
)

// actionName names the seccomp return action of a record's code= field.
func actionName(code string) string {
	v, err := strconv.ParseUint(code, 0, 32)
	if err != nil {
		return code
	}
	switch uint32(v) & unix.SECCOMP_RET_ACTION_FULL {
	case unix.SECCOMP_RET_KILL_PROCESS, unix.SECCOMP_RET_KILL_THREAD:
		return "kill"
	case unix.SECCOMP_RET_LOG:
		return "log"
	case unix.SECCOMP_RET_ERRNO:
		return "errno"
	case unix.SECCOMP_RET_TRAP:
		return "trap"
	case unix.SECCOMP_RET_TRACE:
		return "trace"
	case unix.SECCOMP_RET_USER_NOTIF:
		return "user-notif"
	}
	return code
}

// parseSeccomp - read one /dev/kmsg record as a seccomp audit record.
func parseSeccomp(rec []byte) (Seccomp, bool) {
	semi := bytes.IndexByte(rec, ';')
	if semi < 0 || !bytes.Contains(rec[semi:], []byte(" type=1326 ")) {
		return Seccomp{}, false
	}
	text := rec[semi:]
	pidS, ok := field(text, "pid=")
	pid, err := strconv.Atoi(pidS)
	if !ok || err != nil {
		return Seccomp{}, false
	}
	nr, ok := field(text, "syscall=")
	if !ok {
		return Seccomp{}, false
	}
	arch, _ := field(text, "arch=")
	code, _ := field(text, "code=")
	comm, _ := field(text, "comm=")
	exe, _ := field(text, "exe=")
	unq := func(s string) string {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
		return s
	}
	r := Seccomp{PID: pid, Comm: unq(comm), Exe: unq(exe), Syscall: syscallName(nr, arch), Action: actionName(code)}
	// The record's time is microseconds of CLOCK_MONOTONIC.
	if hdr := bytes.Split(rec[:semi], []byte(",")); len(hdr) >= 3 {
		var now unix.Timespec
		if usec, err := strconv.ParseInt(string(hdr[2]), 10, 64); err == nil && unix.ClockGettime(unix.CLOCK_MONOTONIC, &now) == nil {
			r.At = time.Now().Add(-time.Duration(now.Nano()/1000-usec) * time.Microsecond)
		}
	}
	return r, true
}

// Watch calls f for every seccomp audit record the kernel logs from now
// on, until stop is closed; f runs on Watch's goroutine. It returns at
// once if the kernel log cannot be read (no /dev/kmsg, no CAP_SYSLOG with
// kernel.dmesg_restrict=1), with the error; records auditd takes off the
// kernel log never reach it.
func Watch(stop <-chan struct{}, f func(Seccomp)) error {
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	// Only what comes after: the ring's old records were someone
	// else's, or are reported already.
	if _, err := unix.Seek(fd, 0, unix.SEEK_END); err != nil {
		unix.Close(fd)
		return err
	}
	go func() {
		defer unix.Close(fd)
		buf := make([]byte, 8192)
		for {
			select {
			case <-stop:
				return
			default:
			}
			// Poll with a timeout so that stop is seen: a read blocked
			// on /dev/kmsg is not woken by closing the descriptor.
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			if n, err := unix.Poll(pfd, 500); n <= 0 || err != nil {
				if err != nil && err != unix.EINTR {
					time.Sleep(500 * time.Millisecond)
				}
				continue
			}
			for i := 0; i < 1024; i++ { // what is there now, bounded
				n, err := unix.Read(fd, buf)
				if err == unix.EPIPE || err == unix.EINTR { // overwritten while reading: skip on
					continue
				}
				if err != nil || n <= 0 {
					break
				}
				if r, ok := parseSeccomp(buf[:n]); ok {
					f(r)
				}
			}
		}
	}()
	return nil
}
