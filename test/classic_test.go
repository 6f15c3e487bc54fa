package test

// The twelve servers the inetd manual lists, each started by hinetd from the
// inetd.conf line its Debian package writes (tcpd included), with
// hosts.allow "ALL: 127.0.0.1 [::1]", hosts.deny "ALL: ALL" and no policy
// file, and each exercised by its real client (issue 12). Every test runs
// in a network namespace of its own, so the lines keep their standard
// ports, which rsh, rlogin, finger, talk and bootptest insist on, and no
// daemon a package installation may have started gets in the way.
//
// Each test also reads the server's /proc/PID/status while it waits for
// its client, and checks that it keeps exactly the capabilities its
// service profile grants, with no_new_privs and a seccomp filter, and
// reads its /proc/PID/mountinfo: every writable mount is one its profile
// grants, and /, /etc and /usr are read-only. Where the protocol lets a
// user write (telnet, rsh, ftp STOR), a write outside the profile's paths
// fails with "Read-only file system".
// The capabilities, system calls and environment come from the shipped
// service profiles (policy/profiles); make test's deps-test installs the
// packages (APT_TEST).

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// The user the logins use: a known password, a home with a .plan, a
// .rhosts trusting root on localhost, and a mailbox with one message.
//
// The user's name is this test process's own: other test runs on the
// machine (other worktrees) create and remove theirs at the same time.
var classicUser = fmt.Sprintf("hc%d", os.Getpid()%100000)

const (
	classicPass = "Classic-12-pw"
	classicMail = "Subject: classic-test\n\nbody-of-classic-mail\n"
)

// The Debian packages' inetd.conf lines, as their maintainer scripts
// write them (fingerd, inetutils-telnetd, popa3d, rsh-server, talkd and
// bootp postinst); inetutils-ftpd and tftpd-hpa write none in Debian 12,
// so theirs are the classic ones their manuals describe; dovecot's
// pre-authenticated imap is run as the mail user, argv[0] absolute as
// dovecot wants it.
const (
	lineFinger = "finger\t\tstream\ttcp\tnowait\tnobody\t/usr/sbin/tcpd\t/usr/sbin/in.fingerd\n"
	lineFTP    = "ftp\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/ftpd\n"
	lineTelnet = "telnet\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/telnetd\n"
	lineTFTP   = "tftp\tdgram\tudp\twait\troot\t/usr/sbin/in.tftpd\t/usr/sbin/in.tftpd -s /srv/tftp\n"
	linePOP3   = "pop3\t\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/popa3d\n"

	lineRsh    = "shell\t\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/in.rshd\n"
	lineRlogin = "login\t\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/in.rlogind\n"
	lineRexec  = "exec\t\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t/usr/sbin/in.rexecd\n"
	lineTalk   = "talk\t\tdgram\tudp\twait\tnobody.tty\t/usr/sbin/in.talkd\tin.talkd\n" +
		"ntalk\t\tdgram\tudp\twait\tnobody.tty\t/usr/sbin/in.ntalkd\tin.ntalkd\n"
	lineBootp = "bootps\t\tdgram\tudp\twait\troot\t/usr/sbin/bootpd\tbootpd -i -t 120\n"
)

// classicGrants are the least grants found to make each server work, as
// a policy: with HINETD_CLASSIC_GRANTS=1 the tests run with it instead of
// without a policy file (HINETD_CLASSIC_GRANTS=FILE: with that policy
// file), which is how each grant was found: take one out and its test
// fails. The service profiles grant the same.
var classicGrants = `[service ftp]
caps CAP_SETUID CAP_SETGID CAP_SYS_CHROOT
seccomp-allow chroot
[service telnet login]
caps CAP_SETUID CAP_SETGID CAP_CHOWN CAP_FOWNER
seccomp-allow keyctl
[service tftp pop3]
caps CAP_SETUID CAP_SETGID CAP_SYS_CHROOT
seccomp-allow chroot
[service exec]
caps CAP_SETUID CAP_SETGID
[service shell]
caps CAP_SETUID CAP_SETGID CAP_NET_BIND_SERVICE
[service imap2]
env USER=` + classicUser + `
env HOME=/home/` + classicUser + `
`

// classic is one server under test: its namespace, the daemon and the
// test user's home.
type classic struct {
	t    *testing.T
	ns   *netns
	d    *daemon
	home string

	probes []int // servers whose client said nothing (confinedAtStart)
}

// needPrograms fails (skips without root) unless the packages are here:
// make test installs them (APT_TEST).
func needPrograms(t *testing.T, paths ...string) {
	t.Helper()
	needRoot(t)
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s missing: make deps-test installs the classic servers and clients (%v)", p, err)
		}
	}
}

// classicUserHome creates the test user afresh and returns its home.
func classicUserHome(t *testing.T) string {
	t.Helper()
	exec.Command("userdel", "-r", classicUser).Run() // left over from a killed run
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", classicUser).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		exec.Command("userdel", "-r", classicUser).Run()
		os.Remove("/var/mail/" + classicUser)
	})
	chpw := exec.Command("chpasswd")
	chpw.Stdin = strings.NewReader(classicUser + ":" + classicPass + "\n")
	if out, err := chpw.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd: %v\n%s", err, out)
	}
	home := "/home/" + classicUser
	u := userIDs(t, classicUser)
	put := func(path, text string, mode os.FileMode, gid int) {
		t.Helper()
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, mode)
		if err := os.Chown(path, u[0], gid); err != nil {
			t.Fatal(err)
		}
	}
	put(home+"/.plan", "plan-of-classic\n", 0o644, u[1])
	put(home+"/.rhosts", "localhost root\n127.0.0.1 root\n", 0o600, u[1])
	put(home+"/hello.txt", "hello-from-home\n", 0o644, u[1])
	mail := 8 // Debian's fixed gid of group mail
	put("/var/mail/"+classicUser, "From sender@example.org Mon Jan  1 00:00:00 2024\n"+classicMail+"\n", 0o660, mail)
	return home
}

