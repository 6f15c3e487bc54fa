package acl

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/hosts"
)

func verdict(w *Watcher, client string) hosts.Verdict {
	return w.Current().Decide(hosts.Request{Daemon: "sshd", ClientAddr: netip.MustParseAddr(client)}).Verdict
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestWatcherReloadAndBrokenEdit(t *testing.T) {
	dir := t.TempDir()
	allow, deny := filepath.Join(dir, "hosts.allow"), filepath.Join(dir, "hosts.deny")
	if err := os.WriteFile(deny, []byte("sshd: 127.0.0.2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var errs atomic.Int32
	var lastErr atomic.Value
	w, err := Open(allow, deny, Options{PollInterval: 5 * time.Second, OnError: func(err error) {
		errs.Add(1)
		lastErr.Store(err.Error())
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if verdict(w, "127.0.0.2") != hosts.Denied || verdict(w, "127.0.0.3") != hosts.Granted {
		t.Fatal("initial table wrong")
	}
	// An edit applies without a reload (inotify, well before the 5 s poll).
	os.WriteFile(deny, []byte("sshd: 127.0.0.3\n"), 0o644)
	waitFor(t, "edit to apply", func() bool { return verdict(w, "127.0.0.3") == hosts.Denied })
	if verdict(w, "127.0.0.2") != hosts.Granted {
		t.Fatal("old rule still in force")
	}
	// A broken edit keeps the old table and reports the error.
	os.WriteFile(deny, []byte("sshd: [2001:db8::/32]\n"), 0o644)
	waitFor(t, "OnError", func() bool { return errs.Load() > 0 })
	if verdict(w, "127.0.0.3") != hosts.Denied {
		t.Fatal("broken edit replaced the table")
	}
	if s, _ := lastErr.Load().(string); !strings.Contains(s, "hosts.deny:1:7:") {
		t.Fatalf("error does not name file:line:col: %q", s)
	}
	// Replacing the file by rename (as editors do) is seen too.
	tmp := filepath.Join(dir, "new")
	os.WriteFile(tmp, []byte("sshd: 127.0.0.4\n"), 0o644)
	os.Rename(tmp, deny)
	waitFor(t, "rename to apply", func() bool { return verdict(w, "127.0.0.4") == hosts.Denied })
}

func TestWatcherPollFallback(t *testing.T) {
	dir := t.TempDir()
	allow, deny := filepath.Join(dir, "hosts.allow"), filepath.Join(dir, "hosts.deny")
	w, err := Open(allow, deny, Options{PollInterval: 50 * time.Millisecond, noInotify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	os.WriteFile(deny, []byte("ALL: ALL\n"), 0o644)
	waitFor(t, "poll", func() bool { return verdict(w, "127.0.0.9") == hosts.Denied })
}

func TestOpenFatal(t *testing.T) {
	dir := t.TempDir()
	deny := filepath.Join(dir, "hosts.deny")
	os.WriteFile(deny, []byte("ALL ALL\n"), 0o644)
	if _, err := Open(filepath.Join(dir, "hosts.allow"), deny, Options{}); err == nil ||
		!strings.Contains(err.Error(), "hosts.deny:1:1: missing") {
		t.Fatalf("want fatal parse error, got %v", err)
	}
	if os.Geteuid() == 0 {
		// root reads anything; a directory is unreadable as a file
		if _, err := Open(dir, deny+"x", Options{}); err == nil {
			t.Fatal("want error for a directory")
		}
	}
	w, err := Open(filepath.Join(dir, "a"), filepath.Join(dir, "b"), Options{})
	if err != nil {
		t.Fatalf("missing files must be empty: %v", err)
	}
	w.Close()
}

// slowResolver blocks lookups of "slow" addresses until released.
type slowResolver struct {
	release chan struct{}
	calls   atomic.Int32
}

func (s *slowResolver) LookupAddr(ctx context.Context, a netip.Addr) ([]string, error) {
	s.calls.Add(1)
	if a == netip.MustParseAddr("10.0.0.66") {
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return []string{"h" + strings.ReplaceAll(a.String(), ".", "-") + ".example"}, nil
}

func (s *slowResolver) LookupHost(ctx context.Context, n string) ([]netip.Addr, error) {
	s.calls.Add(1)
	return nil, errors.New("no")
}

func TestResolverCacheBoundAndSingleflight(t *testing.T) {
	up := &slowResolver{release: make(chan struct{})}
	r := NewResolver(ResolverOptions{Upstream: up, Size: 10, Timeout: 2 * time.Second})
	ctx := context.Background()
	for i := 0; i < 50; i++ {
		a := netip.AddrFrom4([4]byte{10, 1, 0, byte(i)})
		if _, err := r.LookupAddr(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if r.Len() != 10 {
		t.Fatalf("cache holds %d, want 10", r.Len())
	}
	// Cached: no new upstream call.
	n := up.calls.Load()
	r.LookupAddr(ctx, netip.AddrFrom4([4]byte{10, 1, 0, 49}))
	if up.calls.Load() != n {
		t.Fatal("cached answer looked up again")
	}
	// A slow lookup: many waiters, one upstream call; other keys are not stalled.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.LookupAddr(ctx, netip.MustParseAddr("10.0.0.66"))
		}()
	}
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if _, err := r.LookupAddr(ctx, netip.MustParseAddr("10.0.0.67")); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 500*time.Millisecond {
		t.Fatal("a slow lookup stalled another key")
	}
	close(up.release)
	wg.Wait()
}

func TestResolverTimeout(t *testing.T) {
	up := &slowResolver{release: make(chan struct{})}
	r := NewResolver(ResolverOptions{Upstream: up, Timeout: 100 * time.Millisecond})
	start := time.Now()
	_, err := r.LookupAddr(context.Background(), netip.MustParseAddr("10.0.0.66"))
	if err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("want timeout error within 2s, got %v after %v", err, time.Since(start))
	}
	// Caller context shorter than the lookup: the caller gives up alone.
	r = NewResolver(ResolverOptions{Upstream: up, Timeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.LookupAddr(ctx, netip.MustParseAddr("10.0.0.66")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want deadline exceeded, got %v", err)
	}
	close(up.release)
	// Through the hosts package: a name verified via the cache.
	name := hosts.VerifiedName(context.Background(), r, netip.MustParseAddr("10.0.0.5"))
	if name != hosts.Paranoid {
		t.Fatalf("forward lookup fails: want paranoid, got %q", name)
	}
}

func TestResolverInFlightBound(t *testing.T) {
	up := &slowResolver{release: make(chan struct{})}
	r := NewResolver(ResolverOptions{Upstream: up, MaxInFlight: 1, Timeout: 5 * time.Second})
	go r.LookupAddr(context.Background(), netip.MustParseAddr("10.0.0.66"))
	time.Sleep(50 * time.Millisecond)
	if _, err := r.LookupAddr(context.Background(), netip.MustParseAddr("10.0.0.7")); !errors.Is(err, ErrBusy) {
		t.Fatalf("want ErrBusy, got %v", err)
	}
	close(up.release)
}

func TestHostsFile(t *testing.T) {
	h := ParseHostsFile("127.0.0.1 localhost\n10.0.0.1 a.example a # c\n10.0.0.2 a.example\n::1 ip6-localhost\n")
	n, _ := h.LookupAddr(context.Background(), netip.MustParseAddr("10.0.0.1"))
	as, _ := h.LookupHost(context.Background(), "A.EXAMPLE")
	if len(n) != 1 || n[0] != "a.example" || len(as) != 2 {
		t.Fatalf("got %v %v", n, as)
	}
}

// A "/path" pattern file is watched too: editing it changes decisions.
func TestWatcherPatternFile(t *testing.T) {
	dir := t.TempDir()
	allow, deny, pat := filepath.Join(dir, "hosts.allow"), filepath.Join(dir, "hosts.deny"), filepath.Join(dir, "blocked")
	os.WriteFile(pat, []byte("127.0.0.5\n"), 0o644)
	os.WriteFile(deny, []byte("sshd: "+pat+"\n"), 0o644)
	w, err := Open(allow, deny, Options{PollInterval: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if verdict(w, "127.0.0.5") != hosts.Denied || verdict(w, "127.0.0.6") != hosts.Granted || w.NeedsNames() {
		t.Fatal("initial table wrong")
	}
	os.WriteFile(pat, []byte("127.0.0.6 .example\n"), 0o644)
	waitFor(t, "pattern file edit", func() bool { return verdict(w, "127.0.0.6") == hosts.Denied })
	if !w.NeedsNames() {
		t.Fatal("NeedsNames false with a .domain pattern")
	}
	// A pattern file that disappears is an error; the old table stays.
	var got atomic.Value
	w2, _ := Open(allow, deny, Options{PollInterval: 50 * time.Millisecond, OnError: func(err error) { got.Store(err.Error()) }})
	defer w2.Close()
	os.Remove(pat)
	waitFor(t, "OnError", func() bool { return got.Load() != nil })
	if verdict(w2, "127.0.0.6") != hosts.Denied {
		t.Fatal("a missing pattern file opened access")
	}
}

// probeDenied checks, every step for span, that client stays denied.
func probeDenied(t *testing.T, w *Watcher, client string, span, step time.Duration) {
	t.Helper()
	for end, n := time.Now().Add(span), 0; time.Now().Before(end) && n < 10000; n++ {
		if v := verdict(w, client); v != hosts.Denied {
			t.Fatalf("%s %v during an in-place edit", client, v)
		}
		time.Sleep(step)
	}
}

// TestWatcherInPlaceRewrite: ": > hosts.deny; sleep 0.2; printf ... >>
// hosts.deny" (issue 13, item 3). The empty file in between must never be
// the table: an empty hosts.deny grants everything.
func TestWatcherInPlaceRewrite(t *testing.T) {
	dir := t.TempDir()
	allow, deny := filepath.Join(dir, "hosts.allow"), filepath.Join(dir, "hosts.deny")
	os.WriteFile(deny, []byte("sshd: 127.0.0.2\n"), 0o644)
	var reloads atomic.Int32
	w, err := Open(allow, deny, Options{PollInterval: 50 * time.Millisecond, OnReload: func(*hosts.Table) { reloads.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	for _, gap := range []time.Duration{200 * time.Millisecond, 600 * time.Millisecond} {
		if err := os.Truncate(deny, 0); err != nil {
			t.Fatal(err)
		}
		probeDenied(t, w, "127.0.0.2", gap, 10*time.Millisecond)
		f, err := os.OpenFile(deny, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString("sshd: 127.0.0.2\n")
		f.Close()
		probeDenied(t, w, "127.0.0.2", 1500*time.Millisecond, 10*time.Millisecond)
	}
}

// TestWatcherShrinkSettles: an edit that removes a rule in place applies
// once the file has stayed unchanged for ShrinkSettle, not before, and
// says what changed. The delay is what such an edit costs.
func TestWatcherShrinkSettles(t *testing.T) {
	dir := t.TempDir()
	allow, deny := filepath.Join(dir, "hosts.allow"), filepath.Join(dir, "hosts.deny")
	os.WriteFile(deny, []byte("sshd: 127.0.0.2\nsshd: 127.0.0.3\n"), 0o644)
	var warning atomic.Value
	w, err := Open(allow, deny, Options{OnWarning: func(m string) { warning.Store(m) }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	start := time.Now()
	os.WriteFile(deny, []byte("sshd: 127.0.0.2\n"), 0o644)
	waitFor(t, "the shorter file to apply", func() bool { return verdict(w, "127.0.0.3") == hosts.Granted })
	took := time.Since(start)
	t.Logf("a rule removed in place was in force after %v (settle %v)", took, DefaultShrinkSettle)
	if took < DefaultShrinkSettle || took > DefaultShrinkSettle+700*time.Millisecond {
		t.Fatalf("applied after %v, want %v to %v", took, DefaultShrinkSettle, DefaultShrinkSettle+700*time.Millisecond)
	}
	want := "hosts.deny: shorter than the version in force (16 bytes, was 32); unchanged for 1s, now in force: " + allow +
		" 0 rules (was 0), " + deny + " 1 rules (was 2)"
	if m, _ := warning.Load().(string); m != deny[:len(deny)-len("hosts.deny")]+want {
		t.Fatalf("warning %q", m)
	}
	// Adding a rule applies at once.
	start = time.Now()
	os.WriteFile(deny, []byte("sshd: 127.0.0.2\nsshd: 127.0.0.4\n"), 0o644)
	waitFor(t, "the longer file to apply", func() bool { return verdict(w, "127.0.0.4") == hosts.Denied })
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("a longer file took %v", took)
	}
}

// TestWatcherCutLine: a last line without its newline is a write cut
// mid-line ("sshd: ALL" of "sshd: ALL EXCEPT 127.0.0.5" in hosts.allow
// grants 127.0.0.5); it waits to settle like a shorter file.
func TestWatcherCutLine(t *testing.T) {
	dir := t.TempDir()
	allow, deny := filepath.Join(dir, "hosts.allow"), filepath.Join(dir, "hosts.deny")
	os.WriteFile(deny, []byte("ALL: ALL\n"), 0o644)
	w, err := Open(allow, deny, Options{PollInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	os.WriteFile(allow, []byte("sshd: ALL"), 0o644)
	probeDenied(t, w, "127.0.0.5", 400*time.Millisecond, 10*time.Millisecond)
	f, _ := os.OpenFile(allow, os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString(" EXCEPT 127.0.0.5\n")
	f.Close()
	waitFor(t, "the completed line", func() bool { return verdict(w, "127.0.0.6") == hosts.Granted })
	probeDenied(t, w, "127.0.0.5", 1500*time.Millisecond, 20*time.Millisecond)
}

// TestWatcherRemovedFile: deleting hosts.deny keeps its rules in force
// and says so, naming the file; a new file applies again.
func TestWatcherRemovedFile(t *testing.T) {
	dir := t.TempDir()
	allow, deny := filepath.Join(dir, "hosts.allow"), filepath.Join(dir, "hosts.deny")
	os.WriteFile(deny, []byte("sshd: 127.0.0.2\n"), 0o644)
	var errs atomic.Value
	w, err := Open(allow, deny, Options{PollInterval: 50 * time.Millisecond, OnError: func(e error) { errs.Store(e.Error()) }})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	os.Remove(deny)
	waitFor(t, "OnError", func() bool { return errs.Load() != nil })
	if m := errs.Load().(string); !strings.Contains(m, deny+": removed; its rules stay in force") {
		t.Fatalf("error %q", m)
	}
	probeDenied(t, w, "127.0.0.2", 1500*time.Millisecond, 20*time.Millisecond)
	os.WriteFile(deny, []byte("sshd: 127.0.0.3\n"), 0o644)
	waitFor(t, "the new file", func() bool { return verdict(w, "127.0.0.3") == hosts.Denied })
}

// TestWatcherFIFO: hosts.deny replaced by a symlink to a FIFO is refused
// without blocking (open(2) of a FIFO waits for a writer): the error names
// the file, Reload and Close return, later edits apply. A symlink to a
// regular file still works.
func TestWatcherFIFO(t *testing.T) {
	dir := t.TempDir()
	allow, deny := filepath.Join(dir, "hosts.allow"), filepath.Join(dir, "hosts.deny")
	fifo, real := filepath.Join(dir, "fifo"), filepath.Join(dir, "real")
	if err := unix.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(real, []byte("sshd: 127.0.0.2\n"), 0o644)
	os.Symlink(fifo, deny)
	if _, err := Open(allow, deny, Options{}); err == nil || err.Error() != deny+": not a regular file (a FIFO); refused" {
		t.Fatalf("Open on a FIFO: %v", err)
	}
	os.Remove(deny)
	os.Symlink(real, deny)
	var errs atomic.Value
	w, err := Open(allow, deny, Options{PollInterval: 50 * time.Millisecond, OnError: func(e error) { errs.Store(e.Error()) }})
	if err != nil {
		t.Fatalf("symlink to a regular file: %v", err)
	}
	os.Remove(deny)
	os.Symlink(fifo, deny)
	waitFor(t, "OnError", func() bool { return errs.Load() != nil })
	if m := errs.Load().(string); !strings.Contains(m, deny+": not a regular file (a FIFO)") {
		t.Fatalf("error %q", m)
	}
	done := make(chan error, 1)
	go func() { done <- w.Reload() }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Reload blocked on the FIFO")
	}
	if verdict(w, "127.0.0.2") != hosts.Denied {
		t.Fatal("the FIFO replaced the table")
	}
	os.Remove(deny)
	os.WriteFile(deny, []byte("sshd: 127.0.0.3\n"), 0o644)
	waitFor(t, "a later edit", func() bool { return verdict(w, "127.0.0.3") == hosts.Denied })
	go func() { done <- w.Close() }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Close blocked")
	}
}
