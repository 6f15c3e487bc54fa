package hosts

import (
	"context"
	"errors"
	"io/fs"
	"math"
	"net/netip"
	"os"
)

// Verdict is the outcome of a decision. The zero value is Denied.
type Verdict uint8

const (
	Denied Verdict = iota
	Granted
)

func (v Verdict) String() string {
	if v == Granted {
		return "granted"
	}
	return "denied"
}

// Decision is the outcome of Table.Decide and why. The zero value is a
// denial by no rule.
type Decision struct {
	Verdict Verdict
	// Default is true when no rule matched in either file: access is
	// granted, as libwrap grants it.
	Default bool
	// The deciding rule; empty when Default.
	File    string
	Line    int
	Text    string
	Options *Options // never nil when a rule decided
	// Request is the request as decided, with the names and user that the
	// decision had to look up filled in (for Expand and the audit log).
	Request Request
}

// Source is the text of one access control file and the name used in
// messages (usually its path). A nil Text is an empty (or missing) file.
type Source struct {
	Name string
	Text []byte
}

// Table is a compiled pair of hosts.allow and hosts.deny. It is immutable
// and safe for concurrent use. The zero value (or nil) grants everything,
// as libwrap does with no files.
type Table struct {
	allow, deny ruleSet
	files       []string // "/path" pattern files read while compiling
	needsNames  bool
	needsUser   bool
}

// Compile parses and compiles both files. Errors name file:line:col; all
// errors of both files are returned (errors.Join).
func Compile(allow, deny Source, opts ParseOptions) (*Table, error) {
	var files []string
	if opts.ReadFile != nil {
		read := opts.ReadFile
		opts.ReadFile = func(p string) ([]byte, error) {
			files = append(files, p)
			return read(p)
		}
	}
	ar, aerr := Parse(allow.Name, allow.Text, opts)
	dr, derr := Parse(deny.Name, deny.Text, opts)
	if err := errors.Join(aerr, derr); err != nil {
		return nil, err
	}
	t := &Table{files: files}
	t.allow.compile(ar)
	t.deny.compile(dr)
	for _, r := range append(append([]*Rule(nil), ar...), dr...) {
		n, u := ruleNeeds(r)
		t.needsNames = t.needsNames || n
		t.needsUser = t.needsUser || u
	}
	return t, nil
}

// LoadFiles reads and compiles allowPath and denyPath from the file
// system. A missing file is an empty file (as in libwrap); any other read
// error fails. Pattern files ("/path") are read from the file system too.
func LoadFiles(allowPath, denyPath string) (*Table, error) {
	a, err := readOptional(allowPath)
	if err != nil {
		return nil, err
	}
	d, err := readOptional(denyPath)
	if err != nil {
		return nil, err
	}
	return Compile(Source{allowPath, a}, Source{denyPath, d}, ParseOptions{ReadFile: os.ReadFile})
}

