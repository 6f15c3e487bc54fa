package audit

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Format is the wire format of a sink. The zero value, FormatAuto, is
// RFC 5424 for network sinks and RFC 3164 for unix sockets (see
// parseTarget for why).
type Format uint8

const (
	FormatAuto    Format = iota // RFC 5424, but RFC 3164 to a unix socket
	FormatRFC5424               // RFC 5424 with structured data
	FormatRFC3164               // BSD syslog for old collectors; fields in MSG as key=value
	FormatJSON                  // one JSON object per line
	FormatText                  // readable line for a person (-d on stderr)
)

func (f Format) String() string {
	switch f {
	case FormatAuto:
		return "auto"
	case FormatRFC5424:
		return "rfc5424"
	case FormatRFC3164:
		return "rfc3164"
	case FormatJSON:
		return "json"
	case FormatText:
		return "text"
	}
	return "format" + strconv.Itoa(int(f))
}

// ParseFormat reads "rfc5424", "rfc3164", "json", "text", or "" and
// "auto" for FormatAuto (the values of --log-format and of a sink URL's
// format= parameter).
func ParseFormat(s string) (Format, bool) {
	switch strings.ToLower(s) {
	case "", "auto":
		return FormatAuto, true
	case "rfc5424", "5424":
		return FormatRFC5424, true
	case "rfc3164", "3164", "bsd":
		return FormatRFC3164, true
	case "json", "jsonl":
		return FormatJSON, true
	case "text":
		return FormatText, true
	}
	return FormatAuto, false
}

// SDID is the RFC 5424 SD-ID of hinetd's structured data element. An SD-ID
// without "@" is reserved for IANA registration (RFC 5424 7.); a private
// one is name@<private enterprise number>. 32473 is the PEN that RFC 5612
// reserves for documentation and examples; a site with its own PEN sets
// Formatter.SDID (or Options.SDID) to "hinetd@<its PEN>".
const SDID = "hinetd@32473"

// Formatter turns Events into bytes of one Format (FormatAuto reads as
// RFC 5424). The zero Formatter writes RFC 5424 with facility daemon, APP-NAME "hinetd", SD-ID SDID and
// "-" for the host and process id.
type Formatter struct {
	Format   Format
	Facility Facility // FacDefault: daemon
	Hostname string   // "" writes "-" (RFC 5424) or leaves the field out (RFC 3164, as /dev/log expects)
	AppName  string   // "" writes "hinetd"
	ProcID   string   // "" writes "-"; the daemon sets its pid
	SDID     string   // "" writes SDID
}

// Append appends one record for ev, without any transport framing or line
// end, to b. seq is the RFC 5424 meta sequenceId (1..2147483647; 0 leaves
// it out) that lets a collector drop the duplicates a reconnecting sink may
// resend.
func (f *Formatter) Append(b []byte, ev *Event, seq uint64) []byte {
	switch f.Format {
	case FormatRFC3164:
		return f.append3164(b, ev)
	case FormatJSON:
		return f.appendJSON(b, ev, seq)
	case FormatText:
		return appendText(b, ev)
	}
	return f.append5424(b, ev, seq)
}

func (f *Formatter) pri(ev *Event) int {
	fac := ev.Facility
	if fac == FacDefault {
		fac = f.Facility
	}
	return fac.Code()*8 + ev.severity().Code()
}

func (f *Formatter) appName() string {
	if f.AppName == "" {
		return "hinetd"
	}
	return f.AppName
}

