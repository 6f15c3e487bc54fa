package hosts

import (
	"errors"
	"fmt"
	"net/netip"
)

// AddrRule is one rule that can apply to a service, reduced to what a
// packet filter knows about a client: its address. A wait-mode stream
// server accepts its own connections, so no decision can be made per
// connection in user space; the rules that can apply to it must be
// enforced before the server sees the client.
type AddrRule struct {
	File    string
	Line    int
	Text    string
	Verdict Verdict   // Granted or Denied, after the rule's allow/deny option
	Clients *AddrList // the client list
}

// AddrList is a client list of address patterns: a client matches when
// it matches one of Items and does not match Except (list_match, with the
// same right-nested EXCEPT as libwrap).
type AddrList struct {
	Items  []AddrPattern
	Except *AddrList // nil: no exceptions
}

// AddrPattern is one address pattern. The zero value matches nothing.
type AddrPattern struct {
	All    bool         // ALL: every client, with an address or not
	Prefix netip.Prefix // n.n.n.n, n.n., n.n.n.n/len, [v6], [v6]/len
	// Net and Mask: an IPv4 net/mask whose mask is not contiguous (Mask
	// is 0 otherwise).
	Net, Mask uint32
}

// Match - host_match for an address pattern.
func (p AddrPattern) Match(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case p.All:
		return true
	case p.Mask != 0:
		return a.Is4() && v4u(a)&p.Mask == p.Net
	case p.Prefix.IsValid():
		return a.IsValid() && p.Prefix.Contains(a)
	}
	return false
}

// Match - list_match for an address list.
func (l *AddrList) Match(a netip.Addr) bool {
	for _, p := range l.Items {
		if p.Match(a) {
			return l.Except == nil || !l.Except.Match(a)
		}
	}
	return false
}

// DecideAddr is the decision AddressRules' rules make for a client
// address: the first matching rule, else the default grant (nil rule).
func DecideAddr(rules []AddrRule, a netip.Addr) (Verdict, *AddrRule) {
	for i := range rules {
		if rules[i].Clients.Match(a) {
			return rules[i].Verdict, &rules[i]
		}
	}
	return Granted, nil
}

// ErrNotAddressOnly wraps the errors of AddressRules.
var ErrNotAddressOnly = errors.New("needs more than the client address")

// AddressRules returns, hosts.allow's first and in file order, the rules
// that can decide a connection to daemon on server (a server address that
// is not valid stands for a wildcard listener), each reduced to client
// address patterns, so that the decision for any client is
// DecideAddr(rules, client address) - the same as Decide would make.
//
// A rule that can apply but whose decision needs something a packet
// filter cannot know is an error naming its file:line: a host name (a
// name, .domain, KNOWN, LOCAL, UNKNOWN, PARANOID, a netgroup, an address
// written as text to match, such as "10.0.0.*"), the user (user@host), the
// server's address on a wildcard listener (daemon@host), or an option
// (spawn, twist, banners and the rest need the connection; only allow and
// deny, which set the verdict, are taken). Every such rule is reported
// (errors.Join), each wrapping ErrNotAddressOnly.
func (t *Table) AddressRules(daemon string, server netip.AddrPort) ([]AddrRule, error) {
	if t == nil {
		return nil, nil
	}
	var out []AddrRule
	var errs []error
	for _, f := range []struct {
		set *ruleSet
		v   Verdict
	}{{&t.allow, Granted}, {&t.deny, Denied}} {
		for _, r := range f.set.rules {
			applies, err := daemonListApplies(r.daemons, daemon, server)
			if err == nil && !applies {
				continue
			}
			var clients *AddrList
			if err == nil {
				clients, err = addrList(r.clients)
			}
			if err == nil {
				err = addrOptions(&r.Options)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s:%d: %w: %q %v", r.File, r.Line, ErrNotAddressOnly, r.Text, err))
				continue
			}
			v := f.v
			switch {
			case r.Options.Allow:
				v = Granted
			case r.Options.Deny:
				v = Denied
			}
			out = append(out, AddrRule{File: r.File, Line: r.Line, Text: r.Text, Verdict: v, Clients: clients})
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// daemonListApplies - list_match over a daemon list for one daemon name
// and server, without lookups. It reports an error when the answer
// depends on what is not known here: the server's host name, or its
// address on a wildcard listener.
func daemonListApplies(l *list, daemon string, server netip.AddrPort) (bool, error) {
	for i := range l.items {
		it := &l.items[i]
		m, err := daemonItemApplies(it, daemon, server)
		if err != nil {
			return false, err
		}
		if m {
			if l.except == nil {
				return true, nil
			}
			m, err := daemonListApplies(l.except, daemon, server)
			return !m, err
		}
	}
	return false, nil
}

func daemonItemApplies(it *item, daemon string, server netip.AddrPort) (bool, error) {
	if it.port != 0 {
		if server.Port() != it.port {
			return false, nil
		}
	} else if !it.name.match(daemon) {
		return false, nil
	}
	if it.host == nil {
		return true, nil
	}
	a := server.Addr()
	if !a.IsValid() || a.IsUnspecified() {
		if it.host.kind == hAll {
			return true, nil
		}
		return false, fmt.Errorf("(server pattern %q: the service listens on every address)", it.text)
	}
	p, err := addrPattern(it.host)
	if err != nil || len(p) != 1 {
		return false, fmt.Errorf("(server pattern %q needs the server's host name)", it.text)
	}
	return p[0].Match(a), nil
}

// addrList reduces a client list to address patterns.
func addrList(l *list) (*AddrList, error) {
	out := &AddrList{}
	for i := range l.items {
		it := &l.items[i]
		if it.hasName {
			return nil, fmt.Errorf("(client pattern %q needs the client's user name)", it.text)
		}
		ps, err := addrPattern(it.host)
		if err != nil {
			return nil, fmt.Errorf("(client pattern %q %v)", it.text, err)
		}
		out.Items = append(out.Items, ps...)
	}
	if l.except != nil {
		ex, err := addrList(l.except)
		if err != nil {
			return nil, err
		}
		out.Except = ex
	}
	return out, nil
}

// addrPattern reduces one host pattern; a pattern file gives one pattern
// per entry.
func addrPattern(h *hostPat) ([]AddrPattern, error) {
	switch h.kind {
	case hAll:
		return []AddrPattern{{All: true}}, nil
	case hPrefix:
		return []AddrPattern{{Prefix: h.prefix}}, nil
	case hNetMask:
		return []AddrPattern{{Net: h.net, Mask: h.mask}}, nil
	case hFile:
		var out []AddrPattern
		for _, s := range h.sub {
			ps, err := addrPattern(s)
			if err != nil {
				return nil, fmt.Errorf("in %s: %v", h.path, err)
			}
			out = append(out, ps...)
		}
		return out, nil
	case hString:
		if !h.nameToo {
			return nil, errors.New("matches the address as text")
		}
	case hNetgroup:
		return nil, errors.New("needs the client's host name (netgroup)")
	}
	return nil, errors.New("needs the client's host name")
}

// addrOptions refuses options other than allow and deny: they act on the
// connection, which only the server sees.
func addrOptions(o *Options) error {
	for _, op := range o.List {
		if op.Name != "allow" && op.Name != "deny" {
			return fmt.Errorf("(option %q acts on the connection)", op.Name)
		}
	}
	return nil
}
