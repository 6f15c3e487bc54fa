package test

// Integration tests of the limits (issue 5) against the built hinetd: each
// limit exactly through inetd.conf's fields and the flags, IPv6 prefix
// aggregation in a network namespace, a flood from many sources, memory
// under 20,000 distinct sources, a low RLIMIT_NOFILE, and the per-source
// rate of datagram built-ins.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// outcome is what a client saw of one connection.
type outcome int

const (
	served  outcome = iota // got the service's whole greeting
	refused                // EOF or RST without it: closed at once by a limit
	waiting                // connected, nothing yet (queued in the backlog)
	failed                 // could not connect, or a partial greeting
)

func (o outcome) String() string {
	return [...]string{"served", "refused", "waiting", "failed"}[o]
}

// greeting is what the test services write first.
const greeting = "ok\n"

// holdScript writes a service that greets and then holds the connection
// until the client closes it (cat reads to EOF), so its child stays alive
// exactly as long as the client wants. The directory is world-searchable
// and not under t.TempDir (whose parent is 0700): the service runs as
// nobody.
func holdScript(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hinetd-limits-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	p := filepath.Join(dir, "hold.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\necho ok\nexec cat >/dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// dialer returns a dialer bound to src (any address when src is invalid).
func dialer(src netip.Addr) *net.Dialer {
	d := &net.Dialer{Timeout: 5 * time.Second}
	if src.IsValid() {
		d.LocalAddr = &net.TCPAddr{IP: src.AsSlice()}
	}
	return d
}

// readGreeting reads until the greeting, EOF, an error or the deadline.
// A connection still open at the deadline without data is "waiting".
func readGreeting(c net.Conn, wait time.Duration) outcome {
	c.SetReadDeadline(time.Now().Add(wait))
	defer c.SetReadDeadline(time.Time{})
	var got []byte
	buf := make([]byte, 64)
	for len(got) < len(greeting) {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err == nil {
			continue
		}
		switch {
		case len(got) >= len(greeting):
		case len(got) > 0:
			return failed
		case errors.Is(err, os.ErrDeadlineExceeded):
			return waiting
		default: // EOF or ECONNRESET with nothing read
			return refused
		}
	}
	if string(got[:len(greeting)]) != greeting {
		return failed
	}
	return served
}

// try connects from src and reads the greeting. The connection is returned
// open when served or waiting (the caller closes it), nil otherwise.
func try(src netip.Addr, addr string, wait time.Duration) (outcome, net.Conn) {
	c, err := dialer(src).Dial("tcp", addr)
	if err != nil {
		return failed, nil
	}
	o := readGreeting(c, wait)
	if o == refused || o == failed {
		c.Close()
		return o, nil
	}
	return o, c
}

// expect connects from src and fails the test unless the outcome is want
// (served or refused: both come at once; 10 s allows for a loaded host
// and a service's first spawn, which starts its spawner).
func expect(t *testing.T, src, addr string, want outcome) net.Conn {
	t.Helper()
	o, c := try(netip.MustParseAddr(src), addr, 10*time.Second)
	if o != want {
		if c != nil {
			c.Close()
		}
		t.Fatalf("connection from %s to %s: %v, want %v", src, addr, o, want)
	}
	if c != nil {
		t.Cleanup(func() { c.Close() })
	}
	return c
}

// waitExits waits until the log holds n exit records.
func waitExits(t *testing.T, d *daemon, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for d.countLog("event=exit") < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d exit records, want %d", d.countLog("event=exit"), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLimitMaxChildPerIP(t *testing.T) {
	needRoot(t)
	hold := holdScript(t)
	port := freePort(t)
	// max-child 100, max-conn-per-ip-per-minute 10000 (0 is refused:
	// large numbers stand for "unlimited"), max-child-per-ip 2.
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait/100/10000/2 nobody %s hold\n", port, hold))
	addr := fmt.Sprintf("127.0.0.1:%d", port)

	a1 := expect(t, "127.0.0.2", addr, served)
	expect(t, "127.0.0.2", addr, served)
	expect(t, "127.0.0.2", addr, refused) // the N+1th from one source
	expect(t, "127.0.0.3", addr, served)  // another source
	expect(t, "127.0.0.3", addr, served)
	expect(t, "127.0.0.3", addr, refused)
	// The limit is on concurrent children: one exits, one more is served.
	a1.Close()
	waitExits(t, d, 1)
	expect(t, "127.0.0.2", addr, served)
	expect(t, "127.0.0.2", addr, refused)
	waitCount(t, d, "event=spawn", 5, 2*time.Second)
	d.stop()
	if n := d.countLog("event=spawn"); n != 5 {
		t.Fatalf("%d spawn records, want 5 (refused connections must not spawn)", n)
	}
	// The limits come before the ACL: refused connections were never
	// decided on (no accept or deny record, so no name lookup either).
	if n := d.countLog("event=accept") + d.countLog("event=deny"); n != 5 {
		t.Fatalf("%d ACL decisions for 5 admitted connections", n)
	}
	if got := limitSummaryTotal(d, "max-child-per-ip"); got != 3 {
		t.Fatalf("summaries count %d refusals by max-child-per-ip, want 3", got)
	}
}

// TestLimitZeroRefused: a limit of 0 in inetd.conf is an error on its line
// (FreeBSD reads it as "no limit"; hinetd asks for the field to be left
// out), and only that service is skipped.
func TestLimitZeroRefused(t *testing.T) {
	needRoot(t)
	bad, good := freePort(t), freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait/100/0/2 root internal echo\n127.0.0.1:%d stream tcp nowait root internal echo\n", bad, good))
	d.waitLog("event=config-error", 2*time.Second, ":1:", "must be at least 1")
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", good), []byte("hi")); string(got) != "hi" {
		t.Fatalf("good line's service: %q", got)
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", bad), time.Second); err == nil {
		c.Close()
		t.Fatal("the line with a 0 limit is listening")
	}
}

// TestLimitReload: a reload that lowers max-child-per-ip applies to the
// next connection, and the children started before it still count.
func TestLimitReload(t *testing.T) {
	needRoot(t)
	hold := holdScript(t)
	port := freePort(t)
	line := "127.0.0.1:%d stream tcp nowait/100/10000/%d nobody %s hold\n"
	d := startDaemon(t, fmt.Sprintf(line, port, 3, hold))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	a := expect(t, "127.0.0.2", addr, served)
	b := expect(t, "127.0.0.2", addr, served)
	d.writeFile("inetd.conf", fmt.Sprintf(line, port, 1, hold))
	d.reload(1)
	expect(t, "127.0.0.2", addr, refused) // 2 live, limit now 1
	a.Close()
	waitExits(t, d, 1)
	expect(t, "127.0.0.2", addr, refused) // 1 live
	b.Close()
	waitExits(t, d, 2)
	expect(t, "127.0.0.2", addr, served)
	expect(t, "127.0.0.3", addr, served)
}

func TestLimitConnPerIPPerMinute(t *testing.T) {
	needRoot(t)
	for _, tc := range []struct {
		name, field string
		args        []string
	}{
		// The inetd.conf field wins over -C.
		{"inetd.conf", "nowait/100/3", []string{"-C", "1"}},
		{"-C", "nowait", []string{"-C", "3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp %s nobody /bin/echo echo ok\n", port, tc.field), tc.args...)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			for i := 0; i < 3; i++ {
				expect(t, "127.0.0.2", addr, served)
			}
			expect(t, "127.0.0.2", addr, refused)
			expect(t, "127.0.0.2", addr, refused)
			expect(t, "127.0.0.3", addr, served)
			// Sequential connections: the limit counts connections per
			// minute, not concurrent ones (every child has exited).
			waitExits(t, d, 4)
			expect(t, "127.0.0.2", addr, refused)
			wantRefusals(t, d, "max-conn-per-ip-per-minute", 3)
		})
	}
}

