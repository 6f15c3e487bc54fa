package hosts

import (
	"context"
	"strconv"
	"strings"
)

// safeChars are the characters libwrap's percent_x lets through from an
// expansion; every other byte becomes "_". Host names come from PTR
// records an attacker controls, so ";", "$", "`", quotes, blanks,
// newlines and NUL must never reach a shell.
const safeChars = "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

var safeTable = func() (t [256]bool) {
	for i := 0; i < len(safeChars); i++ {
		t[safeChars[i]] = true
	}
	return t
}()

// Sanitize replaces every byte outside libwrap's safe set with "_".
func Sanitize(s string) string {
	for i := 0; i < len(s); i++ {
		if !safeTable[s[i]] {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if !safeTable[b[j]] {
					b[j] = '_'
				}
			}
			return string(b)
		}
	}
	return s
}

// Expand performs libwrap's % expansions on template for req:
//
//	%a %A  client (server) address
//	%c     client: user@host, user@address, host name or address
//	%d     daemon name
//	%h %H  client (server) host name, or address if the name is unknown
//	%n %N  client (server) host name, or "unknown" or "paranoid"
//	%p     daemon process id
//	%r %R  client (server) port
//	%s     server: daemon@host, daemon@address or daemon
//	%u     client user name, or "unknown"
//	%%     a single %
//
// Every expansion is passed through Sanitize, as libwrap does; text of
// the template itself is copied as is. An unknown %x expands to nothing;
// a lone trailing % is kept. Names and the user are looked up through
// req's Resolver and Ident if not already in req.
func Expand(template string, req Request) string {
	return ExpandContext(context.Background(), template, req)
}

// ExpandContext is Expand with a context for the lookups.
func ExpandContext(ctx context.Context, template string, req Request) string {
	if strings.IndexByte(template, '%') < 0 {
		return template
	}
	e := newEvalCtx(ctx, &req)
	var b strings.Builder
	for i := 0; i < len(template); i++ {
		c := template[i]
		if c != '%' || i+1 >= len(template) {
			b.WriteByte(c)
			continue
		}
		i++
		b.WriteString(Sanitize(e.expansion(template[i])))
	}
	return b.String()
}

// hostinfo is libwrap's eval_hostinfo: the name if known, else the address.
func (e *evalCtx) hostinfo(h *hostInfo) string {
	if n := e.hostName(h); hostKnown(n) {
		return n
	}
	return h.addrText()
}

func (e *evalCtx) expansion(c byte) string {
	switch c {
	case 'a':
		return e.client.addrText()
	case 'A':
		return e.server.addrText()
	case 'c':
		hi := e.hostinfo(&e.client)
		if u := e.lookupUser(); !equalFold(u, Unknown) {
			return u + "@" + hi
		}
		return hi
	case 'd':
		return e.daemon
	case 'h':
		return e.hostinfo(&e.client)
	case 'H':
		return e.hostinfo(&e.server)
	case 'n':
		return e.hostName(&e.client)
	case 'N':
		return e.hostName(&e.server)
	case 'p':
		return strconv.Itoa(e.pid)
	case 'r':
		return strconv.Itoa(int(e.rawClient.Port()))
	case 'R':
		return strconv.Itoa(int(e.rawServer.Port()))
	case 's':
		d := e.daemon
		if h := e.hostinfo(&e.server); !equalFold(h, Unknown) {
			return d + "@" + h
		}
		return d
	case 'u':
		return e.lookupUser()
	case '%':
		return "%"
	}
	return ""
}