// userIDs returns a user's uid and gid.
func userIDs(t *testing.T, name string) [2]int {
	t.Helper()
	out, err := exec.Command("id", "-u", name).Output()
	if err != nil {
		t.Fatalf("id -u %s: %v", name, err)
	}
	uid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	out, err = exec.Command("id", "-g", name).Output()
	if err != nil {
		t.Fatalf("id -g %s: %v", name, err)
	}
	gid, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	return [2]int{uid, gid}
}

// outsideDir makes a directory that anyone may write, outside every
// profile's read-write paths: without the isolation a logged-in user
// could write there, with it the server's mount is read-only.
func outsideDir(t *testing.T) string {
	t.Helper()
	dir := fmt.Sprintf("/srv/hinetd-outside-%d", os.Getpid())
	os.RemoveAll(dir)
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o1777) // past the umask
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// wantAbsent fails if a write the isolation should have refused reached
// the host.
func wantAbsent(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Lstat(p); err == nil {
			os.Remove(p)
			t.Errorf("%s was written: the server wrote outside its profile's paths", p)
		}
	}
}

// startClassic starts hinetd in a new network namespace on conf, with the
// hosts files, no policy file, and a new test user. files are written in
// the daemon's directory (name → text); bind maps a path in the daemon's
// own mount namespace to a name in that directory mounted over it, so that
// a server's fixed files (/etc/bootptab, utmp) are the test's without
// touching the machine's.
func startClassic(t *testing.T, conf string, files map[string]string, bind map[string]string) *classic {
	t.Helper()
	c := &classic{t: t, ns: newNetns(t), home: classicUserHome(t)}
	if files == nil {
		files = map[string]string{}
	}
	switch g := os.Getenv("HINETD_CLASSIC_GRANTS"); g {
	case "":
	case "1":
		files["policy/grants.policy"] = classicGrants
	default: // a policy file of one's own, to try other grants
		b, err := os.ReadFile(g)
		if err != nil {
			t.Fatal(err)
		}
		files["policy/grants.policy"] = string(b)
	}
	files["hosts.allow"] = "ALL: 127.0.0.1 [::1]\n"
	files["hosts.deny"] = "ALL: ALL\n"
	prefix := []string{"ip", "netns", "exec", c.ns.name}
	if len(bind) > 0 {
		var script []string
		for target, name := range bind {
			script = append(script, fmt.Sprintf("mount --bind DIR/%s %s", name, target))
		}
		prefix = append(prefix, "unshare", "-m", "--propagation", "private", "sh", "-c",
			strings.Join(script, " && ")+` && exec "$0" "$@"`)
	}
	c.d = startDaemonWith(t, prefix, files, conf)
	return c
}

// run runs a client in the namespace and returns its output, stdout and
// stderr apart.
func (c *classic) run(timeout time.Duration, stdin string, args ...string) (string, string, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", c.ns.name}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Dir = c.t.TempDir()
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), errb.String(), err
	case <-time.After(timeout):
		cmd.Process.Kill()
		<-done
		return out.String(), errb.String(), fmt.Errorf("%s: timed out after %v", args[0], timeout)
	}
}

// dial connects to the namespace's loopback from inside it. A TCP
// connection comes from a reserved port, as the r-services' clients do
// (in.rshd and in.rlogind refuse any other).
func (c *classic) dial(network string, port int) net.Conn {
	c.t.Helper()
	var conn net.Conn
	var err error
	c.ns.do(c.t, func() {
		d := net.Dialer{Timeout: 5 * time.Second}
		for src := 1023; network == "tcp" && src > 600; src-- {
			d.LocalAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: src}
			if conn, err = d.Dial(network, fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				return
			}
		}
		d.LocalAddr = nil
		conn, err = d.Dial(network, fmt.Sprintf("127.0.0.1:%d", port))
	})
	if err != nil {
		c.t.Fatalf("dial %s %d: %v", network, port, err)
	}
	c.t.Cleanup(func() { conn.Close() })
	return conn
}

// serverPID waits for the n-th spawn record of service (1-based) and
// returns its pid.
func (c *classic) serverPID(service string, n int) int {
	c.t.Helper()
	return spawnPID(c.t, c.d, " "+service+"/", n)
}

// capBits are the capabilities the classic servers' profiles grant.
var capBits = map[string]uint{
	"CAP_CHOWN": 0, "CAP_FOWNER": 3, "CAP_SETGID": 6, "CAP_SETUID": 7,
	"CAP_NET_BIND_SERVICE": 10, "CAP_SYS_CHROOT": 18,
}

// wantConfined checks the server pid, once it runs prog, as its profile
// has it: exactly caps effective and permitted, no_new_privs, a seccomp
// filter.
func (c *classic) wantConfined(pid int, prog string, caps ...string) {
	c.t.Helper()
	var exe string
	for deadline := time.Now().Add(5 * time.Second); exe != prog; time.Sleep(10 * time.Millisecond) {
		var err error
		if exe, err = os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); err != nil {
			c.t.Errorf("server %d (%s) is gone before its confinement could be read: %v", pid, prog, err)
			return
		}
		if time.Now().After(deadline) {
			c.t.Errorf("server %d runs %s, not %s", pid, exe, prog)
			return
		}
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		c.t.Errorf("server %d (%s) is gone before its confinement could be read: %v", pid, prog, err)
		return
	}
	st := string(b)
	var mask uint64
	for _, name := range caps {
		mask |= 1 << capBits[name]
	}
	want := fmt.Sprintf("%016x", mask)
	for _, k := range []string{"CapEff", "CapPrm"} {
		if got := statusField(st, k); got != want {
			c.t.Errorf("server %d (%s): %s %s, want %s (%s)", pid, statusField(st, "Name"), k, got, want, strings.Join(caps, " "))
		}
	}
	if got := statusField(st, "NoNewPrivs"); got != "1" {
		c.t.Errorf("server %d: NoNewPrivs %s, want 1", pid, got)
	}
	if got := statusField(st, "Seccomp"); got != "2" {
		c.t.Errorf("server %d: Seccomp %s, want 2 (filter)", pid, got)
	}
	c.wantMounts(pid, prog)
}