func TestLimitMaxChild(t *testing.T) {
	needRoot(t)
	t.Parallel() // mostly waiting: runs beside the other waiting tests
	hold := holdScript(t)
	for _, tc := range []struct {
		name, field string
		args        []string
	}{
		{"inetd.conf", "nowait/2", []string{"-c", "1"}},
		{"-c", "nowait", []string{"-c", "2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp %s nobody %s hold\n", port, tc.field, hold), tc.args...)
			addr := fmt.Sprintf("127.0.0.1:%d", port)
			a := expect(t, "127.0.0.2", addr, served)
			expect(t, "127.0.0.3", addr, served)
			// The third waits in the backlog: max-child stops accepting,
			// it does not refuse (inetd(8)). 2.5 s: longer than the
			// daemon's 1 s look for a reloaded service, which once let
			// one connection past the limit every second.
			o, c := try(netip.MustParseAddr("127.0.0.4"), addr, 2500*time.Millisecond)
			if o != waiting {
				t.Fatalf("third connection at max-child 2: %v, want waiting", o)
			}
			defer c.Close()
			d.waitLog("event=limit", 2*time.Second, "max-child")
			a.Close() // a child exits: the waiting one is served
			if o := readGreeting(c, 5*time.Second); o != served {
				t.Fatalf("queued connection after a child exited: %v, want served", o)
			}
			d.waitLog("event=resume", 2*time.Second, "max-child")
			waitCount(t, d, "event=spawn", 3, 2*time.Second)
		})
	}
}

// TestLimitConnPerIPPerMinuteWindowEnds: the one-minute window of
// max-conn-per-ip-per-minute opens at the client's first admitted
// connection; the client is refused inside it and served again once it
// has passed. About a minute of waiting, beside the other waiting tests.
func TestLimitConnPerIPPerMinuteWindowEnds(t *testing.T) {
	needRoot(t)
	t.Parallel() // mostly waiting: runs beside the other waiting tests
	port := freePort(t)
	startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo ok\n", port), "-C", "1")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	opened := time.Now()
	expect(t, "127.0.0.6", addr, served)
	expect(t, "127.0.0.6", addr, refused)
	time.Sleep(time.Until(opened.Add(50 * time.Second)))
	expect(t, "127.0.0.6", addr, refused) // still inside the window
	// The window opened at most a moment after opened: from a minute
	// on, the next connection is served.
	time.Sleep(time.Until(opened.Add(61 * time.Second)))
	expect(t, "127.0.0.6", addr, served)
	expect(t, "127.0.0.6", addr, refused) // a new window, with its one connection used
}

