package test

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/testenv"
)

// notifySocket is a test's own NOTIFY_SOCKET: the datagrams hinetd sends,
// each with the sender's pid (SO_PASSCRED), as systemd receives them.
type notifySocket struct {
	path string
	msgs chan notifyMsg
}

type notifyMsg struct {
	pid  int
	text string
	at   time.Time
}

func newNotifySocket(t *testing.T) *notifySocket {
	t.Helper()
	dir := t.TempDir()
	n := &notifySocket{path: filepath.Join(dir, "notify"), msgs: make(chan notifyMsg, 1000)}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := c.SyscallConn()
	raw.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PASSCRED, 1) })
	t.Cleanup(func() { c.Close() })
	go func() {
		buf, oob := make([]byte, 4096), make([]byte, 1024)
		for {
			nb, noob, _, _, err := c.ReadMsgUnix(buf, oob)
			if err != nil {
				close(n.msgs)
				return
			}
			m := notifyMsg{text: string(buf[:nb]), at: time.Now()}
			if cms, err := unix.ParseSocketControlMessage(oob[:noob]); err == nil && len(cms) > 0 {
				if cred, err := unix.ParseUnixCredentials(&cms[0]); err == nil {
					m.pid = int(cred.Pid)
				}
			}
			n.msgs <- m
		}
	}()
	return n
}

// next returns the next message that is not a watchdog ping.
func (n *notifySocket) next(t *testing.T, timeout time.Duration) notifyMsg {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m, ok := <-n.msgs:
			if !ok {
				t.Fatal("notify socket closed")
			}
			if m.text != "WATCHDOG=1" {
				return m
			}
		case <-deadline:
			t.Fatalf("no sd_notify message in %v", timeout)
		}
	}
}

func monotonicUsec() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano() / 1000
}

// TestSystemdNotify (issue 14: "no systemd unit"; Type=notify): READY=1
// once the listeners answer, RELOADING=1 with MONOTONIC_USEC then READY=1
// around a reload, WATCHDOG=1 at half of WATCHDOG_USEC, STOPPING=1, every
// message from the pid systemd started (hinetd does not detach under it).
func TestSystemdNotify(t *testing.T) {
	needRoot(t)
	ns := newNotifySocket(t)
	port := freePort(t)
	conf := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "inetd.conf"), []byte(conf), 0o644)
	os.WriteFile(filepath.Join(dir, "hosts"), nil, 0o644)
	// No -d: under systemd hinetd stays in the foreground by itself.
	cmd := exec.Command(bin(t, "hinetd"), "--hosts-allow", filepath.Join(dir, "hosts"), "--hosts-deny", filepath.Join(dir, "hosts"),
		"--policy", dir, "--spool-dir", filepath.Join(dir, "spool"),
		"--log-to", "file://"+filepath.Join(dir, "audit.jsonl"), filepath.Join(dir, "inetd.conf"))
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "NOTIFY_SOCKET=" + ns.path, "WATCHDOG_USEC=400000"}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	pid := cmd.Process.Pid

	m := ns.next(t, 10*time.Second)
	if !strings.HasPrefix(m.text, "READY=1\n") || !strings.Contains(m.text, "STATUS=1 listeners") || m.pid != pid {
		t.Fatalf("first message %q from pid %d; want READY=1 with STATUS from pid %d", m.text, m.pid, pid)
	}
	// Ready means ready: the listener answers now.
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), []byte("hi")); string(got) != "hi" {
		t.Fatalf("echo after READY=1: %q", got)
	}

	// Watchdog: WATCHDOG_USEC=400 ms asks for a ping every 200 ms.
	for len(ns.msgs) > 0 {
		<-ns.msgs
	}
	start := time.Now()
	var pings []time.Time
	for time.Since(start) < 1500*time.Millisecond {
		select {
		case m := <-ns.msgs:
			if m.text == "WATCHDOG=1" && m.pid == pid {
				pings = append(pings, m.at)
			} else {
				t.Fatalf("unexpected message %q from pid %d", m.text, m.pid)
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	if len(pings) < 5 || len(pings) > 9 {
		t.Fatalf("%d WATCHDOG=1 in 1.5 s, want about 7 (every 200 ms)", len(pings))
	}
	for i := 1; i < len(pings); i++ {
		if gap := pings[i].Sub(pings[i-1]); gap > 350*time.Millisecond {
			t.Fatalf("watchdog gap %v, over the 400 ms WATCHDOG_USEC's half plus slack", gap)
		}
	}

	// Reload: RELOADING=1 with a MONOTONIC_USEC of now, then READY=1.
	before := monotonicUsec()
	cmd.Process.Signal(syscall.SIGHUP)
	m = ns.next(t, 10*time.Second)
	after := monotonicUsec()
	lines := strings.Split(m.text, "\n")
	if len(lines) != 2 || lines[0] != "RELOADING=1" || !strings.HasPrefix(lines[1], "MONOTONIC_USEC=") || m.pid != pid {
		t.Fatalf("after SIGHUP: %q from pid %d, want RELOADING=1 and MONOTONIC_USEC", m.text, m.pid)
	}
	if us, err := strconv.ParseInt(strings.TrimPrefix(lines[1], "MONOTONIC_USEC="), 10, 64); err != nil || us < before || us > after {
		t.Fatalf("MONOTONIC_USEC %q not between %d and %d", lines[1], before, after)
	}
	if m = ns.next(t, 10*time.Second); !strings.HasPrefix(m.text, "READY=1\n") {
		t.Fatalf("after RELOADING=1: %q, want READY=1", m.text)
	}

	// An edit of inetd.conf reloads the same way: RELOADING=1, READY=1.
	port2 := freePort(t)
	os.WriteFile(filepath.Join(dir, "inetd.conf"), []byte(conf+fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port2)), 0o644)
	if m = ns.next(t, 10*time.Second); !strings.HasPrefix(m.text, "RELOADING=1\nMONOTONIC_USEC=") {
		t.Fatalf("after an edit of inetd.conf: %q, want RELOADING=1", m.text)
	}
	if m = ns.next(t, 10*time.Second); !strings.HasPrefix(m.text, "READY=1\n") || !strings.Contains(m.text, "STATUS=2 listeners") {
		t.Fatalf("after the edit's RELOADING=1: %q, want READY=1 with 2 listeners", m.text)
	}

	// Stop: STOPPING=1, then exit 0.
	cmd.Process.Signal(syscall.SIGTERM)
	if m = ns.next(t, 10*time.Second); m.text != "STOPPING=1" || m.pid != pid {
		t.Fatalf("after SIGTERM: %q from pid %d, want STOPPING=1", m.text, m.pid)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit: %v", err)
		}
		exited <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("hinetd did not exit after SIGTERM")
	}
}

