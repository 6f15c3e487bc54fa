package policy

import (
	"math"
	"strconv"
	"time"
)

// Bounds of the limit settings. They are sanity bounds, not tuning advice:
// a value past them is a typo (an extra zero) more often than a wish.
const (
	maxCount   = 1 << 20 // max-child, per-ip and per-minute counts
	maxRate    = 1e6     // cps and source-rate, per second
	maxBurst   = 1 << 20
	maxCPSWait = 24 * time.Hour
	maxBacklog = 65535 // listen(2) takes an int; the kernel clamps to net.core.somaxconn
	minBacklog = 1
)

// CPS is xinetd's "cps = rate wait": over Rate connections a second the
// service stops accepting for Wait. The zero Wait refuses only the excess
// connections; the zero Rate is no limit.
type CPS struct {
	Rate float64       // connections per second
	Wait time.Duration // pause when over Rate; whole seconds
}

// Rate is a per-client token bucket: Rate admissions a second, bursts of
// Burst. The zero Burst means ceil(Rate); the zero Rate is no limit.
type Rate struct {
	Rate  float64
	Burst int
}

// Limits is what the policy of one service says about its connection
// limits, after layering (service → [default]; there is no built-in
// value). Each field is unset unless a policy wrote it: the daemon then
// takes inetd.conf's value, or its command-line default. The zero Limits
// sets nothing. A count of 0 that a policy wrote means "unlimited" and
// does override inetd.conf.
type Limits struct {
	MaxChild             Field[int]  // max-child: concurrent children
	MaxChildPerIP        Field[int]  // max-child-per-ip: concurrent children per client
	ConnPerIPPerMinute   Field[int]  // max-conn-per-ip-per-minute
	InvocationsPerMinute Field[int]  // invocations-per-minute: -R, nowait.N
	CPS                  Field[CPS]  // cps RATE [WAIT]
	SourceRate           Field[Rate] // source-rate RATE [BURST]
	ListenBacklog        Field[int]  // listen-backlog: listen(2) queue of a stream socket
}

// Limits returns the limits the policy sets for service, built-in
// services (echo, daytime …) included: they have no Spec, but their
// sections and [default] apply to them like to any other.
func (s *Set) Limits(service string) Limits {
	return s.LimitsFor(Service{Name: service})
}

// LimitsFor is Limits for the section SectionFor selects.
func (s *Set) LimitsFor(svc Service) Limits {
	var l Limits
	l.overlay(&s.Default)
	if p, ok := s.Services[s.SectionFor(svc)]; ok {
		l.overlay(p)
	}
	return l
}

func (l *Limits) overlay(p *Profile) {
	over(&l.MaxChild, p.MaxChild)
	over(&l.MaxChildPerIP, p.MaxChildPerIP)
	over(&l.ConnPerIPPerMinute, p.ConnPerIPPerMinute)
	over(&l.InvocationsPerMinute, p.InvocationsPerMinute)
	over(&l.CPS, p.CPS)
	over(&l.SourceRate, p.SourceRate)
	over(&l.ListenBacklog, p.ListenBacklog)
}

// limitKeys are the keys parseLimit handles.
var limitKeys = []string{"max-child", "max-child-per-ip", "max-conn-per-ip-per-minute",
	"invocations-per-minute", "cps", "source-rate", "listen-backlog"}

// limit - one of limitKeys; reports whether key was one.
func (p *parser) limit(line int, key string, args []string) bool {
	pr, pos := p.cur, Pos{p.file, line}
	count := func(dst *Field[int], lo, hi int, what string) {
		if len(args) != 1 {
			p.errorf(line, "%q takes one value, got %d", key, len(args))
			return
		}
		n, err := strconv.Atoi(args[0])
		if err != nil || n < lo || n > hi {
			p.errorf(line, "bad %s %q; expect %s from %d to %d", key, args[0], what, lo, hi)
			return
		}
		if p.scalar(line, key) {
			*dst = Field[int]{true, n, pos}
		}
	}
	switch key {
	case "max-child":
		count(&pr.MaxChild, 0, maxCount, "a count (0: unlimited)")
	case "max-child-per-ip":
		count(&pr.MaxChildPerIP, 0, maxCount, "a count (0: unlimited)")
	case "max-conn-per-ip-per-minute":
		count(&pr.ConnPerIPPerMinute, 0, maxCount, "a count (0: unlimited)")
	case "invocations-per-minute":
		count(&pr.InvocationsPerMinute, 0, maxCount, "a count (0: unlimited)")
	case "listen-backlog":
		count(&pr.ListenBacklog, minBacklog, maxBacklog, "a queue length")
	case "cps":
		if len(args) != 1 && len(args) != 2 {
			p.errorf(line, "cps takes RATE [WAIT_SECONDS], got %d values", len(args))
			return true
		}
		rate, ok := p.rate(line, key, args[0])
		var c CPS
		c.Rate = rate
		if len(args) == 2 {
			w, err := strconv.Atoi(args[1])
			if err != nil || w < 0 || time.Duration(w)*time.Second > maxCPSWait {
				p.errorf(line, "bad cps wait %q; expect whole seconds from 0 to %d", args[1], int(maxCPSWait/time.Second))
				ok = false
			}
			c.Wait = time.Duration(w) * time.Second
		}
		if ok && c.Rate == 0 && c.Wait > 0 {
			p.errorf(line, "cps 0 (no limit) with a wait of %s; drop the wait or set a rate", args[1])
			ok = false
		}
		if ok && p.scalar(line, key) {
			pr.CPS = Field[CPS]{true, c, pos}
		}
	case "source-rate":
		if len(args) != 1 && len(args) != 2 {
			p.errorf(line, "source-rate takes RATE [BURST], got %d values", len(args))
			return true
		}
		rate, ok := p.rate(line, key, args[0])
		r := Rate{Rate: rate}
		if len(args) == 2 {
			b, err := strconv.Atoi(args[1])
			if err != nil || b < 1 || b > maxBurst {
				p.errorf(line, "bad source-rate burst %q; expect a count from 1 to %d", args[1], maxBurst)
				ok = false
			}
			r.Burst = b
		}
		if ok && r.Rate == 0 && r.Burst > 0 {
			p.errorf(line, "source-rate 0 (no limit) with a burst of %s; drop the burst or set a rate", args[1])
			ok = false
		}
		if ok && p.scalar(line, key) {
			pr.SourceRate = Field[Rate]{true, r, pos}
		}
	default:
		return false
	}
	return true
}

// rate - a non-negative decimal number of events a second; 0 is no limit.
func (p *parser) rate(line int, key, s string) (float64, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || v < 0 || v > maxRate {
		p.errorf(line, "bad %s rate %q; expect a number per second from 0 to %g", key, s, float64(maxRate))
		return 0, false
	}
	// A rate so small that one token takes longer than the bucket code
	// can count (ParseFloat accepts "1e-300") is a typo too.
	if v != 0 && v < 1.0/3600 {
		p.errorf(line, "bad %s rate %q; below one per hour", key, s)
		return 0, false
	}
	return v, true
}
