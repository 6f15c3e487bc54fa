package limits

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// refusals counts one service's refusals by one limit since the last
// Summaries: the first few clients exactly, the rest together. Fixed size,
// so a flood from a million addresses costs nothing more.
type refusals struct {
	total  int
	n      int
	src    [MaxSummarySources]sourceCount
	others int
}

type sourceCount struct {
	key   [16]byte
	valid bool
	count int
}

// refuse counts a refusal by why for the client key and returns the verdict.
// Called with s.mu held.
func (s *Service) refuse(why Limit, key *[16]byte, valid bool) (Ticket, Refusal) {
	r := &s.refused[why]
	r.total++
	for i := range r.src[:r.n] {
		c := &r.src[i]
		if c.valid == valid && c.key == *key {
			c.count++
			return Ticket{}, Refusal{Limit: why}
		}
	}
	if r.n < s.l.nsrc {
		r.src[r.n] = sourceCount{key: *key, valid: valid, count: 1}
		r.n++
	} else {
		r.others++
	}
	return Ticket{}, Refusal{Limit: why}
}

// Summary is the count of one service's refusals by one limit over Period.
type Summary struct {
	Service string
	Limit   Limit
	Period  time.Duration // since the previous Summaries call (or New)
	Total   int           // connections refused
	Sources []SourceCount // the first clients refused in the period, most refused first
	Others  int           // refusals of clients not in Sources
}

// SourceCount is one client's refusals. An invalid Source is a client with
// no address (a unix socket peer).
type SourceCount struct {
	Source netip.Prefix
	Count  int
}

// Summaries returns, and resets, the refusals counted since the last call,
// one Summary per service and limit that refused anything, sorted by service
// and limit.
func (l *Limiter) Summaries(now time.Time) []Summary {
	l.mu.Lock()
	period := now.Sub(l.lastSummary)
	l.lastSummary = now
	svcs := make([]*Service, 0, len(l.services))
	for _, s := range l.services {
		svcs = append(svcs, s)
	}
	l.mu.Unlock()
	sort.Slice(svcs, func(i, j int) bool { return svcs[i].name < svcs[j].name })

	var out []Summary
	for _, s := range svcs {
		s.mu.Lock()
		for lim := range s.refused {
			r := &s.refused[lim]
			if r.total == 0 {
				continue
			}
			sum := Summary{Service: s.name, Limit: Limit(lim), Period: period, Total: r.total, Others: r.others}
			for _, c := range r.src[:r.n] {
				sc := SourceCount{Count: c.count}
				if c.valid {
					sc.Source = l.prefixOf(c.key)
				}
				sum.Sources = append(sum.Sources, sc)
			}
			sort.SliceStable(sum.Sources, func(i, j int) bool { return sum.Sources[i].Count > sum.Sources[j].Count })
			out = append(out, sum)
			*r = refusals{}
		}
		s.mu.Unlock()
	}
	return out
}

// String is the log record: "echo: 312 connections from 127.0.0.9 refused by
// max-child-per-ip in the last 10 s".
func (s Summary) String() string {
	secs := int((s.Period + time.Second/2) / time.Second)
	if len(s.Sources) == 1 && s.Others == 0 {
		return fmt.Sprintf("%s: %d connections from %s refused by %s in the last %d s",
			s.Service, s.Total, sourceString(s.Sources[0].Source), s.Limit, secs)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d connections refused by %s in the last %d s", s.Service, s.Total, s.Limit, secs)
	for i, c := range s.Sources {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%d from %s", sep, c.Count, sourceString(c.Source))
	}
	if s.Others > 0 {
		fmt.Fprintf(&b, ", %d from other clients", s.Others)
	}
	return b.String()
}

// sourceString prints a single address without its /32 or /128.
func sourceString(p netip.Prefix) string {
	switch {
	case !p.IsValid():
		return "local"
	case p.IsSingleIP():
		return p.Addr().String()
	}
	return p.String()
}