// classicWrites are the paths each server's profile makes writable
// (read-write), and whether it has a devpts of its own (terminals on):
// the test's own list, not read from the profile, so that a profile that
// grants more fails here.
var classicWrites = map[string]struct {
	rw   []string
	ptys bool
}{
	"/usr/sbin/in.fingerd":  {},
	"/usr/sbin/ftpd":        {rw: []string{"/home", "/srv/ftp", "/var/log/wtmp", "/var/log/btmp", "/run/utmp"}},
	"in.ftpd":               {rw: []string{"/home", "/srv/ftp", "/var/log/wtmp", "/run/utmp"}},
	"/usr/sbin/telnetd":     {rw: []string{"/home", "/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog", "/run/utmp"}, ptys: true},
	"/usr/sbin/in.rlogind":  {rw: []string{"/home", "/var/log/wtmp", "/var/log/btmp", "/var/log/lastlog", "/run/utmp"}, ptys: true},
	"/usr/sbin/in.tftpd":    {rw: []string{"/srv/tftp", "/var/lib/tftpboot"}},
	"/usr/sbin/popa3d":      {rw: []string{"/var/mail", "/var/spool/mail"}},
	"/usr/lib/dovecot/imap": {rw: []string{"/home", "/var/mail", "/var/spool/mail"}},
	"/usr/sbin/in.rexecd":   {rw: []string{"/home"}},
	"/usr/sbin/in.rshd":     {rw: []string{"/home"}},
	"/usr/sbin/in.ntalkd":   {},
	"/usr/sbin/bootpd":      {},
	"/usr/sbin/bootpgw":     {},
}

// mountEntry is one line of /proc/PID/mountinfo (proc(5)).
type mountEntry struct {
	point, fstype  string
	writable       bool   // the mount and its superblock are read-write
	opts, superOps string // for the error messages
}

// readMountinfo parses /proc/PID/mountinfo: the mounts the process
// sees, in the order they were made, points relative to its root.
func readMountinfo(pid int) ([]mountEntry, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/mountinfo", pid))
	if err != nil {
		return nil, err
	}
	var out []mountEntry
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) < 6 || sep < 6 || len(f) < sep+4 {
			return nil, fmt.Errorf("mountinfo line %d: %q", i+1, line)
		}
		// Mount points escape space, tab, newline and backslash as
		// octal (\040 ...).
		point, err := strconv.Unquote(`"` + strings.ReplaceAll(f[4], `"`, `\"`) + `"`)
		if err != nil {
			point = f[4]
		}
		ro := func(opts string) bool { return slices.Contains(strings.Split(opts, ","), "ro") }
		out = append(out, mountEntry{point: point, fstype: f[sep+1], opts: f[5], superOps: f[sep+3],
			writable: !ro(f[5]) && !ro(f[sep+3])})
	}
	return out, nil
}

// under reports whether path is dir or below it.
func under(path, dir string) bool {
	return path == dir || dir == "/" || strings.HasPrefix(path, dir+"/")
}

// wantMounts checks, from what the kernel says about the server's mount
// namespace, that it cannot write outside its profile's paths: every
// writable mount is one the profile grants (its read-write paths, the
// private /tmp, /var/tmp and /dev/shm, the minimal /dev's nodes, its own
// devpts where terminals are on, the pid-only /proc), and /, /etc and
// /usr are read-only.
func (c *classic) wantMounts(pid int, prog string) {
	c.t.Helper()
	grant, ok := classicWrites[prog]
	if !ok { // a server run from where its package was extracted
		grant, ok = classicWrites[filepath.Base(prog)]
	}
	if !ok {
		c.t.Fatalf("no writable paths listed for %s", prog)
	}
	mounts, err := readMountinfo(pid)
	if err != nil {
		c.t.Errorf("server %d (%s): %v", pid, prog, err)
		return
	}
	devNodes := []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}
	for _, m := range mounts {
		if !m.writable {
			continue
		}
		allowed := slices.ContainsFunc(grant.rw, func(p string) bool { return under(m.point, p) }) ||
			slices.Contains([]string{"/tmp", "/var/tmp", "/dev/shm"}, m.point) && m.fstype == "tmpfs" ||
			slices.Contains(devNodes, m.point) ||
			m.point == "/dev/pts" && m.fstype == "devpts" && grant.ptys ||
			m.point == "/proc" && m.fstype == "proc" && strings.Contains(m.superOps, "subset=pid")
		if !allowed {
			c.t.Errorf("server %d (%s) may write to %s (%s %s %s): not a path its profile grants",
				pid, prog, m.point, m.fstype, m.opts, m.superOps)
		}
	}
	for _, p := range []string{"/", "/etc", "/usr", "/etc/passwd", "/usr/sbin"} {
		var at *mountEntry
		for i := range mounts {
			// The last mount on the longest matching point is the one
			// the path is on (a later mount on the same point hides the
			// earlier).
			if under(p, mounts[i].point) && (at == nil || len(mounts[i].point) >= len(at.point)) {
				at = &mounts[i]
			}
		}
		switch {
		case at == nil:
			c.t.Errorf("server %d (%s): no mount holds %s", pid, prog, p)
		case at.writable:
			c.t.Errorf("server %d (%s): %s is on a writable mount (%s: %s %s %s)", pid, prog, p, at.point, at.fstype, at.opts, at.superOps)
		}
	}
}

// confinedAtStart connects to a stream service without saying anything,
// so that its server waits for the client, and checks the server's
// confinement; n counts this service's spawns so far, this one included.
func (c *classic) confinedAtStart(service string, port, n int, prog string, caps ...string) {
	c.t.Helper()
	conn := c.dial("tcp", port)
	c.wantConfined(c.serverPID(service, n), prog, caps...)
	conn.Close()
	c.probes = append(c.probes, c.serverPID(service, n))
}