func readOptional(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Rules returns the rules of hosts.allow and hosts.deny, in order.
func (t *Table) Rules() (allow, deny []*Rule) {
	if t == nil {
		return nil, nil
	}
	return t.allow.rules, t.deny.rules
}

// PatternFiles lists the "/path" pattern files the table was compiled
// from, so a watcher can reload when they change.
func (t *Table) PatternFiles() []string {
	if t == nil {
		return nil
	}
	return t.files
}

// NeedsNames reports whether some rule has a pattern that may need a
// host name (a name, .domain, wildcard, KNOWN, LOCAL, UNKNOWN, PARANOID,
// @netgroup). A table where it is false never calls the Resolver.
func (t *Table) NeedsNames() bool { return t != nil && t.needsNames }

// NeedsUser reports whether some rule has a user@host pattern.
func (t *Table) NeedsUser() bool { return t != nil && t.needsUser }

// Decide decides req as tcpd would: the first matching rule of hosts.allow
// grants, else the first of hosts.deny denies, else access is granted;
// "allow" and "deny" options override the file's verdict.
func (t *Table) Decide(req Request) Decision {
	return t.DecideContext(context.Background(), req)
}

// DecideContext is Decide with a context for the lookups.
func (t *Table) DecideContext(ctx context.Context, req Request) Decision {
	d, _ := t.decide(ctx, req, false)
	return d
}

// DecideNoLookup decides req if that needs no name or user lookup; ok is
// false (and the decision meaningless) if a lookup would be needed. The
// daemon calls it on the accept path and falls back to Decide elsewhere.
func (t *Table) DecideNoLookup(req Request) (d Decision, ok bool) {
	return t.decide(context.Background(), req, true)
}

func (t *Table) decide(ctx context.Context, req Request, noLookup bool) (Decision, bool) {
	if t == nil {
		return Decision{Verdict: Granted, Default: true, Request: req}, true
	}
	e := newEvalCtx(ctx, &req)
	e.noLookup = noLookup
	r := t.allow.first(&e)
	v := Granted
	if r == nil && !e.aborted {
		r = t.deny.first(&e)
		v = Denied
	}
	if e.aborted {
		return Decision{}, false
	}
	e.store(&req)
	if r == nil {
		return Decision{Verdict: Granted, Default: true, Request: req}, true
	}
	return decided(r, v, req), true
}

func decided(r *Rule, v Verdict, req Request) Decision {
	switch {
	case r.Options.Allow:
		v = Granted
	case r.Options.Deny:
		v = Denied
	}
	return Decision{Verdict: v, File: r.File, Line: r.Line, Text: r.Text, Options: &r.Options, Request: req}
}

// ruleSet is one compiled file. Rules whose daemon list is plain names or
// ALL and whose client list is addresses, networks, plain names, .domain
// or name. patterns (no EXCEPT, no user@) are indexed; every other rule is
// scanned in order. The first match is the smallest rule index found by
// either.
type ruleSet struct {
	rules    []*Rule
	byDaemon map[string]*index // lower-case daemon name
	byPort   map[uint16]*index // numeric daemon patterns: the server port
	any      *index            // daemon ALL
	scan     []int32           // rule indexes, ascending
	nameMin  int32             // smallest rule index in a name index
}

const none = math.MaxInt32

// index holds the indexed rules of one daemon key.
type index struct {
	all    int32 // smallest rule with client ALL
	v4     []lenMap
	v6     []lenMap6
	exact  map[string]int32
	suffix map[string]int32
	prefix map[string]int32
	names  int32 // smallest rule index in exact/suffix/prefix
}

type lenMap struct {
	bits int
	m    map[uint32]int32
}

type lenMap6 struct {
	bits int
	m    map[[2]uint64]int32
}

func newIndex() *index { return &index{all: none, names: none} }

func setMin(m map[string]int32, k string, i int32) {
	if v, ok := m[k]; !ok || i < v {
		m[k] = i
	}
}

func (s *ruleSet) compile(rules []*Rule) {
	s.rules = rules
	s.nameMin = none
	for i, r := range rules {
		if !s.indexable(r) {
			s.scan = append(s.scan, int32(i))
			continue
		}
		for _, d := range r.daemons.items {
			var ix *index
			switch {
			case d.port != 0:
				if s.byPort == nil {
					s.byPort = map[uint16]*index{}
				}
				if ix = s.byPort[d.port]; ix == nil {
					ix = newIndex()
					s.byPort[d.port] = ix
				}
			case d.name.kind == sAll:
				if s.any == nil {
					s.any = newIndex()
				}
				ix = s.any
			default:
				if s.byDaemon == nil {
					s.byDaemon = map[string]*index{}
				}
				if ix = s.byDaemon[d.name.s]; ix == nil {
					ix = newIndex()
					s.byDaemon[d.name.s] = ix
				}
			}
			for _, c := range r.clients.items {
				ix.add(c.host, int32(i))
			}
		}
	}
	for _, ix := range s.byDaemon {
		s.nameMin = min(s.nameMin, ix.names)
	}
	for _, ix := range s.byPort {
		s.nameMin = min(s.nameMin, ix.names)
	}
	if s.any != nil {
		s.nameMin = min(s.nameMin, s.any.names)
	}
}

// indexable reports whether r can be decided through the index.
func (s *ruleSet) indexable(r *Rule) bool {
	if r.daemons.except != nil || r.clients.except != nil {
		return false
	}
	for _, d := range r.daemons.items {
		if d.host != nil || (d.port == 0 && d.name.kind != sExact && d.name.kind != sAll) {
			return false
		}
	}
	for _, c := range r.clients.items {
		if c.hasName {
			return false
		}
		switch h := c.host; h.kind {
		case hAll, hPrefix:
		case hString:
			if !h.nameToo || (h.str.kind != sExact && h.str.kind != sSuffix && h.str.kind != sPrefix) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

func (ix *index) add(h *hostPat, i int32) {
	switch h.kind {
	case hAll:
		ix.all = min(ix.all, i)
	case hPrefix:
		p := h.prefix
		if p.Addr().Is4() {
			k := v4u(p.Addr())
			for j := range ix.v4 {
				if ix.v4[j].bits == p.Bits() {
					if v, ok := ix.v4[j].m[k]; !ok || i < v {
						ix.v4[j].m[k] = i
					}
					return
				}
			}
			ix.v4 = append(ix.v4, lenMap{p.Bits(), map[uint32]int32{k: i}})
			return
		}
		k := v6key(p.Addr())
		for j := range ix.v6 {
			if ix.v6[j].bits == p.Bits() {
				if v, ok := ix.v6[j].m[k]; !ok || i < v {
					ix.v6[j].m[k] = i
				}
				return
			}
		}
		ix.v6 = append(ix.v6, lenMap6{p.Bits(), map[[2]uint64]int32{k: i}})
	case hString:
		var m *map[string]int32
		switch h.str.kind {
		case sExact:
			m = &ix.exact
		case sSuffix:
			m = &ix.suffix
		default:
			m = &ix.prefix
		}
		if *m == nil {
			*m = map[string]int32{}
		}
		setMin(*m, h.str.s, i)
		ix.names = min(ix.names, i)
	}
}

func v6key(a netip.Addr) [2]uint64 {
	b := a.As16()
	var k [2]uint64
	for j := 0; j < 8; j++ {
		k[0] = k[0]<<8 | uint64(b[j])
		k[1] = k[1]<<8 | uint64(b[8+j])
	}
	return k
}

func mask6(k [2]uint64, bits int) [2]uint64 {
	switch {
	case bits <= 0:
		return [2]uint64{}
	case bits < 64:
		return [2]uint64{k[0] &^ (^uint64(0) >> bits), 0}
	case bits == 64:
		return [2]uint64{k[0], 0}
	case bits < 128:
		return [2]uint64{k[0], k[1] &^ (^uint64(0) >> (bits - 64))}
	}
	return k
}

// lookupAddr returns the smallest rule index whose address pattern
// matches a (unmapped, valid or not).
func (ix *index) lookupAddr(a netip.Addr) int32 {
	best := ix.all
	if !a.IsValid() {
		return best
	}
	if a.Is4() {
		k := v4u(a)
		for j := range ix.v4 {
			lm := &ix.v4[j]
			var mk uint32
			if lm.bits > 0 {
				mk = k &^ (^uint32(0) >> lm.bits)
			}
			if v, ok := lm.m[mk]; ok && v < best {
				best = v
			}
		}
		return best
	}
	k := v6key(a)
	for j := range ix.v6 {
		lm := &ix.v6[j]
		if v, ok := lm.m[mask6(k, lm.bits)]; ok && v < best {
			best = v
		}
	}
	return best
}

// lookupName returns the smallest rule index whose name pattern matches
// name or the address text (which can only be equal to a name pattern
// when it is "unknown").
func (ix *index) lookupName(name, addrText string) int32 {
	best := int32(none)
	if ix.names == none {
		return best
	}
	for _, s := range [2]string{lower(name), lower(addrText)} {
		if v, ok := ix.exact[s]; ok && v < best {
			best = v
		}
		if len(ix.suffix) > 0 {
			for i := 1; i < len(s); i++ {
				if s[i] == '.' {
					if v, ok := ix.suffix[s[i:]]; ok && v < best {
						best = v
					}
				}
			}
		}
		if len(ix.prefix) > 0 {
			for i := 0; i < len(s); i++ {
				if s[i] == '.' {
					if v, ok := ix.prefix[s[:i+1]]; ok && v < best {
						best = v
					}
				}
			}
		}
	}
	return best
}

// first returns the first rule of the set that matches, or nil.
func (s *ruleSet) first(e *evalCtx) *Rule {
	if len(s.rules) == 0 {
		return nil
	}
	// The indexes that can hold rules for this request: daemon ALL, the
	// daemon's name, the server port.
	var ixs [3]*index
	n := 0
	if s.any != nil {
		ixs[n], n = s.any, n+1
	}
	if s.byDaemon != nil {
		if ix := s.byDaemon[lower(e.daemon)]; ix != nil {
			ixs[n], n = ix, n+1
		}
	}
	if p := e.rawServer.Port(); p != 0 && s.byPort != nil {
		if ix := s.byPort[p]; ix != nil {
			ixs[n], n = ix, n+1
		}
	}
	best := int32(none)
	for _, ix := range ixs[:n] {
		best = min(best, ix.lookupAddr(e.client.addr))
	}
	namesDone := false
	names := func() {
		namesDone = true
		if s.nameMin >= best {
			return
		}
		name := e.hostName(&e.client)
		if e.aborted {
			return
		}
		for _, ix := range ixs[:n] {
			best = min(best, ix.lookupName(name, e.client.addrText()))
		}
	}
	for _, i := range s.scan {
		if i >= best {
			break
		}
		if !namesDone && i > s.nameMin {
			names()
			if e.aborted {
				return nil
			}
			if i >= best {
				break
			}
		}
		if e.matchRule(s.rules[i]) {
			return s.rules[i]
		}
		if e.aborted {
			return nil
		}
	}
	if !namesDone {
		names()
		if e.aborted {
			return nil
		}
	}
	if best == none {
		return nil
	}
	return s.rules[best]
}

// ruleNeeds reports whether a rule may need host names or the user.
func ruleNeeds(r *Rule) (names, user bool) {
	var walk func(h *hostPat)
	walk = func(h *hostPat) {
		switch h.kind {
		case hKnown, hLocal, hNetgroup:
			names = true
		case hString:
			names = names || h.nameToo
		case hFile:
			for _, s := range h.sub {
				walk(s)
			}
		}
	}
	for l := r.daemons; l != nil; l = l.except {
		for _, it := range l.items {
			if it.host != nil {
				walk(it.host)
			}
		}
	}
	for l := r.clients; l != nil; l = l.except {
		for _, it := range l.items {
			walk(it.host)
			user = user || it.hasName
		}
	}
	return names, user
}
