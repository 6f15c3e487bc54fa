package audit

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/audit/audittest"
)

// TestRsyslogRestart: rsyslog is stopped in the middle of a load over TCP
// and started again. Every record must arrive afterwards (duplicates from
// the resend after the broken connection are allowed: they carry the same
// sequenceId) or be counted in a drop record; the counts add up exactly,
// at rsyslog and in Stats.
func TestRsyslogRestart(t *testing.T) {
	for _, tc := range []struct {
		name  string
		mem   int
		spill int64
		n     int
		drops bool // the caps are small enough that records must be dropped
		tls   bool
		delay time.Duration // Options.BatchDelay
	}{
		{"spill", 0, 0, 20000, false, false, 0},
		{"caps", 16 << 10, 64 << 10, 20000, true, false, 0},
		{"tls", 0, 0, 10000, false, true, 0},
		// As the daemon runs it: records travel in batches.
		{"spill-batch", 0, 0, 20000, false, false, 5 * time.Millisecond},
		{"caps-batch", 16 << 10, 64 << 10, 20000, true, false, 5 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r *audittest.Rsyslog
			var url string
			if tc.tls {
				p := audittest.NewPKI(t)
				r = audittest.StartRsyslog(t, audittest.RsyslogOpts{TLS: p})
				url = tlsURL(r.TLSPort, p, p.CAFile, false)
			} else {
				r = audittest.StartRsyslog(t, audittest.RsyslogOpts{TCP: true})
				url = fmt.Sprintf("tcp://127.0.0.1:%d", r.TCPPort)
			}
			opts := testOpts(t)
			opts.MemBytes, opts.SpillBytes = tc.mem, tc.spill
			opts.BatchDelay = tc.delay
			l, err := Open([]string{url}, opts)
			if err != nil {
				t.Fatal(err)
			}
			// The load: the first quarter with rsyslog up; rsyslog is
			// stopped while the second quarter goes out; the second half
			// goes out once it is back (the emitter waits for that, so
			// that a slow machine cannot end the load too early).
			var sent atomic.Int64
			stopNow, restarted, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
			go func() {
				defer close(done)
				for i := range tc.n {
					switch i {
					case tc.n / 4:
						close(stopNow)
					case tc.n / 2:
						<-restarted
					}
					l.Emit(testEvent(i))
					sent.Add(1)
					if i%50 == 49 {
						time.Sleep(time.Millisecond)
					}
				}
			}()
			<-stopNow
			r.Stop()
			stoppedAt := sent.Load()
			for sent.Load() < int64(tc.n/2) {
				time.Sleep(time.Millisecond)
			}
			time.Sleep(200 * time.Millisecond)
			r.Start()
			restartedAt := sent.Load()
			close(restarted)
			<-done
			closeLog(t, l)
			st := l.Stats()[0]
			t.Logf("stopped at %d, restarted at %d of %d; stats %+v", stoppedAt, restartedAt, tc.n, st)
			if st.Emitted != uint64(tc.n) || st.Delivered+st.Dropped != st.Emitted || st.Pending != 0 {
				t.Fatalf("stats do not add up: %+v", st)
			}
			if tc.drops != (st.Dropped > 0) {
				t.Fatalf("dropped %d; want drops: %v", st.Dropped, tc.drops)
			}
			var got map[int]bool
			var dropped uint64
			lines := r.WaitLines(20*time.Second, func(ls []string) bool {
				got, dropped = checkRecords(t, ls, tc.n)
				return uint64(len(got))+dropped >= uint64(tc.n)
			})
			t.Logf("%d lines, %d distinct records, %d dropped by drop records", len(lines), len(got), dropped)
			if uint64(len(got))+dropped != uint64(tc.n) || dropped != st.Dropped {
				t.Fatalf("rsyslog: %d records + %d dropped != %d emitted (stats: %d dropped)", len(got), dropped, tc.n, st.Dropped)
			}
		})
	}
}

// TestBlockedSink: a TCP collector that accepts and never reads. Emit of
// 100,000 events must return every time (it has no path that waits on a
// sink); a second sink, a file, still gets every record or a drop record
// for it; and the blocked sink's records are all accounted for after a
// short Close: delivered to the kernel, dropped with a count, or left in
// the spill file.
func TestBlockedSink(t *testing.T) {
	sink := audittest.StartStalled(t, 0)
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	opts := testOpts(t)
	opts.WriteTimeout = 200 * time.Millisecond
	l, err := Open([]string{"tcp://" + sink.Addr, "file://" + file}, opts)
	if err != nil {
		t.Fatal(err)
	}
	const n = 100000
	start := time.Now()
	for i := range n {
		l.Emit(testEvent(i))
	}
	took := time.Since(start)
	t.Logf("%d Emit calls returned in %v (%v each)", n, took, took/n)
	if took > 20*time.Second {
		t.Fatalf("Emit took %v for %d events: it waits on something", took, n)
	}
	closeLogWithin(t, l, 3*time.Second)
	for _, st := range l.Stats() {
		t.Logf("%+v", st)
		if st.Emitted != n || st.Delivered+st.Dropped+uint64(st.Pending) != n {
			t.Fatalf("%s: counts do not add up: %+v", st.URL, st)
		}
	}
	// The kernel takes megabytes on each new connection before a write
	// blocks, so the blocked sink may well have "delivered" everything;
	// what shows it was blocked is its broken connections.
	if st := l.Stats()[0]; st.Failures == 0 {
		t.Fatalf("the blocked sink never timed out? %+v", st)
	}
	// The file got every record, or drop records for those it missed.
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var records, dropped uint64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var m struct {
			Kind   string
			Fields audittest.JSONFields
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		if m.Kind == "drop" {
			if m.Fields[KeySink] == "file://"+file { // not a notice about the blocked sink
				c, _ := strconv.ParseUint(m.Fields[KeyCount], 10, 64)
				dropped += c
			}
			continue
		}
		records++
	}
	// (On a slow machine Close may leave some for the next run: Pending.)
	if pending := uint64(l.Stats()[1].Pending); records+dropped+pending != n {
		t.Fatalf("file: %d records + %d dropped + %d left in the spill file != %d", records, dropped, pending, n)
	}
}

