package acl

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Ident is an RFC 1413 (RFC 931) client, as libwrap's rfc931.c: it
// connects from the server's address to the client's port 113, sends
// "client-port,server-port", and accepts "cport , sport : USERID : os :
// user" only when the ports echo the query. The zero value uses libwrap's
// 10 s timeout and port 113.
type Ident struct {
	Timeout time.Duration // default 10 s
	Port    uint16        // default 113 (tests use another)
}

// LookupUser implements hosts.Ident.
func (id Ident) LookupUser(ctx context.Context, client, server netip.AddrPort) (string, error) {
	timeout := id.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	port := id.Port
	if port == 0 {
		port = 113
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	d := net.Dialer{}
	if server.Addr().IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: server.Addr().AsSlice(), Zone: server.Addr().Zone()}
	}
	c, err := d.DialContext(ctx, "tcp", netip.AddrPortFrom(client.Addr(), port).String())
	if err != nil {
		return "", fmt.Errorf("ident: %w", err)
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := fmt.Fprintf(c, "%d,%d\r\n", client.Port(), server.Port()); err != nil {
		return "", fmt.Errorf("ident: write: %w", err)
	}
	line, err := readIdentLine(bufio.NewReaderSize(c, 64))
	if err != nil {
		return "", fmt.Errorf("ident: read: %w", err)
	}
	return parseIdentReply(line, client.Port(), server.Port())
}

// identLineMax is libwrap's fgets(buffer, 512, fp): a reply line is read
// up to its newline or 511 bytes, whichever comes first.
const identLineMax = 511

// readIdentLine reads the reply line as libwrap does: through the first
// newline or identLineMax bytes. A reply that ends before either is no
// reply (libwrap checks feof after fgets).
func readIdentLine(r io.ByteReader) (string, error) {
	var b []byte
	for len(b) < identLineMax {
		c, err := r.ReadByte()
		if err != nil {
			if err == io.EOF {
				err = fmt.Errorf("reply %q ends before its newline", b)
			}
			return "", err
		}
		b = append(b, c)
		if c == '\n' {
			break
		}
	}
	return string(b), nil
}

// identUserMax is what libwrap keeps of the user: %255s, then a copy
// into a STRING_LENGTH (128) buffer.
const identUserMax = 127

// parseIdentReply parses a reply line with libwrap's
// sscanf(buf, "%u , %u : USERID :%*[^:]:%255s", ...) in the C locale, and
// checks the ports. The port numbers are C unsigned ints read by strtoul,
// so "-1" and "4294967376" are numbers too (the latter is 80): what
// libwrap takes, this takes.
func parseIdentReply(line string, cport, sport uint16) (string, error) {
	if i := strings.IndexByte(line, 0); i >= 0 {
		line = line[:i] // a C string ends at its first NUL
	}
	sc := cScanner{s: line}
	rp, ok := sc.unsigned()
	ok = ok && sc.literal(",")
	lp, ok2 := sc.unsigned()
	ok = ok && ok2 && sc.literal(":") && sc.literal("USERID") && sc.literal(":")
	if !ok {
		return "", fmt.Errorf("ident: no USERID in reply %q", line)
	}
	// %*[^:] takes at least one byte that is not a colon, then ':'.
	opsys := strings.IndexByte(sc.s, ':')
	if opsys < 1 {
		return "", fmt.Errorf("ident: no system type in reply %q", line)
	}
	sc.s = sc.s[opsys+1:]
	user := sc.word(255)
	if user == "" {
		return "", fmt.Errorf("ident: empty user in reply %q", line)
	}
	if rp != uint32(cport) || lp != uint32(sport) {
		return "", fmt.Errorf("ident: reply for other ports %q", line)
	}
	if len(user) > identUserMax {
		user = user[:identUserMax]
	}
	return user, nil
}

// cScanner reads a string the way glibc's sscanf does in the C locale.
type cScanner struct{ s string }

// cSpace is isspace(3) in the C locale.
func cSpace(c byte) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

func (sc *cScanner) skipSpace() {
	for len(sc.s) > 0 && cSpace(sc.s[0]) {
		sc.s = sc.s[1:]
	}
}

// literal: " lit" in a format - any white space, then lit exactly.
func (sc *cScanner) literal(lit string) bool {
	sc.skipSpace()
	if !strings.HasPrefix(sc.s, lit) {
		return false
	}
	sc.s = sc.s[len(lit):]
	return true
}

// unsigned: %u - white space, an optional sign, decimal digits, converted
// by strtoul (so negative numbers wrap, and too many digits give
// ULONG_MAX) and stored in a 32-bit unsigned int.
func (sc *cScanner) unsigned() (uint32, bool) {
	sc.skipSpace()
	neg := false
	if len(sc.s) > 0 && (sc.s[0] == '+' || sc.s[0] == '-') {
		neg = sc.s[0] == '-'
		sc.s = sc.s[1:]
	}
	n := 0
	for n < len(sc.s) && sc.s[n] >= '0' && sc.s[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, false
	}
	v, err := strconv.ParseUint(sc.s[:n], 10, 64)
	sc.s = sc.s[n:]
	switch {
	case err != nil:
		v = math.MaxUint64 // ERANGE, whatever the sign
	case neg:
		v = -v
	}
	return uint32(v), true
}

// word: %Ns - white space, then up to max bytes that are not.
func (sc *cScanner) word(max int) string {
	sc.skipSpace()
	n := 0
	for n < len(sc.s) && n < max && !cSpace(sc.s[n]) {
		n++
	}
	w := sc.s[:n]
	sc.s = sc.s[n:]
	return w
}
