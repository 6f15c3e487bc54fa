package audit

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
)

// Handler returns a slog.Handler that writes the daemon's ordinary log
// lines as KindLog events through the same sinks (so with -d and a
// stderr: sink they read as text on stderr). Records below level are
// skipped (nil: info). The attributes "service", "proto", "conn",
// "client" and "local" fill the Event's own fields; the others become
// Fields, groups joined with ".".
func (l *Log) Handler(level slog.Leveler) slog.Handler {
	if level == nil {
		level = slog.LevelInfo
	}
	return &handler{log: l, level: level}
}

type handler struct {
	log    *Log
	level  slog.Leveler
	prefix string // open groups, "a.b."
	base   Event  // attributes from WithAttrs
}

func (h *handler) Enabled(_ context.Context, lv slog.Level) bool {
	return lv >= h.level.Level()
}

func (h *handler) Handle(_ context.Context, r slog.Record) error {
	ev := h.base
	ev.Kind = KindLog
	ev.Time = r.Time
	ev.Msg = r.Message
	ev.Fields = append([]Field(nil), h.base.Fields...)
	switch {
	case r.Level >= slog.LevelError:
		ev.Severity = SevErr
	case r.Level >= slog.LevelWarn:
		ev.Severity = SevWarning
	case r.Level >= slog.LevelInfo:
		ev.Severity = SevInfo
	default:
		ev.Severity = SevDebug
	}
	r.Attrs(func(a slog.Attr) bool {
		addAttr(&ev, h.prefix, a)
		return true
	})
	h.log.Emit(ev)
	return nil
}

func (h *handler) WithAttrs(as []slog.Attr) slog.Handler {
	n := *h
	n.base.Fields = append([]Field(nil), h.base.Fields...)
	for _, a := range as {
		addAttr(&n.base, h.prefix, a)
	}
	return &n
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	n := *h
	n.prefix = h.prefix + name + "."
	return &n
}

// addAttr puts one attribute into ev: the connection attributes into the
// Event's own fields (top level only), the rest as Fields.
func addAttr(ev *Event, prefix string, a slog.Attr) {
	v := a.Value.Resolve()
	if a.Key == "" && v.Kind() != slog.KindGroup {
		return
	}
	if v.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range v.Group() {
			addAttr(ev, p, g)
		}
		return
	}
	if prefix == "" {
		switch a.Key {
		case "service":
			ev.Service = v.String()
			return
		case "proto":
			ev.Proto = v.String()
			return
		case "conn":
			switch v.Kind() {
			case slog.KindUint64:
				ev.ConnID = v.Uint64()
				return
			case slog.KindInt64:
				if v.Int64() >= 0 {
					ev.ConnID = uint64(v.Int64())
					return
				}
			}
		case "client", "local":
			var ap netip.AddrPort
			ok := false
			if x, isAP := v.Any().(netip.AddrPort); isAP {
				ap, ok = x, true
			} else if x, err := netip.ParseAddrPort(v.String()); err == nil {
				ap, ok = x, true
			}
			if ok {
				if a.Key == "client" {
					ev.Client = ap
				} else {
					ev.Local = ap
				}
				return
			}
		}
	}
	ev.Fields = append(ev.Fields, Field{strings.ReplaceAll(prefix+a.Key, " ", "_"), v.String()})
}
