package test

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitServed reports whether a client from src gets the wait server's
// "wait-ok" line. A denied client's SYN is dropped in the kernel: its
// connect times out.
func waitServed(t *testing.T, src, addr string) bool {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 700 * time.Millisecond}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b := make([]byte, 64)
	n, _ := c.Read(b)
	return strings.HasPrefix(string(b[:n]), "wait-ok ")
}

// TestWaitStreamACL (issue 13, item 1): the address rules hold for a
// wait-mode stream service, whose server accepts its own clients. Denied
// (hosts.deny "waitsrv: 127.0.0.1"): the client is not served, others
// are, and no record says "granted rule=none (default grant)". Allow-list
// (hosts.allow "waitsrv: 10.0.0.1", hosts.deny "ALL: ALL"): a refused
// client does not make the daemon re-decide in a loop nor pause the
// service; once the rules grant it, it is served. hinetd-match and
// hinetd-check agree with the daemon.
func TestWaitStreamACL(t *testing.T) {
	needRoot(t)
	srv := buildC(t, "testdata/waitsrv.c")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf := fmt.Sprintf("127.0.0.1:%d stream tcp wait nobody %s waitsrv\n", port, srv)

	d := startDaemonWith(t, nil, map[string]string{"hosts.deny": "waitsrv: 127.0.0.1\n"}, conf)
	if waitServed(t, "127.0.0.1", addr) {
		t.Fatal("127.0.0.1 served by a wait service hosts.deny denies it")
	}
	if !waitServed(t, "127.0.0.2", addr) {
		t.Fatal("127.0.0.2 not served")
	}
	d.waitLog("hosts rules: clients filtered in the kernel", 2*time.Second, "hosts.deny:1")
	if n := d.countLog("default grant"); n != 0 {
		t.Fatalf("%d records say default grant:\n%s", n, d.logText())
	}
	match := exec.Command(bin(t, "hinetd-match"), "--hosts-allow", filepath.Join(d.dir, "hosts.allow"),
		"--hosts-deny", filepath.Join(d.dir, "hosts.deny"), "-i", d.conf, "waitsrv", "127.0.0.1")
	if out, err := match.CombinedOutput(); err == nil || !strings.Contains(string(out), "access:   denied") ||
		!strings.Contains(string(out), fmt.Sprintf("wait-mode service %d (%s:1): clients filtered in the kernel", port, d.conf)) {
		t.Fatalf("hinetd-match -i inetd.conf waitsrv 127.0.0.1: %v\n%s", err, out)
	}
	out, _ := exec.Command(bin(t, "hinetd"), "--check", "--policy", filepath.Join(d.dir, "policy"), "--hosts-allow", filepath.Join(d.dir, "hosts.allow"),
		"--hosts-deny", filepath.Join(d.dir, "hosts.deny"), d.conf).CombinedOutput()
	if !strings.Contains(string(out), "hosts:        clients filtered in the kernel by a socket filter") {
		t.Fatalf("--check does not say how the wait service is protected:\n%s", out)
	}
	d.stop()

	// The allow-list: one pending client must not be re-decided in a loop.
	d = startDaemonWith(t, nil, map[string]string{"hosts.allow": "waitsrv: 10.0.0.1\n", "hosts.deny": "ALL: ALL\n"}, conf)
	if waitServed(t, "127.0.0.1", addr) {
		t.Fatal("127.0.0.1 served; only 10.0.0.1 is allowed")
	}
	time.Sleep(500 * time.Millisecond)
	if n := d.countLog("event=deny") + d.countLog("event=suspend"); n != 0 {
		t.Fatalf("%d deny or suspend records for one refused client:\n%s", n, d.logText())
	}
	d.writeFile("hosts.allow", "waitsrv: 10.0.0.1, 127.0.0.1\n")
	waitFor(t, 5*time.Second, "127.0.0.1 to be served once allowed", func() bool { return waitServed(t, "127.0.0.1", addr) })
}

