package hosts

import (
	"errors"
	"io/fs"
	"net/netip"
	"strconv"
	"strings"
)

// Strings that libwrap uses for a name or address it could not find out
// ("unknown") and for a name that does not map back to the address
// ("paranoid"). Patterns compare against them as ordinary strings, which is
// how the UNKNOWN and PARANOID wildcards work.
const (
	Unknown  = "unknown"
	Paranoid = "paranoid"
)

// strKind is the shape of a string pattern as libwrap's string_match sees it.
type strKind uint8

const (
	sExact  strKind = iota // equal, case-insensitively
	sAll                   // ALL
	sKnown                 // KNOWN: anything but "unknown"
	sSuffix                // ".domain": the string ends in it, and is longer
	sPrefix                // "net.": the string starts with it
	sWild                  // contains * or ?
)

// strPat is a string pattern (daemon names, user names, host text).
type strPat struct {
	kind strKind
	s    string // lower-cased
}

// newStrPat classifies tok in libwrap's order: wildcards first, then
// suffix, ALL, KNOWN, prefix, exact.
func newStrPat(tok string) strPat {
	if equalFold(tok, "ALL") {
		return strPat{sAll, "all"} // the common case, without an allocation
	}
	lt := lower(tok)
	switch {
	case strings.ContainsAny(tok, "*?"):
		// libwrap's matcher (match_pattern_ylo) lets a "*" that has more
		// pattern after it match only where a character remains, so a
		// pattern ending in two or more "*" needs at least one character
		// there: "in.fingerd**" does not match "in.fingerd". Rewriting
		// that ending as "?*" gives the same answers with a matcher that
		// stays linear.
		if strings.HasSuffix(lt, "**") {
			lt = strings.TrimRight(lt, "*") + "?*"
		}
		return strPat{sWild, lt}
	case tok[0] == '.':
		return strPat{sSuffix, lt}
	case lt == "all":
		return strPat{sAll, lt}
	case lt == "known":
		return strPat{sKnown, lt}
	case tok[len(tok)-1] == '.':
		return strPat{sPrefix, lt}
	}
	return strPat{sExact, lt}
}

// match - string_match: match one string pattern against a string.
func (p strPat) match(s string) bool {
	switch p.kind {
	case sAll:
		return true
	case sKnown:
		return !equalFold(s, Unknown)
	case sSuffix:
		n := len(s) - len(p.s)
		return n > 0 && equalFold(s[n:], p.s)
	case sPrefix:
		return len(s) >= len(p.s) && equalFold(s[:len(p.s)], p.s)
	case sWild:
		return wildMatch(s, p.s)
	}
	return equalFold(s, p.s)
}

// hostKind is the shape of a host pattern (host_match).
type hostKind uint8

const (
	hAll      hostKind = iota // ALL
	hKnown                    // KNOWN: address and name both known
	hLocal                    // LOCAL: a known name without a dot
	hString                   // a string pattern against the address text and maybe the name
	hPrefix                   // address in a prefix (n.n.n.n, n.n.n.n/len, n.n., [v6], [v6]/len)
	hNetMask                  // IPv4 net/mask with a non-contiguous mask
	hNetgroup                 // @group
	hFile                     // /path: any pattern in the file
)

// hostPat is one host pattern (client host, or the host part of
// daemon@host).
type hostPat struct {
	kind     hostKind
	str      strPat // hString
	nameToo  bool   // hString: also compared with the host name (libwrap NOT_INADDR)
	prefix   netip.Prefix
	hostBits bool   // hPrefix: written with bits beyond the length (IPv6)
	net      uint32 // hNetMask
	mask     uint32 // hNetMask
	group    string // hNetgroup
	path     string // hFile
	sub      []*hostPat
}

// item is one element of a daemon or client list.
//
// In a daemon list: name is the daemon pattern, host the optional server
// host pattern (daemon@host). In a client list: host is the client host
// pattern and name, when hasName, the user pattern (user@host).
type item struct {
	port    uint16 // daemon list: a port number pattern (matches the server port)
	name    strPat
	hasName bool
	host    *hostPat
	text    string
	off     int
}

