package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	cOnce  sync.Mutex
	cBuilt = map[string]string{}
)

// buildC builds a static C test program from src (relative to test/) into
// a directory that user nobody can reach, once per test run.
func buildC(t *testing.T, src string) string {
	t.Helper()
	cOnce.Lock()
	defer cOnce.Unlock()
	if p, ok := cBuilt[src]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "hinetd-testbin-") // not under /tmp: see TestMain
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	out := filepath.Join(dir, strings.TrimSuffix(filepath.Base(src), ".c"))
	if b, err := exec.Command("gcc", "-O2", "-static", "-o", out, src).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", src, err, b)
	}
	cBuilt[src] = out
	return out
}

// probe is test/probe/probe.c, the service that reports what it runs with.
func probe(t *testing.T) string { return buildC(t, "probe/probe.c") }

// report splits the probe's output into its "=== name" sections.
func report(out string) map[string]string {
	sec := map[string]string{}
	name := ""
	for _, line := range strings.Split(out, "\n") {
		if n, ok := strings.CutPrefix(line, "=== "); ok {
			name = n
			continue
		}
		if name != "" {
			sec[name] += line + "\n"
		}
	}
	return sec
}

func statusField(status, key string) string {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestSpawnDefaultConfinement: with the default policy and user nobody,
// the service runs with exactly what the policy says.
func TestSpawnDefaultConfinement(t *testing.T) {
	needRoot(t)
	p := probe(t)
	port := freePort(t)
	startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s probe\n", port, p))
	sec := report(string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil)))
	st := sec["status"]
	checks := map[string]string{
		"Uid": "65534\t65534\t65534\t65534", "Gid": "65534\t65534\t65534\t65534",
		"Groups": "65534", // initgroups(nobody): nogroup
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
		"CapBnd": "0000000000000000", "CapAmb": "0000000000000000",
		"NoNewPrivs": "1", "Seccomp": "2",
		"SigBlk": "0000000000000000", "SigIgn": "0000000000000000",
	}
	for k, want := range checks {
		if got := statusField(st, k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if got := sec["fds"]; got != "0\n1\n2\n" {
		t.Errorf("open descriptors:\n%s", got)
	}
	if got := sec["env"]; got != "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n" {
		t.Errorf("environment (hinetd's own has HINETD_TEST_MARKER):\n%s", got)
	}
	if got := sec["cwd"]; got != "/\n" {
		t.Errorf("cwd %q", got)
	}
	if got := sec["umask"]; got != "0027\n" {
		t.Errorf("umask %q", got)
	}
	// RLIMIT_FSIZE 1, NOFILE 7, NPROC 6, CORE 4 (Linux numbering).
	for _, want := range []string{"1 1073741824 1073741824", "4 0 0", "6 1024 1024", "7 1024 1024"} {
		if !strings.Contains(sec["rlimits"], want+"\n") {
			t.Errorf("rlimit %q missing:\n%s", want, sec["rlimits"])
		}
	}
	if f := strings.Fields(sec["sid"]); len(f) != 2 || f[0] != f[1] {
		t.Errorf("not a session leader: %q", sec["sid"])
	}
}

// TestSpawnForbiddenCalls: each forbidden call fails or kills the probe;
// a kill is logged as a seccomp violation naming the call.
func TestSpawnForbiddenCalls(t *testing.T) {
	needRoot(t)
	p := probe(t)
	calls := []string{"ptrace", "mount", "userns", "rawsock"}
	ports := map[string]int{}
	var conf strings.Builder
	for _, c := range calls {
		ports[c] = freePort(t)
		fmt.Fprintf(&conf, "127.0.0.1:%d stream tcp nowait nobody %s probe quiet %s\n", ports[c], p, c)
	}
	d := startDaemon(t, conf.String())
	for _, c := range calls {
		out := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", ports[c]), nil))
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if r, ok := strings.CutPrefix(lines[len(lines)-1], "result "); ok {
			if r == "0" {
				t.Errorf("%s succeeded", c)
			}
			continue
		}
		// Killed: the exit record names SIGSYS and the call.
		line := d.waitLog("event=exit", 5*time.Second, strconv.Itoa(ports[c])+"/tcp", "signal=SIGSYS")
		if !strings.Contains(line, "syscall=") {
			t.Errorf("%s: kill logged without a syscall: %s", c, line)
		}
		t.Logf("%s: %s", c, line[strings.Index(line, "signal="):])
	}
	// mount, ptrace and unshare(CLONE_NEWUSER) are outside the default
	// allow-list: they must have killed the probe. The name comes from the
	// kernel's audit record, which printk rate limiting (10 records per
	// 5 s) may drop: a record may say "unknown", never a wrong name, and
	// at least one of the three must be named.
	named := 0
	for _, c := range []struct{ call, sys string }{{"mount", "mount"}, {"ptrace", "ptrace"}, {"userns", "unshare"}} {
		line := d.waitLog("event=exit", 5*time.Second, strconv.Itoa(ports[c.call])+"/tcp", "signal=SIGSYS")
		switch {
		case strings.Contains(line, "syscall="+c.sys):
			named++
		case !strings.Contains(line, "syscall=unknown"):
			t.Errorf("%s: wrong syscall named: %s", c.call, line)
		}
	}
	if named == 0 {
		t.Errorf("no seccomp kill was logged with its system call's name")
	}
}

// TestSpawnSetuidRoot: a setuid-root binary started as a service does not
// gain root (no_new_privs).
func TestSpawnSetuidRoot(t *testing.T) {
	needRoot(t)
	src := probe(t)
	dir, _ := os.MkdirTemp("", "hinetd-suid-")
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	suid := filepath.Join(dir, "probe-suid")
	b, _ := os.ReadFile(src)
	os.WriteFile(suid, b, 0o755)
	os.Chown(suid, 0, 0)
	if err := os.Chmod(suid, 0o4755); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s probe setuid0\n", port, suid))
	sec := report(string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil)))
	if got := statusField(sec["status"], "Uid"); got != "65534\t65534\t65534\t65534" {
		t.Fatalf("setuid-root service ids: %q", got)
	}
	if !strings.Contains(sec["call"], "result 1\n") { // EPERM
		t.Fatalf("setuid(0) from a setuid-root service: %q", sec["call"])
	}
}

