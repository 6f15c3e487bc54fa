package audit

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// record is one formatted record waiting for a sink. sent says it was
// already written once (it is being resent after its connection broke),
// so that it is not counted as delivered twice.
type record struct {
	b    []byte
	sent bool
	drop bool // a drop record, counted apart
}

// spool is the queue of one sink, oldest first: records to resend, then
// records in memory (up to memMax bytes), then records in the spill file
// (up to fileMax bytes). New records go to memory only while the file is
// empty, so that order is kept. Beyond both caps records are dropped and
// counted; the sender writes a drop record for them as soon as it can.
type spool struct {
	mu   sync.Mutex
	cond sync.Cond

	retry    []record
	mem      []record
	memBytes int
	memMax   int

	path    string // "" disables the spill file
	fileMax int64
	f       *os.File
	w       *bufio.Writer
	fileR   int64 // next record to read
	fileW   int64 // end of written data (buffered included)
	flushed int64 // end of data on disk
	fileN   int   // records in the file
	fileErr error

	dropN               uint64
	dropFirst, dropLast time.Time

	// The same drops, for the notices the dispatcher writes to the other
	// sinks at once (this sink's own drop record waits until it works).
	noticeN                 uint64
	noticeFirst, noticeLast time.Time

	closing bool
	waiting int // senders blocked in wait (tests look)

	spilled, dropped uint64 // counters, under mu
}

const spillHeader = 4 // big-endian length before each record in the spill file

func newSpool(path string, memMax int, fileMax int64) (*spool, error) {
	s := &spool{path: path, memMax: memMax, fileMax: fileMax}
	s.cond.L = &s.mu
	if path != "" {
		if err := s.openFile(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// openFile opens (or creates) the spill file and takes over the records a
// previous run left in it, so that they are replayed first.
func (s *spool) openFile() error {
	f, err := os.OpenFile(s.path, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return fmt.Errorf("spill file: %w", err)
	}
	// Two Logs replaying one spill file would send its records twice and
	// garble it: the second one is refused.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := "another process"
		if pid := lockHolder(f); pid > 0 {
			holder = "process " + strconv.Itoa(pid) + " (" + procName(pid) + ")"
		}
		f.Close()
		return fmt.Errorf("spill file %s: in use by %s, which logs to the same sink with the same configuration (flock: %w)", s.path, holder, err)
	}
	// Count the whole records; a torn tail (a crash mid-write) is cut off.
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("spill file: %w", err)
	}
	var off int64
	var hdr [spillHeader]byte
	for {
		if _, err := f.ReadAt(hdr[:], off); err != nil {
			break
		}
		n := int64(binary.BigEndian.Uint32(hdr[:]))
		if off+spillHeader+n > st.Size() {
			break
		}
		off += spillHeader + n
		s.fileN++
	}
	if err := f.Truncate(off); err != nil {
		f.Close()
		return fmt.Errorf("spill file: %w", err)
	}
	s.f = f
	s.fileW, s.flushed = off, off
	s.w = bufio.NewWriterSize(&offsetWriter{f: f, off: &s.flushed}, 32<<10)
	return nil
}

// adopt takes over the whole records of another spill file of the same
// sink that no running Log holds (one left by a run with another
// configuration, or named before spill files had an instance key) and
// removes it: what an earlier run could not deliver is sent by the next
// one. A file some running Log holds is left alone. It returns how many
// records it took.
func (s *spool) adopt(path string) (int, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		return 0, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return 0, nil // its instance is running
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return 0, err
	}
	off, n := 0, 0
	for off+spillHeader <= len(b) {
		l := int(binary.BigEndian.Uint32(b[off:]))
		if off+spillHeader+l > len(b) {
			break // a torn tail
		}
		off += spillHeader + l
		n++
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.w.Write(b[:off]); err != nil {
		return 0, err
	}
	if err := s.w.Flush(); err != nil {
		return 0, err
	}
	s.fileW += int64(off)
	s.fileN += n
	return n, os.Remove(path)
}

// lockHolder finds the process holding a flock(2) on f in /proc/locks
// (proc(5): "1: FLOCK ADVISORY WRITE 1234 08:01:5678 0 EOF"); 0 if none
// is found.
func lockHolder(f *os.File) int {
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return 0
	}
	b, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	dev := fmt.Sprintf("%02x:%02x:%d", unix.Major(uint64(st.Dev)), unix.Minor(uint64(st.Dev)), st.Ino)
	for _, ln := range strings.Split(string(b), "\n") {
		f := strings.Fields(ln)
		if len(f) >= 6 && f[1] == "FLOCK" && f[5] == dev {
			pid, _ := strconv.Atoi(f[4])
			return pid
		}
	}
	return 0
}