// TestLimitInvocationsPerMinute: -R pauses the service at the N+1th
// invocation, logs the pause and its end, and serves again after it; a
// second trip within a minute pauses twice as long, and a quiet client
// ends that pause early, logged once.
func TestLimitInvocationsPerMinute(t *testing.T) {
	needRoot(t)
	t.Parallel() // mostly waiting: runs beside the other waiting tests
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo ok\n", port), "-R", "5")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 5; i++ {
		expect(t, fmt.Sprintf("127.0.0.%d", 2+i), addr, served)
	}
	start := time.Now()
	expect(t, "127.0.0.10", addr, refused)
	line := d.waitLog("event=suspend", 2*time.Second, "invocations-per-minute")
	t.Logf("%s", line)
	// While paused, every client is shed.
	expect(t, "127.0.0.11", addr, refused)
	d.waitLog("event=resume", 15*time.Second)
	pause := time.Since(start)
	if pause < 9*time.Second {
		t.Fatalf("resumed after %v, want the 10 s pause", pause)
	}
	expect(t, "127.0.0.12", addr, served)
	if n := d.countLog("event=suspend"); n != 1 {
		t.Fatalf("%d suspend records, want 1", n)
	}

	// Tripped again within a minute of the pause: twice as long (20 s).
	// A quiet client after 10 s of it ends it early (the overload is
	// over); the end is logged once, not again when the 20 s run out.
	for i := 0; i < 4; i++ { // with .12: 5 in the window opened at the end of the pause
		expect(t, fmt.Sprintf("127.0.0.%d", 20+i), addr, served)
	}
	start = time.Now()
	expect(t, "127.0.0.30", addr, refused)
	waitCount(t, d, "event=suspend", 2, 2*time.Second)
	if !strings.Contains(d.logText(), "pause=20s") {
		t.Fatalf("second pause not 20 s; log:\n%s", d.logText())
	}
	time.Sleep(10*time.Second + 500*time.Millisecond - time.Since(start))
	expect(t, "127.0.0.31", addr, served)
	waitCount(t, d, "event=resume", 2, 2*time.Second)
	time.Sleep(20*time.Second + 500*time.Millisecond - time.Since(start))
	if n := d.countLog("event=resume"); n != 2 {
		t.Fatalf("%d resume records for 2 pauses; log:\n%s", n, d.logText())
	}
}

// TestLimitGlobalMaxChildren: --max-children counts the children of all
// services together; over it a connection is refused, whichever service
// and client.
func TestLimitGlobalMaxChildren(t *testing.T) {
	needRoot(t)
	hold := holdScript(t)
	p1, p2 := freePort(t), freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s hold\n127.0.0.1:%d stream tcp nowait nobody %s hold\n",
		p1, hold, p2, hold), "--max-children", "2")
	a1, a2 := fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p2)
	first := expect(t, "127.0.0.2", a1, served)
	expect(t, "127.0.0.3", a2, served)
	expect(t, "127.0.0.4", a1, refused)
	expect(t, "127.0.0.5", a2, refused)
	first.Close()
	waitExits(t, d, 1)
	expect(t, "127.0.0.6", a2, served)
	expect(t, "127.0.0.7", a1, refused)
	wantRefusals(t, d, "global-max-child", 3)
}

// TestLimitGlobalAcceptRate: --accept-rate 2 (bursts of 2) across two
// services and many clients: 2 admitted at once, the rest refused, and
// about 2 a second admitted again afterwards.
func TestLimitGlobalAcceptRate(t *testing.T) {
	needRoot(t)
	p1, p2 := freePort(t), freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo ok\n127.0.0.1:%d stream tcp nowait nobody /bin/echo echo ok\n",
		p1, p2), "--accept-rate", "2")
	a1, a2 := fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p2)
	var got []outcome
	start := time.Now()
	for i := 0; i < 6; i++ {
		addr := a1
		if i%2 == 1 {
			addr = a2
		}
		o, c := try(srcAddr(3, i), addr, 3*time.Second)
		if c != nil {
			c.Close()
		}
		got = append(got, o)
	}
	took := time.Since(start)
	t.Logf("6 connections in %v: %v", took, got)
	n := 0
	for _, o := range got {
		if o == served {
			n++
		} else if o != refused {
			t.Fatalf("outcomes %v", got)
		}
	}
	// Bursts of 2, refilled at 2 a second while the clients ran.
	if most := 2 + int(2*took.Seconds()); n < 2 || n > most || got[0] != served || got[1] != served {
		t.Fatalf("outcomes %v in %v: want the first 2 served and at most %d in all", got, took, most)
	}
	time.Sleep(1100 * time.Millisecond)
	expect(t, "127.0.0.9", a2, served)
	wantRefusals(t, d, "global-accept-rate", 6-n)
}

