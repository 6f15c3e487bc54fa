package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWaitServerFollowsConfig: in.tftpd, a wait server that stays for 15
// minutes after a request, is stopped (SIGTERM) by a reload that changes
// its policy, so that the next request runs under the new policy; and it
// is stopped when hinetd stops, so that no server is left holding the
// port. On the old main the old server kept serving after the reload and
// outlived hinetd.
func TestWaitServerFollowsConfig(t *testing.T) {
	needRoot(t)
	for _, p := range []string{"/usr/sbin/in.tftpd", "/usr/bin/tftp"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s missing (make deps-test): %v", p, err)
		}
	}
	port := freePort(t)
	pol := func(mark string) string {
		return fmt.Sprintf("[service %d]\ncaps CAP_SETUID CAP_SETGID\nenv MARK=%s\n", port, mark)
	}
	d := startDaemonWith(t, nil, map[string]string{"policy/p.policy": pol("one"), "tftp/f": "tftp-file\n"},
		fmt.Sprintf("127.0.0.1:%d dgram udp wait root /usr/sbin/in.tftpd in.tftpd -u nobody\n", port))
	os.Chmod(filepath.Join(d.dir, "tftp"), 0o755)
	get := func(n int) int {
		t.Helper()
		dst := filepath.Join(t.TempDir(), "got")
		out, err := exec.Command("timeout", "10", "tftp", "127.0.0.1", strconv.Itoa(port), "-c", "get",
			filepath.Join(d.dir, "tftp/f"), dst).CombinedOutput()
		if b, _ := os.ReadFile(dst); err != nil || string(b) != "tftp-file\n" {
			t.Fatalf("tftp get %d: %v %q\n%s", n, err, b, out)
		}
		return spawnPID(t, d, fmt.Sprintf(" %d/udp ", port), n)
	}
	alive := func(pid int) bool { return syscall.Kill(pid, 0) == nil && !isZombie(pid) }
	gone := func(pid int, what string) {
		t.Helper()
		deadline := time.Now().Add(waitGrace)
		for alive(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL) // ours: left by the daemon under test
				t.Fatalf("wait server %d still runs %v after %s; log:\n%s", pid, waitGrace, what, d.logText())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	pid1 := get(1)
	time.Sleep(200 * time.Millisecond)
	if !alive(pid1) {
		t.Fatalf("in.tftpd %d exited after one request; it should wait for more", pid1)
	}
	d.writeFile("policy/p.policy", pol("two"))
	d.reload(1)
	gone(pid1, "a reload that changed its policy")
	d.waitLog("stopping the wait server: its configuration changed", 5*time.Second, fmt.Sprintf("pid=%d", pid1))

	pid2 := get(2)
	if pid2 == pid1 {
		t.Fatalf("the second request went to the old server %d", pid1)
	}
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid2))
	if err != nil || !strings.Contains(string(env), "MARK=two") {
		t.Fatalf("new server's environment %q (%v), want MARK=two", env, err)
	}

	d.stop()
	gone(pid2, "hinetd stopped")
	if !strings.Contains(d.logText(), "stopping the wait server: hinetd is stopping") {
		t.Errorf("no record of the wait server stopped at exit; log:\n%s", d.logText())
	}
}

// waitGrace bounds how long a stopped wait server may take to go: the
// daemon's SIGTERM, its 3 s grace, its SIGKILL.
const waitGrace = 6 * time.Second

func isZombie(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] == 'Z'
}

// spawnPID waits for the n-th spawn record (1-based) of the service whose
// log lines hold part (" ftp/tcp ") and returns the server's pid.
func spawnPID(t *testing.T, d *daemon, part string, n int) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var pids []int
		for _, line := range strings.Split(d.logText(), "\n") {
			if !lineHas(line, "event=spawn") || !strings.Contains(line, part) {
				continue
			}
			for _, f := range strings.Fields(line) {
				if v, ok := strings.CutPrefix(f, "pid="); ok {
					p, _ := strconv.Atoi(v)
					pids = append(pids, p)
				}
			}
		}
		if len(pids) >= n {
			return pids[n-1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no spawn record %d with %q; log:\n%s", n, part, d.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestNoBindBesideStale: a datagram socket another process holds on the
// port (as a wait server of an earlier hinetd holds its listening socket,
// SO_REUSEADDR set) stops hinetd from binding beside it: the service is a
// bind-error naming the holder, the others start. On the old main hinetd
// bound beside it, and the kernel handed datagrams to either.
func TestNoBindBesideStale(t *testing.T) {
	needRoot(t)
	port, other := freePort(t), freePort(t)
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d dgram udp wait nobody /bin/cat cat\n127.0.0.1:%d stream tcp nowait nobody /bin/echo echo up\n", port, other))
	// The holder is named when hinetd may read its descriptors (not
	// this test's: it has capabilities the daemon dropped), else by the
	// socket's inode.
	d.waitLog("event=bind-error", 5*time.Second, fmt.Sprintf("udp port %d is held by", port), "not by this hinetd")
	if n := d.countLog("event=listener-up", fmt.Sprintf("%d/udp", port)); n != 0 {
		t.Errorf("hinetd bound beside the socket another process holds:\n%s", d.logText())
	}
	if got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", other), nil)); got != "up\n" {
		t.Errorf("the other service: %q", got)
	}
}
