package hosts

// A slow reference matcher, written the way libwrap's hosts_access.c is:
// every decision re-reads the rule text, splits it, and matches tokens as
// strings with a plain linear scan and no index. It shares only the line
// joining (splitLines), split_at (splitAt) and the token separators with
// the compiled Table; the fast == slow property below checks everything
// else.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

type slowReq struct {
	req     *Request
	e       evalCtx // only for lazy name/user lookups
	read    func(string) ([]byte, error)
	daemon  string
	cText   string
	sText   string
	cAddr   netip.Addr
	sAddr   netip.Addr
	netgrps Netgroups
}

// slowDecide returns file, line and verdict as libwrap would.
func slowDecide(allow, deny Source, req Request, read func(string) ([]byte, error)) (string, int, Verdict, bool) {
	s := &slowReq{req: &req, read: read, daemon: req.Daemon, netgrps: req.Netgroups}
	s.e = newEvalCtx(context.Background(), &req)
	s.cAddr, s.sAddr = req.ClientAddr.Unmap(), req.ServerAddr.Unmap()
	s.cText, s.sText = AddrString(s.cAddr), AddrString(s.sAddr)
	if line, opts, ok := s.table(allow.Text); ok {
		v := Granted
		if strings.Contains(lower(opts), "deny") && slowLastOpt(opts) == "deny" {
			v = Denied
		}
		return allow.Name, line, v, true
	}
	if line, opts, ok := s.table(deny.Text); ok {
		v := Denied
		if slowLastOpt(opts) == "allow" {
			v = Granted
		}
		return deny.Name, line, v, true
	}
	return "", 0, Granted, false
}

func slowLastOpt(opts string) string {
	f := strings.Split(opts, ":")
	return lower(strings.TrimSpace(f[len(f)-1]))
}

// table - table_match: first matching rule of one file.
func (s *slowReq) table(text []byte) (int, string, bool) {
	for _, pl := range splitLines(string(text)) {
		if strings.Trim(pl.text, " \t\r\n") == "" || pl.text[0] == '#' {
			continue
		}
		sv, rest, _ := splitAt(pl.text, ':')
		cl, opts, _ := splitAt(rest, ':')
		if s.list(sv, s.server) && s.list(cl, s.client) {
			return pl.line, opts, true
		}
	}
	return 0, "", false
}

// list - list_match, recursive as in libwrap.
func (s *slowReq) list(l string, match func(string) bool) bool {
	toks := strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' || r == '\r' || r == '\n' })
	return s.listToks(toks, match)
}

func (s *slowReq) listToks(toks []string, match func(string) bool) bool {
	for i, tok := range toks {
		if cEqual(tok, "EXCEPT") {
			return false
		}
		if match(tok) {
			for j := i + 1; j < len(toks); j++ {
				if cEqual(toks[j], "EXCEPT") {
					return !s.listToks(toks[j+1:], match)
				}
			}
			return true
		}
	}
	return false
}

func (s *slowReq) server(tok string) bool {
	d, h, ok := splitAt(tok[1:], '@')
	d = tok[:1] + d
	var m bool
	if n, err := strconv.ParseUint(d, 10, 32); err == nil {
		m = s.req.ServerPort != 0 && uint64(s.req.ServerPort) == n
	} else {
		m = slowString(d, s.daemon)
	}
	if !ok {
		return m
	}
	return m && s.host(h, s.sAddr, s.sText, &s.e.server)
}

func (s *slowReq) client(tok string) bool {
	u, h, ok := splitAt(tok[1:], '@')
	u = tok[:1] + u
	if !ok {
		return s.host(tok, s.cAddr, s.cText, &s.e.client)
	}
	return s.host(h, s.cAddr, s.cText, &s.e.client) && slowString(u, s.e.lookupUser())
}

func (s *slowReq) host(tok string, a netip.Addr, text string, hi *hostInfo) bool {
	name := func() string { return s.e.hostName(hi) }
	switch {
	case tok[0] == '@':
		return s.netgrps != nil && s.netgrps.InNetgroup(tok[1:], name())
	case tok[0] == '/':
		b, err := s.read(tok)
		if err != nil {
			return false
		}
		for _, f := range strings.Fields(string(b)) {
			if s.host(f, a, text, hi) {
				return true
			}
		}
		return false
	case cEqual(tok, "KNOWN"):
		n := name()
		return text != Unknown && !cEqual(n, Unknown) && !cEqual(n, Paranoid)
	case cEqual(tok, "LOCAL"):
		n := name()
		return !strings.Contains(n, ".") && !cEqual(n, Unknown) && !cEqual(n, Paranoid)
	}
	if net, mask, ok := splitAt(tok, '/'); ok {
		return slowMasked(net, mask, a)
	}
	if slowString(tok, text) {
		return true
	}
	return strings.Trim(tok, "0123456789./") != "" && slowString(tok, name())
}