// TestLimitUDPBuiltinServiceRate: the udp echo built-in's service rate
// (200 a second, bursts of 400) caps the answers to many sources that are
// each under their own rate: 100 sources send 6 datagrams each.
func TestLimitUDPBuiltinServiceRate(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d dgram udp wait root internal echo\n", port))
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	const sources, each = 100, 6
	var conns []*net.UDPConn
	for i := 0; i < sources; i++ {
		conns = append(conns, udpFrom(t, srcAddr(4, i).AsSlice()))
	}
	var answers atomic.Int64
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for {
				c.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
				if _, _, err := c.ReadFromUDP(buf); err != nil {
					return
				}
				answers.Add(1)
			}
		}()
	}
	// Paced in rounds so that the daemon's socket buffer never overflows.
	start := time.Now()
	for r := 0; r < each; r++ {
		for _, c := range conns {
			c.WriteToUDP([]byte("x"), to)
		}
		time.Sleep(20 * time.Millisecond)
	}
	window := time.Since(start)
	wg.Wait()
	most := 400 + int(200*window.Seconds()) + 1
	t.Logf("%d datagrams from %d sources in %v: %d answered (at most %d)", sources*each, sources, window, answers.Load(), most)
	if answers.Load() > int64(most) || answers.Load() < 400 {
		t.Fatalf("%d answers: want 400 to %d", answers.Load(), most)
	}
	wantRefusals(t, d, "cps", sources*each-int(answers.Load()))
}

// udpEchoArg makes this test binary a nowait dgram server: it answers the
// one datagram waiting on its stdin socket and exits, before any test runs.
const udpEchoArg = "hinetd-test-udpecho"

func init() {
	if len(os.Args) == 3 && os.Args[1] == udpEchoArg {
		buf := make([]byte, 2048)
		if n, from, err := unix.Recvfrom(0, buf, 0); err == nil && from != nil {
			// The answer waits os.Args[2] after the datagram was taken.
			wait, _ := time.ParseDuration(os.Args[2])
			time.Sleep(wait)
			unix.Sendto(0, buf[:n], 0, from)
		}
		os.Exit(0)
	}
}

