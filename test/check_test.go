package test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/testenv"
)

// runStatus runs the built binary name and returns its output (stdout and
// stderr) and exit status; it is killed after 30 s.
func runStatus(t *testing.T, name string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin(t, name), args...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish in 30 s:\n%s", name, args, out)
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

// TestHinetdCheck runs hinetd-check on files with risky set-ups and
// errors, and checks what it reports and its exit status.
func TestHinetdCheck(t *testing.T) {
	_, write := testenv.FileWriter(t)
	conf := write("inetd.conf", `127.0.0.1:7019 dgram udp wait root internal chargen
127.0.0.1:7100 stream tcp nowait root /bin/cat cat
127.0.0.1:7101 stream tcp nowait nobody /bin/cat cat
127.0.0.1:7102 stream tcp nowait nobody /bin/cat cat
`)
	pol := write("hinetd.policy", `[service 7101]
caps CAP_NET_BIND_SERVICE
[service 7102]
seccomp off
`)
	allow := write("hosts.allow", "cat: 127.0.0.1\nALL: ALL\ncat: 10.0.0.1\n")
	deny := write("hosts.deny", "")
	run := func(args ...string) (string, int) { return runStatus(t, "hinetd-check", args...) }
	out, code := run("--policy", pol, "--hosts-allow", allow, "--hosts-deny", deny, conf)
	if code != 0 {
		t.Fatalf("exit %d on files without errors:\n%s", code, out)
	}
	for _, want := range []string{
		"offers UDP chargen",
		"7100 runs as root",
		"7101 keeps capabilities CAP_NET_BIND_SERVICE",
		"7102 has no seccomp filter",
		"user nobody (uid 65534)",
		"hosts.allow:3",   // shadowed by ALL: ALL on line 2
		"no-default-deny", // hosts.deny lacks ALL: ALL
	} {
		if !strings.Contains(out, want) && !strings.Contains(strings.ReplaceAll(out, " ", "-"), want) {
			t.Errorf("hinetd-check output lacks %q:\n%s", want, out)
		}
	}
	bad := write("hosts.deny", "ALL: [2001:db8::/32]\n")
	out, code = run("--policy", pol, "--hosts-allow", allow, "--hosts-deny", bad, conf)
	if code != 1 || !strings.Contains(out, "hosts.deny:1") {
		t.Fatalf("a malformed hosts.deny: exit %d, output:\n%s", code, out)
	}
}

// TestCheckOneChecker: hinetd --check is hinetd-check: the same report,
// byte for byte, and the same exit status, on files with errors and on
// clean ones (issue 10 item 6: they had two formats).
func TestCheckOneChecker(t *testing.T) {
	_, write := testenv.FileWriter(t)
	bad := write("bad.conf", "127.0.0.1:7019 dgram udp wait root internal chargen\n"+
		"127.0.0.1:7100 stream tcp nowait nobody /bin/cat cat\n"+
		"127.0.0.1:7101 strem tcp nowait root internal echo\n"+
		"127.0.0.1:7102 stream tcp nowait no-such-user-hinetd /bin/cat cat\n")
	good := write("good.conf", "127.0.0.1:7100 stream tcp nowait nobody /bin/cat cat\n")
	pol := write("hinetd.policy", "[service 7100]\nseccomp off\n")
	allow := write("hosts.allow", "cat: 127.0.0.1\n")
	denyBad := write("hosts.deny", "ALL: [2001:db8::/32]\n")
	denyGood := write("hosts.deny.good", "ALL: ALL\n")
	// A FIFO is refused as the daemon's watcher refuses it, not waited on.
	fifo := filepath.Join(filepath.Dir(denyGood), "hosts.deny.fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		conf, deny string
		wantCode   int
	}{
		{bad, denyBad, 1},
		{good, denyBad, 1},
		{good, denyGood, 0},
		{good, fifo, 1},
	} {
		args := []string{"--policy", pol, "--hosts-allow", allow, "--hosts-deny", tt.deny, tt.conf}
		want, wantCode := runStatus(t, "hinetd-check", args...)
		got, code := runStatus(t, "hinetd", append([]string{"--check"}, args...)...)
		if got != want || code != wantCode {
			t.Errorf("%s, %s: hinetd --check (exit %d):\n%s\nhinetd-check (exit %d):\n%s", tt.conf, tt.deny, code, got, wantCode, want)
		}
		if wantCode != tt.wantCode {
			t.Errorf("%s, %s: exit %d, want %d:\n%s", tt.conf, tt.deny, wantCode, tt.wantCode, want)
		}
	}
}