// parseServer parses a daemon list element: daemon or daemon@host.
func parseServer(t token, opts ParseOptions, depth *int) (item, error) {
	it := item{text: t.s, off: t.off, hasName: true}
	// libwrap splits at the first "@" after the first character.
	d, h, ok := splitAt(t.s[1:], '@')
	d = t.s[:1] + d
	if strings.HasPrefix(t.s, "@") {
		return it, tokErrorf(t.off, "daemon pattern %q: netgroups do not match daemon names", t.s)
	}
	it.name = newStrPat(d)
	if d[0] >= '0' && d[0] <= '9' || d[0] == '+' || d[0] == '-' {
		// Debian's libwrap matches a numeric daemon pattern against the
		// server port, not the daemon name.
		n, err := strconv.Atoi(d)
		if err == nil && d[0] != '+' && d[0] != '-' && n >= 1 && n <= 65535 {
			it.port = uint16(n)
		} else if !strings.ContainsFunc(d, func(r rune) bool { return r != '+' && r != '-' && (r < '0' || r > '9') }) {
			return it, tokErrorf(t.off, "bad port number %q; expect 1 to 65535", d)
		}
	}
	if ok {
		if h == "" {
			return it, tokErrorf(t.off, "daemon pattern %q: empty host after %q", t.s, "@")
		}
		hp, err := parseHost(h, t.off+len(d)+1, opts, depth)
		if err != nil {
			return it, err
		}
		it.host = hp
	}
	return it, nil
}

// parseClient parses a client list element: host or user@host.
func parseClient(t token, opts ParseOptions, depth *int) (item, error) {
	it := item{text: t.s, off: t.off}
	u, h, ok := splitAt(t.s[1:], '@')
	if !ok {
		hp, err := parseHost(t.s, t.off, opts, depth)
		it.host = hp
		return it, err
	}
	u = t.s[:1] + u
	if h == "" {
		return it, tokErrorf(t.off, "client pattern %q: empty host after %q", t.s, "@")
	}
	if strings.HasPrefix(u, "@") {
		return it, tokErrorf(t.off, "client pattern %q: netgroups do not match user names", t.s)
	}
	it.name = newStrPat(u)
	it.hasName = true
	hp, err := parseHost(h, t.off+len(u)+1, opts, depth)
	it.host = hp
	return it, err
}

// maxFileDepth bounds "/path" pattern files that name further files
// (libwrap recurses without limit).
const maxFileDepth = 8

// parseHost parses a host pattern in host_match's order. A pattern libwrap
// would silently never match is an error here (see the package doc).
func parseHost(tok string, off int, opts ParseOptions, depth *int) (*hostPat, error) {
	if tok == "" {
		return nil, tokErrorf(off, "empty host pattern")
	}
	switch {
	case tok[0] == '@':
		if len(tok) == 1 {
			return nil, tokErrorf(off, "empty netgroup name %q", tok)
		}
		return &hostPat{kind: hNetgroup, group: tok[1:]}, nil
	case tok[0] == '/':
		return parseHostFile(tok, off, opts, depth)
	case equalFold(tok, "KNOWN"):
		return &hostPat{kind: hKnown}, nil
	case equalFold(tok, "LOCAL"):
		return &hostPat{kind: hLocal}, nil
	}
	if net, mask, ok := splitAt(tok, '/'); ok {
		return parseNetMask(tok, net, mask, off)
	}
	if tok[0] == '[' {
		a, ok := parseBracketV6(tok)
		if !ok {
			return nil, tokErrorf(off, "bad IPv6 address %q; expect [n:n::n] or [n:n::]/len (libwrap never matches it)", tok)
		}
		return &hostPat{kind: hPrefix, prefix: netip.PrefixFrom(a, 128)}, nil
	}
	if strings.ContainsAny(tok, "[]") {
		return nil, tokErrorf(off, "misplaced bracket in %q (libwrap never matches it)", tok)
	}
	sp := newStrPat(tok)
	if sp.kind == sAll {
		return &hostPat{kind: hAll}, nil
	}
	if !notInaddr(tok) {
		// Only digits and dots: compared with the address text only.
		switch sp.kind {
		case sExact:
			a, ok := parseDottedQuad(tok)
			if !ok {
				return nil, tokErrorf(off, "bad IPv4 address %q; expect n.n.n.n in decimal (libwrap never matches it)", tok)
			}
			return &hostPat{kind: hPrefix, prefix: netip.PrefixFrom(a, 32)}, nil
		case sPrefix:
			p, ok := parseNumericPrefix(tok)
			if !ok {
				return nil, tokErrorf(off, "bad address prefix %q; expect 1 to 3 decimal numbers each followed by a dot (libwrap never matches it)", tok)
			}
			return &hostPat{kind: hPrefix, prefix: p}, nil
		case sSuffix:
			if tok == "." {
				return nil, tokErrorf(off, "pattern %q never matches", tok)
			}
		}
		return &hostPat{kind: hString, str: sp}, nil
	}
	return &hostPat{kind: hString, str: sp, nameToo: true}, nil
}

