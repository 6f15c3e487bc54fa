package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hinetd/hinetd/internal/builtins"
)

// maxUnixPath is the longest socket path that fits sun_path (108 bytes,
// NUL included) on Linux.
const maxUnixPath = 107

// Options are the daemon-wide settings and lookups Parse needs. The zero
// value binds wildcard services to every address and uses the system's
// /etc/services, passwd/group databases and resolver.
type Options struct {
	// DefaultAddr is the -a option: the address a service without an
	// address (or with "*") binds to. "" or "*" means any address. It may
	// be an IPv4 address, an IPv6 address (brackets optional) or a host
	// name; a host name is resolved once per Parse.
	DefaultAddr string

	// Services maps a service name and transport ("tcp" or "udp") to a
	// port. nil reads /etc/services (through the Go resolver).
	Services func(name, proto string) (int, error)

	// LookupUser returns a user's uid and primary gid. nil uses os/user,
	// and also accepts a numeric uid that has a passwd entry.
	LookupUser func(name string) (uid, gid int, err error)

	// LookupGroup returns a group's gid. nil uses os/user, and also
	// accepts a numeric gid that has a group entry.
	LookupGroup func(name string) (gid int, err error)

	// LookupHost resolves a host name in the address field. nil uses the
	// system resolver with a 5 s timeout per name. Addresses are used in
	// the order returned.
	LookupHost func(name string) ([]netip.Addr, error)
}

// Error is one problem in a configuration file. Col is 1-based and 0
// when the problem is the line as a whole.
type Error struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *Error) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Parse reads the inetd.conf at path. It returns a snapshot holding every
// good service and one *Error per bad line; a bad line skips only its own
// service. If the file cannot be read, Parse returns a nil snapshot and
// that single error.
func Parse(path string, opts Options) (*Snapshot, []error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, []error{err}
	}
	sum := sha256.Sum256(data)
	snap := &Snapshot{
		Path:     path,
		Hash:     hex.EncodeToString(sum[:]),
		Size:     len(data),
		LoadedAt: time.Now(),
	}
	p := newParser(path, opts)
	lines := bytes.Split(data, []byte("\n"))
	// A file ending in "\n" has no line after it.
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	} else if n > 0 {
		snap.Unterminated = n
	}
	for i, raw := range lines {
		s, perr := p.line(i+1, string(raw))
		if perr != nil {
			p.errs = append(p.errs, perr)
			continue
		}
		if s != nil {
			snap.Services = append(snap.Services, s)
		}
	}
	return snap, p.errs
}

// field is one whitespace-separated word of a line and its 1-based column.
type field struct {
	s   string
	col int
}

// fields splits a line on spaces and tabs, the only separators inetd has
// ever accepted.
func fields(line string) []field {
	var out []field
	start := -1
	for i := 0; i <= len(line); i++ {
		if i == len(line) || line[i] == ' ' || line[i] == '\t' {
			if start >= 0 {
				out = append(out, field{line[start:i], start + 1})
				start = -1
			}
			continue
		}
		if start < 0 {
			start = i
		}
	}
	return out
}

// hostSpec is an address as written, before resolution.
type hostSpec struct {
	text   string // without brackets; "" means wildcard
	origin string // for messages: `address "x"`, `default address "x" (-a)`, ...
	isDef  bool   // a default (-a or a bare line), not the line's own address
	bad    string // non-empty: the default this came from was invalid
}

type userResult struct {
	uid, gid int
	err      error
}

type groupResult struct {
	gid int
	err error
}

type hostResult struct {
	addrs []netip.Addr
	err   error
}

type parser struct {
	file string
	opts Options

	// def is the address for lines without one: the last bare "addr:" line
	// (OpenBSD), or -a.
	def     hostSpec
	defFlag hostSpec // -a itself, which "*" always means

	seen   map[string]int // Key() -> line of the first service with it
	users  map[string]userResult
	groups map[string]groupResult
	hosts  map[string]hostResult
	errs   []error
}

