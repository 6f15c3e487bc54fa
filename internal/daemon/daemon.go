// Package daemon is the supervisor: it turns a configuration snapshot into
// listeners, accepts connections and datagrams, sends each one through the
// limits and the ACL, and then to a built-in or to the service's spawner.
// It owns reloads (SIGHUP), shutdown (SIGTERM/SIGINT) and the state dump
// (SIGUSR1). Everything it decides is recorded through the audit log.
package daemon

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/acl"
	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/limits"
	"github.com/hinetd/hinetd/internal/systemd"
	"github.com/hinetd/hinetd/policy"
)

// Options are the command-line settings. The zero value is not complete:
// cmd/hinetd fills the defaults inetd(8) documents.
type Options struct {
	ConfigPath string
	PidFile    string
	Debug      bool   // -d: foreground, human-readable log on stderr
	BindAddr   string // -a: default bind address for services without one

	RatePerMin   int // -R: invocations of one service per minute before it is paused
	MaxChild     int // -c: default concurrent children per service (0 = unlimited)
	ConnPerIPMin int // -C: default connections per client address per minute (0 = unlimited)
	Backlog      int // -q: default listen(2) queue length of stream services (0 = 1024)

	MaxChildren int     // --max-children: children of all services together (0 = unlimited)
	AcceptRate  float64 // --accept-rate: connections and datagrams admitted per second, all services (0 = unlimited)
	IPv6Prefix  int     // --ipv6-prefix: IPv6 clients are counted per prefix of this many bits (0 = 64)

	HostsAllow string
	HostsDeny  string
	PolicyPath string

	LogTo       []string // --log-to, else the policy's [audit] log-to
	LogFormat   string   // --log-format, else [audit] log-format; "" = auto
	LogFacility string   // --log-facility, else [audit] log-facility; "" = daemon
	SpoolDir    string   // audit spill files; "" = the audit package's default
	NoWatch     bool     // --no-watch: inetd.conf is re-read on SIGHUP only, not when it changes
	LogPEN      uint32   // --log-enterprise-number: RFC 5424 SD-ID hinetd@N; 0 = audit.SDID (documentation number 32473)
	// Audit is the policy's [audit] section as read at start: a reload
	// that finds it changed says so, since it applies only at restart.
	Audit   policy.AuditSection
	Version string
}

// Daemon is one running hinetd. It is created by Run.
type Daemon struct {
	opts Options
	log  *slog.Logger // ordinary messages, through the audit log's handler
	alog *audit.Log   // the audit records
	lim  *limits.Limiter
	acl  *acl.Watcher
	dns  *acl.Resolver
	pol  *policy.Set // policies in force, for spawn and twist commands

	mu        sync.Mutex           // guards listeners and snap during reloads
	listeners map[string]*listener // by config.Service.Key()
	snap      *config.Snapshot

	conns     connTable       // live children by connection id
	notesSeen map[string]bool // compile notes logged already (note); used by load only
	endsMu    sync.Mutex
	ends      []ended // servers that exited a moment ago (watchSeccomp)
	nextID    atomic.Uint64
	ownPorts  atomic.Pointer[map[uint16]bool] // ports of the built-ins, see builtinPorts

	sd      *systemd.Notifier // sd_notify; does nothing outside systemd
	sockets *systemd.Sockets  // passed by systemd, not yet taken by a service
}

