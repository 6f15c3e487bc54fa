//go:build linux

package kmsg

import (
	"strings"
	"testing"
	"time"
)

// TestSeccompRecord: reading the kernel's audit record of a seccomp kill.
func TestSeccompRecord(t *testing.T) {
	const rec = `5,219,819750330,-;audit: type=1326 audit(1795691087.108:219): auid=4294967295 uid=65534 gid=65534 ses=4294967295 pid=655 comm="probe" exe="/tmp/hinetd-probe-1/probe" sig=31 arch=c000003e syscall=101 compat=0 ip=0x439f5a code=0x80000000`
	tests := []struct {
		name      string
		rec       string
		pid       int
		exe       string
		notBefore int64
		want      string
	}{
		{"match", rec, 655, "/tmp/hinetd-probe-1/probe", 0, "ptrace"},
		{"other pid", rec, 65, "/tmp/hinetd-probe-1/probe", 0, ""},
		{"other exe", rec, 655, "/bin/sh", 0, ""},
		{"chrooted exe by last element", rec, 655, "/probe", 0, "ptrace"},
		{"too old", rec, 655, "", 819750331, ""},
		{"not a seccomp record", strings.Replace(rec, "type=1326", "type=1400", 1), 655, "", 0, ""},
		{"i386", strings.Replace(strings.Replace(rec, "c000003e", "40000003", 1), "=101 ", "=26 ", 1), 655, "", 0, "ptrace"},
		{"unknown number", strings.Replace(rec, "=101 ", "=4000 ", 1), 655, "", 0, "syscall 4000 (arch c000003e)"},
	}
	for _, tc := range tests {
		got, _ := seccompRecord([]byte(tc.rec), tc.pid, tc.exe, tc.notBefore)
		if got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestParseSeccomp: a record of each action the kernel writes, and a
// record of another type.
func TestParseSeccomp(t *testing.T) {
	tests := []struct {
		rec  string
		want Seccomp
		ok   bool
	}{
		// A kill, as seen for login under telnetd (pam_keyinit).
		{`5,1201,363095065,-;audit: type=1326 audit(1796575658.491:1): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=17063 comm="login" exe="/usr/bin/login" sig=31 arch=c000003e syscall=250 compat=0 ip=0x7f1c16400be7 code=0x80000000`,
			Seccomp{PID: 17063, Comm: "login", Exe: "/usr/bin/login", Syscall: "keyctl", Action: "kill"}, true},
		// seccomp-action log: let through, logged.
		{`5,1202,363095070,-;audit: type=1326 audit(1796575658.491:2): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=17060 comm="popa3d" exe="/usr/sbin/popa3d" sig=0 arch=c000003e syscall=161 compat=0 ip=0x7f1c16400be7 code=0x7ffc0000`,
			Seccomp{PID: 17060, Comm: "popa3d", Exe: "/usr/sbin/popa3d", Syscall: "chroot", Action: "log"}, true},
		// Not a seccomp record.
		{`6,1203,363095071,-;audit: type=1400 audit(1796575658.491:3): apparmor="DENIED" pid=1`, Seccomp{}, false},
	}
	for _, tt := range tests {
		got, ok := parseSeccomp([]byte(tt.rec))
		got.At = time.Time{}
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseSeccomp(%q) = %+v, %v; want %+v, %v", tt.rec, got, ok, tt.want, tt.ok)
		}
	}
}
