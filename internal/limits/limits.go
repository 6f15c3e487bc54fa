package limits

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"math"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults and fixed figures of the limiter.
const (
	DefaultMaxSources     = 1 << 17 // per-client entries: 131,072 × EntryBytes = 9 MiB
	DefaultIPv6Prefix     = 64
	DefaultIPv4Prefix     = 32
	DefaultSummarySources = 5
	MaxSummarySources     = 16

	SourceWindow = time.Minute // window of ConnPerSourcePerMin
	LoopWindow   = time.Minute // window of RatePerMin (-R)
	LoopPauseMin = 10 * time.Second
	LoopPauseMax = 10 * time.Minute // BSD inetd's RETRYTIME
	LoopQuiet    = time.Minute      // a trip later than this after a pause starts again at LoopPauseMin

	maxRate  = 1e6 // per second; keeps GCRA arithmetic far from overflow
	minRate  = 1e-3
	maxBurst = 1 << 20
	minTick  = math.MinInt64 / 4 // "long ago": a full token bucket
)

// Config holds the limits across all services and the shape of the client
// table. The zero value sets no global limit and uses the defaults.
type Config struct {
	MaxChildren int     // concurrent children of all services together; 0 = no limit
	AcceptRate  float64 // admissions per second across all services; 0 = no limit
	AcceptBurst int     // bucket size for AcceptRate; 0 = ceil(AcceptRate)

	IPv6Prefix int // IPv6 clients are counted per prefix of this many bits; 0 = 64
	IPv4Prefix int // IPv4 clients likewise; 0 = 32 (one address)

	MaxSources     int // per-client entries kept; 0 = DefaultMaxSources
	SummarySources int // clients listed per summary; 0 = DefaultSummarySources
}

// Validate reports every bad field.
func (c Config) Validate() error {
	var errs []error
	if c.MaxChildren < 0 {
		errs = append(errs, fmt.Errorf("max children %d: negative", c.MaxChildren))
	}
	errs = append(errs, checkRate("accept rate", c.AcceptRate, c.AcceptBurst)...)
	if c.IPv6Prefix < 0 || c.IPv6Prefix > 128 {
		errs = append(errs, fmt.Errorf("IPv6 prefix /%d: want 1 to 128", c.IPv6Prefix))
	}
	if c.IPv4Prefix < 0 || c.IPv4Prefix > 32 {
		errs = append(errs, fmt.Errorf("IPv4 prefix /%d: want 1 to 32", c.IPv4Prefix))
	}
	if c.MaxSources < 0 || c.MaxSources > 1<<26 {
		errs = append(errs, fmt.Errorf("max sources %d: want 1 to %d", c.MaxSources, 1<<26))
	}
	if c.SummarySources < 0 || c.SummarySources > MaxSummarySources {
		errs = append(errs, fmt.Errorf("summary sources %d: want 1 to %d", c.SummarySources, MaxSummarySources))
	}
	return errors.Join(errs...)
}

func checkRate(what string, rate float64, burst int) []error {
	var errs []error
	if rate != 0 && !(rate >= minRate && rate <= maxRate) { // also catches NaN
		errs = append(errs, fmt.Errorf("%s %v: want 0 (no limit) or %v to %v per second", what, rate, minRate, maxRate))
	}
	if burst < 0 || burst > maxBurst {
		errs = append(errs, fmt.Errorf("%s burst %d: want 0 to %d", what, burst, maxBurst))
	}
	return errs
}

// Limit names the limit that refused a connection. The zero value, None,
// means admitted.
type Limit uint8

const (
	None                Limit = iota
	MaxChild                  // service's concurrent children
	MaxChildPerSource         // concurrent children from one client
	ConnPerSourcePerMin       // connections from one client per minute
	SourceRate                // per-client token bucket (datagrams)
	CPS                       // service's token bucket, xinetd cps
	Looping                   // -R invocations per minute
	GlobalMaxChild            // all services' children
	GlobalRate                // all services' admissions per second
	SourceTableFull           // every client entry pinned by live children
	numLimits
)

