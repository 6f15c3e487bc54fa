package hosts

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"sort"
	"strings"
)

// Severity ranks a Finding. The zero value is Info.
type Severity uint8

const (
	Info Severity = iota
	Warning
	Error
)

func (s Severity) String() string {
	switch s {
	case Warning:
		return "warning"
	case Error:
		return "error"
	}
	return "info"
}

// Finding is one result of Check: a problem or (Info) a description.
type Finding struct {
	File     string
	Line     int // 0: the whole file or table
	Col      int
	Severity Severity
	Code     string // syntax, shadowed, suspicious, unknown-daemon, unresolved-host, no-default-deny, rule
	Msg      string
}

func (f Finding) String() string {
	loc := f.File
	if f.Line > 0 {
		loc = fmt.Sprintf("%s:%d", loc, f.Line)
		if f.Col > 0 {
			loc = fmt.Sprintf("%s:%d", loc, f.Col)
		}
	}
	return fmt.Sprintf("%s: %s: %s", loc, f.Severity, f.Msg)
}

// CheckOptions selects what Check looks at. The zero value checks syntax,
// shadowed rules, suspicious patterns and the default deny.
type CheckOptions struct {
	// Daemons, when not nil, are the daemon names in use (inetd.conf);
	// a plain daemon name in a rule that is not among them is reported.
	Daemons []string
	// Resolver, when not nil, is used to report host names in rules that
	// do not resolve. MaxLookups bounds how many (default 1000).
	Resolver   Resolver
	Context    context.Context
	MaxLookups int
	// Verbose adds one Info finding per rule with its effective action.
	Verbose bool
	// ReadFile reads "/path" pattern files (default os.ReadFile).
	ReadFile func(string) ([]byte, error)
}

// Check reads hosts.allow and hosts.deny (a missing file is empty) and
// reports, as tcpdchk(8) and more: every syntax error with file:line:col;
// rules that never decide because earlier rules always match first;
// suspicious patterns; daemon names not in opts.Daemons; host names that
// do not resolve; and a missing default deny. Findings are sorted by
// file order then line.
func Check(allowPath, denyPath string, opts CheckOptions) []Finding {
	var out []Finding
	var srcs [2]Source
	for i, p := range []string{allowPath, denyPath} {
		b, err := os.ReadFile(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			out = append(out, Finding{File: p, Severity: Error, Code: "syntax", Msg: err.Error()})
		}
		srcs[i] = Source{Name: p, Text: b}
	}
	return append(out, CheckSources(srcs[0], srcs[1], opts)...)
}

// CheckSources is Check on file contents.
func CheckSources(allow, deny Source, opts CheckOptions) []Finding {
	if opts.ReadFile == nil {
		opts.ReadFile = os.ReadFile
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	if opts.MaxLookups <= 0 {
		opts.MaxLookups = 1000
	}
	var out []Finding
	var sets [2]ruleSet
	ok := true
	for i, src := range []Source{allow, deny} {
		rules, err := Parse(src.Name, src.Text, ParseOptions{ReadFile: opts.ReadFile})
		if err != nil {
			ok = false
			out = append(out, parseFindings(err)...)
			continue
		}
		sets[i].compile(rules)
	}
	if !ok {
		return sortFindings(out, allow.Name)
	}
	shadow := [2][]string{shadowed(&sets[0], nil), shadowed(&sets[1], &sets[0])}
	var known map[string]bool
	if opts.Daemons != nil {
		known = map[string]bool{}
		for _, d := range opts.Daemons {
			known[lower(d)] = true
		}
	}
	names := map[string][]*Rule{}
	for f, s := range sets {
		for i, r := range s.rules {
			if by := shadow[f][i]; by != "" {
				out = append(out, Finding{File: r.File, Line: r.Line, Severity: Warning, Code: "shadowed",
					Msg: fmt.Sprintf("rule never decides: %s always matches first", by)})
			}
			out = append(out, suspicious(r, f == 0)...)
			for l := r.daemons; l != nil; l = l.except {
				for _, it := range l.items {
					if known != nil && it.port == 0 && it.name.kind == sExact && !known[it.name.s] {
						out = append(out, Finding{File: r.File, Line: r.Line, Col: it.off + 1, Severity: Warning, Code: "unknown-daemon",
							Msg: fmt.Sprintf("daemon %q is not a service in the configuration", it.text)})
					}
				}
			}
			walkHosts(r, func(h *hostPat) {
				if h.kind == hString && h.nameToo && h.str.kind == sExact && hostKnown(h.str.s) {
					names[h.str.s] = append(names[h.str.s], r)
				}
			})
			if opts.Verbose {
				out = append(out, Finding{File: r.File, Line: r.Line, Severity: Info, Code: "rule",
					Msg: fmt.Sprintf("%s -> %s", strings.Join(strings.Fields(r.Text), " "), effect(r, f == 0, shadow[f][i]))})
			}
		}
	}
	if opts.Resolver != nil {
		keys := make([]string, 0, len(names))
		for n := range names {
			keys = append(keys, n)
		}
		sort.Strings(keys)
		for i, n := range keys {
			if i >= opts.MaxLookups {
				out = append(out, Finding{File: allow.Name, Severity: Info, Code: "unresolved-host",
					Msg: fmt.Sprintf("%d more host names not looked up", len(keys)-i)})
				break
			}
			if a, err := opts.Resolver.LookupHost(opts.Context, n); err != nil || len(a) == 0 {
				for _, r := range names[n] {
					out = append(out, Finding{File: r.File, Line: r.Line, Severity: Warning, Code: "unresolved-host",
						Msg: fmt.Sprintf("host name %q does not resolve: the rule cannot match it by name", n)})
				}
			}
		}
	}
	if !hasDefaultDeny(&sets[0], &sets[1]) {
		out = append(out, Finding{File: deny.Name, Severity: Warning, Code: "no-default-deny",
			Msg: `no default deny: hosts.deny has no "ALL: ALL" rule, so a request no rule matches is granted`})
	}
	return sortFindings(out, allow.Name)
}

// sortFindings orders findings by file (hosts.allow first), line, column.
func sortFindings(out []Finding, first string) []Finding {
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.File == first) != (b.File == first) {
			return a.File == first
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
	return out
}

func parseFindings(err error) []Finding {
	var out []Finding
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var pe *ParseError
		if errors.As(e, &pe) {
			out = append(out, Finding{File: pe.File, Line: pe.Line, Col: pe.Col, Severity: Error, Code: "syntax", Msg: pe.Msg})
		} else {
			out = append(out, Finding{Severity: Error, Code: "syntax", Msg: e.Error()})
		}
	}
	return out
}

