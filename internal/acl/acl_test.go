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
