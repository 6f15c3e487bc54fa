package check

import (
	"context"
	"errors"
	"io/fs"
	"time"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/acl"
)

// hostsFindings checks hosts.allow and hosts.deny as tcpdchk(8) does, and
// more: syntax, shadowed rules, patterns that never match, names that do
// not resolve, no default deny. A daemon name that inetd.conf does not run
// is most often a standalone libwrap daemon (sshd, sendmail, portmap) in
// the host's shared hosts.allow, not a mistake: it is an info line, shown
// only with -v, as is every rule's effective action.
func hostsFindings(o Options, daemons []string) []Finding {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out []Finding
	// The files are read as the daemon's watcher reads them (acl.ReadFile):
	// a FIFO in their place is refused, not waited on; a missing file is
	// empty.
	var srcs [2]hosts.Source
	for i, p := range []string{o.HostsAllow, o.HostsDeny} {
		b, err := acl.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			out = append(out, Finding{Severity: "error", Code: "read", Message: err.Error()})
		}
		srcs[i] = hosts.Source{Name: p, Text: b}
	}
	for _, f := range hosts.CheckSources(srcs[0], srcs[1], hosts.CheckOptions{
		Daemons:  daemons,
		Resolver: acl.NewResolver(acl.ResolverOptions{}),
		Context:  ctx,
		Verbose:  o.Verbose,
		ReadFile: acl.ReadFile,
	}) {
		if f.Code == "unknown-daemon" {
			if !o.Verbose {
				continue
			}
			f.Severity = hosts.Info
			f.Msg += " (a standalone daemon, or a typing mistake)"
		}
		out = append(out, Finding{File: f.File, Line: f.Line, Col: f.Col, Severity: severity(f.Severity), Code: f.Code, Message: f.Msg})
	}
	return out
}

// waitTable is the hosts table the daemon would load, for the wait-mode
// services' filters; nil when the files do not load (hostsFindings says
// why).
func waitTable(o Options) *hosts.Table {
	var srcs [2]hosts.Source
	for i, p := range []string{o.HostsAllow, o.HostsDeny} {
		b, err := acl.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		srcs[i] = hosts.Source{Name: p, Text: b}
	}
	t, err := hosts.Compile(srcs[0], srcs[1], hosts.ParseOptions{ReadFile: acl.ReadFile})
	if err != nil {
		return nil
	}
	return t
}
