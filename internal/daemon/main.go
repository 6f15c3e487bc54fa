package daemon

import (
	"cmp"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/moby/sys/capability"

	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/capdrop"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/sandbox"
	"github.com/hinetd/hinetd/policy"
)

// daemonizedEnv marks the background copy of hinetd started by Main.
const daemonizedEnv = "HINETD_DAEMONIZED"

// Main is cmd/hinetd's body: detach unless -d, set up logging, run.
func Main(ctx context.Context, o Options) int {
	if !o.Debug && os.Getenv(daemonizedEnv) == "" && !startedBySystemd() {
		return detach()
	}
	// Read here for what must be known before the first load: the
	// capabilities the policies grant and the [audit] section. A policy
	// that does not load (nil) is reported by that load, through the log.
	pol, _ := policy.Load(o.PolicyPath)
	// The capability drop re-executes hinetd (same pid): the marker and
	// the readiness descriptor must still be there when it runs Main
	// again, or it would detach a second time.
	if err := dropCapabilities(o, pol); err != nil {
		fmt.Fprintln(os.Stderr, "hinetd:", err)
		return 1
	}
	os.Unsetenv(daemonizedEnv)
	takeReadyFD()
	o = withAuditSection(o, pol)
	alog, err := openAudit(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hinetd:", err)
		return 1
	}
	status := Run(ctx, o, alog)
	ctx, cancel := context.WithTimeout(context.Background(), stopBudget)
	defer cancel()
	alog.Close(ctx)
	return status
}

// stopBudget is how long a stopping hinetd lets its audit sinks deliver
// what is queued; the rest stays in the spill files for the next start
// (the stop record says how much). A sink that is down would otherwise
// hold the stop for its whole reconnect back-off.
const stopBudget = 500 * time.Millisecond

// auditBatchDelay lets the records of many connections travel together:
// every batch wakes the log's dispatcher and senders, and the syslog
// daemon, whose worker then writes larger batches too. In the benchmark
// (test/bench/RESULTS.md, 2026-11-26) a local rsyslog spent 14–18 µs of
// CPU per connection at concurrency 64 with 5 ms batches and 12 µs with
// 20 ms. A record reaches a sink that is up at most this much later.
const auditBatchDelay = 20 * time.Millisecond

// withAuditSection fills in, from the policy's [audit] section, what the
// command line left unset. A policy that did not load (nil) leaves the
// flags and defaults alone: the audit log must open to report that error.
func withAuditSection(o Options, pol *policy.Set) Options {
	if pol == nil {
		return o
	}
	a := pol.Audit
	o.Audit = a
	if len(o.LogTo) == 0 {
		o.LogTo = a.LogTo
	}
	o.LogFormat = cmp.Or(o.LogFormat, a.Format)
	o.LogFacility = cmp.Or(o.LogFacility, a.Facility)
	return o
}

// auditPos names where the [audit] section is, or was.
func auditPos(now, before policy.AuditSection) string {
	if now.Pos.File != "" {
		return now.Pos.String()
	}
	return before.Pos.String() + " (removed)"
}