func newParser(file string, opts Options) *parser {
	if opts.Services == nil {
		opts.Services = systemService
	}
	if opts.LookupUser == nil {
		opts.LookupUser = systemUser
	}
	if opts.LookupGroup == nil {
		opts.LookupGroup = systemGroup
	}
	if opts.LookupHost == nil {
		opts.LookupHost = systemHost
	}
	p := &parser{
		file:   file,
		opts:   opts,
		seen:   map[string]int{},
		users:  map[string]userResult{},
		groups: map[string]groupResult{},
		hosts:  map[string]hostResult{},
	}
	a := strings.TrimSpace(opts.DefaultAddr)
	if a == "*" {
		a = ""
	}
	a = strings.TrimSuffix(strings.TrimPrefix(a, "["), "]")
	p.defFlag = hostSpec{text: a, origin: fmt.Sprintf("default address %q (-a)", a), isDef: true}
	p.def = p.defFlag
	return p
}

func (p *parser) errAt(line, col int, format string, args ...any) *Error {
	return &Error{File: p.file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// line parses one line. It returns (nil, nil) for blank lines, comments and
// bare "addr:" lines.
func (p *parser) line(n int, text string) (*Service, *Error) {
	// Tolerate files saved with CRLF line ends.
	text = strings.TrimSuffix(text, "\r")
	for i := 0; i < len(text); i++ {
		if c := text[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return nil, p.errAt(n, i+1, "control character %q; only spaces and tabs separate fields", c)
		}
	}
	fs := fields(text)
	if len(fs) == 0 || strings.HasPrefix(fs[0].s, "#") {
		return nil, nil
	}
	if len(fs) == 1 && strings.HasSuffix(fs[0].s, ":") {
		return nil, p.defaultLine(n, fs[0])
	}
	if len(fs) < 6 {
		return nil, p.errAt(n, 0, "too few fields (%d); expect [addr:]service socket_type protocol wait|nowait user[:group] server_program [args]", len(fs))
	}
	s := &Service{File: p.file, Line: n}

	// [addr:]service
	host, hasHost, svc, bracketed, e := splitHostService(fs[0].s)
	if e != "" {
		return nil, p.errAt(n, fs[0].col, "%s", e)
	}
	s.Name = svc
	if hasHost {
		s.Addr = host
		if bracketed {
			s.Addr = "[" + host + "]"
		}
	}

	// socket_type
	switch st := fs[1].s; st {
	case Stream, Dgram:
		s.SocketType = st
	case "raw", "rdm", "seqpacket":
		return nil, p.errAt(n, fs[1].col, "socket type %q is not supported; expect stream or dgram", st)
	default:
		return nil, p.errAt(n, fs[1].col, "unknown socket type %q; expect stream or dgram", st)
	}

	// protocol
	proto := fs[2].s
	var transport, variant string
	switch proto {
	case "tcp", "tcp4", "tcp6", "tcp46":
		transport, variant = "tcp", proto[3:]
	case "udp", "udp4", "udp6", "udp46":
		transport, variant = "udp", proto[3:]
	case "unix":
		transport = "unix"
	default:
		if strings.HasPrefix(proto, "rpc/") {
			return nil, p.errAt(n, fs[2].col, "RPC services (%q) are not supported", proto)
		}
		return nil, p.errAt(n, fs[2].col, "unknown protocol %q; expect tcp, tcp4, tcp6, tcp46, udp, udp4, udp6, udp46 or unix", proto)
	}
	s.Protocol = proto
	if transport == "tcp" && s.SocketType != Stream {
		return nil, p.errAt(n, fs[1].col, "socket type %q does not go with protocol %q; tcp needs stream", s.SocketType, proto)
	}
	if transport == "udp" && s.SocketType != Dgram {
		return nil, p.errAt(n, fs[1].col, "socket type %q does not go with protocol %q; udp needs dgram", s.SocketType, proto)
	}

	// service: a unix socket path, a port number or a name in /etc/services.
	if transport == "unix" {
		if hasHost {
			return nil, p.errAt(n, fs[0].col, "unix service %q takes no address", fs[0].s)
		}
		if !strings.HasPrefix(svc, "/") {
			return nil, p.errAt(n, fs[0].col, "unix socket path %q must be absolute", svc)
		}
		// A clean path is one spelling per socket file, so duplicates
		// and unchanged listeners are recognised by Key. Refuse rather than
		// clean: "a/link/.." is not "a" when link is a symbolic link.
		if c := filepath.Clean(svc); c != svc {
			return nil, p.errAt(n, fs[0].col, "unix socket path %q is not clean; write %q", svc, c)
		}
		if len(svc) > maxUnixPath {
			return nil, p.errAt(n, fs[0].col, "unix socket path is %d bytes; at most %d fit", len(svc), maxUnixPath)
		}
		s.Path = svc
		s.Family = FamilyUnix
	} else {
		port, e := p.port(svc, transport)
		if e != "" {
			return nil, p.errAt(n, fs[0].col+len(fs[0].s)-len(svc), "%s", e)
		}
		s.Port = uint16(port)
		spec := p.def
		if hasHost && (host != "*" || bracketed) {
			spec = hostSpec{text: host, origin: fmt.Sprintf("address %q", host)}
		} else if hasHost {
			spec = p.defFlag
		}
		if spec.bad != "" {
			return nil, p.errAt(n, fs[0].col, "%s", spec.bad)
		}
		addr, fam, e := p.bindAddr(spec, bracketed && hasHost, proto, variant)
		if e != "" {
			return nil, p.errAt(n, fs[0].col, "%s", e)
		}
		s.BindAddr, s.Family = addr, fam
	}

	// wait|nowait[.N][/max-child[/max-conn-per-ip-per-minute[/max-child-per-ip]]]
	if e := parseWait(fs[3].s, s); e != "" {
		return nil, p.errAt(n, fs[3].col, "%s", e)
	}

	// user[:group] or user.group
	if e := p.user(fs[4].s, s); e != "" {
		return nil, p.errAt(n, fs[4].col, "%s", e)
	}

	// server_program [argv0 args...]
	prog, rest := fs[5], fs[6:]
	if prog.s == "internal" {
		name := svc
		col := fs[0].col
		switch {
		case len(rest) == 1:
			name, col = rest[0].s, rest[0].col
		case len(rest) > 1:
			return nil, p.errAt(n, rest[1].col, "unexpected %q after the built-in name; built-ins take no arguments", rest[1].s)
		case isDigits(svc) || transport == "unix":
			return nil, p.errAt(n, prog.col, "internal service on %q needs a built-in name after \"internal\"; expect %s", svc, builtinList())
		}
		if !isBuiltin(name) {
			return nil, p.errAt(n, col, "unknown built-in %q; expect %s", name, builtinList())
		}
		// Built-ins run inside hinetd, so wait (hand the socket to a
		// program) means nothing for them. Classic configurations (Debian's
		// inetd.conf, BSD manuals) write datagram built-ins as "wait"; as
		// FreeBSD does, read that as nowait. A stream built-in with wait
		// is a mistake and refused.
		if s.Wait && s.SocketType == Stream {
			return nil, p.errAt(n, fs[3].col, "built-in %q must be nowait; built-ins run inside hinetd", name)
		}
		s.Wait = false
		s.Internal = name
	} else {
		if !filepath.IsAbs(prog.s) {
			return nil, p.errAt(n, prog.col, "server program %q must be an absolute path or \"internal\"", prog.s)
		}
		if e := checkProgram(prog.s); e != "" {
			return nil, p.errAt(n, prog.col, "%s", e)
		}
		s.Program = prog.s
		if len(rest) == 0 {
			s.Args = []string{filepath.Base(prog.s)}
		} else {
			for _, f := range rest {
				s.Args = append(s.Args, f.s)
			}
		}
		if filepath.Base(prog.s) == "tcpd" {
			if e := unwrapTCPD(s); e != "" {
				col := prog.col
				if len(rest) > 0 {
					col = rest[0].col
				}
				return nil, p.errAt(n, col, "%s", e)
			}
		}
		if e := mustNotRun(s); e != "" {
			return nil, p.errAt(n, prog.col, "%s", e)
		}
	}

	k := s.Key()
	if first, ok := p.seen[k]; ok {
		return nil, p.errAt(n, 0, "duplicate service %s; first defined on line %d", k, first)
	}
	p.seen[k] = n
	return s, nil
}

// defaultLine handles an OpenBSD bare "addr:" line, which sets the address
// of the lines that follow it; "*:" goes back to -a (or any address).
func (p *parser) defaultLine(n int, f field) *Error {
	h := strings.TrimSuffix(f.s, ":")
	bracketed := false
	if strings.HasPrefix(h, "[") {
		if !strings.HasSuffix(h, "]") || len(h) < 3 {
			p.def = hostSpec{bad: fmt.Sprintf("default address set on line %d is invalid", n)}
			return p.errAt(n, f.col, "bad address %q; expect [IPv6 address]:", f.s)
		}
		h, bracketed = h[1:len(h)-1], true
	}
	if h == "*" {
		p.def = p.defFlag
		return nil
	}
	if h == "" {
		p.def = hostSpec{bad: fmt.Sprintf("default address set on line %d is invalid", n)}
		return p.errAt(n, f.col, "empty address in %q", f.s)
	}
	spec := hostSpec{text: h, origin: fmt.Sprintf("default address %q (line %d)", h, n), isDef: true}
	// Check now that the address means something, so the error points at
	// this line; which of its addresses a service uses depends on its
	// protocol.
	if e := p.checkHost(h, bracketed); e != "" {
		p.def = hostSpec{bad: fmt.Sprintf("default address set on line %d is invalid", n)}
		return p.errAt(n, f.col, "%s", e)
	}
	p.def = spec
	return nil
}

// splitHostService splits "[addr:]service". A leading "/" is a unix path,
// which may itself hold colons. An IPv6 address may be written in brackets
// or, since service names hold no colon, bare ("::1:echo").
func splitHostService(f string) (host string, hasHost bool, svc string, bracketed bool, err string) {
	if strings.HasPrefix(f, "/") {
		return "", false, f, false, ""
	}
	if strings.HasPrefix(f, "[") {
		i := strings.Index(f, "]:")
		if i < 0 {
			return "", false, "", false, fmt.Sprintf("bad address in %q; expect [IPv6 address]:service", f)
		}
		host, svc = f[1:i], f[i+2:]
		if host == "" {
			return "", false, "", false, fmt.Sprintf("empty address in %q", f)
		}
		if svc == "" {
			return "", false, "", false, fmt.Sprintf("missing service after address in %q", f)
		}
		return host, true, svc, true, ""
	}
	i := strings.LastIndex(f, ":")
	if i < 0 {
		return "", false, f, false, ""
	}
	host, svc = f[:i], f[i+1:]
	if host == "" {
		return "", false, "", false, fmt.Sprintf("empty address in %q", f)
	}
	if svc == "" {
		return "", false, "", false, fmt.Sprintf("missing service after address in %q", f)
	}
	return host, true, svc, false, ""
}

// port resolves a service field to a port for a transport.
func (p *parser) port(svc, transport string) (int, string) {
	if isDigits(svc) {
		n, err := strconv.Atoi(svc)
		if err != nil || n < 1 || n > 65535 {
			return 0, fmt.Sprintf("port %q out of range; expect 1-65535", svc)
		}
		return n, ""
	}
	if strings.HasPrefix(svc, "tcpmux/") {
		return 0, fmt.Sprintf("tcpmux services (%q) are not supported", svc)
	}
	n, err := p.opts.Services(svc, transport)
	if err != nil {
		return 0, fmt.Sprintf("unknown service %q for %s (not a number, not in /etc/services)", svc, transport)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Sprintf("service %q maps to port %d; expect 1-65535", svc, n)
	}
	return n, ""
}

// checkHost reports whether h is a usable literal address or a host name
// that resolves.
func (p *parser) checkHost(h string, bracketed bool) string {
	if a, err := netip.ParseAddr(h); err == nil {
		if bracketed && a.Is4() {
			return fmt.Sprintf("IPv4 address %q in brackets; brackets are for IPv6", h)
		}
		if a.Is4In6() {
			return fmt.Sprintf("IPv4-mapped address %q; write %s", h, a.Unmap())
		}
		return ""
	}
	if bracketed {
		return fmt.Sprintf("bad IPv6 address %q", h)
	}
	if strings.Trim(h, "0123456789.") == "" {
		// inet_aton would read "127.1" as 127.0.0.1; say what we need
		// instead of sending it to a resolver.
		return fmt.Sprintf("bad IPv4 address %q; expect four decimal numbers", h)
	}
	if !isHostName(h) {
		return fmt.Sprintf("bad address %q; expect an IPv4 address, [IPv6 address], host name or *", h)
	}
	if r := p.resolve(h); r.err != nil {
		return fmt.Sprintf("cannot resolve host %q: %v", h, r.err)
	}
	return ""
}

func (p *parser) resolve(h string) hostResult {
	if r, ok := p.hosts[h]; ok {
		return r
	}
	addrs, err := p.opts.LookupHost(h)
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, a.Unmap())
	}
	if err == nil && len(out) == 0 {
		err = fmt.Errorf("no addresses")
	}
	r := hostResult{out, err}
	p.hosts[h] = r
	return r
}

