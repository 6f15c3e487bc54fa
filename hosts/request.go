package hosts

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
)

// Resolver looks host names and addresses up for name patterns. The hosts
// package never resolves anything itself; a table with address patterns
// only never calls it.
type Resolver interface {
	// LookupAddr returns the names for addr (PTR); the first is used.
	LookupAddr(ctx context.Context, addr netip.Addr) ([]string, error)
	// LookupHost returns the addresses of a host name (forward lookup).
	LookupHost(ctx context.Context, name string) ([]netip.Addr, error)
}

// CanonicalResolver is a Resolver that also knows a name's canonical name
// (the first name of its hosts file line, or the end of its CNAME chain).
// When the Resolver given to a decision implements it, a reverse name whose
// canonical name differs is paranoid, as libwrap's "host name/name
// mismatch" check makes it (except for "localhost").
type CanonicalResolver interface {
	Resolver
	LookupCanonical(ctx context.Context, name string) (string, error)
}

// Ident looks up the user name of the client of a connection (RFC 931,
// RFC 1413). It is called only when a user@host pattern's host part has
// matched, or for the %u and %c expansions.
type Ident interface {
	LookupUser(ctx context.Context, client, server netip.AddrPort) (string, error)
}

// Netgroups answers whether a host is a member of an NIS netgroup
// (innetgr(3) with no user and the default domain).
type Netgroups interface {
	InNetgroup(group, host string) bool
}

// Request describes one connection or datagram to decide on. The zero
// value is a request from an unknown client to an unknown daemon; with no
// Resolver, names are "unknown", with no Ident, the user is "unknown".
type Request struct {
	Daemon     string     // process name as written in rules (argv[0] or service name)
	ServerAddr netip.Addr // local address; invalid if not known
	ServerPort uint16
	ClientAddr netip.Addr // peer address; IPv4-mapped IPv6 is matched as IPv4
	ClientPort uint16
	PID        int // daemon process id, for %p

	// Names and user: "" means not looked up yet (then looked up through
	// Resolver or Ident when a pattern or expansion needs them). Set them
	// to Unknown to forbid a lookup, or to a name that is already verified.
	ClientName string
	ServerName string
	User       string

	Resolver  Resolver
	Ident     Ident
	Netgroups Netgroups
}

// VerifiedName returns the host name of addr as libwrap's sock_hostname
// decides it: the reverse lookup's first name if a forward lookup of that
// name gives addr back; "paranoid" if it does not (or the forward lookup
// fails, or the "name" is a numeric address: a PTR record pretending to be
// an address, or a CanonicalResolver gives another canonical name); "unknown" when there is no address, no resolver or no
// reverse name.
func VerifiedName(ctx context.Context, r Resolver, addr netip.Addr) string {
	addr = addr.Unmap().WithZone("")
	if r == nil || !addr.IsValid() {
		return Unknown
	}
	names, err := r.LookupAddr(ctx, addr)
	if err != nil || len(names) == 0 {
		return Unknown
	}
	name := strings.TrimSuffix(names[0], ".")
	if name == "" {
		return Unknown
	}
	if _, err := netip.ParseAddr(name); err == nil {
		return Paranoid
	}
	addrs, err := r.LookupHost(ctx, name)
	if err != nil {
		return Paranoid
	}
	if cr, ok := r.(CanonicalResolver); ok {
		c, err := cr.LookupCanonical(ctx, name)
		c = strings.TrimSuffix(c, ".")
		if err == nil && c != "" && !equalFold(c, name) && !equalFold(name, "localhost") {
			return Paranoid
		}
	}
	for _, a := range addrs {
		if a.Unmap() == addr {
			return name
		}
	}
	return Paranoid
}

// hostKnown is libwrap's HOSTNAME_KNOWN.
func hostKnown(name string) bool {
	return !equalFold(name, Unknown) && !equalFold(name, Paranoid)
}

// AddrString formats an address as glibc's inet_ntop does, which is the
// text libwrap matches string patterns against and expands for %a: IPv4
// dotted quad, IPv6 in RFC 5952 form except that IPv4-compatible addresses
// (::/96) end in a dotted quad. IPv4-mapped addresses are shown as IPv4
// (libwrap strips "::ffff:" before matching). An invalid address is
// "unknown".
func AddrString(a netip.Addr) string {
	a = a.Unmap()
	if !a.IsValid() {
		return Unknown
	}
	if a.Is6() {
		b := a.As16()
		compat := true
		for _, x := range b[:12] {
			if x != 0 {
				compat = false
				break
			}
		}
		if compat && (b[12] != 0 || b[13] != 0) {
			return "::" + strconv.Itoa(int(b[12])) + "." + strconv.Itoa(int(b[13])) + "." +
				strconv.Itoa(int(b[14])) + "." + strconv.Itoa(int(b[15]))
		}
		return a.WithZone("").String()
	}
	return a.String()
}

// hostInfo is one end of the connection as patterns see it.
type hostInfo struct {
	addr netip.Addr // unmapped
	text string     // AddrString(addr), "" until needed
	name string     // "" until looked up
}

// addrText is the address as libwrap's string patterns see it, formatted
// once and only when a string pattern needs it.
func (h *hostInfo) addrText() string {
	if h.text == "" {
		h.text = AddrString(h.addr)
	}
	return h.text
}