// udpEchoServer copies this test binary where the service's user can run
// it, and returns its path.
func udpEchoServer(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "hinetd-limits-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	server := filepath.Join(dir, "udpecho")
	if err := os.WriteFile(server, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return server
}

// TestLimitMaxChildDgram: a nowait dgram service at max-child stops
// reading: datagrams wait in the socket and are served, one server at a
// time, as each exits; none is refused.
func TestLimitMaxChildDgram(t *testing.T) {
	needRoot(t)
	server := udpEchoServer(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d dgram udp nowait/1 nobody %s udpecho %s 300ms\n", port, server, udpEchoArg))
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	var conns []*net.UDPConn
	for i := 0; i < 3; i++ {
		conns = append(conns, udpFrom(t, net.IPv4(127, 0, 0, byte(2+i))))
	}
	start := time.Now()
	for i, c := range conns {
		c.WriteToUDP([]byte(fmt.Sprintf("d%d", i)), to)
	}
	var at []time.Duration
	buf := make([]byte, 64)
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		n, _, err := c.ReadFromUDP(buf)
		if err != nil || string(buf[:n]) != fmt.Sprintf("d%d", i) {
			t.Fatalf("datagram %d: %q, %v", i, buf[:n], err)
		}
		at = append(at, time.Since(start))
	}
	t.Logf("answers at %v", at)
	// One server at a time, each holding its datagram 300 ms.
	if at[2] < 850*time.Millisecond {
		t.Fatalf("3 answers within %v: servers ran side by side past max-child 1", at[2])
	}
	d.waitLog("event=limit", 2*time.Second, "max-child")
}

// TestLimitUDPNowaitSourceRate: a nowait dgram service starts a server
// per datagram; one source's burst gets at most burst + rate × time
// servers (20 + 10 a second), while another source is still served.
func TestLimitUDPNowaitSourceRate(t *testing.T) {
	needRoot(t)
	// The server is this test binary (see init): it starts in a few
	// milliseconds, so servers come faster than the rate and the limit
	// has to refuse.
	server := udpEchoServer(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d dgram udp nowait nobody %s udpecho %s 0s\n", port, server, udpEchoArg))
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	c := udpFrom(t, net.IPv4(127, 0, 0, 2))
	const sent = 60
	start := time.Now()
	for i := 0; i < sent; i++ {
		c.WriteToUDP([]byte(fmt.Sprintf("datagram %d", i)), to)
	}
	answers, last := 0, start
	buf := make([]byte, 1500)
	for {
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, _, err := c.ReadFromUDP(buf); err != nil {
			break
		}
		answers++
		last = time.Now()
	}
	window := last.Sub(start)
	most := 20 + int(10*window.Seconds()) + 1
	t.Logf("%d datagrams: %d answered by %d servers within %v (burst 20, 10/s: at most %d)",
		sent, answers, d.countLog("event=spawn"), window.Round(time.Millisecond), most)
	// Without the limit all 60 would be answered, one server after
	// another.
	if answers > most || answers < 20 || answers > sent-10 {
		t.Fatalf("%d answers to a burst of %d in %v: want 20 to %d, and at least 10 refused", answers, sent, window, min(most, sent-10))
	}
	wantUDPEcho(t, net.IPv4(127, 0, 0, 3), to, 3*time.Second)
	wantRefusals(t, d, "source-rate", sent-answers)
}

// wantRefusals stops d, so that the summaries it writes at stop are in,
// and checks that its refusal summaries for limit add up to want.
func wantRefusals(t *testing.T, d *daemon, limit string, want int) {
	t.Helper()
	d.stop()
	if got := limitSummaryTotal(d, limit); got != want {
		t.Fatalf("summaries count %d refusals by %s, want %d", got, limit, want)
	}
}

// limitSummaryTotal adds up the count= of the refusal summaries of one
// limit (event=limit records with a count).
func limitSummaryTotal(d *daemon, limit string) int {
	re := regexp.MustCompile(`\bcount=(\d+)\b`)
	total := 0
	for _, line := range strings.Split(d.logText(), "\n") {
		if !lineHas(line, "event=limit") || !strings.Contains(line, "limit="+limit) {
			continue
		}
		if m := re.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			total += n
		}
	}
	return total
}

// srcAddr is the i-th of many distinct client addresses in 127.x.y.z
// (x from base): 250 per /24, never .0 or .255.
func srcAddr(base, i int) netip.Addr {
	return netip.AddrFrom4([4]byte{127, byte(base + i/62500), byte(i / 250 % 250), byte(i%250 + 1)})
}

// TestLimitFlood: 2,000 connections at concurrency 200 from 200 sources
// (10 each) to a service that allows 2 concurrent
// children and 5 connections a minute per source; each served client holds
// its connection 20 ms. Every connection is either served or refused, the
// refusal summaries account for every refusal, and afterwards hinetd is as
// it was: a normal client served at once, no zombies, no leaked
// descriptors.
func TestLimitFlood(t *testing.T) {
	needRoot(t)
	hold := holdScript(t)
	port := freePort(t)
	// -R 0: this test is about the per-source limits, not the looping guard.
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait/1000/5/2 nobody %s hold\n", port, hold), "-R", "0")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	expect(t, "127.0.0.1", addr, served).Close() // starts the spawner
	waitExits(t, d, 1)
	time.Sleep(200 * time.Millisecond)
	fdsBefore := fdCount(t, d.pid())

	const total, conc, sources = 2000, 200, 200
	var nServed, nRefused, nOther atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, conc)
	start := time.Now()
	for i := 0; i < total; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(src netip.Addr) {
			defer wg.Done()
			defer func() { <-sem }()
			o, c := try(src, addr, 10*time.Second)
			if c != nil {
				time.Sleep(20 * time.Millisecond)
				c.Close()
			}
			switch o {
			case served:
				nServed.Add(1)
			case refused:
				nRefused.Add(1)
			default:
				nOther.Add(1)
			}
		}(srcAddr(1, i%sources))
	}
	wg.Wait()
	took := time.Since(start)
	t.Logf("flood: %d served, %d refused, %d other in %v", nServed.Load(), nRefused.Load(), nOther.Load(), took)
	if nOther.Load() != 0 || nServed.Load()+nRefused.Load() != total {
		t.Fatalf("served %d + refused %d != %d (%d neither)", nServed.Load(), nRefused.Load(), total, nOther.Load())
	}
	if nServed.Load() > 5*sources || nServed.Load() < sources {
		t.Fatalf("served %d: want at most 5 and at least 1 per source (%d sources)", nServed.Load(), sources)
	}
	// A normal client is served at once.
	t0 := time.Now()
	expect(t, "127.0.0.1", addr, served).Close()
	if el := time.Since(t0); el > time.Second {
		t.Fatalf("normal client after the flood served after %v", el)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		z, fds := zombies(t, d.pid()), fdCount(t, d.pid())
		if len(z) == 0 && fds <= fdsBefore {
			t.Logf("descriptors %d before, %d after", fdsBefore, fds)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the flood: zombies %v, descriptors %d, were %d", z, fds, fdsBefore)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := d.countLog("event=limit", "conn="); n != 0 {
		t.Fatalf("%d per-connection limit records: refusals must be summarised", n)
	}
	d.stop() // the last summaries are written on the way out
	sum := 0
	for _, lim := range []string{"max-child-per-ip", "max-conn-per-ip-per-minute", "source-table-full"} {
		n := limitSummaryTotal(d, lim)
		t.Logf("summaries: %d refused by %s", n, lim)
		sum += n
	}
	if sum != int(nRefused.Load()) {
		t.Fatalf("refusal summaries add up to %d, clients saw %d refused; log:\n%s", sum, nRefused.Load(), d.logText())
	}
}

