package acl

import (
	"container/list"
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/hinetd/hinetd/hosts"
)

// ResolverOptions tunes a Resolver. Zero fields take the defaults.
type ResolverOptions struct {
	Upstream    hosts.Resolver // default: the system resolver (net.DefaultResolver)
	Size        int            // cached answers, default 4096
	TTL         time.Duration  // answer lifetime, default 60 s
	NegativeTTL time.Duration  // lifetime of a failed lookup, default 10 s
	Timeout     time.Duration  // per upstream lookup, default 5 s
	MaxInFlight int            // distinct lookups at once, default 256
}

// ErrBusy is returned when MaxInFlight lookups are already running: the
// name is then "unknown" (as after a DNS failure) instead of queueing.
var ErrBusy = errors.New("acl: too many name lookups in flight")

// Resolver is a hosts.Resolver with a bounded LRU cache, a timeout per
// lookup and one upstream lookup per key at a time (callers asking for
// the same key wait for it; a caller whose context ends stops waiting, the
// lookup goes on for the others).
type Resolver struct {
	o        ResolverOptions
	mu       sync.Mutex
	lru      *list.List // front = most recent; values *entry
	byKey    map[string]*list.Element
	inflight map[string]*call
	now      func() time.Time
}

type entry struct {
	key     string
	names   []string
	addrs   []netip.Addr
	err     error
	expires time.Time
}

type call struct {
	done chan struct{}
	e    *entry
}

// NewResolver returns a cached resolver.
func NewResolver(o ResolverOptions) *Resolver {
	if o.Upstream == nil {
		o.Upstream = systemResolver{}
	}
	if o.Size <= 0 {
		o.Size = 4096
	}
	if o.TTL <= 0 {
		o.TTL = time.Minute
	}
	if o.NegativeTTL <= 0 {
		o.NegativeTTL = 10 * time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 256
	}
	return &Resolver{o: o, lru: list.New(), byKey: map[string]*list.Element{},
		inflight: map[string]*call{}, now: time.Now}
}

// LookupAddr implements hosts.Resolver.
func (r *Resolver) LookupAddr(ctx context.Context, a netip.Addr) ([]string, error) {
	e, err := r.get(ctx, "a"+a.String(), func(ctx context.Context) *entry {
		n, err := r.o.Upstream.LookupAddr(ctx, a)
		return &entry{names: n, err: err}
	})
	if err != nil {
		return nil, err
	}
	return e.names, e.err
}

// LookupHost implements hosts.Resolver.
func (r *Resolver) LookupHost(ctx context.Context, name string) ([]netip.Addr, error) {
	e, err := r.get(ctx, "h"+name, func(ctx context.Context) *entry {
		a, err := r.o.Upstream.LookupHost(ctx, name)
		return &entry{addrs: a, err: err}
	})
	if err != nil {
		return nil, err
	}
	return e.addrs, e.err
}

// LookupCanonical implements hosts.CanonicalResolver when the upstream
// does (the system resolver does, through LookupCNAME); otherwise it
// returns an error and the canonical name check is skipped.
func (r *Resolver) LookupCanonical(ctx context.Context, name string) (string, error) {
	cr, ok := r.o.Upstream.(hosts.CanonicalResolver)
	if !ok {
		return "", errNoCanonical
	}
	e, err := r.get(ctx, "c"+name, func(ctx context.Context) *entry {
		c, err := cr.LookupCanonical(ctx, name)
		return &entry{names: []string{c}, err: err}
	})
	if err != nil {
		return "", err
	}
	if e.err != nil {
		return "", e.err
	}
	return e.names[0], nil
}

var errNoCanonical = errors.New("acl: upstream resolver has no canonical names")

// Len returns the number of cached answers.
func (r *Resolver) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lru.Len()
}

func (r *Resolver) get(ctx context.Context, key string, fetch func(context.Context) *entry) (*entry, error) {
	r.mu.Lock()
	if el, ok := r.byKey[key]; ok {
		e := el.Value.(*entry)
		if r.now().Before(e.expires) {
			r.lru.MoveToFront(el)
			r.mu.Unlock()
			return e, nil
		}
		r.lru.Remove(el)
		delete(r.byKey, key)
	}
	c, ok := r.inflight[key]
	if !ok {
		if len(r.inflight) >= r.o.MaxInFlight {
			r.mu.Unlock()
			return nil, ErrBusy
		}
		c = &call{done: make(chan struct{})}
		r.inflight[key] = c
		go r.run(key, c, fetch)
	}
	r.mu.Unlock()
	select {
	case <-c.done:
		return c.e, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run does one upstream lookup with its own timeout (not the first
// caller's context: others may be waiting for the same answer).
func (r *Resolver) run(key string, c *call, fetch func(context.Context) *entry) {
	ctx, cancel := context.WithTimeout(context.Background(), r.o.Timeout)
	e := fetch(ctx)
	cancel()
	e.key = key
	ttl := r.o.TTL
	if e.err != nil {
		ttl = r.o.NegativeTTL
	}
	r.mu.Lock()
	e.expires = r.now().Add(ttl)
	c.e = e
	delete(r.inflight, key)
	r.byKey[key] = r.lru.PushFront(e)
	for r.lru.Len() > r.o.Size {
		old := r.lru.Back()
		r.lru.Remove(old)
		delete(r.byKey, old.Value.(*entry).key)
	}
	r.mu.Unlock()
	close(c.done)
}

// systemResolver adapts net.DefaultResolver.
type systemResolver struct{}

func (systemResolver) LookupAddr(ctx context.Context, a netip.Addr) ([]string, error) {
	return net.DefaultResolver.LookupAddr(ctx, a.String())
}

func (systemResolver) LookupHost(ctx context.Context, name string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", name)
}

func (systemResolver) LookupCanonical(ctx context.Context, name string) (string, error) {
	return net.DefaultResolver.LookupCNAME(ctx, name)
}
