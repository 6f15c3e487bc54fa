package test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// chargenLine is line n of RFC 864's pattern, computed independently of
// the daemon's code.
func chargenLine(n int) string {
	var b strings.Builder
	for i := 0; i < 72; i++ {
		b.WriteByte(byte(' ' + (n+i)%95))
	}
	return b.String() + "\r\n"
}

func TestBuiltinsTCPAndUDP(t *testing.T) {
	needRoot(t)
	p := map[string]int{}
	var conf strings.Builder
	for _, name := range []string{"echo", "discard", "chargen", "daytime", "time"} {
		p[name] = freePort(t)
		fmt.Fprintf(&conf, "127.0.0.1:%d stream tcp nowait root internal %s\n", p[name], name)
		fmt.Fprintf(&conf, "127.0.0.1:%d dgram udp wait root internal %s\n", p[name], name)
	}
	startDaemon(t, conf.String())
	addr := func(n string) string { return fmt.Sprintf("127.0.0.1:%d", p[n]) }

	t.Run("echo/tcp", func(t *testing.T) {
		msg := bytes.Repeat([]byte("hinetd echo\n"), 1000)
		if got := dialRead(t, "tcp", addr("echo"), msg); !bytes.Equal(got, msg) {
			t.Fatalf("echo returned %d bytes, want %d identical", len(got), len(msg))
		}
	})
	t.Run("discard/tcp", func(t *testing.T) {
		if got := dialRead(t, "tcp", addr("discard"), []byte("into the void")); len(got) != 0 {
			t.Fatalf("discard answered %q", got)
		}
	})
	t.Run("chargen/tcp", func(t *testing.T) {
		c, err := net.Dial("tcp", addr("chargen"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		want := ""
		for i := 0; i < 200; i++ {
			want += chargenLine(i)
		}
		got := make([]byte, len(want))
		if _, err := ioReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Fatalf("chargen pattern differs:\n got %q\nwant %q", got[:148], want[:148])
		}
	})
	t.Run("daytime/tcp", func(t *testing.T) {
		got := string(dialRead(t, "tcp", addr("daytime"), nil))
		checkDaytime(t, got)
	})
	t.Run("time/tcp", func(t *testing.T) {
		checkTime(t, dialRead(t, "tcp", addr("time"), nil))
	})
	t.Run("echo/udp", func(t *testing.T) {
		got, err := exchangeUDP(t, addr("echo"), []byte("ping 123"), 3*time.Second)
		if err != nil || string(got) != "ping 123" {
			t.Fatalf("udp echo: %q, %v", got, err)
		}
	})
	t.Run("discard/udp", func(t *testing.T) {
		if got, err := exchangeUDP(t, addr("discard"), []byte("x"), 500*time.Millisecond); err == nil {
			t.Fatalf("udp discard answered %q", got)
		}
	})
	t.Run("chargen/udp", func(t *testing.T) {
		got, err := exchangeUDP(t, addr("chargen"), []byte("x"), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		want := ""
		for i := 0; len(want) < 512; i++ {
			want += chargenLine(i)
		}
		if string(got) != want[:512] {
			t.Fatalf("udp chargen: %d bytes %q…", len(got), got[:40])
		}
	})
	t.Run("daytime/udp", func(t *testing.T) {
		got, err := exchangeUDP(t, addr("daytime"), []byte("x"), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		checkDaytime(t, string(got))
	})
	t.Run("time/udp", func(t *testing.T) {
		got, err := exchangeUDP(t, addr("time"), []byte("x"), 3*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		checkTime(t, got)
	})
	t.Run("udp source port below 1024 not answered", func(t *testing.T) {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1000},
			&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p["echo"]})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("loop?"))
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if n, err := c.Read(make([]byte, 100)); err == nil {
			t.Fatalf("echo answered a privileged source port (%d bytes)", n)
		}
	})
	t.Run("udp from a built-in's own port not answered", func(t *testing.T) {
		// chargen's port talking to echo: the classic ping-pong.
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2), Port: p["chargen"]},
			&net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p["echo"]})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte("loop?"))
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if n, err := c.Read(make([]byte, 100)); err == nil {
			t.Fatalf("echo answered a built-in's port (%d bytes)", n)
		}
	})
}

func ioReadFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func checkDaytime(t *testing.T, got string) {
	t.Helper()
	if !strings.HasSuffix(got, "\r\n") {
		t.Fatalf("daytime %q lacks CR LF", got)
	}
	ts, err := time.ParseInLocation("Mon Jan _2 15:04:05 2006", strings.TrimSuffix(got, "\r\n"), time.Local)
	if err != nil {
		t.Fatalf("daytime %q: %v", got, err)
	}
	if d := time.Since(ts); d < -2*time.Second || d > 5*time.Second {
		t.Fatalf("daytime %q is %v off", got, d)
	}
}

func checkTime(t *testing.T, got []byte) {
	t.Helper()
	if len(got) != 4 {
		t.Fatalf("time answered %d bytes, want 4", len(got))
	}
	secs := int64(binary.BigEndian.Uint32(got)) - 2208988800
	if d := time.Now().Unix() - secs; d < -2 || d > 5 {
		t.Fatalf("time is %d s off", d)
	}
}

func TestExternalServiceWithArgs(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo-argv0 one  two\n", port))
	got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil))
	if got != "one two\n" {
		t.Fatalf("got %q, want %q", got, "one two\n")
	}
	d.waitLog("event=exit", 5*time.Second, "status=0")
}

// TestFamiliesAndUnix covers tcp6 on ::1, dual-stack tcp46 and a unix
// socket service.
func TestFamiliesAndUnix(t *testing.T) {
	needRoot(t)
	p6, p46 := freePort(t), freePort(t)
	sock := filepath.Join(t.TempDir(), "echo.sock")
	os.Chmod(filepath.Dir(sock), 0o755)
	startDaemon(t, fmt.Sprintf(`[::1]:%d stream tcp6 nowait root internal echo
*:%d stream tcp46 nowait root internal echo
%s stream unix nowait nobody /bin/echo echo unix-ok
`, p6, p46, sock))
	if got := dialRead(t, "tcp6", fmt.Sprintf("[::1]:%d", p6), []byte("v6")); string(got) != "v6" {
		t.Fatalf("tcp6 echo: %q", got)
	}
	if _, err := net.DialTimeout("tcp4", fmt.Sprintf("127.0.0.1:%d", p6), time.Second); err == nil {
		t.Fatal("tcp6 service on ::1 accepted an IPv4 connection")
	}
	if got := dialRead(t, "tcp4", fmt.Sprintf("127.0.0.1:%d", p46), []byte("v4")); string(got) != "v4" {
		t.Fatalf("tcp46 over IPv4: %q", got)
	}
	if got := dialRead(t, "tcp6", fmt.Sprintf("[::1]:%d", p46), []byte("v6")); string(got) != "v6" {
		t.Fatalf("tcp46 over IPv6: %q", got)
	}
	if got := dialRead(t, "unix", sock, nil); string(got) != "unix-ok\n" {
		t.Fatalf("unix service: %q", got)
	}
}

// TestTFTPWaitDgram runs the real tftpd-hpa as a dgram udp wait service
// and fetches a file with the real tftp client.
func TestTFTPWaitDgram(t *testing.T) {
	needRoot(t)
	tftpd, err := exec.LookPath("in.tftpd")
	if err != nil {
		t.Fatal("in.tftpd missing (make test installs tftpd-hpa)")
	}
	tftp, err := exec.LookPath("tftp")
	if err != nil {
		t.Fatal("tftp client missing (make test installs tftp-hpa)")
	}
	root := t.TempDir()
	os.Chmod(root, 0o755)
	content := bytes.Repeat([]byte("hinetd tftp test block\n"), 200) // several 512-byte blocks
	os.WriteFile(filepath.Join(root, "hello.txt"), content, 0o644)
	port := freePort(t)
	// tftpd starts as root to chroot and drop to nobody: its policy names
	// exactly the capabilities and the extra syscall that needs.
	policyDir := t.TempDir()
	os.WriteFile(filepath.Join(policyDir, "tftp.policy"), []byte(fmt.Sprintf(`[service %d]
caps CAP_SETUID CAP_SETGID CAP_SYS_CHROOT
seccomp-allow chroot
`, port)), 0o644)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d dgram udp wait root %s in.tftpd -t 2 -s %s\n", port, tftpd, root),
		"--policy", policyDir)
	out := filepath.Join(t.TempDir(), "got.txt")
	cmd := exec.Command(tftp, "127.0.0.1", fmt.Sprint(port), "-m", "binary", "-c", "get", "hello.txt", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("tftp get: %v\n%s\nlog:\n%s", err, b, d.logText())
	}
	got, _ := os.ReadFile(out)
	if !bytes.Equal(got, content) {
		t.Fatalf("tftp fetched %d bytes, want %d", len(got), len(content))
	}
}

