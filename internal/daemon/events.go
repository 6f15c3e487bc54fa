package daemon

import (
	"fmt"
	"log/slog"
)

// Event kinds, as the audit log names them.
const (
	evStart       = "start"
	evStop        = "stop"
	evReload      = "reload"
	evConfigError = "config-error"
	evListenerUp  = "listener-up"
	evListenerDn  = "listener-down"
	evAccept      = "accept"
	evDeny        = "deny"
	evLimit       = "limit"
	evSpawn       = "spawn"
	evSpawnFail   = "spawn-fail"
	evExit        = "exit"
	evBuiltin     = "builtin"
	evSuspend     = "suspend"
	evResume      = "resume"
	evError       = "error"
)

// event records one decision or state change. c may be nil for events that
// are not about one connection.
func (d *Daemon) event(kind string, s *service, c *conn, kv ...any) {
	attrs := make([]any, 0, 12+len(kv))
	attrs = append(attrs, "event", kind)
	if s != nil {
		attrs = append(attrs, "service", s.cfg.Name, "proto", s.cfg.Protocol)
	}
	if c != nil {
		if c.id != 0 {
			attrs = append(attrs, "conn", c.id)
		}
		if c.client.IsValid() {
			attrs = append(attrs, "client", c.client.String())
		}
		if c.local.IsValid() {
			attrs = append(attrs, "local", c.local.String())
		}
	}
	attrs = append(attrs, kv...)
	level := slog.LevelInfo
	switch kind {
	case evConfigError, evSpawnFail, evError:
		level = slog.LevelError
	case evDeny, evLimit, evSuspend:
		level = slog.LevelWarn
	}
	msg := kind
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == "msg" {
			msg = fmt.Sprint(kv[i+1])
		}
	}
	d.log.Log(nil, level, msg, attrs...)
}
