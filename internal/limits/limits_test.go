package limits

import (
	"net/netip"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// clock is a fake clock: tests move it by hand.
type clock struct{ now time.Time }

func newClock() *clock                        { return &clock{now: time.Now()} }
func (c *clock) add(d time.Duration)          { c.now = c.now.Add(d) }
func (c *clock) at(d time.Duration) time.Time { return c.now.Add(d) }

func mustNew(t testing.TB, cfg Config) *Limiter {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustService(t testing.TB, l *Limiter, name string, lim ServiceLimits) *Service {
	t.Helper()
	s, err := l.Service(name, lim)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var (
	clientA = netip.MustParseAddr("127.0.0.9")
	clientB = netip.MustParseAddr("127.0.0.10")
)

// admit calls Admit and fails the test unless the verdict is want.
func admit(t *testing.T, l *Limiter, s *Service, c netip.Addr, now time.Time, want Limit) (Ticket, Refusal) {
	t.Helper()
	tk, r := l.Admit(s, c, now)
	if r.Limit != want {
		t.Fatalf("Admit(%s, %s) = %v, want %v", s.Name(), c, r.Limit, want)
	}
	if (tk == Ticket{}) != r.Refused() {
		t.Fatalf("Admit(%s, %s): ticket %v with verdict %v", s.Name(), c, tk, r.Limit)
	}
	return tk, r
}

func TestEntrySize(t *testing.T) {
	// The documented cap (doc.go: 72 bytes an entry, 9 MiB by default)
	// depends on these figures.
	if got := unsafe.Sizeof(entry{}); got != 56 {
		t.Errorf("entry is %d bytes, want 56", got)
	}
	if EntryBytes != 72 {
		t.Errorf("EntryBytes = %d, want 72", EntryBytes)
	}
	l := mustNew(t, Config{})
	if got, want := l.SourceMemory(), 9<<20; got != want {
		t.Errorf("default SourceMemory = %d, want %d (9 MiB)", got, want)
	}
}

func TestMaxChildPerSource(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "svc", ServiceLimits{MaxChildPerSource: 3})
	var held []Ticket
	for range 3 {
		tk, _ := admit(t, l, s, clientA, c.now, None)
		held = append(held, tk)
	}
	admit(t, l, s, clientA, c.now, MaxChildPerSource)
	// Another client is still served.
	tkB, _ := admit(t, l, s, clientB, c.now, None)
	tkB.Release()
	// One child of A exits: A gets exactly one more.
	held[0].Release()
	admit(t, l, s, clientA, c.now, None)
	admit(t, l, s, clientA, c.now, MaxChildPerSource)
	if got := s.Children(); got != 3 {
		t.Errorf("Children = %d, want 3", got)
	}
}

func TestMaxChild(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "svc", ServiceLimits{MaxChild: 2})
	other := mustService(t, l, "other", ServiceLimits{MaxChild: 2})
	t1, _ := admit(t, l, s, clientA, c.now, None)
	admit(t, l, s, clientB, c.now, None)
	admit(t, l, s, clientB, c.now, MaxChild)
	admit(t, l, other, clientB, c.now, None) // per service
	t1.Release()
	admit(t, l, s, clientB, c.now, None)
}

func TestConnPerSourcePerMin(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "svc", ServiceLimits{ConnPerSourcePerMin: 5})
	start := c.now
	for i := range 5 {
		tk, _ := admit(t, l, s, clientA, start.Add(time.Duration(i)*time.Second), None)
		tk.Release()
	}
	admit(t, l, s, clientA, start.Add(10*time.Second), ConnPerSourcePerMin)
	tk, _ := admit(t, l, s, clientB, start.Add(10*time.Second), None)
	tk.Release()
	// The window opened at A's first connection: still closed just before
	// a minute, open at a minute.
	admit(t, l, s, clientA, start.Add(time.Minute-time.Millisecond), ConnPerSourcePerMin)
	for range 5 {
		tk, _ := admit(t, l, s, clientA, start.Add(time.Minute), None)
		tk.Release()
	}
	admit(t, l, s, clientA, start.Add(time.Minute), ConnPerSourcePerMin)
}