// bindAddr picks the address and family a service binds, from the address
// spec and the protocol's variant ("", "4", "6" or "46"). See the package
// doc for the rules.
func (p *parser) bindAddr(spec hostSpec, bracketed bool, proto, variant string) (netip.Addr, Family, string) {
	if spec.text == "" {
		switch variant {
		case "6":
			return netip.IPv6Unspecified(), FamilyInet6, ""
		case "46":
			return netip.IPv6Unspecified(), FamilyDual, ""
		default:
			return netip.IPv4Unspecified(), FamilyInet, ""
		}
	}
	if e := p.checkHost(spec.text, bracketed); e != "" {
		// The line's own address is named in e; a default is not.
		if spec.isDef {
			return netip.Addr{}, 0, spec.origin + ": " + e
		}
		return netip.Addr{}, 0, e
	}
	var cands []netip.Addr
	literal := false
	if a, err := netip.ParseAddr(spec.text); err == nil {
		cands, literal = []netip.Addr{a}, true
	} else {
		cands = p.resolve(spec.text).addrs
	}
	first := func(v4 bool) (netip.Addr, bool) {
		for _, a := range cands {
			if a.Is4() == v4 {
				return a, true
			}
		}
		return netip.Addr{}, false
	}
	noFamily := func(fam string) string {
		if literal {
			return fmt.Sprintf("%s is not an %s address; protocol %q needs one", spec.origin, fam, proto)
		}
		return fmt.Sprintf("%s has no %s address; protocol %q needs one", spec.origin, fam, proto)
	}
	switch variant {
	case "":
		// Plain tcp/udp follow the address: IPv4 first, as FreeBSD.
		if a, ok := first(true); ok {
			return a, FamilyInet, ""
		}
		a, _ := first(false)
		return a, FamilyInet6, ""
	case "4":
		if a, ok := first(true); ok {
			return a, FamilyInet, ""
		}
		return netip.Addr{}, 0, noFamily("IPv4")
	case "6":
		if a, ok := first(false); ok {
			return a, FamilyInet6, ""
		}
		return netip.Addr{}, 0, noFamily("IPv6")
	default: // "46"
		if a, ok := first(false); ok {
			return a, FamilyDual, ""
		}
		return netip.Addr{}, 0, noFamily("IPv6")
	}
}