// socketInode is the inode of a socket descriptor, as /proc shows it.
func socketInode(t *testing.T, f *os.File) string {
	t.Helper()
	// Not f.Fd(): it would make the socket blocking, for hinetd too
	// (O_NONBLOCK belongs to the open file description both hold).
	var st syscall.Stat_t
	raw, _ := f.SyscallConn()
	raw.Control(func(fd uintptr) { syscall.Fstat(int(fd), &st) })
	return "socket:[" + strconv.FormatUint(st.Ino, 10) + "]"
}

// procSockets lists the socket inodes pid holds.
func procSockets(pid int) map[string]bool {
	out := map[string]bool{}
	dir := "/proc/" + strconv.Itoa(pid) + "/fd"
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			out[l] = true
		}
	}
	return out
}

// TestSocketActivation (issue 14: socket activation): hinetd serves on
// the sockets the test passes as systemd would (LISTEN_FDS from fd 3,
// LISTEN_FDNAMES, LISTEN_PID its own pid) for the services they match,
// binds the others itself, and says which socket matched nothing.
func TestSocketActivation(t *testing.T) {
	needRoot(t)
	pTCP, pUDP, pOwn, pNone, pEnv := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	tl, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", pTCP))
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	uc, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", pUDP))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	unused, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", pNone))
	if err != nil {
		t.Fatal(err)
	}
	defer unused.Close()
	var files []*os.File
	for _, c := range []interface{ File() (*os.File, error) }{tl.(*net.TCPListener), uc.(*net.UDPConn), unused.(*net.TCPListener)} {
		f, err := c.File()
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files = append(files, f)
	}
	conf := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n"+
		"127.0.0.1:%d dgram udp wait root internal echo\n"+
		"127.0.0.1:%d stream tcp nowait root internal daytime\n"+
		"127.0.0.1:%d stream tcp nowait nobody /usr/bin/env env\n", pTCP, pUDP, pOwn, pEnv)
	// sh sets LISTEN_PID to its own pid, which exec keeps for hinetd.
	prefix := []string{"sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=3 LISTEN_FDNAMES=echo-tcp:echo-udp:spare exec "$0" "$@"`}
	d := startDaemonCmd(t, prefix, nil, func(c *exec.Cmd) { c.ExtraFiles = files }, conf)
	held := procSockets(d.pid())
	for i, f := range files[:2] {
		if ino := socketInode(t, f); !held[ino] {
			t.Errorf("hinetd does not hold passed socket %d (%s): %v", i, ino, held)
		}
	}
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", pTCP), []byte("tcp")); string(got) != "tcp" {
		t.Errorf("echo on the passed TCP socket: %q", got)
	}
	if got, err := exchangeUDP(t, fmt.Sprintf("127.0.0.1:%d", pUDP), []byte("udp"), 2*time.Second); err != nil || string(got) != "udp" {
		t.Errorf("echo on the passed UDP socket: %q %v", got, err)
	}
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", pOwn), nil); len(got) == 0 {
		t.Errorf("daytime on a socket hinetd bound itself: nothing")
	}
	d.waitLog("adopted systemd socket echo-tcp", 2*time.Second)
	d.waitLog("adopted systemd socket echo-udp", 2*time.Second)
	if d.countLog("systemd socket spare") != 0 {
		// Only said with a NOTIFY_SOCKET (at READY=1); here none is set.
		t.Errorf("spare socket reported without a notify socket")
	}
	// The passed variables do not reach a service (which gets PATH only).
	if env := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", pEnv), nil)); strings.Contains(env, "LISTEN_") || !strings.HasPrefix(env, "PATH=") {
		t.Errorf("a service's environment: %q", env)
	}
}

