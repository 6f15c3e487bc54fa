package hosts

import (
	"strconv"
	"strings"
	"time"
)

// Option is one hosts_options(5) option as written: the keyword (lower
// case) and its value ("" when none). Values of spawn, twist and setenv
// are % templates for Expand.
type Option struct {
	Name  string
	Value string
}

// Options are the parsed options of a rule, in the order libwrap applies
// them (List) and by name. The zero value is no options: the file's own
// verdict stands and nothing runs.
type Options struct {
	List []Option // every option, in order

	Allow bool // "allow": grant, even in hosts.deny (always last)
	Deny  bool // "deny": deny, even in hosts.allow (always last)

	Spawn    []string // "spawn cmd": % templates, run in order, output to /dev/null
	Twist    string   // "twist cmd": % template that replaces the server (always last)
	Banners  string   // "banners /dir": directory holding a file named after the daemon
	Setenv   []string // "setenv name value": % templates; see SplitSetenv
	Severity string   // "severity [facility.]level", lower case

	HasUmask bool
	Umask    uint32 // "umask 022"

	User  string // "user name" or "user name.group"
	Group string // "group name"

	HasNice bool
	Nice    int // "nice [n]", default 10

	Keepalive bool // "keepalive"

	HasLinger bool
	Linger    time.Duration // "linger seconds"

	RFC931        bool          // "rfc931 [timeout]": look the client user up
	RFC931Timeout time.Duration // 0: the caller's default
}

// SplitSetenv splits an expanded setenv value into name and value as
// libwrap does: the name ends at the first blank; blanks around both are
// trimmed.
func SplitSetenv(expanded string) (name, value string) {
	i := strings.IndexAny(expanded, " \t\r\n")
	if i < 0 {
		return strings.Trim(expanded, " \t\r\n"), ""
	}
	return strings.Trim(expanded[:i], " \t\r\n"), strings.Trim(expanded[i+1:], " \t\r\n")
}

type optSpec struct {
	needArg, permitArg, last bool
}

var optTable = map[string]optSpec{
	"user":      {needArg: true, permitArg: true},
	"group":     {needArg: true, permitArg: true},
	"umask":     {needArg: true, permitArg: true},
	"linger":    {needArg: true, permitArg: true},
	"keepalive": {},
	"spawn":     {needArg: true, permitArg: true},
	"twist":     {needArg: true, permitArg: true, last: true},
	"rfc931":    {permitArg: true},
	"setenv":    {needArg: true, permitArg: true},
	"nice":      {permitArg: true},
	"severity":  {needArg: true, permitArg: true},
	"allow":     {last: true},
	"deny":      {last: true},
	"banners":   {needArg: true, permitArg: true},
}

var (
	syslogFacilities = map[string]bool{"kern": true, "user": true, "mail": true, "daemon": true,
		"auth": true, "syslog": true, "lpr": true, "news": true, "uucp": true, "cron": true,
		"authpriv": true, "ftp": true, "local0": true, "local1": true, "local2": true,
		"local3": true, "local4": true, "local5": true, "local6": true, "local7": true}
	syslogLevels = map[string]bool{"emerg": true, "alert": true, "crit": true, "err": true,
		"warning": true, "notice": true, "info": true, "debug": true}
)

// optField is one ":"-separated option field with its offset.
type optField struct {
	s   string
	off int
}

// splitOptions is libwrap's get_field: fields end at ":", and "\:" stands
// for a literal colon. A single trailing ":" ends the list.
func splitOptions(s string, base int) []optField {
	var out []optField
	i := 0
	for i < len(s) {
		var b strings.Builder
		start := i
		for i < len(s) {
			c := s[i]
			if c == ':' {
				i++
				break
			}
			if c == '\\' && i+1 < len(s) && s[i+1] == ':' {
				i++
				c = ':'
			}
			b.WriteByte(c)
			i++
		}
		out = append(out, optField{b.String(), base + start})
	}
	return out
}

const blanks = " \t\r\n"

// parseOptions parses the option fields of a rule (everything after the
// client list), checking what libwrap checks when it applies them, so a
// rule that libwrap would reject at connection time fails the load here.
func parseOptions(s string, base int) (Options, []error) {
	var o Options
	var errs []error
	fields := splitOptions(s, base)
	for i, f := range fields {
		lead := len(f.s) - len(strings.TrimLeft(f.s, blanks))
		opt := strings.Trim(f.s, blanks)
		off := f.off + lead
		key, value := opt, ""
		if j := strings.IndexAny(opt, blanks+"="); j >= 0 {
			key, value = opt[:j], opt[j:]
			value = strings.TrimLeft(value, blanks)
			value = strings.TrimPrefix(value, "=")
			value = strings.TrimLeft(value, blanks)
		}
		if key == "" {
			errs = append(errs, tokErrorf(off, "missing option name"))
			continue
		}
		name := lower(key)
		spec, ok := optTable[name]
		if !ok {
			if name == "aclexec" {
				errs = append(errs, tokErrorf(off, "option %q is not supported", key))
			} else {
				errs = append(errs, tokErrorf(off, "unknown option %q; expect allow, deny, spawn, twist, banners, setenv, umask, user, group, nice, keepalive, linger, severity or rfc931", key))
			}
			continue
		}
		if value == "" && spec.needArg {
			errs = append(errs, tokErrorf(off, "option %q requires a value", key))
			continue
		}
		if value != "" && !spec.permitArg {
			errs = append(errs, tokErrorf(off, "option %q takes no value", key))
			continue
		}
		if spec.last && i+1 < len(fields) {
			errs = append(errs, tokErrorf(off, "option %q must be the last option", key))
			continue
		}
		o.List = append(o.List, Option{name, value})
		bad := func(what string) {
			errs = append(errs, tokErrorf(off, "option %q: bad %s %q", key, what, value))
		}
		switch name {
		case "allow":
			o.Allow = true
		case "deny":
			o.Deny = true
		case "spawn":
			o.Spawn = append(o.Spawn, value)
		case "twist":
			o.Twist = value
		case "banners":
			o.Banners = value
		case "setenv":
			o.Setenv = append(o.Setenv, value)
		case "severity":
			if !validSeverity(value) {
				bad("syslog facility or severity")
			}
			o.Severity = lower(value)
		case "umask":
			n, err := strconv.ParseUint(value, 8, 32)
			if err != nil || n&0777 != n {
				bad("umask")
			}
			o.HasUmask, o.Umask = true, uint32(n)
		case "user":
			o.User = value
		case "group":
			o.Group = value
		case "nice":
			o.HasNice, o.Nice = true, 10
			if value != "" {
				n, err := strconv.Atoi(value)
				if err != nil {
					bad("nice value")
				}
				o.Nice = n
			}
		case "keepalive":
			o.Keepalive = true
		case "linger":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				bad("linger value")
			}
			o.HasLinger, o.Linger = true, time.Duration(n)*time.Second
		case "rfc931":
			o.RFC931 = true
			if value != "" {
				n, err := strconv.Atoi(value)
				if err != nil || n <= 0 {
					bad("rfc931 timeout")
				}
				o.RFC931Timeout = time.Duration(n) * time.Second
			}
		}
	}
	return o, errs
}

func validSeverity(v string) bool {
	v = lower(v)
	if fac, lev, ok := strings.Cut(v, "."); ok {
		return syslogFacilities[fac] && syslogLevels[lev]
	}
	return syslogLevels[v]
}