func TestSourceRate(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "udp-echo", ServiceLimits{SourceRate: 10, SourceBurst: 4})
	for range 4 {
		tk, _ := admit(t, l, s, clientA, c.now, None)
		tk.Release() // a built-in releases at once
	}
	admit(t, l, s, clientA, c.now, SourceRate)
	tk, _ := admit(t, l, s, clientB, c.now, None)
	tk.Release()
	// One token every 100 ms.
	admit(t, l, s, clientA, c.at(99*time.Millisecond), SourceRate)
	tk, _ = admit(t, l, s, clientA, c.at(100*time.Millisecond), None)
	tk.Release()
	admit(t, l, s, clientA, c.at(100*time.Millisecond), SourceRate)
	// After a second the bucket is full again, and no fuller.
	for range 4 {
		tk, _ := admit(t, l, s, clientA, c.at(10*time.Second), None)
		tk.Release()
	}
	admit(t, l, s, clientA, c.at(10*time.Second), SourceRate)
}

func TestCPSRefusesExcess(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "svc", ServiceLimits{CPS: 5}) // burst ceil(5) = 5
	for range 5 {
		tk, _ := admit(t, l, s, clientA, c.now, None)
		tk.Release()
	}
	_, r := admit(t, l, s, clientB, c.now, CPS)
	if !r.Suspended.IsZero() {
		t.Errorf("cps without wait paused the service until %v", r.Suspended)
	}
	admit(t, l, s, clientB, c.at(199*time.Millisecond), CPS)
	tk, _ := admit(t, l, s, clientB, c.at(200*time.Millisecond), None)
	tk.Release()
}

func TestCPSWait(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "svc", ServiceLimits{CPS: 2, CPSWait: 30 * time.Second})
	for range 2 {
		tk, _ := admit(t, l, s, clientA, c.now, None)
		tk.Release()
	}
	_, r := admit(t, l, s, clientA, c.now, CPS)
	if want := c.at(30 * time.Second); !r.Suspended.Equal(want) || r.Pause != 30*time.Second {
		t.Fatalf("pause until %v for %v, want %v for 30s", r.Suspended, r.Pause, want)
	}
	if got := s.SuspendedUntil(); !got.Equal(r.Suspended) {
		t.Errorf("SuspendedUntil = %v, want %v", got, r.Suspended)
	}
	// Paused for everyone, even though the bucket has refilled; the pause
	// is reported once.
	_, r = admit(t, l, s, clientB, c.at(29*time.Second), CPS)
	if !r.Suspended.IsZero() {
		t.Errorf("refusal during the pause reported a new pause until %v", r.Suspended)
	}
	// Resumed with a full bucket.
	for range 2 {
		tk, _ := admit(t, l, s, clientB, c.at(30*time.Second), None)
		tk.Release()
	}
	admit(t, l, s, clientB, c.at(30*time.Second), CPS)
}

// flood admits (and releases) connections at now until the Looping guard
// trips, and returns how many got through and the refusal.
func flood(t *testing.T, l *Limiter, s *Service, now time.Time) (int, Refusal) {
	t.Helper()
	for i := range 10000 {
		tk, r := l.Admit(s, clientA, now)
		if r.Refused() {
			if r.Limit != Looping {
				t.Fatalf("refused by %v, want %v", r.Limit, Looping)
			}
			return i, r
		}
		tk.Release()
	}
	t.Fatal("the looping guard never tripped")
	return 0, Refusal{}
}