// effect describes what a rule does when it decides.
func effect(r *Rule, inAllow bool, shadowedBy string) string {
	var s string
	switch {
	case r.Options.Twist != "":
		s = "twist (the command replaces the server)"
	case r.Options.Allow || (inAllow && !r.Options.Deny):
		s = "grant"
	default:
		s = "deny"
	}
	if len(r.Options.Spawn) > 0 {
		s += ", spawn"
	}
	if shadowedBy != "" {
		s += " (never decides: " + shadowedBy + " matches first)"
	}
	return s
}

func walkHosts(r *Rule, f func(*hostPat)) {
	var walk func(h *hostPat)
	walk = func(h *hostPat) {
		f(h)
		for _, s := range h.sub {
			walk(s)
		}
	}
	for _, l0 := range []*list{r.daemons, r.clients} {
		for l := l0; l != nil; l = l.except {
			for _, it := range l.items {
				if it.host != nil {
					walk(it.host)
				}
			}
		}
	}
}

// suspicious reports patterns that parse but probably do not mean what
// the author meant.
func suspicious(r *Rule, inAllow bool) []Finding {
	var out []Finding
	add := func(col int, format string, args ...any) {
		out = append(out, Finding{File: r.File, Line: r.Line, Col: col + 1, Severity: Warning, Code: "suspicious", Msg: fmt.Sprintf(format, args...)})
	}
	for l := r.clients; l != nil; l = l.except {
		for _, it := range l.items {
			h := it.host
			if h.kind == hPrefix && h.hostBits {
				add(it.off, "%q has bits set beyond the prefix length; it means %s", it.text, h.prefix)
			}
			if h.kind != hString {
				continue
			}
			switch {
			case h.str.kind == sPrefix && h.nameToo && strings.Count(h.str.s, ".") > 1:
				add(it.off, "%q ends in a dot, so it matches names that begin with it; for the host, drop the final dot", it.text)
			case h.str.kind == sSuffix && !h.nameToo:
				add(it.off, "%q matches addresses whose text ends in it (such as 10.0.0%s), not a network", it.text, h.str.s)
			}
		}
	}
	// "x EXCEPT ALL" (with nothing excepted from that ALL) never matches.
	for _, l0 := range []*list{r.daemons, r.clients} {
		for l := l0; l != nil && l.except != nil; l = l.except {
			ex := l.except
			if ex.except != nil {
				continue
			}
			for _, it := range ex.items {
				if it.host == nil && it.port == 0 && it.name.kind == sAll ||
					it.host != nil && it.host.kind == hAll && !it.hasName && l0 == r.clients {
					add(it.off, "the rule never matches: everything is excepted by %q", it.text)
				}
			}
		}
	}
	if inAllow && r.Options.Allow {
		out = append(out, Finding{File: r.File, Line: r.Line, Severity: Info, Code: "suspicious", Msg: `"allow" in hosts.allow changes nothing`})
	}
	if !inAllow && r.Options.Deny {
		out = append(out, Finding{File: r.File, Line: r.Line, Severity: Info, Code: "suspicious", Msg: `"deny" in hosts.deny changes nothing`})
	}
	return out
}

