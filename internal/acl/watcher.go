// Package acl keeps the daemon's compiled hosts.allow/hosts.deny table
// current: it loads both files at start-up (fatal on error), watches them
// and their "/path" pattern files (inotify on their directories: an edit
// is in force about 30 ms after the writer closes the file; a stat poll
// every PollInterval as a fallback) and recompiles off the accept path; a broken edit leaves the previous table in
// force and is reported through OnError. It also provides the daemon's
// host name resolver: cached, bounded, with timeouts and one lookup in
// flight per key.
package acl

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hinetd/hinetd/hosts"
	"golang.org/x/sys/unix"
)

// Options tunes a Watcher. The zero value polls every second and drops
// reload errors.
type Options struct {
	// OnError is called (from the watcher goroutine, or from Reload) when
	// a changed file fails to load; the previous table stays in force.
	// OnError and OnReload must not call Reload.
	OnError func(error)
	// OnReload is called after a changed table is in force.
	OnReload func(*hosts.Table)
	// PollInterval is the fallback stat poll period (default 1 s).
	PollInterval time.Duration

	noInotify bool // tests: exercise the stat poll alone
}

// settleTime is how long the watcher waits after a change event for more
// events before it reloads.
const settleTime = 30 * time.Millisecond

// Watcher holds the current table. Its zero value is not usable; call Open.
type Watcher struct {
	allow, deny string
	opts        Options
	cur         atomic.Pointer[hosts.Table]

	mu    sync.Mutex // serialises reloads
	stamp map[string]fileStamp

	ifd      int // inotify fd, -1 if none
	wakeR    *os.File
	wakeW    *os.File
	done     chan struct{}
	closeOne sync.Once
}

// fileStamp identifies one version of a file (or its absence).
type fileStamp struct {
	exists      bool
	ino, size   int64
	mtime, ctim int64
}

func stampOf(path string) (fileStamp, error) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		if errors.Is(err, syscall.ENOENT) {
			return fileStamp{}, nil
		}
		return fileStamp{}, fmt.Errorf("stat %s: %w", path, err)
	}
	return fileStamp{true, int64(st.Ino), st.Size, st.Mtim.Nano(), st.Ctim.Nano()}, nil
}

// Open loads allowPath and denyPath (a missing file is empty, as in
// libwrap; an unreadable or malformed one is an error) and starts watching
// them and the pattern files they name.
func Open(allowPath, denyPath string, opts Options) (*Watcher, error) {
	if opts.PollInterval <= 0 {
		opts.PollInterval = time.Second
	}
	w := &Watcher{allow: allowPath, deny: denyPath, opts: opts, ifd: -1, done: make(chan struct{})}
	t, st, err := w.load()
	if err != nil {
		return nil, err
	}
	w.cur.Store(t)
	w.stamp = st
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("acl: pipe: %w", err)
	}
	w.wakeR, w.wakeW = r, wr
	if !opts.noInotify {
		if fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK); err == nil {
			w.ifd = fd // else the stat poll alone keeps the table current
		}
	}
	w.setupInotify(t)
	go w.loop()
	return w, nil
}

// Current returns the table in force. It is one atomic load.
func (w *Watcher) Current() *hosts.Table { return w.cur.Load() }

// Close stops watching. Current keeps returning the last table.
func (w *Watcher) Close() error {
	w.closeOne.Do(func() {
		w.wakeW.Write([]byte{0})
		<-w.done
		w.wakeR.Close()
		w.wakeW.Close()
		if w.ifd >= 0 {
			unix.Close(w.ifd)
		}
	})
	return nil
}

// paths returns every file the current table depends on.
func (w *Watcher) paths(t *hosts.Table) []string {
	return append([]string{w.allow, w.deny}, t.PatternFiles()...)
}

