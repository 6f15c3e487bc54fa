package xinetd

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// rules are the hosts.allow and hosts.deny lines of one daemon name.
type rules struct{ allow, deny string }

// entry is one only_from/no_access item as a libwrap pattern, with its
// network when it is an address (names have none).
type entry struct {
	pattern string
	net     netip.Prefix
}

// hostsRules translates only_from and no_access, xinetd's rules: with
// neither, everyone; with only_from, only those it lists ("only_from ="
// with no value: no one); a no_access match denies; when an address is
// in both, the more specific entry decides (only_from 10.0.0.0 with
// no_access 10.1.2.3 denies 10.1.2.3; only_from 10.1.2.3 with no_access
// 10.0.0.0 grants it). In libwrap's terms (hosts_access(5)): one
// hosts.allow rule per only_from entry, EXCEPT the no_access entries at
// least as specific inside it, and "daemon: ALL" in hosts.deny; or, with
// no_access only, "daemon: <no_access>" in hosts.deny.
func hostsRules(daemon string, vals map[string]*value) (rules, []Note) {
	var notes []Note
	list := func(n string) ([]entry, bool) {
		v := vals[n]
		if v == nil {
			return nil, false
		}
		var out []entry
		for _, s := range v.vals {
			es, err := translateAddr(s)
			if err != "" {
				notes = append(notes, Note{Pos: v.attr.Pos(), Attr: n, Untranslated: true,
					Msg: fmt.Sprintf("%q: %s; the entry is left out, which for only_from denies what it would have granted", s, err)})
				continue
			}
			out = append(out, es...)
		}
		return out, true
	}
	only, hasOnly := list("only_from")
	noAccess, _ := list("no_access")
	var r rules
	switch {
	case hasOnly:
		var b strings.Builder
		for _, o := range only {
			var except []string
			for _, n := range noAccess {
				if !n.net.IsValid() || !o.net.IsValid() ||
					(o.net.Overlaps(n.net) && n.net.Bits() >= o.net.Bits()) {
					except = append(except, n.pattern)
				}
			}
			fmt.Fprintf(&b, "%s: %s", daemon, o.pattern)
			if len(except) > 0 {
				fmt.Fprintf(&b, " EXCEPT %s", strings.Join(except, " "))
			}
			b.WriteString("\n")
		}
		r.allow = b.String()
		r.deny = daemon + ": ALL\n"
	case len(noAccess) > 0:
		pats := make([]string, len(noAccess))
		for i, n := range noAccess {
			pats[i] = n.pattern
		}
		r.deny = fmt.Sprintf("%s: %s\n", daemon, strings.Join(pats, " "))
	}
	return r, notes
}

// translateAddr turns one xinetd address into libwrap patterns: a.b.c.d
// (trailing zero components are wildcards; 0.0.0.0 is everyone),
// a.b.{c,d} (factorized), a.b.c.d/n, IPv6 and IPv6/n, host names and
// .domain names. Network names (/etc/networks) are refused.
func translateAddr(s string) ([]entry, string) {
	if i := strings.IndexByte(s, '{'); i >= 0 {
		if !strings.HasSuffix(s, "}") || !strings.HasSuffix(s[:i], ".") {
			return nil, "a factorized address is a.b.{c,d}"
		}
		var out []entry
		for _, part := range strings.Split(s[i+1:len(s)-1], ",") {
			es, err := translateAddr(s[:i] + strings.TrimSpace(part))
			if err != "" {
				return nil, err
			}
			out = append(out, es...)
		}
		return out, ""
	}
	if p, err := netip.ParsePrefix(s); err == nil {
		p = p.Masked()
		return []entry{prefixEntry(p)}, ""
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Is6() && !a.Is4In6() {
			return []entry{prefixEntry(netip.PrefixFrom(a, 128))}, ""
		}
		// Trailing zero components are wildcards.
		b := a.Unmap().As4()
		bits := 32
		for i := 3; i >= 0 && b[i] == 0; i-- {
			bits -= 8
		}
		return []entry{prefixEntry(netip.PrefixFrom(a.Unmap(), bits))}, ""
	}
	// Fewer than four components ("10.1" from a factorized list).
	if parts := strings.Split(s, "."); len(parts) < 4 && allNumbers(parts) {
		for len(parts) < 4 {
			parts = append(parts, "0")
		}
		a, err := netip.ParseAddr(strings.Join(parts, "."))
		if err != nil {
			return nil, "not an address"
		}
		bits := 8 * len(strings.Split(s, "."))
		return []entry{prefixEntry(netip.PrefixFrom(a, bits).Masked())}, ""
	}
	if isHostName(strings.TrimPrefix(s, ".")) {
		return []entry{{pattern: s}}, ""
	}
	return nil, "not an address or host name hinetd's rules can match"
}

func prefixEntry(p netip.Prefix) entry {
	if p.Bits() == 0 {
		return entry{pattern: "ALL", net: p}
	}
	if p.Addr().Is4() {
		if p.Bits() == 32 {
			return entry{pattern: p.Addr().String(), net: p}
		}
		m := ^uint32(0) << (32 - p.Bits())
		mask := netip.AddrFrom4([4]byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)})
		return entry{pattern: p.Addr().String() + "/" + mask.String(), net: p}
	}
	if p.Bits() == 128 {
		return entry{pattern: "[" + p.Addr().String() + "]", net: p}
	}
	return entry{pattern: "[" + p.Addr().String() + "]/" + strconv.Itoa(p.Bits()), net: p}
}

func allNumbers(parts []string) bool {
	for _, p := range parts {
		if _, err := strconv.Atoi(p); err != nil {
			return false
		}
	}
	return len(parts) > 0
}

func isHostName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}