// slowMasked - masked_match: (addr & mask) == net, bit by bit.
func slowMasked(net, mask string, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	var n netip.Addr
	if strings.HasPrefix(net, "[") {
		n, _ = netip.ParseAddr(strings.Trim(net, "[]"))
	} else {
		n, _ = netip.ParseAddr(net)
	}
	if n.BitLen() != a.BitLen() {
		return false
	}
	nb, ab := n.AsSlice(), a.AsSlice()
	mb := make([]byte, len(nb))
	if m, err := netip.ParseAddr(mask); err == nil {
		copy(mb, m.AsSlice())
	} else {
		bits, _ := strconv.Atoi(mask)
		for i := 0; i < bits; i++ {
			mb[i/8] |= 0x80 >> (i % 8)
		}
	}
	// IPv4: (addr & mask) == net, so a net with bits outside the mask never
	// matches; IPv6 ([net]/len): the first len bits of both are compared.
	v6 := strings.HasPrefix(net, "[")
	for i := range nb {
		want := nb[i]
		if v6 {
			want &= mb[i]
		}
		if ab[i]&mb[i] != want {
			return false
		}
	}
	return true
}

// slowString - string_match as in libwrap.
func slowString(tok, s string) bool {
	switch {
	case strings.ContainsAny(tok, "*?"):
		return slowWild(cLower(s), cLower(tok))
	case tok[0] == '.':
		n := len(s) - len(tok)
		return n > 0 && cEqual(tok, s[n:])
	case cEqual(tok, "ALL"):
		return true
	case cEqual(tok, "KNOWN"):
		return !cEqual(s, Unknown)
	case tok[len(tok)-1] == '.':
		return len(s) >= len(tok) && cEqual(tok, s[:len(tok)])
	case tok[0] == '[':
		p, err1 := netip.ParseAddr(strings.Trim(tok, "[]"))
		q, err2 := netip.ParseAddr(s)
		return err1 == nil && err2 == nil && p == q
	}
	return cEqual(tok, s)
}

// cLower and cEqual are tolower(3)/strcasecmp(3) in the C locale: bytes,
// ASCII letters only (Go's strings functions fold Unicode and would turn
// invalid UTF-8 into U+FFFD).
func cLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

func cEqual(a, b string) bool { return cLower(a) == cLower(b) }

// slowWild is match_pattern_ylo, recursive as in the original.
func slowWild(s, p string) bool {
	for {
		if p == "" {
			return s == ""
		}
		if p[0] == '*' {
			p = p[1:]
			if p == "" {
				return true
			}
			for i := 0; i <= len(s); i++ {
				if i < len(s) && slowWild(s[i:], p) {
					return true
				}
			}
			return false
		}
		if s == "" {
			return false
		}
		if p[0] != '?' && p[0] != s[0] {
			return false
		}
		s, p = s[1:], p[1:]
	}
}

// randRules generates a rule file biased to what the index handles
// (addresses, networks, names, suffixes) mixed with what is scanned.
func randRules(r *rand.Rand, n int) string {
	daemons := []string{"ALL", "sshd", "in.fingerd", "ftpd", "in.*", "KNOWN", "sshd@10.0.0.0/8", "ftpd@LOCAL", "79", "22@10.0.0.1"}
	var b strings.Builder
	for i := 0; i < n; i++ {
		b.WriteString(daemons[r.IntN(len(daemons))])
		if r.IntN(5) == 0 {
			b.WriteString(", " + daemons[r.IntN(len(daemons))])
		}
		b.WriteString(": ")
		k := 1 + r.IntN(3)
		for j := 0; j < k; j++ {
			if j > 0 {
				b.WriteString(" ")
			}
			b.WriteString(randHost(r))
		}
		if r.IntN(6) == 0 {
			b.WriteString(" EXCEPT " + randHost(r))
		}
		switch r.IntN(8) {
		case 0:
			b.WriteString(" : deny")
		case 1:
			b.WriteString(" : allow")
		}
		b.WriteString("\n")
	}
	return b.String()
}

