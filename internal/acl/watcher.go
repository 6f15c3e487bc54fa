// Package acl keeps the daemon's compiled hosts.allow/hosts.deny table
// current: it loads both files at start-up (fatal on error), watches them
// and their "/path" pattern files (inotify on their directories: an edit
// is in force about 30 ms after the writer closes the file; a stat poll
// every PollInterval as a fallback) and recompiles off the accept path; a
// broken edit leaves the previous table in force and is reported through
// OnError. An edit that may be a write still under way (a file that got
// shorter, or whose last line has no newline) waits until the file has
// stayed unchanged for ShrinkSettle; a removed file, or one that is not a
// regular file, is refused. It also provides the daemon's host name
// resolver: cached, bounded, with timeouts and one lookup in flight per key.
package acl

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
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
	// OnWarning is called when a suspect edit (see ShrinkSettle) has
	// settled and is put in force, with what it changed.
	OnWarning func(msg string)
	// PollInterval is the fallback stat poll period (default 1 s).
	PollInterval time.Duration
	// ShrinkSettle is how long a file that became shorter than the
	// version in force (empty included), or whose last line lacks its
	// newline, must stay unchanged before it is put in force (default
	// DefaultShrinkSettle). Until then the previous table stays.
	ShrinkSettle time.Duration

	noInotify bool // tests: exercise the stat poll alone
}

// DefaultShrinkSettle is Options.ShrinkSettle's default. An in-place
// save (": > hosts.deny", then the writes; an editor that truncates and
// writes) passes through a shorter file, and an empty hosts.deny grants
// everything: such a version waits this long for the rest of the write.
// What it costs: an edit that removes rules is in force this much later
// (about 1.0–1.1 s, measured by TestWatcherShrinkSettles); edits that add
// rules, and every edit written to a new file and renamed into place,
// apply at once.
const DefaultShrinkSettle = time.Second

// settleTime is how long the watcher waits after a change event for more
// events before it reloads.
const settleTime = 30 * time.Millisecond

// Watcher holds the current table. Its zero value is not usable; call Open.
type Watcher struct {
	allow, deny string
	opts        Options
	cur         atomic.Pointer[hosts.Table]

	mu      sync.Mutex // serialises reloads
	stamp   map[string]fileStamp
	inForce map[string]fileShape // the files of the table in force
	pending *pendingEdit         // a suspect edit waiting to settle

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

// fileShape is what the watcher remembers of the text of a file it read.
type fileShape struct {
	exists bool
	size   int
	nl     bool // empty, or ends in a newline
}

// pendingEdit is a suspect version of the files seen at since: it is put
// in force once the files still have stamp after ShrinkSettle.
type pendingEdit struct {
	stamp  map[string]fileStamp
	since  time.Time
	reason string
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
	if opts.ShrinkSettle <= 0 {
		opts.ShrinkSettle = DefaultShrinkSettle
	}
	w := &Watcher{allow: allowPath, deny: denyPath, opts: opts, ifd: -1, done: make(chan struct{})}
	t, st, shapes, err := w.load()
	if err != nil {
		return nil, err
	}
	w.cur.Store(t)
	w.stamp, w.inForce = st, shapes
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
func (w *Watcher) load() (*hosts.Table, map[string]fileStamp, map[string]fileShape, error) {
	st := map[string]fileStamp{}
	shapes := map[string]fileShape{}
	for _, p := range []string{w.allow, w.deny} {
		s, err := stampOf(p)
		if err != nil {
			return nil, nil, nil, err
		}
		st[p] = s
	}
	var pfiles []string
	read := func(p string) ([]byte, error) {
		pfiles = append(pfiles, p)
		b, err := ReadFile(p)
		if err == nil {
			shapes[p] = shapeOf(b)
		}
		return b, err
	}
	var texts [2][]byte
	for i, p := range []string{w.allow, w.deny} {
		b, err := ReadFile(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
			shapes[p] = fileShape{}
		case err != nil:
			return nil, st, nil, err
		default:
			shapes[p] = shapeOf(b)
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
		return nil, st, nil, err
	}
	return t, st, shapes, nil
}

func shapeOf(b []byte) fileShape {
	return fileShape{exists: true, size: len(b), nl: len(b) == 0 || b[len(b)-1] == '\n'}
}

// ReadFile reads a hosts file or a "/path" pattern file. It opens without
// blocking and reads only a regular file (symbolic links to one are
// followed): open(2) of a FIFO blocks until a writer comes, and a device
// can block any read, which would stall reloads and SIGHUP (fifo(7)).
func ReadFile(path string) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: path, Err: err}
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s); refused", path, fileKind(fi.Mode()))
	}
	return io.ReadAll(f)
}

