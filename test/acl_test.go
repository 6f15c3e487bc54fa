package test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// dialFrom connects from a chosen loopback source address, sends send
// (if any), half-closes, and returns everything the server wrote.
func dialFrom(t *testing.T, src, addr string, send []byte) []byte {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, src, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if send != nil {
		c.Write(send)
		c.(*net.TCPConn).CloseWrite()
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

// waitFor polls cond for up to timeout.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestACLDecisions: clients from different loopback addresses are granted
// and denied as the files say, for a built-in and an external service;
// an edit applies to the next connection without SIGHUP; a broken edit
// leaves the old rules in force.
func TestACLDecisions(t *testing.T) {
	needRoot(t)
	echo, ext := freePort(t), freePort(t)
	d := startDaemonWith(t, nil, map[string]string{
		"hosts.allow": "echo, hello: 127.0.0.2\n",
		"hosts.deny":  "# deny the rest\nALL: ALL\n",
	}, fmt.Sprintf(`127.0.0.1:%d stream tcp nowait root internal echo
127.0.0.1:%d stream tcp nowait nobody /bin/echo hello world
`, echo, ext))
	eaddr, xaddr := fmt.Sprintf("127.0.0.1:%d", echo), fmt.Sprintf("127.0.0.1:%d", ext)

	if got := string(dialFrom(t, "127.0.0.2", eaddr, []byte("ping"))); got != "ping" {
		t.Fatalf("granted client got %q from echo", got)
	}
	if got := string(dialFrom(t, "127.0.0.2", xaddr, nil)); got != "world\n" {
		t.Fatalf("granted client got %q from the external service", got)
	}
	if got := dialFrom(t, "127.0.0.3", eaddr, []byte("ping")); len(got) != 0 {
		t.Fatalf("denied client got %q from echo", got)
	}
	if got := dialFrom(t, "127.0.0.3", xaddr, nil); len(got) != 0 {
		t.Fatalf("denied client got %q from the external service", got)
	}
	d.waitLog("event=deny", 2*time.Second, "127.0.0.3", "rule=", "hosts.deny:2")
	spawnsBefore := d.countLog("event=spawn")

	// An edit to hosts.deny takes effect for the next connection, no SIGHUP.
	d.writeFile("hosts.allow", "")
	d.writeFile("hosts.deny", "ALL: 127.0.0.2\n")
	waitFor(t, 5*time.Second, "the edited hosts.deny to apply", func() bool {
		return len(dialFrom(t, "127.0.0.2", eaddr, []byte("x"))) == 0
	})
	if got := string(dialFrom(t, "127.0.0.3", eaddr, []byte("now"))); got != "now" {
		t.Fatalf("after the edit, 127.0.0.3 got %q", got)
	}

	// A broken edit is logged, and the previous table stays in force:
	// 127.0.0.2 is still denied.
	d.writeFile("hosts.deny", "ALL: [2001:db8::/32]\n")
	d.waitLog("event=config-error", 5*time.Second, "hosts.deny:1")
	time.Sleep(200 * time.Millisecond)
	if got := dialFrom(t, "127.0.0.2", eaddr, []byte("x")); len(got) != 0 {
		t.Fatalf("a broken hosts.deny opened access: %q", got)
	}
	if n := d.countLog("event=spawn"); n != spawnsBefore {
		t.Fatalf("denied connections started %d children", n-spawnsBefore)
	}
}

// TestACLTwistAndBanners: twist replaces the server with its text, banners
// sends the banner file before the service, both with % expansion.
func TestACLTwistAndBanners(t *testing.T) {
	needRoot(t)
	echo := freePort(t)
	d := startDaemonWith(t, nil, map[string]string{
		"banners/echo": "Welcome %a to %d\n",
		"hosts.allow":  "echo: 127.0.0.5: banners DIR/banners\n",
		"hosts.deny":   "echo: 127.0.0.4: twist /bin/echo go away %a\n",
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", echo))
	addr := fmt.Sprintf("127.0.0.1:%d", echo)
	if got := string(dialFrom(t, "127.0.0.4", addr, []byte("ignored"))); got != "go away 127.0.0.4\n" {
		t.Fatalf("twist: got %q", got)
	}
	if got := string(dialFrom(t, "127.0.0.5", addr, []byte("hi"))); got != "Welcome 127.0.0.5 to echo\nhi" {
		t.Fatalf("banners: got %q", got)
	}
	// twist runs confined and never as root.
	line := d.waitLog("event=spawn", 2*time.Second, "127.0.0.4")
	if !strings.Contains(line, "uid=65534") {
		t.Fatalf("twist command not run as nobody: %s", line)
	}
}

// TestACLSpawnHostileName: a spawn command's % expansions come from the
// network; a reverse name full of shell syntax must not inject anything,
// and the command runs confined as nobody. Reverse names come from a hosts
// file bind-mounted over /etc/hosts in a private mount namespace that only
// hinetd sees. (Go's resolver already drops names that are not valid
// domain names; the sanitizer in hosts.Expand is the second wall, fuzzed
// in the hosts package. Either way nothing may run.)
func TestACLSpawnHostileName(t *testing.T) {
	needRoot(t)
	echo := freePort(t)
	spool, err := os.MkdirTemp("", "hinetd-spool-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(spool) })
	os.Chmod(spool, 0o777) // the spawn command runs as nobody
	hostile := "x;touch${IFS}" + spool + "/pwned;`id`$(id).evil.example"
	cmd := func(tag string) string {
		return fmt.Sprintf("spawn (echo %%h %%n; id -u; grep -E '^(NoNewPrivs|Seccomp|CapEff)\\:' /proc/self/status) > %s/%s", spool, tag)
	}
	files := map[string]string{
		// The commands write their output there: the rest of the tree
		// is read-only to them (protect-system strict).
		"policy/rw.policy": "[default]\nread-write " + spool + "\n",
		"etc-hosts":        "127.0.0.1 localhost\n127.0.0.6 " + hostile + "\n127.0.0.7 good-host.example\n",
		"hosts.allow": "echo: 127.0.0.6: " + cmd("hostile") + "\n" +
			"echo: 127.0.0.7: " + cmd("good") + "\n",
	}
	startDaemonWith(t, []string{"unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind DIR/etc-hosts /etc/hosts && exec "$@"`, "sh"}, files,
		fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", echo))
	addr := fmt.Sprintf("127.0.0.1:%d", echo)
	read := func(tag, src string) []string {
		if got := string(dialFrom(t, src, addr, []byte("ok"))); got != "ok" {
			t.Fatalf("echo from %s: %q", src, got)
		}
		var out []byte
		waitFor(t, 5*time.Second, "the spawn command's output", func() bool {
			b, err := os.ReadFile(filepath.Join(spool, tag))
			out = b
			return err == nil && strings.Count(string(b), "\n") >= 5
		})
		return strings.Split(string(out), "\n")
	}

	// A benign name resolves and verifies: the lookup path works.
	good := read("good", "127.0.0.7")
	if good[0] != "good-host.example good-host.example" {
		t.Fatalf("%%h %%n for a verified name: %q", good[0])
	}

	lines := read("hostile", "127.0.0.6")
	if _, err := os.Stat(filepath.Join(spool, "pwned")); err == nil {
		t.Fatalf("the hostile name ran a command; spawn output:\n%s", strings.Join(lines, "\n"))
	}
	for _, r := range lines[0] {
		if !strings.ContainsRune(" 1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", r) {
			t.Fatalf("unsafe character %q reached the shell: %q", r, lines[0])
		}
	}
	for _, l := range [][]string{good, lines} {
		if l[1] != "65534" {
			t.Fatalf("spawn command ran as uid %q, want 65534 (nobody)", l[1])
		}
		status := strings.Join(l[2:], "\n")
		for _, w := range []string{"NoNewPrivs:\t1", "Seccomp:\t2", "CapEff:\t0000000000000000"} {
			if !strings.Contains(status, w) {
				t.Fatalf("spawn command not confined (%q missing):\n%s", w, status)
			}
		}
	}
}

// TestACLOptionsShapeTheService: setenv, umask and user in the deciding
// rule change how that connection's server starts, as under tcpd.
func TestACLOptionsShapeTheService(t *testing.T) {
	needRoot(t)
	p := probe(t)
	port := freePort(t)
	startDaemonWith(t, nil, map[string]string{
		"hosts.allow": "probe: 127.0.0.8: setenv CLIENT_ADDR %a: umask 077: user daemon\n",
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s probe\n", port, p))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	shaped := report(string(dialFrom(t, "127.0.0.8", addr, nil)))
	if !strings.Contains(shaped["env"], "CLIENT_ADDR=127.0.0.8\n") {
		t.Errorf("setenv: environment is\n%s", shaped["env"])
	}
	if shaped["umask"] != "0077\n" {
		t.Errorf("umask: %q", shaped["umask"])
	}
	if got := statusField(shaped["status"], "Uid"); got != "1\t1\t1\t1" {
		t.Errorf("user daemon: Uid %q", got)
	}
	if got := statusField(shaped["status"], "NoNewPrivs"); got != "1" {
		t.Errorf("a rule's user switch lost no_new_privs")
	}
	// Another client gets the service as configured.
	plain := report(string(dialFrom(t, "127.0.0.9", addr, nil)))
	if strings.Contains(plain["env"], "CLIENT_ADDR") || plain["umask"] != "0027\n" ||
		statusField(plain["status"], "Uid") != "65534\t65534\t65534\t65534" {
		t.Errorf("a client without options got a shaped service:\n%v", plain)
	}
}

// TestACLSocketAndNiceOptions: keepalive, linger and nice in the deciding
// rule act on that client's socket and server, as tcpd applies them.
func TestACLSocketAndNiceOptions(t *testing.T) {
	needRoot(t)
	p := probe(t)
	port := freePort(t)
	startDaemonWith(t, nil, map[string]string{
		"hosts.allow": "probe: 127.0.0.10: keepalive: linger 7: nice 5\n",
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s probe\n", port, p))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	opt := report(string(dialFrom(t, "127.0.0.10", addr, nil)))
	if opt["sockopt"] != "keepalive 1\nlinger 1 7\n" {
		t.Errorf("keepalive, linger 7: socket options\n%s", opt["sockopt"])
	}
	if opt["nice"] != "5\n" {
		t.Errorf("nice 5: %q", opt["nice"])
	}
	plain := report(string(dialFrom(t, "127.0.0.11", addr, nil)))
	if plain["sockopt"] != "keepalive 0\nlinger 0 0\n" || plain["nice"] != "0\n" {
		t.Errorf("a client without options: %q %q", plain["sockopt"], plain["nice"])
	}
}

// TestACLDatagramBuiltin: datagrams to a built-in are decided too; a
// denied source gets no answer, an allowed one does.
func TestACLDatagramBuiltin(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemonWith(t, nil, map[string]string{
		"hosts.deny": "echo: 127.0.0.12\n",
	}, fmt.Sprintf("127.0.0.1:%d dgram udp wait root internal echo\n", port))
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	ask := func(src string) (string, error) {
		c := udpFrom(t, net.ParseIP(src))
		c.WriteToUDP([]byte("ping "+src), to)
		c.SetReadDeadline(time.Now().Add(time.Second))
		b := make([]byte, 100)
		n, _, err := c.ReadFromUDP(b)
		return string(b[:n]), err
	}
	if got, err := ask("127.0.0.13"); err != nil || got != "ping 127.0.0.13" {
		t.Fatalf("allowed source: %q, %v", got, err)
	}
	if got, err := ask("127.0.0.12"); err == nil {
		t.Fatalf("denied source answered %q", got)
	}
	d.waitLog("event=deny", 2*time.Second, "127.0.0.12", "hosts.deny:1")
}

// TestACLIdentRealServer: a user@host pattern and %u ask the client's ident
// server (RFC 931) who owns the connection. A real oidentd answers, in a
// network namespace of the test's own (ident is always port 113, so the
// host's is left alone): a client running as root gets the banner that
// names it, one running as nobody is denied by name.
func TestACLIdentRealServer(t *testing.T) {
	needRoot(t)
	oidentd, err := exec.LookPath("oidentd")
	if err != nil {
		t.Fatal("oidentd not installed (make test installs it)")
	}
	ns := newNetns(t)
	conf := filepath.Join(t.TempDir(), "oidentd.conf")
	os.WriteFile(conf, nil, 0o644) // oidentd's defaults: a plain reply with the owner's name
	identd := exec.Command("ip", "netns", "exec", ns.name, oidentd, "-i", "-S", "-a", "127.0.0.1", "-p", "113", "-C", conf)
	var identLog strings.Builder
	identd.Stdout, identd.Stderr = &identLog, &identLog
	if err := identd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { identd.Process.Kill(); identd.Wait() })
	waitFor(t, 5*time.Second, "oidentd to listen on 127.0.0.1:113", func() bool {
		up := false
		ns.do(t, func() {
			if c, err := net.DialTimeout("tcp", "127.0.0.1:113", time.Second); err == nil {
				c.Close()
				up = true
			}
		})
		return up
	})

	port := freePort(t)
	d := startDaemonWith(t, []string{"ip", "netns", "exec", ns.name}, map[string]string{
		"banners/daytime": "hello %u\n",
		"hosts.allow":     "daytime: root@127.0.0.1: banners DIR/banners\n",
		"hosts.deny":      "daytime: ALL: twist /bin/echo no entry for %u\n",
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal daytime\n", port))
	// The client is bash's /dev/tcp under setpriv, so that the connection
	// belongs to the user named; it reads until the server closes.
	client := func(uid string) string {
		t.Helper()
		script := fmt.Sprintf("exec 3<>/dev/tcp/127.0.0.1/%d && timeout 10 cat <&3", port)
		out, err := exec.Command("ip", "netns", "exec", ns.name, "setpriv", "--reuid", uid, "--regid", uid,
			"--clear-groups", "--", "bash", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("client as uid %s: %v\n%s", uid, err, out)
		}
		return string(out)
	}
	if got := client("0"); !strings.HasPrefix(got, "hello root\n") || len(got) <= len("hello root\n") {
		t.Fatalf("root's connection: got %q, want the banner naming root, then the time\nlog:\n%s\noidentd:\n%s", got, d.logText(), identLog.String())
	}
	d.waitLog("event=accept", 5*time.Second, "hosts.allow:1")
	if got := client("65534"); got != "no entry for nobody\n" {
		t.Fatalf("nobody's connection: got %q, want the twist naming nobody\nlog:\n%s\noidentd:\n%s", got, d.logText(), identLog.String())
	}
	d.waitLog("event=deny", 5*time.Second, "hosts.deny:1")
}
