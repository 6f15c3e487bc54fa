package test

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startDetached runs hinetd as an init script would, without -d, in dir
// (hosts files, policy directory and spool there), and returns its exit
// status, its stderr and how long it took. A daemon it leaves running is
// stopped at the end of the test through its pid file.
func startDetached(t *testing.T, dir, conf string, args ...string) (int, string, time.Duration) {
	t.Helper()
	for _, f := range []string{"hosts.allow", "hosts.deny"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			os.WriteFile(filepath.Join(dir, f), nil, 0o644)
		}
	}
	os.MkdirAll(filepath.Join(dir, "policy"), 0o755)
	all := append([]string{"--hosts-allow", filepath.Join(dir, "hosts.allow"), "--hosts-deny", filepath.Join(dir, "hosts.deny"),
		"--policy", filepath.Join(dir, "policy"), "--spool-dir", filepath.Join(dir, "spool"),
		"--log-to", "file://" + filepath.Join(dir, "audit.jsonl")}, args...)
	cmd := exec.Command(bin(t, "hinetd"), append(all, conf)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TMPDIR=" + dir}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the start command has not returned after 30 s; stderr: %s", stderr.String())
	}
	took := time.Since(start)
	for i, a := range args {
		if a == "-p" && i+1 < len(args) {
			pidFile := args[i+1]
			t.Cleanup(func() {
				if b, err := os.ReadFile(pidFile); err == nil {
					if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
						syscall.Kill(pid, syscall.SIGTERM)
					}
				}
			})
		}
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, stderr.String(), took
}

// TestStartReportsFailure (issue 13, item 7): without -d, the start
// command returns once the daemon serves, with its pid file there and
// its listener accepting, and exits 0; when the daemon cannot start it
// prints why on stderr and exits non-zero, for five kinds of failure.
func TestStartReportsFailure(t *testing.T) {
	needRoot(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	echo := func(port int) string {
		return fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port)
	}
	for _, tc := range []struct {
		name    string
		setup   func(dir string) (conf string, args []string)
		wantErr string
	}{
		{"missing inetd.conf", func(dir string) (string, []string) {
			return filepath.Join(dir, "no-such.conf"), nil
		}, "no-such.conf: no such file or directory"},
		{"bad policy", func(dir string) (string, []string) {
			os.MkdirAll(filepath.Join(dir, "policy"), 0o755)
			os.WriteFile(filepath.Join(dir, "policy", "hinetd.policy"), []byte("[default]\nno-such-key 1\n"), 0o644)
			return writeConf(t, dir, echo(freePort(t))), nil
		}, "hinetd.policy:2"},
		{"bad hosts.deny", func(dir string) (string, []string) {
			os.WriteFile(filepath.Join(dir, "hosts.deny"), []byte("ALL ALL\n"), 0o644)
			return writeConf(t, dir, echo(freePort(t))), nil
		}, "hosts.deny:1:1"},
		{"every listener fails to bind", func(dir string) (string, []string) {
			return writeConf(t, dir, echo(busyPort)), nil
		}, "no service could start (1 errors in " + "DIR/inetd.conf):\nDIR/inetd.conf:1: bind(127.0.0.1:" + strconv.Itoa(busyPort) + "): address already in use"},
		{"pid file in a missing directory", func(dir string) (string, []string) {
			return writeConf(t, dir, echo(freePort(t))), []string{"-p", filepath.Join(dir, "no-such-dir", "hinetd.pid")}
		}, "pid file " + "DIR/no-such-dir/hinetd.pid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			conf, args := tc.setup(dir)
			code, stderr, took := startDetached(t, dir, conf, args...)
			want := strings.ReplaceAll(tc.wantErr, "DIR", dir)
			if code == 0 || !strings.Contains(stderr, "hinetd: cannot start: ") || !strings.Contains(stderr, want) {
				t.Fatalf("exit %d after %v, stderr:\n%s\nwant non-zero and %q", code, took, stderr, want)
			}
			t.Logf("exit %d after %v: %s", code, took.Round(time.Millisecond), strings.TrimSpace(stderr))
		})
	}

	// Success: when the command returns 0, the pid file is there and
	// the service answers.
	dir := t.TempDir()
	port := freePort(t)
	pidFile := filepath.Join(dir, "hinetd.pid")
	code, stderr, took := startDetached(t, dir, writeConf(t, dir, echo(port)), "-p", pidFile)
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("no pid file when the start command returned after %v: %v", took, err)
	}
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 100*time.Millisecond)
	if err != nil {
		t.Fatalf("not listening when the start command returned: %v", err)
	}
	c.Close()
	t.Logf("served %v after the start command began (pid %s)", took.Round(time.Millisecond), strings.TrimSpace(string(b)))
}

func writeConf(t *testing.T, dir, text string) string {
	t.Helper()
	p := filepath.Join(dir, "inetd.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStartSomeBindsFail (issue 13, item 7): with one of two listeners
// unable to bind, the daemon serves the other; the failure is a
// bind-error record (not config-error) and the start record counts it.
func TestStartSomeBindsFail(t *testing.T) {
	needRoot(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	good := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n127.0.0.1:%d stream tcp nowait root internal echo\n", busyPort, good))
	d.waitLog("event=start", time.Second, "errors=1")
	d.waitLog("event=bind-error", time.Second, "inetd.conf:1:", "address already in use")
	if n := d.countLog("event=config-error"); n != 0 {
		t.Fatalf("%d config-error records for a bind failure", n)
	}
	if got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", good), []byte("ok"))); got != "ok" {
		t.Fatalf("the service that bound: %q", got)
	}
}