// noFailures checks that the daemon logged no failure of the service:
// a service that breaks says so in hinetd's log, and one that works
// leaves no seccomp violation or spawn failure behind.
func (c *classic) noFailures() {
	c.t.Helper()
	probe := map[string]bool{}
	for _, p := range c.probes {
		probe[fmt.Sprintf("pid=%d ", p)] = true
	}
	for _, line := range strings.Split(c.d.logText(), "\n") {
		failed := lineHas(line, "event=spawn-fail") || strings.Contains(line, "seccomp violation") ||
			lineHas(line, "event=exit") && strings.Contains(line, "signal=") ||
			lineHas(line, "event=exit") && strings.Contains(line, "status=") && !strings.Contains(line, "status=0")
		for p := range probe {
			// A server whose client hung up without a word may end as
			// it likes (SIGPIPE, status 1).
			failed = failed && !strings.Contains(line, p)
		}
		if failed {
			c.t.Errorf("failure logged: %s", line)
		}
	}
}

// term is an interactive client on a pseudo-terminal, driven as expect(1)
// drives one: read until a prompt, then answer, each wait bounded.
type term struct {
	t    *testing.T
	cmd  *exec.Cmd
	pty  *os.File
	mu   sync.Mutex
	out  bytes.Buffer
	seen int // output already matched by expect
	done chan struct{}
}

// openPTY returns a new pseudo-terminal's master and its slave.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 80})
	return m, s
}

