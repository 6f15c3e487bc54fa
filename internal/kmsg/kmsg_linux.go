//go:build linux

// Package kmsg reads the kernel's log (/dev/kmsg) for what hinetd cannot
// learn any other way: which system call a seccomp filter killed a
// service for. The kernel writes that only in its audit record (type
// 1326, AUDIT_SECCOMP), printed to the kernel log when auditd is not
// running. Reading it needs CAP_SYSLOG when kernel.dmesg_restrict is 1.
package kmsg

import (
	"bytes"
	"fmt"
	"strconv"
	"time"

	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// SeccompSyscall - find the system call a seccomp filter killed pid for, in
// the kernel's audit record (type 1326, AUDIT_SECCOMP) on /dev/kmsg, and
// name it. The record is printed by kauditd, possibly after the child was
// reaped, so it is looked for again until wait has passed. Returns "" when
// no record is found: auditd running takes the records off the kernel log,
// and printk rate limiting may drop some.
func SeccompSyscall(pid int, exe string, wait time.Duration) string {
	var now unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &now)
	// Records older than a minute before now cannot be this child's unless
	// it ran that long; pid reuse within the window is what the pid check
	// leaves, and exe narrows it further.
	notBefore := now.Nano()/1000 - int64(time.Minute/time.Microsecond)
	deadline := time.Now().Add(wait)
	for {
		if name := scanKmsg(pid, exe, notBefore); name != "" {
			return name
		}
		if time.Now().After(deadline) {
			return ""
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// scanKmsg reads the whole kernel log once and returns the name of the
// system call in the newest seccomp record for pid.
func scanKmsg(pid int, exe string, notBeforeUsec int64) string {
	// Raw reads: an *os.File would wait in the poller for new records
	// instead of returning EAGAIN at the end of the ring.
	fd, err := unix.Open("/dev/kmsg", unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return ""
	}
	defer unix.Close(fd)
	buf := make([]byte, 8192)
	found := ""
	for i := 0; i < 1<<16; i++ { // bounded: the ring holds far fewer records
		n, err := unix.Read(fd, buf)
		if err == unix.EPIPE || err == unix.EINTR { // overwritten while reading: skip on
			continue
		}
		if err != nil || n <= 0 {
			break
		}
		if name, ok := seccompRecord(buf[:n], pid, exe, notBeforeUsec); ok {
			found = name
		}
	}
	return found
}

// seccompRecord - match one /dev/kmsg record ("pri,seq,usec,flags;text")
// against a seccomp kill of pid running exe, no older than notBeforeUsec;
// returns the system call's name.
func seccompRecord(rec []byte, pid int, exe string, notBeforeUsec int64) (string, bool) {
	semi := bytes.IndexByte(rec, ';')
	if semi < 0 || !bytes.Contains(rec, []byte(" type=1326 ")) ||
		!bytes.Contains(rec, []byte(" pid="+strconv.Itoa(pid)+" ")) {
		return "", false
	}
	if exe != "" && bytes.Contains(rec, []byte(" exe=")) && !bytes.Contains(rec, []byte(` exe="`+exe+`"`)) {
		// A chrooted service's exe is shown from the real root: accept
		// a match of the path's last element.
		if !bytes.Contains(rec, []byte(lastElem(exe)+`"`)) {
			return "", false
		}
	}
	if hdr := bytes.Split(rec[:semi], []byte(",")); len(hdr) >= 3 {
		if ts, err := strconv.ParseInt(string(hdr[2]), 10, 64); err == nil && ts < notBeforeUsec {
			return "", false
		}
	}
	nr, ok := field(rec, "syscall=")
	if !ok {
		return "", false
	}
	arch, _ := field(rec, "arch=")
	name := syscallName(nr, arch)
	return name, name != ""
}

func lastElem(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i:]
		}
	}
	return p
}

// field returns the value of " key" in an audit record, up to a space.
func field(rec []byte, key string) (string, bool) {
	i := bytes.Index(rec, []byte(" "+key))
	if i < 0 {
		return "", false
	}
	v := rec[i+1+len(key):]
	if j := bytes.IndexAny(v, " \n"); j >= 0 {
		v = v[:j]
	}
	return string(v), true
}

// syscallName names system call nr of the audit architecture arch (hex, as
// in the record); an unknown one reads "syscall 1234 (arch c000003e)".
func syscallName(nr, arch string) string {
	n, err := strconv.ParseInt(nr, 10, 32)
	if err != nil {
		return ""
	}
	var sa seccomp.ScmpArch
	switch arch {
	case "c000003e":
		sa = seccomp.ArchAMD64
		if n&0x40000000 != 0 {
			sa = seccomp.ArchX32
		}
	case "40000003":
		sa = seccomp.ArchX86
	case "c00000b7":
		sa = seccomp.ArchARM64
	}
	if sa != 0 {
		if name, err := seccomp.ScmpSyscall(n).GetNameByArch(sa); err == nil {
			return name
		}
	}
	return fmt.Sprintf("syscall %d (arch %s)", n, arch)
}
