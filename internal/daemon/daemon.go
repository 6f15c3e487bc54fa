// Package daemon is the supervisor: it turns a configuration snapshot into
// listeners, accepts connections and datagrams, sends each one through the
// limits and the ACL, and then to a built-in or to the service's spawner.
// It owns reloads (SIGHUP), shutdown (SIGTERM/SIGINT) and the state dump
// (SIGUSR1). Everything it decides is recorded through the audit log.
package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hinetd/hinetd/internal/config"
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

	HostsAllow string
	HostsDeny  string
	PolicyPath string

	LogTo     []string
	LogFormat string
	Version   string
}

// Daemon is one running hinetd. It is created by Run.
type Daemon struct {
	opts Options
	log  *slog.Logger

	mu        sync.Mutex           // guards listeners and snap during reloads
	listeners map[string]*listener // by config.Service.Key()
	snap      *config.Snapshot

	conns    connTable // live children by connection id
	nextID   atomic.Uint64
	ownPorts atomic.Pointer[map[uint16]bool] // ports of the built-ins, see builtinPorts
}

// Run starts the daemon and blocks until SIGTERM or SIGINT. It returns the
// process exit status.
func Run(ctx context.Context, opts Options, log *slog.Logger) int {
	d := &Daemon{opts: opts, log: log, listeners: map[string]*listener{}}
	d.conns.m = map[uint64]*conn{}
	// Connection ids are unique across restarts too: the start time seeds
	// the high bits so the audit trail of two runs never mixes.
	d.nextID.Store(uint64(time.Now().Unix()) << 24)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	defer signal.Stop(sigs)

	if err := d.load(true); err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if opts.PidFile != "" {
		if err := os.WriteFile(opts.PidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			log.Error("cannot write pid file", "file", opts.PidFile, "err", err)
			return 1
		}
		defer os.Remove(opts.PidFile)
	}

	for {
		select {
		case <-ctx.Done():
			d.shutdown()
			return 0
		case sig := <-sigs:
			switch sig {
			case syscall.SIGHUP:
				if err := d.load(false); err != nil {
					log.Error("reload failed; previous configuration stays in force", "err", err)
				}
			case syscall.SIGUSR1:
				d.dump()
			default:
				log.Info("stopping", "signal", sig.String())
				d.shutdown()
				return 0
			}
		}
	}
}

// shutdown closes every listener. Running children are left alone, as
// inetd(8) leaves them: they hold their own connections.
func (d *Daemon) shutdown() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for k, l := range d.listeners {
		l.close()
		delete(d.listeners, k)
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
	d.mu.Lock()
	for _, l := range d.listeners {
		s := l.svc.Load()
		d.log.Info("dump service", "service", s.cfg.Name, "key", l.key,
			"children", s.state.children.Load(), "max_child", s.maxChild,
			"config", fmt.Sprintf("%s:%d", s.cfg.File, s.cfg.Line))
	}
	d.mu.Unlock()
	d.conns.each(func(c *conn) {
		d.log.Info("dump child", "conn", c.id, "service", c.svc.cfg.Name,
			"pid", c.pid.Load(), "client", c.client.String(),
			"age", time.Since(c.start).Round(time.Millisecond).String())
	})
}