// parseWait parses "wait|nowait[.N][/max-child[/max-conn-per-ip-per-minute[/max-child-per-ip]]]".
func parseWait(f string, s *Service) string {
	parts := strings.Split(f, "/")
	head := parts[0]
	mode, rate, hasRate := strings.Cut(head, ".")
	switch mode {
	case "wait":
		s.Wait = true
	case "nowait":
	default:
		return fmt.Sprintf("unknown wait mode %q; expect wait or nowait", mode)
	}
	if hasRate {
		n, e := positive(rate, "invocations per minute (."+rate+")")
		if e != "" {
			return e
		}
		s.RatePerMinute = n
	}
	if len(parts) > 4 {
		return fmt.Sprintf("too many limits in %q; expect %s[/max-child[/max-conn-per-ip-per-minute[/max-child-per-ip]]]", f, mode)
	}
	names := []string{"max-child", "max-conn-per-ip-per-minute", "max-child-per-ip"}
	dst := []*int{&s.MaxChild, &s.MaxConnPerIPMin, &s.MaxChildPerIP}
	for i, v := range parts[1:] {
		n, e := positive(v, names[i])
		if e != "" {
			return e
		}
		*dst[i] = n
	}
	// With wait the server owns the listening socket and accepts for
	// itself; hinetd never sees the client, so a per-client limit could
	// not be enforced. Refuse it rather than pretend.
	if s.Wait && (s.MaxConnPerIPMin > 0 || s.MaxChildPerIP > 0) {
		return fmt.Sprintf("per-client limits in %q need nowait; with wait the server accepts clients itself", f)
	}
	return ""
}