// vmKB reads a VmXXX: line of /proc/PID/status, in KiB.
func vmKB(t *testing.T, pid int, field string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(v)
			n, _ := strconv.Atoi(f[0])
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// rssCapMiB is hinetd's documented resident-memory cap (internal/limits
// doc.go, README "Limits"): what it needs to run, the client table's
// 9 MiB, and a margin for the Go heap under load.
const rssCapMiB = 64

// TestLimitManySources: 20,000 distinct real client addresses from
// 127.0.0.0/8, each tracked by a per-source limit: hinetd's resident
// memory (peak, VmHWM) stays under the documented cap, and the dump shows
// every one of them tracked.
func TestLimitManySources(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait/100000/100000/100 root internal daytime\n", port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dialRead(t, "tcp", addr, nil)
	base := vmKB(t, d.pid(), "VmRSS")

	const n, conc = 20000, 64
	var bad atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, conc)
	start := time.Now()
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(src netip.Addr) {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialer(src).Dial("tcp", addr)
			if err != nil {
				bad.Add(1)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			b, _ := io.ReadAll(c)
			if len(b) == 0 {
				bad.Add(1)
			}
		}(srcAddr(2, i))
	}
	wg.Wait()
	took := time.Since(start)
	if bad.Load() != 0 {
		t.Fatalf("%d of %d connections not served", bad.Load(), n)
	}
	d.signal(syscall.SIGUSR1)
	line := d.waitLog("event=dump", 5*time.Second, "tracked sources")
	m := regexp.MustCompile(`tracked sources (\d+)`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("dump line without a source count: %s", line)
	}
	tracked, _ := strconv.Atoi(m[1])
	rss, hwm := vmKB(t, d.pid(), "VmRSS"), vmKB(t, d.pid(), "VmHWM")
	t.Logf("%d sources in %v; tracked %d; RSS %.1f MiB at start, %.1f MiB after, peak %.1f MiB (cap %d MiB)",
		n, took.Round(time.Millisecond), tracked, float64(base)/1024, float64(rss)/1024, float64(hwm)/1024, rssCapMiB)
	if tracked < n {
		t.Fatalf("%d sources tracked, want at least %d", tracked, n)
	}
	if hwm > rssCapMiB*1024 {
		t.Fatalf("peak RSS %d KiB over the documented cap of %d MiB", hwm, rssCapMiB)
	}
}

// lowestFreeFD is the lowest descriptor number pid does not use: with
// RLIMIT_NOFILE set to it, the process's next open or accept fails with
// EMFILE.
func lowestFreeFD(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	used := map[int]bool{}
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		used[n] = true
	}
	n := 0
	for used[n] {
		n++
	}
	return n
}

// setNofile sets pid's soft RLIMIT_NOFILE (the hard one stays at 40, so
// the soft one can go back up without CAP_SYS_RESOURCE).
func setNofile(t *testing.T, pid, n int) {
	t.Helper()
	lim := fmt.Sprintf("--nofile=%d:40", n)
	if out, err := exec.Command("prlimit", "--pid", strconv.Itoa(pid), lim).CombinedOutput(); err != nil {
		t.Fatalf("prlimit %s: %v\n%s", lim, err, out)
	}
}

// echoes reports whether c echoes msg back at once.
func echoes(c net.Conn, msg string, wait time.Duration) bool {
	c.SetDeadline(time.Now().Add(wait))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte(msg)); err != nil {
		return false
	}
	b := make([]byte, len(msg))
	_, err := io.ReadFull(c, b)
	return err == nil && string(b) == msg
}

// burn measures hinetd's CPU time over 3 s.
func burn(t *testing.T, pid int, what string) {
	t.Helper()
	c0 := cpuTime(t, pid)
	time.Sleep(3 * time.Second)
	used := cpuTime(t, pid) - c0
	t.Logf("CPU time in 3 s %s: %v", what, used)
	if used > 300*time.Millisecond {
		t.Fatalf("hinetd used %v of CPU in 3 s %s (busy loop)", used, what)
	}
}

