package daemon

import (
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/builtins"
	"github.com/hinetd/hinetd/internal/config"
)

// run is the listener's loop. Each turn reads the current service, so a
// reload that changes the service behind a kept socket takes effect at
// the next connection.
func (d *Daemon) run(l *listener) {
	defer l.wg.Done()
	defer l.stopped.Store(true)
	for !l.closed() {
		s := l.svc.Load()
		var ok bool
		switch {
		case s.cfg.Internal != "" && s.cfg.SocketType == config.Stream:
			ok = d.acceptOne(l, s)
		case s.cfg.Internal != "":
			ok = d.builtinDatagram(l, s)
		case s.cfg.Wait:
			ok = d.waitTurn(l, s)
		case s.cfg.SocketType == config.Stream:
			ok = d.acceptOne(l, s)
		default:
			ok = d.datagramTurn(l, s)
		}
		if !ok {
			return
		}
	}
}

// waitCapacity blocks while s is at its max-child limit (the listener is
// not watched, so new connections wait in the kernel's backlog). It
// returns false when the listener closes.
func (d *Daemon) waitCapacity(l *listener, s *service) bool {
	for s.maxChild > 0 && s.state.children.Load() >= s.maxChild {
		if s.state.atLimit.CompareAndSwap(false, true) {
			d.event(audit.KindLimit, s, nil, "at max-child: not accepting until a child exits",
				str(audit.KeyLimit, "max-child"), audit.Int("max", int64(s.maxChild)))
		}
		select {
		case <-s.state.wake:
		case <-l.done:
			return false
		case <-time.After(time.Second):
			// A reload may have swapped the service (and its
			// max-child): look again, but never accept past the limit.
			s = l.svc.Load()
		}
	}
	if s.state.atLimit.CompareAndSwap(true, false) {
		d.event(audit.KindResume, s, nil, "below max-child: accepting again", str(audit.KeyLimit, "max-child"))
	}
	return true
}

// acceptOne accepts one stream connection and hands it on.
func (d *Daemon) acceptOne(l *listener, s *service) bool {
	if !d.waitCapacity(l, s) {
		return false
	}
	var nfd int
	var sa unix.Sockaddr
	var aerr error
	err := l.raw.Read(func(fd uintptr) bool {
		// The accepted socket is blocking: it becomes the service's
		// stdin/stdout, and servers expect blocking descriptors.
		nfd, sa, aerr = unix.Accept4(int(fd), unix.SOCK_CLOEXEC)
		return aerr != unix.EAGAIN
	})
	if err != nil {
		return false // listener closed
	}
	if aerr != nil {
		return d.acceptError(l, s, aerr)
	}
	if n := l.backoff.Success(time.Now()); n > 0 {
		d.event(audit.KindLog, s, nil, "accept works again; out of descriptors or memory no more",
			audit.Int(audit.KeyCount, int64(n)))
	}
	// A reload may have swapped the service while accept waited: the
	// connection belongs to the service in force now.
	d.handleStream(l, l.svc.Load(), nfd, sa)
	return true
}

// acceptError handles a failed accept. Out of descriptors or memory, the
// pending connection stays queued and accept would fail again at once: back
// off (limits.Backoff: doubling, to 1 s) instead of spinning, and log once
// per episode.
func (d *Daemon) acceptError(l *listener, s *service, err error) bool {
	switch err {
	case unix.EMFILE, unix.ENFILE, unix.ENOMEM, unix.ENOBUFS:
		wait, first := l.backoff.Fail(time.Now())
		if first {
			d.event(audit.KindLog, s, nil, "accept failed; backing off until descriptors or memory are free",
				str(audit.KeyErrno, err.Error()))
		}
		select {
		case <-time.After(wait):
		case <-l.done:
			return false
		}
	case unix.ECONNABORTED, unix.EINTR, unix.EPROTO, unix.EPERM:
		// The client went away before accept; nothing to do.
	default:
		d.event(audit.KindLog, s, nil, "accept failed", str(audit.KeyErrno, err.Error()))
		select {
		case <-time.After(100 * time.Millisecond):
		case <-l.done:
			return false
		}
	}
	return true
}

