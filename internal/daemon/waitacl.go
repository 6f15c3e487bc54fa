package daemon

import (
	"fmt"
	"net/netip"

	"github.com/hinetd/hinetd/internal/acl"
	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/config"
)

// A wait-mode service's server gets the socket itself (inetd(8)): hinetd
// cannot decide on its clients one by one. Its hosts rules are compiled
// into a socket filter on the listening socket instead (acl.WaitService),
// attached before bind, replaced when the service or the hosts files
// change.

// filtered reports whether s is a wait-mode service whose server gets
// the socket.
func filtered(c *config.Service) bool { return c.Wait && c.Internal == "" }

// waitProtection works out the socket filter of a wait-mode service from
// the hosts table in force. A stream service the rules cannot be enforced
// for is an error (the line is refused, naming the rules).
func (d *Daemon) waitProtection(s *service) error {
	c := s.cfg
	if !filtered(c) {
		return nil
	}
	f, how, err := acl.WaitService(d.acl.Current(), c.DaemonName(), netip.AddrPortFrom(c.BindAddr, c.Port),
		c.SocketType == config.Dgram, c.Family == config.FamilyUnix)
	if err != nil {
		return err
	}
	s.filter, s.protection = f, how
	return nil
}

// refilter recompiles the socket filter of every wait-mode service after
// the hosts files changed. A stream service whose new rules cannot be
// enforced refuses every client (a filter that drops all) until they can:
// never serve a client the rules may deny.
func (d *Daemon) refilter() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refilterLocked()
}

func (d *Daemon) refilterLocked() {
	for _, l := range d.listeners {
		old := l.svc.Load()
		if !filtered(old.cfg) {
			continue
		}
		s := *old
		if err := d.waitProtection(&s); err != nil {
			s.filter, s.protection = acl.DropAll(), "every client refused: "+err.Error()
			d.event(audit.KindConfigError, &s, nil, fmt.Sprintf("%s:%d: %v; every client is refused until the hosts files can be enforced",
				s.cfg.File, s.cfg.Line, err))
		}
		if err := s.filter.Attach(l.fd); err != nil {
			d.event(audit.KindConfigError, &s, nil, fmt.Sprintf("%s:%d: %v", s.cfg.File, s.cfg.Line, err))
			continue
		}
		if s.protection != old.protection {
			d.event(audit.KindLog, &s, nil, "hosts rules: "+s.protection)
		}
		l.svc.Store(&s)
	}
}