func randHost(r *rand.Rand) string {
	o := func() int { return r.IntN(4) }
	switch r.IntN(16) {
	case 0:
		return []string{"ALL", "KNOWN", "UNKNOWN", "LOCAL", "PARANOID"}[r.IntN(5)]
	case 1, 2, 3:
		return fmt.Sprintf("10.%d.%d.%d", o(), o(), o())
	case 4, 5:
		bits := 8 + r.IntN(25)
		p, _ := netip.AddrFrom4([4]byte{10, byte(o()), byte(o()), byte(o())}).Prefix(bits)
		return p.String()
	case 6:
		return fmt.Sprintf("10.%d.", o())
	case 7:
		bits := 16 + r.IntN(113)
		p, _ := netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(o())}).Prefix(bits)
		return "[" + p.Addr().String() + "]/" + strconv.Itoa(bits)
	case 8:
		return fmt.Sprintf("[2001:db8::%d]", o())
	case 9, 10:
		return []string{"h0.example", "h1.example", "H2.Example", "x.sub.example", "solo"}[r.IntN(5)]
	case 11:
		return []string{".example", ".sub.example", ".org", "h1.", ".1"}[r.IntN(5)]
	case 12:
		return []string{"h?.example", "*.sub.*", "10.0.*", "*"}[r.IntN(4)]
	case 13:
		return fmt.Sprintf("10.%d.0.0/255.%d.0.0", o()*64, 192)
	case 14:
		return []string{"root@ALL", "KNOWN@10.0.", "UNKNOWN@.example"}[r.IntN(3)]
	}
	return fmt.Sprintf("10.0.0.%d", o())
}

type fixedIdent string

func (f fixedIdent) LookupUser(context.Context, netip.AddrPort, netip.AddrPort) (string, error) {
	return string(f), nil
}

func slowResolver() *mapResolver {
	m := &mapResolver{ptr: map[string]string{}, fwd: map[string][]string{}}
	names := []string{"h0.example", "h1.example", "h2.example", "x.sub.example", "solo", "liar.example", "10.0.0.1"}
	for i := 0; i < 4; i++ {
		for j := 0; j < 4; j++ {
			a := fmt.Sprintf("10.%d.0.%d", i, j)
			n := names[(i*4+j)%len(names)]
			m.ptr[a] = n
			if n != "liar.example" {
				m.fwd[n] = append(m.fwd[n], a)
			}
		}
	}
	return m
}

func randRequest(r *rand.Rand, res Resolver) Request {
	daemons := []string{"sshd", "in.fingerd", "ftpd", "SSHD", "other"}
	q := Request{Daemon: daemons[r.IntN(len(daemons))], Resolver: res}
	switch r.IntN(6) {
	case 0:
		q.ClientAddr = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(r.IntN(4))})
	case 1:
		q.ClientAddr = netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: 10, 13: byte(r.IntN(4)), 15: byte(r.IntN(4))})
	case 2:
		// unknown client
	default:
		q.ClientAddr = netip.AddrFrom4([4]byte{10, byte(r.IntN(4)), byte(r.IntN(4) * r.IntN(2)), byte(r.IntN(4))})
	}
	if r.IntN(3) == 0 {
		q.ServerAddr = netip.AddrFrom4([4]byte{10, 0, 0, 1})
		q.ServerPort = []uint16{22, 79, 80}[r.IntN(3)]
	}
	if r.IntN(2) == 0 {
		q.Ident = fixedIdent("root")
	}
	return q
}

func checkFastSlow(t testing.TB, allow, deny string, q Request) {
	t.Helper()
	tb, err := Compile(Source{"a", []byte(allow)}, Source{"d", []byte(deny)}, ParseOptions{})
	if err != nil {
		return
	}
	d := tb.Decide(q)
	file, line, v, matched := slowDecide(Source{"a", []byte(allow)}, Source{"d", []byte(deny)}, q, nil)
	if d.File != file || d.Line != line || d.Verdict != v || d.Default == matched {
		t.Fatalf("fast %s:%d %v (default %v), slow %s:%d %v\nrequest %+v\n-- allow --\n%s-- deny --\n%s",
			d.File, d.Line, d.Verdict, d.Default, file, line, v, q, allow, deny)
	}
	if nd, ok := tb.DecideNoLookup(q); ok && (nd.File != d.File || nd.Line != d.Line || nd.Verdict != d.Verdict) {
		t.Fatalf("DecideNoLookup %s:%d %v, Decide %s:%d %v", nd.File, nd.Line, nd.Verdict, d.File, d.Line, d.Verdict)
	}
}

