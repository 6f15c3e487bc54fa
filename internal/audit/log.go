package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Options configure a Log. The zero value is usable: RFC 5424 (RFC 3164
// to a unix socket), facility
// daemon, spill files in a private directory under os.TempDir, and the
// default sizes below.
type Options struct {
	Format   Format   // format of the syslog sinks (--log-format); FormatAuto: RFC 5424, RFC 3164 to unix sockets
	Facility Facility // FacDefault: daemon
	Hostname string   // "": os.Hostname()
	AppName  string   // "": "hinetd"
	ProcID   string   // "": this process's pid
	SDID     string   // "": SDID ("hinetd@32473")

	// QueueLen is the Emit queue, shared by all sinks, in events
	// (default 131072, about 30 MiB at most; memory is taken in chunks
	// as a burst needs it). When it is full Emit drops and counts.
	QueueLen int
	// MemBytes is each sink's in-memory backlog (default 1 MiB); beyond
	// it records go to the sink's spill file.
	MemBytes int
	// SpillDir holds one spill file per sink (default
	// $TMPDIR/hinetd-audit-<uid>, created 0700). It must not be a
	// symlink and must belong to this user.
	SpillDir string
	// Instance names the program instance the spill files belong to
	// (hinetd: its configuration file). Two Logs with different
	// Instance values and the same SpillDir have their own spill files
	// for the same sink; with the same value, the second Open fails,
	// naming the process that holds them. A new Log takes over the
	// files of its sinks that no running Log holds. The stderr sink has
	// no spill file.
	Instance string
	// SpillBytes caps each spill file (default 64 MiB); beyond it records
	// are dropped and a drop record says how many. Negative: no spill
	// file, drop as soon as memory is full.
	SpillBytes int64
	// ResendAge and ResendBytes: syslog over TCP has no acknowledgement,
	// and a collector that is shutting down stops reading long before it
	// closes its sockets; what sat in the kernel buffers then is lost to
	// it (on loopback, megabytes). So after a connection breaks, every
	// record written on it in the last ResendAge (default 10s), at most
	// ResendBytes (default 16 MiB), is sent again. Duplicates carry the
	// same meta sequenceId. Negative ResendBytes disables this.
	ResendAge   time.Duration
	ResendBytes int

	RetryMin     time.Duration // first reconnect delay (default 100ms)
	RetryMax     time.Duration // backoff cap (default 10s)
	DialTimeout  time.Duration // default 3s
	WriteTimeout time.Duration // a write blocked longer breaks the connection (default 5s)

	// BatchDelay paces the dispatcher: it waits this long after the
	// first record of a quiet spell, and between batches under load, so
	// that records travel in batches and the dispatcher, each sender and
	// the collector wake once per batch (0: no wait; the daemon uses a
	// few tens of milliseconds). It is also how late a record may reach
	// a sink that is up.
	BatchDelay time.Duration

	// DenyPerSecond: deny and limit records written one per connection
	// per service per second before they are summarised (default 100).
	DenyPerSecond int
	// SummaryKeys caps the distinct (client, rule) pairs counted per
	// service per second (default 1000); the rest are counted together.
	SummaryKeys int
}

func (o *Options) setDefaults() {
	if o.QueueLen <= 0 {
		o.QueueLen = 131072
	}
	if o.MemBytes <= 0 {
		o.MemBytes = 1 << 20
	}
	if o.SpillBytes == 0 {
		o.SpillBytes = 64 << 20
	}
	if o.ResendBytes == 0 {
		o.ResendBytes = 16 << 20
	}
	if o.ResendAge <= 0 {
		o.ResendAge = 10 * time.Second
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 100 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 10 * time.Second
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = o.RetryMin
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = 3 * time.Second
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 5 * time.Second
	}
	if o.DenyPerSecond <= 0 {
		o.DenyPerSecond = 100
	}
	if o.SummaryKeys <= 0 {
		o.SummaryKeys = 1000
	}
	if o.Hostname == "" {
		o.Hostname, _ = os.Hostname()
	}
	if o.ProcID == "" {
		o.ProcID = strconv.Itoa(os.Getpid())
	}
}

// SinkStats are one sink's counters. After Close, Emitted = Delivered +
// Dropped + Pending: every record is delivered, dropped with a drop
// record, or still in the spill file for the next run.
type SinkStats struct {
	URL         string
	Emitted     uint64 // events offered to this sink (Emit calls, including those the queue dropped)
	Delivered   uint64 // records written to the sink (first time)
	Resent      uint64 // records written again after a broken connection
	Spilled     uint64 // records that went through the spill file
	Dropped     uint64 // records lost, each counted in a drop record
	DropRecords uint64 // drop records written
	Pending     int    // records queued and never written (after Close: left in the spill file)
	Failures    uint64 // failed dials and broken connections
	Up          bool   // connected now
	LastError   string // last dial or write error
}

// Log is the audit log: Emit hands events to every sink. The zero Log is
// not usable; call Open. All methods are safe for concurrent use.
type Log struct {
	opts  Options
	sinks []*sink
	fmts  []Formatter // distinct formatters; sink.fmt indexes it
	seq   atomic.Uint64

	closed    atomic.Bool
	qDropped  atomic.Uint64 // Emit found the queue full
	qFirst    atomic.Int64  // unix ns of the first such drop since the last report
	qLast     atomic.Int64
	emitted   atomic.Uint64
	afterStop atomic.Uint64 // Emit after Close

	sum *Summariser

	// The queue: chunks of events under qMu, which is held only to append
	// one event or to swap the chunks out, never during formatting or I/O.
	// Chunks keep appends from copying a big array under the lock.
	qMu      sync.Mutex
	q        [][]queued
	qN       int
	qCap     int
	free     [][]queued // processed chunks, cleared, for reuse
	asleep   bool       // the dispatcher waits for wake
	enqueued uint64     // events ever enqueued (Settle)
	qClosed  bool       // Close has begun: enqueue refuses
	wake     chan struct{}

	stop     chan struct{} // closed by Close: dispatcher drains and ends
	handed   atomic.Uint64 // queued events the dispatcher has handed to the spools
	dispDone chan struct{}
	wg       sync.WaitGroup // senders
}

// closeGrace is how long Close waits, after its context ends, for senders
// to notice.
const closeGrace = 2 * time.Second

// qChunk is the size of one queue chunk, in events.
const qChunk = 1024

type queued struct {
	ev  Event
	seq uint64
}

// Open starts a Log writing to the sinks named by urls (see parseTarget
// for the URL forms). Sinks that are down are retried in the background;
// only malformed URLs and an unusable spill directory are errors.
func Open(urls []string, opts Options) (*Log, error) {
	opts.setDefaults()
	l := &Log{
		opts:     opts,
		wake:     make(chan struct{}, 1),
		stop:     make(chan struct{}),
		dispDone: make(chan struct{}),
	}
	l.sum = NewSummariser(opts.DenyPerSecond, opts.SummaryKeys)
	l.qCap = opts.QueueLen
	var errs []error
	var targets []*target
	seen := map[string]bool{}
	for _, u := range urls {
		if seen[u] {
			// Both would share one spill file.
			errs = append(errs, fmt.Errorf("log sink %q: given twice", u))
			continue
		}
		seen[u] = true
		t, err := parseTarget(u, opts.Format)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		targets = append(targets, t)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	dir := ""
	if opts.SpillBytes > 0 && len(targets) > 0 {
		var err error
		if dir, err = spillDir(opts.SpillDir); err != nil {
			return nil, err
		}
	}
	for _, t := range targets {
		f := Formatter{Format: t.format, Facility: opts.Facility, Hostname: opts.Hostname,
			AppName: opts.AppName, ProcID: opts.ProcID, SDID: opts.SDID}
		if t.scheme == "unix" && t.format == FormatRFC3164 {
			f.Hostname = "" // /dev/log messages carry no host (as glibc's syslog(3))
		}
		fi := -1
		for i := range l.fmts {
			if l.fmts[i] == f {
				fi = i
			}
		}
		if fi < 0 {
			fi = len(l.fmts)
			l.fmts = append(l.fmts, f)
		}
		path := ""
		if dir != "" && t.scheme != "stderr" {
			// stderr belongs to this process: nothing to replay to it
			// in another run.
			path = spillPath(dir, t.url, opts.Instance)
		}
		sp, err := newSpool(path, opts.MemBytes, opts.SpillBytes)
		if err != nil {
			for _, s := range l.sinks {
				s.spool.closeFile()
			}
			return nil, fmt.Errorf("log sink %q: %w", t.url, err)
		}
		if path != "" {
			// Records other runs of this sink left behind, under
			// another instance key, go out first.
			others, _ := filepath.Glob(spillPath(dir, t.url, "") + "*")
			for _, o := range others {
				if o != path {
					sp.adopt(o)
				}
			}
		}
		l.sinks = append(l.sinks, &sink{log: l, t: t, fmt: fi, spool: sp, abort: make(chan struct{})})
	}
	go l.dispatch()
	for _, s := range l.sinks {
		l.wg.Add(1)
		go s.run()
	}
	return l, nil
}

// spillPath names the spill file of the sink url for the instance:
// "spill-" and a hash of the URL, then a hash of the instance key, so that
// two hinetds with different configurations never share one.
func spillPath(dir, url, instance string) string {
	sum := sha256.Sum256([]byte(url))
	name := "spill-" + hex.EncodeToString(sum[:8])
	if instance != "" {
		isum := sha256.Sum256([]byte(instance))
		name += "-" + hex.EncodeToString(isum[:8])
	}
	return filepath.Join(dir, name)
}

// spillDir makes sure the spill directory exists, is a real directory
// owned by us and not writable by others: a spill file in a directory
// someone else controls could be swapped (xinetd's dump-file attack).
func spillDir(dir string) (string, error) {
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "hinetd-audit-"+strconv.Itoa(os.Geteuid()))
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("spill directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return "", fmt.Errorf("spill directory: %w", err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !fi.IsDir() || !ok || int(st.Uid) != os.Geteuid() || fi.Mode().Perm()&0o022 != 0 {
		return "", fmt.Errorf("spill directory %s: must be a directory owned by uid %d, not writable by others", dir, os.Geteuid())
	}
	return dir, nil
}

// Emit queues ev for every sink and returns at once: it never waits on a
// sink or the disk, only (briefly) on the queue's lock. When the queue is
// full the event is dropped and counted; a drop record follows on every
// sink.
func (l *Log) Emit(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	l.emitted.Add(1)
	if l.closed.Load() {
		l.afterStop.Add(1)
		return
	}
	// RFC 5424 7.3.1: sequenceId runs 1..2147483647, then wraps to 1.
	seq := (l.seq.Add(1)-1)%2147483647 + 1
	if l.enqueue(queued{ev, seq}) {
		return
	}
	ns := ev.Time.UnixNano()
	l.qFirst.CompareAndSwap(0, ns)
	l.qLast.Store(ns)
	l.qDropped.Add(1)
}

// enqueue appends q to the queue and wakes the dispatcher if it sleeps;
// it reports whether there was room. Waking only a sleeping dispatcher
// keeps a busy accept path free of a wake-up per event.
func (l *Log) enqueue(q queued) bool {
	l.qMu.Lock()
	if l.qClosed {
		l.qMu.Unlock()
		l.afterStop.Add(1) // raced with Close: as if after it
		return true
	}
	if l.qN >= l.qCap {
		l.qMu.Unlock()
		return false
	}
	if n := len(l.q); n == 0 || len(l.q[n-1]) == cap(l.q[n-1]) {
		var c []queued
		if k := len(l.free); k > 0 {
			c, l.free = l.free[k-1], l.free[:k-1]
		} else {
			c = make([]queued, 0, qChunk)
		}
		l.q = append(l.q, c)
	}
	last := &l.q[len(l.q)-1]
	*last = append(*last, q)
	l.qN++
	l.enqueued++
	wake := l.asleep
	l.asleep = false
	l.qMu.Unlock()
	if wake {
		select {
		case l.wake <- struct{}{}:
		default:
		}
	}
	return true
}

// take swaps the queue out; with nothing queued it marks the dispatcher
// asleep, so that the next Emit wakes it.
func (l *Log) take(done [][]queued) [][]queued {
	l.qMu.Lock()
	defer l.qMu.Unlock()
	for _, c := range done {
		if len(l.free) < 4 {
			// Only the used part: the rest of a chunk is still zero, and
			// clearing all qChunk entries per batch cost more than the
			// events themselves when batches are small.
			clear(c)
			l.free = append(l.free, c[:0])
		}
	}
	q := l.q
	l.q, l.qN = nil, 0
	if len(q) == 0 {
		l.asleep = true
	}
	return q
}

// dispatch formats each event once per distinct format and hands it to
// the sinks' spools.
func (l *Log) dispatch() {
	defer close(l.dispDone)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	bufs := make([][]byte, len(l.fmts))
	arenas := make([]arena, len(l.fmts))
	handle := func(q *queued) {
		for i := range l.fmts {
			bufs[i] = arenas[i].append(&l.fmts[i], q)
		}
		now := time.Now()
		for _, s := range l.sinks {
			s.emitted.Add(1)
			s.spool.push(bufs[s.fmt], now)
		}
	}
	// run handles everything queued; it reports whether there was any.
	var done [][]queued
	run := func() bool {
		q := l.take(done)
		n := 0
		for _, c := range q {
			for i := range c {
				handle(&c[i])
			}
			n += len(c)
		}
		l.handed.Add(uint64(n))
		done = q
		l.reportQueueDrops()
		for _, s := range l.sinks {
			s.spool.flush()
		}
		return len(q) > 0
	}
	periodic := func(now time.Time) {
		// Straight to the sinks, not through Emit: a Close racing with
		// this tick would make Emit refuse the summaries, and the counts
		// Flush just took out of the summariser would be gone.
		for _, ev := range l.sum.Flush(now) {
			l.emitDirect(ev, handle)
		}
		l.noticeDrops()
	}
	// pause lets the records of a few connections gather: one wake-up of
	// the dispatcher, of each sender and of the collector per batch, not
	// per record, is most of what logging costs the machine. Close cuts
	// it short.
	pauseT := time.NewTimer(time.Hour)
	pauseT.Stop()
	defer pauseT.Stop()
	pause := func() {
		if l.opts.BatchDelay <= 0 {
			return
		}
		pauseT.Reset(l.opts.BatchDelay)
		select {
		case <-pauseT.C:
		case <-l.stop:
		}
	}
	for {
		if run() {
			// Under a steady load the queue is never empty: the
			// summaries and notices must not wait for a quiet moment.
			select {
			case now := <-tick.C:
				periodic(now)
			default:
			}
			// Not at once again: what trickled in while this batch
			// was handled would go as a batch of its own.
			pause()
			continue
		}
		select {
		case <-l.wake:
			pause()
		case now := <-tick.C:
			periodic(now)
		case <-l.stop:
			for run() {
			}
			for _, ev := range l.sum.Flush(time.Now().Add(time.Hour)) {
				l.emitDirect(ev, handle)
			}
			l.reportQueueDrops()
			for _, s := range l.sinks {
				s.spool.flush()
			}
			return
		}
	}
}

// arena hands out the dispatcher's formatted records as slices of shared
// chunks: one allocation per chunk instead of one per record and format,
// the bulk of the audit log's allocations under load, and of the garbage
// collector to do. A chunk lives as long as any record in it.
type arena struct{ buf []byte }

const (
	arenaChunk = 64 << 10
	arenaSlack = 2 << 10 // room a typical record needs; a bigger one makes its chunk grow
)

// append formats q at the end of the current chunk and returns the
// record, capped so that nothing appended to it can reach its neighbours.
func (a *arena) append(f *Formatter, q *queued) []byte {
	if cap(a.buf)-len(a.buf) < arenaSlack {
		a.buf = make([]byte, 0, arenaChunk)
	}
	start := len(a.buf)
	a.buf = f.Append(a.buf, &q.ev, q.seq)
	return a.buf[start:len(a.buf):len(a.buf)]
}

// emitDirect is Emit for the dispatcher itself after Close: straight to
// the spools, since nobody reads the queue any more.
func (l *Log) emitDirect(ev Event, handle func(*queued)) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	l.emitted.Add(1)
	handle(&queued{ev, (l.seq.Add(1)-1)%2147483647 + 1})
}

