package limits

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ServiceLimits are one service's limits. Zero in any field means no limit
// there; the zero value limits nothing, so the daemon must fill in its -c, -C
// and -R defaults (and the policy file's values, which win) before use.
type ServiceLimits struct {
	MaxChild int // concurrent children (max-child, instances)

	CPS     float64       // connections per second (token bucket)
	Burst   int           // bucket size for CPS; 0 = ceil(CPS)
	CPSWait time.Duration // > 0: over CPS, pause the service this long (xinetd cps = rate wait)

	RatePerMin int // -R, nowait.N: invocations per minute; over it the service pauses

	MaxChildPerSource   int     // concurrent children per client (max-child-per-ip, per_source)
	ConnPerSourcePerMin int     // connections per client per minute (max-conn-per-ip-per-minute, -C)
	SourceRate          float64 // per-client admissions per second (UDP datagrams)
	SourceBurst         int     // bucket size for SourceRate; 0 = ceil(SourceRate)
}

// Validate reports every bad field.
func (lim ServiceLimits) Validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{
		{"max-child", lim.MaxChild},
		{"invocations per minute", lim.RatePerMin},
		{"max-child-per-ip", lim.MaxChildPerSource},
		{"max-conn-per-ip-per-minute", lim.ConnPerSourcePerMin},
	} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d: negative", f.name, f.v))
		}
	}
	errs = append(errs, checkRate("cps", lim.CPS, lim.Burst)...)
	errs = append(errs, checkRate("source rate", lim.SourceRate, lim.SourceBurst)...)
	if lim.CPSWait < 0 {
		errs = append(errs, fmt.Errorf("cps wait %v: negative", lim.CPSWait))
	}
	return errors.Join(errs...)
}

// Service is one service's limit state, created by Limiter.Service and kept
// across reloads so that live counts survive a change of limits.
type Service struct {
	l    *Limiter
	name string
	id   uint32 // part of every client key: clients are counted per service

	children atomic.Int64 // live tickets; incremented under mu only

	mu          sync.Mutex
	lim         ServiceLimits
	perSource   bool
	cpsInterval int64
	cpsBurst    int64
	srcInterval int64
	srcBurst    int64
	cpsTAT      int64

	loopStart int64 // -R window
	loopCount int

	pause      Limit // None, CPS or Looping
	everPaused bool
	pauseStart int64
	pauseUntil int64
	lastPause  time.Duration // length of the last Looping pause; 0 after a quiet period
	loopEnded  int64         // when the last Looping pause ended
	shedSec    int64         // arrivals during a pause: the second of the newest count
	shed       [shedSeconds]int32

	free *slot // released ticket slots

	refused [numLimits]refusals
}

// Service returns the state of the service named name (unique per listener,
// e.g. config.Service.Key()), creating it or setting its new limits.
func (l *Limiter) Service(name string, lim ServiceLimits) (*Service, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.services[name]; s != nil {
		return s, s.SetLimits(lim)
	}
	if err := lim.Validate(); err != nil {
		return nil, fmt.Errorf("limits for %s: %w", name, err)
	}
	l.nextID++
	s := &Service{l: l, name: name, id: l.nextID, cpsTAT: minTick}
	s.setLimits(lim)
	l.services[name] = s
	return s, nil
}

// Forget drops the service named name (removed from the configuration).
// Its live tickets stay valid; its client entries age out of the table.
func (l *Limiter) Forget(name string) {
	l.mu.Lock()
	delete(l.services, name)
	l.mu.Unlock()
}

// SetLimits changes the limits and keeps live counts, windows and buckets.
// A pause whose limit is now off ends at once.
func (s *Service) SetLimits(lim ServiceLimits) error {
	if err := lim.Validate(); err != nil {
		return fmt.Errorf("limits for %s: %w", s.name, err)
	}
	s.mu.Lock()
	s.setLimits(lim)
	if (s.pause == CPS && (lim.CPS == 0 || lim.CPSWait == 0)) || (s.pause == Looping && lim.RatePerMin == 0) {
		s.pause = None
		s.pauseUntil = s.pauseStart // in the past: SuspendedUntil says "not paused"
	}
	s.mu.Unlock()
	return nil
}