func positive(v, what string) (int, string) {
	if !isDigits(v) {
		return 0, fmt.Sprintf("%s %q is not a positive integer", what, v)
	}
	n, err := strconv.ParseInt(v, 10, 32)
	if err != nil {
		return 0, fmt.Sprintf("%s %q is too large", what, v)
	}
	if n < 1 {
		return 0, fmt.Sprintf("%s %q must be at least 1", what, v)
	}
	return int(n), ""
}

// user resolves "user", "user:group" or "user.group". A dot splits only
// when the whole word is not itself a user name, since names such as
// "first.last" exist.
func (p *parser) user(f string, s *Service) string {
	u, g, hasGroup := strings.Cut(f, ":")
	if !hasGroup && strings.Contains(f, ".") {
		if r := p.lookupUser(f); r.err != nil {
			u, g, hasGroup = strings.Cut(f, ".")
		}
	}
	if u == "" {
		return fmt.Sprintf("empty user name in %q", f)
	}
	if hasGroup && g == "" {
		return fmt.Sprintf("empty group name in %q", f)
	}
	r := p.lookupUser(u)
	if r.err != nil {
		return fmt.Sprintf("unknown user %q", u)
	}
	s.User, s.UID, s.GID = u, r.uid, r.gid
	if hasGroup {
		gr := p.lookupGroup(g)
		if gr.err != nil {
			return fmt.Sprintf("unknown group %q", g)
		}
		s.Group, s.GID = g, gr.gid
	}
	return ""
}

