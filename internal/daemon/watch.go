package daemon

import (
	"crypto/sha256"
	"encoding/hex"
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
		for {
			select {
			case _, ok := <-events:
				if !ok {
					return
				}
				settle = time.After(configSettle)
			case <-settle:
				settle = nil
				if d.configChanged() {
					select {
					case changed <- struct{}{}:
					default:
					}
				}
			case <-done:
				return
			}
		}
	}()
	return changed, func() { close(done); f.Close() }
}

// configChanged reports whether inetd.conf's content differs from the
// snapshot in force. A missing file is a change (the reload reports it
// and keeps the previous configuration).
func (d *Daemon) configChanged() bool {
	data, err := os.ReadFile(d.opts.ConfigPath)
	if err != nil {
		return true
	}
	sum := sha256.Sum256(data)
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.snap == nil || d.snap.Hash != hex.EncodeToString(sum[:])
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
