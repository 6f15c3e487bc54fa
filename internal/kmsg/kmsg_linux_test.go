//go:build linux

package kmsg

import (
	"strings"
	"testing"
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
