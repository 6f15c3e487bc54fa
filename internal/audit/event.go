package audit

import (
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Kind says what an Event records. The zero value is KindLog: an ordinary
// daemon log line (from the slog adapter), not a decision.
type Kind uint8

const (
	KindLog          Kind = iota // ordinary daemon message (slog)
	KindStart                    // daemon started: version, config hash, options
	KindStop                     // daemon stopping
	KindReload                   // configuration re-read: added, removed, changed, hash
	KindConfigError              // a configuration problem, file:line
	KindListenerUp               // a listener bound
	KindListenerDown             // a listener closed
	KindAccept                   // connection accepted (or datagram received)
	KindDeny                     // refused by the ACL: rule file:line and text
	KindLimit                    // refused by a limit: which limit; summaries carry counts
	KindSpawn                    // child started: pid, uid, gid, policy name and hash
	KindSpawnFail                // child failed before execve: step, errno
	KindExit                     // child ended: status or signal, duration, seccomp syscall
	KindBuiltin                  // built-in service served
	KindSuspend                  // service suspended (e.g. too many failures)
	KindResume                   // service resumed
	KindDump                     // SIGUSR1 state dump, one record per line
	KindDrop                     // records were dropped for a sink: count and time span
	KindBindError                // a service's socket could not be made: socket, bind or listen failed
	kindCount
)

var kindNames = [kindCount]string{
	KindLog:          "log",
	KindStart:        "start",
	KindStop:         "stop",
	KindReload:       "reload",
	KindConfigError:  "config-error",
	KindListenerUp:   "listener-up",
	KindListenerDown: "listener-down",
	KindAccept:       "accept",
	KindDeny:         "deny",
	KindLimit:        "limit",
	KindSpawn:        "spawn",
	KindSpawnFail:    "spawn-fail",
	KindExit:         "exit",
	KindBuiltin:      "builtin",
	KindSuspend:      "suspend",
	KindResume:       "resume",
	KindDump:         "dump",
	KindDrop:         "drop",
	KindBindError:    "bind-error",
}

// String returns the kind's name as it appears in records (the RFC 5424
// MSGID and the "kind" field): "accept", "deny", "spawn-fail", ...
func (k Kind) String() string {
	if k < kindCount {
		return kindNames[k]
	}
	return "kind" + strconv.Itoa(int(k))
}

// ParseKind is the inverse of Kind.String.
func ParseKind(s string) (Kind, bool) {
	for k, n := range kindNames {
		if n == s {
			return Kind(k), true
		}
	}
	return 0, false
}

// Severity is a syslog severity. The zero value, SevDefault, means "the
// default for the event's Kind" (see DefaultSeverity); the others are the
// RFC 5424 severities shifted by one so that zero stays "unset".
type Severity uint8

const (
	SevDefault Severity = iota
	SevEmerg
	SevAlert
	SevCrit
	SevErr
	SevWarning
	SevNotice
	SevInfo
	SevDebug
)

var sevNames = []string{"", "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}

// Code is the RFC 5424 numeric severity (0 emerg .. 7 debug); SevDefault
// reads as info.
func (s Severity) Code() int {
	if s == SevDefault || s > SevDebug {
		return 6
	}
	return int(s) - 1
}

func (s Severity) String() string {
	if s > SevDebug {
		return "sev" + strconv.Itoa(int(s))
	}
	if s == SevDefault {
		return "default"
	}
	return sevNames[s]
}

// ParseSeverity reads a syslog.conf level name ("warning", "warn", "err",
// "error", "emerg", "panic", ...) or a number 0..7.
func ParseSeverity(s string) (Severity, bool) {
	s = strings.ToLower(s)
	switch s {
	case "warn":
		return SevWarning, true
	case "error":
		return SevErr, true
	case "panic":
		return SevEmerg, true
	}
	for i, n := range sevNames {
		if i > 0 && n == s {
			return Severity(i), true
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 7 {
		return Severity(n + 1), true
	}
	return SevDefault, false
}

// DefaultSeverity is the severity used for an Event whose Severity is
// SevDefault. Denials and limits are warnings, as tcpd's deny_severity;
// failures are errors; a dropped audit record is an error because the
// audit trail now has a hole.
func DefaultSeverity(k Kind) Severity {
	switch k {
	case KindDeny, KindLimit, KindSuspend, KindListenerDown:
		return SevWarning
	case KindConfigError, KindSpawnFail, KindDrop, KindBindError:
		return SevErr
	case KindStart, KindStop, KindReload:
		return SevNotice
	}
	return SevInfo
}

// Facility is a syslog facility. The zero value, FacDefault, means "the
// Log's configured facility" (itself daemon by default); the others are
// the RFC 5424 codes shifted by one.
type Facility uint8

const FacDefault Facility = 0

var facNames = []string{"", "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "security", "console", "solaris-cron",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}

// Named facilities used by inetd set-ups (RFC 5424 code + 1).
const (
	FacDaemon   Facility = 4
	FacAuth     Facility = 5
	FacAuthpriv Facility = 11
	FacLocal0   Facility = 17
)

// Code is the RFC 5424 numeric facility; FacDefault reads as daemon (3).
func (f Facility) Code() int {
	if f == FacDefault || int(f) >= len(facNames) {
		return 3
	}
	return int(f) - 1
}

func (f Facility) String() string {
	if f == FacDefault {
		return "default"
	}
	if int(f) < len(facNames) {
		return facNames[f]
	}
	return "fac" + strconv.Itoa(int(f))
}

// ParseFacility reads a syslog.conf facility name ("daemon", "auth",
// "local0", ...) or a number 0..23.
func ParseFacility(s string) (Facility, bool) {
	s = strings.ToLower(s)
	for i, n := range facNames {
		if i > 0 && n == s {
			return Facility(i), true
		}
	}
	if n, err := strconv.Atoi(s); err == nil && n >= 0 && n <= 23 {
		return Facility(n + 1), true
	}
	return FacDefault, false
}

// ParseLevel reads the argument of the hosts_options(5) "severity" option,
// "[facility.]level" (e.g. "auth.notice", "warning"), into the values that
// go into Event.Facility and Event.Severity.
func ParseLevel(s string) (Facility, Severity, bool) {
	fac := FacDefault
	if i := strings.IndexByte(s, '.'); i >= 0 {
		f, ok := ParseFacility(s[:i])
		if !ok {
			return FacDefault, SevDefault, false
		}
		fac, s = f, s[i+1:]
	}
	sev, ok := ParseSeverity(s)
	if !ok {
		return FacDefault, SevDefault, false
	}
	return fac, sev, true
}

// Field is one extra key/value of an Event, kept in the order given. Keys
// should be short lower-case words (they become RFC 5424 PARAM-NAMEs, at
// most 32 printable ASCII characters; others are rewritten).
type Field struct {
	Key, Value string
}

// Keys for the extra fields of each Kind, so that the producers (ACL,
// limits, spawn, daemon) and the readers of the log agree on names.
const (
	KeyRule     = "rule"     // deny: "hosts.deny:3"
	KeyRuleText = "ruletext" // deny: the rule as written
	KeyLimit    = "limit"    // limit: which limit ("rate", "per-source", "instances", ...)
	KeyCount    = "count"    // summaries, drop records: how many
	KeySummary  = "summary"  // summaries: the window ("1s")
	KeyPID      = "pid"      // spawn, exit
	KeyUID      = "uid"      // spawn
	KeyGID      = "gid"      // spawn
	KeyPolicy   = "policy"   // spawn: policy name
	KeyHash     = "hash"     // spawn: policy hash; start, reload: config hash
	KeyStep     = "step"     // spawn-fail: the confinement step that failed
	KeyErrno    = "errno"    // spawn-fail: errno name ("EPERM")
	KeyStatus   = "status"   // exit: exit status
	KeySignal   = "signal"   // exit: terminating signal name
	KeyDuration = "duration" // exit: run time
	KeySyscall  = "syscall"  // exit: seccomp violation syscall name
	KeyFile     = "file"     // config-error: file:line
	KeyVersion  = "version"  // start
	KeySink     = "sink"     // drop: which sink lost records
	KeyFirst    = "first"    // drop: time of the first dropped record
	KeyLast     = "last"     // drop: time of the last dropped record
	KeyPart     = "part"     // dump: "3/17"
	KeyDaemon   = "daemon"   // connection records: the daemon name hosts rules saw
	KeyProgram  = "program"  // connection records: the server run, or "internal NAME"
)

// Field values are text (RFC 5424 PARAM-VALUEs are); the JSON format
// writes the keys that Int, Uint and Dur make as numbers, so that a reader
// gets "pid":1964 and "duration":0.0109 (seconds) rather than strings, and
// the type of a key never changes from one record to the next.
const (
	typeInt = 1 + iota
	typeDur
)

// fieldTypes is each key Int, Uint or Dur has made: typeInt or typeDur.
// A key is typed by the first constructor that makes it.
var fieldTypes sync.Map

func typed(key string, t int) {
	if _, ok := fieldTypes.Load(key); !ok {
		fieldTypes.LoadOrStore(key, t)
	}
}

// Int makes a Field from an integer without fmt; JSON writes it as a number.
func Int(key string, v int64) Field {
	typed(key, typeInt)
	return Field{key, strconv.FormatInt(v, 10)}
}

// Uint makes a Field from an unsigned integer without fmt; JSON writes it
// as a number.
func Uint(key string, v uint64) Field {
	typed(key, typeInt)
	return Field{key, strconv.FormatUint(v, 10)}
}

// Dur makes a Field from a duration, in Go's notation ("1.5s"); JSON
// writes it as a number of seconds (1.5).
func Dur(key string, d time.Duration) Field {
	typed(key, typeDur)
	return Field{key, d.String()}
}

// appendJSONValue writes a field's value: a number for the keys Int,
// Uint and Dur make (a value that does not read back stays a string).
func appendJSONValue(b []byte, fl Field) []byte {
	t, _ := fieldTypes.Load(fl.Key)
	switch t {
	case typeInt:
		if _, err := strconv.ParseInt(fl.Value, 10, 64); err == nil {
			return append(b, fl.Value...)
		}
		if _, err := strconv.ParseUint(fl.Value, 10, 64); err == nil {
			return append(b, fl.Value...)
		}
	case typeDur:
		if d, err := time.ParseDuration(fl.Value); err == nil {
			return strconv.AppendFloat(b, d.Seconds(), 'f', -1, 64)
		}
	}
	return appendJSONString(b, fl.Value)
}

// Event is one audit record, plain data. The zero Event is a KindLog
// record with no text; Emit fills in Time when it is zero. Client and
// Local are left out of records when invalid (zero), and ConnID when 0.
type Event struct {
	Kind     Kind
	Time     time.Time
	Severity Severity // SevDefault: DefaultSeverity(Kind)
	Facility Facility // FacDefault: the Log's facility (hosts option "severity auth.notice")
	Service  string
	Proto    string // "tcp", "udp", "tcp6", "unix", ...
	Client   netip.AddrPort
	Local    netip.AddrPort
	ConnID   uint64 // ties accept, decision, spawn and exit of one connection together
	Msg      string // readable text; when empty one is made from the other fields
	Fields   []Field
}

// Field returns the value of the first field with the given key.
func (e *Event) Field(key string) (string, bool) {
	for _, f := range e.Fields {
		if f.Key == key {
			return f.Value, true
		}
	}
	return "", false
}

func (e *Event) severity() Severity {
	if e.Severity == SevDefault || e.Severity > SevDebug {
		return DefaultSeverity(e.Kind)
	}
	return e.Severity
}
