package limits

import (
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/testenv"
)

// addrN is the n-th of many distinct client addresses, IPv4 or (odd n)
// IPv6 in distinct /64s.
func addrN(n int) netip.Addr {
	if n%2 == 0 {
		return netip.AddrFrom4([4]byte{10, byte(n >> 16), byte(n >> 8), byte(n)})
	}
	var b [16]byte
	b[0], b[1] = 0x20, 0x01
	b[4], b[5], b[6], b[7] = byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	b[15] = 1
	return netip.AddrFrom16(b)
}

func heapInUse() uint64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestMillionSources: a million distinct clients through the API keep the
// heap under the documented cap, and the table stays at its size.
func TestMillionSources(t *testing.T) {
	n := 1_000_000
	if testing.Short() || raceEnabled {
		n = 200_000 // still over the table's size: the eviction path runs
	}
	c := newClock()
	before := heapInUse()
	l := mustNew(t, Config{}) // the default table: 9 MiB
	s := mustService(t, l, "svc", ServiceLimits{MaxChildPerSource: 2, ConnPerSourcePerMin: 10, SourceRate: 5})
	// A few long-lived children stay pinned through the churn.
	var held []Ticket
	for i := range 100 {
		tk, _ := admit(t, l, s, addrN(n+i), c.now, None)
		held = append(held, tk)
	}
	for i := range n {
		tk, r := l.Admit(s, addrN(i), c.at(time.Duration(i)*time.Microsecond))
		if r.Refused() {
			t.Fatalf("client %d (%s) refused by %v", i, addrN(i), r.Limit)
		}
		tk.Release()
	}
	after := heapInUse()
	grew := int64(after) - int64(before)
	limit := int64(l.SourceMemory()) + 256<<10 // the table, plus the limiter's own few KiB
	t.Logf("%d clients: heap grew %.2f MiB (cap %.2f MiB, table %d entries)",
		n, float64(grew)/(1<<20), float64(limit)/(1<<20), l.Sources())
	if grew > limit {
		t.Errorf("heap grew %d bytes, over the cap of %d", grew, limit)
	}
	if n == 1_000_000 && l.Sources() != DefaultMaxSources {
		t.Errorf("Sources = %d, want the full table (%d)", l.Sources(), DefaultMaxSources)
	}
	// The pinned clients are still exactly counted.
	for i := range 100 {
		admit(t, l, s, addrN(n+i), c.now, None)
		admit(t, l, s, addrN(n+i), c.now, MaxChildPerSource)
	}
	for _, tk := range held {
		tk.Release()
	}
	runtime.KeepAlive(l)
}

// TestConcurrent runs several accept goroutines against shared clients and
// checks that no limit is ever exceeded and every count returns to zero.
// Run with -race.
func TestConcurrent(t *testing.T) {
	const (
		workers   = 8
		perWorker = 20000
		clients   = 16
		perSource = 2
		maxChild  = 12
		global    = 20 // one worker alone holds up to 30: refusals whatever the scheduling
		hold      = 30
	)
	l := mustNew(t, Config{MaxChildren: global, MaxSources: 64})
	s1 := mustService(t, l, "a", ServiceLimits{MaxChild: maxChild, MaxChildPerSource: perSource})
	s2 := mustService(t, l, "b", ServiceLimits{MaxChild: maxChild, MaxChildPerSource: perSource, ConnPerSourcePerMin: 1 << 30})
	var live [2][clients]atomic.Int32
	var liveSvc [2]atomic.Int32
	var liveAll, admitted, refused atomic.Int64
	var bad atomic.Value
	now := time.Now()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var held []struct {
				tk     Ticket
				si, ci int
			}
			for i := range perWorker {
				si := (w + i) % 2
				s := []*Service{s1, s2}[si]
				ci := (i*7 + w*13) % clients
				tk, r := l.Admit(s, addrN(ci), now)
				if r.Refused() {
					refused.Add(1)
				} else {
					admitted.Add(1)
					if n := live[si][ci].Add(1); n > perSource {
						bad.Store("per-source limit exceeded")
					}
					if n := liveSvc[si].Add(1); n > maxChild {
						bad.Store("service limit exceeded")
					}
					if n := liveAll.Add(1); n > global {
						bad.Store("global limit exceeded")
					}
					held = append(held, struct {
						tk     Ticket
						si, ci int
					}{tk, si, ci})
				}
				// Release some, in a different order than taken.
				if len(held) > hold || (i%3 == 0 && len(held) > 0) {
					h := held[len(held)/2]
					held = append(held[:len(held)/2], held[len(held)/2+1:]...)
					live[h.si][h.ci].Add(-1)
					liveSvc[h.si].Add(-1)
					liveAll.Add(-1)
					h.tk.Release()
					h.tk.Release() // idempotent, even racing reuse
				}
			}
			for _, h := range held {
				live[h.si][h.ci].Add(-1)
				liveSvc[h.si].Add(-1)
				liveAll.Add(-1)
				h.tk.Release()
			}
		})
	}
	wg.Wait()
	if v := bad.Load(); v != nil {
		t.Fatal(v)
	}
	if s1.Children() != 0 || s2.Children() != 0 || l.Children() != 0 {
		t.Errorf("children after all released: %d, %d, %d", s1.Children(), s2.Children(), l.Children())
	}
	if admitted.Load() == 0 || refused.Load() == 0 {
		t.Errorf("admitted %d, refused %d: the test does not exercise the limits", admitted.Load(), refused.Load())
	}
	// Every entry unpinned again: the table can take new clients.
	for i := range 64 {
		tk, r := l.Admit(s1, addrN(1000+i), now)
		if r.Refused() {
			t.Fatalf("after release, client %d refused by %v", i, r.Limit)
		}
		tk.Release()
	}
	var total int
	for _, sum := range l.Summaries(now) {
		total += sum.Total
	}
	if int64(total) != refused.Load() {
		t.Errorf("summaries count %d refusals, callers saw %d", total, refused.Load())
	}
}