// append5424 - SYSLOG-MSG = HEADER SP STRUCTURED-DATA [SP MSG] (RFC 5424 6.)
func (f *Formatter) append5424(b []byte, ev *Event, seq uint64) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(f.pri(ev)), 10)
	b = append(b, ">1 "...)
	b = appendStamp(b, ev.Time)
	b = append(b, ' ')
	b = appendHeaderField(b, f.Hostname, 255)
	b = append(b, ' ')
	b = appendHeaderField(b, f.appName(), 48)
	b = append(b, ' ')
	b = appendHeaderField(b, f.ProcID, 128)
	b = append(b, ' ')
	b = appendHeaderField(b, ev.Kind.String(), 32)
	b = append(b, " ["...)
	sdid := f.SDID
	if sdid == "" {
		sdid = SDID
	}
	b = appendSDName(b, sdid, 32)
	b = appendParam(b, "kind", ev.Kind.String())
	if ev.Service != "" {
		b = appendParam(b, "service", ev.Service)
	}
	if ev.Proto != "" {
		b = appendParam(b, "proto", ev.Proto)
	}
	if ev.Client.IsValid() {
		b = append(b, ` client="`...)
		b = ev.Client.Addr().Unmap().AppendTo(b)
		b = append(b, `" client-port="`...)
		b = strconv.AppendUint(b, uint64(ev.Client.Port()), 10)
		b = append(b, '"')
	}
	if ev.Local.IsValid() {
		b = append(b, ` local="`...)
		b = ev.Local.Addr().Unmap().AppendTo(b)
		b = append(b, `" local-port="`...)
		b = strconv.AppendUint(b, uint64(ev.Local.Port()), 10)
		b = append(b, '"')
	}
	if ev.ConnID != 0 {
		b = append(b, ` conn="`...)
		b = strconv.AppendUint(b, ev.ConnID, 10)
		b = append(b, '"')
	}
	for _, fl := range ev.Fields {
		b = append(b, ' ')
		b = appendSDName(b, fl.Key, 32)
		b = append(b, `="`...)
		b = appendParamValue(b, fl.Value)
		b = append(b, '"')
	}
	b = append(b, ']')
	if seq != 0 {
		b = append(b, `[meta sequenceId="`...)
		b = strconv.AppendUint(b, seq, 10)
		b = append(b, `"]`...)
	}
	b = append(b, ' ')
	return appendHuman(b, ev)
}

// append3164 - "<PRI>Mmm dd hh:mm:ss [HOST ]TAG[PID]: MSG" (RFC 3164 4.1).
// The timestamp is local time without a year, as old collectors expect.
func (f *Formatter) append3164(b []byte, ev *Event) []byte {
	b = append(b, '<')
	b = strconv.AppendInt(b, int64(f.pri(ev)), 10)
	b = append(b, '>')
	b = ev.Time.Local().AppendFormat(b, time.Stamp)
	b = append(b, ' ')
	if f.Hostname != "" {
		b = appendHeaderField(b, f.Hostname, 255)
		b = append(b, ' ')
	}
	b = appendHeaderField(b, f.appName(), 32)
	if f.ProcID != "" {
		b = append(b, '[')
		b = appendHeaderField(b, f.ProcID, 128)
		b = append(b, ']')
	}
	b = append(b, ": "...)
	return appendHuman(b, ev)
}