// lowPort returns a port below 1024 that is free on 127.0.0.1.
func lowPort(t *testing.T) int {
	t.Helper()
	for p := 700; p < 1000; p++ {
		l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", p))
		if err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no free port below 1024")
	return 0
}

// TestSocketActivationNoBindCap (issue 14: socket activation "so that it
// needs no CAP_NET_BIND_SERVICE"): hinetd started without
// CAP_NET_BIND_SERVICE in its bounding set serves a privileged port
// systemd (here the test) bound and passed, and cannot bind one itself.
func TestSocketActivationNoBindCap(t *testing.T) {
	needRoot(t)
	passed := lowPort(t)
	l, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", passed))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	own := lowPort(t)
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	conf := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n127.0.0.1:%d stream tcp nowait root internal daytime\n", passed, own)
	prefix := []string{"setpriv", "--bounding-set", "-net_bind_service", "sh", "-c", `LISTEN_PID=$$ LISTEN_FDS=1 exec "$0" "$@"`}
	d := startDaemonCmd(t, prefix, nil, func(c *exec.Cmd) { c.ExtraFiles = []*os.File{f} }, conf)
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.pid()))
	for _, ln := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(ln, "CapBnd:\t"); ok {
			if bnd, err := strconv.ParseUint(v, 16, 64); err != nil || bnd&(1<<10) != 0 {
				t.Fatalf("CapBnd %s: CAP_NET_BIND_SERVICE (bit 10) is there", v)
			}
		}
	}
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", passed), []byte("low")); string(got) != "low" {
		t.Errorf("echo on the passed port %d: %q", passed, got)
	}
	d.waitLog(fmt.Sprintf("bind(127.0.0.1:%d): permission denied", own), 2*time.Second)
}

// TestSocketActivationSystemdTool: systemd's own systemd-socket-activate
// binds the socket and, as systemd does for a socket unit without
// Accept=, starts hinetd on the first connection, passing the socket
// (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES set by systemd's code, not the
// test's). That first connection, queued before hinetd ran, is served,
// and so are the next.
func TestSocketActivationSystemdTool(t *testing.T) {
	needRoot(t)
	tool := testenv.NeedTool(t, "systemd-socket-activate", "systemd")
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	first := make(chan string, 1)
	go func() {
		// The tool listens a moment after it starts; the connection then
		// waits in its backlog while hinetd starts.
		for i := 0; i < 100; i++ {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write([]byte("first"))
			c.(*net.TCPConn).CloseWrite()
			b, _ := io.ReadAll(c)
			c.Close()
			first <- string(b)
			return
		}
		first <- "no connection"
	}()
	conf := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port)
	d := startDaemonCmd(t, []string{tool, "-l", addr, "--fdname=echo-tcp"}, nil, nil, conf)
	d.waitLog("adopted systemd socket echo-tcp", 5*time.Second)
	if got := <-first; got != "first" {
		t.Errorf("the connection that started hinetd: %q", got)
	}
	if got := dialRead(t, "tcp", addr, []byte("next")); string(got) != "next" {
		t.Errorf("echo on systemd-socket-activate's socket: %q", got)
	}
}
