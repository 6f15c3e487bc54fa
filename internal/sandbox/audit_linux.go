//go:build linux

package sandbox

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// auditSyscall - find the system call a seccomp filter killed pid for, in
// the kernel's audit record (type 1326, AUDIT_SECCOMP) on /dev/kmsg, and
// name it. The record is printed by kauditd, possibly after the child was
// reaped, so it is looked for again until wait has passed. Returns "" when
// no record is found: auditd running takes the records off the kernel log,
// and printk rate limiting may drop some.
func auditSyscall(pid int, exe string, wait time.Duration) string {
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
	f, err := os.OpenFile("/dev/kmsg", os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	pidTok := []byte(" pid=" + strconv.Itoa(pid) + " ")
	exeTok := []byte(` exe="` + exe + `"`)
	buf := make([]byte, 8192)
	found := ""
	for i := 0; i < 1<<16; i++ { // bounded: the ring holds far fewer records
		n, err := f.Read(buf)
		if err != nil {
			if errors.Is(err, unix.EPIPE) { // overwritten while reading: skip on
				continue
			}
			break
		}
		rec := buf[:n]
		semi := bytes.IndexByte(rec, ';')
		if semi < 0 || !bytes.Contains(rec, []byte("type=1326")) || !bytes.Contains(rec, pidTok) {
			continue
		}
		if exe != "" && !bytes.Contains(rec, exeTok) && bytes.Contains(rec, []byte(" exe=")) {
			// A chrooted service's exe is shown from the real root; accept a
			// suffix match of the path's last element.
			if !bytes.Contains(rec, []byte(lastElem(exe)+`"`)) {
				continue
			}
		}
		if hdr := bytes.Split(rec[:semi], []byte(",")); len(hdr) >= 3 {
			if ts, err := strconv.ParseInt(string(hdr[2]), 10, 64); err == nil && ts < notBeforeUsec {
				continue
			}
		}
		nr, ok := field(rec, "syscall=")
		if !ok {
			continue
		}
		arch, _ := field(rec, "arch=")
		found = syscallName(nr, arch)
	}
	return found
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