// openAudit opens the audit sinks: --log-to, or the local syslog; with -d
// also readable text on stderr.
func openAudit(o Options) (*audit.Log, error) {
	urls := o.LogTo
	if len(urls) == 0 && !o.Debug {
		urls = []string{"unix:///dev/log"}
	}
	if o.Debug {
		urls = append([]string{"stderr:"}, urls...)
	}
	format, ok := audit.ParseFormat(o.LogFormat)
	if !ok {
		return nil, fmt.Errorf("--log-format %q: expect auto, rfc5424 or rfc3164", o.LogFormat)
	}
	facility := audit.FacDefault
	if o.LogFacility != "" {
		if facility, ok = audit.ParseFacility(o.LogFacility); !ok {
			return nil, fmt.Errorf("--log-facility %q: expect a syslog facility (daemon, auth, authpriv, local0 … local7)", o.LogFacility)
		}
	}
	if o.SpoolDir != "" {
		// The parent directory may be missing on a fresh system; the
		// spool itself is created (and checked) by the audit log.
		if err := os.MkdirAll(filepath.Dir(o.SpoolDir), 0o755); err != nil {
			return nil, fmt.Errorf("--spool-dir: %w", err)
		}
	}
	// Spill files belong to one instance, known by its configuration
	// file: two hinetds with different configurations run side by side
	// on the default spool directory.
	instance, err := filepath.Abs(o.ConfigPath)
	if err != nil {
		instance = o.ConfigPath
	}
	sdid := "" // the audit package's default: hinetd@32473, RFC 5612's documentation number
	if o.LogPEN > 0 {
		sdid = "hinetd@" + strconv.FormatUint(uint64(o.LogPEN), 10)
	}
	alog, err := audit.Open(urls, audit.Options{Format: format, Facility: facility, DenyPerSecond: 200, SpillDir: o.SpoolDir,
		BatchDelay: auditBatchDelay, Instance: instance, SDID: sdid})
	if err != nil {
		return nil, err
	}
	for _, u := range urls {
		if msg := missingSocket(u); msg != "" {
			fmt.Fprintln(os.Stderr, "hinetd: "+msg+"; audit records wait in the spool until a syslog daemon listens there")
		}
	}
	return alog, nil
}

// missingSocket says why the local socket of a unix:// sink cannot take
// records now (no /dev/log: no syslog daemon running), or "".
func missingSocket(sink string) string {
	u, err := url.Parse(sink)
	if err != nil || u.Scheme != "unix" {
		return ""
	}
	fi, err := os.Stat(u.Path)
	switch {
	case err != nil:
		return fmt.Sprintf("audit sink %s: %v", sink, err)
	case fi.Mode()&os.ModeSocket == 0:
		return fmt.Sprintf("audit sink %s: %s is not a socket", sink, u.Path)
	}
	return ""
}

// dropCapabilities keeps, once and for the daemon's whole life, only the
// capabilities it needs (SECURITY.md): those of the spawners, binding
// low ports again on reload, and those the policies pol grant. It
// re-executes hinetd (same pid) so that every thread loses them.
func dropCapabilities(o Options, pol *policy.Set) error {
	if os.Geteuid() != 0 {
		return nil
	}
	if err := capdrop.Check(sandbox.SpawnerCaps...); err != nil {
		return fmt.Errorf("hinetd runs as root but lacks capabilities its spawners need: %w", err)
	}
	var specs []*policy.Spec
	netAdmin := false
	if snap, _ := config.Parse(o.ConfigPath, config.Options{DefaultAddr: o.BindAddr}); snap != nil {
		for _, c := range snap.Services {
			netAdmin = netAdmin || needsTCPFilter(c)
		}
		if pol != nil {
			for _, c := range snap.Services {
				if c.Internal == "" {
					if sp, _, err := c.Compile(pol, &filters); err == nil {
						specs = append(specs, sp)
					}
				}
			}
		}
	}
	keep := sandbox.ParentCaps(specs...)
	if netAdmin {
		keep = append(keep, capability.CAP_NET_ADMIN)
	}
	return capdrop.Drop(keep)
}

// needsTCPFilter reports whether c is a wait-mode stream service on an
// IP socket: its hosts rules are a socket filter on a TCP socket
// (waitacl.go), and Linux (6.18 here) attaches one to a TCP socket only
// with CAP_NET_ADMIN (setsockopt(SO_ATTACH_FILTER) fails with EPERM
// without it; UDP sockets need nothing). The parent keeps CAP_NET_ADMIN
// for the daemon's life only when the start configuration has such a
// service: the filters are replaced whenever the hosts files change.
func needsTCPFilter(c *config.Service) bool {
	return filtered(c) && c.SocketType == config.Stream && c.Family != config.FamilyUnix
}
