package acl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
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

// maxIdentReply bounds what is read from the client's ident server.
const maxIdentReply = 1024

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
	line, err := bufio.NewReaderSize(&limitedReader{c, maxIdentReply}, 64).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("ident: read: %w", err)
	}
	return parseIdentReply(line, client.Port(), server.Port())
}

type limitedReader struct {
	c net.Conn
	n int
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errors.New("reply too long")
	}
	if len(p) > l.n {
		p = p[:l.n]
	}
	n, err := l.c.Read(p)
	l.n -= n
	return n, err
}

// parseIdentReply parses "%u , %u : USERID :%*[^:]:%255s" as libwrap's
// sscanf does, and checks the ports.
func parseIdentReply(line string, cport, sport uint16) (string, error) {
	f := strings.SplitN(line, ":", 4)
	if len(f) != 4 || strings.TrimSpace(f[1]) != "USERID" {
		return "", fmt.Errorf("ident: no USERID in reply %q", line)
	}
	ports := strings.Split(f[0], ",")
	if len(ports) != 2 {
		return "", fmt.Errorf("ident: bad ports in reply %q", line)
	}
	rp, err1 := strconv.Atoi(strings.TrimSpace(ports[0]))
	lp, err2 := strconv.Atoi(strings.TrimSpace(ports[1]))
	if err1 != nil || err2 != nil || rp != int(cport) || lp != int(sport) {
		return "", fmt.Errorf("ident: reply for other ports %q", line)
	}
	u := strings.Fields(f[3])
	if len(u) == 0 {
		return "", fmt.Errorf("ident: empty user in reply %q", line)
	}
	user := u[0]
	if len(user) > 255 {
		user = user[:255]
	}
	return user, nil
}
