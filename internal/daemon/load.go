package daemon

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/sandbox"
	"github.com/hinetd/hinetd/internal/seccomp"
	"github.com/hinetd/hinetd/policy"
)

// load reads the configuration and brings the listeners in line with it.
// At start-up (initial) a file that cannot be read, or a policy or ACL file
// that does not load, is fatal; on a reload the previous configuration
// stays in force. A bad inetd.conf line only skips its own service.
func (d *Daemon) load(initial bool) error {
	snap, errs := config.Parse(d.opts.ConfigPath, config.Options{DefaultAddr: d.opts.BindAddr})
	if snap != nil && snap.Unterminated > 0 {
		errs = append(errs, fmt.Errorf("%s:%d: last line has no newline: the file may be cut short by a write still under way",
			snap.Path, snap.Unterminated))
	}
	if snap == nil && initial {
		return errors.Join(errs...)
	}
	if !initial && len(errs) > 0 {
		return d.refuseReload(errs)
	}
	for _, err := range errs {
		d.event(audit.KindConfigError, nil, nil, err.Error())
	}
	pol, err := policy.Load(d.opts.PolicyPath)
	if err != nil {
		return err
	}
	if err := d.loadACL(initial); err != nil {
		return err
	}
	table := d.acl.Current() // the wait services' filters are built from it
	d.pol = pol
	if !pol.Audit.Same(d.opts.Audit) {
		// The sinks hold spooled records and their spill files: they
		// are opened once, at start.
		d.event(audit.KindConfigError, nil, nil, fmt.Sprintf("%s: the [audit] section changed; it takes effect when hinetd restarts, until then the audit log stays as it started", auditPos(pol.Audit, d.opts.Audit)))
	}

	// Build the new services; a service whose policy does not compile is
	// skipped like a bad line.
	next := map[string]*service{}
	var order []string
	var svcErrs []error
	for _, c := range snap.Services {
		s, err := d.newService(c, pol)
		if err != nil {
			svcErrs = append(svcErrs, fmt.Errorf("%s:%d: %v", c.File, c.Line, err))
			continue
		}
		next[c.Key()] = s
		order = append(order, c.Key())
	}
	if !initial && len(svcErrs) > 0 {
		// A reload applies all of the file or nothing: a service that
		// cannot be built would otherwise be removed.
		return d.refuseReload(svcErrs)
	}
	for _, err := range svcErrs {
		d.event(audit.KindConfigError, nil, nil, err.Error())
	}
	for _, u := range config.UnusedSections(snap, pol) {
		// Not an error (the section may be meant for a line to come),
		// but said where the administrator looks, not only by
		// hinetd-check.
		ev := d.record(audit.KindConfigError, nil, nil, fmt.Sprintf("%s: %s", u.Pos, u.Message), []audit.Field{str("section", u.Name)})
		ev.Severity = audit.SevWarning
		d.alog.Emit(ev)
	}
	nerr := len(errs) + len(svcErrs)
	var bindErrs []error

	d.mu.Lock()
	defer d.mu.Unlock()
	running := make([]string, 0, len(d.listeners))
	for key := range d.listeners {
		running = append(running, key)
	}
	plan := planReload(running, order)
	var added, removed, changed, kept []string
	for _, key := range plan.keep {
		s, l := next[key], d.listeners[key]
		old := l.svc.Load()
		s.state = old.state
		if specHash(old) != specHash(s) {
			// The old spec's spawners, its own and those of the
			// specs derived from it, serve no one any more: close
			// them now rather than at the next connection (or, for
			// the derived ones, when newer ones push them out).
			closeSpawners([]*service{old})
		}
		if err := s.state.lim.SetLimits(s.lim); err != nil {
			d.event(audit.KindConfigError, s, nil, fmt.Sprintf("%s:%d: %v", s.cfg.File, s.cfg.Line, err))
		}
		if s.cfg.SocketType == config.Stream && s.backlog != old.backlog {
			// Linux lets listen(2) be called again on a listening
			// socket: it only changes the queue length, and the
			// connections already queued stay.
			if err := unix.Listen(l.fd, s.backlog); err != nil {
				d.event(audit.KindConfigError, s, nil, fmt.Sprintf("%s:%d: listen(%d): %v", s.cfg.File, s.cfg.Line, s.backlog, err))
				s.backlog = old.backlog
			}
		}
		if filtered(s.cfg) || old.filter != nil {
			if err := s.filter.Attach(l.fd); err != nil {
				d.event(audit.KindConfigError, s, nil, fmt.Sprintf("%s:%d: %v", s.cfg.File, s.cfg.Line, err))
			}
		}
		if sameService(old, s) {
			kept = append(kept, s.cfg.Name)
		} else {
			changed = append(changed, s.cfg.Name)
			d.noteWrapper(s)
			// A wait server holds the socket: left running, it would
			// serve the next requests under the old configuration.
			d.stopWait(old, "its configuration changed")
		}
		l.svc.Store(s)
	}
	for _, key := range plan.open {
		s := next[key]
		lim, err := d.lim.Service(key, s.lim)
		if err != nil {
			d.event(audit.KindConfigError, s, nil, fmt.Sprintf("%s:%d: %v", s.cfg.File, s.cfg.Line, err))
			continue
		}
		s.state = newSvcState(lim)
		fd, err := d.socket(s)
		var l *listener
		if err == nil {
			l, err = newListener(key, fd, s)
		}
		if err != nil {
			err = fmt.Errorf("%s:%d: %v", s.cfg.File, s.cfg.Line, err)
			nerr++
			bindErrs = append(bindErrs, err)
			d.lim.Forget(key)
			d.event(audit.KindBindError, s, nil, err.Error())
			continue
		}
		d.listeners[key] = l
		added = append(added, s.cfg.Name)
		d.event(audit.KindListenerUp, s, nil, bindName(s.cfg))
		if s.protection != "" {
			d.event(audit.KindLog, s, nil, "hosts rules: "+s.protection)
		}
		d.noteWrapper(s)
		l.wg.Add(1)
		go d.run(l)
	}
	if d.acl.Current() != table {
		// The hosts files changed while the services were built; the
		// watcher's refilter may have run before they were in place.
		d.refilterLocked()
	}
	for _, key := range plan.close {
		l := d.listeners[key]
		s := l.svc.Load()
		removed = append(removed, s.cfg.Name)
		l.close()
		delete(d.listeners, key)
		d.stopWait(s, "its service was removed")
		closeSpawners([]*service{s})
		d.lim.Forget(key)
		if s.cfg.Family == config.FamilyUnix {
			os.Remove(s.cfg.Path)
		}
		d.event(audit.KindListenerDown, s, nil, bindName(s.cfg))
	}
	sort.Strings(removed)
	d.snap = snap
	d.setBuiltinPorts(d.snapServices())
	kind := audit.KindReload
	fields := []audit.Field{str("config", snap.Path), str(audit.KeyHash, snap.Hash),
		audit.Int("added", int64(len(added))), audit.Int("removed", int64(len(removed))),
		audit.Int("changed", int64(len(changed))), audit.Int("kept", int64(len(kept))),
		audit.Int("errors", int64(nerr))}
	if initial {
		kind = audit.KindStart
		fields = append(fields, str(audit.KeyVersion, d.opts.Version), str("options", d.opts.String()))
	}
	d.event(kind, nil, nil, fmt.Sprintf("%d added %v, %d removed %v, %d changed %v, %d kept",
		len(added), added, len(removed), removed, len(changed), changed, len(kept)), fields...)
	if initial && len(d.listeners) == 0 && nerr > 0 {
		// inetd skips a bad line and runs the rest; with nothing left
		// to run, running would only hide the failure.
		all := append(append(append([]error(nil), errs...), svcErrs...), bindErrs...)
		return fmt.Errorf("no service could start (%d errors in %s):\n%w", nerr, snap.Path, errors.Join(all...))
	}
	return nil
}