// appendHeaderField writes a PRINTUSASCII header field of at most max
// bytes, "-" when empty (RFC 5424 NILVALUE); other bytes become '_'.
func appendHeaderField(b []byte, s string, max int) []byte {
	if s == "" {
		return append(b, '-')
	}
	if len(s) > max {
		s = s[:max]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

// appendSDName writes an SD-NAME: 1..32 PRINTUSASCII except '=', SP, ']'
// and '"' (RFC 5424 6.3.3). Keys are chosen by our own code, so rewriting
// a bad byte to '_' is enough; it never happens with the Key constants.
func appendSDName(b []byte, s string, max int) []byte {
	if s == "" {
		return append(b, '_')
	}
	if len(s) > max {
		s = s[:max]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
			c = '_'
		}
		b = append(b, c)
	}
	return b
}

func appendParam(b []byte, name, value string) []byte {
	b = append(b, ' ')
	b = append(b, name...)
	b = append(b, `="`...)
	b = appendParamValue(b, value)
	return append(b, '"')
}

// appendParamValue - PARAM-VALUE is UTF-8 with '"', '\' and ']' escaped by
// a backslash (RFC 5424 6.3.3). Invalid UTF-8 (a client-supplied name, say)
// becomes U+FFFD so that the record stays valid. Control characters are
// legal there but break line-based transports and collectors (rsyslog
// rewrites them as #ooo), so they are written as the text \n, \t, \xNN
// (the backslash itself escaped), as in MSG.
func appendParamValue(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\' || c == ']':
				b = append(b, '\\', c)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\')
				b = appendCtl(b, c)
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

// appendHuman writes the readable text of ev on one line: what happened,
// to which service, from where, then the fields as key=value. It is the
// MSG of both syslog formats and the body of the text format.
func appendHuman(b []byte, ev *Event) []byte {
	start := len(b)
	if ev.Kind != KindLog {
		b = append(b, ev.Kind.String()...)
	}
	if ev.Service != "" || ev.Proto != "" {
		b = appendSep(b, start)
		b = appendClean(b, ev.Service)
		if ev.Proto != "" {
			b = append(b, '/')
			b = appendClean(b, ev.Proto)
		}
	}
	if ev.Client.IsValid() {
		b = appendSep(b, start)
		b = append(b, "from "...)
		b = unmapped(ev.Client).AppendTo(b)
	}
	if ev.Local.IsValid() {
		b = appendSep(b, start)
		b = append(b, "to "...)
		b = unmapped(ev.Local).AppendTo(b)
	}
	if ev.ConnID != 0 {
		b = appendSep(b, start)
		b = append(b, "conn="...)
		b = strconv.AppendUint(b, ev.ConnID, 10)
	}
	if ev.Msg != "" {
		if len(b) > start {
			b = append(b, ": "...)
		}
		b = appendClean(b, ev.Msg)
	}
	for _, fl := range ev.Fields {
		b = appendSep(b, start)
		b = appendSDName(b, fl.Key, 32) // the same key as in the structured data
		b = append(b, '=')
		b = appendTextValue(b, fl.Value)
	}
	return b
}

func appendSep(b []byte, start int) []byte {
	if len(b) > start {
		b = append(b, ' ')
	}
	return b
}

// appendClean copies s, writing control characters and invalid UTF-8 as
// \n, \t or \xNN so that one record is always one line.
func appendClean(b []byte, s string) []byte {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = appendCtl(b, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = appendCtl(b, c)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return b
}

func appendCtl(b []byte, c byte) []byte {
	switch c {
	case '\n':
		return append(b, `\n`...)
	case '\t':
		return append(b, `\t`...)
	case '\r':
		return append(b, `\r`...)
	}
	const hex = "0123456789abcdef"
	return append(b, '\\', 'x', hex[c>>4], hex[c&15])
}

// appendTextValue writes a value bare when that reads unambiguously, and
// Go-quoted otherwise (spaces, quotes, '=', empty).
func appendTextValue(b []byte, s string) []byte {
	bare := s != ""
	for i := 0; i < len(s) && bare; i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '=' || c == '\\' {
			bare = false
		}
	}
	if bare {
		return append(b, s...)
	}
	// Quoted as Go would, but without strconv's per-rune printability
	// tables: '"' and '\\' escaped, control bytes and invalid UTF-8 as
	// \n, \t, \xNN; other UTF-8 as is.
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
			i++
		case c >= 0x20 && c < 0x7f:
			b = append(b, c)
			i++
		case c < utf8.RuneSelf:
			b = appendCtl(b, c)
			i++
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				b = appendCtl(b, c)
			} else {
				b = append(b, s[i:i+n]...)
			}
			i += n
		}
	}
	return append(b, '"')
}