// handleStream takes a freshly accepted connection through the limits and
// the ACL to a built-in or a spawned server. It owns nfd.
func (d *Daemon) handleStream(l *listener, s *service, nfd int, sa unix.Sockaddr) {
	c := &conn{
		id:     d.nextID.Add(1),
		svc:    s,
		client: sockaddrToAddrPort(sa),
		start:  time.Now(),
	}
	c.local = d.localAddr(s, nfd)
	if !d.admit(s, c) {
		unix.Close(nfd)
		return
	}
	d.decide(s, c, nfd, func(granted bool) {
		if !granted {
			unix.Close(nfd)
			d.release(c)
			return
		}
		if s.cfg.Internal != "" {
			d.event(audit.KindBuiltin, s, c, s.cfg.Internal)
			go d.serveBuiltinStream(s, c, nfd)
			return
		}
		d.spawn(s, c, nfd)
		unix.Close(nfd)
	})
}

// localAddr is the connection's local address: the bound one, or for a
// wildcard listener the one the client reached (getsockname).
func (d *Daemon) localAddr(s *service, fd int) netip.AddrPort {
	if s.cfg.Family == config.FamilyUnix {
		return netip.AddrPort{}
	}
	if !s.cfg.BindAddr.IsUnspecified() {
		return netip.AddrPortFrom(s.cfg.BindAddr.Unmap(), s.cfg.Port)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return netip.AddrPortFrom(s.cfg.BindAddr, s.cfg.Port)
	}
	return sockaddrToAddrPort(sa)
}

func (d *Daemon) serveBuiltinStream(s *service, c *conn, nfd int) {
	defer d.release(c)
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return
	}
	f := os.NewFile(uintptr(nfd), "builtin")
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		// Out of descriptors (FileConn dups): the connection cannot be
		// served and is closed. Not silently: counted like a refusal.
		d.rated(audit.KindLimit, s, c, "built-in connection closed: "+err.Error(),
			str(audit.KeyLimit, "descriptors"))
		return
	}
	builtins.ServeStream(s.cfg.Internal, nc)
}

// waitTurn runs one turn of a wait service: wait until the socket is
// readable, start the server with the socket itself, and do not watch the
// socket again until that server has exited (inetd(8)).
func (d *Daemon) waitTurn(l *listener, s *service) bool {
	if !d.waitSuspension(l, s) {
		return false
	}
	if err := l.raw.Read(func(fd uintptr) bool { return readable(int(fd)) }); err != nil {
		return false
	}
	c := &conn{id: d.nextID.Add(1), svc: s, start: time.Now(), done: make(chan struct{})}
	if s.cfg.SocketType == config.Dgram {
		// tcpd's rule for wait dgram services: the first datagram decides.
		if src, _, ok := peekSource(l.fd); ok {
			c.client = src
		}
	}
	c.local = netip.AddrPortFrom(s.cfg.BindAddr, s.cfg.Port)
	if !d.admitDecide(l, s, c) {
		return true
	}
	// The server gets a blocking socket; the file status flags are shared
	// with our descriptor, so restore non-blocking once it is gone.
	setBlocking(l.fd, true)
	s.state.waitConn.Store(c)
	d.spawn(s, c, l.fd)
	select {
	case <-c.done:
	case <-l.done:
		return false
	}
	s.state.waitConn.CompareAndSwap(c, nil)
	setBlocking(l.fd, false)
	return true
}

// admitDecide takes c, about to get a server on the listening socket
// itself, through the limits and the ACL, waiting for the decision: the
// loop must not look at the socket again before it is made. A refused
// datagram is taken off the queue, so that it does not decide again.
func (d *Daemon) admitDecide(l *listener, s *service, c *conn) bool {
	drop := func() {
		if s.cfg.SocketType == config.Dgram {
			discardDatagram(l.fd)
		}
	}
	if !d.admit(s, c) {
		drop()
		return false
	}
	if s.cfg.SocketType == config.Stream {
		// No client is known here: the server accepts them. The hosts
		// rules are the listening socket's filter, which dropped the
		// SYN of every client they deny (waitacl.go); deciding on an
		// unknown client would grant or deny blind.
		return true
	}
	granted := make(chan bool, 1)
	d.decide(s, c, -1, func(ok bool) { granted <- ok })
	if !<-granted {
		d.release(c)
		drop()
		return false
	}
	return true
}