func (s *Service) setLimits(lim ServiceLimits) {
	s.lim = lim
	s.perSource = lim.MaxChildPerSource > 0 || lim.ConnPerSourcePerMin > 0 || lim.SourceRate > 0
	s.cpsInterval, s.cpsBurst, s.srcInterval, s.srcBurst = 0, 0, 0, 0
	if lim.CPS > 0 {
		s.cpsInterval, s.cpsBurst = bucket(lim.CPS, lim.Burst)
	}
	if lim.SourceRate > 0 {
		s.srcInterval, s.srcBurst = bucket(lim.SourceRate, lim.SourceBurst)
	}
}

// Name is the name the service was created with.
func (s *Service) Name() string { return s.name }

// Limits returns the limits in force.
func (s *Service) Limits() ServiceLimits {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lim
}

// Children is the number of live tickets of the service.
func (s *Service) Children() int { return int(s.children.Load()) }

// SuspendedUntil is the end of the service's current or last pause; the
// zero time if it never paused. The service is paused while now is before it.
func (s *Service) SuspendedUntil() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.everPaused {
		return time.Time{}
	}
	return s.l.epoch.Add(time.Duration(s.pauseUntil))
}

// startPause pauses the service from t for d and returns the end.
func (s *Service) startPause(why Limit, t int64, d time.Duration) time.Time {
	s.pause = why
	s.everPaused = true
	s.pauseStart = t
	s.pauseUntil = t + int64(d)
	s.shedSec, s.shed = t/int64(time.Second), [shedSeconds]int32{}
	return s.l.epoch.Add(time.Duration(s.pauseUntil))
}

// endPause ends the current pause at t. early: the overload stopped before
// the pause ran out, so the next pause starts short again.
func (s *Service) endPause(t int64, early bool) {
	switch s.pause {
	case CPS:
		s.cpsTAT = minTick // xinetd re-enables with a clean slate
	case Looping:
		s.loopEnded = t
		s.loopStart, s.loopCount = t, 0
		if early {
			s.lastPause = 0
			s.pauseUntil = t // SuspendedUntil reports the actual end
		}
	}
	s.pause = None
}

// nextLoopPause - the length of the Looping pause that starts at t: 10 s, or
// twice the last one if the overload is back within LoopQuiet of its end.
func (s *Service) nextLoopPause(t int64) time.Duration {
	p := LoopPauseMin
	if s.lastPause > 0 && t-s.loopEnded < int64(LoopQuiet) {
		p = min(2*s.lastPause, LoopPauseMax)
	}
	s.lastPause = p
	return p
}

// shedSeconds is the span over which arrivals during a pause are counted.
const shedSeconds = int(LoopPauseMin / time.Second)

// quietDuringPause counts an arrival at t during a Looping pause and says
// whether, after at least LoopPauseMin of pause, the LoopPauseMin before it
// held fewer arrivals than the -R rate allows in that time: then the
// overload is over.
func (s *Service) quietDuringPause(t int64) bool {
	sec := t / int64(time.Second)
	// Age the per-second counts up to this second (at most one full turn).
	for i := 0; i < shedSeconds && s.shedSec < sec; i++ {
		s.shedSec++
		s.shed[shedSlot(s.shedSec)] = 0
	}
	s.shedSec = max(s.shedSec, sec)
	var recent int
	for _, n := range s.shed {
		recent += int(n)
	}
	s.shed[shedSlot(s.shedSec)]++
	allowed := max(1, s.lim.RatePerMin*int(LoopPauseMin)/int(time.Minute))
	return t-s.pauseStart >= int64(LoopPauseMin) && recent < allowed
}

// shedSlot - the count slot of a second; ticks before the epoch are negative.
func shedSlot(sec int64) int {
	n := int64(shedSeconds)
	return int((sec%n + n) % n)
}