var limitNames = [numLimits]string{
	None:                "none",
	MaxChild:            "max-child",
	MaxChildPerSource:   "max-child-per-ip",
	ConnPerSourcePerMin: "max-conn-per-ip-per-minute",
	SourceRate:          "source-rate",
	CPS:                 "cps",
	Looping:             "invocations-per-minute",
	GlobalMaxChild:      "global-max-child",
	GlobalRate:          "global-accept-rate",
	SourceTableFull:     "source-table-full",
}

func (l Limit) String() string {
	if l < numLimits {
		return limitNames[l]
	}
	return fmt.Sprintf("limit(%d)", uint8(l))
}

// Refusal is Admit's verdict. The zero value admits.
type Refusal struct {
	Limit Limit // None: admitted
	// Suspended is set when this call paused the service (Limit is CPS or
	// Looping): stop watching the listener until then and log the pause.
	// Later refusals during the same pause leave it zero.
	Suspended time.Time
	Pause     time.Duration // length of that pause
	// Resumed is set on an admitted connection that ended a Looping pause
	// before its time, because the caller kept shedding and the overload
	// stopped; log the resumption. A pause that runs to its end is not
	// reported again: the caller already knows when it ends.
	Resumed bool
}

// Refused says whether the connection must be closed.
func (r Refusal) Refused() bool { return r.Limit != None }

// Limiter holds every service's limit state and the client table. It is safe
// for concurrent use. Create it with New; the zero value is not usable.
type Limiter struct {
	cfg    Config
	epoch  time.Time
	seed   maphash.Seed
	v6bits int
	v4bits int
	nsrc   int // summary sources

	shards    []shard
	shardBits uint

	children atomic.Int64 // live children, all services

	gmu         sync.Mutex // global rate; increments of children when MaxChildren is set
	gTAT        int64
	gInterval   int64
	gBurst      int64
	globalCheck bool

	mu          sync.Mutex // services, nextID, lastSummary
	services    map[string]*Service
	nextID      uint32
	lastSummary time.Time
}

// New builds a limiter. Times passed to its methods must come from one clock:
// time.Now() in the daemon (monotonic), a fake one in tests.
func New(cfg Config) (*Limiter, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("limits: %w", err)
	}
	l := &Limiter{
		cfg:      cfg,
		epoch:    time.Now(),
		seed:     maphash.MakeSeed(), // random: clients cannot aim at one index chain
		v6bits:   or(cfg.IPv6Prefix, DefaultIPv6Prefix),
		v4bits:   or(cfg.IPv4Prefix, DefaultIPv4Prefix),
		nsrc:     or(cfg.SummarySources, DefaultSummarySources),
		services: make(map[string]*Service),
		gTAT:     minTick,
	}
	l.lastSummary = l.epoch
	if cfg.AcceptRate > 0 {
		l.gInterval, l.gBurst = bucket(cfg.AcceptRate, cfg.AcceptBurst)
	}
	l.globalCheck = cfg.AcceptRate > 0 || cfg.MaxChildren > 0

	// One shard per 1,024 entries up to 16: small tables keep one exact LRU,
	// big ones spread the lock over both accept goroutines and cores.
	total := or(cfg.MaxSources, DefaultMaxSources)
	n := 1
	for n < 16 && n*2*1024 <= total {
		n *= 2
	}
	for 1<<l.shardBits < n {
		l.shardBits++
	}
	l.shards = make([]shard, n)
	for i := range l.shards {
		c := total / n
		if i < total%n {
			c++
		}
		l.shards[i].init(c)
	}
	return l, nil
}

