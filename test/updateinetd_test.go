package test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/testenv"
)

// updateInetd runs Debian's update-inetd on the daemon's inetd.conf
// (--file), never on the machine's: UPDATE_INETD_FAKE_IT keeps it from
// signalling or restarting this machine's inetd, so that only hinetd's
// own watch of its file can make the change take effect.
func updateInetd(t *testing.T, conf string, args ...string) {
	t.Helper()
	testenv.NeedFile(t, "/usr/sbin/update-inetd", "update-inetd")
	cmd := exec.Command("/usr/sbin/update-inetd", append([]string{"--file", conf}, args...)...)
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "UPDATE_INETD_FAKE_IT=1", "UPDATE_INETD_NOXINETD=1",
		"DEBIAN_FRONTEND=noninteractive"}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("update-inetd %v: %v\n%s", args, err, out)
	}
}

// answers reports whether a TCP service on addr accepts a connection.
func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// waitAnswers waits until answers(addr) is want and returns how long it took.
func waitAnswers(t *testing.T, addr string, want bool, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for answers(addr) != want {
		if time.Since(start) > timeout {
			t.Fatalf("%s: answering is not %v after %v", addr, want, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// TestUpdateInetd (issue 14: "update-inetd cannot reach hinetd ... a
// package that adds a service changes nothing until someone sends SIGHUP
// by hand"): the real update-inetd's --add, --disable, --enable and
// --remove change the running service set, with no signal sent.
func TestUpdateInetd(t *testing.T) {
	needRoot(t)
	p1, p2 := freePort(t), freePort(t)
	d := startDaemon(t, fmt.Sprintf("%d stream tcp nowait root internal echo\n", p1), "-a", "127.0.0.1")
	a1, a2 := fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p2)
	if !answers(a1) || answers(a2) {
		t.Fatal("start: want the first service only")
	}
	updateInetd(t, d.conf, "--add", fmt.Sprintf(`%d\tstream\ttcp\tnowait\troot\tinternal\tdaytime`, p2))
	took := waitAnswers(t, a2, true, 5*time.Second)
	t.Logf("--add: answering after %v", took)
	if got := string(dialRead(t, "tcp", a2, nil)); !strings.Contains(got, ":") {
		t.Fatalf("added daytime says %q", got)
	}
	updateInetd(t, d.conf, "--disable", fmt.Sprint(p2))
	t.Logf("--disable: gone after %v", waitAnswers(t, a2, false, 5*time.Second))
	updateInetd(t, d.conf, "--enable", fmt.Sprint(p2))
	t.Logf("--enable: answering after %v", waitAnswers(t, a2, true, 5*time.Second))
	updateInetd(t, d.conf, "--remove", fmt.Sprintf(`%d\s.*`, p2))
	waitAnswers(t, a2, false, 5*time.Second)
	if !answers(a1) {
		t.Fatal("the first service stopped answering")
	}
	// One reload per change, none for nothing: 4 edits, 4 reloads.
	time.Sleep(2 * configSettleForTest)
	if n := d.countLog("event=reload"); n != 4 {
		t.Errorf("%d reloads for 4 edits:\n%s", n, d.logText())
	}
	// touch changes nothing: no reload.
	now := time.Now()
	os.Chtimes(d.conf, now, now)
	time.Sleep(2 * configSettleForTest)
	if n := d.countLog("event=reload"); n != 4 {
		t.Errorf("a touch reloaded: %d reloads", n)
	}
}

// configSettleForTest is a little more than the daemon's configSettle.
const configSettleForTest = 500 * time.Millisecond

// TestNoWatch: with --no-watch an edit waits for SIGHUP, as in inetd(8).
func TestNoWatch(t *testing.T) {
	needRoot(t)
	p1, p2 := freePort(t), freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", p1), "--no-watch")
	d.writeFile("inetd.conf", fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n127.0.0.1:%d stream tcp nowait root internal echo\n", p1, p2))
	time.Sleep(3 * configSettleForTest)
	a2 := fmt.Sprintf("127.0.0.1:%d", p2)
	if answers(a2) {
		t.Fatal("--no-watch: an edit took effect without SIGHUP")
	}
	d.signal(syscall.SIGHUP)
	waitAnswers(t, a2, true, 5*time.Second)
}

// TestWatchReloadAtomic (issue 14: "reloaded with the same atomic rule as
// SIGHUP"): an edit with a bad line, noticed by the watch, is refused
// whole (the service the same edit adds does not start, the running one
// stays); the corrected file is then put in force, with no signal sent.
func TestWatchReloadAtomic(t *testing.T) {
	needRoot(t)
	p1, p2 := freePort(t), freePort(t)
	a1, a2 := fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p2)
	line1 := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", p1)
	line2 := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal daytime\n", p2)
	d := startDaemon(t, line1)
	d.writeFile("inetd.conf", line1+line2+"127.0.0.1:7 strem tcp nowait root internal echo\n")
	d.waitLog("reload refused", 5*time.Second)
	if answers(a2) || !answers(a1) {
		t.Fatalf("a refused edit: new service answering %v, running one %v", answers(a2), answers(a1))
	}
	d.writeFile("inetd.conf", line1+line2)
	waitAnswers(t, a2, true, 5*time.Second)
	if !answers(a1) {
		t.Fatal("the first service stopped answering")
	}
}