func TestMalformedLinesAndCheck(t *testing.T) {
	needRoot(t)
	good := freePort(t)
	conf := fmt.Sprintf(`# good and bad lines mixed
127.0.0.1:%d stream tcp nowait root internal echo
127.0.0.1:%d stream tcp
127.0.0.1:%d strem tcp nowait root internal echo
127.0.0.1:%d stream tcp nowait no-such-user-hinetd internal echo
no-such-service-hinetd stream tcp nowait root internal echo
127.0.0.1:%d stream tcp nowait root internal echo
`, good, freePort(t), freePort(t), freePort(t), good)
	d := startDaemon(t, conf)
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", good), []byte("ok")); string(got) != "ok" {
		t.Fatalf("good service: %q", got)
	}
	for _, line := range []string{"inetd.conf:3:", "inetd.conf:4:", "inetd.conf:5:", "inetd.conf:6:", "inetd.conf:7:"} {
		d.waitLog("event=config-error", 2*time.Second, line)
	}
	if n := d.countLog("event=config-error", "inetd.conf:2:"); n != 0 {
		t.Fatalf("good line reported as an error")
	}

	// --check: exit 1 with every error, exit 0 on a clean file.
	out, err := exec.Command(bin(t, "hinetd"), "--check", "--policy", filepath.Join(d.dir, "policy"),
		"--hosts-allow", filepath.Join(d.dir, "hosts.allow"), "--hosts-deny", filepath.Join(d.dir, "hosts.deny"), d.conf).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("--check on a bad file: %v, want exit 1\n%s", err, out)
	}
	if n := len(regexp.MustCompile(`inetd\.conf:\d+(:\d+)?: error: `).FindAll(out, -1)); n != 5 {
		t.Fatalf("--check printed %d errors, want 5:\n%s", n, out)
	}
	clean := d.writeFile("clean.conf", fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", good))
	out, err = exec.Command(bin(t, "hinetd"), "--check", "--policy", filepath.Join(d.dir, "policy"),
		"--hosts-allow", filepath.Join(d.dir, "hosts.allow"), "--hosts-deny", filepath.Join(d.dir, "hosts.deny"), clean).CombinedOutput()
	if err != nil {
		t.Fatalf("--check on a clean file: %v\n%s", err, out)
	}
	// Usage errors exit 2.
	err = exec.Command(bin(t, "hinetd"), "--no-such-flag").Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 {
		t.Fatalf("unknown flag: %v, want exit 2", err)
	}
}