// appendStamp writes t as an RFC 5424 TIMESTAMP in UTC with microseconds
// (RFC 5424 6.2.3 allows at most six fractional digits), by hand: this is
// on every record and time.Format's layout interpreter is the slow part.
func appendStamp(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, min, sec := t.Clock()
	b = appendDigits(b, year, 4)
	b = append(b, '-')
	b = appendDigits(b, int(month), 2)
	b = append(b, '-')
	b = appendDigits(b, day, 2)
	b = append(b, 'T')
	b = appendDigits(b, hour, 2)
	b = append(b, ':')
	b = appendDigits(b, min, 2)
	b = append(b, ':')
	b = appendDigits(b, sec, 2)
	b = append(b, '.')
	b = appendDigits(b, t.Nanosecond()/1000, 6)
	return append(b, 'Z')
}

// appendDigits writes v (0 <= v < 10^width) in exactly width digits.
func appendDigits(b []byte, v, width int) []byte {
	var tmp [8]byte
	for i := width - 1; i >= 0; i-- {
		tmp[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, tmp[:width]...)
}

// appendText is the -d format: time, severity, then the readable text.
func appendText(b []byte, ev *Event) []byte {
	b = ev.Time.Local().AppendFormat(b, "2006-01-02 15:04:05.000")
	b = append(b, ' ')
	b = append(b, ev.severity().String()...)
	b = append(b, ' ')
	return appendHuman(b, ev)
}

func (f *Formatter) appendJSON(b []byte, ev *Event, seq uint64) []byte {
	b = append(b, `{"time":"`...)
	b = appendStamp(b, ev.Time)
	b = append(b, '"')
	if seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, seq, 10)
	}
	fac := ev.Facility
	if fac == FacDefault {
		fac = f.Facility
	}
	if fac == FacDefault {
		fac = FacDaemon
	}
	if f.Hostname != "" {
		b = append(b, `,"host":`...)
		b = appendJSONString(b, f.Hostname)
	}
	b = append(b, `,"facility":"`...)
	b = append(b, fac.String()...)
	b = append(b, `","severity":"`...)
	b = append(b, ev.severity().String()...)
	b = append(b, `","kind":"`...)
	b = append(b, ev.Kind.String()...)
	b = append(b, '"')
	if ev.Service != "" {
		b = append(b, `,"service":`...)
		b = appendJSONString(b, ev.Service)
	}
	if ev.Proto != "" {
		b = append(b, `,"proto":`...)
		b = appendJSONString(b, ev.Proto)
	}
	if ev.Client.IsValid() {
		b = append(b, `,"client":"`...)
		b = ev.Client.Addr().Unmap().AppendTo(b)
		b = append(b, `","client_port":`...)
		b = strconv.AppendUint(b, uint64(ev.Client.Port()), 10)
	}
	if ev.Local.IsValid() {
		b = append(b, `,"local":"`...)
		b = ev.Local.Addr().Unmap().AppendTo(b)
		b = append(b, `","local_port":`...)
		b = strconv.AppendUint(b, uint64(ev.Local.Port()), 10)
	}
	if ev.ConnID != 0 {
		// A string: ids pass 2^53, past which a float64 reader (jq,
		// JavaScript) rounds them and two connections share one id.
		b = append(b, `,"conn":"`...)
		b = strconv.AppendUint(b, ev.ConnID, 10)
		b = append(b, '"')
	}
	b = append(b, `,"msg":`...)
	var tmp [256]byte
	b = appendJSONString(b, string(appendHuman(tmp[:0], ev)))
	if len(ev.Fields) > 0 {
		// An object keeps the order written; a repeated key repeats.
		b = append(b, `,"fields":{`...)
		for i, fl := range ev.Fields {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, fl.Key)
			b = append(b, ':')
			b = appendJSONValue(b, fl)
		}
		b = append(b, '}')
	}
	return append(b, '}')
}

// appendJSONString writes s as a JSON string (RFC 8259 7.), invalid UTF-8
// as U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, `\n`...)
			case c == '\t':
				b = append(b, `\t`...)
			case c == '\r':
				b = append(b, `\r`...)
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// unmapped writes an IPv4 client of a dual-stack (tcp46) listener as
// 192.0.2.7, not ::ffff:192.0.2.7: one address, one spelling, so that a
// search of the log for it finds every record.
func unmapped(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