// hasDefaultDeny: hosts.deny has "ALL: ALL" (no EXCEPT, no allow/twist),
// or hosts.allow has "ALL: ALL : deny".
func hasDefaultDeny(allow, deny *ruleSet) bool {
	isAllAll := func(r *Rule) bool {
		if r.daemons.except != nil || r.clients.except != nil {
			return false
		}
		d, c := false, false
		for _, it := range r.daemons.items {
			d = d || (it.name.kind == sAll && it.host == nil)
		}
		for _, it := range r.clients.items {
			c = c || (it.host.kind == hAll && !it.hasName)
		}
		return d && c
	}
	for _, r := range deny.rules {
		if isAllAll(r) && !r.Options.Allow && r.Options.Twist == "" {
			return true
		}
	}
	for _, r := range allow.rules {
		if isAllAll(r) {
			return r.Options.Deny && r.Options.Twist == ""
		}
	}
	return false
}

// shadowed returns, per rule of s, the location of an earlier rule that
// always matches first ("" if none found). Earlier rules are those of s
// before it and every rule of prev (hosts.allow, when s is hosts.deny).
// Only indexable rules are analysed, and only indexable rules count as
// covering: the answer has no false positives, and it costs one probe
// per prefix length per pattern, so 100,000 rules check quickly.
func shadowed(s, prev *ruleSet) []string {
	out := make([]string, len(s.rules))
	for j, r := range s.rules {
		if !s.indexable(r) {
			continue
		}
		best, bestPrev := int32(-1), int32(-1) // the latest earlier rules needed to cover r
		covered := true
		for _, d := range r.daemons.items {
			for _, c := range r.clients.items {
				if i, ok := coverIn(s, d, c.host, int32(j)); ok {
					best = max(best, i)
				} else if i, ok := coverIn(prev, d, c.host, none); ok {
					bestPrev = max(bestPrev, i)
				} else {
					covered = false
					break
				}
			}
			if !covered {
				break
			}
		}
		switch {
		case !covered:
		case best >= 0:
			out[j] = fmt.Sprintf("%s:%d", s.rules[best].File, s.rules[best].Line)
		default:
			out[j] = fmt.Sprintf("%s:%d", prev.rules[bestPrev].File, prev.rules[bestPrev].Line)
		}
	}
	return out
}

// coverIn finds an indexed rule of s before limit that matches every
// request that (daemon d, client pattern h) matches. It returns its index
// (or -1) and whether it was found (for callers merging two sets).
func coverIn(s *ruleSet, d item, h *hostPat, limit int32) (int32, bool) {
	if s == nil {
		return -1, false
	}
	var ixs []*index
	if s.any != nil {
		ixs = append(ixs, s.any)
	}
	switch {
	case d.port != 0:
		if ix := s.byPort[d.port]; ix != nil {
			ixs = append(ixs, ix)
		}
	case d.name.kind == sExact:
		if ix := s.byDaemon[d.name.s]; ix != nil {
			ixs = append(ixs, ix)
		}
	}
	best := int32(none)
	for _, ix := range ixs {
		best = min(best, ix.all)
		switch h.kind {
		case hPrefix:
			best = min(best, ix.coverPrefix(h.prefix))
		case hString:
			best = min(best, ix.coverName(h.str))
		}
	}
	if best < limit {
		return best, true
	}
	return -1, false
}

// coverPrefix: smallest rule index whose prefix contains all of p.
func (ix *index) coverPrefix(p netip.Prefix) int32 {
	best := int32(none)
	if p.Addr().Is4() {
		k := v4u(p.Addr())
		for _, lm := range ix.v4 {
			if lm.bits > p.Bits() {
				continue
			}
			var mk uint32
			if lm.bits > 0 {
				mk = k &^ (^uint32(0) >> lm.bits)
			}
			if v, ok := lm.m[mk]; ok {
				best = min(best, v)
			}
		}
		return best
	}
	k := v6key(p.Addr())
	for _, lm := range ix.v6 {
		if lm.bits <= p.Bits() {
			if v, ok := lm.m[mask6(k, lm.bits)]; ok {
				best = min(best, v)
			}
		}
	}
	return best
}

// coverName: smallest rule index whose name pattern matches every name
// the pattern p matches.
func (ix *index) coverName(p strPat) int32 {
	best := int32(none)
	if ix.names == none {
		return best
	}
	switch p.kind {
	case sExact:
		if v, ok := ix.exact[p.s]; ok {
			best = min(best, v)
		}
		for i := 1; i < len(p.s); i++ {
			if p.s[i] == '.' {
				if v, ok := ix.suffix[p.s[i:]]; ok {
					best = min(best, v)
				}
			}
		}
		for i := 0; i < len(p.s); i++ {
			if p.s[i] == '.' {
				if v, ok := ix.prefix[p.s[:i+1]]; ok {
					best = min(best, v)
				}
			}
		}
	case sSuffix:
		for i := 0; i < len(p.s); i++ {
			if p.s[i] == '.' {
				if v, ok := ix.suffix[p.s[i:]]; ok {
					best = min(best, v)
				}
			}
		}
	case sPrefix:
		for i := 0; i < len(p.s); i++ {
			if p.s[i] == '.' {
				if v, ok := ix.prefix[p.s[:i+1]]; ok {
					best = min(best, v)
				}
			}
		}
	}
	return best
}
