package daemon

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/builtins"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/limits"
	"github.com/hinetd/hinetd/policy"
)

// Datagram built-ins answer without any server: their limits are what keeps
// them from being an amplifier. Per source: 10 datagrams a second, bursts
// of 20; per service: 200 a second, bursts of 400. Nowait dgram services
// (a server per datagram) get the same per-source rate.
const (
	udpBuiltinSourceRate  = 10
	udpBuiltinSourceBurst = 20
	udpBuiltinRate        = 200
	udpBuiltinBurst       = 400
)

// summaryPeriod is how often refusals by a limit are written as summaries.
const summaryPeriod = 10 * time.Second

// serviceLimits are the limits of c: the policy's where it sets one (pl),
// else inetd.conf's fields, else the daemon's -R/-C defaults (o).
func serviceLimits(o Options, c *config.Service, pl policy.Limits) limits.ServiceLimits {
	lim := limits.ServiceLimits{
		RatePerMin:          firstSet(c.RatePerMinute, o.RatePerMin),
		MaxChildPerSource:   c.MaxChildPerIP,
		ConnPerSourcePerMin: firstSet(c.MaxConnPerIPMin, o.ConnPerIPMin),
	}
	pick(&lim.RatePerMin, pl.InvocationsPerMinute)
	pick(&lim.MaxChildPerSource, pl.MaxChildPerIP)
	pick(&lim.ConnPerSourcePerMin, pl.ConnPerIPPerMinute)
	if c.Wait {
		// A wait service's server accepts its own clients: per-client
		// limits cannot apply (inetd.conf refuses them there).
		lim.MaxChildPerSource, lim.ConnPerSourcePerMin = 0, 0
	}
	if c.Internal != "" {
		// -R guards against a server that exits without reading (a
		// spawn loop); a built-in has no server, so it is exempt.
		lim.RatePerMin = 0
		if c.SocketType == config.Dgram {
			lim.SourceRate, lim.SourceBurst = udpBuiltinSourceRate, udpBuiltinSourceBurst
			lim.CPS, lim.Burst = udpBuiltinRate, udpBuiltinBurst
		}
	} else if c.SocketType == config.Dgram && !c.Wait {
		// A nowait dgram service starts a server per datagram: one
		// source sending fast must not turn into as many processes.
		lim.SourceRate, lim.SourceBurst = udpBuiltinSourceRate, udpBuiltinSourceBurst
	}
	if pl.CPS.Set {
		lim.CPS, lim.Burst, lim.CPSWait = pl.CPS.Value.Rate, 0, pl.CPS.Value.Wait
	}
	if pl.SourceRate.Set {
		lim.SourceRate, lim.SourceBurst = pl.SourceRate.Value.Rate, pl.SourceRate.Value.Burst
	}
	return lim
}

// pick - the policy's value when it sets one.
func pick(dst *int, f policy.Field[int]) {
	if f.Set {
		*dst = f.Value
	}
}

// limitNotes - where the policy replaces a limit inetd.conf sets, so that
// the log says which file decided.
func limitNotes(c *config.Service, pl policy.Limits) []policy.Note {
	var out []policy.Note
	for _, f := range []struct {
		name string
		conf int
		pol  policy.Field[int]
	}{
		{"max-child", c.MaxChild, pl.MaxChild},
		{"max-child-per-ip", c.MaxChildPerIP, pl.MaxChildPerIP},
		{"max-conn-per-ip-per-minute", c.MaxConnPerIPMin, pl.ConnPerIPPerMinute},
		{"invocations-per-minute", c.RatePerMinute, pl.InvocationsPerMinute},
	} {
		if f.conf != 0 && f.pol.Set && f.pol.Value != f.conf {
			out = append(out, policy.Note{Pos: f.pol.Pos, Service: c.Name, Kind: policy.NoteLimitsOverride,
				Message: fmt.Sprintf("policy sets %s %d instead of inetd.conf's %d", f.name, f.pol.Value, f.conf)})
		}
	}
	return out
}

func firstSet(v, def int) int {
	if v != 0 {
		return v
	}
	return def
}

// admit applies the limits before anything else is done for a connection:
// no name lookup, no spawn for what they refuse. Refusals are not logged
// one by one; they are counted and summarised every summaryPeriod.
func (d *Daemon) admit(s *service, c *conn) bool {
	now := time.Now()
	t, r := d.lim.Admit(s.state.lim, c.client.Addr(), now)
	if !r.Suspended.IsZero() {
		d.suspended(s, r)
	}
	if r.Resumed {
		d.resumed(s, s.state.pauseUntil.Load(), "the overload stopped")
	}
	if r.Refused() {
		return false
	}
	c.ticket = t
	return true
}