// datagramTurn runs one turn of a nowait dgram service: one server per
// datagram. The server reads the datagram itself, so after starting one
// the loop must not take the same unread datagram for a new one: it waits
// until the head of the queue changes or the server exits, sleeping
// between looks rather than spinning.
func (d *Daemon) datagramTurn(l *listener, s *service) bool {
	if !d.waitCapacity(l, s) || !d.waitSuspension(l, s) {
		return false
	}
	if err := l.raw.Read(func(fd uintptr) bool { return readable(int(fd)) }); err != nil {
		return false
	}
	src, size, ok := peekSource(l.fd)
	if !ok {
		return true
	}
	c := &conn{id: d.nextID.Add(1), svc: s, client: src, start: time.Now(), done: make(chan struct{})}
	c.local = netip.AddrPortFrom(s.cfg.BindAddr, s.cfg.Port)
	if !d.admitDecide(l, s, c) {
		return true
	}
	setBlocking(l.fd, true)
	d.spawn(s, c, l.fd)
	for wait := time.Millisecond; ; {
		select {
		case <-c.done:
			return true
		case <-l.done:
			return false
		case <-time.After(wait):
		}
		nsrc, nsize, ok := peekSource(l.fd)
		if !ok || nsrc != src || nsize != size {
			return true
		}
		if wait < 100*time.Millisecond {
			wait *= 2
		}
	}
}

// builtinDatagram answers one datagram to a built-in.
func (d *Daemon) builtinDatagram(l *listener, s *service) bool {
	if !d.waitSuspension(l, s) {
		return false
	}
	if l.dgramBuf == nil {
		l.dgramBuf = make([]byte, 65536)
	}
	buf := l.dgramBuf
	var n int
	var from unix.Sockaddr
	var rerr error
	err := l.raw.Read(func(fd uintptr) bool {
		n, from, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_DONTWAIT)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return false
	}
	if rerr != nil || from == nil {
		return true
	}
	src := sockaddrToAddrPort(from)
	if !builtins.MayAnswer(src.Port(), d.ownBuiltinPorts()) {
		d.rated(audit.KindLimit, s, &conn{client: src}, "datagram from a privileged or built-in port not answered",
			str(audit.KeyLimit, "udp-source-port"))
		return true
	}
	c := &conn{id: d.nextID.Add(1), svc: s, client: src, start: time.Now()}
	c.local = netip.AddrPortFrom(s.cfg.BindAddr, s.cfg.Port)
	if !d.admit(s, c) {
		return true
	}
	// The decision may finish on another goroutine (name lookups) while
	// this loop reads the next datagram into buf: keep this one's bytes.
	req := append([]byte(nil), buf[:n]...)
	d.decide(s, c, -1, func(ok bool) {
		defer d.release(c)
		if !ok {
			return
		}
		if reply := builtins.Reply(s.cfg.Internal, req, time.Now()); reply != nil {
			unix.Sendto(l.fd, reply, unix.MSG_DONTWAIT, from)
		}
	})
	return true
}

// readable reports whether fd has data (or a connection) waiting.
func readable(fd int) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(p, 0)
	return err == nil && n > 0
}

// peekSource returns the source and size of the datagram at the head of
// the queue without taking it.
func peekSource(fd int) (netip.AddrPort, int, bool) {
	var b [1]byte
	n, _, _, from, err := unix.Recvmsg(fd, b[:], nil, unix.MSG_PEEK|unix.MSG_DONTWAIT|unix.MSG_TRUNC)
	if err != nil {
		return netip.AddrPort{}, 0, false
	}
	if from == nil {
		return netip.AddrPort{}, n, true
	}
	return sockaddrToAddrPort(from), n, true
}

func discardDatagram(fd int) {
	var b [1]byte
	unix.Recvfrom(fd, b[:], unix.MSG_DONTWAIT)
}