// note logs what the policy compiler noted about a service, at the
// severity of its kind, tagged with the kind, and once: a note a reload
// finds again (the same file:line and words) is not repeated, and a note
// about a [default] line (pass TZ without TZ) is logged for the first
// service only, not once per service.
func (d *Daemon) note(s *service, n policy.Note) {
	key := n.Pos.String() + "\x00" + n.Kind + "\x00" + n.Message
	if d.notesSeen == nil {
		d.notesSeen = map[string]bool{}
	}
	if d.notesSeen[key] {
		return
	}
	d.notesSeen[key] = true
	sev := audit.SevNotice
	switch n.Kind {
	case policy.NoteOverride, policy.NoteLimitsOverride:
		sev = audit.SevInfo // what the administrator wrote, done
	case policy.NoteWeaker:
		sev = audit.SevWarning // less confinement than the default
	}
	ev := d.record(audit.KindLog, s, nil, n.String(), []audit.Field{str("note", n.Kind)})
	ev.Severity = sev
	d.alog.Emit(ev)
}

// noteWrapper says, when a service starts or changes, that its line ran
// the server through tcpd and hinetd runs it directly (config.Service
// Wrapper).
func (d *Daemon) noteWrapper(s *service) {
	if s.cfg.Wrapper == "" {
		return
	}
	d.event(audit.KindLog, s, nil, fmt.Sprintf("%s:%d: runs %s directly, not through %s: hinetd's hosts.allow/hosts.deny decision is the only one",
		s.cfg.File, s.cfg.Line, s.cfg.Program, s.cfg.Wrapper), str("wrapper", s.cfg.Wrapper))
}