// notInaddr is libwrap's NOT_INADDR: the token has a character other than
// digits, dots and slashes, so it may be a host name.
func notInaddr(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == '/') {
			return true
		}
	}
	return false
}

// parseNetMask handles net/mask, net/len and [v6]/len.
func parseNetMask(tok, net, mask string, off int) (*hostPat, error) {
	if strings.HasPrefix(net, "[") {
		a, ok := parseBracketV6(net)
		if !ok {
			return nil, tokErrorf(off, "bad IPv6 network %q; expect [n:n::]/len (libwrap never matches it)", tok)
		}
		n, ok := parseLen(mask, 128)
		if !ok {
			return nil, tokErrorf(off, "bad IPv6 prefix length in %q; expect 0 to 128 (libwrap never matches it)", tok)
		}
		// libwrap compares the first n bits of both, so bits of the
		// network beyond the prefix length are ignored (Check warns).
		p := netip.PrefixFrom(a, n)
		return &hostPat{kind: hPrefix, prefix: p.Masked(), hostBits: p.Masked() != p}, nil
	}
	a, ok := parseDottedQuad(net)
	if !ok {
		return nil, tokErrorf(off, "bad network %q; expect n.n.n.n/m.m.m.m, n.n.n.n/len or [n:n::]/len in decimal (libwrap never matches it)", tok)
	}
	if m, ok := parseDottedQuad(mask); ok {
		nv, mv := v4u(a), v4u(m)
		if mv == ^uint32(0) {
			// hosts_access(5): "255.255.255.255 is not a valid mask value";
			// libwrap never matches it.
			return nil, tokErrorf(off, "mask 255.255.255.255 in %q never matches in libwrap; write the address alone", tok)
		}
		if nv&^mv != 0 {
			return nil, tokErrorf(off, "network %q has bits set outside the mask; libwrap never matches it", tok)
		}
		// A contiguous mask is a prefix; anything else is kept as is.
		if ones := leadingOnes(mv); mv == ^uint32(0)<<(32-ones) || ones == 32 {
			return &hostPat{kind: hPrefix, prefix: netip.PrefixFrom(a, ones)}, nil
		}
		return &hostPat{kind: hNetMask, net: nv, mask: mv}, nil
	}
	n, ok := parseLen(mask, 32)
	if !ok {
		return nil, tokErrorf(off, "bad mask in %q; expect m.m.m.m or 0 to 32 (libwrap never matches it)", tok)
	}
	if n == 0 {
		// libwrap computes the mask with a 32-bit shift by 32, which x86
		// ignores: "/0" becomes "/32" and matches only the network itself.
		return nil, tokErrorf(off, "prefix length 0 in %q: libwrap matches only %s with it; write ALL or 0.0.0.0/0.0.0.0", tok, net)
	}
	p := netip.PrefixFrom(a, n)
	if p.Masked() != p {
		return nil, tokErrorf(off, "network %q has bits set beyond /%d; libwrap never matches it", tok, n)
	}
	return &hostPat{kind: hPrefix, prefix: p}, nil
}