// noticeDrops tells every other sink about the records a sink dropped,
// at once (that sink's own drop record may wait for it to come back). A
// sink with no room for a notice keeps it and gets it at a later tick.
// Only the dispatcher calls it, so the pending notices need no lock.
func (l *Log) noticeDrops() {
	if len(l.sinks) < 2 {
		return
	}
	for _, s := range l.sinks {
		n, first, last := s.spool.takeNotice()
		if n == 0 {
			continue
		}
		for _, o := range l.sinks {
			if o == s {
				continue
			}
			if o.notices == nil {
				o.notices = map[*sink]*notice{}
			}
			nt := o.notices[s]
			if nt == nil {
				nt = &notice{first: first}
				o.notices[s] = nt
			}
			nt.n += n
			if first.Before(nt.first) {
				nt.first = first
			}
			if last.After(nt.last) {
				nt.last = last
			}
		}
	}
	for _, o := range l.sinks {
		for _, src := range l.sinks {
			nt := o.notices[src]
			if nt == nil {
				continue
			}
			ev := dropEvent(src.t.name, nt.n, nt.first, nt.last)
			ev.Msg = "audit records dropped for another sink"
			seq := (l.seq.Add(1)-1)%2147483647 + 1
			if o.spool.pushNotice(l.fmts[o.fmt].Append(nil, &ev, seq)) {
				delete(o.notices, src)
			}
		}
	}
}

