package test

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Isolation tests (issue 11): a probe service under the default policy,
// run as root and as nobody, next to another service's child of the same
// uid, tries what a compromised service would.

// callResults parses the probe's "=== call" sections: call → errno (0 =
// the call worked) and any lines it printed before its result.
func callResults(out string) (map[string]int, map[string]string) {
	res, extra := map[string]int{}, map[string]string{}
	var name string
	inCall := false
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "=== call":
			inCall, name = true, ""
		case inCall && name == "":
			name = line
		case inCall && strings.HasPrefix(line, "result "):
			res[name], _ = strconv.Atoi(strings.TrimPrefix(line, "result "))
			inCall = false
		case inCall:
			extra[name] += line + "\n"
		}
	}
	return res, extra
}

// probeCalls connects to a probe started with "quiet -" and runs calls.
func probeCalls(t *testing.T, port int, calls ...string) (map[string]int, map[string]string) {
	t.Helper()
	out := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), []byte(strings.Join(calls, " ")+"\n")))
	res, extra := callResults(out)
	for _, c := range calls {
		if _, ok := res[c]; !ok {
			t.Fatalf("probe on port %d did not run %q; got:\n%s", port, c, out)
		}
	}
	return res, extra
}

// holdOpen connects to a probe service told to sleep, and returns the
// connection (closed at cleanup) once the daemon logged its spawn, with
// the child's pid from that record.
func holdOpen(t *testing.T, d *daemon, port int, nth int) (net.Conn, int) {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte("sleep:60\n")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for d.countLog("event=spawn", fmt.Sprintf("%d/tcp", port)) < nth {
		if time.Now().After(deadline) {
			t.Fatalf("no spawn %d for port %d; log:\n%s", nth, port, d.logText())
		}
		time.Sleep(10 * time.Millisecond)
	}
	var pids []int
	for _, line := range strings.Split(d.logText(), "\n") {
		if lineHas(line, "event=spawn") && strings.Contains(line, fmt.Sprintf("%d/tcp", port)) {
			pids = append(pids, fieldInt(line, "pid"))
		}
	}
	return c, pids[nth-1]
}

// fieldInt reads key=N from a log line.
func fieldInt(line, key string) int {
	for _, f := range strings.Fields(line) {
		if v, ok := strings.CutPrefix(f, key+"="); ok {
			n, _ := strconv.Atoi(strings.Trim(v, `"`))
			return n
		}
	}
	return 0
}

// spawnerOf finds the spawner process of a child: its parent.
func parentOf(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("child %d: %v", pid, err)
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ppid, _ := strconv.Atoi(f[1])
	return ppid
}

func tag() string { return fmt.Sprintf("hinetd-iso-%d-%d", os.Getpid(), rand.IntN(1e9)) }

const (
	eperm        = int(syscall.EPERM)
	enoent       = int(syscall.ENOENT)
	esrch        = int(syscall.ESRCH)
	eacces       = int(syscall.EACCES)
	erofs        = int(syscall.EROFS)
	eafnosupport = int(syscall.EAFNOSUPPORT)
	econnrefused = int(syscall.ECONNREFUSED)
)

