package test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestCompileNotes: what the policy compiler notes is logged at its
// severity, tagged with what it is, once: a pass of a variable hinetd's
// environment lacks is a notice (once, not once per service), a user
// override is info naming both users, and a reload does not repeat them.
// On the old main each was "err config-error … note=\"policy overrides
// inetd.conf\"", one per service, at every start and reload.
func TestCompileNotes(t *testing.T) {
	needRoot(t)
	p1, p2 := freePort(t), freePort(t)
	d := startDaemonWith(t, nil, map[string]string{
		"policy/p.policy": fmt.Sprintf("[default]\npass HINETD_NO_SUCH_VAR\n[service %d]\nuser nobody\n", p2),
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo\n127.0.0.1:%d stream tcp nowait root /bin/echo echo\n", p1, p2))
	pass := d.waitLog(`pass "HINETD_NO_SUCH_VAR": not in hinetd's environment`, 5*time.Second, "note=pass-absent")
	user := d.waitLog(`policy sets user "nobody" instead of inetd.conf's "root"`, 5*time.Second, "note=override")
	if f := strings.Fields(pass); f[2] != "notice" {
		t.Errorf("pass note at severity %s, want notice: %s", f[2], pass)
	}
	if f := strings.Fields(user); f[2] != "info" {
		t.Errorf("user note at severity %s, want info: %s", f[2], user)
	}
	d.reload(1)
	if n := d.countLog("note=pass-absent"); n != 1 {
		t.Errorf("%d pass notes after start and reload, want 1:\n%s", n, d.logText())
	}
	if n := d.countLog("note=override"); n != 1 {
		t.Errorf("%d user notes after start and reload, want 1:\n%s", n, d.logText())
	}
	if n := d.countLog("policy overrides inetd.conf"); n != 0 {
		t.Errorf("notes still tagged \"policy overrides inetd.conf\":\n%s", d.logText())
	}
}