// evalCtx carries the lazily evaluated facts of one decision. It holds
// copies, not a pointer to the Request, so that a decision that needs no
// lookup stays on the stack (no allocation on the accept path).
type evalCtx struct {
	ctx            context.Context
	daemon         string
	resolver       Resolver
	ident          Ident
	netgroups      Netgroups
	rawClient      netip.AddrPort // as given, for Ident
	rawServer      netip.AddrPort
	client, server hostInfo
	user           string
	pid            int
	noLookup       bool // DecideNoLookup: give up instead of looking up
	aborted        bool // a lookup was needed under noLookup
}

func newEvalCtx(ctx context.Context, req *Request) evalCtx {
	return evalCtx{
		ctx:       ctx,
		daemon:    req.Daemon,
		resolver:  req.Resolver,
		ident:     req.Ident,
		netgroups: req.Netgroups,
		rawClient: netip.AddrPortFrom(req.ClientAddr, req.ClientPort),
		rawServer: netip.AddrPortFrom(req.ServerAddr, req.ServerPort),
		// Zones go: libwrap's inet_ntop text has none, and netip's
		// Prefix.Contains never matches a zoned address (a link-local
		// client would slip past "[fe80::]/10" in hosts.deny).
		client: hostInfo{addr: req.ClientAddr.Unmap().WithZone(""), name: req.ClientName},
		server: hostInfo{addr: req.ServerAddr.Unmap().WithZone(""), name: req.ServerName},
		user:   req.User,
		pid:    req.PID,
	}
}

// store writes what the evaluation looked up back into req.
func (e *evalCtx) store(req *Request) {
	req.ClientName, req.ServerName, req.User = e.client.name, e.server.name, e.user
}

// hostName returns the verified name of one end, looking it up once.
func (e *evalCtx) hostName(h *hostInfo) string {
	if h.name == "" {
		if !h.addr.IsValid() || e.resolver == nil {
			h.name = Unknown
		} else if e.noLookup {
			e.aborted = true
			return Unknown
		} else {
			h.name = VerifiedName(e.ctx, e.resolver, h.addr)
		}
	}
	return h.name
}

// user returns the client user name, looking it up once.
func (e *evalCtx) lookupUser() string {
	if e.user == "" {
		if e.ident == nil || !e.client.addr.IsValid() {
			e.user = Unknown
		} else if e.noLookup {
			e.aborted = true
			return Unknown
		} else {
			u, err := e.ident.LookupUser(e.ctx, e.rawClient, e.rawServer)
			if err != nil || u == "" {
				u = Unknown
			}
			e.user = u
		}
	}
	return e.user
}

// matchList - list_match: match a list of patterns with exceptions.
// Under DecideNoLookup a needed lookup aborts the evaluation: every
// function then returns false and the caller checks e.aborted.
func (e *evalCtx) matchList(l *list, server bool) bool {
	for i := range l.items {
		var m bool
		if server {
			m = e.matchServer(&l.items[i])
		} else {
			m = e.matchClient(&l.items[i])
		}
		if m {
			if l.except == nil {
				return true
			}
			m := e.matchList(l.except, server)
			return !m && !e.aborted
		}
		if e.aborted {
			return false
		}
	}
	return false
}

// matchServer - server_match: daemon or daemon@host against the request.
func (e *evalCtx) matchServer(it *item) bool {
	if it.port != 0 {
		if e.rawServer.Port() != it.port {
			return false
		}
	} else if !it.name.match(e.daemon) {
		return false
	}
	return it.host == nil || e.matchHost(it.host, &e.server)
}

// matchClient - client_match: host or user@host against the request. The
// user is looked up only when the host part matched.
func (e *evalCtx) matchClient(it *item) bool {
	if !e.matchHost(it.host, &e.client) {
		return false
	}
	if !it.hasName {
		return true
	}
	u := e.lookupUser()
	return !e.aborted && it.name.match(u)
}

// matchHost - host_match: one host pattern against one end.
func (e *evalCtx) matchHost(h *hostPat, hi *hostInfo) bool {
	switch h.kind {
	case hAll:
		return true
	case hKnown:
		if !hi.addr.IsValid() {
			return false
		}
		n := e.hostName(hi)
		return !e.aborted && hostKnown(n)
	case hLocal:
		n := e.hostName(hi)
		return !e.aborted && strings.IndexByte(n, '.') < 0 && hostKnown(n)
	case hString:
		if h.str.match(hi.addrText()) {
			return true
		}
		if !h.nameToo {
			return false
		}
		n := e.hostName(hi)
		return !e.aborted && h.str.match(n)
	case hPrefix:
		return hi.addr.IsValid() && h.prefix.Contains(hi.addr)
	case hNetMask:
		return hi.addr.Is4() && v4u(hi.addr)&h.mask == h.net
	case hNetgroup:
		n := e.hostName(hi)
		return !e.aborted && e.netgroups != nil && e.netgroups.InNetgroup(h.group, n)
	case hFile:
		for _, s := range h.sub {
			if e.matchHost(s, hi) {
				return true
			}
			if e.aborted {
				return false
			}
		}
	}
	return false
}

// matchRule is the slow path: a rule against the request, in libwrap's
// order (daemon list first, then client list).
func (e *evalCtx) matchRule(r *Rule) bool {
	return e.matchList(r.daemons, true) && e.matchList(r.clients, false)
}
