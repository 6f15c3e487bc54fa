package daemon

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/systemd"
)

// startedBySystemd reports whether a service manager started hinetd and
// waits on it (Type=notify) or passed it sockets: then hinetd must not
// detach, since systemd follows the pid it started (sd_notify(3),
// sd_listen_fds(3)).
func startedBySystemd() bool {
	return os.Getenv("NOTIFY_SOCKET") != "" || os.Getenv("LISTEN_PID") == strconv.Itoa(os.Getpid())
}

// startSystemd takes the sockets systemd passed and opens the notify
// channel; both are no-ops outside systemd. Called before the first load,
// after the capability drop's re-exec (which keeps the pid, the
// environment and the descriptors).
func (d *Daemon) startSystemd() {
	n, err := systemd.NewNotifier()
	if err != nil {
		d.event(audit.KindConfigError, nil, nil, "systemd: "+err.Error())
	}
	d.sd = n
	ss, errs := systemd.Listeners()
	for _, err := range errs {
		d.event(audit.KindConfigError, nil, nil, err.Error())
	}
	d.sockets = ss
}

// socket is the listening socket of s: the one systemd passed for it if
// there is one, else one hinetd binds (openSocket).
func (d *Daemon) socket(s *service) (int, error) {
	sk := d.sockets.Take(s.cfg)
	if sk == nil {
		if who := staleHolder(s.cfg); who != "" {
			return -1, fmt.Errorf("udp port %d is held by %s, not by this hinetd: a wait server left from an earlier run? Not binding beside it", s.cfg.Port, who)
		}
		return openSocket(s.cfg, s.backlog, s.filter)
	}
	if sk.Type == "stream" {
		// The queue length is hinetd's (-q, listen-backlog), as for a
		// socket it binds: listen(2) again only sets it.
		if err := unix.Listen(sk.FD, s.backlog); err != nil {
			unix.Close(sk.FD)
			return -1, fmt.Errorf("systemd socket %s: listen(%d): %w", sk, s.backlog, err)
		}
	}
	if s.filter != nil {
		// Already listening: connections queued before this were not
		// filtered (systemd accepts none itself for a wait service).
		if err := s.filter.Attach(sk.FD); err != nil {
			unix.Close(sk.FD)
			return -1, fmt.Errorf("systemd socket %s: %w", sk, err)
		}
	}
	d.event(audit.KindLog, s, nil, "adopted systemd socket "+sk.String(), str("systemd-socket", sk.Name))
	return sk.FD, nil
}

// notifyReady tells systemd the listeners are up, with the unused
// passed sockets named in the log.
func (d *Daemon) notifyReady() {
	if !d.sd.Enabled() {
		return
	}
	for _, sk := range d.sockets.Free() {
		d.event(audit.KindLog, nil, nil, "systemd socket "+sk.String()+" matches no service in "+d.opts.ConfigPath)
	}
	d.mu.Lock()
	n := len(d.listeners)
	d.mu.Unlock()
	d.sdSend(d.sd.Ready(fmt.Sprintf("%d listeners", n)))
}

func (d *Daemon) sdSend(err error) {
	if err != nil {
		d.event(audit.KindConfigError, nil, nil, "systemd: "+err.Error())
	}
}

// watchdogTick is the channel of WATCHDOG=1 ticks, nil without a watchdog.
func (d *Daemon) watchdogTick() (<-chan time.Time, func()) {
	iv := d.sd.WatchdogInterval()
	if iv <= 0 {
		return nil, func() {}
	}
	t := time.NewTicker(iv)
	return t.C, t.Stop
}

// alive reports whether every open listener's loop still runs. It takes
// d.mu, so a daemon wedged holding it stops the pings too.
func (d *Daemon) alive() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, l := range d.listeners {
		if !l.closed() && l.stopped.Load() {
			return false
		}
	}
	return true
}
