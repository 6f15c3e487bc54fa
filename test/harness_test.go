// Package test holds hinetd's integration tests: they run as root against
// the built binaries in ../bin (make build), start real servers and real
// clients on loopback, and check what a user would see: bytes on the
// socket, what the child reports about itself, and the daemon's log.
package test

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/testenv"
)

// binDir is where make build puts the binaries.
var binDir = func() string {
	d, _ := filepath.Abs("../bin")
	return d
}()

func needRoot(t *testing.T) {
	t.Helper()
	testenv.NeedRoot(t)
}

func bin(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(binDir, name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not built (run make build): %v", p, err)
	}
	return p
}

// freePort returns a port that was free a moment ago on every address,
// for tcp and udp both. It is drawn below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range, 32768–60999 on Debian), so that the
// client sockets of a load running at the same time do not take it.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 1000; i++ {
		port := 20000 + rand.IntN(12000)
		// Free on every address, both transports: tests bind wildcard and
		// dual-stack sockets too, which clash with any use of the port.
		w, err := net.Listen("tcp", fmt.Sprintf("[::]:%d", port))
		if err != nil {
			continue
		}
		w.Close()
		u, err := net.ListenPacket("udp", fmt.Sprintf("[::]:%d", port))
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatal("no free port")
	return 0
}

// daemon is one hinetd started by a test.
type daemon struct {
	t    *testing.T
	cmd  *exec.Cmd
	dir  string
	conf string

	mu     sync.Mutex
	log    bytes.Buffer
	exited chan struct{} // closed when hinetd has exited
}

// startDaemon writes conf to a temp dir and runs hinetd -d on it with the
// extra args. hosts.allow/hosts.deny default to empty files in that dir.
func startDaemon(t *testing.T, conf string, args ...string) *daemon {
	t.Helper()
	return startDaemonWith(t, nil, nil, conf, args...)
}

// startDaemonWith is startDaemon with a command prefix (prefix[0] runs
// hinetd, e.g. unshare or prlimit) and files (name → text) written into
// the daemon's directory before it starts; "DIR" in the prefix and in
// args stands for that directory.
func startDaemonWith(t *testing.T, prefix []string, files map[string]string, conf string, args ...string) *daemon {
	t.Helper()
	return startDaemonCmd(t, prefix, files, nil, conf, args...)
}

// startDaemonCmd is startDaemonWith with setup, when not nil, called on
// the command before it starts (extra descriptors, environment).
func startDaemonCmd(t *testing.T, prefix []string, files map[string]string, setup func(*exec.Cmd), conf string, args ...string) *daemon {
	t.Helper()
	dir := t.TempDir()
	// Readable by anyone: some tests run hinetd, or its services, as nobody.
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	d := &daemon{t: t, dir: dir, conf: filepath.Join(dir, "inetd.conf")}
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "policy"), 0o755)
	subst := func(list []string) []string {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = strings.ReplaceAll(a, "DIR", dir)
		}
		return out
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(subst([]string{text})[0]), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	prefix, args = subst(prefix), subst(args)
	for _, f := range []string{"hosts.allow", "hosts.deny"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			os.WriteFile(filepath.Join(dir, f), nil, 0o644)
		}
	}
	all := append([]string{"-d",
		"--hosts-allow", filepath.Join(dir, "hosts.allow"),
		"--hosts-deny", filepath.Join(dir, "hosts.deny"),
		"--policy", filepath.Join(dir, "policy"),
		"--spool-dir", filepath.Join(dir, "spool")}, args...)
	all = append(all, d.conf)
	d.cmd = exec.Command(bin(t, "hinetd"), all...)
	if len(prefix) > 0 {
		d.cmd = exec.Command(prefix[0], append(append(prefix[1:], bin(t, "hinetd")), all...)...)
	}
	// Each daemon its own TMPDIR: the audit log's spill files live there,
	// locked by the daemon that owns them.
	d.cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HINETD_TEST_MARKER=leak", "TMPDIR=" + dir}
	if setup != nil {
		setup(d.cmd)
	}
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.exited = make(chan struct{})
	go func() {
		defer close(d.exited)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			d.mu.Lock()
			d.log.Write(sc.Bytes())
			d.log.WriteByte('\n')
			d.mu.Unlock()
		}
	}()
	t.Cleanup(d.stop)
	d.waitLog("event=start", 10*time.Second)
	return d
}