// TestDropNotice: when a sink drops records (down, no spill file, memory
// full), the other sinks are told within a second, naming the sink and
// the count; the notices do not disturb their own accounting.
func TestDropNotice(t *testing.T) {
	dead := fmt.Sprintf("tcp://127.0.0.1:%d", audittest.FreePort(t, "tcp"))
	file := filepath.Join(t.TempDir(), "audit.jsonl")
	opts := testOpts(t)
	opts.MemBytes, opts.SpillBytes = 8<<10, -1
	l, err := Open([]string{dead, "file://" + file}, opts)
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	for i := range n {
		l.Emit(testEvent(i))
	}
	var noticed uint64
	deadline := time.Now().Add(10 * time.Second)
	for noticed == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		noticed = 0
		b, _ := os.ReadFile(file)
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var m struct {
				Kind   string
				Fields audittest.JSONFields
			}
			if json.Unmarshal([]byte(line), &m) == nil && m.Kind == "drop" && m.Fields[KeySink] == dead {
				c, _ := strconv.ParseUint(m.Fields[KeyCount], 10, 64)
				noticed += c
			}
		}
	}
	dst := l.Stats()[0]
	ctx, cancel := contextTimeout(300 * time.Millisecond)
	defer cancel()
	// Without a spill file what is left at Close is lost, and Close says so.
	if err := l.Close(ctx); err == nil || !strings.Contains(err.Error(), "lost at close") {
		t.Fatalf("Close: %v, want the loss reported", err)
	}
	t.Logf("dead sink %+v; noticed %d; after close %+v", dst, noticed, l.Stats()[0])
	if noticed == 0 || noticed > dst.Dropped || dst.Dropped == 0 {
		t.Fatalf("notices say %d dropped, the dead sink %d", noticed, dst.Dropped)
	}
	for _, st := range l.Stats() {
		if st.Emitted != n || st.Delivered+st.Dropped+uint64(st.Pending) != n {
			t.Fatalf("counts do not add up: %+v", st)
		}
	}
	if fst := l.Stats()[1]; fst.DropRecords == 0 {
		t.Fatalf("file sink %+v: no notices written", fst)
	}
}

// TestStuckStderr: a stderr pipe nobody reads blocks its sender in a
// write that cannot be interrupted. Close still returns (after its grace
// period), says so, and counts the records the sender held as dropped:
// the counts still add up, and the drop record is kept for the next run.
func TestStuckStderr(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	saved := os.Stderr
	os.Stderr = pw
	defer func() { os.Stderr = saved }()
	l, err := Open([]string{"stderr:"}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 3000 // about 300 KB of text: far more than a pipe holds
	for i := range n {
		l.Emit(testEvent(i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats()[0].Delivered == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := contextTimeout(100 * time.Millisecond)
	defer cancel()
	err = l.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "sender blocked") {
		t.Fatalf("Close: %v", err)
	}
	st := l.Stats()[0]
	t.Logf("%v; %+v", err, st)
	if st.Emitted != n || st.Delivered+st.Dropped+uint64(st.Pending) != n || st.Dropped == 0 {
		t.Fatalf("counts: %+v", st)
	}
}

// TestSettle: events still in the dispatcher's batch delay are in no
// sink's Pending; after Settle they are, every one (the daemon's stop
// record counts with it what stays in the spool).
func TestSettle(t *testing.T) {
	dead := fmt.Sprintf("tcp://127.0.0.1:%d", audittest.FreePort(t, "tcp"))
	opts := testOpts(t)
	opts.BatchDelay = 300 * time.Millisecond
	l, err := Open([]string{dead}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer closeLogWithin(t, l, 100*time.Millisecond)
	l.Emit(testEvent(0)) // wakes the dispatcher, which then waits BatchDelay
	time.Sleep(50 * time.Millisecond)
	const n = 5
	for i := 1; i < n; i++ {
		l.Emit(testEvent(i))
	}
	ctx, cancel := contextTimeout(5 * time.Second)
	defer cancel()
	if !l.Settle(ctx) {
		t.Fatal("Settle: context ended first")
	}
	if st := l.Stats()[0]; st.Pending != n || st.Up {
		t.Fatalf("after Settle: pending %d (up %v), want %d", st.Pending, st.Up, n)
	}
	// A Settle that cannot finish says so.
	l.Emit(testEvent(n))
	short, cancel2 := contextTimeout(time.Millisecond)
	defer cancel2()
	if l.Settle(short) {
		t.Error("Settle within 1 ms of a 300 ms batch delay reported done")
	}
}