// suspended logs a pause and arranges for its end to be logged.
func (d *Daemon) suspended(s *service, r limits.Refusal) {
	until := r.Suspended.UnixNano()
	s.state.pauseUntil.Store(until)
	d.event(audit.KindSuspend, s, nil,
		fmt.Sprintf("paused for %v by %s until %s", r.Pause, r.Limit, r.Suspended.Format(time.RFC3339)),
		str(audit.KeyLimit, r.Limit.String()), audit.Dur("pause", r.Pause))
	time.AfterFunc(r.Pause, func() { d.resumed(s, until, "the pause ended") })
}

// resumed logs the end of the pause that was to last until `until`, once:
// whichever of the pause's timer and the connection that ended it early
// clears it logs it; the other finds it cleared (or a newer pause) and
// stays quiet.
func (d *Daemon) resumed(s *service, until int64, why string) {
	if until == 0 || !s.state.pauseUntil.CompareAndSwap(until, 0) {
		return
	}
	d.event(audit.KindResume, s, nil, "accepting again: "+why)
}

// release returns what admit took.
func (d *Daemon) release(c *conn) { c.ticket.Release() }

// waitSuspension blocks while the service is paused. Stream nowait
// services do not call it: they keep accepting and closing (shedding), so
// that the limiter sees the flood end and the connections do not pile up
// in the backlog to be served late.
func (d *Daemon) waitSuspension(l *listener, s *service) bool {
	wait := time.Until(s.state.lim.SuspendedUntil())
	if wait <= 0 {
		return true
	}
	select {
	case <-time.After(wait):
		return true
	case <-l.done:
		return false
	}
}

// startSummaries writes the refusal summaries every summaryPeriod. stop
// writes the last ones and returns once they are written: the audit log
// is closed right after, and refusals since the last tick must not be lost.
func (d *Daemon) startSummaries() (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(summaryPeriod)
		defer tick.Stop()
		// The last summaries are written after shutdown has closed and
		// forgotten the listeners: remember, every second, what each
		// limiter key stands for, so that they still name the service.
		look := time.NewTicker(time.Second)
		defer look.Stop()
		known := map[string]summaryService{}
		for {
			select {
			case <-done:
				d.writeSummaries(known)
				return
			case <-tick.C:
				d.writeSummaries(known)
			case <-look.C:
				d.learnServices(known)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// summaryService is what a limit summary says about its service.
type summaryService struct {
	name, proto string
	local       netip.AddrPort
}

// learnServices adds the services listening now to known, by limiter key.
func (d *Daemon) learnServices(known map[string]summaryService) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for key, l := range d.listeners {
		s := l.svc.Load()
		known[key] = summaryService{s.cfg.Name, s.cfg.Protocol, serviceAddr(s)}
	}
}

func (d *Daemon) writeSummaries(known map[string]summaryService) {
	d.learnServices(known)
	for _, sum := range d.lim.Summaries(time.Now()) {
		ss, ok := known[sum.Service]
		if !ok {
			ss.name = sum.Service
		}
		ev := audit.Event{Kind: audit.KindLimit, Service: ss.name, Proto: ss.proto, Local: ss.local,
			Msg: strings.TrimPrefix(sum.String(), sum.Service+": "),
			Fields: []audit.Field{str(audit.KeyLimit, sum.Limit.String()),
				audit.Int(audit.KeyCount, int64(sum.Total)), audit.Dur(audit.KeySummary, sum.Period)}}
		d.alog.Emit(ev)
	}
}

// ownBuiltinPorts are the ports of the datagram built-ins: a datagram from
// one of them is another built-in answering, and answering back would loop.
func (d *Daemon) ownBuiltinPorts() map[uint16]bool {
	if m := d.ownPorts.Load(); m != nil {
		return *m
	}
	return nil
}

// setBuiltinPorts records the built-in ports of services.
func (d *Daemon) setBuiltinPorts(services []*service) {
	m := builtinPorts(services)
	d.ownPorts.Store(&m)
}

// builtinPorts are the well-known ports of the built-ins (builtins.Table)
// and every port a configured built-in of services listens on.
func builtinPorts(services []*service) map[uint16]bool {
	m := map[uint16]bool{}
	for _, b := range builtins.Table {
		m[b.Port] = true
	}
	for _, s := range services {
		if s.cfg.Internal != "" && s.cfg.Port != 0 {
			m[s.cfg.Port] = true
		}
	}
	return m
}