func TestReload(t *testing.T) {
	needRoot(t)
	a, b, c := freePort(t), freePort(t), freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n127.0.0.1:%d stream tcp nowait root internal echo\n", a, b))
	addr := func(p int) string { return fmt.Sprintf("127.0.0.1:%d", p) }

	// A client connects in a loop to the unchanged service a during 20
	// reloads: not one connection may be refused.
	var stop atomic.Bool
	var served, failed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 100000 && !stop.Load(); i++ {
			cn, err := net.DialTimeout("tcp", addr(a), 2*time.Second)
			if err != nil {
				failed.Add(1)
				continue
			}
			cn.SetDeadline(time.Now().Add(2 * time.Second))
			cn.Write([]byte("x"))
			buf := make([]byte, 1)
			if _, err := cn.Read(buf); err != nil || buf[0] != 'x' {
				failed.Add(1)
			} else {
				served.Add(1)
			}
			cn.Close()
		}
	}()
	for i := 1; i <= 20; i++ {
		conf := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", a)
		if i%2 == 1 {
			conf += fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", c) // b removed, c added
		} else {
			conf += fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal daytime\n", b)
		}
		os.WriteFile(d.conf, []byte(conf), 0o644)
		d.reload(i)
	}
	stop.Store(true)
	wg.Wait()
	if failed.Load() != 0 || served.Load() == 0 {
		t.Fatalf("during 20 reloads: %d served, %d failed", served.Load(), failed.Load())
	}
	// Last config (i=20): a echo, b daytime; c removed.
	checkDaytime(t, string(dialRead(t, "tcp", addr(b), nil)))
	if _, err := net.DialTimeout("tcp", addr(c), time.Second); err == nil {
		t.Fatal("removed service c still accepts")
	}
	line := d.waitLog("event=reload", time.Second, "added=1", "removed=1")
	if !strings.Contains(line, "hash=") {
		t.Fatalf("reload summary lacks the config hash: %s", line)
	}
	// Change a service in place: echo → daytime on the same port.
	os.WriteFile(d.conf, []byte(fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal daytime\n", a)), 0o644)
	d.reload(21)
	d.waitLog("event=reload", time.Second, "changed=1")
	checkDaytime(t, string(dialRead(t, "tcp", addr(a), nil)))
}

// TestNoLeaksAfter1000 runs 1,000 connections to an external service and
// checks for zombies and leaked descriptors in hinetd.
func TestNoLeaksAfter1000(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	// -R 0: this test is about leaks, not the looping guard.
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo hi\n", port), "-R", "0")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	dialRead(t, "tcp", addr, nil) // warm up: the spawner starts on first use
	time.Sleep(200 * time.Millisecond)
	before := fdCount(t, d.pid())
	var wg sync.WaitGroup
	var bad atomic.Int64
	sem := make(chan struct{}, 16)
	for i := 0; i < 1000; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				bad.Add(1)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			b := make([]byte, 16)
			n, _ := ioReadFull(c, b[:3])
			if string(b[:n]) != "hi\n" {
				bad.Add(1)
			}
		}()
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of 1000 connections failed", bad.Load())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		z := zombies(t, d.pid())
		after := fdCount(t, d.pid())
		exits := d.countLog("event=exit")
		if len(z) == 0 && after <= before && exits >= 1001 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 1000 connections: zombies %v, descriptors %d → %d, %d exit records for 1001 children",
				z, before, after, exits)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestLoopingGuard: a dgram wait service that exits without reading makes
// the socket readable again at once; -R must pause it instead of spinning,
// and other services keep answering.
func TestLoopingGuard(t *testing.T) {
	needRoot(t)
	loop, echo := freePort(t), freePort(t)
	d := startDaemon(t, fmt.Sprintf(`127.0.0.1:%d dgram udp wait nobody /bin/true true
127.0.0.1:%d stream tcp nowait root internal echo
`, loop, echo), "-R", "30")
	c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", loop))
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("never read"))
	c.Close()
	d.waitLog("event=suspend", 15*time.Second)
	t0 := cpuTime(t, d.pid())
	time.Sleep(3 * time.Second)
	if used := cpuTime(t, d.pid()) - t0; used > 300*time.Millisecond {
		t.Fatalf("hinetd used %v of CPU in 3 s while the looping service was paused", used)
	}
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", echo), []byte("alive")); string(got) != "alive" {
		t.Fatalf("other service during the pause: %q", got)
	}
	if n := d.countLog("event=spawn", "true"); n > 40 {
		t.Logf("spawns: %d", n)
	}
}

// TestFloodRecovers: a nowait service flooded past -R answers again
// within 20 s of the flood's end.
func TestFloodRecovers(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo up\n", port), "-R", "50")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for i := 0; i < 200; i++ {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
	}
	d.waitLog("event=suspend", 5*time.Second)
	end := time.Now()
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.SetDeadline(time.Now().Add(2 * time.Second))
			b := make([]byte, 3)
			n, _ := ioReadFull(c, b)
			c.Close()
			if string(b[:n]) == "up\n" {
				break
			}
		}
		if time.Since(end) > 20*time.Second {
			t.Fatalf("service not answering 20 s after the flood; log:\n%s", d.logText())
		}
		time.Sleep(500 * time.Millisecond)
	}
	d.waitLog("event=resume", time.Second)
}