func (p *parser) lookupUser(name string) userResult {
	if r, ok := p.users[name]; ok {
		return r
	}
	uid, gid, err := p.opts.LookupUser(name)
	if err == nil && (uid < 0 || gid < 0) {
		err = fmt.Errorf("negative id")
	}
	r := userResult{uid, gid, err}
	p.users[name] = r
	return r
}

func (p *parser) lookupGroup(name string) groupResult {
	if r, ok := p.groups[name]; ok {
		return r
	}
	gid, err := p.opts.LookupGroup(name)
	if err == nil && gid < 0 {
		err = fmt.Errorf("negative id")
	}
	r := groupResult{gid, err}
	p.groups[name] = r
	return r
}

// checkProgram makes sure a server program can be run at all, so that a
// typo shows at load time with its file:line rather than at the first
// connection.
func checkProgram(path string) string {
	fi, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Sprintf("server program %q does not exist", path)
		}
		return fmt.Sprintf("server program %q: %v", path, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Sprintf("server program %q is not a regular file", path)
	}
	if fi.Mode().Perm()&0o111 == 0 {
		return fmt.Sprintf("server program %q is not executable", path)
	}
	return ""
}

// tcpdDaemonDir is where Debian's tcpd finds a server named without a
// path (REAL_DAEMON_DIR in tcp_wrappers' Makefile, as Debian builds it).
const tcpdDaemonDir = "/usr/sbin"