// writeFile writes a file in the daemon's directory; "DIR" in text
// stands for that directory, as in startDaemonWith's files.
func (d *daemon) writeFile(name, text string) string {
	p := filepath.Join(d.dir, name)
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(text, "DIR", d.dir)), 0o644); err != nil {
		d.t.Fatal(err)
	}
	return p
}

func (d *daemon) pid() int { return d.cmd.Process.Pid }

func (d *daemon) signal(sig syscall.Signal) {
	d.cmd.Process.Signal(sig)
}

func (d *daemon) stop() {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { <-d.exited; d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
	if d.t.Failed() {
		d.t.Logf("hinetd log:\n%s", d.logText())
	}
}

func (d *daemon) logText() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.log.String()
}

// lineHas reports whether a log line holds part. A part "event=KIND"
// matches the record kind, the fourth word of a -d text line
// ("2026-11-26 11:06:08.247 info spawn echo/tcp …").
func lineHas(line, part string) bool {
	if kind, ok := strings.CutPrefix(part, "event="); ok {
		f := strings.Fields(line)
		return len(f) > 3 && strings.TrimSuffix(f[3], ":") == kind
	}
	return strings.Contains(line, part)
}

// waitLog waits until the log holds a line containing every one of parts,
// and returns that line.
func (d *daemon) waitLog(part string, timeout time.Duration, more ...string) string {
	d.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(d.logText(), "\n") {
			if !lineHas(line, part) {
				continue
			}
			ok := true
			for _, m := range more {
				ok = ok && lineHas(line, m)
			}
			if ok {
				return line
			}
		}
		select {
		case <-d.exited:
			d.t.Fatalf("hinetd exited before logging %q %q; log:\n%s", part, more, d.logText())
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("no log line with %q %q after %v; log:\n%s", part, more, timeout, d.logText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// countLog counts log lines containing every one of parts.
func (d *daemon) countLog(parts ...string) int {
	n := 0
	for _, line := range strings.Split(d.logText(), "\n") {
		ok := line != ""
		for _, p := range parts {
			ok = ok && lineHas(line, p)
		}
		if ok {
			n++
		}
	}
	return n
}

// reload sends SIGHUP and waits for the n-th reload record.
func (d *daemon) reload(n int) {
	d.t.Helper()
	d.signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for d.countLog("event=reload") < n {
		if time.Now().After(deadline) {
			d.t.Fatalf("reload %d not logged; log:\n%s", n, d.logText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fdCount is the number of open descriptors of pid.
func fdCount(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// dialRead connects, optionally writes, half-closes and reads all.
func dialRead(t *testing.T, network, addr string, send []byte) []byte {
	t.Helper()
	c, err := net.DialTimeout(network, addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s %s: %v", network, addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if send != nil {
		if _, err := c.Write(send); err != nil {
			t.Fatal(err)
		}
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok && send != nil {
		cw.CloseWrite()
	}
	var out bytes.Buffer
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return out.Bytes()
}

// exchangeUDP sends one datagram from a high port and returns the answer.
func exchangeUDP(t *testing.T, addr string, send []byte, wait time.Duration) ([]byte, error) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(send); err != nil {
		return nil, err
	}
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// procStat returns the state letter and parent pid of process pid
// (/proc/PID/stat, read after the command name, which may hold spaces).
func procStat(pid int) (state string, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return "", 0, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 2 {
		return "", 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	return f[0], ppid, true
}

// processes lists the pids in /proc for which keep is true.
func processes(keep func(pid int) bool) []int {
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil && keep(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// zombies lists the zombie descendants of pid.
func zombies(t *testing.T, pid int) []int {
	t.Helper()
	return processes(func(p int) bool {
		state, ppid, ok := procStat(p)
		return ok && state == "Z" && (ppid == pid || isDescendant(ppid, pid))
	})
}

// spawners lists the live spawner processes (comm "hinetd-spawner") that
// are children of pid.
func spawners(pid int) []int {
	return processes(func(p int) bool {
		state, ppid, ok := procStat(p)
		if !ok || ppid != pid || state == "Z" {
			return false
		}
		comm, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/comm")
		return strings.TrimSpace(string(comm)) == "hinetd-spawner"
	})
}

func isDescendant(p, ancestor int) bool {
	for i := 0; i < 10 && p > 1; i++ {
		if p == ancestor {
			return true
		}
		_, ppid, ok := procStat(p)
		if !ok {
			return false
		}
		p = ppid
	}
	return false
}