// TestWaitStreamACLRefused (issue 13, item 1): a rule that can apply to
// a wait-mode stream service but needs what a filter cannot know (a host
// name) refuses the service at start, naming the rule; if an edit of the
// hosts files brings one in later, every client is refused until it goes.
func TestWaitStreamACLRefused(t *testing.T) {
	needRoot(t)
	srv := buildC(t, "testdata/waitsrv.c")
	port, other := freePort(t), freePort(t)
	d := startDaemonWith(t, nil, map[string]string{"hosts.deny": "waitsrv: .example.com\n"},
		fmt.Sprintf("127.0.0.1:%d stream tcp wait nobody %s waitsrv\n127.0.0.1:%d stream tcp nowait root internal echo\n", port, srv, other))
	d.waitLog("event=config-error", 2*time.Second, "inetd.conf:1:", "hosts.deny:1: needs more than the client address", `".example.com" needs the client's host name`)
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 500*time.Millisecond); err == nil {
		t.Fatal("the refused service listens")
	}
	out, err := exec.Command(bin(t, "hinetd"), "--check", "--policy", filepath.Join(d.dir, "policy"), "--hosts-allow", filepath.Join(d.dir, "hosts.allow"),
		"--hosts-deny", filepath.Join(d.dir, "hosts.deny"), d.conf).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "inetd.conf:1: error: wait-mode stream service") || !strings.Contains(string(out), "hosts.deny:1") {
		t.Fatalf("--check: %v\n%s", err, out)
	}

	// Filterable rules: served; then a name rule comes in by an edit.
	d.writeFile("hosts.deny", "waitsrv: 127.0.0.3, 127.0.0.4\n")
	d.waitLog("access control files reloaded", 5*time.Second)
	d.reload(d.countLog("event=reload") + 1)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitFor(t, 5*time.Second, "the service to start", func() bool { return waitServed(t, "127.0.0.1", addr) })
	d.writeFile("hosts.deny", "waitsrv: 127.0.0.3, 127.0.0.4\nwaitsrv: .example.com\n")
	d.waitLog("event=config-error", 5*time.Second, "every client is refused until the hosts files can be enforced")
	if waitServed(t, "127.0.0.1", addr) {
		t.Fatal("served with a rule the filter cannot enforce")
	}
}

// TestWaitDgramACL (issue 13, item 1, datagram side): a wait-mode datagram
// server reads the socket itself; with address rules the socket filter
// applies them to every datagram, not only to the first one of a run.
func TestWaitDgramACL(t *testing.T) {
	needRoot(t)
	srv := buildC(t, "testdata/waitdgram.c")
	port := freePort(t)
	d := startDaemonWith(t, nil, map[string]string{"hosts.deny": "waitdgram: 127.0.0.2\n"},
		fmt.Sprintf("127.0.0.1:%d dgram udp wait nobody %s waitdgram\n", port, srv))
	to := &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: port}
	ask := func(src, msg string) string {
		c := udpFrom(t, net.ParseIP(src))
		defer c.Close()
		c.WriteTo([]byte(msg), to)
		c.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		b := make([]byte, 600)
		n, _, _ := c.ReadFrom(b)
		return string(b[:n])
	}
	if got := ask("127.0.0.1", "first"); !strings.HasSuffix(got, ": first") {
		t.Fatalf("granted first datagram: %q", got)
	}
	// The server is running and reads the socket: a denied source's
	// datagram must not reach it.
	if got := ask("127.0.0.2", "second"); got != "" {
		t.Fatalf("a denied source got %q from a running wait server", got)
	}
	if got := ask("127.0.0.1", "third"); !strings.HasSuffix(got, ": third") {
		t.Fatalf("granted datagram after the denied one: %q", got)
	}
	d.waitLog("hosts rules: clients filtered in the kernel", 2*time.Second)
}

// TestWaitDgramACLFirstDatagram (issue 13, item 1, datagram side): a
// wait-mode datagram service whose rules need a host name cannot have
// a socket filter; it keeps tcpd's rule, and hinetd-check, hinetd-match
// and the daemon's log all say that only the first datagram of each
// server run is checked. It is not an error: tcpd did no more.
func TestWaitDgramACLFirstDatagram(t *testing.T) {
	needRoot(t)
	srv := buildC(t, "testdata/waitdgram.c")
	port := freePort(t)
	d := startDaemonWith(t, nil, map[string]string{"hosts.deny": "waitdgram: .example.com\n"},
		fmt.Sprintf("127.0.0.1:%d dgram udp wait nobody %s waitdgram\n", port, srv))
	const first = "hosts rules decide the first datagram of each server run only"
	d.waitLog("hosts rules: "+first, 2*time.Second, "hosts.deny:1")
	out, err := exec.Command(bin(t, "hinetd"), "--check", "--policy", filepath.Join(d.dir, "policy"), "--hosts-allow", filepath.Join(d.dir, "hosts.allow"),
		"--hosts-deny", filepath.Join(d.dir, "hosts.deny"), d.conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "hosts:        "+first) {
		t.Fatalf("--check: %v\n%s", err, out)
	}
	out, _ = exec.Command(bin(t, "hinetd-match"), "--hosts-allow", filepath.Join(d.dir, "hosts.allow"),
		"--hosts-deny", filepath.Join(d.dir, "hosts.deny"), "-i", d.conf, "waitdgram", "127.0.0.1").CombinedOutput()
	if !strings.Contains(string(out), fmt.Sprintf("wait-mode service %d (%s:1): %s", port, d.conf, first)) {
		t.Fatalf("hinetd-match -i:\n%s", out)
	}
}