func TestLoopingPause(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "tftp", ServiceLimits{RatePerMin: 20})

	// The overload goes on: every resumption trips again at once, and
	// the pause doubles from 10 s up to 10 min.
	now := c.now
	for i, want := range []time.Duration{10, 20, 40, 80, 160, 320, 600, 600} {
		n, r := flood(t, l, s, now)
		if n != 20 {
			t.Fatalf("trip %d: %d invocations before the pause, want 20", i, n)
		}
		if r.Pause != want*time.Second || !r.Suspended.Equal(now.Add(want*time.Second)) {
			t.Fatalf("trip %d: pause %v until %v, want %v", i, r.Pause, r.Suspended, want*time.Second)
		}
		// Refused during the pause. (An Admit after 10 s without any
		// would end it: that is shedding, TestLoopingShedding.)
		admit(t, l, s, clientB, now.Add(LoopPauseMin-time.Millisecond), Looping)
		now = r.Suspended
	}

	// Quiet for a minute after the last pause: the next pause is 10 s.
	now = now.Add(LoopQuiet)
	_, r := flood(t, l, s, now)
	if r.Pause != LoopPauseMin {
		t.Fatalf("after a quiet minute: pause %v, want %v", r.Pause, LoopPauseMin)
	}

	// Under the rate, spread over time, it never trips: 19 a minute for
	// ten minutes.
	now = r.Suspended
	for i := range 190 {
		tk, _ := admit(t, l, s, clientA, now.Add(time.Duration(i)*time.Minute/19), None)
		tk.Release()
	}
}

func TestLoopingShedding(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "svc", ServiceLimits{RatePerMin: 60}) // 10 per 10 s
	now := c.now
	var r Refusal
	for range 4 { // pauses of 10, 20, 40, 80 s
		_, r = flood(t, l, s, now)
		now = r.Suspended
	}
	if r.Pause != 80*time.Second {
		t.Fatalf("pause %v, want 80s", r.Pause)
	}
	start := r.Suspended.Add(-r.Pause)
	// The caller keeps accepting and closing while paused: 2 a second
	// is over the rate (1 a second), the pause holds.
	var at time.Time
	for i := range 40 {
		at = start.Add(time.Duration(i) * 500 * time.Millisecond)
		admit(t, l, s, clientB, at, Looping)
	}
	// The flood stops. Two seconds later the last 10 s are still over
	// the rate; eleven seconds later they are not (one arrival, 10
	// allowed), and that connection ends the pause early.
	admit(t, l, s, clientB, at.Add(2*time.Second), Looping)
	tk, r := admit(t, l, s, clientB, at.Add(11*time.Second), None)
	if !r.Resumed {
		t.Error("early end of the pause not reported")
	}
	tk.Release()
	if got, want := s.SuspendedUntil(), at.Add(11*time.Second); !got.Equal(want) {
		t.Errorf("SuspendedUntil after early end = %v, want %v", got, want)
	}
	// The overload was over: the next pause starts short again.
	_, r = flood(t, l, s, at.Add(12*time.Second))
	if r.Pause != LoopPauseMin {
		t.Errorf("pause after early resumption = %v, want %v", r.Pause, LoopPauseMin)
	}
}

func TestGlobalMaxChild(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{MaxChildren: 3})
	s1 := mustService(t, l, "a", ServiceLimits{})
	s2 := mustService(t, l, "b", ServiceLimits{})
	t1, _ := admit(t, l, s1, clientA, c.now, None)
	admit(t, l, s1, clientA, c.now, None)
	admit(t, l, s2, clientB, c.now, None)
	admit(t, l, s2, clientB, c.now, GlobalMaxChild)
	t1.Release()
	admit(t, l, s2, clientB, c.now, None)
	if l.Children() != 3 {
		t.Errorf("Children = %d, want 3", l.Children())
	}
}

func TestGlobalRate(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{AcceptRate: 100, AcceptBurst: 10})
	s1 := mustService(t, l, "a", ServiceLimits{})
	s2 := mustService(t, l, "b", ServiceLimits{})
	for i := range 10 {
		s := s1
		if i%2 == 1 {
			s = s2
		}
		tk, _ := admit(t, l, s, clientA, c.now, None)
		tk.Release()
	}
	admit(t, l, s2, clientB, c.now, GlobalRate)
	tk, _ := admit(t, l, s2, clientB, c.at(10*time.Millisecond), None)
	tk.Release()
}