// errReloadRefused is load's error when it refused a reload: the errors
// and the summary are logged already.
var errReloadRefused = errors.New("reload refused")

// refuseReload logs every error of a reload that is not applied, and one
// summary: the running configuration stays whole. A file cut short, an
// editor's half-written save or a missing file would otherwise take down
// every service it no longer lists.
func (d *Daemon) refuseReload(errs []error) error {
	for _, err := range errs {
		d.event(audit.KindConfigError, nil, nil, err.Error())
	}
	ev := d.record(audit.KindReload, nil, nil, fmt.Sprintf("reload refused: %d errors; running configuration kept", len(errs)),
		[]audit.Field{str("config", d.opts.ConfigPath), audit.Int("errors", int64(len(errs))), str("refused", "yes")})
	ev.Severity = audit.SevErr
	d.alog.Emit(ev)
	return errReloadRefused
}

// reloadPlan is what a reload does to the listeners, by config.Service.Key.
type reloadPlan struct {
	open  []string // configured now and not listening: bind, in file order
	keep  []string // configured and listening: swap the service, in file order
	close []string // listening and no longer configured: close, sorted
}

// planReload compares the keys of the listeners running now with those of
// the services configured, in file order.
func planReload(running, order []string) reloadPlan {
	var p reloadPlan
	for _, key := range order {
		if slices.Contains(running, key) {
			p.keep = append(p.keep, key)
		} else {
			p.open = append(p.open, key)
		}
	}
	for _, key := range running {
		if !slices.Contains(order, key) {
			p.close = append(p.close, key)
		}
	}
	sort.Strings(p.close)
	return p
}

// newService works out the limits of a service and compiles the spawn
// spec of an external one.
func (d *Daemon) newService(c *config.Service, pol *policy.Set) (*service, error) {
	pl := pol.LimitsFor(c.Policy())
	s := planService(d.opts, c, pl)
	for _, n := range limitNotes(c, pl) {
		d.note(s, n)
	}
	if c.Internal != "" {
		return s, nil
	}
	spec, notes, err := c.Compile(pol, &filters)
	if err != nil {
		return nil, err
	}
	if err := sandbox.Check(spec); err != nil {
		return nil, err
	}
	if err := d.waitProtection(s); err != nil {
		return nil, err
	}
	for _, n := range notes {
		d.note(s, n)
	}
	s.spec = spec
	return s, nil
}

// planService is a service's limits: from the policy's limits pl where it
// sets one, else from inetd.conf's line c, else from the daemon's options.
func planService(o Options, c *config.Service, pl policy.Limits) *service {
	s := &service{cfg: c}
	max := firstSet(c.MaxChild, o.MaxChild)
	if pl.MaxChild.Set {
		max = pl.MaxChild.Value
	}
	s.maxChild = int32(max)
	s.backlog = firstSet(o.Backlog, defaultBacklog)
	if pl.ListenBacklog.Set {
		s.backlog = pl.ListenBacklog.Value
	}
	s.lim = serviceLimits(o, c, pl)
	return s
}

// sameService reports whether a reload left a service as it was (the file
// position may move; the meaning may not).
func sameService(a, b *service) bool {
	ca, cb := *a.cfg, *b.cfg
	ca.File, ca.Line, cb.File, cb.Line = "", 0, "", 0
	if !reflect.DeepEqual(ca, cb) {
		return false
	}
	if a.maxChild != b.maxChild || a.backlog != b.backlog || a.lim != b.lim {
		return false
	}
	if (a.spec == nil) != (b.spec == nil) {
		return false
	}
	return a.spec == nil || a.spec.Hash == b.spec.Hash
}

// specHash is the hash of a service's spawn spec, "" for a built-in.
func specHash(s *service) string {
	if s.spec == nil {
		return ""
	}
	return s.spec.Hash
}

// filters compiles every seccomp program of the daemon's life, reusing a
// program across services and reloads when the rules are the same.
var filters seccomp.Compiler