// TestLimitLowNofile: hinetd started with RLIMIT_NOFILE 40 and flooded
// with connections it must hold (built-in echo keeps each one open in
// hinetd itself).
//
// Phase 1: past the limit a connection can still be accepted but not
// served (the built-in needs a second descriptor): it is closed at once
// and logged, never silently, and hinetd does not spin.
//
// Phase 2: with the limit lowered (prlimit --pid) to the lowest free
// descriptor, accept itself fails with EMFILE: hinetd backs off without
// spinning, logs the episode once, and when descriptors are free again
// (the limit raised back) it accepts the queued connections by itself and
// logs the end of the episode.
func TestLimitLowNofile(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemonWith(t, []string{"prlimit", "--nofile=40:40"}, nil,
		fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port))
	pid := d.pid()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if got := dialRead(t, "tcp", addr, []byte("before")); string(got) != "before" {
		t.Fatalf("echo before the flood: %q", got)
	}
	var held []net.Conn
	closeAll := func() {
		for _, c := range held {
			c.Close()
		}
		held = nil
	}
	defer closeAll()

	// Phase 1.
	start := fdCount(t, pid)
	nServed, nClosed := 0, 0
	for i := 0; i < 60; i++ {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		held = append(held, c)
		if echoes(c, "x", 2*time.Second) {
			nServed++
		} else {
			nClosed++
		}
	}
	t.Logf("phase 1: hinetd had %d descriptors; of 60 held connections %d served, %d closed; now %d descriptors",
		start, nServed, nClosed, fdCount(t, pid))
	if nServed == 0 || nClosed == 0 || nServed > 40-start {
		t.Fatalf("served %d, closed %d: want the %d free descriptors used and the rest closed", nServed, nClosed, 40-start)
	}
	d.waitLog("event=limit", 2*time.Second, "limit=descriptors")
	burn(t, pid, "with every descriptor in use")
	closeAll()
	waitFDs(t, pid, start)
	// Accept may have failed now and then (a built-in's connection takes
	// a second descriptor for a moment): one episode at most, over once
	// accept works a second after the last failure.
	time.Sleep(1100 * time.Millisecond)
	if !echoes(mustDial(t, addr), "phase 1 over", 5*time.Second) {
		t.Fatal("echo not answering after the clients closed")
	}
	episodes := d.countLog("backing off")
	if episodes > 1 {
		t.Fatalf("phase 1: %d back-off records, want at most one episode", episodes)
	}
	waitCount(t, d, "accept works again", episodes, 2*time.Second)

	// Phase 2.
	for i := 0; i < 10; i++ {
		c := mustDial(t, addr)
		held = append(held, c)
		if !echoes(c, "x", 2*time.Second) {
			t.Fatalf("held connection %d not served", i)
		}
	}
	time.Sleep(100 * time.Millisecond)
	free := lowestFreeFD(t, pid)
	t.Logf("phase 2: %d descriptors in use, lowest free %d", fdCount(t, pid), free)
	setNofile(t, pid, free)
	var queued []net.Conn
	for i := 0; i < 10; i++ { // 25 + 10 fit under 40 once it is back
		c := mustDial(t, addr) // completes in the kernel's backlog
		queued = append(queued, c)
		c.Write([]byte("q"))
	}
	waitCount(t, d, "backing off", episodes+1, 5*time.Second)
	burn(t, pid, "with accept failing with EMFILE")
	// Descriptors are free again (the limit is back at 40; closing the
	// held clients would free descriptors above the lowered limit, no
	// use): the queued connections are served without any help.
	setNofile(t, pid, 40)
	b := make([]byte, 1)
	for i, c := range queued {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, b); err != nil || b[0] != 'q' {
			t.Fatalf("queued connection %d not served after descriptors were freed: %v", i, err)
		}
		c.Close()
	}
	// The end of the episode is logged at the first accept a second or
	// more after the last failure.
	time.Sleep(1100 * time.Millisecond)
	if !echoes(mustDial(t, addr), "phase 2 over", 5*time.Second) {
		t.Fatal("echo not answering after phase 2")
	}
	waitCount(t, d, "accept works again", episodes+1, 2*time.Second)
	if n := d.countLog("backing off"); n != episodes+1 {
		t.Fatalf("%d back-off records in phase 2, want 1", n-episodes)
	}
	if n := d.countLog("accept works again"); n != episodes+1 {
		t.Fatalf("%d ends of episode in phase 2, want 1", n-episodes)
	}
}