func or(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// bucket converts a rate per second and a burst into GCRA terms: the
// interval between tokens in ns and the bucket size.
func bucket(rate float64, burst int) (interval, size int64) {
	interval = int64(float64(time.Second) / rate)
	if interval < 1 {
		interval = 1
	}
	if burst == 0 {
		burst = int(math.Ceil(rate))
	}
	return interval, int64(max(burst, 1))
}

// gcraAllow - would one more event fit in a bucket of size tokens refilled
// one per interval, whose theoretical arrival time is tat?
func gcraAllow(tat, now, interval, size int64) bool {
	return max(tat, now)+interval-now <= size*interval
}

func gcraTake(tat, now, interval int64) int64 { return max(tat, now) + interval }

// SourceMemory is the most memory the client table of this limiter can take,
// in bytes, when every entry is in use.
func (l *Limiter) SourceMemory() int {
	total := 0
	for i := range l.shards {
		c := l.shards[i].capacity
		n := 1
		for n < 2*c {
			n <<= 1
		}
		total += c*(EntryBytes-indexBytes) + n*8
	}
	return total
}

// Sources is the number of client entries in use.
func (l *Limiter) Sources() int {
	n := 0
	for i := range l.shards {
		sh := &l.shards[i]
		sh.mu.Lock()
		n += len(sh.entries)
		sh.mu.Unlock()
	}
	return n
}

// Children is the number of live tickets of all services.
func (l *Limiter) Children() int { return int(l.children.Load()) }

func (l *Limiter) tick(now time.Time) int64 { return int64(now.Sub(l.epoch)) }

// sourceKey - the client's table key: its address cut to the configured
// prefix, IPv4-mapped IPv6 as IPv4. ok is false for an invalid address.
func (l *Limiter) sourceKey(a netip.Addr) (k [16]byte, ok bool) {
	if !a.IsValid() {
		return k, false
	}
	a = a.Unmap()
	bits := l.v6bits
	if a.Is4() {
		bits = 96 + l.v4bits
	}
	k = a.As16()
	if bits < 128 {
		i := bits / 8
		if r := bits % 8; r != 0 {
			k[i] &= ^byte(0xff >> r)
			i++
		}
		clear(k[i:])
	}
	return k, true
}

// prefixOf is sourceKey's inverse, for summaries.
func (l *Limiter) prefixOf(k [16]byte) netip.Prefix {
	a := netip.AddrFrom16(k)
	if a.Is4In6() {
		return netip.PrefixFrom(a.Unmap(), l.v4bits)
	}
	return netip.PrefixFrom(a, l.v6bits)
}

func (l *Limiter) hash(svc uint32, k *[16]byte) uint64 {
	var b [20]byte
	copy(b[:16], k[:])
	binary.LittleEndian.PutUint32(b[16:], svc)
	return maphash.Bytes(l.seed, b[:])
}

func (l *Limiter) shardFor(h uint64) *shard {
	if l.shardBits == 0 {
		return &l.shards[0]
	}
	// The index uses the low bits of h; the shard takes the top ones.
	return &l.shards[h>>(64-l.shardBits)]
}

// Ticket is one admitted connection's hold on the limits. Release it when the
// child exits, or at once for a built-in. The zero value is a released ticket.
type Ticket struct {
	sl  *slot
	gen uint64
}

// slot is the reusable state behind tickets; gen makes Release idempotent
// even after the slot has gone to a new ticket.
type slot struct {
	gen   atomic.Uint64
	svc   *Service
	sh    *shard // nil: no client entry
	entry int32
	next  *slot // service's free list
}

// Release gives back what Admit took. Calling it again, or on a copy, does
// nothing.
func (t Ticket) Release() {
	sl := t.sl
	if sl == nil || !sl.gen.CompareAndSwap(t.gen, t.gen+1) {
		return
	}
	s := sl.svc
	if sl.sh != nil {
		sl.sh.unpin(sl.entry)
	}
	s.children.Add(-1)
	s.l.children.Add(-1)
	s.mu.Lock()
	sl.sh = nil
	sl.next = s.free
	s.free = sl
	s.mu.Unlock()
}

// Admit decides on one connection (or datagram) from client to s at now. On
// admission the Ticket holds a child of s and of client until Release; on
// refusal the Ticket is zero and the refusal is counted for Summaries.
func (l *Limiter) Admit(s *Service, client netip.Addr, now time.Time) (Ticket, Refusal) {
	t := l.tick(now)
	key, valid := l.sourceKey(client)

	s.mu.Lock()
	defer s.mu.Unlock()
	lim := &s.lim

	var verdict Refusal
	if s.pause != None {
		switch {
		case t >= s.pauseUntil:
			s.endPause(s.pauseUntil, false)
		case s.pause == Looping && s.quietDuringPause(t):
			s.endPause(t, true)
			verdict.Resumed = true
		default:
			return s.refuse(s.pause, &key, valid)
		}
	}

	// Per client: pure checks now, counted only once every limit agrees.
	var sh *shard
	idx := int32(-1)
	var h uint64
	if valid && s.perSource {
		h = l.hash(s.id, &key)
		sh = l.shardFor(h)
		sh.mu.Lock()
		defer sh.mu.Unlock()
		idx = sh.find(s.id, &key, h)
		if idx >= 0 {
			e := &sh.entries[idx]
			refused := None
			switch {
			case lim.MaxChildPerSource > 0 && int(e.children) >= lim.MaxChildPerSource:
				refused = MaxChildPerSource
			case lim.ConnPerSourcePerMin > 0 && t-e.winStart < int64(SourceWindow) &&
				int(e.winCount) >= lim.ConnPerSourcePerMin:
				refused = ConnPerSourcePerMin
			case lim.SourceRate > 0 && !gcraAllow(e.tat, t, s.srcInterval, s.srcBurst):
				refused = SourceRate
			}
			if refused != None {
				// A client that keeps knocking stays the most recently
				// seen, so churn cannot evict it and reset its window.
				sh.touch(idx)
				return s.refuse(refused, &key, valid)
			}
		} else if !sh.canInsert() {
			return s.refuse(SourceTableFull, &key, valid)
		}
	}

	// Per service.
	if lim.MaxChild > 0 && s.children.Load() >= int64(lim.MaxChild) {
		return s.refuse(MaxChild, &key, valid)
	}
	if lim.CPS > 0 && !gcraAllow(s.cpsTAT, t, s.cpsInterval, s.cpsBurst) {
		_, r := s.refuse(CPS, &key, valid)
		if lim.CPSWait > 0 {
			r.Suspended, r.Pause = s.startPause(CPS, t, lim.CPSWait), lim.CPSWait
		}
		return Ticket{}, r
	}
	loopOpen := t-s.loopStart < int64(LoopWindow) && s.loopCount > 0
	if lim.RatePerMin > 0 && loopOpen && s.loopCount >= lim.RatePerMin {
		_, r := s.refuse(Looping, &key, valid)
		r.Pause = s.nextLoopPause(t)
		r.Suspended = s.startPause(Looping, t, r.Pause)
		return Ticket{}, r
	}

	// Global, last: it is the one lock every service shares.
	if l.globalCheck {
		l.gmu.Lock()
		if l.cfg.MaxChildren > 0 && l.children.Load() >= int64(l.cfg.MaxChildren) {
			l.gmu.Unlock()
			return s.refuse(GlobalMaxChild, &key, valid)
		}
		if l.gInterval > 0 {
			if !gcraAllow(l.gTAT, t, l.gInterval, l.gBurst) {
				l.gmu.Unlock()
				return s.refuse(GlobalRate, &key, valid)
			}
			l.gTAT = gcraTake(l.gTAT, t, l.gInterval)
		}
		l.children.Add(1) // under gmu: the MaxChildren check above stays true
		l.gmu.Unlock()
	} else {
		l.children.Add(1)
	}

	// Admitted: count it everywhere.
	if lim.CPS > 0 {
		s.cpsTAT = gcraTake(s.cpsTAT, t, s.cpsInterval)
	}
	if !loopOpen {
		s.loopStart, s.loopCount = t, 0
	}
	s.loopCount++
	s.children.Add(1)
	if sh != nil {
		if idx < 0 {
			idx = sh.insert(s.id, &key, h, t)
		} else {
			sh.touch(idx)
		}
		e := &sh.entries[idx]
		if t-e.winStart >= int64(SourceWindow) || e.winCount == 0 {
			e.winStart, e.winCount = t, 0
		}
		e.winCount++
		if s.srcInterval > 0 {
			e.tat = gcraTake(e.tat, t, s.srcInterval)
		}
		sh.pin(idx)
	}

	sl := s.free
	if sl != nil {
		s.free = sl.next
		sl.next = nil
	} else {
		sl = &slot{svc: s}
	}
	sl.sh, sl.entry = sh, idx
	return Ticket{sl: sl, gen: sl.gen.Load()}, verdict
}
