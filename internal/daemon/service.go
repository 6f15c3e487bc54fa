package daemon

import (
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hinetd/hinetd/internal/acl"
	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/limits"
	"github.com/hinetd/hinetd/policy"
)

// service is one configured service as the daemon runs it: the immutable
// config line, its compiled spawn spec, and the counters that live as long
// as its listener (they carry over a reload that keeps the listener).
type service struct {
	cfg      *config.Service
	spec     *policy.Spec // nil for built-ins
	maxChild int32        // 0 = unlimited
	backlog  int          // listen(2) queue length (stream services)
	lim      limits.ServiceLimits
	state    *svcState
	// filter is a wait-mode service's socket filter (waitacl.go), nil
	// for none; protection says how its hosts rules are enforced.
	filter     *acl.Filter
	protection string
}

// svcState is what a reload must not reset: a kept listener's live
// children still count against the new configuration's limits.
type svcState struct {
	children atomic.Int32
	wake     chan struct{} // a child exited: capacity may be back

	spawnMu sync.Mutex
	spawner spawner // started on first use; replaced when the spec changes
	specKey string  // Spec.Hash of the running spawner
	derived derivedSpawners

	atLimit atomic.Bool // logged "at max-child" for this episode

	// waitConn is the running server of a wait service, which holds the
	// listening socket: nil when none runs (stopWait).
	waitConn atomic.Pointer[conn]

	lim        *limits.Service // rate and per-source limits; kept across reloads
	pauseUntil atomic.Int64    // UnixNano end of the logged pause; 0 = none
}

func newSvcState(lim *limits.Service) *svcState {
	return &svcState{wake: make(chan struct{}, 1), lim: lim}
}

func (st *svcState) childExited() {
	st.children.Add(-1)
	select {
	case st.wake <- struct{}{}:
	default:
	}
}

// conn is one live child (or a connection being started), by connection id.
type conn struct {
	id       uint64
	ticket   limits.Ticket
	spec     *policy.Spec   // set when a rule's options change how this server starts
	oneShot  bool           // a spawn/twist command: its spawner serves this one child
	severity audit.Severity // from the deciding rule's severity option
	facility audit.Facility
	svc      *service
	client   netip.AddrPort
	local    netip.AddrPort
	start    time.Time
	pid      atomic.Int32
	done     chan struct{} // closed when the child is gone (wait services wait on it)
	once     sync.Once
}

type connTable struct {
	mu sync.Mutex
	m  map[uint64]*conn
}

func (t *connTable) add(c *conn) {
	t.mu.Lock()
	t.m[c.id] = c
	t.mu.Unlock()
}

func (t *connTable) get(id uint64) *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.m[id]
}

func (t *connTable) remove(id uint64) *conn {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.m[id]
	delete(t.m, id)
	return c
}

func (t *connTable) each(f func(*conn)) {
	t.mu.Lock()
	cs := make([]*conn, 0, len(t.m))
	for _, c := range t.m {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	for _, c := range cs {
		f(c)
	}
}

// listener is one bound socket. It outlives reloads that keep its key; the
// service it serves is swapped atomically.
type listener struct {
	key  string
	fd   int
	file *os.File // registered with Go's poller
	raw  syscall.RawConn
	svc  atomic.Pointer[service]
	done chan struct{}
	wg   sync.WaitGroup
	// stopped is set when the loop returns: before close, a dead loop
	// (the watchdog stops pinging systemd).
	stopped atomic.Bool

	backoff  limits.Backoff // accept's back-off after EMFILE & co (acceptError)
	dgramBuf []byte         // receive buffer of a datagram built-in's loop
}

func newListener(key string, fd int, s *service) (*listener, error) {
	f := os.NewFile(uintptr(fd), key)
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	l := &listener{key: key, fd: fd, file: f, raw: raw, done: make(chan struct{})}
	l.svc.Store(s)
	return l, nil
}

// close stops the loop and closes the socket. A wait-service child that
// holds the socket keeps its own copy.
func (l *listener) close() {
	select {
	case <-l.done:
		return
	default:
	}
	close(l.done)
	l.file.Close() // wakes a loop blocked in the poller
	l.wg.Wait()
}

func (l *listener) closed() bool {
	select {
	case <-l.done:
		return true
	default:
		return false
	}
}