func leadingOnes(m uint32) int {
	n := 0
	for n < 32 && m&(1<<(31-n)) != 0 {
		n++
	}
	return n
}

func v4u(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// parseLen parses a decimal prefix length 0..max.
func parseLen(s string, max int) (int, bool) {
	if s == "" || len(s) > 3 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n <= max
}

// parseDottedQuad accepts exactly four decimal numbers 0..255 without
// leading zeros. libwrap (inet_addr) also reads octal and hex parts; those
// are rejected here because "010" means 8 to libwrap and 10 to a reader.
func parseDottedQuad(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		return netip.Addr{}, false
	}
	return a, true
}

// parseNumericPrefix turns "10." or "10.1.2." into a prefix: the address
// text starts with it exactly when the address is in 10.0.0.0/8 or
// 10.1.2.0/24.
func parseNumericPrefix(s string) (netip.Prefix, bool) {
	parts := strings.Split(strings.TrimSuffix(s, "."), ".")
	if len(parts) < 1 || len(parts) > 3 {
		return netip.Prefix{}, false
	}
	var b [4]byte
	for i, p := range parts {
		if p == "" || len(p) > 3 || (len(p) > 1 && p[0] == '0') {
			return netip.Prefix{}, false
		}
		n, err := strconv.Atoi(p)
		if err != nil || n > 255 {
			return netip.Prefix{}, false
		}
		b[i] = byte(n)
	}
	return netip.PrefixFrom(netip.AddrFrom4(b), 8*len(parts)), true
}

// parseBracketV6 parses "[v6]". An IPv4-mapped or zoned address is refused:
// libwrap never matches a mapped pattern (it compares mapped clients as
// IPv4), and zones do not occur in client addresses.
func parseBracketV6(s string) (netip.Addr, bool) {
	if len(s) < 3 || s[0] != '[' || s[len(s)-1] != ']' {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(s[1 : len(s)-1])
	if err != nil || !a.Is6() || a.Is4In6() || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// parseHostFile reads a "/path" pattern file: zero or more host patterns
// separated by white space, any of which may match.
func parseHostFile(tok string, off int, opts ParseOptions, depth *int) (*hostPat, error) {
	if opts.ReadFile == nil {
		return nil, tokErrorf(off, "pattern file %q: no file reader given", tok)
	}
	if depth == nil {
		var d int
		depth = &d
	}
	if *depth >= maxFileDepth {
		return nil, tokErrorf(off, "pattern file %q: nested more than %d deep", tok, maxFileDepth)
	}
	data, err := opts.ReadFile(tok)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// libwrap treats a missing pattern file as matching nothing,
			// which opens hosts.deny: refuse it.
			return nil, tokErrorf(off, "pattern file %q does not exist", tok)
		}
		return nil, tokErrorf(off, "pattern file %q: %v", tok, err)
	}
	*depth++
	defer func() { *depth-- }()
	hp := &hostPat{kind: hFile, path: tok}
	var errs []string
	for _, f := range strings.Fields(string(data)) {
		sub, err := parseHost(f, off, opts, depth)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		hp.sub = append(hp.sub, sub)
	}
	if len(errs) > 0 {
		return nil, tokErrorf(off, "pattern file %q: %s", tok, strings.Join(errs, "; "))
	}
	return hp, nil
}

// lower lower-cases ASCII letters only, as strcasecmp compares.
func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if c := b[j]; c >= 'A' && c <= 'Z' {
					b[j] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// equalFold compares ASCII case-insensitively, like strcasecmp in the C
// locale (strings.EqualFold would also fold non-ASCII letters).
func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func foldByte(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// wildMatch - match s against a pattern with * and ?, case-insensitively
// (pat is lower-case). Iterative with one backtrack point, so it is linear
// in practice and never recurses on hostile input.
func wildMatch(s, pat string) bool {
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(pat) && pat[pi] == '*': // before the literal case: s may hold a "*"
			star, mark = pi, si
			pi++
		case pi < len(pat) && (pat[pi] == '?' || pat[pi] == foldByte(s[si])):
			si++
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(pat) && pat[pi] == '*' {
		pi++
	}
	return pi == len(pat)
}