func TestRefusalCountsNothing(t *testing.T) {
	// A flood refused by its per-client limit must not use up the
	// service's rate: others are still served.
	c := newClock()
	l := mustNew(t, Config{AcceptRate: 10, AcceptBurst: 3})
	s := mustService(t, l, "svc", ServiceLimits{MaxChildPerSource: 1, CPS: 2, RatePerMin: 3})
	hold, _ := admit(t, l, s, clientA, c.now, None)
	for range 1000 {
		admit(t, l, s, clientA, c.now, MaxChildPerSource)
	}
	tk, _ := admit(t, l, s, clientB, c.now, None)
	tk.Release()
	hold.Release()
	admit(t, l, s, clientA, c.now, CPS)
}

func TestIPv6Prefix(t *testing.T) {
	c := newClock()
	tests := []struct {
		prefix       int      // Config.IPv6Prefix
		same, differ []string // counted as the first of same / as another client
	}{
		{0, []string{"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:ffff:ffff:ffff:ffff"}, []string{"2001:db8:1:3::1"}},
		{56, []string{"2001:db8:1:200::1", "2001:db8:1:2ff::1"}, []string{"2001:db8:1:300::1"}},
		{128, []string{"2001:db8::1"}, []string{"2001:db8::2"}},
	}
	for _, tt := range tests {
		l := mustNew(t, Config{IPv6Prefix: tt.prefix})
		s := mustService(t, l, "svc", ServiceLimits{MaxChildPerSource: len(tt.same)})
		for _, a := range tt.same {
			admit(t, l, s, netip.MustParseAddr(a), c.now, None)
		}
		// Rotating to yet another address inside the prefix does not help.
		first := netip.MustParseAddr(tt.same[0])
		admit(t, l, s, first, c.now, MaxChildPerSource)
		for _, a := range tt.differ {
			admit(t, l, s, netip.MustParseAddr(a), c.now, None)
		}
	}
}

func TestIPv4Prefix(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{IPv4Prefix: 24})
	s := mustService(t, l, "svc", ServiceLimits{MaxChildPerSource: 1})
	admit(t, l, s, netip.MustParseAddr("10.1.2.3"), c.now, None)
	admit(t, l, s, netip.MustParseAddr("10.1.2.200"), c.now, MaxChildPerSource)
	admit(t, l, s, netip.MustParseAddr("10.1.3.3"), c.now, None)
	// An IPv6 address whose /64 is all zero is not an IPv4 client.
	admit(t, l, s, netip.MustParseAddr("::a01:203"), c.now, None)
}

func TestMappedIPv4(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "svc", ServiceLimits{MaxChildPerSource: 1})
	admit(t, l, s, netip.MustParseAddr("127.0.0.9"), c.now, None)
	admit(t, l, s, netip.MustParseAddr("::ffff:127.0.0.9"), c.now, MaxChildPerSource)
	admit(t, l, s, netip.MustParseAddr("::ffff:127.0.0.10"), c.now, None)
	sums := l.Summaries(c.now)
	if len(sums) != 1 || sums[0].Sources[0].Source.String() != "127.0.0.9/32" {
		t.Errorf("summaries = %+v, want one refusal of 127.0.0.9/32", sums)
	}
}

func TestNoAddress(t *testing.T) {
	// A unix socket peer has no address: no per-client limit applies,
	// the service limits do.
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "unix", ServiceLimits{MaxChild: 2, MaxChildPerSource: 1})
	admit(t, l, s, netip.Addr{}, c.now, None)
	admit(t, l, s, netip.Addr{}, c.now, None)
	admit(t, l, s, netip.Addr{}, c.now, MaxChild)
	if got := l.Sources(); got != 0 {
		t.Errorf("Sources = %d, want 0", got)
	}
	if got := l.Summaries(c.now)[0].String(); !strings.Contains(got, "from local") {
		t.Errorf("summary %q does not name the local client", got)
	}
}