// startTerm runs a client in the namespace on a new terminal.
func (c *classic) startTerm(args ...string) *term {
	c.t.Helper()
	m, s := openPTY(c.t)
	cmd := exec.Command("ip", append([]string{"netns", "exec", c.ns.name}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
	cmd.Dir = c.t.TempDir()
	cmd.Env = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "TERM=dumb", "HOME=/root", "USER=root"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	s.Close()
	tm := &term{t: c.t, cmd: cmd, pty: m, done: make(chan struct{})}
	go func() {
		defer close(tm.done)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			tm.mu.Lock()
			tm.out.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	c.t.Cleanup(tm.close)
	return tm
}

// expect waits until the output not yet matched holds want, and returns
// that output up to and including want.
func (tm *term) expect(want string, timeout time.Duration) string {
	tm.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		tm.mu.Lock()
		rest := tm.out.String()[tm.seen:]
		if i := strings.Index(rest, want); i >= 0 {
			tm.seen += i + len(want)
			tm.mu.Unlock()
			return rest[:i+len(want)]
		}
		tm.mu.Unlock()
		select {
		case <-tm.done:
			tm.mu.Lock()
			rest = tm.out.String()[tm.seen:]
			tm.mu.Unlock()
			if strings.Contains(rest, want) {
				continue
			}
			tm.t.Fatalf("%s ended without printing %q; it printed:\n%s", tm.cmd.Args[4], want, tm.transcript())
		default:
		}
		if time.Now().After(deadline) {
			tm.t.Fatalf("%s: no %q after %v; it printed:\n%s", tm.cmd.Args[4], want, timeout, tm.transcript())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (tm *term) send(s string) {
	tm.t.Helper()
	if _, err := tm.pty.Write([]byte(s)); err != nil {
		tm.t.Fatalf("writing to %s: %v", tm.cmd.Args[4], err)
	}
}

func (tm *term) transcript() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.out.String()
}

// close ends the client: it should have exited; if not, it is killed.
func (tm *term) close() {
	select {
	case <-tm.done:
	case <-time.After(5 * time.Second):
		tm.cmd.Process.Kill()
		<-tm.done
	}
	tm.cmd.Wait()
	tm.pty.Close()
}

// TestClassicFinger: finger through tcpd as nobody shows the user's plan.
func TestClassicFinger(t *testing.T) {
	needPrograms(t, "/usr/sbin/in.fingerd", "/usr/bin/finger")
	c := startClassic(t, lineFinger, nil, nil)
	out, errs, err := c.run(10*time.Second, "", "finger", "-l", classicUser+"@127.0.0.1")
	if err != nil || !strings.Contains(out, "plan-of-classic") {
		t.Fatalf("finger: %v\n%s%s", err, out, errs)
	}
	c.confinedAtStart("finger", 79, 2, "/usr/sbin/in.fingerd")
	c.noFailures()
}

// TestClassicFTP: a user logs in to ftpd (behind tcpd), lists, fetches and
// stores in passive and in active mode, then an anonymous user fetches a
// file from ftp's home.
func TestClassicFTP(t *testing.T) {
	needPrograms(t, "/usr/sbin/ftpd", "/usr/bin/inetutils-ftp")
	c := startClassic(t, lineFTP, nil, nil)
	c.confinedAtStart("ftp", 21, 1, "/usr/sbin/ftpd", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT")
	c.ftpSessions()
}

// ftpSessions logs in to the ftp service on port 21 with the ftp client
// as the test user, in passive then active mode, lists, retrieves and
// stores a file, fails to store outside the profile's paths, then
// retrieves a file as an anonymous user chrooted to the ftp user's home.
func (c *classic) ftpSessions() {
	t := c.t
	t.Helper()
	outside := outsideDir(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "up.txt"), []byte("uploaded-by-client\n"), 0o644)
	for _, mode := range []string{"passive", "active"} {
		tm := c.startTerm("sh", "-c", "cd "+dir+" && exec inetutils-ftp 127.0.0.1")
		tm.expect("Name (127.0.0.1:root): ", 10*time.Second)
		tm.send(classicUser + "\r")
		tm.expect("Password:", 5*time.Second)
		tm.send(classicPass + "\r")
		tm.expect("230 ", 10*time.Second)
		tm.expect("ftp> ", 5*time.Second)
		// inetutils ftp starts in active mode; "passive" turns it on.
		if mode == "passive" {
			tm.send("passive\r")
			tm.expect("Passive mode on.", 5*time.Second)
			tm.expect("ftp> ", 5*time.Second)
		}
		tm.send("ls\r")
		if got := tm.expect("ftp> ", 10*time.Second); !strings.Contains(got, "hello.txt") || !strings.Contains(got, "226") {
			t.Fatalf("%s LIST:\n%s", mode, got)
		}
		tm.send("get hello.txt got-" + mode + ".txt\r")
		if got := tm.expect("ftp> ", 10*time.Second); !strings.Contains(got, "226") {
			t.Fatalf("%s RETR:\n%s", mode, got)
		}
		tm.send("put up.txt up-" + mode + ".txt\r")
		if got := tm.expect("ftp> ", 10*time.Second); !strings.Contains(got, "226") {
			t.Fatalf("%s STOR:\n%s", mode, got)
		}
		// STOR outside the profile's paths (ftpd, in.ftpd: "553
		// PATH: strerror"); without the isolation it is stored.
		tm.send("put up.txt " + outside + "/up-" + mode + ".txt\r")
		if got := tm.expect("ftp> ", 10*time.Second); !strings.Contains(got, "553 "+outside+"/up-"+mode+".txt: Read-only file system") {
			t.Errorf("%s STOR outside the profile's paths:\n%s", mode, got)
		}
		wantAbsent(t, outside+"/up-"+mode+".txt")
		tm.send("quit\r")
		tm.expect("221", 5*time.Second)
		if b, _ := os.ReadFile(filepath.Join(dir, "got-"+mode+".txt")); string(b) != "hello-from-home\n" {
			t.Errorf("%s RETR gave %q", mode, b)
		}
		if b, _ := os.ReadFile(filepath.Join(c.home, "up-"+mode+".txt")); string(b) != "uploaded-by-client\n" {
			t.Errorf("%s STOR stored %q", mode, b)
		}
	}

	// Anonymous: ftpd chroots to the ftp user's home.
	anon := t.TempDir()
	os.Chmod(anon, 0o755)
	os.WriteFile(filepath.Join(anon, "pub.txt"), []byte("anonymous-file\n"), 0o644)
	// The system user ftp, which ftpd's anonymous login needs, is made
	// when missing and left (another run may be using it); its home is
	// the test's for the test, then what it was.
	if exec.Command("id", "ftp").Run() != nil {
		exec.Command("useradd", "-r", "-M", "-d", "/srv/ftp", "-s", "/usr/sbin/nologin", "ftp").Run()
	}
	ent, err := exec.Command("getent", "passwd", "ftp").Output()
	if f := strings.Split(strings.TrimSpace(string(ent)), ":"); err != nil || len(f) < 7 {
		t.Fatalf("user ftp: %v %q", err, ent)
	} else {
		t.Cleanup(func() { exec.Command("usermod", "-d", f[5], "ftp").Run() })
	}
	if out, err := exec.Command("usermod", "-d", anon, "ftp").CombinedOutput(); err != nil {
		t.Fatalf("usermod ftp: %v\n%s", err, out)
	}
	tm := c.startTerm("sh", "-c", "cd "+dir+" && exec inetutils-ftp 127.0.0.1")
	tm.expect("Name (127.0.0.1:root): ", 10*time.Second)
	tm.send("anonymous\r")
	tm.expect("Password:", 5*time.Second)
	tm.send("guest@example.org\r")
	tm.expect("230 ", 10*time.Second)
	tm.expect("ftp> ", 5*time.Second)
	tm.send("passive\r")
	tm.expect("ftp> ", 5*time.Second)
	tm.send("get pub.txt anon.txt\r")
	if got := tm.expect("ftp> ", 10*time.Second); !strings.Contains(got, "226") {
		t.Fatalf("anonymous RETR:\n%s", got)
	}
	tm.send("quit\r")
	tm.expect("221", 5*time.Second)
	if b, _ := os.ReadFile(filepath.Join(dir, "anon.txt")); string(b) != "anonymous-file\n" {
		t.Errorf("anonymous RETR gave %q", b)
	}
	c.noFailures()
}

// TestClassicNetkitFTP: Debian's netkit ftpd (package ftpd, whose server
// in.ftpd is in ftpd-ssl) conflicts with inetutils-ftpd, which
// TestClassicFTP needs, so it is not installed: the test fetches both
// packages with apt-get download into ../bin/testbin/debs (kept between
// runs) and runs in.ftpd from where dpkg -x puts it. The shipped profile
// in.ftpd is chosen by the base name. The sessions are TestClassicFTP's.
func TestClassicNetkitFTP(t *testing.T) {
	needPrograms(t, "/usr/sbin/tcpd", "/usr/bin/inetutils-ftp")
	prog := netkitFTPD(t)
	c := startClassic(t, "ftp\tstream\ttcp\tnowait\troot\t/usr/sbin/tcpd\t"+prog+"\n", nil, nil)
	c.confinedAtStart("ftp", 21, 1, prog, "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT", "CAP_NET_BIND_SERVICE")
	c.ftpSessions()
}

// netkitFTPD returns the path of in.ftpd extracted from the Debian
// packages ftpd-ssl and ftpd, downloading them when not yet cached. A
// failed download fails the test: it is never a skip.
func netkitFTPD(t *testing.T) string {
	t.Helper()
	debs := filepath.Join(binDir, "testbin", "debs")
	root := filepath.Join(debs, "netkit-ftpd")
	prog := filepath.Join(root, "usr", "sbin", "in.ftpd")
	if _, err := os.Stat(prog); err == nil {
		return prog
	}
	if err := os.MkdirAll(debs, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("apt-get", "download", "ftpd-ssl", "ftpd")
	cmd.Dir = debs
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("apt-get download ftpd-ssl ftpd: %v\n%s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(debs, "ftpd*.deb"))
	tmp := root + ".new"
	os.RemoveAll(tmp)
	for _, f := range files {
		if out, err := exec.Command("dpkg", "-x", f, tmp).CombinedOutput(); err != nil {
			t.Fatalf("dpkg -x %s: %v\n%s", f, err, out)
		}
	}
	os.RemoveAll(root)
	if err := os.Rename(tmp, root); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(prog); err != nil {
		t.Fatalf("in.ftpd not in %v: %v", files, err)
	}
	return prog
}

// TestClassicTelnet: telnetd (behind tcpd) runs login, the user logs in
// with a password and runs a command.
func TestClassicTelnet(t *testing.T) {
	needPrograms(t, "/usr/sbin/telnetd", "/usr/bin/inetutils-telnet")
	c := startClassic(t, lineTelnet, nil, nil)
	out := outsideDir(t)
	c.confinedAtStart("telnet", 23, 1, "/usr/sbin/telnetd", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER")
	tm := c.startTerm("inetutils-telnet", "127.0.0.1")
	tm.expect("login: ", 15*time.Second)
	tm.send(classicUser + "\r")
	tm.expect("Password:", 10*time.Second)
	tm.send(classicPass + "\r")
	tm.expect("$ ", 15*time.Second)
	tm.send("echo telnet-$((6*7)) $(id -un)\r")
	tm.expect("telnet-42 "+classicUser, 10*time.Second)
	// Outside the profile's paths the user's writes fail as the kernel
	// says for a read-only mount (without the isolation: /etc "Permission
	// denied", the open directory written).
	etc := fmt.Sprintf("/etc/hinetd-x-%d", os.Getpid())
	// (The shell prints what it found, so that the terminal's echo of
	// the command cannot match.)
	tm.send("for f in " + etc + " " + out + "/telnet; do touch $f 2>&1 | grep -q 'Read-only file system' && echo erofs-$f; done\r")
	tm.expect("erofs-"+etc, 10*time.Second)
	tm.expect("erofs-"+out+"/telnet", 10*time.Second)
	wantAbsent(t, etc, out+"/telnet")
	tm.send("exit\r")
	tm.expect("Connection closed", 10*time.Second)
	c.noFailures()
}

// TestClassicTFTP: in.tftpd -s serves a file from /srv/tftp, as wait
// service; the server stays for the next request.
func TestClassicTFTP(t *testing.T) {
	needPrograms(t, "/usr/sbin/in.tftpd", "/usr/bin/tftp")
	c := startClassic(t, lineTFTP, nil, nil)
	name := fmt.Sprintf("hinetd-classic-%d.txt", os.Getpid())
	if err := os.WriteFile("/srv/tftp/"+name, []byte("tftp-served\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove("/srv/tftp/" + name) })
	dst := filepath.Join(t.TempDir(), "got")
	out, errs, err := c.run(15*time.Second, "", "tftp", "127.0.0.1", "-c", "get", name, dst)
	if b, _ := os.ReadFile(dst); err != nil || string(b) != "tftp-served\n" {
		t.Fatalf("tftp get: %v, got %q\n%s%s", err, b, out, errs)
	}
	c.wantConfined(c.serverPID("tftp", 1), "/usr/sbin/in.tftpd", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT")
	c.noFailures()
}

// TestClassicTFTPPrivilege: in.tftpd under a policy without CAP_SETGID:
// its child's setgroups fails EPERM and the client times out, which
// left nothing in any log (issue 12 item 4); the record now says which
// call failed for want of which capability.
func TestClassicTFTPPrivilege(t *testing.T) {
	needPrograms(t, "/usr/sbin/in.tftpd", "/usr/bin/tftp")
	c := startClassic(t, lineTFTP, map[string]string{"policy/nosetgid.policy": "[service tftp]\ncaps CAP_SETUID CAP_SYS_CHROOT\n"}, nil)
	name := fmt.Sprintf("hinetd-classic-priv-%d.txt", os.Getpid())
	if err := os.WriteFile("/srv/tftp/"+name, []byte("tftp-served\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove("/srv/tftp/" + name) })
	dst := filepath.Join(t.TempDir(), "got")
	c.run(6*time.Second, "", "tftp", "127.0.0.1", "-c", "get", name, dst)
	if b, _ := os.ReadFile(dst); len(b) != 0 {
		t.Fatalf("tftp get worked without CAP_SETGID: %q", b)
	}
	t.Log(c.d.waitLog("called setgroups without CAP_SETGID: it fails with EPERM", 10*time.Second, "in.tftpd (pid ", "capability=CAP_SETGID"))
}

// TestClassicTFTPCreate: in.tftpd -c (--create, which Debian's README
// says to add for uploads) stores a file a client puts, in a directory
// of the root that anyone may write (without -p, tftpd-hpa answered
// "Permission denied" for a directory only its tftp user owned).
func TestClassicTFTPCreate(t *testing.T) {
	needPrograms(t, "/usr/sbin/in.tftpd", "/usr/bin/tftp")
	c := startClassic(t, strings.Replace(lineTFTP, "-s /srv/tftp", "-c -s /srv/tftp", 1), nil, nil)
	up := fmt.Sprintf("hinetd-classic-up-%d", os.Getpid())
	dir := "/srv/tftp/" + up
	if err := os.Mkdir(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777) // past the umask
	src := filepath.Join(t.TempDir(), "up.txt")
	os.WriteFile(src, []byte("tftp-uploaded\n"), 0o644)
	out, errs, err := c.run(15*time.Second, "", "tftp", "127.0.0.1", "-c", "put", src, up+"/up.txt")
	if b, _ := os.ReadFile(dir + "/up.txt"); err != nil || string(b) != "tftp-uploaded\n" {
		t.Fatalf("tftp put: %v, stored %q\n%s%s\n%s", err, b, out, errs, c.d.logText())
	}
	c.wantConfined(c.serverPID("tftp", 1), "/usr/sbin/in.tftpd", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT")
	c.noFailures()
}

// TestClassicPOP3: popa3d (behind tcpd) lets the user read the message
// in the mailbox.
func TestClassicPOP3(t *testing.T) {
	needPrograms(t, "/usr/sbin/popa3d", "/usr/bin/curl")
	c := startClassic(t, linePOP3, nil, nil)
	c.confinedAtStart("pop3", 110, 1, "/usr/sbin/popa3d", "CAP_SETUID", "CAP_SETGID", "CAP_SYS_CHROOT")
	out, errs, err := c.run(15*time.Second, "", "curl", "-sS", "--max-time", "10",
		"-u", classicUser+":"+classicPass, "pop3://127.0.0.1/1")
	if err != nil || !strings.Contains(out, "body-of-classic-mail") {
		t.Fatalf("curl pop3 RETR: %v\n%s%s", err, out, errs)
	}
	c.noFailures()
}

// TestClassicIMAP: dovecot's imap, pre-authenticated as the inetd.conf
// user, fetches the message in the mailbox.
func TestClassicIMAP(t *testing.T) {
	needPrograms(t, "/usr/lib/dovecot/imap", "/usr/bin/curl")
	lineIMAP := "imap2\tstream\ttcp\tnowait\t" + classicUser + "\t/usr/lib/dovecot/imap\t/usr/lib/dovecot/imap\n"
	c := startClassic(t, lineIMAP, nil, nil)
	c.confinedAtStart("imap2", 143, 1, "/usr/lib/dovecot/imap")
	out, errs, err := c.run(15*time.Second, "", "curl", "-sS", "--max-time", "10", "imap://127.0.0.1/INBOX;MAILINDEX=1")
	if err != nil || !strings.Contains(out, "body-of-classic-mail") {
		t.Fatalf("curl imap FETCH: %v\n%s%s", err, out, errs)
	}
	c.noFailures()
}

// TestClassicRexec: in.rexecd (behind tcpd) checks the password and runs
// the command as the user (rexec(3)'s protocol, without a stderr port).
func TestClassicRexec(t *testing.T) {
	needPrograms(t, "/usr/sbin/in.rexecd")
	c := startClassic(t, lineRexec, nil, nil)
	c.confinedAtStart("exec", 512, 1, "/usr/sbin/in.rexecd", "CAP_SETUID", "CAP_SETGID")
	conn := c.dial("tcp", 512)
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "0\x00%s\x00%s\x00echo rexec-$((2*21)) $(id -un)\x00", classicUser, classicPass)
	got, _ := io.ReadAll(conn)
	if want := "\x00rexec-42 " + classicUser + "\n"; string(got) != want {
		t.Fatalf("rexec: %q, want %q", got, want)
	}
	c.noFailures()
}

// TestClassicRsh: in.rshd (behind tcpd) trusts root@localhost by the
// user's .rhosts and runs the command, its stderr on the second
// connection (which rshd opens from a reserved port).
func TestClassicRsh(t *testing.T) {
	needPrograms(t, "/usr/sbin/in.rshd", "/usr/bin/netkit-rsh")
	c := startClassic(t, lineRsh, nil, nil)
	c.confinedAtStart("shell", 514, 1, "/usr/sbin/in.rshd", "CAP_SETUID", "CAP_SETGID", "CAP_NET_BIND_SERVICE")
	out, errs, err := c.run(15*time.Second, "", "netkit-rsh", "-l", classicUser, "127.0.0.1",
		"echo rsh-out $(id -un); echo rsh-err >&2")
	if err != nil || out != "rsh-out "+classicUser+"\n" || errs != "rsh-err\n" {
		t.Fatalf("rsh: %v\nstdout %q\nstderr %q", err, out, errs)
	}
	// A command writing outside the profile's paths: "Read-only file
	// system" (without the isolation the open directory is written).
	dir := outsideDir(t)
	out, errs, err = c.run(15*time.Second, "", "netkit-rsh", "-l", classicUser, "127.0.0.1",
		"touch "+dir+"/rsh; echo touch-status $?")
	if err != nil || out != "touch-status 1\n" || !strings.Contains(errs, dir+"/rsh") || !strings.Contains(errs, ": Read-only file system\n") {
		t.Errorf("rsh touch outside the profile's paths: %v\nstdout %q\nstderr %q, want Read-only file system", err, out, errs)
	}
	wantAbsent(t, dir+"/rsh")
	c.noFailures()
}

// TestClassicRlogin: in.rlogind (behind tcpd) logs the user in without a
// password, by .rhosts trust, and a command runs.
func TestClassicRlogin(t *testing.T) {
	needPrograms(t, "/usr/sbin/in.rlogind", "/usr/bin/netkit-rlogin")
	c := startClassic(t, lineRlogin, nil, nil)
	c.confinedAtStart("login", 513, 1, "/usr/sbin/in.rlogind", "CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_FOWNER")
	tm := c.startTerm("netkit-rlogin", "-l", classicUser, "127.0.0.1")
	got := tm.expect("$ ", 15*time.Second)
	if strings.Contains(got, "assword") {
		t.Fatalf("rlogin asked for a password instead of trusting .rhosts:\n%s", tm.transcript())
	}
	tm.send("echo rlogin-$((3*5)) $(id -un)\r")
	tm.expect("rlogin-15 "+classicUser, 10*time.Second)
	tm.send("exit\r")
	tm.expect("closed", 10*time.Second)
	c.noFailures()
}

// talkMsg is the talk protocol's CTL_MSG (protocols/talkd.h, version 1):
// 84 bytes, addresses as 4.3BSD osockaddr in network order.
type talkMsg struct {
	Vers, Type, Answer, Pad uint8
	ID                      uint32
	Addr, CtlAddr           [16]byte
	PID                     int32
	LName, RName            [12]byte
	RTTY                    [16]byte
}

// Talk request types and answers.
const (
	talkLookUp   = 1
	talkAnnounce = 3
	talkSuccess  = 0
	talkNotHere  = 1
)

func osockaddr(ip [4]byte, port int) [16]byte {
	var a [16]byte
	binary.BigEndian.PutUint16(a[0:], unix.AF_INET)
	binary.BigEndian.PutUint16(a[2:], uint16(port))
	copy(a[4:], ip[:])
	return a
}

// talkRequest sends one CTL_MSG from conn and returns the answer byte.
func talkRequest(t *testing.T, conn net.Conn, typ uint8, id uint32, from, to string) uint8 {
	t.Helper()
	local := conn.LocalAddr().(*net.UDPAddr)
	m := talkMsg{Vers: 1, Type: typ, ID: id, PID: int32(os.Getpid()),
		Addr:    osockaddr([4]byte{127, 0, 0, 1}, 4000),
		CtlAddr: osockaddr([4]byte{127, 0, 0, 1}, local.Port)}
	copy(m.LName[:], from)
	copy(m.RName[:], to)
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, &m)
	for try := 0; try < 5; try++ {
		conn.Write(b.Bytes())
		conn.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 64)
		n, err := conn.Read(buf)
		if err != nil {
			continue
		}
		if n < 24 || buf[1] != typ {
			t.Fatalf("talk reply %x to request type %d", buf[:n], typ)
		}
		return buf[2]
	}
	t.Fatalf("no talk reply to request type %d", typ)
	return 0
}

// TestClassicTalk: in.ntalkd and in.talkd (as nobody.tty) answer LOOK_UP
// with "not here" and ANNOUNCE with success, writing the announcement to
// the terminal of the logged-in user (a utmp of the test's own, mounted
// over /run in the daemon's mount namespace).
func TestClassicTalk(t *testing.T) {
	needPrograms(t, "/usr/sbin/in.ntalkd")
	m, s := openPTY(t)
	defer m.Close()
	defer s.Close()
	ptsN, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("pts/%d", ptsN)
	c := startClassic(t, lineTalk, map[string]string{"run/utmp": string(utmpRecord(classicUser, line))},
		map[string]string{"/run": "run"})
	u := userIDs(t, classicUser)
	os.Chown("/dev/"+line, u[0], 5) // group tty, as login leaves it
	os.Chmod("/dev/"+line, 0o620)   // mesg y
	var announced bytes.Buffer
	var amu sync.Mutex
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			amu.Lock()
			announced.Write(buf[:n])
			amu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	for i, port := range []int{518, 517} {
		conn := c.dial("udp", port)
		if a := talkRequest(t, conn, talkLookUp, 1, "root", classicUser); a != talkNotHere {
			t.Errorf("port %d LOOK_UP: answer %d, want %d (not here)", port, a, talkNotHere)
		}
		if a := talkRequest(t, conn, talkAnnounce, 2, "root", classicUser); a != talkSuccess {
			t.Errorf("port %d ANNOUNCE: answer %d, want %d (success)", port, a, talkSuccess)
		}
		name := []string{"ntalk", "talk"}[i]
		c.wantConfined(c.serverPID(name, 1), "/usr/sbin/in.ntalkd")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		amu.Lock()
		got := announced.String()
		amu.Unlock()
		if strings.Contains(got, "Message from Talk_Daemon") && strings.Contains(got, "connection requested by root@") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no announcement on %s; it shows:\n%s", line, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.noFailures()
}

// utmpRecord is one USER_PROCESS entry of glibc's x86-64 struct utmp
// (384 bytes): user logged in on line.
func utmpRecord(user, line string) []byte {
	b := make([]byte, 384)
	binary.LittleEndian.PutUint16(b[0:], 7) // USER_PROCESS
	binary.LittleEndian.PutUint32(b[4:], uint32(os.Getpid()))
	copy(b[8:40], line)
	copy(b[40:44], line[len(line)-min(4, len(line)):])
	copy(b[44:76], user)
	binary.LittleEndian.PutUint32(b[340:], uint32(time.Now().Unix()))
	return b
}

// TestClassicBootp: bootpd answers bootptest's BOOTREQUEST from its
// bootptab (the test's, mounted over /etc/bootptab in the daemon's mount
// namespace).
func TestClassicBootp(t *testing.T) {
	needPrograms(t, "/usr/sbin/bootpd", "/usr/sbin/bootptest")
	c := startClassic(t, lineBootp, map[string]string{"bootptab": ".default:hd=/tmp:bf=null:sm=255.0.0.0:\n" +
		"client1:tc=.default:ht=ethernet:ha=0a0b0c0d0e0f:ip=127.0.0.1:\n"}, map[string]string{"/etc/bootptab": "bootptab"})
	out, errs, _ := c.run(15*time.Second, "", "bootptest", "127.0.0.1")
	if !strings.Contains(out, "Recvd from 127.0.0.1 (reply)") || !strings.Contains(out, "Y:127.0.0.1") {
		t.Fatalf("bootptest got no BOOTREPLY:\n%s%s", out, errs)
	}
	c.wantConfined(c.serverPID("bootps", 1), "/usr/sbin/bootpd")
	c.noFailures()
}

// TestClassicBootpgw: bootpgw relays bootptest's BOOTREQUEST to bootpd and
// its BOOTREPLY back: the two Debian lines on one port, bootpgw on
// 127.0.0.1 (the address of this host's name, which bootpgw writes as
// the gateway), bootpd on 127.0.0.2.
func TestClassicBootpgw(t *testing.T) {
	needPrograms(t, "/usr/sbin/bootpd", "/usr/sbin/bootpgw", "/usr/sbin/bootptest")
	conf := "127.0.0.2:" + lineBootp + strings.Replace("127.0.0.1:"+lineBootp, "/usr/sbin/bootpd\tbootpd -i -t 120", "/usr/sbin/bootpgw\tbootpgw -i -t 120 127.0.0.2", 1)
	c := startClassic(t, conf, map[string]string{"bootptab": ".default:hd=/tmp:bf=null:sm=255.0.0.0:\n" +
		"client1:tc=.default:ht=ethernet:ha=0a0b0c0d0e0f:ip=127.0.0.1:\n"}, map[string]string{"/etc/bootptab": "bootptab"})
	out, errs, _ := c.run(15*time.Second, "", "bootptest", "127.0.0.1")
	if !strings.Contains(out, "Recvd from") || !strings.Contains(out, "Y:127.0.0.1") {
		t.Fatalf("bootptest through bootpgw got no BOOTREPLY:\n%s%s\n%s", out, errs, c.d.logText())
	}
	t.Log(out)
	c.wantConfined(spawnPID(t, c.d, "127.0.0.1:67", 1), "/usr/sbin/bootpgw")
	c.wantConfined(spawnPID(t, c.d, "127.0.0.2:67", 1), "/usr/sbin/bootpd")
	c.noFailures()
}