func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a block device"
	case m.IsDir():
		return "a directory"
	}
	return "type " + m.Type().String()
}

// Reload checks the files now and recompiles if any changed. It returns
// the load error, if any (also passed to OnError).
func (w *Watcher) Reload() error { return w.check(false) }

func (w *Watcher) check(force bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !force && !w.changed() && !w.settled() {
		return nil
	}
	t, st, shapes, err := w.load()
	if st != nil {
		// Remember the broken version too: report it once, not every poll.
		w.stamp = st
	}
	if err == nil {
		err = w.removed(shapes)
	}
	if err != nil {
		w.pending = nil
		if w.opts.OnError != nil {
			w.opts.OnError(err)
		}
		return err
	}
	if reason := w.suspect(shapes); reason != "" {
		now := time.Now()
		if w.pending == nil || !sameStamps(w.pending.stamp, st) {
			w.pending = &pendingEdit{stamp: st, since: now, reason: reason}
			return nil
		}
		if now.Sub(w.pending.since) < w.opts.ShrinkSettle {
			return nil
		}
		if w.opts.OnWarning != nil {
			w.opts.OnWarning(fmt.Sprintf("%s; unchanged for %v, now in force: %s", reason,
				w.opts.ShrinkSettle, w.ruleChange(w.cur.Load(), t)))
		}
	}
	w.pending = nil
	w.cur.Store(t)
	w.inForce = shapes
	w.setupInotify(t)
	if w.opts.OnReload != nil {
		w.opts.OnReload(t)
	}
	return nil
}

// removed refuses a version in which hosts.allow or hosts.deny, present
// in the table in force, is gone. libwrap reads a missing file as empty,
// and an empty hosts.deny grants everything: deleting the file by mistake
// (or half-way through an editor's save) must not. An empty file clears
// the rules.
func (w *Watcher) removed(shapes map[string]fileShape) error {
	var errs []error
	for _, p := range []string{w.allow, w.deny} {
		if w.inForce[p].exists && !shapes[p].exists {
			errs = append(errs, fmt.Errorf("%s: removed; its rules stay in force until it exists again (an empty file clears them)", p))
		}
	}
	return errors.Join(errs...)
}

// suspect says why a version that loads may be a write still under way,
// or "" if it is not: a file shorter than the version in force (an
// in-place save truncates first) or whose last line has no newline (a
// write cut mid-line).
func (w *Watcher) suspect(shapes map[string]fileShape) string {
	var why []string
	for _, p := range slices.Sorted(maps.Keys(shapes)) {
		s, old := shapes[p], w.inForce[p]
		switch {
		case s.exists && !s.nl:
			why = append(why, fmt.Sprintf("%s: last line has no newline", p))
		case old.exists && s.size < old.size:
			why = append(why, fmt.Sprintf("%s: shorter than the version in force (%d bytes, was %d)", p, s.size, old.size))
		}
	}
	return strings.Join(why, "; ")
}

// settled reports whether a suspect edit has waited its settle time.
func (w *Watcher) settled() bool {
	return w.pending != nil && time.Since(w.pending.since) >= w.opts.ShrinkSettle
}

// settleWait is how long the loop may sleep before a pending edit settles.
func (w *Watcher) settleWait() time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending == nil {
		return w.opts.PollInterval
	}
	return min(w.opts.PollInterval, max(time.Until(w.pending.since.Add(w.opts.ShrinkSettle)), time.Millisecond))
}

func sameStamps(a, b map[string]fileStamp) bool {
	return maps.Equal(a, b)
}

// ruleChange says how many rules each file had and has.
func (w *Watcher) ruleChange(old, now *hosts.Table) string {
	oa, od := old.Rules()
	na, nd := now.Rules()
	return fmt.Sprintf("%s %d rules (was %d), %s %d rules (was %d)", w.allow, len(na), len(oa), w.deny, len(nd), len(od))
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
		n, err := unix.Poll(fds, int((w.settleWait()+time.Millisecond-1)/time.Millisecond))
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
