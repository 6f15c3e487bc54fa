// Package systemd is hinetd's side of the two systemd protocols a system
// daemon speaks: sd_notify(3), to say when the listeners are up, when a
// reload starts and ends, when it stops, and that it is alive (watchdog);
// and socket activation (sd_listen_fds(3)), to serve on sockets the
// service manager bound, so that hinetd need not bind privileged ports.
// The wire format is github.com/coreos/go-systemd/v22 (daemon, activation);
// what hinetd adds is when to send what and which socket serves which
// service. Without NOTIFY_SOCKET or LISTEN_FDS (not started by systemd,
// or by a unit of another type) everything here does nothing.
package systemd

import (
	"fmt"
	"os"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// Notifier sends sd_notify messages. The zero value (and a Notifier made
// where NOTIFY_SOCKET is unset) sends nothing.
type Notifier struct {
	on       bool
	watchdog time.Duration // WATCHDOG_USEC; 0 = no watchdog
}

// NewNotifier reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID. The
// variables stay set: the spawner gives every service a clean environment
// (policy env and pass only), and a re-exec of hinetd itself (the
// capability drop keeps the pid) must find them again.
func NewNotifier() (*Notifier, error) {
	n := &Notifier{on: os.Getenv("NOTIFY_SOCKET") != ""}
	if !n.on {
		return n, nil
	}
	wd, err := sd.SdWatchdogEnabled(false)
	if err != nil {
		return n, fmt.Errorf("watchdog: %w", err)
	}
	n.watchdog = wd
	return n, nil
}

// Enabled reports whether a service manager listens.
func (n *Notifier) Enabled() bool { return n != nil && n.on }

// WatchdogInterval is how often to send WATCHDOG=1: half of WATCHDOG_USEC,
// as sd_watchdog_enabled(3) advises; 0 when no watchdog is asked for.
func (n *Notifier) WatchdogInterval() time.Duration {
	if n == nil {
		return 0
	}
	return n.watchdog / 2
}

func (n *Notifier) send(state string) error {
	if !n.Enabled() {
		return nil
	}
	if _, err := sd.SdNotify(false, state); err != nil {
		return fmt.Errorf("sd_notify %q: %w", firstLine(state), err)
	}
	return nil
}

// Ready says the listeners are up (after start and after a reload), with
// a STATUS= line for systemctl status.
func (n *Notifier) Ready(status string) error {
	return n.send(sd.SdNotifyReady + "\nSTATUS=" + status)
}

// Reloading says a reload starts. MONOTONIC_USEC is CLOCK_MONOTONIC now:
// systemd (Type=notify-reload, and since v253 for any notify unit) uses
// it to tell this reload from an earlier one (sd_notify(3)).
func (n *Notifier) Reloading() error {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return fmt.Errorf("clock_gettime(CLOCK_MONOTONIC): %w", err)
	}
	return n.send(fmt.Sprintf("%s\nMONOTONIC_USEC=%d", sd.SdNotifyReloading, ts.Nano()/1000))
}

// Stopping says hinetd is shutting down.
func (n *Notifier) Stopping() error { return n.send(sd.SdNotifyStopping) }

// Watchdog says hinetd is alive. Send it only after checking that it is.
func (n *Notifier) Watchdog() error { return n.send(sd.SdNotifyWatchdog) }

func firstLine(s string) string {
	for i := range len(s) {
		if s[i] == '\n' {
			return s[:i]
		}
	}
	return s
}