// reportQueueDrops turns the Emit-side drop counter into a pending drop
// record on every sink.
func (l *Log) reportQueueDrops() {
	n := l.qDropped.Swap(0)
	if n == 0 {
		return
	}
	first := time.Unix(0, l.qFirst.Swap(0))
	last := time.Unix(0, l.qLast.Load())
	if last.Before(first) {
		last = first
	}
	for _, s := range l.sinks {
		s.emitted.Add(n)
		s.spool.drop(n, first, last)
	}
}

// Close stops the Log: queued events are handed to the sinks, which get
// until ctx is done to deliver them; what is left stays in the spill
// files for the next Open with the same SpillDir (or, without one, is
// counted as dropped). Emit after Close (or racing with it) does nothing
// but count itself in Emitted.
func (l *Log) Close(ctx context.Context) error {
	if l.closed.Swap(true) {
		return nil
	}
	// From here enqueue refuses: whatever got in before is drained below.
	l.qMu.Lock()
	l.qClosed = true
	l.qMu.Unlock()
	close(l.stop)
	<-l.dispDone
	for _, s := range l.sinks {
		s.spool.close()
	}
	done := make(chan struct{})
	go func() { l.wg.Wait(); close(done) }()
	var errs []error
	select {
	case <-done:
	case <-ctx.Done():
		for _, s := range l.sinks {
			s.kill()
		}
		// kill ends network writes at once; a write to a pipe nobody
		// reads (stderr) cannot be ended. Give up on such a sender after
		// a grace period and count what it holds as lost.
		grace := time.NewTimer(closeGrace)
		defer grace.Stop()
		select {
		case <-done:
		case <-grace.C:
			for _, s := range l.sinks {
				if !s.exited.Load() {
					n := s.inflight.Load()
					s.spool.lost(uint64(n))
					errs = append(errs, fmt.Errorf("log sink %q: sender blocked in a write; %d records lost", s.t.name, n))
				}
			}
		}
	}
	for _, s := range l.sinks {
		var extra [][]byte
		if n, first, last := s.spool.takeDrops(); n > 0 {
			extra = append(extra, s.dropRecord(n, first, last))
		}
		if s.spool.len() == 0 && len(extra) == 0 {
			s.spool.closeFile()
			continue
		}
		if lost, err := s.spool.persist(extra); err != nil {
			errs = append(errs, fmt.Errorf("log sink %q: %d records lost at close: %w", s.t.name, lost, err))
		}
	}
	return errors.Join(errs...)
}

