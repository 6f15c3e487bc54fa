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

// Names lists the built-ins, in the order inetd(8) documents them.
var Names = []string{"echo", "discard", "chargen", "daytime", "time"}

// Known reports whether name is a built-in.
func Known(name string) bool {
	for _, n := range Names {
		if n == name {
			return true
		}
	}
	return false
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

// ServeStream runs built-in name on c and closes c.
func ServeStream(name string, c net.Conn) {
	defer c.Close()
	switch name {
	case "echo":
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
	case "discard":
		buf := make([]byte, 4096)
		for {
			c.SetDeadline(time.Now().Add(Idle))
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	case "chargen":
		// Write until the client goes away; a client that stops reading
		// is cut off after Idle.
		go io.Copy(io.Discard, c)
		for n := 0; ; n++ {
			c.SetWriteDeadline(time.Now().Add(Idle))
			if _, err := c.Write(chargenLine(n)); err != nil {
				return
			}
		}
	case "daytime":
		c.Write(Daytime(time.Now()))
	case "time":
		c.Write(Time(time.Now()))
	}
}

// Reply is the datagram answer of built-in name to req, or nil for none.
func Reply(name string, req []byte, now time.Time) []byte {
	switch name {
	case "echo":
		return append([]byte(nil), req...)
	case "chargen":
		// One datagram of up to 512 bytes of the pattern (RFC 864 allows
		// 0–512 bytes; a fixed size keeps the answer predictable).
		var out []byte
		for n := 0; len(out) < 512; n++ {
			out = append(out, chargenLine(n)...)
		}
		return out[:512]
	case "daytime":
		return Daytime(now)
	case "time":
		return Time(now)
	}
	return nil // discard
}

// MayAnswer reports whether a datagram built-in may answer a source port.
// Ports below 1024 are privileged services (answering them lets a spoofed
// packet start a loop between, say, echo and chargen on two hosts), and a
// built-in's own port is the classic echo/chargen ping-pong (CVE-1999-0103).
func MayAnswer(srcPort uint16, builtinPorts map[uint16]bool) bool {
	return srcPort >= 1024 && !builtinPorts[srcPort]
}
