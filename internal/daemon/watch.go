package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/audit"
)

// configSettle is how long inetd.conf must stay quiet after a change
// before it is read: update-inetd, dpkg and configuration management
// often write it several times in a row (one update-inetd call per
// service of a package), and one reload for the lot is enough.
const configSettle = 300 * time.Millisecond

// configShrinkSettle is how long a version of inetd.conf shorter than the
// one in force (an empty one included) must stay unchanged before the
// watch reloads it: an editor that saves in place truncates the file and
// then writes it, and the empty or partial file in between must not take
// every service after the cut down (issue 13 item 2; the hosts files have
// the same rule, acl.DefaultShrinkSettle). A legitimate edit that removes
// lines takes this long instead of configSettle; SIGHUP applies at once.
const configShrinkSettle = time.Second

// watchConfig watches inetd.conf for changes (inotify on its directory:
// an editor or update-inetd replaces the file by rename, which a watch on
// the file itself would miss) and sends on the returned channel, after
// configSettle of quiet, when its content differs from the snapshot in
// force; the reload then follows the same rule as SIGHUP. It returns a nil
// channel (never ready) when --no-watch is given or inotify is not
// available (then SIGHUP alone reloads, as in every inetd).
func (d *Daemon) watchConfig() (<-chan struct{}, func()) {
	if d.opts.NoWatch {
		return nil, func() {}
	}
	path := d.opts.ConfigPath
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		d.event(audit.KindConfigError, nil, nil, "watching "+path+": inotify_init1: "+err.Error()+"; only SIGHUP reloads")
		return nil, func() {}
	}
	const mask = unix.IN_CLOSE_WRITE | unix.IN_MOVED_TO | unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_ATTRIB
	if _, err := unix.InotifyAddWatch(fd, filepath.Dir(path), mask); err != nil {
		unix.Close(fd)
		d.event(audit.KindConfigError, nil, nil, "watching "+path+": inotify_add_watch: "+err.Error()+"; only SIGHUP reloads")
		return nil, func() {}
	}
	f := os.NewFile(uintptr(fd), "inotify") // blocking reads; Close ends them
	changed := make(chan struct{}, 1)
	events := make(chan struct{}, 1)
	done := make(chan struct{})
	base := filepath.Base(path)
	go func() { // reader: one wake-up per batch that names the file
		defer close(events)
		buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
		for {
			n, err := f.Read(buf)
			if err != nil {
				return
			}
			for off := 0; off+unix.SizeofInotifyEvent <= n; {
				ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := buf[off+unix.SizeofInotifyEvent : off+unix.SizeofInotifyEvent+int(ev.Len)]
				off += unix.SizeofInotifyEvent + int(ev.Len)
				if cString(name) == base || ev.Mask&unix.IN_Q_OVERFLOW != 0 {
					select {
					case events <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	go func() { // debounce, then compare content with the snapshot in force
		var settle <-chan time.Time
		var last time.Time // the last event
		for {
			select {
			case _, ok := <-events:
				if !ok {
					return
				}
				last = time.Now()
				settle = time.After(configSettle)
			case <-settle:
				settle = nil
				diff, size, was := d.configChanged()
				if !diff {
					continue
				}
				if size < was {
					if quiet := time.Since(last); quiet < configShrinkSettle {
						settle = time.After(configShrinkSettle - quiet)
						continue
					}
					d.alog.Emit(audit.Event{Kind: audit.KindLog, Severity: audit.SevWarning,
						Msg: fmt.Sprintf("%s: a shorter version settled (%d bytes, was %d); unchanged for %v, now reloaded",
							path, size, was, configShrinkSettle)})
				}
				select {
				case changed <- struct{}{}:
				default:
				}
			case <-done:
				return
			}
		}
	}()
	return changed, func() { close(done); f.Close() }
}

// configChanged reports whether inetd.conf's content differs from the
// snapshot in force, with the file's size and the size of the one in
// force. A missing file is a change, not a shorter one (the reload reports
// it and keeps the previous configuration).
func (d *Daemon) configChanged() (changed bool, size, was int) {
	data, err := os.ReadFile(d.opts.ConfigPath)
	if err != nil {
		return true, 0, 0
	}
	sum := sha256.Sum256(data)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.snap == nil {
		return true, len(data), 0
	}
	return d.snap.Hash != hex.EncodeToString(sum[:]), len(data), d.snap.Size
}

// reload re-reads everything, as SIGHUP asks and as a changed inetd.conf
// does: the previous configuration stays in force if the new one does not
// load. systemd hears RELOADING=1 before and READY=1 after.
func (d *Daemon) reload(cause string) {
	d.sdSend(d.sd.Reloading())
	if err := d.load(false); err != nil && err != errReloadRefused {
		d.event(audit.KindConfigError, nil, nil, "reload ("+cause+") failed; the previous configuration stays in force: "+err.Error())
	}
	d.notifyReady()
}

func cString(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
