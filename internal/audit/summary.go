package audit

import (
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Summariser keeps a flood of refusals from flooding the log, never
// silently: per service, kind (deny, limit) and one-second window, the
// first PerSecond events pass one by one; the rest are counted per client
// address and rule (or limit), and Flush turns the counts of finished
// windows into summary events (KeySummary "1s", KeyCount n). At most
// MaxKeys distinct (client, rule) pairs are kept per service and window;
// beyond that refusals are counted in one summary without a client, so
// memory stays bounded under a spoofed-source flood. The zero Summariser
// is not usable; call NewSummariser.
type Summariser struct {
	perSecond, maxKeys int

	mu    sync.Mutex
	win   map[winKey]*window
	ready []Event // summaries of windows already rolled over
}

type winKey struct {
	service string
	kind    Kind
}

type sumKey struct {
	kind   Kind
	client netip.Addr
	reason string // rule file:line, or the limit's name
}

type window struct {
	sec    int64 // unix second this window counts
	passed int
	proto  string
	local  netip.AddrPort
	counts map[sumKey]uint64
	order  []sumKey // first-seen order, so that summaries read stably
	other  map[Kind]uint64
}

// NewSummariser lets perSecond refusals per service and kind per second
// through (at least 1) and keeps at most maxKeys counters for each.
func NewSummariser(perSecond, maxKeys int) *Summariser {
	return &Summariser{perSecond: max(perSecond, 1), maxKeys: max(maxKeys, 1), win: map[winKey]*window{}}
}

// Offer reports whether ev (a KindDeny or KindLimit event at now) is to be
// written on its own; if not, it is counted for the next summary. Other
// kinds always pass.
func (s *Summariser) Offer(ev *Event, now time.Time) bool {
	if ev.Kind != KindDeny && ev.Kind != KindLimit {
		return true
	}
	sec := now.Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	wk := winKey{ev.Service, ev.Kind}
	w := s.win[wk]
	if w == nil {
		w = &window{sec: sec}
		s.win[wk] = w
	}
	if w.sec != sec {
		s.ready = w.summaries(ev.Service, s.ready)
		*w = window{sec: sec}
	}
	if w.passed < s.perSecond {
		w.passed++
		return true
	}
	reasonKey := KeyRule
	if ev.Kind == KindLimit {
		reasonKey = KeyLimit
	}
	reason, _ := ev.Field(reasonKey)
	k := sumKey{ev.Kind, ev.Client.Addr(), reason}
	if w.counts == nil {
		w.counts = map[sumKey]uint64{}
		w.proto, w.local = ev.Proto, ev.Local
	}
	if _, ok := w.counts[k]; ok || len(w.counts) < s.maxKeys {
		if !ok {
			w.order = append(w.order, k)
		}
		w.counts[k]++
	} else {
		if w.other == nil {
			w.other = map[Kind]uint64{}
		}
		w.other[ev.Kind]++
	}
	return false
}

// Flush returns the summaries of every window that ended before now.
func (s *Summariser) Flush(now time.Time) []Event {
	sec := now.Unix()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.ready
	s.ready = nil
	for k, w := range s.win {
		if w.sec < sec {
			out = w.summaries(k.service, out)
			delete(s.win, k)
		}
	}
	return out
}

// summaries appends one event per counter of w.
func (w *window) summaries(svc string, out []Event) []Event {
	end := time.Unix(w.sec+1, 0)
	for _, k := range w.order {
		reasonKey := KeyRule
		if k.kind == KindLimit {
			reasonKey = KeyLimit
		}
		out = append(out, Event{
			Kind: k.kind, Time: end, Service: svc, Proto: w.proto,
			Client: netip.AddrPortFrom(k.client, 0), Local: w.local,
			Msg: "summary of refusals above the per-second record rate",
			Fields: []Field{
				{KeySummary, "1s"},
				Uint(KeyCount, w.counts[k]),
				{reasonKey, k.reason},
			},
		})
	}
	for _, kind := range []Kind{KindDeny, KindLimit} {
		if n := w.other[kind]; n > 0 {
			out = append(out, Event{
				Kind: kind, Time: end, Service: svc, Proto: w.proto, Local: w.local,
				Msg: "summary of refusals from clients beyond the counter cap",
				Fields: []Field{
					{KeySummary, "1s"},
					Uint(KeyCount, n),
					{"clients", "other"},
				},
			})
		}
	}
	return out
}

// Deny records a denial through the summariser: written on its own while
// the service is under DenyPerSecond records this second, counted for a
// summary otherwise.
func (l *Log) Deny(ev Event) { l.rated(ev) }

// DenyConn records a denied connection: its accept record and its deny
// record, both, while the service is under DenyPerSecond denials this
// second; beyond that neither, and the denial is counted for a summary.
// An accept record for every denied connection would let a flood of
// denials flood the log all the same.
func (l *Log) DenyConn(accept, deny Event) {
	now := time.Now()
	if deny.Time.IsZero() {
		deny.Time = now
	}
	if accept.Time.IsZero() {
		accept.Time = deny.Time
	}
	if l.sum.Offer(&deny, deny.Time) {
		l.Emit(accept)
		l.Emit(deny)
	}
}

// Limit records a refusal by a limit, summarised as Deny is.
func (l *Log) Limit(ev Event) { l.rated(ev) }

func (l *Log) rated(ev Event) {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	if l.sum.Offer(&ev, ev.Time) {
		l.Emit(ev)
	}
}

// Dump writes a state dump (SIGUSR1) as one KindDump record per line, each
// with KeyPart "i/n" so that a reader can tell the dump is complete.
func (l *Log) Dump(lines []string) {
	recs := make([]Event, len(lines))
	for i, line := range lines {
		recs[i].Msg = line
	}
	l.DumpRecords(recs)
}

// DumpRecords is Dump with the data of each line in its fields (and
// Service, ConnID, Client), for a reader that should not parse the text.
func (l *Log) DumpRecords(recs []Event) {
	now := time.Now()
	n := strconv.Itoa(len(recs))
	for i, ev := range recs {
		ev.Kind, ev.Time = KindDump, now
		ev.Fields = append([]Field{{KeyPart, strconv.Itoa(i+1) + "/" + n}}, ev.Fields...)
		l.Emit(ev)
	}
}
