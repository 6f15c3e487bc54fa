package audit

import (
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/audit/audittest"
)

// BenchmarkFormat: the cost of one record in each format.
func BenchmarkFormat(b *testing.B) {
	ev := testEvent(1)
	ev.Time = time.Now()
	for _, f := range []Format{FormatRFC5424, FormatRFC3164, FormatJSON, FormatText} {
		b.Run(f.String(), func(b *testing.B) {
			fm := Formatter{Format: f, Hostname: "host", ProcID: "123"}
			buf := make([]byte, 0, 512)
			b.ReportAllocs()
			for b.Loop() {
				buf = fm.Append(buf[:0], &ev, 42)
			}
			b.SetBytes(int64(len(buf)))
		})
	}
}

// BenchmarkEmit: what the accept path pays per event, with one sink
// writing to /dev/null, so the queue is drained as fast as it can be.
// Events the queue could not take are reported as drops/op.
func BenchmarkEmit(b *testing.B) {
	l, err := Open([]string{"file:///dev/null"}, Options{SpillDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ev := testEvent(1)
	b.ReportAllocs()
	for b.Loop() {
		l.Emit(ev)
	}
	b.StopTimer()
	closeLogB(b, l)
	st := l.Stats()[0]
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "drops/op")
}

func closeLogB(b *testing.B, l *Log) {
	ctx, cancel := contextTimeout(30 * time.Second)
	defer cancel()
	if err := l.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkEmitRsyslog: events per second end to end, from Emit to a
// local rsyslog over a unix datagram socket (what /dev/log is), Close
// included: the figure for "audit logging to a local rsyslog".
func BenchmarkEmitRsyslog(b *testing.B) {
	r := audittest.StartRsyslog(b, audittest.RsyslogOpts{Unix: true})
	l, err := Open([]string{"unix://" + r.Sock}, Options{SpillDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ev := testEvent(1)
	start := time.Now()
	for b.Loop() {
		l.Emit(ev)
	}
	closeLogB(b, l)
	st := l.Stats()[0]
	b.ReportMetric(float64(st.Delivered)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64(st.Dropped)/float64(b.N), "drops/op")
}