func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

var _ = syscall.SIGHUP

// TestWaitStream: a wait stream service gets the listening socket itself
// and accepts its clients; hinetd starts it again only after it exits.
func TestWaitStream(t *testing.T) {
	needRoot(t)
	srv := buildC(t, "testdata/waitsrv.c")
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp wait nobody %s waitsrv\n", port, srv))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var pids []string
	for i := 0; i < 4; i++ {
		got := string(dialRead(t, "tcp", addr, nil))
		pid, ok := strings.CutPrefix(strings.TrimSpace(got), "wait-ok ")
		if !ok {
			t.Fatalf("connection %d: %q", i, got)
		}
		pids = append(pids, pid)
	}
	// Each server takes two clients, then exits; the next one is new.
	if pids[0] != pids[1] || pids[2] != pids[3] || pids[1] == pids[2] {
		t.Fatalf("servers by connection: %v", pids)
	}
	waitFor(t, 5*time.Second, "two exits", func() bool { return d.countLog("event=exit") >= 2 })
	if n := d.countLog("event=spawn"); n != 2 {
		t.Fatalf("%d servers started for 4 connections, want 2", n)
	}
}

// TestNowaitDgram: a nowait dgram service gets one server per datagram,
// and hinetd does not spin on the datagram a server has not read yet.
func TestNowaitDgram(t *testing.T) {
	needRoot(t)
	srv := buildC(t, "testdata/dgramsrv.c")
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d dgram udp nowait nobody %s dgramsrv\n", port, srv))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		msg := fmt.Sprintf("datagram %d", i)
		got, err := exchangeUDP(t, addr, []byte(msg), 5*time.Second)
		if err != nil {
			t.Fatalf("datagram %d: %v", i, err)
		}
		pid, rest, _ := strings.Cut(strings.TrimPrefix(string(got), "got "), ": ")
		if rest != msg {
			t.Fatalf("answer %q to %q", got, msg)
		}
		seen[pid] = true
	}
	if len(seen) != 5 {
		t.Fatalf("5 datagrams served by %d servers", len(seen))
	}
	waitFor(t, 5*time.Second, "five exits", func() bool { return d.countLog("event=exit") >= 5 })
	if n := d.countLog("event=spawn"); n != 5 {
		t.Fatalf("%d servers started for 5 datagrams", n)
	}
}

// TestOptions: -p writes the pid file (removed at exit), -a sets the bind
// address of services that name none, --version prints the version, and
// a port in use skips that service with file:line while the others run.
func TestOptions(t *testing.T) {
	needRoot(t)
	out, err := exec.Command(bin(t, "hinetd"), "--version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "hinetd ") {
		t.Fatalf("--version: %q, %v", out, err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	busyPort := busy.Addr().(*net.TCPAddr).Port
	port := freePort(t)
	pidfile := filepath.Join(t.TempDir(), "hinetd.pid")
	d := startDaemon(t, fmt.Sprintf("%d stream tcp nowait root internal echo\n127.0.0.1:%d stream tcp nowait root internal echo\n", port, busyPort),
		"-a", "127.0.0.3", "-p", pidfile)
	b, err := os.ReadFile(pidfile)
	if err != nil || strings.TrimSpace(string(b)) != fmt.Sprint(d.pid()) {
		t.Fatalf("pid file: %q, %v (pid %d)", b, err, d.pid())
	}
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.3:%d", port), []byte("a")); string(got) != "a" {
		t.Fatalf("service bound by -a: %q", got)
	}
	if _, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second); err == nil {
		t.Fatal("-a 127.0.0.3 service also answers on 127.0.0.1")
	}
	d.waitLog("event=bind-error", 2*time.Second, "inetd.conf:2:", "address already in use")
	d.stop()
	if _, err := os.Stat(pidfile); err == nil {
		t.Fatal("pid file left behind after SIGTERM")
	}
	if code := d.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("exit status %d after SIGTERM, want 0", code)
	}
}