// TestIsolationDefault: under the default policy, as root and as nobody,
// with another service's same-uid child alive beside it, the probe can
// write none of /etc, /usr, /var/lib (EROFS); its /tmp, /var/tmp and
// /dev/shm files are seen neither by the host nor by the other service;
// chmod u+s fails; kill() of hinetd, of its spawner, of another service's
// child and of another connection's child fails; their /proc/PID/mem does
// not open; /proc lists its own process only. (Issue 11 items 1, 2, 3, 5.)
func TestIsolationDefault(t *testing.T) {
	needRoot(t)
	p := probe(t)
	for _, user := range []string{"root", "nobody"} {
		t.Run(user, func(t *testing.T) {
			probePort, otherPort, holdPort := freePort(t), freePort(t), freePort(t)
			d := startDaemon(t, fmt.Sprintf(
				"127.0.0.1:%d stream tcp nowait %s %s probe quiet -\n"+
					"127.0.0.1:%d stream tcp nowait %s %s probe quiet -\n"+
					"127.0.0.1:%d stream tcp nowait %s %s probe quiet -\n",
				probePort, user, p, otherPort, user, p, holdPort, user, p))
			// Another service's child, same uid, alive.
			_, sibling := holdOpen(t, d, holdPort, 1)
			// Another connection's child of the probe service itself: the
			// first child of its spawner, pid 2 in its pid namespace.
			_, sameSvc := holdOpen(t, d, probePort, 1)
			spawner := parentOf(t, sibling)

			name := tag()
			t.Cleanup(func() {
				for _, dir := range []string{"/etc", "/usr", "/var/lib", "/tmp", "/var/tmp", "/dev/shm"} {
					os.Remove(filepath.Join(dir, name))
				}
				os.Remove("/tmp/" + name + "-suid")
			})
			calls := []string{
				"write:/etc/" + name, "write:/usr/" + name, "write:/var/lib/" + name,
				"write:/tmp/" + name, "write:/var/tmp/" + name, "write:/dev/shm/" + name,
				"suid:/tmp/" + name + "-suid",
				"kill:" + strconv.Itoa(d.pid()), "kill:" + strconv.Itoa(spawner), "kill:1",
				"kill:" + strconv.Itoa(sibling), "mem:" + strconv.Itoa(sibling),
				"kill:2", "mem:2", "kill:" + strconv.Itoa(sameSvc), "mem:" + strconv.Itoa(sameSvc),
				"proc",
			}
			res, extra := probeCalls(t, probePort, calls...)
			for _, dir := range []string{"/etc", "/usr", "/var/lib"} {
				if got := res["write:"+dir+"/"+name]; got != erofs {
					t.Errorf("creating a file in %s: errno %d, want EROFS (%d)", dir, got, erofs)
				}
			}
			for _, dir := range []string{"/tmp", "/var/tmp", "/dev/shm"} {
				if got := res["write:"+dir+"/"+name]; got != 0 {
					t.Errorf("creating a file in its own %s: errno %d", dir, got)
				}
				if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
					t.Errorf("the host sees the service's %s/%s", dir, name)
				}
			}
			if got := res["suid:/tmp/"+name+"-suid"]; got != eperm {
				t.Errorf("chmod u+s on its own file: errno %d, want EPERM", got)
			}
			for _, c := range calls[7:16] {
				if res[c] == 0 {
					t.Errorf("%s (hinetd %d, spawner %d, sibling %d, same-service child %d) succeeded",
						c, d.pid(), spawner, sibling, sameSvc)
				}
			}
			pids := strings.Fields(strings.TrimPrefix(strings.SplitN(extra["proc"], "\n", 2)[0], "pids"))
			self := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(extra["proc"], "\n", 3)[1], "self"))
			if len(pids) != 1 || pids[0] != self {
				t.Errorf("/proc lists %d processes %v, want only its own (%s)", len(pids), pids, self)
			}
			// The other service does not see the probe's private files.
			var other []string
			for _, dir := range []string{"/tmp", "/var/tmp", "/dev/shm"} {
				other = append(other, "exists:"+dir+"/"+name)
			}
			ores, _ := probeCalls(t, otherPort, other...)
			for _, c := range other {
				if ores[c] != enoent {
					t.Errorf("other service: %s: errno %d, want ENOENT", c, ores[c])
				}
			}
		})
	}
}

