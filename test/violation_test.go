package test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestSeccompViolationInTree: a seccomp kill of a process the server
// started (here a shell's child, as login is telnetd's) is logged with the
// process and the system call's name, though the server itself exits 0;
// and a call that "seccomp-action log" lets through is in hinetd's own log
// by name, not only in the kernel's. On the old main neither was logged.
func TestSeccompViolationInTree(t *testing.T) {
	needRoot(t)
	p := probe(t)
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	script := filepath.Join(dir, "server")
	os.WriteFile(script, []byte(fmt.Sprintf("#!/bin/sh\n%s quiet mount\necho after\n", p)), 0o755)
	kill, logp := freePort(t), freePort(t)
	d := startDaemonWith(t, nil, map[string]string{
		"policy/p.policy": fmt.Sprintf("[service %d]\nseccomp-action log\n", logp),
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s server\n"+
		"127.0.0.1:%d stream tcp nowait nobody %s probe quiet mount\n", kill, script, logp, p))

	// The probe prints the call it makes, the shell what killed it.
	if got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", kill), nil)); got != "=== call\nmount\nBad system call\nafter\n" {
		t.Fatalf("server: %q", got)
	}
	d.waitLog("event=exit", 5*time.Second, fmt.Sprintf(" %d/tcp ", kill), "status=0")
	line := d.waitLog("seccomp violation: probe (pid ", 5*time.Second, fmt.Sprintf(" %d/tcp ", kill),
		"killed for mount", "syscall=mount", "action=kill", "exe="+p)

	t.Log(line)
	dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", logp), nil)
	line = d.waitLog("seccomp-action log: probe (pid ", 5*time.Second, fmt.Sprintf(" %d/tcp ", logp),
		"called mount, which the filter does not allow", "syscall=mount", "action=log")
	t.Log(line)
}
