package builtins

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"testing"
	"time"
)

// TestTable: the built-ins, in inetd(8)'s order, with their RFC ports and
// both handlers.
func TestTable(t *testing.T) {
	if got, want := Names(), []string{"echo", "discard", "chargen", "daytime", "time"}; !slices.Equal(got, want) {
		t.Errorf("Names = %q, want %q", got, want)
	}
	ports := map[string]uint16{"echo": 7, "discard": 9, "chargen": 19, "daytime": 13, "time": 37}
	for _, b := range Table {
		if b.Port != ports[b.Name] || b.Stream == nil || b.Datagram == nil {
			t.Errorf("%s: port %d (want %d), stream handler %v, datagram handler %v", b.Name, b.Port, ports[b.Name], b.Stream != nil, b.Datagram != nil)
		}
		if got, ok := Lookup(b.Name); !ok || got.Name != b.Name {
			t.Errorf("Lookup(%q) = %v, %v", b.Name, got, ok)
		}
	}
	if _, ok := Lookup("tcpmux"); ok {
		t.Error("Lookup found tcpmux")
	}
}

var when = time.Date(2026, 12, 6, 9, 5, 3, 0, time.UTC)

// TestReply: the datagram answers.
func TestReply(t *testing.T) {
	req := []byte("ping")
	echo := Reply("echo", req, when)
	if string(echo) != "ping" {
		t.Errorf("echo: %q", echo)
	}
	echo[0] = 'P'
	if string(req) != "ping" {
		t.Error("echo's answer shares the request's bytes: the caller's buffer is reused")
	}
	if got := Reply("discard", req, when); got != nil {
		t.Errorf("discard: %q", got)
	}
	if got := Reply("no-such", req, when); got != nil {
		t.Errorf("unknown built-in: %q", got)
	}
	cg := Reply("chargen", nil, when)
	if len(cg) != 512 || !bytes.HasPrefix(cg, append(chargenLine(0), chargenLine(1)...)) {
		t.Errorf("chargen: %d bytes, starting %q", len(cg), cg[:min(len(cg), 80)])
	}
	if got := string(Reply("daytime", nil, when)); got != "Sun Dec  6 09:05:03 2026\r\n" {
		t.Errorf("daytime: %q", got)
	}
	// RFC 868: seconds since 1900; 1970-01-01 is 2208988800.
	if got := binary.BigEndian.Uint32(Reply("time", nil, time.Unix(0, 0))); got != 2208988800 {
		t.Errorf("time at the Unix epoch: %d", got)
	}
	if got := binary.BigEndian.Uint32(Time(when)); got != uint32(when.Unix()+2208988800) {
		t.Errorf("time: %d", got)
	}
}

// TestChargenLine: RFC 864's pattern, 72 printable characters a line,
// each line starting one character later, wrapping after '~'.
func TestChargenLine(t *testing.T) {
	for _, tt := range []struct {
		n           int
		first, last byte
	}{
		{0, ' ', 'g'},  // ' ' + 71
		{1, '!', 'h'},  // one later
		{94, '~', 'f'}, // starts at the last printable, wraps
		{95, ' ', 'g'}, // the pattern repeats every 95 lines
	} {
		l := chargenLine(tt.n)
		if len(l) != 74 || l[0] != tt.first || l[71] != tt.last || string(l[72:]) != "\r\n" {
			t.Errorf("line %d: %q", tt.n, l)
		}
	}
}

// TestMayAnswer: a datagram built-in never answers a privileged port or
// another built-in's (CVE-1999-0103).
func TestMayAnswer(t *testing.T) {
	own := map[uint16]bool{7: true, 19: true, 7777: true}
	for _, tt := range []struct {
		port uint16
		want bool
	}{
		{0, false}, {7, false}, {19, false}, {1023, false}, {7777, false}, {1024, true}, {40000, true},
	} {
		if got := MayAnswer(tt.port, own); got != tt.want {
			t.Errorf("MayAnswer(%d) = %v, want %v", tt.port, got, tt.want)
		}
	}
}

// serve runs built-in name on one end of a pipe and returns the other.
func serve(t *testing.T, name string) (net.Conn, chan struct{}) {
	t.Helper()
	client, server := net.Pipe()
	done := make(chan struct{})
	go func() { ServeStream(name, server); close(done) }()
	t.Cleanup(func() { client.Close() })
	client.SetDeadline(time.Now().Add(5 * time.Second))
	return client, done
}

// TestServeStream: each stream built-in over a connection.
func TestServeStream(t *testing.T) {
	c, done := serve(t, "echo")
	c.Write([]byte("hello"))
	buf := make([]byte, 5)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello" {
		t.Errorf("echo: %q %v", buf, err)
	}
	c.Close()
	<-done

	c, done = serve(t, "daytime")
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || len(line) != len("Sun Dec  6 09:05:03 2026\r\n") || line[len(line)-2:] != "\r\n" {
		t.Errorf("daytime: %q %v", line, err)
	}
	<-done // one answer, then the server closes

	c, done = serve(t, "time")
	b, err := io.ReadAll(c)
	if err != nil || len(b) != 4 {
		t.Errorf("time: %x %v", b, err)
	}
	<-done

	c, done = serve(t, "chargen")
	r := bufio.NewReader(c)
	for n := range 3 {
		line, err := r.ReadString('\n')
		if err != nil || line != string(chargenLine(n)) {
			t.Errorf("chargen line %d: %q %v", n, line, err)
		}
	}
	c.Close()
	<-done

	c, done = serve(t, "discard")
	if _, err := c.Write([]byte("gone")); err != nil {
		t.Errorf("discard: %v", err)
	}
	c.Close()
	<-done

	c, done = serve(t, "no-such")
	<-done // closed at once
	if _, err := c.Read(buf); err != io.EOF {
		t.Errorf("unknown built-in: read %v, want EOF", err)
	}
}