func TestReleaseIdempotent(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{MaxChildren: 10})
	s := mustService(t, l, "svc", ServiceLimits{MaxChildPerSource: 2})
	t1, _ := admit(t, l, s, clientA, c.now, None)
	copy1 := t1
	t1.Release()
	t1.Release()
	copy1.Release()
	// The slot goes to a new ticket; the stale copy must not free it.
	t2, _ := admit(t, l, s, clientA, c.now, None)
	if t2.sl != t1.sl {
		t.Fatal("slot not reused: the test does not exercise reuse")
	}
	copy1.Release()
	admit(t, l, s, clientA, c.now, None)
	admit(t, l, s, clientA, c.now, MaxChildPerSource)
	if s.Children() != 2 || l.Children() != 2 {
		t.Errorf("children %d (service) %d (all), want 2 and 2", s.Children(), l.Children())
	}
	Ticket{}.Release() // the zero ticket is released already
}

func TestSetLimitsKeepsCounts(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "svc", ServiceLimits{MaxChild: 5, MaxChildPerSource: 5})
	var held []Ticket
	for range 4 {
		tk, _ := admit(t, l, s, clientA, c.now, None)
		held = append(held, tk)
	}
	// Reload with lower limits: the same state, the new limits.
	s2 := mustService(t, l, "svc", ServiceLimits{MaxChild: 5, MaxChildPerSource: 3})
	if s2 != s {
		t.Fatal("reload made a new service: live counts lost")
	}
	admit(t, l, s, clientA, c.now, MaxChildPerSource)
	held[0].Release()
	held[1].Release()
	admit(t, l, s, clientA, c.now, None)
	admit(t, l, s, clientA, c.now, MaxChildPerSource)
	if _, err := l.Service("svc", ServiceLimits{MaxChild: -1}); err == nil {
		t.Error("negative max-child accepted on reload")
	}
	if got := s.Limits().MaxChildPerSource; got != 3 {
		t.Errorf("a bad reload changed the limits: max-child-per-ip %d, want 3", got)
	}
}

func TestSetLimitsEndsPause(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{})
	s := mustService(t, l, "svc", ServiceLimits{RatePerMin: 1})
	tk, _ := admit(t, l, s, clientA, c.now, None)
	tk.Release()
	admit(t, l, s, clientA, c.now, Looping)
	mustService(t, l, "svc", ServiceLimits{})
	if until := s.SuspendedUntil(); until.After(c.now) {
		t.Errorf("pause ended by reload, but SuspendedUntil = %v, after now", until)
	}
	admit(t, l, s, clientA, c.now, None)
}

func TestEvictionKeepsLiveChildren(t *testing.T) {
	c := newClock()
	const size = 8
	l := mustNew(t, Config{MaxSources: size})
	if len(l.shards) != 1 {
		t.Fatalf("%d shards, want 1", len(l.shards))
	}
	s := mustService(t, l, "svc", ServiceLimits{MaxChildPerSource: 2, ConnPerSourcePerMin: 1000})
	// Client A holds two children: its entry is pinned.
	admit(t, l, s, clientA, c.now, None)
	admit(t, l, s, clientA, c.now, None)
	// 10,000 other clients come and go: the table churns.
	for i := range 10000 {
		a := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tk, _ := admit(t, l, s, a, c.now, None)
		tk.Release()
	}
	if got := l.Sources(); got != size {
		t.Errorf("Sources = %d, want %d", got, size)
	}
	// A's count survived: still at its limit.
	admit(t, l, s, clientA, c.now, MaxChildPerSource)

	// Pin every entry: new clients are refused, fail closed.
	var held []Ticket
	for i := range size - 1 {
		a := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		tk, _ := admit(t, l, s, a, c.now, None)
		held = append(held, tk)
	}
	admit(t, l, s, clientB, c.now, SourceTableFull)
	// Tracked clients are still counted exactly.
	admit(t, l, s, netip.AddrFrom4([4]byte{192, 0, 2, 0}), c.now, None)
	admit(t, l, s, netip.AddrFrom4([4]byte{192, 0, 2, 0}), c.now, MaxChildPerSource)
	// One client's last child exits: room for B.
	held[3].Release()
	admit(t, l, s, clientB, c.now, None)
	admit(t, l, s, clientA, c.now, MaxChildPerSource)
	sums := l.Summaries(c.now)
	found := false
	for _, sum := range sums {
		found = found || (sum.Limit == SourceTableFull && sum.Total == 1)
	}
	if !found {
		t.Errorf("table-full refusal not counted: %v", sums)
	}
}