// load stamps, reads and compiles. Files are stamped before reading so a
// write racing with the read shows up as a change at the next check.
func (w *Watcher) load() (*hosts.Table, map[string]fileStamp, error) {
	st := map[string]fileStamp{}
	for _, p := range []string{w.allow, w.deny} {
		s, err := stampOf(p)
		if err != nil {
			return nil, nil, err
		}
		st[p] = s
	}
	var pfiles []string
	read := func(p string) ([]byte, error) {
		pfiles = append(pfiles, p)
		return os.ReadFile(p)
	}
	var texts [2][]byte
	for i, p := range []string{w.allow, w.deny} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, err
		}
		texts[i] = b
	}
	t, err := hosts.Compile(hosts.Source{Name: w.allow, Text: texts[0]},
		hosts.Source{Name: w.deny, Text: texts[1]}, hosts.ParseOptions{ReadFile: read})
	for _, p := range pfiles {
		if s, serr := stampOf(p); serr == nil {
			st[p] = s
		}
	}
	if err != nil {
		return nil, st, err
	}
	return t, st, nil
}

// Reload checks the files now and recompiles if any changed. It returns
// the load error, if any (also passed to OnError).
func (w *Watcher) Reload() error { return w.check(false) }

func (w *Watcher) check(force bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !force && !w.changed() {
		return nil
	}
	t, st, err := w.load()
	if st != nil {
		// Remember the broken version too: report it once, not every poll.
		w.stamp = st
	}
	if err != nil {
		if w.opts.OnError != nil {
			w.opts.OnError(fmt.Errorf("hosts tables not reloaded, previous rules stay in force: %w", err))
		}
		return err
	}
	w.cur.Store(t)
	w.setupInotify(t)
	if w.opts.OnReload != nil {
		w.opts.OnReload(t)
	}
	return nil
}

func (w *Watcher) changed() bool {
	for p, old := range w.stamp {
		s, err := stampOf(p)
		if err != nil || s != old {
			return true
		}
	}
	return false
}

// setupInotify watches the directories of every file the table depends
// on: editors replace files by rename, which a watch on the file itself
// would miss.
func (w *Watcher) setupInotify(t *hosts.Table) {
	if w.ifd < 0 {
		return
	}
	for _, p := range w.paths(t) {
		dir := filepath.Dir(p)
		unix.InotifyAddWatch(w.ifd, dir, unix.IN_CLOSE_WRITE|unix.IN_MOVED_TO|unix.IN_MOVED_FROM|
			unix.IN_CREATE|unix.IN_DELETE|unix.IN_ATTRIB|unix.IN_MODIFY)
	}
}

// loop waits for inotify events or the poll period, then checks stamps.
// Checking stamps (not event names) keeps it simple and catches every
// kind of change; events only make it prompt.
func (w *Watcher) loop() {
	defer close(w.done)
	buf := make([]byte, 64*1024)
	for {
		fds := []unix.PollFd{{Fd: int32(w.wakeR.Fd()), Events: unix.POLLIN}}
		if w.ifd >= 0 {
			fds = append(fds, unix.PollFd{Fd: int32(w.ifd), Events: unix.POLLIN})
		}
		n, err := unix.Poll(fds, int(w.opts.PollInterval/time.Millisecond))
		if err != nil && !errors.Is(err, unix.EINTR) {
			time.Sleep(w.opts.PollInterval)
		}
		if n > 0 && fds[0].Revents != 0 {
			return
		}
		if n > 0 && len(fds) > 1 && fds[1].Revents != 0 {
			// Drain, then let the writer finish: an in-place save is a
			// truncate followed by writes, and the empty file in between
			// must not become the table (an empty hosts.deny grants
			// everything). Writing a new file and renaming it over the old
			// one is atomic and needs no settling.
			for settle := 0; settle < 10; settle++ {
				got := false
				for i := 0; i < 64; i++ {
					if _, err := unix.Read(w.ifd, buf); err != nil {
						break
					}
					got = true
				}
				if !got && settle > 0 {
					break
				}
				time.Sleep(settleTime)
			}
		}
		w.check(false)
	}
}

// NeedsNames reports whether the table in force may need host name
// lookups; when false the daemon can decide on the accept goroutine.
// Table.DecideNoLookup answers the same question per request.
func (w *Watcher) NeedsNames() bool { return w.Current().NeedsNames() }