// procName is the command name of pid, for messages.
func procName(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

// offsetWriter writes at the end of the spill file's data, keeping track
// of what is on disk.
type offsetWriter struct {
	f   *os.File
	off *int64
}

func (o *offsetWriter) Write(p []byte) (int, error) {
	n, err := o.f.WriteAt(p, *o.off)
	*o.off += int64(n)
	return n, err
}

// push queues one record; it never blocks on the sink. The sender is
// not woken here but by flush, once per batch: woken per record, it
// raced the dispatcher and wrote batches of one or two.
func (s *spool) push(b []byte, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fileN == 0 && s.memBytes+len(b) <= s.memMax {
		s.mem = append(s.mem, record{b: b})
		s.memBytes += len(b)
		return
	}
	if s.f != nil && s.fileErr == nil && s.fileW+spillHeader+int64(len(b)) <= s.fileMax {
		var hdr [spillHeader]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
		s.w.Write(hdr[:])
		_, err := s.w.Write(b)
		if err == nil {
			s.fileW += spillHeader + int64(len(b))
			s.fileN++
			s.spilled++
			return
		}
		s.fileErr = err
	}
	s.dropLocked(1, now, now, true)
}

// dropLocked counts n lost records. notice: tell the other sinks too (not
// for queue drops, which every sink reports itself).
func (s *spool) dropLocked(n uint64, first, last time.Time, notice bool) {
	if s.dropN == 0 || first.Before(s.dropFirst) {
		s.dropFirst = first
	}
	if last.After(s.dropLast) {
		s.dropLast = last
	}
	s.dropN += n
	s.dropped += n
	s.cond.Signal()
	if !notice {
		return
	}
	if s.noticeN == 0 || first.Before(s.noticeFirst) {
		s.noticeFirst = first
	}
	if last.After(s.noticeLast) {
		s.noticeLast = last
	}
	s.noticeN += n
}

// takeNotice returns and clears the drops not yet told to other sinks.
func (s *spool) takeNotice() (n uint64, first, last time.Time) {
	s.mu.Lock()
	n, first, last = s.noticeN, s.noticeFirst, s.noticeLast
	s.noticeN = 0
	s.mu.Unlock()
	return
}

// pushNotice queues another sink's drop notice if memory has room, and
// reports whether it did. A notice never goes to the spill file or counts
// as a loss here: it repeats what that sink's own drop record says.
func (s *spool) pushNotice(b []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fileN != 0 || s.memBytes+len(b) > s.memMax {
		return false
	}
	s.mem = append(s.mem, record{b: b, drop: true})
	s.memBytes += len(b)
	s.cond.Signal()
	return true
}

// drop accounts for n records lost before they reached the spool (the
// Emit queue was full).
func (s *spool) drop(n uint64, first, last time.Time) {
	s.mu.Lock()
	s.dropLocked(n, first, last, false)
	s.mu.Unlock()
}

// takeDrops returns and clears the pending drop count.
func (s *spool) takeDrops() (n uint64, first, last time.Time) {
	s.mu.Lock()
	n, first, last = s.dropN, s.dropFirst, s.dropLast
	s.dropN = 0
	s.mu.Unlock()
	return
}

// flush ends a batch of pushes: it writes buffered spill data to the
// file and wakes the sender if there is anything to send.
func (s *spool) flush() {
	s.mu.Lock()
	if s.w != nil && s.w.Buffered() > 0 {
		if err := s.w.Flush(); err != nil && s.fileErr == nil {
			s.fileErr = err
		}
	}
	if s.lenLocked() > 0 {
		s.cond.Signal()
	}
	s.mu.Unlock()
}

// wait blocks until there is something to send (records or a pending drop
// record), or the spool is closing; it reports whether there is.
func (s *spool) wait() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.closing && s.lenLocked() == 0 && s.dropN == 0 {
		s.waiting++
		s.cond.Wait()
		s.waiting--
	}
	return s.lenLocked() > 0 || s.dropN > 0
}

func (s *spool) lenLocked() int { return len(s.retry) + len(s.mem) + s.fileN }

// unsentLocked counts the queued records never written yet (those to be
// resent were counted as delivered already).
func (s *spool) unsentLocked() int {
	n := s.fileN
	for _, r := range s.mem {
		if !r.drop {
			n++
		}
	}
	for _, r := range s.retry {
		if !r.sent && !r.drop {
			n++
		}
	}
	return n
}

func (s *spool) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lenLocked()
}

