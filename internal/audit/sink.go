package audit

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// sink is one destination: its spool, and the sender goroutine that
// connects, writes, and reconnects with backoff.
type sink struct {
	log      *Log
	t        *target
	fmt      int // index in log.fmts
	spool    *spool
	abort    chan struct{} // closed when Close gives up waiting
	killOnce sync.Once

	mu  sync.Mutex
	cur conn // the open connection, closed by kill to end a blocked write

	notices map[*sink]*notice // other sinks' drops not yet told here (dispatcher only)

	emitted, delivered, resent, dropRecords, failures atomic.Uint64
	inflight                                          atomic.Int64 // unsent records in the write under way
	exited                                            atomic.Bool  // run has returned
	up                                                atomic.Bool
	lastErr                                           atomic.Pointer[string]
}

// notice accumulates another sink's drops until this sink has room to
// say so.
type notice struct {
	n           uint64
	first, last time.Time
}

const maxBatchBytes = 64 << 10

// run sends until the spool is closed and empty, or Close aborts it.
func (s *sink) run() {
	defer s.log.wg.Done()
	defer s.exited.Store(true)
	o := &s.log.opts
	var (
		c       conn
		window  []record    // written on c, resent if c breaks
		written []time.Time // when each window record was written
		wbytes  int
		batch   []record
		backoff = o.RetryMin
	)
	resend := o.ResendBytes
	if s.t.scheme == "file" || s.t.scheme == "stderr" {
		resend = 0 // a local write that returned is in the file
	}
	// Close's kill ends a dial under way, too.
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-s.abort:
		case <-ctx.Done():
		}
		cancel()
	}()
	defer cancel()
	defer func() {
		s.setConn(nil)
		s.up.Store(false)
		if c != nil {
			c.close()
		}
	}()
	for s.spool.wait() {
		if s.aborted() {
			return
		}
		if c == nil {
			nc, err := s.t.dial(ctx, o.DialTimeout)
			if err != nil {
				s.setErr(err)
				if !s.sleep(backoff) {
					return
				}
				backoff = min(backoff*2, o.RetryMax)
				continue
			}
			c = nc
			s.setConn(c)
			s.up.Store(true)
		}
		batch = batch[:0]
		if n, first, last := s.spool.takeDrops(); n > 0 {
			batch = append(batch, record{b: s.dropRecord(n, first, last), drop: true})
		}
		batch = s.spool.take(batch, maxBatchBytes)
		unsent := 0
		for _, r := range batch {
			if !r.sent && !r.drop {
				unsent++
			}
		}
		s.inflight.Store(int64(unsent))
		n, err := c.write(batch, time.Now().Add(o.WriteTimeout))
		s.inflight.Store(0)
		for i := range batch[:n] {
			switch {
			case batch[i].sent:
				s.resent.Add(1)
			case batch[i].drop:
				s.dropRecords.Add(1)
			default:
				s.delivered.Add(1)
			}
			batch[i].sent = true
		}
		if err == nil {
			backoff = o.RetryMin
			if resend > 0 {
				now := time.Now()
				for _, r := range batch {
					window = append(window, r)
					written = append(written, now)
					wbytes += len(r.b)
				}
				// Keep what the collector may not have read yet: the
				// last ResendAge of records, at most ResendBytes.
				old := now.Add(-o.ResendAge)
				for len(window) > 0 && (wbytes > resend || written[0].Before(old)) {
					wbytes -= len(window[0].b)
					window[0] = record{}
					window, written = window[1:], written[1:]
				}
			}
			continue
		}
		s.setErr(err)
		if c.dgram() && isTimeout(err) {
			// A datagram receiver that is only slow (its queue is full)
			// still has what was sent: keep the socket, retry the rest.
			s.spool.unget(batch[n:])
			if !s.sleep(backoff) {
				return
			}
			backoff = min(backoff*2, o.RetryMax)
			continue
		}
		// The connection is broken: what the collector may not have read
		// yet goes back to the head of the spool, in order.
		s.setConn(nil)
		c.close()
		c = nil
		s.up.Store(false)
		back := make([]record, 0, len(window)+len(batch))
		back = append(append(back, window...), batch...)
		s.spool.unget(back)
		window, written, wbytes = nil, nil, 0
		if !s.sleep(backoff) {
			return
		}
		backoff = min(backoff*2, o.RetryMax)
	}
	// The spool is closed and empty: Close is waiting for us.
	if sc, ok := c.(*streamConn); ok && len(window) > 0 {
		s.keepUnacked(sc, window)
	}
}

// keepUnacked: written is not received. What the collector has not
// acknowledged is still in our kernel's send buffer and dies with the
// process; a collector that stopped reading holds it there (on loopback,
// megabytes), and what it acknowledged may sit unread in its own. Wait
// for the send buffer to drain until Close gives up; if it did not, the
// collector is stuck: as after a broken connection, the records of the
// resend window go back to the spool, and Close keeps them in the spill
// file for the next run (at least once: a duplicate has the same
// sequenceId).
func (s *sink) keepUnacked(c *streamConn, window []record) {
	for {
		n := c.unacked()
		if n == 0 {
			return
		}
		// n < 0: kill closed c under us; Close gave up.
		if n < 0 || !s.sleep(20*time.Millisecond) {
			s.spool.unget(window)
			return
		}
	}
}

// dropRecord formats the record that accounts for n lost records.
func (s *sink) dropRecord(n uint64, first, last time.Time) []byte {
	ev := dropEvent(s.t.name, n, first, last)
	seq := (s.log.seq.Add(1)-1)%2147483647 + 1
	return s.log.fmts[s.fmt].Append(nil, &ev, seq)
}

// dropEvent says that n records for the sink named were lost between
// first and last.
func dropEvent(name string, n uint64, first, last time.Time) Event {
	return Event{
		Kind: KindDrop,
		Time: time.Now(),
		Msg:  "audit records dropped",
		Fields: []Field{
			{KeySink, name},
			Uint(KeyCount, n),
			{KeyFirst, first.UTC().Format(time.RFC3339Nano)},
			{KeyLast, last.UTC().Format(time.RFC3339Nano)},
		},
	}
}

func (s *sink) setErr(err error) {
	s.failures.Add(1)
	msg := err.Error()
	s.lastErr.Store(&msg)
}

func (s *sink) setConn(c conn) {
	s.mu.Lock()
	s.cur = c
	s.mu.Unlock()
}

// kill aborts the sender: Close has waited long enough.
func (s *sink) kill() {
	s.killOnce.Do(func() { close(s.abort) })
	s.mu.Lock()
	if s.cur != nil {
		s.cur.close() // ends a write blocked on a peer that does not read
	}
	s.mu.Unlock()
}

func (s *sink) aborted() bool {
	select {
	case <-s.abort:
		return true
	default:
		return false
	}
}

// sleep waits d, or less if Close aborts; it reports whether to go on.
func (s *sink) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-s.abort:
		return false
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
