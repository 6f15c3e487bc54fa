package audit

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/audit/audittest"
)

func denyEv(svc string, client byte, rule string) Event {
	return Event{Kind: KindDeny, Service: svc, Proto: "tcp",
		Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 0, 0, client}), 1234),
		Fields: []Field{{KeyRule, rule}}}
}

// TestSummariser: per service and second, the first perSecond refusals
// pass; the rest are counted per client and rule, and Flush returns them
// once the second is over. Nothing is lost: passed + counted = offered.
func TestSummariser(t *testing.T) {
	s := NewSummariser(100, 3)
	sec := time.Unix(1000, 0)
	passed := map[string]int{}
	for i := range 250 {
		ev := denyEv("telnet", byte(i%5), "hosts.deny:"+strconv.Itoa(1+i%2))
		if s.Offer(&ev, sec.Add(time.Duration(i)*time.Millisecond)) {
			passed["telnet"]++
		}
	}
	for range 50 {
		ev := denyEv("ftp", 1, "hosts.deny:9")
		if s.Offer(&ev, sec) {
			passed["ftp"]++
		}
	}
	acc := Event{Kind: KindAccept, Service: "telnet"}
	if !s.Offer(&acc, sec) {
		t.Fatal("an accept was summarised")
	}
	if passed["telnet"] != 100 || passed["ftp"] != 50 {
		t.Fatalf("passed %v, want telnet 100, ftp 50", passed)
	}
	if got := s.Flush(sec.Add(999 * time.Millisecond)); len(got) != 0 {
		t.Fatalf("flushed %d summaries before the second ended", len(got))
	}
	sums := s.Flush(sec.Add(time.Second))
	total := uint64(0)
	keys := 0
	other := uint64(0)
	for _, ev := range sums {
		if ev.Service != "telnet" || ev.Kind != KindDeny {
			t.Fatalf("summary %+v", ev)
		}
		if v, _ := ev.Field(KeySummary); v != "1s" {
			t.Fatalf("summary without window: %+v", ev)
		}
		n, _ := strconv.ParseUint(mustField(ev, KeyCount), 10, 64)
		total += n
		if _, ok := ev.Field("clients"); ok {
			other += n
			continue
		}
		keys++
		if !ev.Client.IsValid() || mustField(ev, KeyRule) == "" {
			t.Fatalf("summary without client or rule: %+v", ev)
		}
	}
	// 150 over the rate: 5 clients x 2 rules = 10 pairs seen in
	// the overflow (i%5, i%2 -> 10 combinations), capped at 3 keys.
	if total != 150 || keys != 3 || other == 0 {
		t.Fatalf("summaries count %d (keys %d, other %d), want 150 in 3 keys + other\n%+v", total, keys, other, sums)
	}
	if again := s.Flush(sec.Add(5 * time.Second)); len(again) != 0 {
		t.Fatalf("flushed twice: %+v", again)
	}
	// A new second passes again, and rolling over keeps the old counts.
	s2 := NewSummariser(1, 10)
	a, b := denyEv("x", 1, "r"), denyEv("x", 2, "r")
	s2.Offer(&a, sec)
	s2.Offer(&b, sec)                        // counted
	if !s2.Offer(&a, sec.Add(time.Second)) { // next second: passes, rolls over
		t.Fatal("first refusal of a new second was not passed")
	}
	if got := s2.Flush(sec.Add(time.Second)); len(got) != 1 || mustField(got[0], KeyCount) != "1" {
		t.Fatalf("rolled-over summary: %+v", got)
	}
}

func mustField(ev Event, k string) string {
	v, _ := ev.Field(k)
	return v
}

// TestDenyFlood: 2,000 denials in a burst through Log.Deny to rsyslog:
// at least 100 arrive one by one, the summaries' counts make up the rest
// exactly, and every record is valid RFC 5424.
func TestDenyFlood(t *testing.T) {
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{Unix: true})
	l, err := Open([]string{"unix://" + r.Sock + "?format=rfc5424"}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	start := time.Now()
	for i := range n {
		ev := denyEv("telnet", byte(i%4), "hosts.deny:7")
		ev.ConnID = uint64(i + 1)
		l.Deny(ev)
	}
	took := time.Since(start)
	closeLog(t, l)
	var single, summed int
	lines := r.WaitLines(20*time.Second, func(ls []string) bool {
		single, summed = 0, 0
		for _, line := range ls {
			m, err := audittest.ParseRFC5424(line)
			if err != nil {
				t.Fatalf("%v: %s", err, line)
			}
			if c, ok := m.Param(SDID, KeyCount); ok {
				k, _ := strconv.Atoi(c)
				summed += k
			} else {
				single++
			}
		}
		return single+summed >= n
	})
	secs := int(took/time.Second) + 2 // windows the burst can span
	t.Logf("%d lines: %d single, %d in summaries, burst took %v", len(lines), single, summed, took)
	if single+summed != n || single < 100 || single > 100*secs {
		t.Fatalf("single %d + summarised %d != %d, or single outside [100, %d]", single, summed, n, 100*secs)
	}
}

// TestDump: a state dump arrives as numbered parts.
func TestDump(t *testing.T) {
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{Unix: true})
	l, err := Open([]string{"unix://" + r.Sock + "?format=rfc5424"}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{"service echo tcp 127.0.0.1:7007 children 2", "child pid 100 conn 5", "child pid 101 conn 6"}
	l.Dump(lines)
	closeLog(t, l)
	got := r.WaitLines(20*time.Second, func(ls []string) bool { return len(ls) >= 3 })
	for i, line := range got {
		m, err := audittest.ParseRFC5424(line)
		if err != nil {
			t.Fatal(err)
		}
		if m.MsgID != "dump" || mustParam(m, KeyPart) != fmt.Sprintf("%d/3", i+1) || m.Msg != fmt.Sprintf("dump: %s part=%d/3", lines[i], i+1) {
			t.Errorf("part %d: %s", i, line)
		}
	}
}

// TestSummariesDuringFlood: under a flood that keeps the log busy, the
// summaries of finished seconds come out while the flood goes on, not
// when it stops.
func TestSummariesDuringFlood(t *testing.T) {
	path := t.TempDir() + "/a.jsonl"
	l, err := Open([]string{"file://" + path}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	defer closeLog(t, l)
	deadline := time.Now().Add(10 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		ev := denyEv("telnet", byte(i), "hosts.deny:1")
		l.Deny(ev)
		if i%1000 == 999 {
			b, _ := os.ReadFile(path)
			if strings.Contains(string(b), `"summary":"1s"`) {
				return
			}
		}
	}
	t.Fatal("no summary in 10 s of flood")
}
