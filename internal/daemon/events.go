package daemon

import (
	"github.com/hinetd/hinetd/internal/audit"
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

func (d *Daemon) record(kind audit.Kind, s *service, c *conn, msg string, fields []audit.Field) audit.Event {
	ev := audit.Event{Kind: kind, Msg: msg, Fields: fields}
	if s != nil {
		ev.Service, ev.Proto = s.cfg.Name, s.cfg.Protocol
	}
	if c != nil {
		ev.ConnID, ev.Client, ev.Local = c.id, c.client, c.local
		ev.Severity, ev.Facility = c.severity, c.facility
	}
	return ev
}

func str(k, v string) audit.Field { return audit.Field{Key: k, Value: v} }