// Run starts the daemon and blocks until SIGTERM or SIGINT. It returns the
// process exit status.
func Run(ctx context.Context, opts Options, alog *audit.Log) int {
	d := &Daemon{opts: opts, alog: alog, listeners: map[string]*listener{}}
	d.log = slog.New(alog.Handler(slog.LevelInfo))
	lim, err := limits.New(limits.Config{MaxChildren: opts.MaxChildren, AcceptRate: opts.AcceptRate,
		IPv6Prefix: opts.IPv6Prefix})
	if err != nil {
		d.startFailed(fmt.Errorf("limits: %w", err))
		return 1
	}
	d.lim = lim
	d.dns = acl.NewResolver(acl.ResolverOptions{})
	stopSummaries := d.startSummaries()
	defer stopSummaries()
	d.conns.m = map[uint64]*conn{}
	// Connection ids are unique across restarts too: the start time seeds
	// the high bits so the audit trail of two runs never mixes.
	d.nextID.Store(uint64(time.Now().Unix()) << 24)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	defer signal.Stop(sigs)

	d.startSystemd()
	if err := d.load(true); err != nil {
		d.startFailed(err)
		return 1
	}

	if opts.PidFile != "" {
		remove, err := writePidFile(opts.PidFile)
		if err != nil {
			d.startFailed(err)
			return 1
		}
		defer remove()
	}
	stopSeccomp := d.watchSeccomp()
	defer stopSeccomp()
	d.notifyReady()
	signalReady()
	watchdog, stopWatchdog := d.watchdogTick()
	defer stopWatchdog()
	confChanged, stopWatch := d.watchConfig()
	defer stopWatch()

	for {
		select {
		case <-watchdog:
			if d.alive() {
				d.sdSend(d.sd.Watchdog())
			}
		case <-confChanged:
			d.reload(d.opts.ConfigPath + " changed")
		case <-ctx.Done():
			d.stopRecord("stopping")
			d.sdSend(d.sd.Stopping())
			d.shutdown()
			return 0
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				d.reload("SIGHUP")
			case syscall.SIGUSR1:
				d.dump()
			default:
				d.stopRecord("stopping on " + unix.SignalName(sig.(syscall.Signal)))
				d.sdSend(d.sd.Stopping())
				d.shutdown()
				return 0
			}
		}
	}
}

// settleBudget bounds how long the stop record waits for the audit log's
// dispatcher (auditBatchDelay and a batch), out of stopBudget's time.
const settleBudget = 100 * time.Millisecond

// stopRecord writes the stop record. It names every sink that is down
// and how many records wait for it: those stay in its spill file for the
// next start (the audit log gets stopBudget to deliver the rest).
func (d *Daemon) stopRecord(msg string) {
	// The records of the last connections may still wait in the audit
	// log's batch delay, counted by no sink yet.
	ctx, cancel := context.WithTimeout(context.Background(), settleBudget)
	d.alog.Settle(ctx)
	cancel()
	var fields []audit.Field
	undelivered := 0
	for _, st := range d.alog.Stats() {
		if st.Up || st.LastError == "" {
			continue
		}
		undelivered += st.Pending
		msg += fmt.Sprintf("; sink %s down (%s): %d records stay in the spool", st.URL, st.LastError, st.Pending)
	}
	if undelivered > 0 {
		fields = append(fields, audit.Int("undelivered", int64(undelivered)))
	}
	d.event(audit.KindStop, nil, nil, msg, fields...)
}

