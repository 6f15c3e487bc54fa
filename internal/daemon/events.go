package daemon

import (
	"net/netip"

	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/config"
)

// event records one decision or state change through the audit log. c
// may be nil for events that are not about one connection.
func (d *Daemon) event(kind audit.Kind, s *service, c *conn, msg string, fields ...audit.Field) {
	d.alog.Emit(d.record(kind, s, c, msg, fields))
}

// rated records a denial or a limit refusal: one record per connection up
// to the audit log's per-second budget, summaries beyond it.
func (d *Daemon) rated(kind audit.Kind, s *service, c *conn, msg string, fields ...audit.Field) {
	ev := d.record(kind, s, c, msg, fields)
	if kind == audit.KindDeny {
		d.alog.Deny(ev)
	} else {
		d.alog.Limit(ev)
	}
}

// denied records a connection the ACL denied: one deny record, holding
// what an accept record would (client, local address, conn id, rule),
// while the service is under the audit log's per-second budget; only a
// count in a summary beyond it. One record per denial: a SIEM counting
// denials must not have to pair records.
func (d *Daemon) denied(s *service, c *conn, fields ...audit.Field) {
	d.alog.Deny(d.record(audit.KindDeny, s, c, "", fields))
}

func (d *Daemon) record(kind audit.Kind, s *service, c *conn, msg string, fields []audit.Field) audit.Event {
	ev := audit.Event{Kind: kind, Msg: msg, Fields: fields}
	if s != nil {
		ev.Service, ev.Proto = s.cfg.Name, s.cfg.Protocol
	}
	if c != nil {
		ev.ConnID, ev.Client, ev.Local = c.id, c.client, c.local
		ev.Severity, ev.Facility = c.severity, c.facility
		if s != nil {
			// Every connection record names what the rules saw and what
			// runs: the service field alone is a port for "addr:port"
			// lines.
			ev.Fields = append(append(make([]audit.Field, 0, len(fields)+2), fields...),
				str(audit.KeyDaemon, s.cfg.DaemonName()), str(audit.KeyProgram, program(s)))
		}
	}
	if s != nil && !ev.Local.IsValid() {
		// Records about a service (listener up/down, suspend, limits)
		// and refusals made before the local address was known still
		// say where: the address the service is bound to.
		ev.Local = serviceAddr(s)
	}
	return ev
}

// serviceAddr is the address a service is bound to (none for unix sockets).
func serviceAddr(s *service) netip.AddrPort {
	if s.cfg.Family == config.FamilyUnix || !s.cfg.BindAddr.IsValid() {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(s.cfg.BindAddr.Unmap(), s.cfg.Port)
}

func str(k, v string) audit.Field { return audit.Field{Key: k, Value: v} }

// program is what a service runs: the server's path, or "internal NAME".
func program(s *service) string {
	if s.cfg.Internal != "" {
		return "internal " + s.cfg.Internal
	}
	return s.cfg.Program
}