// take removes up to maxBytes (at least one record) from the head.
func (s *spool) take(dst []record, maxBytes int) []record {
	s.mu.Lock()
	defer s.mu.Unlock()
	size := 0
	for len(s.retry) > 0 && (size == 0 || size+len(s.retry[0].b) <= maxBytes) {
		size += len(s.retry[0].b)
		dst = append(dst, s.retry[0])
		s.retry[0] = record{}
		s.retry = s.retry[1:]
	}
	if len(s.retry) == 0 {
		k := 0
		for k < len(s.mem) && (size == 0 || size+len(s.mem[k].b) <= maxBytes) {
			size += len(s.mem[k].b)
			s.memBytes -= len(s.mem[k].b)
			k++
		}
		dst = append(dst, s.mem[:k]...)
		// Keep the array and move what is left to its front, so that
		// the next batch reuses it instead of growing a new one.
		left := copy(s.mem, s.mem[k:])
		clear(s.mem[left:])
		s.mem = s.mem[:left]
		if left == 0 && cap(s.mem) > 1<<14 {
			s.mem = nil // a burst's big array goes
		}
	}
	for len(s.retry) == 0 && len(s.mem) == 0 && s.fileN > 0 && size < maxBytes {
		b, err := s.readLocked()
		if err != nil {
			// An unreadable spill file loses what is in it: say so.
			s.fileErr = err
			now := time.Now()
			s.dropLocked(uint64(s.fileN), now, now, true)
			s.resetFileLocked()
			break
		}
		size += len(b)
		dst = append(dst, record{b: b})
	}
	return dst
}

func (s *spool) readLocked() ([]byte, error) {
	if s.fileR+spillHeader > s.flushed || s.w.Buffered() > 0 {
		if err := s.w.Flush(); err != nil {
			return nil, err
		}
	}
	var hdr [spillHeader]byte
	if _, err := s.f.ReadAt(hdr[:], s.fileR); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	b := make([]byte, n)
	if _, err := s.f.ReadAt(b, s.fileR+spillHeader); err != nil {
		return nil, err
	}
	s.fileR += spillHeader + int64(n)
	s.fileN--
	if s.fileN == 0 {
		s.resetFileLocked()
	}
	return b, nil
}

// resetFileLocked empties the spill file once everything in it was read.
func (s *spool) resetFileLocked() {
	s.w.Reset(&offsetWriter{f: s.f, off: &s.flushed})
	s.f.Truncate(0)
	s.fileR, s.fileW, s.flushed, s.fileN = 0, 0, 0, 0
	s.fileErr = nil // a full disk may have room again
}

// unget puts records back at the head, in order, to be sent again.
func (s *spool) unget(recs []record) {
	if len(recs) == 0 {
		return
	}
	s.mu.Lock()
	s.retry = append(append(make([]record, 0, len(recs)+len(s.retry)), recs...), s.retry...)
	s.cond.Signal()
	s.mu.Unlock()
}

func (s *spool) close() {
	s.mu.Lock()
	s.closing = true
	s.cond.Broadcast()
	s.mu.Unlock()
}

// persist writes everything still queued (resend, memory, then the rest
// of the spill file, then extra) to the spill file, so that the next run
// replays it, and closes the file. Without a spill file it returns how
// many records are lost.
func (s *spool) persist(extra [][]byte) (lost int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		if err != nil {
			lost = s.loseLocked()
		}
	}()
	if s.f == nil {
		return 0, errors.New("no spill file")
	}
	if err := s.w.Flush(); err != nil {
		return 0, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), ".spill-*")
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(tmp)
	put := func(b []byte) {
		var hdr [spillHeader]byte
		binary.BigEndian.PutUint32(hdr[:], uint32(len(b)))
		bw.Write(hdr[:])
		bw.Write(b)
	}
	for _, r := range s.retry {
		put(r.b)
	}
	for _, r := range s.mem {
		put(r.b)
	}
	if _, err := io.Copy(bw, io.NewSectionReader(s.f, s.fileR, s.flushed-s.fileR)); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return 0, err
	}
	for _, b := range extra {
		put(b)
	}
	if err := bw.Flush(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return 0, err
	}
	tmp.Sync()
	tmp.Close()
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		os.Remove(tmp.Name())
		return 0, err
	}
	s.f.Close()
	s.f = nil
	return 0, nil
}

// loseLocked counts every record still queued and never sent as dropped
// and empties the queue: Close could not keep them.
func (s *spool) loseLocked() int {
	n := s.unsentLocked()
	s.dropped += uint64(n)
	s.retry, s.mem, s.memBytes = nil, nil, 0
	if s.f != nil {
		s.resetFileLocked()
	}
	s.fileN = 0
	return n
}

// lost counts n records that left the spool and will never be sent.
func (s *spool) lost(n uint64) {
	if n == 0 {
		return
	}
	now := time.Now()
	s.mu.Lock()
	s.dropLocked(n, now, now, false)
	s.mu.Unlock()
}

// closeFile closes the spill file when nothing is left to persist.
func (s *spool) closeFile() {
	s.mu.Lock()
	if s.f != nil {
		s.f.Close()
		s.f = nil
	}
	s.mu.Unlock()
}