// TestSpawnKeepsGrantedCapability: a policy granting CAP_NET_BIND_SERVICE
// gives the service exactly that capability and nothing else.
func TestSpawnKeepsGrantedCapability(t *testing.T) {
	needRoot(t)
	p := probe(t)
	port := freePort(t)
	d := startDaemonWith(t, nil, map[string]string{
		"policy/bind.policy": fmt.Sprintf("[service %d]\ncaps CAP_NET_BIND_SERVICE\n", port),
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s probe bindlow\n", port, p))
	sec := report(string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil)))
	for _, k := range []string{"CapPrm", "CapEff", "CapBnd", "CapAmb", "CapInh"} {
		if got := statusField(sec["status"], k); got != "0000000000000400" {
			t.Errorf("%s = %s, want only CAP_NET_BIND_SERVICE (0000000000000400)", k, got)
		}
	}
	if !strings.Contains(sec["call"], "result 0\n") {
		t.Errorf("binding port 1 with CAP_NET_BIND_SERVICE: %q", sec["call"])
	}
	_ = d
}

// TestSpawnFailingSteps: a failing confinement step closes the connection,
// runs nothing, and is logged with the step.
func TestSpawnFailingSteps(t *testing.T) {
	needRoot(t)
	p := probe(t)
	chrootPort, userPort := freePort(t), freePort(t)
	name := fmt.Sprintf("hinetd-t%d", os.Getpid()%100000)
	if out, err := exec.Command("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	d := startDaemonWith(t, nil, map[string]string{
		"policy/c.policy": fmt.Sprintf("[service %d]\nchroot /nonexistent-hinetd-chroot\n", chrootPort),
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s probe\n127.0.0.1:%d stream tcp nowait %s %s probe\n",
		chrootPort, p, userPort, name, p))

	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", chrootPort), nil); len(got) != 0 {
		t.Fatalf("a service whose chroot fails answered %q", got)
	}
	d.waitLog("event=spawn-fail", 5*time.Second, strconv.Itoa(chrootPort)+"/tcp", "step=chroot", "errno=ENOENT")

	// The user vanishes after the configuration was loaded.
	if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
		t.Fatalf("userdel: %v\n%s", err, out)
	}
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", userPort), nil); len(got) != 0 {
		t.Fatalf("a service whose user vanished answered %q", got)
	}
	d.waitLog("event=spawn-fail", 5*time.Second, strconv.Itoa(userPort)+"/tcp", "step=user")
	if n := d.countLog("event=spawn"); n != 0 {
		t.Fatalf("%d children started", n)
	}
}

// TestSpawnerReplaced: a service runs as its spawner's uid and could kill
// it; the next connection must get a new spawner, not an error for ever.
func TestSpawnerReplaced(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo hi\n", port))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if got := string(dialRead(t, "tcp", addr, nil)); got != "hi\n" {
		t.Fatalf("first connection: %q", got)
	}
	// Children are listed per thread: the spawner is a child of whichever
	// thread started it.
	var kids []string
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", d.pid()))
	for _, task := range tasks {
		b, _ := os.ReadFile(task)
		kids = append(kids, strings.Fields(string(b))...)
	}
	var killed int
	for _, f := range kids {
		pid, _ := strconv.Atoi(f)
		if pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL) // the daemon's own child: its spawner
			killed++
		}
	}
	if killed == 0 {
		t.Fatal("no spawner found among hinetd's children")
	}
	time.Sleep(200 * time.Millisecond)
	if got := string(dialRead(t, "tcp", addr, nil)); got != "hi\n" {
		t.Fatalf("after the spawner was killed: %q", got)
	}
}

// TestPolicyOverridesUserLogged: a policy that runs a service as another
// user than inetd.conf says wins, and the log says so, naming the file.
func TestPolicyOverridesUserLogged(t *testing.T) {
	needRoot(t)
	p := probe(t)
	port := freePort(t)
	d := startDaemonWith(t, nil, map[string]string{
		"policy/u.policy": fmt.Sprintf("[service %d]\nuser daemon\n", port),
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s probe\n", port, p))
	d.waitLog("note=override", 2*time.Second, "u.policy:2", "daemon", "nobody")
	sec := report(string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil)))
	if got := statusField(sec["status"], "Uid"); got != "1\t1\t1\t1" {
		t.Fatalf("Uid %q, want the policy's user daemon (1)", got)
	}
}
