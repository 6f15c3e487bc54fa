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

// closedPort is a tcp port on 127.0.0.1 nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// TestTwoInstancesOneSpool (issue 13, item 8): two hinetds with different
// configurations run side by side on one spool directory, with -d (whose
// stderr sink has no spill file) and with the same --log-to; a missing
// local syslog socket is said on stderr at start.
func TestTwoInstancesOneSpool(t *testing.T) {
	needRoot(t)
	spool := filepath.Join(t.TempDir(), "spool")
	sink := fmt.Sprintf("tcp://127.0.0.1:%d", closedPort(t))
	for _, extra := range [][]string{nil, {"--log-to", sink}} {
		p1, p2 := freePort(t), freePort(t)
		d1 := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", p1), append([]string{"--spool-dir", spool}, extra...)...)
		d2 := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", p2), append([]string{"--spool-dir", spool}, extra...)...)
		for _, p := range []int{p1, p2} {
			if got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", p), []byte("hi"))); got != "hi" {
				t.Fatalf("%v: echo on %d: %q", extra, p, got)
			}
		}
		d1.stop()
		d2.stop()
	}

	// No syslog socket: said once on stderr at start.
	missing := "unix://" + filepath.Join(t.TempDir(), "log")
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", freePort(t)), "--log-to", missing)
	line := d.waitLog("hinetd: audit sink "+missing, time.Second, "no such file or directory", "wait in the spool")
	if strings.Count(d.logText(), "hinetd: audit sink") != 1 {
		t.Fatalf("said more than once: %s", line)
	}
}

// TestStopWithSinkDown (issue 13, item 9): with the audit sink down, SIGTERM
// ends hinetd within a second; the stop record says how many records stay
// in the spool, and they are in the spill file.
func TestStopWithSinkDown(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	sink := fmt.Sprintf("tcp://127.0.0.1:%d", closedPort(t))
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port), "--log-to", sink)
	for i := 0; i < 20; i++ {
		dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), []byte("x"))
	}
	time.Sleep(300 * time.Millisecond) // the sink has failed at least once
	start := time.Now()
	d.signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(5 * time.Second):
		t.Fatal("hinetd still running 5 s after SIGTERM")
	}
	d.cmd.Wait()
	took := time.Since(start)
	t.Logf("stopped in %v with the sink down", took)
	if took > time.Second {
		t.Fatalf("stopping took %v with the sink down, want at most 1 s", took)
	}
	line := d.waitLog("event=stop", time.Second, "sink "+sink+" down", "records stay in the spool", "undelivered=")
	t.Log(line)
	ents, _ := os.ReadDir(filepath.Join(d.dir, "spool"))
	var size int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), "spill-") {
			size += fi.Size()
		}
	}
	if size == 0 {
		t.Fatalf("nothing in the spill files after the stop: %v", ents)
	}
}
