package audittest

import (
	"context"
	"net"
	"sync"
	"syscall"
	"testing"
)

// Stalled is a TCP syslog collector on 127.0.0.1 that accepts connections
// and never reads from them: a remote syslog server that hangs. Its
// connections stay open until the test ends.
type Stalled struct {
	Addr string // 127.0.0.1:port, for a tcp:// sink
	Port int

	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// StartStalled starts a Stalled collector. rcvbuf, when not 0, is its
// listening socket's SO_RCVBUF (accepted connections inherit it), so that
// a sender's writes block sooner.
func StartStalled(t testing.TB, rcvbuf int) *Stalled {
	t.Helper()
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		if rcvbuf == 0 {
			return nil
		}
		var err error
		c.Control(func(fd uintptr) {
			err = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
		})
		return err
	}}
	ln, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Stalled{Addr: ln.Addr().String(), Port: ln.Addr().(*net.TCPAddr).Port, ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c) // held open, never read
			s.mu.Unlock()
		}
	}()
	t.Cleanup(s.Stop)
	return s
}

// Stop closes the collector and every connection it holds, so that its
// port is free for a collector that works (Stop again does nothing).
func (s *Stalled) Stop() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
	s.conns = nil
}

// Conns - the connections accepted so far.
func (s *Stalled) Conns() []net.Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]net.Conn(nil), s.conns...)
}
