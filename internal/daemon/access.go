package daemon

import (
	"context"
	"os"
	"strconv"
	"time"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/acl"
	"github.com/hinetd/hinetd/internal/audit"
)

// loadACL opens hosts.allow and hosts.deny once; the watcher then applies
// edits by itself, for the next connection, as libwrap's re-reading does.
// A broken edit leaves the previous table in force and is logged.
func (d *Daemon) loadACL(initial bool) error {
	if d.acl != nil {
		return d.acl.Reload()
	}
	w, err := acl.Open(d.opts.HostsAllow, d.opts.HostsDeny, acl.Options{
		OnError: func(err error) {
			d.event(audit.KindConfigError, nil, nil, "access control files not reloaded; the previous rules stay in force: "+err.Error())
		},
		OnWarning: func(msg string) {
			d.alog.Emit(audit.Event{Kind: audit.KindLog, Severity: audit.SevWarning,
				Msg:    "access control files: a shorter or cut edit settled: " + msg,
				Fields: []audit.Field{str("hosts-allow", d.opts.HostsAllow), str("hosts-deny", d.opts.HostsDeny)}})
		},
		OnReload: func(*hosts.Table) {
			d.event(audit.KindReload, nil, nil, "access control files reloaded",
				str("hosts-allow", d.opts.HostsAllow), str("hosts-deny", d.opts.HostsDeny))
			d.refilter()
		},
	})
	if err != nil {
		return err
	}
	d.acl = w
	return nil
}

// lookupTimeout bounds the name and ident lookups of one decision.
const lookupTimeout = 10 * time.Second

// decide applies hosts.allow and hosts.deny and calls then with the verdict.
// A decision that needs no name lookup is made here, on the accept path; one
// that does runs on its own goroutine, so a slow DNS server never stalls
// other connections. fd is the connection (-1 for datagrams and wait
// services): the rule's socket options, banners and twist act on it.
func (d *Daemon) decide(s *service, c *conn, fd int, then func(bool)) {
	t := d.acl.Current()
	req := hosts.Request{
		Daemon:     s.cfg.DaemonName(),
		ServerAddr: c.local.Addr(), ServerPort: c.local.Port(),
		ClientAddr: c.client.Addr(), ClientPort: c.client.Port(),
		PID:      os.Getpid(),
		Resolver: d.dns,
		// Without these, @netgroup and user@host rules would never
		// match: in hosts.deny that fails open. Neither is consulted
		// unless a rule needs it.
		Ident:     acl.Ident{},
		Netgroups: acl.SystemNetgroups{},
	}
	if dec, ok := t.DecideNoLookup(req); ok && !expands(dec.Options) {
		then(d.verdict(s, c, fd, dec))
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		then(d.verdict(s, c, fd, t.DecideContext(ctx, req)))
	}()
}

// expands reports whether a rule's options have % templates to expand,
// which may need name or ident lookups: those run off the accept path.
func expands(o *hosts.Options) bool {
	return o != nil && (len(o.Spawn) > 0 || o.Twist != "" || o.Banners != "" || len(o.Setenv) > 0)
}

// verdict records a decision and applies the deciding rule's options, as
// libwrap's process_options does: they run whatever the verdict, and twist
// replaces the server for good.
func (d *Daemon) verdict(s *service, c *conn, fd int, dec hosts.Decision) bool {
	fields := ruleFields(dec)
	if o := dec.Options; o != nil && o.Severity != "" {
		if fac, sev, ok := audit.ParseLevel(o.Severity); ok {
			c.facility, c.severity = fac, sev
		}
	}
	granted := dec.Verdict == hosts.Granted
	if granted {
		d.event(audit.KindAccept, s, c, "granted", fields...)
	} else {
		d.denied(s, c, fields...)
	}
	if dec.Options != nil {
		if twisted := d.applyOptions(s, c, fd, dec); twisted {
			return false
		}
	}
	return granted
}

// ruleFields names the deciding rule for the audit record.
func ruleFields(dec hosts.Decision) []audit.Field {
	if dec.Default {
		return []audit.Field{str("verdict", dec.Verdict.String()), str(audit.KeyRule, "none (default grant)")}
	}
	return []audit.Field{str("verdict", dec.Verdict.String()),
		str(audit.KeyRule, dec.File+":"+strconv.Itoa(dec.Line)), str(audit.KeyRuleText, dec.Text)}
}
