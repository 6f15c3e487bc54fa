package xinetd

import (
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/builtins"
)

// Note is one thing the translation says about an attribute: Untranslated
// notes are meanings hinetd does not have (the attribute is not carried
// over); the others say how an attribute was carried over when that is
// not obvious.
type Note struct {
	Pos          string // file:line
	Service      string // the xinetd service name or id; "" for defaults
	Attr         string
	Untranslated bool
	Msg          string
}

func (n Note) String() string {
	what := "note"
	if n.Untranslated {
		what = "not translated"
	}
	svc := ""
	if n.Service != "" {
		svc = "service " + n.Service + ": "
	}
	return fmt.Sprintf("%s: %s%s: %s: %s", n.Pos, svc, n.Attr, what, n.Msg)
}

// Result is the translation: the text of each file, and the notes.
type Result struct {
	InetdConf  string
	Policy     string
	HostsAllow string
	HostsDeny  string
	Notes      []Note
	Services   int // services written (disabled ones included, as "#<off>#" lines)

	lookupPort    func(name, proto string) (int, error)
	auditFacility string // from the defaults' log_type SYSLOG FACILITY
}

// Options are the system lookups; nil uses the system's.
type Options struct {
	// LookupPort returns the port of a service name for "tcp" or "udp"
	// (/etc/services).
	LookupPort func(name, proto string) (int, error)
}

// value is an attribute's value after the defaults and the operators.
type value struct {
	vals []string
	attr *Attr // the last line that set or changed it
}

// Convert translates c. Every service gets an inetd.conf line (a disabled
// one as "#<off># line", as update-inetd writes it, so that
// update-inetd --enable works), its limits and process settings in a
// [service NAME] policy section, and its only_from/no_access in hosts
// rules for the daemon name hinetd's rules see.
func Convert(c *Config, o Options) *Result {
	if o.LookupPort == nil {
		o.LookupPort = func(name, proto string) (int, error) { return net.LookupPort(proto, name) }
	}
	r := &Result{lookupPort: o.LookupPort}
	defs := map[string]*value{}
	for _, s := range c.Defaults {
		for _, a := range s.Attrs {
			apply(defs, a)
		}
	}
	r.defaultsNotes(defs)
	var inetd, policy, allow, deny strings.Builder
	inetd.WriteString("# inetd.conf written by hinetd-import from xinetd's configuration.\n")
	policy.WriteString("# hinetd policy written by hinetd-import: xinetd's per-service process\n# settings and limits (hinetd.policy(5)).\n")
	allow.WriteString("# hosts.allow rules written by hinetd-import from only_from/no_access:\n# put them before the rules already in /etc/hosts.allow.\n")
	deny.WriteString("# hosts.deny rules written by hinetd-import from only_from/no_access:\n# put them before the rules already in /etc/hosts.deny.\n")
	sections := map[string]string{}  // policy section text by inetd.conf service field
	listeners := map[string]string{} // file:line of the service by inetd.conf field and protocol
	acls := map[string]string{}      // hosts rules by daemon name
	for _, s := range c.Services {
		vals := map[string]*value{}
		for k, v := range defs {
			vals[k] = &value{vals: slices.Clone(v.vals), attr: v.attr}
		}
		for _, a := range s.Attrs {
			apply(vals, a)
		}
		r.service(s, vals, defs, sections, acls, listeners, &inetd, &policy, &allow, &deny)
	}
	if r.auditFacility != "" {
		fmt.Fprintf(&policy, "\n# log_type of the defaults section\n[audit]\nlog-facility %s\n", r.auditFacility)
	}
	r.InetdConf, r.Policy, r.HostsAllow, r.HostsDeny = inetd.String(), policy.String(), allow.String(), deny.String()
	return r
}

// apply is one attribute line: = replaces, += adds, -= removes.
func apply(m map[string]*value, a *Attr) {
	v := m[a.Name]
	if v == nil || a.Op == Set {
		v = &value{}
		m[a.Name] = v
	}
	v.attr = a
	switch a.Op {
	case Set, Add:
		v.vals = append(v.vals, a.Values...)
	case Remove:
		v.vals = slices.DeleteFunc(v.vals, func(s string) bool { return slices.Contains(a.Values, s) })
	}
}

