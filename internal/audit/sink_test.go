package audit

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/audit/audittest"
)

// testEvent is the i-th event of a load: a connection's accept or its
// decision, with values that need escaping in the rule text.
func testEvent(i int) Event {
	ev := Event{
		Kind:    KindAccept,
		Service: "echo",
		Proto:   "tcp",
		Client:  netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i%3)}), uint16(40000+i%20000)),
		Local:   netip.MustParseAddrPort("127.0.0.1:7007"),
		ConnID:  uint64(i + 1),
		Fields:  []Field{Int("n", int64(i))},
	}
	if i%2 == 1 {
		ev.Kind = KindDeny
		ev.Fields = append(ev.Fields, Field{KeyRule, "hosts.deny:3"}, Field{KeyRuleText, `ALL: [::1] "quoted" back\slash`})
	}
	return ev
}

// checkRecords parses every line as RFC 5424 and checks that the records
// numbered 0..n-1 (field "n") each arrived with their structured data;
// it returns how many distinct ones arrived and the sum of drop counts.
// A drop record is counted once per sequenceId: after a broken connection
// the resend window goes out again, drop records in it too (they may not
// have been read), so a collector can hold the same drop record twice,
// as it can any record. The copies must be identical.
func checkRecords(t *testing.T, lines []string, n int) (got map[int]bool, dropped uint64) {
	t.Helper()
	got = map[int]bool{}
	drops := map[string]string{} // sequenceId -> line
	for _, line := range lines {
		m, err := audittest.ParseRFC5424(line)
		if err != nil {
			t.Fatalf("not RFC 5424: %v\n%s", err, line)
		}
		if m.MsgID == "drop" {
			seq, ok := m.Param("meta", "sequenceId")
			if !ok {
				t.Fatalf("drop record without meta sequenceId: %s", line)
			}
			if prev, dup := drops[seq]; dup {
				if prev != line {
					t.Fatalf("two different drop records with sequenceId %s:\n%s\n%s", seq, prev, line)
				}
				continue
			}
			drops[seq] = line
			c, _ := m.Param(SDID, KeyCount)
			k, err := strconv.ParseUint(c, 10, 64)
			if err != nil {
				t.Fatalf("drop record without count: %s", line)
			}
			dropped += k
			continue
		}
		ns, ok := m.Param(SDID, "n")
		if !ok {
			continue // not one of ours (a summary, a probe)
		}
		i, _ := strconv.Atoi(ns)
		want := testEvent(i)
		for _, p := range [][2]string{
			{"kind", want.Kind.String()}, {"service", "echo"}, {"proto", "tcp"},
			{"client", want.Client.Addr().String()}, {"client-port", strconv.Itoa(int(want.Client.Port()))},
			{"local", "127.0.0.1"}, {"local-port", "7007"}, {"conn", strconv.Itoa(i + 1)},
		} {
			if v, _ := m.Param(SDID, p[0]); v != p[1] {
				t.Fatalf("record %d: %s=%q, want %q\n%s", i, p[0], v, p[1], line)
			}
		}
		if m.MsgID != want.Kind.String() || m.App != "hinetd" {
			t.Fatalf("record %d: MSGID %q APP-NAME %q\n%s", i, m.MsgID, m.App, line)
		}
		if want.Kind == KindDeny {
			if v, _ := m.Param(SDID, KeyRuleText); v != `ALL: [::1] "quoted" back\slash` {
				t.Fatalf("record %d: ruletext %q\n%s", i, v, line)
			}
		}
		if _, ok := m.Param("meta", "sequenceId"); !ok {
			t.Fatalf("record %d: no meta sequenceId\n%s", i, line)
		}
		if n > 0 && i >= n {
			t.Fatalf("record %d out of range", i)
		}
		got[i] = true
	}
	return got, dropped
}

func testOpts(t *testing.T) Options {
	return Options{SpillDir: t.TempDir(), RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond}
}

func closeLog(t *testing.T, l *Log) {
	t.Helper()
	closeLogWithin(t, l, 30*time.Second)
}

// closeLogWithin closes l, giving its sinks d to deliver.
func closeLogWithin(t *testing.T, l *Log, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// sendAndCheck emits n test events through url, closes the log, and
// checks that rsyslog wrote all n as valid RFC 5424 records.
func sendAndCheck(t *testing.T, r *audittest.Rsyslog, url string, n int) {
	t.Helper()
	l, err := Open([]string{url}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		l.Emit(testEvent(i))
	}
	closeLog(t, l)
	st := l.Stats()[0]
	if st.Emitted != uint64(n) || st.Delivered != uint64(n) || st.Dropped != 0 || st.Pending != 0 {
		t.Fatalf("stats %+v, want %d emitted and delivered", st, n)
	}
	lines := r.WaitLines(20*time.Second, func(ls []string) bool { return len(ls) >= n })
	got, dropped := checkRecords(t, lines, n)
	if len(got) != n || dropped != 0 {
		var miss []int
		for i := range n {
			if !got[i] {
				miss = append(miss, i)
			}
		}
		t.Logf("missing %v", miss)
		t.Fatalf("rsyslog has %d distinct of %d records (%d lines), %d dropped", len(got), n, len(lines), dropped)
	}
}

// TestUnixSink: a datagram unix socket (what /dev/log is), to rsyslog's
// imuxsock on a private path.
func TestUnixSink(t *testing.T) {
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{Unix: true})
	sendAndCheck(t, r, "unix://"+r.Sock+"?format=rfc5424", 500)
}

// TestUDPSink: RFC 5426 to rsyslog's imudp on loopback. A few hundred
// records, paced, so that loopback does not drop datagrams.
func TestUDPSink(t *testing.T) {
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{UDP: true})
	sendAndCheck(t, r, fmt.Sprintf("udp://127.0.0.1:%d", r.UDPPort), 300)
}

