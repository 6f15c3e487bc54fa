package test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// echoGranted reports whether the echo service at addr echoes a byte to
// a client from src: granted, rather than closed by a denial.
func echoGranted(t *testing.T, src, addr string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte("x"))
	b := make([]byte, 1)
	n, _ := c.Read(b)
	return n == 1
}

// probeDenied connects every 20 ms for span and fails on any client
// from src that is served.
func probeDenied(t *testing.T, src, addr string, span time.Duration, what string) {
	t.Helper()
	granted, probes := 0, 0
	for end := time.Now().Add(span); time.Now().Before(end) && probes < 1000; probes++ {
		if echoGranted(t, src, addr) {
			granted++
		}
		time.Sleep(20 * time.Millisecond)
	}
	if granted > 0 {
		t.Fatalf("%s: %d of %d probes from %s were served", what, granted, probes, src)
	}
}

// TestHostsDenyRewrittenInPlace (issue 13, item 3): ": > hosts.deny;
// sleep 0.2; printf 'echo: 127.0.0.1\n' >> hosts.deny" must not leave
// an empty table (allow everything) in force for the gap; deleting
// hosts.deny keeps its rules and says so, naming the file.
func TestHostsDenyRewrittenInPlace(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemonWith(t, nil, map[string]string{"hosts.deny": "echo: 127.0.0.1\n"},
		fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deny := filepath.Join(d.dir, "hosts.deny")
	if echoGranted(t, "127.0.0.1", addr) || !echoGranted(t, "127.0.0.2", addr) {
		t.Fatal("initial rules not in force")
	}
	if err := os.Truncate(deny, 0); err != nil {
		t.Fatal(err)
	}
	probeDenied(t, "127.0.0.1", addr, 200*time.Millisecond, "hosts.deny emptied")
	f, err := os.OpenFile(deny, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("echo: 127.0.0.1\n")
	f.Close()
	probeDenied(t, "127.0.0.1", addr, 1500*time.Millisecond, "after the append")

	// Deleted: the rules stay, the error names the file.
	os.Remove(deny)
	line := d.waitLog("event=config-error", 5*time.Second, deny+": removed; its rules stay in force")
	// Said once, by the daemon: the watcher's own "hosts tables not
	// reloaded, previous rules stay in force" once stood in between.
	if want := "config-error: access control files not reloaded; the previous rules stay in force: " + deny + ": removed;"; !strings.Contains(line, want) {
		t.Errorf("record %q, want it to contain %q", line, want)
	}
	probeDenied(t, "127.0.0.1", addr, 1500*time.Millisecond, "hosts.deny deleted")
	if !echoGranted(t, "127.0.0.2", addr) {
		t.Fatal("127.0.0.2 refused with hosts.deny deleted")
	}
	// An empty file (there on purpose: unchanged past the settle time)
	// clears the rules, with a warning that says what changed.
	os.WriteFile(deny, nil, 0o644)
	waitFor(t, 5*time.Second, "the empty hosts.deny to apply", func() bool { return echoGranted(t, "127.0.0.1", addr) })
	d.waitLog("warning", time.Second, "settled", "0 rules (was 1)")
}

// TestHostsDenyFIFO (issue 13, item 4): hosts.deny replaced by a symlink
// to a FIFO is refused at once, naming the file, and blocks nothing:
// later edits apply, SIGHUP reloads, SIGTERM stops the daemon.
func TestHostsDenyFIFO(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemonWith(t, nil, map[string]string{"hosts.deny": "echo: 127.0.0.1\n"},
		fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deny, fifo := filepath.Join(d.dir, "hosts.deny"), filepath.Join(d.dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Remove(deny)
	os.Symlink(fifo, deny)
	d.waitLog("event=config-error", 5*time.Second, deny+": not a regular file (a FIFO); refused")
	if echoGranted(t, "127.0.0.1", addr) {
		t.Fatal("the FIFO opened access")
	}
	reloads := d.countLog("event=reload")
	d.reload(reloads + 1) // fails the test unless the reload is logged within 10 s

	// A later edit applies.
	os.Remove(deny)
	os.WriteFile(deny, []byte("echo: 127.0.0.2\n"), 0o644)
	waitFor(t, 5*time.Second, "the edit after the FIFO", func() bool { return !echoGranted(t, "127.0.0.2", addr) })

	// Back to the FIFO, then SIGTERM: the daemon exits promptly.
	os.Remove(deny)
	os.Symlink(fifo, deny)
	time.Sleep(300 * time.Millisecond)
	d.signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(3 * time.Second):
		t.Fatal("hinetd still running 3 s after SIGTERM with hosts.deny a FIFO")
	}
}