// shutdown closes every listener. Running children are left alone, as
// inetd(8) leaves them: they hold their own connections.
func (d *Daemon) shutdown() {
	// The hosts watcher first, before d.mu: a reload it is making calls
	// refilter, which takes d.mu, and Close waits for it.
	if d.acl != nil {
		d.acl.Close()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// The listeners stay in the map, closed: the final limit summaries
	// are named from it, and every spawner is told to stop below.
	for _, l := range d.listeners {
		l.close()
	}
	// Wait servers hold their listening socket: one left running would
	// keep serving, unconfigured, beside the next hinetd's socket on the
	// same port. Nowait children hold only their own connections.
	var stopped []<-chan struct{}
	for _, s := range d.snapServices() {
		if done := d.stopWait(s, "hinetd is stopping"); done != nil {
			stopped = append(stopped, done)
		}
	}
	for _, done := range stopped {
		select {
		case <-done:
		case <-time.After(waitStopGrace + time.Second):
		}
	}
	closeSpawners(d.snapServices())
}

func (d *Daemon) snapServices() []*service {
	var out []*service
	for _, l := range d.listeners {
		out = append(out, l.svc.Load())
	}
	return out
}

// dump writes the state for SIGUSR1: services, limits, live children.
func (d *Daemon) dump() {
	var recs []audit.Event
	d.mu.Lock()
	for _, l := range d.listeners {
		s := l.svc.Load()
		lim := s.state.lim.Limits()
		ev := d.record(audit.KindDump, s, nil, fmt.Sprintf("service %s (%s) %s:%d: children %d, max-child %d, max-child-per-ip %d, "+
			"max-conn-per-ip-per-minute %d, invocations-per-minute %d, suspended-until %s",
			s.cfg.Name, l.key, s.cfg.File, s.cfg.Line, s.state.children.Load(), s.maxChild,
			lim.MaxChildPerSource, lim.ConnPerSourcePerMin, lim.RatePerMin, suspendedString(s)), nil)
		ev.Fields = []audit.Field{str("listener", l.key), str(audit.KeyFile, fmt.Sprintf("%s:%d", s.cfg.File, s.cfg.Line)),
			str(audit.KeyDaemon, s.cfg.DaemonName()), str(audit.KeyProgram, program(s)),
			audit.Int("children", int64(s.state.children.Load())), audit.Int("max-child", int64(s.maxChild)),
			audit.Int("max-child-per-ip", int64(lim.MaxChildPerSource)), audit.Int("max-conn-per-ip-per-minute", int64(lim.ConnPerSourcePerMin)),
			audit.Int("invocations-per-minute", int64(lim.RatePerMin)), str("suspended-until", suspendedString(s))}
		recs = append(recs, ev)
	}
	d.mu.Unlock()
	d.conns.each(func(c *conn) {
		run := time.Since(c.start).Round(time.Millisecond)
		ev := audit.Event{Msg: fmt.Sprintf("child conn=%d service %s pid %d client %s running %s",
			c.id, c.svc.cfg.Name, c.pid.Load(), c.client, run),
			Service: c.svc.cfg.Name, Proto: c.svc.cfg.Protocol, ConnID: c.id, Client: c.client,
			Fields: []audit.Field{audit.Int(audit.KeyPID, int64(c.pid.Load())), audit.Dur("running", run),
				str(audit.KeyDaemon, c.svc.cfg.DaemonName()), str(audit.KeyProgram, program(c.svc))}}
		recs = append(recs, ev)
	})
	recs = append(recs, audit.Event{Msg: fmt.Sprintf("global: children %d, tracked sources %d (%d bytes reserved)",
		d.lim.Children(), d.lim.Sources(), d.lim.SourceMemory()),
		Fields: []audit.Field{audit.Int("children", int64(d.lim.Children())), audit.Int("sources", int64(d.lim.Sources())),
			audit.Int("source-bytes", int64(d.lim.SourceMemory()))}})
	d.alog.DumpRecords(recs)
}

func suspendedString(s *service) string {
	if t := s.state.lim.SuspendedUntil(); t.After(time.Now()) {
		return t.Format(time.RFC3339)
	}
	return "-"
}

// String is the effective options, for the start record.
func (o Options) String() string {
	return fmt.Sprintf("config=%s R=%d c=%d C=%d q=%d max-children=%d accept-rate=%g ipv6-prefix=%d a=%q hosts-allow=%s hosts-deny=%s policy=%s log-format=%s log-facility=%s log-to=%v",
		o.ConfigPath, o.RatePerMin, o.MaxChild, o.ConnPerIPMin, o.Backlog, o.MaxChildren, o.AcceptRate, o.IPv6Prefix,
		o.BindAddr, o.HostsAllow, o.HostsDeny, o.PolicyPath, cmp.Or(o.LogFormat, "auto"), cmp.Or(o.LogFacility, "daemon"), o.LogTo)
}
