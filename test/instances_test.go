package test

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
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
// in the spool, and that many are in the spill file before it. The last
// connections come just before SIGTERM, while their records still wait in
// the dispatcher's batch delay: the stop record once left them out (said 2
// where the spill file held 8 before it).
func TestStopWithSinkDown(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	sink := fmt.Sprintf("tcp://127.0.0.1:%d", closedPort(t))
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port), "--log-to", sink)
	for i := 0; i < 20; i++ {
		dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), []byte("x"))
	}
	time.Sleep(300 * time.Millisecond) // the sink has failed at least once
	for i := 0; i < 3; i++ {
		dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), []byte("x"))
	}
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
	said, err := strconv.Atoi(line[strings.LastIndex(line, "undelivered=")+len("undelivered="):])
	if err != nil {
		t.Fatalf("undelivered in %q: %v", line, err)
	}
	recs := spilled(t, filepath.Join(d.dir, "spool"))
	before := slices.IndexFunc(recs, func(r string) bool { return strings.Contains(r, `kind="stop"`) })
	if before < 0 {
		t.Fatalf("no stop record among the %d spilled records", len(recs))
	}
	if said != before {
		t.Fatalf("stop record says %d records stay in the spool; the spill file holds %d before it", said, before)
	}
}

// spilled reads the records of the spill files in dir, in file order (each
// record after its big-endian u32 length, internal/audit's spool).
func spilled(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var recs []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), "spill-") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		for len(b) >= 4 {
			n := int(binary.BigEndian.Uint32(b))
			if 4+n > len(b) {
				t.Fatalf("%s: torn record at the end", e.Name())
			}
			recs = append(recs, string(b[4:4+n]))
			b = b[4+n:]
		}
	}
	return recs
}