// TestSlogHandler: ordinary log lines through slog reach the sink as
// KindLog records, with the connection attributes in the structured data.
func TestSlogHandler(t *testing.T) {
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{Unix: true})
	l, err := Open([]string{"unix://" + r.Sock + "?format=rfc5424"}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	lg := slog.New(l.Handler(slog.LevelInfo)).With("service", "ftp")
	lg.Debug("not written")
	lg.Warn("child killed", "conn", uint64(9), "client", netip.MustParseAddrPort("[::1]:2000"),
		slog.Group("child", "pid", 1234, "signal", "SIGKILL"))
	lg.Info("reloaded")
	closeLog(t, l)
	lines := r.WaitLines(20*time.Second, func(ls []string) bool { return len(ls) >= 2 })
	if len(lines) != 2 {
		t.Fatalf("got %d records, want 2: %q", len(lines), lines)
	}
	m, err := audittest.ParseRFC5424(lines[0])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"kind": "log", "service": "ftp", "conn": "9", "client": "::1",
		"client-port": "2000", "child.pid": "1234", "child.signal": "SIGKILL"}
	for k, v := range want {
		if got, _ := m.Param(SDID, k); got != v {
			t.Errorf("%s=%q, want %q in %s", k, got, v, lines[0])
		}
	}
	if m.Pri != 3*8+4 || !strings.Contains(m.Msg, "child killed") {
		t.Errorf("PRI %d msg %q, want %d and the message", m.Pri, m.Msg, 3*8+4)
	}
}

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// TestUnixStreamFallback: a SOCK_STREAM log socket (here rsyslog's imptcp
// on a unix path) refuses a datagram socket; the sink falls back to a
// stream with one record per line.
func TestUnixStreamFallback(t *testing.T) {
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{UnixStream: true})
	sendAndCheck(t, r, "unix://"+r.Sock+"?format=rfc5424", 500)
}

// TestUnixDefault3164: a unix sink writes RFC 3164 by default, which a
// stock rsyslog imuxsock (special parser on) reads into the right
// properties: tag, pid, severity, and the fields in the message.
func TestUnixDefault3164(t *testing.T) {
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{Unix: true, StdParser: true,
		Template: `%app-name%|%procid%|%syslogfacility-text%.%syslogseverity-text%|%msg%\n`})
	l, err := Open([]string{"unix://" + r.Sock}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	l.Emit(testEvent(1))
	closeLog(t, l)
	lines := r.WaitLines(20*time.Second, func(ls []string) bool { return len(ls) >= 1 })
	want := fmt.Sprintf("hinetd|%d|daemon.warning| deny echo/tcp from 127.0.0.2:40001 to 127.0.0.1:7007 conn=2 n=1 rule=hosts.deny:3 ruletext=\"ALL: [::1] \\\"quoted\\\" back\\\\slash\"", os.Getpid())
	if len(lines) != 1 || lines[0] != want {
		t.Fatalf("got  %q\nwant %q", lines, want)
	}
}

// TestSpillReplayAfterRestart: records for a collector that is down when
// hinetd stops stay in the spill file, and the next Log with the same
// spill directory sends them first when the collector is up.
func TestSpillReplayAfterRestart(t *testing.T) {
	port := audittest.FreePort(t, "tcp")
	url := fmt.Sprintf("tcp://127.0.0.1:%d", port)
	opts := testOpts(t)
	l1, err := Open([]string{url}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		l1.Emit(testEvent(i))
	}
	closeLogWithin(t, l1, 300*time.Millisecond)
	if st := l1.Stats()[0]; st.Delivered != 0 || st.Pending != 300 {
		t.Fatalf("first run: %+v, want 300 pending in the spill file", st)
	}
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{TCP: true, TCPPort: port})
	l2, err := Open([]string{url}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := 300; i < 500; i++ {
		l2.Emit(testEvent(i))
	}
	closeLog(t, l2)
	if st := l2.Stats()[0]; st.Delivered != 500 || st.Pending != 0 {
		t.Fatalf("second run: %+v, want all 500 delivered", st)
	}
	lines := r.WaitLines(20*time.Second, func(ls []string) bool { return len(ls) >= 500 })
	got, dropped := checkRecords(t, lines, 500)
	if len(got) != 500 || dropped != 0 {
		t.Fatalf("rsyslog has %d of 500", len(got))
	}
	// The spilled records come first, in order.
	first, _ := audittest.ParseRFC5424(lines[0])
	if n := mustParam(first, "n"); n != "0" {
		t.Fatalf("first record is n=%s, want 0", n)
	}
}

// TestUDPHugeRecord: a record too big for a datagram is cut to 2048 bytes
// (RFC 5426 3.2) rather than blocking the sink; the records after it
// still arrive.
func TestUDPHugeRecord(t *testing.T) {
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{UDP: true})
	l, err := Open([]string{fmt.Sprintf("udp://127.0.0.1:%d", r.UDPPort)}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	big := testEvent(0)
	big.Msg = strings.Repeat("x", 70000)
	l.Emit(big)
	l.Emit(testEvent(1))
	closeLog(t, l)
	lines := r.WaitLines(20*time.Second, func(ls []string) bool { return len(ls) >= 2 })
	if len(lines) != 2 || len(lines[0]) != maxDgram {
		t.Fatalf("got %d records (first %d bytes), want the cut one and the next", len(lines), len(lines[0]))
	}
	if _, err := audittest.ParseRFC5424(lines[1]); err != nil {
		t.Fatal(err)
	}
	if st := l.Stats()[0]; st.Delivered != 2 {
		t.Fatalf("%+v", st)
	}
}