// waitCount waits until n log lines hold part.
func waitCount(t *testing.T, d *daemon, part string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for d.countLog(part) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d log lines with %q after %v, want %d; log:\n%s", d.countLog(part), part, timeout, n, d.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitFDs waits until pid has at most n descriptors open.
func waitFDs(t *testing.T, pid, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for fdCount(t, pid) > n {
		if time.Now().After(deadline) {
			t.Fatalf("hinetd holds %d descriptors 10 s after its clients closed, want %d", fdCount(t, pid), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestLimitUDPBuiltinSourceRate: a burst of datagrams from one source to
// the udp echo built-in gets at most burst + rate × time answers (20 + 10
// a second), while another source is still answered.
func TestLimitUDPBuiltinSourceRate(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d dgram udp wait root internal echo\n", port))
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	c := udpFrom(t, net.IPv4(127, 0, 0, 2))
	c.SetReadBuffer(1 << 20)
	const sent = 200
	answers, window := udpBurst(t, c, to, sent)
	buf := make([]byte, 1500)
	most := 20 + int(10*window.Seconds()) + 1
	t.Logf("%d datagrams sent in %v: %d answered (burst 20, 10/s: at most %d)", sent, window, answers, most)
	if answers > most || answers < 20 {
		t.Fatalf("%d answers to a burst of %d in %v: want 20 to %d", answers, sent, window, most)
	}
	// Another source is answered at once.
	wantUDPEcho(t, net.IPv4(127, 0, 0, 3), to, 2*time.Second)
	// The bucket refills: after 1 s the first source gets about 10 more.
	time.Sleep(time.Second)
	for i := 0; i < 5; i++ {
		c.WriteToUDP([]byte("again"), to)
	}
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, _, err := c.ReadFromUDP(buf); err != nil {
		t.Fatalf("first source not answered after the bucket refilled: %v", err)
	}
	wantRefusals(t, d, "source-rate", sent-answers)
}

// netns is a network namespace made for one test, removed at its end.
type netns struct {
	name string
}

// netnsSeq numbers the namespaces of this test process.
var netnsSeq atomic.Int64

// newNetns creates a namespace with lo up and addrs (with prefix length)
// on lo.
func newNetns(t *testing.T, addrs ...string) *netns {
	t.Helper()
	ns := &netns{name: fmt.Sprintf("hinetd-t%d-%d", os.Getpid(), netnsSeq.Add(1))}
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	exec.Command("ip", "netns", "del", ns.name).Run() // left over from a killed run
	run("netns", "add", ns.name)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns.name).Run() })
	run("-n", ns.name, "link", "set", "lo", "up")
	for _, a := range addrs {
		run("-n", ns.name, "addr", "add", a, "dev", "lo", "nodad")
	}
	return ns
}

// do runs f on a thread inside the namespace: sockets f creates belong to
// it. The thread stays locked and is discarded when f returns, so no
// other goroutine ever runs in the namespace. f must not call t.Fatal.
func (ns *netns) do(t *testing.T, f func()) {
	t.Helper()
	fd, err := unix.Open("/run/netns/"+ns.name, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread exits with us
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		f()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatalf("setns %s: %v", ns.name, err)
	}
}

// TestLimitIPv6Prefix: IPv6 clients are counted per /64. With
// max-child-per-ip 2, two clients on two addresses of one /64 use up the
// limit and a third address of the same /64 is refused, while an address
// of another /64 is served; with --ipv6-prefix 48, two /64s of one /48
// count as one client. Runs in a network namespace of its own.
func TestLimitIPv6Prefix(t *testing.T) {
	needRoot(t)
	ns := newNetns(t, "2001:db8:1::1/64", "2001:db8:1::a/64", "2001:db8:1::b/64",
		"2001:db8:1:0:ffff:ffff:ffff:c/64", "2001:db8:2::a/64", "2001:db8:1:5::a/64")
	hold := holdScript(t)
	port := freePort(t)
	d := startDaemonWith(t, []string{"ip", "netns", "exec", ns.name}, nil,
		fmt.Sprintf("[2001:db8:1::1]:%d stream tcp6 nowait/100/10000/2 nobody %s hold\n", port, hold))
	// expect connects from each source in turn, inside the namespace,
	// holding every served connection open, and checks the outcomes.
	expect := func(what string, port int, srcs []string, want []outcome) {
		addr := fmt.Sprintf("[2001:db8:1::1]:%d", port)
		got := make([]outcome, len(srcs))
		ns.do(t, func() {
			for i, s := range srcs {
				o, c := try(netip.MustParseAddr(s), addr, 3*time.Second)
				got[i] = o
				if c != nil {
					t.Cleanup(func() { c.Close() })
				}
			}
		})
		for i := range srcs {
			if got[i] != want[i] {
				t.Errorf("%sconnection %d from %s: %v, want %v", what, i+1, srcs[i], got[i], want[i])
			}
		}
	}
	expect("", port, []string{"2001:db8:1::a", "2001:db8:1::b", "2001:db8:1:0:ffff:ffff:ffff:c", "2001:db8:2::a", "2001:db8:1::a"},
		[]outcome{served, served, refused, served, refused})
	if t.Failed() {
		return
	}
	d.stop()
	if !strings.Contains(d.logText(), "2 connections from 2001:db8:1::/64 refused by max-child-per-ip") {
		t.Fatalf("no summary naming the /64; log:\n%s", d.logText())
	}

	// --ipv6-prefix 48: two /64s of one /48 are one client.
	port = freePort(t)
	d = startDaemonWith(t, []string{"ip", "netns", "exec", ns.name}, nil,
		fmt.Sprintf("[2001:db8:1::1]:%d stream tcp6 nowait/100/10000/1 nobody %s hold\n", port, hold), "--ipv6-prefix", "48")
	expect("--ipv6-prefix 48: ", port, []string{"2001:db8:1::a", "2001:db8:1:5::a", "2001:db8:2::a"},
		[]outcome{served, refused, served})
}

// udpBurst sends n datagrams from c to to as fast as it can, then counts
// the answers until none comes for a second. window is how long sending
// took, for the burst + rate × time bound.
func udpBurst(t *testing.T, c *net.UDPConn, to *net.UDPAddr, n int) (answers int, window time.Duration) {
	t.Helper()
	start := time.Now()
	for i := 0; i < n; i++ {
		if _, err := c.WriteToUDP([]byte(fmt.Sprintf("datagram %d", i)), to); err != nil {
			t.Fatal(err)
		}
	}
	window = time.Since(start)
	buf := make([]byte, 1500)
	for answers < n {
		c.SetReadDeadline(time.Now().Add(time.Second))
		if _, _, err := c.ReadFromUDP(buf); err != nil {
			break
		}
		answers++
	}
	return answers, window
}

// udpFrom - a UDP socket bound to ip, closed when the test ends.
func udpFrom(t *testing.T, ip net.IP) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// wantUDPEcho - a datagram from a fresh socket on src to the echo service
// at to comes back within timeout: the source is not limited.
func wantUDPEcho(t *testing.T, src net.IP, to *net.UDPAddr, timeout time.Duration) {
	t.Helper()
	o := udpFrom(t, src)
	o.WriteToUDP([]byte("other"), to)
	o.SetReadDeadline(time.Now().Add(timeout))
	buf := make([]byte, 64)
	n, _, err := o.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != "other" {
		t.Fatalf("source %v: %q, %v", src, buf[:n], err)
	}
}