func TestSummaries(t *testing.T) {
	c := newClock()
	l := mustNew(t, Config{SummarySources: 2})
	s := mustService(t, l, "echo", ServiceLimits{MaxChildPerSource: 1})
	l.Summaries(c.now) // start the period
	admit(t, l, s, clientA, c.now, None)
	for range 312 {
		admit(t, l, s, clientA, c.now, MaxChildPerSource)
	}
	got := l.Summaries(c.at(10 * time.Second))
	want := "echo: 312 connections from 127.0.0.9 refused by max-child-per-ip in the last 10 s"
	if len(got) != 1 || got[0].String() != want {
		t.Fatalf("Summaries = %v, want [%s]", got, want)
	}
	// Reset by the call.
	if got := l.Summaries(c.at(20 * time.Second)); len(got) != 0 {
		t.Fatalf("second Summaries = %v, want none", got)
	}
	// Many clients: two listed, most refused first, the rest together.
	others := []netip.Addr{clientB, netip.MustParseAddr("2001:db8::1"), netip.MustParseAddr("2001:db8:0:1::1"), netip.MustParseAddr("10.0.0.1")}
	for _, a := range others {
		admit(t, l, s, a, c.now, None)
	}
	admit(t, l, s, clientB, c.now, MaxChildPerSource)
	for range 3 {
		admit(t, l, s, netip.MustParseAddr("2001:db8::2"), c.now, MaxChildPerSource) // same /64
	}
	admit(t, l, s, netip.MustParseAddr("2001:db8:0:1::9"), c.now, MaxChildPerSource)
	admit(t, l, s, netip.MustParseAddr("10.0.0.1"), c.now, MaxChildPerSource)
	got = l.Summaries(c.at(25 * time.Second))
	want = "echo: 6 connections refused by max-child-per-ip in the last 5 s: 3 from 2001:db8::/64, 1 from 127.0.0.10, 2 from other clients"
	if len(got) != 1 || got[0].String() != want {
		t.Fatalf("Summaries = %v, want [%s]", got, want)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		cfg  Config
		lim  ServiceLimits
		want string // "" = valid
	}{
		{Config{}, ServiceLimits{}, ""},
		{Config{IPv6Prefix: 129}, ServiceLimits{}, "IPv6 prefix /129: want 1 to 128"},
		{Config{IPv4Prefix: -1}, ServiceLimits{}, "IPv4 prefix /-1: want 1 to 32"},
		{Config{AcceptRate: 1e9}, ServiceLimits{}, "accept rate 1e+09: want 0 (no limit) or 0.001 to 1e+06 per second"},
		{Config{}, ServiceLimits{MaxChild: -2}, "max-child -2: negative"},
		{Config{}, ServiceLimits{CPS: -1}, "cps -1: want 0 (no limit) or 0.001 to 1e+06 per second"},
		{Config{}, ServiceLimits{CPSWait: -time.Second}, "cps wait -1s: negative"},
		{Config{}, ServiceLimits{SourceBurst: -1}, "source rate burst -1: want 0 to 1048576"},
	}
	for _, tt := range tests {
		got := ""
		if err := tt.cfg.Validate(); err != nil {
			got = err.Error()
		}
		if err := tt.lim.Validate(); err != nil {
			got += err.Error()
		}
		if got != tt.want {
			t.Errorf("Validate(%+v, %+v) = %q, want %q", tt.cfg, tt.lim, got, tt.want)
		}
	}
	if _, err := New(Config{MaxSources: -1}); err == nil {
		t.Error("New accepted a negative table size")
	}
}

