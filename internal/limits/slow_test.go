package limits

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"
)

// slowTable is a plain reference for the client table and the per-client
// and per-service child limits: a map, and eviction by scanning for the least
// recently seen client without live children. The fast table must give the
// same verdicts, op for op.
type slowTable struct {
	size                        int
	maxChild, perSource, perMin int
	m                           map[netip.Prefix]*slowEntry
	seen                        int // logical clock for LRU
	children                    int
}

type slowEntry struct {
	children int
	winStart time.Time
	winCount int
	seen     int
}

func (st *slowTable) key(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

func (st *slowTable) admit(a netip.Addr, now time.Time) Limit {
	k := st.key(a)
	e := st.m[k]
	if e != nil {
		refused := None
		switch {
		case e.children >= st.perSource:
			refused = MaxChildPerSource
		case now.Sub(e.winStart) < SourceWindow && e.winCount >= st.perMin:
			refused = ConnPerSourcePerMin
		}
		if refused != None {
			if e.children == 0 {
				st.seen++
				e.seen = st.seen
			}
			return refused
		}
	} else if len(st.m) >= st.size && st.victim() == (netip.Prefix{}) {
		return SourceTableFull
	}
	if st.children >= st.maxChild {
		return MaxChild
	}
	if e == nil {
		if len(st.m) >= st.size {
			delete(st.m, st.victim())
		}
		e = &slowEntry{winStart: now}
		st.m[k] = e
	}
	st.seen++
	e.seen = st.seen
	if now.Sub(e.winStart) >= SourceWindow || e.winCount == 0 {
		e.winStart, e.winCount = now, 0
	}
	e.winCount++
	e.children++
	st.children++
	return None
}

// victim - the least recently seen client with no live children.
func (st *slowTable) victim() netip.Prefix {
	var v netip.Prefix
	best := -1
	for k, e := range st.m {
		if e.children == 0 && (best < 0 || e.seen < best) {
			v, best = k, e.seen
		}
	}
	return v
}

func (st *slowTable) release(a netip.Addr) {
	e := st.m[st.key(a)]
	e.children--
	if e.children == 0 {
		// Unpinned: back on the LRU list as the most recently seen.
		st.seen++
		e.seen = st.seen
	}
	st.children--
}

// checkAgainstSlow plays ops on the fast limiter and the slow table. Each op
// byte: low bit admit or release, the rest picks a client or a held ticket
// and moves the clock.
func checkAgainstSlow(t *testing.T, size int, ops []byte) {
	const maxChild, perSource, perMin = 40, 2, 5
	c := newClock()
	l := mustNew(t, Config{MaxSources: size})
	s := mustService(t, l, "svc", ServiceLimits{MaxChild: maxChild, MaxChildPerSource: perSource, ConnPerSourcePerMin: perMin})
	st := &slowTable{size: size, maxChild: maxChild, perSource: perSource, perMin: perMin, m: map[netip.Prefix]*slowEntry{}}
	type held struct {
		tk Ticket
		a  netip.Addr
	}
	var tickets []held
	for i, op := range ops {
		c.add(time.Duration(op>>4) * time.Second)
		if op&1 == 0 || len(tickets) == 0 {
			// 48 clients: 32 IPv4 (some mapped), 16 IPv6 in 8 /64s.
			n := int(op>>1) % 48
			var a netip.Addr
			switch {
			case n < 16:
				a = netip.AddrFrom4([4]byte{127, 0, 0, byte(n)})
			case n < 32:
				a = netip.AddrFrom16(netip.AddrFrom4([4]byte{127, 0, 0, byte(n - 8)}).As16()) // overlaps 8..15
			default:
				a = netip.MustParseAddr("2001:db8::").Next()
				b := a.As16()
				b[7], b[15] = byte(n%8), byte(n)
				a = netip.AddrFrom16(b)
			}
			want := st.admit(a, c.now)
			tk, r := l.Admit(s, a, c.now)
			if r.Limit != want {
				t.Fatalf("op %d: Admit(%s) = %v, slow table says %v", i, a, r.Limit, want)
			}
			if !r.Refused() {
				tickets = append(tickets, held{tk, a})
			}
		} else {
			j := int(op>>1) % len(tickets)
			h := tickets[j]
			tickets = append(tickets[:j], tickets[j+1:]...)
			h.tk.Release()
			st.release(h.a)
		}
		if got := l.Sources(); got != len(st.m) {
			t.Fatalf("op %d: %d clients in the table, slow table has %d", i, got, len(st.m))
		}
	}
}

func TestAgainstSlow(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{1, 3, 8, 20, 64} {
		ops := make([]byte, 20000)
		for i := range ops {
			ops[i] = byte(rng.Uint32())
			if rng.IntN(4) > 0 {
				ops[i] &^= 0xf0 // mostly no clock move: the limits bite
			}
		}
		checkAgainstSlow(t, size, ops)
	}
}

// FuzzAgainstSlow: the fast limiter and the slow table agree on any op
// sequence. Seeds (testdata/fuzz/FuzzAgainstSlow): churn through a tiny
// table, a burst from one client, a slow clock.
func FuzzAgainstSlow(f *testing.F) {
	f.Fuzz(func(t *testing.T, size uint8, ops []byte) {
		if len(ops) > 5000 {
			ops = ops[:5000]
		}
		checkAgainstSlow(t, 1+int(size%64), ops)
	})
}