// TestStateDump: SIGUSR1 writes the services, their limits and the live
// children (with their connection ids) to the log.
func TestStateDump(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait/7/1000/3 nobody /bin/sleep sleep 5\n", port))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	spawn := d.waitLog("event=spawn", 5*time.Second)
	conn := spawn[strings.Index(spawn, "conn="):]
	conn = conn[:strings.IndexAny(conn, " :")]
	d.signal(syscall.SIGUSR1)
	d.waitLog("event=dump", 5*time.Second, "max-child 7", "max-child-per-ip 3", "children 1")
	d.waitLog("event=dump", 5*time.Second, "child "+conn)
}

// TestFingerd runs Debian's real in.fingerd as a confined nowait service
// and asks it about root with a plain finger query.
func TestFingerd(t *testing.T) {
	needRoot(t)
	fingerd, err := exec.LookPath("in.fingerd")
	if err != nil {
		t.Fatal("in.fingerd missing (make test installs fingerd)")
	}
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s in.fingerd\n", port, fingerd))
	got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), []byte("root\r\n")))
	if !strings.Contains(got, "Login: root") {
		t.Fatalf("finger root: %q\nlog:\n%s", got, d.logText())
	}
	d.waitLog("event=exit", 5*time.Second, "status=0")
}

// TestDatagramFamilies: udp6 on ::1 answers IPv6 only; udp46 answers both.
func TestDatagramFamilies(t *testing.T) {
	needRoot(t)
	p6, p46 := freePort(t), freePort(t)
	startDaemon(t, fmt.Sprintf("[::1]:%d dgram udp6 wait root internal echo\n*:%d dgram udp46 wait root internal echo\n", p6, p46))
	if got, err := exchangeUDP(t, fmt.Sprintf("[::1]:%d", p6), []byte("v6"), 2*time.Second); err != nil || string(got) != "v6" {
		t.Fatalf("udp6 over IPv6: %q, %v", got, err)
	}
	if got, err := exchangeUDP(t, fmt.Sprintf("127.0.0.1:%d", p6), []byte("v4"), 500*time.Millisecond); err == nil {
		t.Fatalf("udp6 on ::1 answered IPv4: %q", got)
	}
	for _, a := range []string{fmt.Sprintf("127.0.0.1:%d", p46), fmt.Sprintf("[::1]:%d", p46)} {
		if got, err := exchangeUDP(t, a, []byte("both"), 2*time.Second); err != nil || string(got) != "both" {
			t.Fatalf("udp46 at %s: %q, %v", a, got, err)
		}
	}
}

// TestReloadLeavesChildrenAlone: a child started before a reload that
// changes its service runs to its end, and its client gets everything.
func TestReloadLeavesChildrenAlone(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/sh sh -c sleep${IFS}1;echo${IFS}old-done\n", port))
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d.waitLog("event=spawn", 5*time.Second)
	os.WriteFile(d.conf, []byte(fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo new\n", port)), 0o644)
	d.reload(1)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 64)
	n, _ := ioReadFull(c, b[:9])
	if string(b[:n]) != "old-done\n" {
		t.Fatalf("the child started before the reload gave %q", b[:n])
	}
	if got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil)); got != "new\n" {
		t.Fatalf("after the reload: %q", got)
	}
}

// TestSupplementaryGroups: the server gets its user's supplementary
// groups, as initgroups(3) gives them.
func TestSupplementaryGroups(t *testing.T) {
	needRoot(t)
	p := probe(t)
	name := fmt.Sprintf("hinetd-g%d", os.Getpid()%100000)
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
		"--groups", "adm,daemon", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	port := freePort(t)
	startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait %s %s probe\n", port, name, p))
	sec := report(string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil)))
	groups := strings.Fields(statusField(sec["status"], "Groups"))
	want := map[string]bool{"1": true, "4": true} // daemon, adm (Debian's fixed gids)
	for _, g := range groups {
		delete(want, g)
	}
	if len(want) != 0 {
		t.Fatalf("Groups: %v, missing %v", groups, want)
	}
}