func (r *Result) note(a *Attr, svc string, untranslated bool, format string, args ...any) {
	r.Notes = append(r.Notes, Note{Pos: a.Pos(), Service: svc, Attr: a.Name, Untranslated: untranslated, Msg: fmt.Sprintf(format, args...)})
}

// defaultsNotes reports defaults attributes that apply to the daemon as a
// whole rather than to a service.
func (r *Result) defaultsNotes(defs map[string]*value) {
	for _, name := range sortedKeys(defs) {
		v := defs[name]
		switch name {
		case "log_type":
			if len(v.vals) > 0 && strings.EqualFold(v.vals[0], "SYSLOG") && len(v.vals) > 1 {
				if _, ok := audit.ParseFacility(v.vals[1]); ok {
					r.auditFacility = strings.ToLower(v.vals[1])
					r.note(v.attr, "", false, "the audit records go to syslog facility %s: written as the policy's [audit] log-facility (the [audit] section may be written once across /etc/hinetd/*.policy)", r.auditFacility)
				} else {
					r.note(v.attr, "", true, "unknown syslog facility %q", v.vals[1])
				}
			} else if len(v.vals) > 0 && strings.EqualFold(v.vals[0], "FILE") {
				r.note(v.attr, "", true, "hinetd writes no text log file; --log-to file:///PATH.jsonl writes JSON lines, or log to syslog")
			}
		case "max_load":
			r.note(v.attr, "", true, "hinetd does not watch the load average; --max-children and --accept-rate bound the work instead")
		case "log_on_success", "log_on_failure":
			r.note(v.attr, "", false, "hinetd always audits every connection: accept, verdict with the rule, spawn with pid and ids, exit with status and duration")
		case "cps", "instances", "per_source", "only_from", "no_access", "umask", "passenv", "env", "groups", "nice",
			"disabled", "enabled", "banner", "banner_success", "banner_fail",
			"bind", "interface", "access_times", "rlimit_as", "rlimit_files", "rlimit_cpu", "rlimit_data", "rlimit_rss", "rlimit_stack",
			"mdns", "libwrap", "deny_time", "v6only":
			// per service: carried into every service below
		default:
			r.note(v.attr, "", true, "unknown attribute in defaults")
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// one returns a single-valued attribute ("" when unset).
func one(vals map[string]*value, name string) string {
	if v := vals[name]; v != nil && len(v.vals) > 0 {
		return v.vals[0]
	}
	return ""
}

// service translates one service section.
func (r *Result) service(s *Section, vals, defs map[string]*value, sections, acls, listeners map[string]string, inetd, policy, allow, deny *strings.Builder) {
	name := s.Service
	id := name
	if v := one(vals, "id"); v != "" {
		id = v
	}
	at := &Attr{File: s.File, Line: s.Line, Name: "service"}
	skip := func(a *Attr, format string, args ...any) {
		if a == nil {
			a = at
		}
		r.note(a, id, true, "the service is not written: "+format, args...)
	}
	attr := func(n string) *Attr {
		if v := vals[n]; v != nil {
			return v.attr
		}
		return at
	}
	flags := map[string]bool{}
	if v := vals["flags"]; v != nil {
		for _, f := range v.vals {
			flags[strings.ToUpper(f)] = true
		}
	}
	types := map[string]bool{}
	if v := vals["type"]; v != nil {
		for _, t := range v.vals {
			types[strings.ToUpper(t)] = true
		}
	}
	if types["RPC"] || vals["rpc_version"] != nil || vals["rpc_number"] != nil {
		skip(attr("type"), "RPC services are not run by hinetd (inetd(8): NFS and RPC servers must not be run from it)")
		return
	}
	if types["TCPMUX"] || types["TCPMUXPLUS"] {
		skip(attr("type"), "hinetd has no TCPMUX (RFC 1078) multiplexer")
		return
	}
	if v := vals["redirect"]; v != nil {
		skip(v.attr, "redirect forwards connections to another host; hinetd runs programs and built-ins, it does not proxy")
		return
	}
	st := one(vals, "socket_type")
	if st != "stream" && st != "dgram" {
		skip(attr("socket_type"), "socket_type %q; hinetd serves stream and dgram", st)
		return
	}
	proto := one(vals, "protocol")
	if proto == "" {
		proto = map[string]string{"stream": "tcp", "dgram": "udp"}[st]
	}
	if proto != "tcp" && proto != "udp" {
		skip(attr("protocol"), "protocol %q; expect tcp or udp", proto)
		return
	}
	wait := one(vals, "wait")
	if wait != "yes" && wait != "no" {
		skip(attr("wait"), "wait must be yes or no, not %q", wait)
		return
	}
	waitField := map[string]string{"yes": "wait", "no": "nowait"}[wait]
	bind := one(vals, "bind")
	if bind == "" {
		bind = one(vals, "interface")
	}
	switch {
	case flags["IPV6"] && flags["IPV4"]:
		proto += "46"
	case flags["IPV6"]:
		proto += "6"
	case flags["IPV4"]:
		proto += "4"
	}
	// The service field: the name when /etc/services gives it the port
	// xinetd would use, else the number.
	field := name
	port := one(vals, "port")
	base := strings.TrimRight(proto, "46")
	known, err := r.lookup(name, base)
	switch {
	case port == "" && err != nil:
		skip(at, "%q is not in /etc/services for %s and no port is given", name, base)
		return
	case port != "":
		p, perr := strconv.Atoi(port)
		if perr != nil || p < 1 || p > 65535 {
			skip(attr("port"), "port %q is not a number from 1 to 65535", port)
			return
		}
		if err != nil || known != p {
			field = port
		}
	}
	name0 := field // the service field without an address: what policy sections name
	if bind != "" {
		a, err := netip.ParseAddr(bind)
		switch {
		case err != nil:
			field = bind + ":" + field // a host name: hinetd resolves it
		case a.Is6():
			field = "[" + a.String() + "]:" + field
		default:
			field = a.String() + ":" + field
		}
	}
	user := one(vals, "user")
	group := one(vals, "group")
	var program, daemon string
	var argv []string
	if types["INTERNAL"] {
		if _, ok := builtins.Lookup(name); !ok {
			skip(attr("type"), "xinetd's built-in %q has no hinetd equivalent; hinetd's are %s", name, strings.Join(builtins.Names(), ", "))
			return
		}
		if user == "" {
			user = "root"
		}
		program, daemon = "internal", name
		if field != name {
			argv = []string{name}
		}
		if st == "stream" {
			waitField = "nowait" // built-ins run inside hinetd; a stream one cannot be wait
		}
	} else {
		program = one(vals, "server")
		if !filepath.IsAbs(program) {
			skip(attr("server"), "server %q must be an absolute path", program)
			return
		}
		if user == "" {
			skip(at, "no user: xinetd runs a service without one as itself (root); write the user explicitly")
			return
		}
		var args []string
		if v := vals["server_args"]; v != nil {
			args = v.vals
		}
		if flags["NAMEINARGS"] {
			if len(args) == 0 {
				skip(attr("flags"), "NAMEINARGS with no server_args: the program's argv[0] is missing")
				return
			}
			argv = args
		} else {
			argv = append([]string{filepath.Base(program)}, args...)
		}
		daemon = filepath.Base(argv[0])
		// tcpd from xinetd: hinetd runs the real server and decides the
		// hosts rules itself (the daemon name is the server's).
		if filepath.Base(program) == "tcpd" && len(argv) > 0 {
			daemon = filepath.Base(argv[0])
		}
	}
	lkey := field + " " + proto
	if prev, ok := listeners[lkey]; ok {
		skip(at, "it listens where the service at %s does (%s/%s); xinetd would bind one of them", prev, field, proto)
		return
	}
	listeners[lkey] = fmt.Sprintf("%s:%d", s.File, s.Line)
	ug := user
	if group != "" {
		ug += ":" + group
	}
	line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", field, st, proto, waitField, ug, program)
	if len(argv) > 0 {
		line += "\t" + strings.Join(argv, " ")
	}
	disabled := strings.EqualFold(one(vals, "disable"), "yes")
	if v := defs["disabled"]; v != nil && (slices.Contains(v.vals, name) || slices.Contains(v.vals, id)) {
		disabled = true
	}
	if v := defs["enabled"]; v != nil && len(v.vals) > 0 && !slices.Contains(v.vals, name) && !slices.Contains(v.vals, id) {
		disabled = true
	}
	fmt.Fprintf(inetd, "# %s (%s:%d)\n", id, s.File, s.Line)
	if disabled {
		inetd.WriteString("#<off># ")
	}
	inetd.WriteString(line + "\n")
	r.Services++

	// Process settings and limits: the policy.
	var pol []string
	setting := func(format string, args ...any) { pol = append(pol, fmt.Sprintf(format, args...)) }
	count := func(n string) (string, bool) {
		v := one(vals, n)
		if v == "" || strings.EqualFold(v, "UNLIMITED") {
			return "", false
		}
		if _, err := strconv.Atoi(v); err != nil {
			r.note(attr(n), id, true, "%q is not a number or UNLIMITED", v)
			return "", false
		}
		return v, true
	}
	if n, ok := count("instances"); ok {
		setting("max-child %s", n)
	}
	if n, ok := count("per_source"); ok {
		if wait == "yes" {
			r.note(attr("per_source"), id, true, "per-client limits need nowait: with wait the server accepts clients itself")
		} else {
			setting("max-child-per-ip %s", n)
		}
	}
	if v := vals["cps"]; v != nil && len(v.vals) > 0 {
		if len(v.vals) > 2 {
			r.note(v.attr, id, true, "cps takes RATE [WAIT], not %q", strings.Join(v.vals, " "))
		} else {
			setting("cps %s", strings.Join(v.vals, " "))
		}
	}
	if v := one(vals, "nice"); v != "" {
		setting("nice %s", v)
	}
	if v := one(vals, "umask"); v != "" {
		setting("umask %s", v)
	}
	if v := vals["env"]; v != nil {
		for _, e := range v.vals {
			if !strings.Contains(e, "=") {
				r.note(v.attr, id, true, "env %q is not NAME=VALUE", e)
				continue
			}
			setting("env %s", e)
		}
	}
	if v := vals["passenv"]; v != nil && len(v.vals) > 0 {
		setting("pass %s", strings.Join(v.vals, " "))
	}
	if strings.EqualFold(one(vals, "groups"), "no") {
		setting("groups none")
	}
	for _, rl := range [][2]string{{"rlimit_as", "as"}, {"rlimit_files", "nofile"}, {"rlimit_cpu", "cpu"},
		{"rlimit_data", "data"}, {"rlimit_rss", "rss"}, {"rlimit_stack", "stack"}} {
		v := vals[rl[0]]
		if v == nil || len(v.vals) == 0 {
			continue
		}
		vs := make([]string, len(v.vals))
		for i, x := range v.vals {
			vs[i] = x
			if strings.EqualFold(x, "UNLIMITED") {
				vs[i] = "infinity"
			}
		}
		setting("rlimit %s %s", rl[1], strings.Join(vs, " "))
	}
	if len(pol) > 0 {
		text := strings.Join(pol, "\n") + "\n"
		if prev, ok := sections[name0]; ok {
			if prev != text {
				r.note(at, id, true, "another service with the inetd.conf name %q has other settings; a policy section is per name: the first one's settings are kept", name0)
			}
		} else {
			sections[name0] = text
			fmt.Fprintf(policy, "\n# %s (%s:%d)\n[service %s]\n%s", id, s.File, s.Line, name0, text)
		}
	}

	// Attributes with no hinetd meaning, and ones carried over silently.
	for _, n := range sortedKeys(vals) {
		v := vals[n]
		switch n {
		case "access_times":
			r.note(v.attr, id, true, "hinetd has no time-of-day access control")
		case "banner", "banner_success", "banner_fail":
			r.note(v.attr, id, true, "xinetd banners are not written; a hosts rule's \"banners /dir\" option (hosts_options(5)) sends one per daemon name")
		case "deny_time":
			r.note(v.attr, id, true, "deny_time goes with SENSOR, which hinetd does not have")
		case "max_load":
			r.note(v.attr, id, true, "hinetd does not watch the load average; max-child and --max-children bound the work instead")
		case "libwrap":
			r.note(v.attr, id, false, "hinetd's hosts rules see the daemon name %q (the server's argv[0]), not %q", daemon, one(vals, "libwrap"))
		case "log_on_success", "log_on_failure":
			if d := defs[n]; d != nil && d.attr == v.attr {
				continue // said once, for the defaults
			}
			r.note(v.attr, id, false, "hinetd always audits every connection: accept, verdict with the rule, spawn with pid and ids, exit with status and duration")
		case "mdns":
			r.note(v.attr, id, true, "hinetd does not announce services over mDNS")
		case "flags":
			for _, f := range v.vals {
				switch strings.ToUpper(f) {
				case "IPV4", "IPV6", "NAMEINARGS":
				case "REUSE":
					// hinetd always sets SO_REUSEADDR
				case "NOLIBWRAP":
					r.note(v.attr, id, true, "NOLIBWRAP: hinetd decides every connection by hosts.allow and hosts.deny")
				case "NODELAY", "KEEPALIVE":
					r.note(v.attr, id, true, "%s: hinetd sets no per-service TCP socket options", f)
				case "SENSOR":
					r.note(v.attr, id, true, "SENSOR: hinetd has no sensor services that ban clients")
				case "IDONLY", "USERID":
					r.note(v.attr, id, true, "%s: use a user@host pattern in the hosts rules (ident, RFC 1413)", f)
				default:
					r.note(v.attr, id, true, "flag %s has no hinetd equivalent", f)
				}
			}
		case "type":
			for _, t := range v.vals {
				if u := strings.ToUpper(t); u != "INTERNAL" && u != "UNLISTED" {
					r.note(v.attr, id, true, "type %s has no hinetd equivalent", t)
				}
			}
		case "id", "socket_type", "protocol", "wait", "user", "group", "server", "server_args", "port", "bind", "interface",
			"disable", "instances", "per_source", "cps", "nice", "umask", "env", "passenv", "groups", "only_from", "no_access",
			"rlimit_as", "rlimit_files", "rlimit_cpu", "rlimit_data", "rlimit_rss", "rlimit_stack", "log_type", "disabled", "enabled", "v6only":
		default:
			if v.attr != nil && v.attr.Name == n {
				r.note(v.attr, id, true, "unknown attribute")
			}
		}
	}

	// only_from and no_access: hosts rules for the daemon name.
	acl, notes := hostsRules(daemon, vals)
	for _, n := range notes {
		n.Service = id
		r.Notes = append(r.Notes, n)
	}
	if acl.allow == "" && acl.deny == "" {
		return
	}
	key := acl.allow + "\x00" + acl.deny
	if prev, ok := acls[daemon]; ok {
		if prev != key {
			r.note(attr("only_from"), id, true, "hosts rules are per daemon name, and another service run as %q has other only_from/no_access: its rules are kept", daemon)
		}
		return
	}
	acls[daemon] = key
	fmt.Fprintf(allow, "\n# %s (%s:%d)\n%s", id, s.File, s.Line, acl.allow)
	fmt.Fprintf(deny, "\n# %s (%s:%d)\n%s", id, s.File, s.Line, acl.deny)
}

func (r *Result) lookup(name, proto string) (int, error) {
	return r.lookupPort(name, proto)
}