func TestAdmitAllocs(t *testing.T) {
	if testing.CoverMode() != "" || raceEnabled {
		testenv.Skip(t, "instrumented build")
	}
	l := mustNew(t, Config{MaxChildren: 1 << 20, AcceptRate: 1e6})
	s := mustService(t, l, "svc", ServiceLimits{MaxChildPerSource: 2, ConnPerSourcePerMin: 1 << 30, CPS: 1e6})
	now := time.Now()
	i := 0
	allocs := testing.AllocsPerRun(10000, func() {
		i++
		tk, _ := l.Admit(s, addrN(i), now.Add(time.Duration(i)*time.Millisecond))
		tk.Release()
		l.Admit(s, addrN(i), now) // refused: counted without allocating
	})
	if allocs != 0 {
		t.Errorf("Admit+Release: %v allocations, want 0", allocs)
	}
}

// seedSources fills the default table with a million distinct clients.
func seedSources(b *testing.B, l *Limiter, s *Service, now time.Time) {
	for i := range 1_000_000 {
		tk, _ := l.Admit(s, addrN(i), now)
		tk.Release()
	}
	if l.Sources() != DefaultMaxSources {
		b.Fatalf("seeded %d sources", l.Sources())
	}
}

// BenchmarkAdmitRelease: a client seen before, after a million others.
func BenchmarkAdmitRelease(b *testing.B) {
	l := mustNew(b, Config{MaxChildren: 1 << 20, AcceptRate: 1e6})
	s := mustService(b, l, "svc", ServiceLimits{MaxChildPerSource: 10, ConnPerSourcePerMin: 1 << 30, CPS: 1e6, RatePerMin: 1 << 30})
	now := time.Now()
	seedSources(b, l, s, now)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		i++
		tk, _ := l.Admit(s, addrN(1_000_000-1-i%50_000), now.Add(time.Duration(i)*time.Microsecond))
		tk.Release()
	}
}

// BenchmarkAdmitNewSource: every client is new, each one evicts another.
func BenchmarkAdmitNewSource(b *testing.B) {
	l := mustNew(b, Config{})
	s := mustService(b, l, "svc", ServiceLimits{MaxChildPerSource: 10, ConnPerSourcePerMin: 1 << 30})
	now := time.Now()
	seedSources(b, l, s, now)
	b.ReportAllocs()
	b.ResetTimer()
	i := 1_000_000
	for b.Loop() {
		i++
		tk, _ := l.Admit(s, addrN(i), now)
		tk.Release()
	}
}

// BenchmarkAdmitRefused: the flood path, one client over its limit.
func BenchmarkAdmitRefused(b *testing.B) {
	l := mustNew(b, Config{})
	s := mustService(b, l, "svc", ServiceLimits{MaxChildPerSource: 1})
	now := time.Now()
	seedSources(b, l, s, now)
	tk, _ := l.Admit(s, clientA, now)
	defer tk.Release()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, r := l.Admit(s, clientA, now); !r.Refused() {
			b.Fatal("admitted")
		}
	}
}

// BenchmarkAdmitParallel: two accept goroutines, many clients.
func BenchmarkAdmitParallel(b *testing.B) {
	l := mustNew(b, Config{})
	s := mustService(b, l, "svc", ServiceLimits{MaxChildPerSource: 10, ConnPerSourcePerMin: 1 << 30})
	now := time.Now()
	seedSources(b, l, s, now)
	var n atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(n.Add(1))
			tk, _ := l.Admit(s, addrN(i%200_000), now)
			tk.Release()
		}
	})
}