func TestBackoff(t *testing.T) {
	var b Backoff
	now := time.Unix(1_000_000, 0)
	want := []time.Duration{10, 20, 40, 80, 160, 320, 640, 1000, 1000}
	for i, w := range want {
		wait, first := b.Fail(now)
		if wait != w*time.Millisecond || first != (i == 0) {
			t.Fatalf("failure %d: wait %v first %v, want %v %v", i, wait, first, w*time.Millisecond, i == 0)
		}
		if i < len(want)-1 {
			now = now.Add(wait) // the next accept, after the wait
		}
	}
	// Accept works right after a failure: the wait starts short again,
	// but the episode goes on (near the limit accept fails and works by
	// turns: one episode, logged once).
	if n := b.Success(now); n != 0 {
		t.Errorf("Success just after a failure = %d, want 0 (episode not over)", n)
	}
	if wait, first := b.Fail(now); wait != BackoffMin || first {
		t.Errorf("failure after a success within the episode: wait %v first %v, want %v false", wait, first, BackoffMin)
	}
	if n := b.Success(now.Add(BackoffQuiet - time.Nanosecond)); n != 0 {
		t.Errorf("Success %v after the last failure = %d, want 0", BackoffQuiet-time.Nanosecond, n)
	}
	if n := b.Success(now.Add(BackoffQuiet)); n != len(want)+1 {
		t.Errorf("Success %v after the last failure = %d, want %d", BackoffQuiet, n, len(want)+1)
	}
	if n := b.Success(now.Add(2 * BackoffQuiet)); n != 0 {
		t.Errorf("second Success = %d, want 0", n)
	}
	// A new episode starts short again.
	if wait, first := b.Fail(now.Add(3 * BackoffQuiet)); wait != BackoffMin || !first {
		t.Errorf("new episode: wait %v first %v", wait, first)
	}
}

func TestClockBeforeEpoch(t *testing.T) {
	// A caller's clock may read before New's: ticks go negative and every
	// window, bucket and pause must still work.
	base := time.Unix(1_000_000, 0) // wall clock only, decades before now
	l := mustNew(t, Config{AcceptRate: 100})
	s := mustService(t, l, "svc", ServiceLimits{RatePerMin: 6, ConnPerSourcePerMin: 100, SourceRate: 100})
	_, r := flood(t, l, s, base)
	if r.Pause != LoopPauseMin || !r.Suspended.Equal(base.Add(LoopPauseMin)) {
		t.Fatalf("pause %v until %v", r.Pause, r.Suspended)
	}
	admit(t, l, s, clientB, base.Add(time.Second), Looping)
	tk, _ := admit(t, l, s, clientB, base.Add(LoopPauseMin), None)
	tk.Release()
	_, r = flood(t, l, s, base.Add(LoopPauseMin))
	if r.Pause != 2*LoopPauseMin {
		t.Fatalf("second pause %v, want %v", r.Pause, 2*LoopPauseMin)
	}
	// Shedding across the 20 s pause, then quiet.
	for i := range 30 {
		admit(t, l, s, clientB, r.Suspended.Add(-r.Pause+time.Duration(i)*300*time.Millisecond), Looping)
	}
	tk, r = admit(t, l, s, clientB, r.Suspended.Add(-r.Pause+19*time.Second), None)
	if !r.Resumed {
		t.Error("early resumption not reported")
	}
	tk.Release()
}
