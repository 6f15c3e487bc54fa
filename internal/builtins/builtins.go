// Package builtins implements the services inetd runs inside itself, without
// a child: echo (RFC 862), discard (RFC 863), chargen (RFC 864), daytime
// (RFC 867) and time (RFC 868), over stream and datagram sockets.
//
// Stream handlers own their connection and return when the client goes away
// or Idle passes without traffic. Datagram handlers are pure: Reply maps a
// request to the answer (nil for none); the caller decides whether the
// source may be answered at all (see MayAnswer).
package builtins

import (
	"encoding/binary"
	"io"
	"net"
	"time"
)

// Builtin is one service hinetd runs itself. Table is the one list of
// them: inetd.conf's parser takes the names from it, the daemon the
// handlers and ports, as OpenBSD inetd.c's biltins[] serves both.
type Builtin struct {
	Name string
	Port uint16 // its well-known port (RFC): a datagram from it is another built-in answering

	// Stream serves one connection and returns when it is done; the
	// caller closes the connection.
	Stream func(c net.Conn)
	// Datagram is the answer to one datagram at now, nil for none. It
	// is pure: the caller decides whether the source may be answered at
	// all (see MayAnswer).
	Datagram func(req []byte, now time.Time) []byte
}

// Table lists the built-ins in the order inetd(8) documents them.
var Table = []Builtin{
	{Name: "echo", Port: 7, Stream: echoStream, Datagram: echoDatagram},
	{Name: "discard", Port: 9, Stream: discardStream, Datagram: discardDatagram},
	{Name: "chargen", Port: 19, Stream: chargenStream, Datagram: chargenDatagram},
	{Name: "daytime", Port: 13, Stream: timeStream(Daytime), Datagram: timeDatagram(Daytime)},
	{Name: "time", Port: 37, Stream: timeStream(Time), Datagram: timeDatagram(Time)},
}

// Lookup returns the built-in called name.
func Lookup(name string) (*Builtin, bool) {
	for i := range Table {
		if Table[i].Name == name {
			return &Table[i], true
		}
	}
	return nil, false
}

// Names lists the built-ins' names, in Table's order.
func Names() []string {
	out := make([]string, len(Table))
	for i, b := range Table {
		out[i] = b.Name
	}
	return out
}

// Idle is how long a stream built-in waits for the client before giving up,
// so that idle connections cannot hold instance slots for ever.
const Idle = 5 * time.Minute

// epoch1900 is the offset of the Unix epoch from RFC 868's 1900 epoch.
const epoch1900 = 2208988800

// chargenLine is RFC 864's rotating pattern: 95 printable ASCII characters,
// lines of 72 starting one character later each line, CR LF terminated.
const chargenWidth = 72

var ring = func() []byte {
	b := make([]byte, 0, 95*2)
	for i := 0; i < 2; i++ {
		for c := byte(' '); c <= '~'; c++ {
			b = append(b, c)
		}
	}
	return b
}()

// chargenLine returns line n of the pattern.
func chargenLine(n int) []byte {
	start := n % 95
	line := make([]byte, 0, chargenWidth+2)
	line = append(line, ring[start:start+chargenWidth]...)
	return append(line, '\r', '\n')
}

// Daytime is the daytime answer: ctime(3) format, as BSD inetd sends it.
func Daytime(now time.Time) []byte {
	return []byte(now.Format("Mon Jan _2 15:04:05 2006") + "\r\n")
}

// Time is the RFC 868 answer: seconds since 1900-01-01 00:00 UTC, 32 bits,
// network byte order (it wraps in 2036, as the RFC's does).
func Time(now time.Time) []byte {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], uint32(now.Unix()+epoch1900))
	return b[:]
}

// ServeStream runs built-in name on c and closes c. An unknown name
// closes c at once.
func ServeStream(name string, c net.Conn) {
	defer c.Close()
	if b, ok := Lookup(name); ok {
		b.Stream(c)
	}
}

// Reply is the datagram answer of built-in name to req, or nil for none
// (and for an unknown name).
func Reply(name string, req []byte, now time.Time) []byte {
	if b, ok := Lookup(name); ok {
		return b.Datagram(req, now)
	}
	return nil
}

// echoStream - RFC 862: send back what arrives.
func echoStream(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		c.SetDeadline(time.Now().Add(Idle))
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func echoDatagram(req []byte, _ time.Time) []byte { return append([]byte(nil), req...) }

// discardStream - RFC 863: read and drop.
func discardStream(c net.Conn) {
	buf := make([]byte, 4096)
	for {
		c.SetDeadline(time.Now().Add(Idle))
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

func discardDatagram([]byte, time.Time) []byte { return nil }

// chargenStream - RFC 864: write the pattern until the client goes away; a
// client that stops reading is cut off after Idle.
func chargenStream(c net.Conn) {
	go io.Copy(io.Discard, c)
	for n := 0; ; n++ {
		c.SetWriteDeadline(time.Now().Add(Idle))
		if _, err := c.Write(chargenLine(n)); err != nil {
			return
		}
	}
}

// chargenDatagram is one datagram of 512 bytes of the pattern (RFC 864
// allows 0–512 bytes; a fixed size keeps the answer predictable).
func chargenDatagram([]byte, time.Time) []byte {
	var out []byte
	for n := 0; len(out) < 512; n++ {
		out = append(out, chargenLine(n)...)
	}
	return out[:512]
}

// timeStream - RFC 867 and 868 over TCP: one answer, then close.
func timeStream(answer func(time.Time) []byte) func(net.Conn) {
	return func(c net.Conn) { c.Write(answer(time.Now())) }
}

// timeDatagram - RFC 867 and 868 over UDP: the answer to any datagram.
func timeDatagram(answer func(time.Time) []byte) func([]byte, time.Time) []byte {
	return func(_ []byte, now time.Time) []byte { return answer(now) }
}

// MayAnswer reports whether a datagram built-in may answer a source port.
// Ports below 1024 are privileged services (answering them lets a spoofed
// packet start a loop between, say, echo and chargen on two hosts), and a
// built-in's own port is the classic echo/chargen ping-pong (CVE-1999-0103).
func MayAnswer(srcPort uint16, builtinPorts map[uint16]bool) bool {
	return srcPort >= 1024 && !builtinPorts[srcPort]
}