// unwrapTCPD replaces tcpd in the program field by the server it would
// run. tcpd (tcpd.c) takes argv[0] as the server: a path is run as it is,
// a bare name from REAL_DAEMON_DIR, and the server gets argv[0]'s base
// name. Run through tcpd, the server would have its hosts.allow and
// hosts.deny checked a second time, apart from hinetd's own decision
// (spawn, twist and banners twice, and not the files --hosts-allow
// names); hinetd decides once and runs the server directly, as OpenBSD
// inetd -l does.
func unwrapTCPD(s *Service) string {
	if len(s.Args) < 1 || s.Args[0] == "tcpd" {
		return fmt.Sprintf("%s needs the server it wraps as argv[0] (\"%s /usr/sbin/in.fingerd\")", s.Program, s.Program)
	}
	target := s.Args[0]
	if !strings.Contains(target, "/") {
		target = filepath.Join(tcpdDaemonDir, target)
	}
	if !filepath.IsAbs(target) {
		return fmt.Sprintf("server program %q, which %s would run, must be an absolute path", target, s.Program)
	}
	if e := checkProgram(target); e != "" {
		return e + " (the server " + s.Program + " would run)"
	}
	s.Wrapper, s.Program = s.Program, target
	s.Args = append([]string{filepath.Base(target)}, s.Args[1:]...)
	return ""
}

// notForInetd are the servers inetd(8) says must not be run from it:
// standalone daemons that serve their port themselves, or whose inetd
// lines were never services (sendmail -bs is Debian's; rpc.statd and
// rpc.lockd are NFS's), by base name.
var notForInetd = map[string]string{
	"named": "DNS server", "in.named": "DNS server",
	"routed": "routing daemon", "in.routed": "routing daemon",
	"rwhod": "rwho daemon", "in.rwhod": "rwho daemon",
	"sendmail": "mail transfer agent",
	"listen":   "port monitor",
	"nfsd":     "NFS server", "rpc.nfsd": "NFS server",
	"mountd": "NFS mount daemon", "rpc.mountd": "NFS mount daemon",
	"statd": "NFS status monitor", "rpc.statd": "NFS status monitor",
	"lockd": "NFS lock daemon", "rpc.lockd": "NFS lock daemon",
}

// mustNotRun refuses a line that runs one of notForInetd: by the program's
// base name, the name it resolves to, or argv[0]'s.
func mustNotRun(s *Service) string {
	names := []string{filepath.Base(s.Program), filepath.Base(s.Args[0])}
	if real, err := filepath.EvalSymlinks(s.Program); err == nil {
		names = append(names, filepath.Base(real))
	}
	for _, name := range names {
		if what, ok := notForInetd[name]; ok {
			return fmt.Sprintf("%s is %s (a %s): a standalone daemon, which inetd(8) says must not be run from inetd; the service is not started", s.Program, name, what)
		}
	}
	return ""
}

func isBuiltin(name string) bool {
	_, ok := builtins.Lookup(name)
	return ok
}

// builtinList names the built-ins for an error message, in builtins.Table's order.
func builtinList() string {
	names := builtins.Names()
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isHostName accepts the characters of DNS and /etc/hosts names, so that
// junk is reported as a bad address instead of being sent to a resolver.
func isHostName(h string) bool {
	if h == "" || len(h) > 253 || h[0] == '-' || h[0] == '.' {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_':
		default:
			return false
		}
	}
	return true
}