// TestIsolationReadWrite: "read-write PATH" makes that path writable, and
// nothing else. (Issue 11 item 1, read-write.)
func TestIsolationReadWrite(t *testing.T) {
	needRoot(t)
	p := probe(t)
	dir, err := os.MkdirTemp("/srv", "hinetd-rw-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	other := tag()
	t.Cleanup(func() { os.Remove("/srv/" + other) })
	port := freePort(t)
	startDaemonWith(t, nil, map[string]string{
		"policy/rw.policy": fmt.Sprintf("[service %d]\nread-write %s\n", port, dir),
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root %s probe quiet -\n", port, p))
	res, _ := probeCalls(t, port, "write:"+dir+"/f", "write:/srv/"+other, "suid:"+dir+"/s")
	if res["write:"+dir+"/f"] != 0 {
		t.Errorf("write in the read-write path: errno %d", res["write:"+dir+"/f"])
	}
	if _, err := os.Stat(dir + "/f"); err != nil {
		t.Errorf("the host does not see the file written to the read-write path: %v", err)
	}
	if got := res["write:/srv/"+other]; got != erofs {
		t.Errorf("write beside the read-write path: errno %d, want EROFS", got)
	}
	if got := res["suid:"+dir+"/s"]; got != eperm {
		t.Errorf("chmod u+s in the read-write path: errno %d, want EPERM", got)
	}
}

// TestIsolationCheck: hinetd-check shows each service's isolation, warns
// for each opt-out, and fails on a read-write path that does not exist
// (with file:line) while "-PATH" may be missing. (Issue 11 items 1, 6.)
func TestIsolationCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	conf := write("inetd.conf", "127.0.0.1:7200 stream tcp nowait nobody /bin/cat cat\n"+
		"127.0.0.1:7201 stream tcp nowait nobody /bin/cat cat\n")
	allow := write("hosts.allow", "")
	deny := write("hosts.deny", "ALL: ALL\n")
	run := func(pol string) (string, int) {
		out, err := exec.Command(bin(t, "hinetd-check"), "--policy", pol, "--hosts-allow", allow,
			"--hosts-deny", deny, conf).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	pol := write("ok.policy", "[service 7201]\nprotect-system off\nprocess-scope off\nread-write -/nonexistent-hinetd-a /srv\n")
	out, code := run(pol)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	for _, want := range []string{
		"read-only system: strict", "writable paths:   none", "tmp:              private",
		"home:             inaccessible", "process scope:    own descendants only",
		"setuid/setgid:    refused", "address families: AF_UNIX AF_INET AF_INET6",
		"read-only system: off", "writable paths:   -/nonexistent-hinetd-a /srv",
		"7201 protect-system off", "7201 process-scope off",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("hinetd-check output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "7200 protect-system") || strings.Contains(out, "7200 process-scope") {
		t.Errorf("opt-out warnings for the default service:\n%s", out)
	}
	bad := write("bad.policy", "[service 7201]\nread-write -/nonexistent-hinetd-a\nread-write /nonexistent-hinetd-b\n")
	out, code = run(bad)
	if code != 1 || !strings.Contains(out, "bad.policy:3:") || !strings.Contains(out, `"/nonexistent-hinetd-b" does not exist`) ||
		strings.Contains(out, "nonexistent-hinetd-a") {
		t.Fatalf("a missing read-write path: exit %d, output:\n%s", code, out)
	}
}

// TestIsolationSpawnerKilled: killing a spawner from outside takes its
// children with it, every one gets an exit record, and the instance count
// is right afterwards. (Issue 11 item 4.)
func TestIsolationSpawnerKilled(t *testing.T) {
	needRoot(t)
	p := probe(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait/3 nobody %s probe quiet -\n", port, p))
	var kids []int
	for i := 1; i <= 3; i++ {
		_, pid := holdOpen(t, d, port, i)
		kids = append(kids, pid)
	}
	spawner := parentOf(t, kids[0])
	if err := syscall.Kill(spawner, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, k := range kids {
		for syscall.Kill(k, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("child %d outlived its spawner %d", k, spawner)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, k := range kids {
		d.waitLog("event=exit", 5*time.Second, fmt.Sprintf("pid=%d", k))
	}
	// All three slots are free again: three more are served, at once,
	// and a fourth is not (max-child 3 still holds: nothing escaped it,
	// and nothing was counted twice).
	for i := 4; i <= 6; i++ {
		holdOpen(t, d, port, i)
	}
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("sleep:60\n"))
	time.Sleep(500 * time.Millisecond)
	if n := d.countLog("event=spawn", fmt.Sprintf("%d/tcp", port)); n != 6 {
		t.Errorf("%d spawns with max-child 3 and three children held, want 6; log:\n%s", n, d.logText())
	}
}

// TestIsolationSpawnerStopped: a stopped spawner is detected when it does
// not acknowledge a spawn in time; that connection gets a spawn-fail record
// naming the timeout, and the service serves again. (Issue 11 item 4.)
func TestIsolationSpawnerStopped(t *testing.T) {
	needRoot(t)
	p := probe(t)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody %s probe quiet -\n", port, p))
	_, kid := holdOpen(t, d, port, 1)
	spawner := parentOf(t, kid)
	if err := syscall.Kill(spawner, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	line := d.waitLog("event=spawn-fail", 15*time.Second, "timeout")
	t.Logf("detected after %v: %s", time.Since(start).Round(time.Millisecond), line)
	res, _ := probeCalls(t, port, "exists:/")
	if res["exists:/"] != 0 {
		t.Fatalf("service does not serve after its stopped spawner was replaced")
	}
	if time.Since(start) > 12*time.Second {
		t.Errorf("serving again took %v", time.Since(start))
	}
}

// TestIsolationOptOuts: each opt-out key turns off its own protection and
// no other (and each opt-in key, private-network and terminals, turns on
// only its own). The probe checks one thing per protection; the default row is
// the reference.
func TestIsolationOptOuts(t *testing.T) {
	needRoot(t)
	p := probe(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	hostPort := ln.Addr().(*net.TCPAddr).Port
	name := tag()
	t.Cleanup(func() {
		os.Remove("/var/lib/" + name)
		os.Remove("/tmp/" + name)
		os.Remove("/tmp/" + name + "-s")
	})
	// check name → the call, and its result under the default policy.
	type check struct {
		call string
		def  int
	}
	checks := map[string]check{
		"protect-system":     {"write:/var/lib/" + name, erofs},
		"private-tmp":        {"exists:/tmp/" + name + "-host", enoent},
		"protect-home":       {"ls:/root", eacces},
		"private-devices":    {"exists:/dev/kmsg", enoent},
		"restrict-suid-sgid": {"suid:/tmp/" + name + "-s", eperm},
		"process-scope":      {"kill:1", eperm},
		"address-families":   {"socket:16", eafnosupport},
		"private-network":    {"connect:" + strconv.Itoa(hostPort), 0},
		"terminals":          {"exists:/dev/pts/ptmx", enoent},
	}
	// A file only the host's /tmp has.
	if err := os.WriteFile("/tmp/"+name+"-host", nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove("/tmp/" + name + "-host") })
	rows := []struct {
		key, setting string
		want         int // the check's result with the setting
		also         map[string]int
	}{
		{"protect-system", "protect-system off", 0, nil},
		{"private-tmp", "private-tmp off", 0, nil},
		{"protect-home", "protect-home off", 0, nil},
		// The host's /dev has its terminals.
		{"private-devices", "private-devices off", 0, map[string]int{"terminals": 0}},
		{"restrict-suid-sgid", "restrict-suid-sgid off", 0, nil},
		{"process-scope", "process-scope off", 0, nil},
		{"address-families", "address-families any", 0, nil},
		{"private-network", "private-network on", econnrefused, nil},
		{"terminals", "terminals on", 0, nil},
	}
	var keys []string
	for k := range checks {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var calls []string
	for _, k := range keys {
		calls = append(calls, checks[k].call)
	}
	var conf strings.Builder
	files := map[string]string{}
	ports := make([]int, len(rows)+1)
	for i := range ports {
		ports[i] = freePort(t)
		fmt.Fprintf(&conf, "127.0.0.1:%d stream tcp nowait root %s probe quiet -\n", ports[i], p)
		if i < len(rows) {
			files[fmt.Sprintf("policy/p%d.policy", i)] = fmt.Sprintf("[service %d]\n%s\n", ports[i], rows[i].setting)
		}
	}
	// A directory every row may write to, for the setuid check: under
	// private-tmp off, /tmp is the host's, read-only like the rest.
	rw, err := os.MkdirTemp("/srv", "hinetd-rw-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(rw) })
	files["policy/0default.policy"] = "[default]\nread-write " + rw + "\n"
	checks["restrict-suid-sgid"] = check{"suid:" + rw + "/s", eperm}
	calls = calls[:0]
	for _, k := range keys {
		calls = append(calls, checks[k].call)
	}
	startDaemonWith(t, nil, files, conf.String())
	def, _ := probeCalls(t, ports[len(rows)], calls...)
	for _, k := range keys {
		if def[checks[k].call] != checks[k].def {
			t.Errorf("default policy: %s (%s): errno %d, want %d", k, checks[k].call, def[checks[k].call], checks[k].def)
		}
	}
	for i, r := range rows {
		os.Remove("/var/lib/" + name)
		os.Remove(rw + "/s")
		got, _ := probeCalls(t, ports[i], calls...)
		for _, k := range keys {
			want := checks[k].def
			if k == r.key {
				want = r.want
			}
			if w, ok := r.also[k]; ok {
				want = w
			}
			if got[checks[k].call] != want {
				t.Errorf("%q: %s (%s): errno %d, want %d", r.setting, k, checks[k].call, got[checks[k].call], want)
			}
		}
	}
}