// Settle waits until the dispatcher has handed every event Emit queued
// before the call to the sinks' spools, so that Stats counts them in
// Pending: the events of the last BatchDelay are otherwise in neither. It
// reports whether that happened before ctx ended. The daemon's stop record
// says how many records stay in the spool; without Settle it left out the
// connections of its last few tens of milliseconds.
func (l *Log) Settle(ctx context.Context) bool {
	l.qMu.Lock()
	target := l.enqueued
	l.qMu.Unlock()
	for l.handed.Load() < target {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(2 * time.Millisecond):
		}
	}
	return true
}

// Stats returns every sink's counters, in the order of the URLs.
func (l *Log) Stats() []SinkStats {
	out := make([]SinkStats, len(l.sinks))
	for i, s := range l.sinks {
		s.spool.mu.Lock()
		st := SinkStats{
			URL:       s.t.url,
			Spilled:   s.spool.spilled,
			Dropped:   s.spool.dropped,
			Pending:   s.spool.unsentLocked(),
			Delivered: s.delivered.Load(),
			Resent:    s.resent.Load(),
		}
		s.spool.mu.Unlock()
		st.Emitted = s.emitted.Load()
		st.DropRecords = s.dropRecords.Load()
		st.Failures = s.failures.Load()
		st.Up = s.up.Load()
		if e := s.lastErr.Load(); e != nil {
			st.LastError = *e
		}
		out[i] = st
	}
	return out
}

// Emitted is the number of Emit calls (after Close too).
func (l *Log) Emitted() uint64 { return l.emitted.Load() }