// TestFastSlow: the compiled table and the linear reference agree on
// random rule sets, small (mostly scanned) and large (mostly indexed).
func TestFastSlow(t *testing.T) {
	seed := rand.Uint64()
	if v := os.Getenv("HOSTS_SLOW_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (replay: HOSTS_SLOW_SEED=%d)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 1))
	res := slowResolver()
	for i := 0; i < 3000; i++ {
		n := 1 + r.IntN(8)
		if i%50 == 0 {
			n = 300
		}
		allow, deny := randRules(r, n), randRules(r, r.IntN(n+1))
		for j := 0; j < 5; j++ {
			checkFastSlow(t, allow, deny, randRequest(r, res))
		}
	}
}

func FuzzFastSlow(f *testing.F) {
	f.Add("sshd: 10.0.0.0/8 EXCEPT 10.1.0.0/16\n", "ALL: ALL\n", "sshd", []byte{10, 1, 2, 3}, byte(0))
	f.Add("ALL: .example EXCEPT h1.example\nin.*: [2001:db8::]/32\n", "ALL: KNOWN@10.0.\n", "in.fingerd", []byte{10, 0, 0, 1}, byte(1))
	f.Add("ftpd@LOCAL: h?.example, 10.0.*\n", "ALL: root@ALL : allow\nALL: PARANOID\n", "ftpd", []byte{32, 1, 13, 184, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2}, byte(2))
	res := slowResolver()
	f.Fuzz(func(t *testing.T, allow, deny, daemon string, addr []byte, flags byte) {
		if len(daemon) > 64 || strings.Count(allow+deny, "*") > 16 {
			// The reference wildcard matcher is libwrap's recursive one,
			// exponential on long strings against many stars.
			return
		}
		q := Request{Daemon: daemon, Resolver: res}
		if a, ok := netip.AddrFromSlice(addr); ok {
			q.ClientAddr = a
		}
		if flags&1 != 0 {
			q.Ident = fixedIdent("root")
		}
		if flags&2 != 0 {
			q.ServerAddr = netip.AddrFrom4([4]byte{10, 0, 0, 1})
		}
		checkFastSlow(t, allow, deny, q)
	})
}

// TestConcurrentDecide: a Table is used by every accept goroutine at once;
// decisions made concurrently equal the serial ones (run with -race).
// tcp_wrappers 7.4 let hosts slip through because of a non-reentrant
// strtok in a vendor libc: the evaluator must be reentrant.
func TestConcurrentDecide(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	tb, err := Compile(Source{"a", []byte(randRules(r, 200))}, Source{"d", []byte(randRules(r, 200))}, ParseOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := slowResolver()
	reqs := make([]Request, 500)
	want := make([]string, len(reqs))
	for i := range reqs {
		reqs[i] = randRequest(r, res)
		d := tb.Decide(reqs[i])
		want[i] = fmt.Sprint(d.File, d.Line, d.Verdict)
	}
	// mapResolver counts calls without a lock: use a locked copy here.
	locked := &lockedResolver{r: res}
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func(g int) {
			for k := 0; k < len(reqs); k++ {
				i := (k*7 + g*13) % len(reqs)
				q := reqs[i]
				q.Resolver = locked
				d := tb.Decide(q)
				if got := fmt.Sprint(d.File, d.Line, d.Verdict); got != want[i] {
					errs <- fmt.Sprintf("request %d: %s, serial %s", i, got, want[i])
					return
				}
			}
			errs <- ""
		}(g)
	}
	for g := 0; g < 8; g++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}

type lockedResolver struct {
	mu sync.Mutex
	r  Resolver
}

func (l *lockedResolver) LookupAddr(ctx context.Context, a netip.Addr) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.LookupAddr(ctx, a)
}

func (l *lockedResolver) LookupHost(ctx context.Context, n string) ([]netip.Addr, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.LookupHost(ctx, n)
}
