package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// allModes, in the order they run. Each builds its table from the env, so a
// mode can leave out what this machine or this hinetd cannot do yet.
var allModes = []func(*env) mode{spawnMode, refusalMode, hostsMode, auditMode, floodMode}

func modeNames() []string {
	var out []string
	for _, mk := range allModes {
		out = append(out, mk(&env{}).name)
	}
	return out
}

const base = "C fork+exec"

// unconfinedPolicy turns off, for every service of that hinetd, what a
// policy can turn off (run/main_test.go loads it with the policy package).
const unconfinedPolicy = "# bench: the unconfined spawn path\n[default]\nseccomp off\nno-new-privs off\n" + noIsolation

// noIsolation turns off the isolation of issue 11 (namespaces, landlock,
// the seccomp argument rules), for the rows that measure what came before.
const noIsolation = "protect-system off\nprotect-home off\nprivate-tmp off\nprivate-devices off\nprocess-scope off\n" +
	"restrict-suid-sgid off\naddress-families any\n"

// confinedPolicy is issue 4's confinement alone: the default policy but
// for the isolation.
const confinedPolicy = "# bench: the confined spawn path, without the isolation\n[default]\n" + noIsolation

// spawnMode - issue 2 and issue 4: the hello service through every server.
func spawnMode(e *env) mode {
	// The unconfined spawn path (issue 2's target): a root service whose
	// policy turns off what can be turned off. Capabilities stay dropped (a
	// root service keeps none unless its policy lists them).
	hinetd := hinetdServer("hinetd unconfined", "hello", hinetdSetup{policy: map[string]string{"bench.policy": unconfinedPolicy}})
	hinetd.targets = map[string]float64{base: 0.90}
	confined := hinetdServer("hinetd confined", "hello", hinetdSetup{user: "nobody", policy: map[string]string{"bench.policy": confinedPolicy}})
	confined.targets = map[string]float64{base: 0.85}
	// Issue 11: the default policy, everything on.
	isolated := hinetdServer("hinetd isolated", "hello", hinetdSetup{user: "nobody"})
	isolated.targets = map[string]float64{base: 1.0}
	return mode{
		name:  "spawn",
		title: "The hello service (a static C program that writes `hello\\n` and exits) behind each server; ratio = conn/s over the bare C fork+exec server's in the same round.",
		servers: []server{
			forkexecServer(), hinetd, confined, isolated, xinetdServer(), obsdServer(), tcpserverServer(), tcpsvdServer(),
		},
		conc:      []int{1, 8, 64},
		n:         5000,
		baselines: []string{base},
		notes: []string{
			"- hinetd unconfined: service user root, empty hosts files, a policy with `seccomp off` and `no-new-privs off` (capabilities still dropped: a root service keeps none unless its policy names them).",
			"- hinetd confined: service user nobody with the default policy but for the isolation (ids switched, capabilities dropped, no_new_privs, default seccomp filter; `protect-system off` … `address-families any`).",
			"- hinetd isolated: service user nobody with the default policy, everything on (issue 11: mount and pid namespaces per spawner, private /tmp and /dev, a landlock domain per child, the setuid and address-family rules).",
			"- Targets (issues 2, 4 and 11): hinetd unconfined ≥ 0.90×, hinetd confined ≥ 0.85×, hinetd isolated ≥ 1.0× the C fork+exec server at every concurrency.",
		},
	}
}

// refusalMode - issue 5: connections refused before anything is spawned.
func refusalMode(e *env) mode {
	spawn := hinetdServer("hinetd spawn", "hello", hinetdSetup{})
	perSource := hinetdServer("hinetd refused: per-source", "empty", hinetdSetup{waitField: "nowait/100000/100000000/1", program: "hold"})
	perSource.after = holdOne
	perSource.readyAny = true
	perSource.nMul = 4
	acl := hinetdServer("hinetd refused: ACL deny", "empty", hinetdSetup{hostsDeny: "ALL: ALL\n"})
	acl.nMul = 4
	for _, s := range []*server{&perSource, &acl} {
		s.targets = map[string]float64{"C accept+close": 0.5, "hinetd spawn": 5}
	}
	return mode{
		name:      "refusal",
		rounds:    3,
		title:     "The refusal path: connections closed before any spawn, by a per-source limit (max-child-per-ip 1, filled by one held connection from 127.0.0.1) and by an ACL deny rule (`ALL: ALL` in hosts.deny), against hinetd's spawn path and a bare C accept-and-close server.",
		servers:   []server{acceptcloseServer(), spawn, perSource, acl},
		conc:      []int{8, 64},
		n:         5000,
		baselines: []string{"C accept+close", "hinetd spawn"},
		notes: []string{
			"- Refusing servers get 4× the connections of a spawning one per measurement, so each measurement lasts long enough to time.",
			"- Targets (issue 5): refusal ≥ 0.5× the C accept+close server and ≥ 5× hinetd's spawn path.",
		},
	}
}

// rss - VmRSS and VmHWM of a process, in KiB, from /proc.
func rss(pid int) (cur, peak int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		var v int
		if _, e := fmt.Sscanf(l, "VmRSS: %d kB", &v); e == nil {
			cur = v
		}
		if _, e := fmt.Sscanf(l, "VmHWM: %d kB", &v); e == nil {
			peak = v
		}
	}
	return cur, peak, nil
}

// hostsDenyRules - n hosts.deny rules, none of which matches 127.0.0.1, in
// the three address forms libwrap and hinetd both take: exact addresses,
// prefixes ("11.16.5.") and net/mask pairs. A libwrap-based server reads
// and scans them all for every connection, since none matches.
func hostsDenyRules(n int) string {
	var b strings.Builder
	b.WriteString("# generated by test/bench/run: none of these matches 127.0.0.1\n")
	for i := 0; i < n; i++ {
		k := i / 4 // index within the form, so every rule is distinct
		switch i % 4 {
		case 0, 1:
			fmt.Fprintf(&b, "ALL: 10.%d.%d.%d\n", byte(i>>16), byte(i>>8), byte(i))
		case 2:
			fmt.Fprintf(&b, "ALL: 11.%d.%d.\n", byte(k>>8), byte(k))
		default:
			fmt.Fprintf(&b, "ALL: 12.%d.%d.0/255.255.255.0\n", byte(k>>8), byte(k))
		}
	}
	return b.String()
}

// obsdWrapped - OpenBSD inetd with -l (libwrap inside inetd), reading
// hostsDeny as /etc/hosts.deny: libwrap's paths are compiled in, so the
// files are bind-mounted over /etc/hosts.{allow,deny} inside a mount
// namespace of its own; the host's files are never touched.
func obsdWrapped(name, hostsDeny string) server {
	return server{name: name, expect: "hello", start: func(e *env, dir string, port int) (*exec.Cmd, error) {
		for f, text := range map[string]string{"hosts.allow": "", "hosts.deny": hostsDeny} {
			if err := os.WriteFile(dir+"/"+f, []byte(text), 0o644); err != nil {
				return nil, err
			}
		}
		mounts := fmt.Sprintf("mount --bind %[1]s/hosts.allow /etc/hosts.allow && mount --bind %[1]s/hosts.deny /etc/hosts.deny && ", dir)
		return obsdCmd(e, dir, port, mounts, []string{"-l"})
	}}
}

// hostsMode - issue 3: a 100,000-rule hosts.deny against empty files.
func hostsMode(e *env) mode {
	rules := hostsDenyRules(100000)
	empty := hinetdServer("hinetd empty ACL", "hello", hinetdSetup{})
	big := hinetdServer("hinetd 100k-rule deny", "hello", hinetdSetup{hostsDeny: rules})
	big.targets = map[string]float64{"hinetd empty ACL": 0.9}
	obsdEmpty := obsdWrapped("OpenBSD inetd -l empty ACL", "")
	obsdBig := obsdWrapped("OpenBSD inetd -l 100k-rule deny", rules)
	obsdBig.nMul = 0.01 // libwrap scans 100,000 lines per connection in the parent: ~10 conn/s here
	return mode{
		name:      "hosts",
		rounds:    3,
		title:     "Access control cost: a 100,000-rule hosts.deny (none matching the client, so every rule is a candidate) against empty hosts files; hinetd beside OpenBSD inetd with libwrap (`-l`).",
		servers:   []server{empty, big, obsdEmpty, obsdBig},
		conc:      []int{1, 8},
		n:         5000,
		baselines: []string{"hinetd empty ACL", "OpenBSD inetd -l empty ACL"},
		notes: []string{
			"- Rules: `ALL: 10.x.y.z` (half), `ALL: 11.x.y.` prefixes and `ALL: 12.x.y.0/255.255.255.0` net/masks; none matches 127.0.0.1.",
			"- OpenBSD inetd reads them as /etc/hosts.deny through a bind mount in a private mount namespace; it gets 1% of the connections per measurement (libwrap in its parent scans every line per connection).",
			"- Target (issue 3): hinetd with 100,000 rules ≥ 0.9× hinetd with empty files.",
		},
	}
}

// rsyslogAux returns a starter for a private rsyslogd: its own config,
// work directory and socket (dir/log), writing everything it receives to
// dir/messages, configured as Debian 12 ships it (imuxsock with its
// default parser, one omfile action) except for rate limiting, which is
// off: hinetd's records are not to be thrown away.
//
// qlen is the socket's datagram queue (net.unix.max_dgram_qlen when
// rsyslog creates it): systemd as PID 1 raises it to 512 at boot on
// every Debian host, while the kernel's default, and this machine's
// (no systemd), is 10. rsyslogd runs in a network namespace of its own
// whose sysctl says qlen, so the host's setting is left alone; a socket
// bound to a path is reached from any namespace.
func rsyslogAux(qlen int) func(e *env, dir string) ([]*exec.Cmd, error) {
	return func(e *env, dir string) ([]*exec.Cmd, error) { return startRsyslog(dir, qlen) }
}

func startRsyslog(dir string, qlen int) ([]*exec.Cmd, error) {
	bin, err := exec.LookPath("rsyslogd")
	if err != nil {
		return nil, fmt.Errorf("rsyslogd not installed (apt-get install rsyslog)")
	}
	conf := fmt.Sprintf(`global(workDirectory="%[1]s")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="%[1]s/log" RateLimit.Interval="0")
*.* action(type="omfile" file="%[1]s/messages")
`, dir)
	if err := os.WriteFile(dir+"/rsyslog.conf", []byte(conf), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.Create(dir + "/rsyslog.out")
	if err != nil {
		return nil, err
	}
	script := fmt.Sprintf(`echo %d > /proc/sys/net/unix/max_dgram_qlen && exec "$0" "$@"`, qlen)
	cmd := exec.Command("unshare", "-n", "sh", "-c", script, bin, "-n", "-f", dir+"/rsyslog.conf", "-i", dir+"/rsyslog.pid")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(dir + "/log"); err == nil {
			return []*exec.Cmd{cmd}, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopAux([]*exec.Cmd{cmd})
	b, _ := os.ReadFile(dir + "/rsyslog.out")
	return nil, fmt.Errorf("rsyslogd made no socket at %s/log within 5 s: %s", dir, b)
}

// stalledAux starts out/stalled, a TCP collector that never reads, on a
// free port it writes to dir/aux.port for the server's flags.
func stalledAux(e *env, dir string) ([]*exec.Cmd, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "aux.port"), []byte(strconv.Itoa(port)), 0o644); err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(e.out, "stalled"), "127.0.0.1", strconv.Itoa(port))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return []*exec.Cmd{cmd}, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopAux([]*exec.Cmd{cmd})
	return nil, fmt.Errorf("stalled did not listen on 127.0.0.1:%d within 5 s", port)
}

// auditMode - issue 6: audit records to a local rsyslog, on against off.
func auditMode(e *env) mode {
	off := hinetdServer("hinetd audit off", "hello", hinetdSetup{})
	needsLogTo := func(f hinetdFlags) error {
		if !f.logTo {
			return fmt.Errorf("this hinetd has no --log-to flag yet")
		}
		return nil
	}
	on := hinetdServer("hinetd audit to rsyslog", "hello", hinetdSetup{
		flags: []string{"--log-to", "unix://{dir}/log"},
		needs: needsLogTo,
	})
	on.aux = rsyslogAux(512)
	on.targets = map[string]float64{"hinetd audit off": 0.9}
	// The same on a host whose /dev/log queue is the kernel's 10: no
	// target, shown so that the figure above is not read without it.
	short := on
	short.name = "hinetd audit to rsyslog, queue 10"
	short.aux = rsyslogAux(10)
	short.targets = nil
	// Issue 6: a sink that blocks completely must not slow the accept
	// path: a TCP collector that accepts and never reads.
	stalled := hinetdServer("hinetd audit to a stalled TCP sink", "hello", hinetdSetup{
		flags: []string{"--log-to", "tcp://127.0.0.1:{auxport}"},
		needs: needsLogTo,
	})
	stalled.aux = stalledAux
	stalled.targets = map[string]float64{"hinetd audit off": 0.9}
	m := mode{
		name:      "audit",
		rounds:    7, // the ratios sit near the target: more rounds, a steadier median
		title:     "Audit logging: hinetd sending its records to a local rsyslogd (imuxsock as Debian 12 configures it, writing a file) against hinetd with no audit sink; both with -d, stderr to a file. The rsyslog socket's datagram queue is 512, as systemd sets it on every Debian host, and 10, the kernel's default, in the \"queue 10\" rows; the \"stalled TCP sink\" rows log to a collector that accepts and never reads.",
		servers:   []server{off, on, short, stalled},
		conc:      []int{1, 8, 64},
		n:         5000,
		baselines: []string{"hinetd audit off"},
		notes: []string{
			"- Target (issue 6): logging costs under 10%: ≥ 0.9× the rate with logging off; the same with a sink that blocks completely (a TCP collector that accepts and never reads: hinetd's writes block, time out after 5 s, it reconnects, and the records wait in memory and the spill file, then are dropped and counted).",
			"- `aux rsyslogd` in the split is the collector's own CPU per connection, not counted in the server column.",
		},
	}
	m.extra = func(e *env, live map[string]*proc) []string {
		time.Sleep(time.Second) // let rsyslog write what it has
		var out []string
		for _, s := range []server{on, short} {
			p := live[s.name]
			if p == nil {
				continue
			}
			b, err := os.ReadFile(p.dir + "/messages")
			if err != nil {
				out = append(out, fmt.Sprintf("%s: rsyslog wrote nothing: %v\n", s.name, err))
				continue
			}
			out = append(out, fmt.Sprintf("%s: rsyslog received %d records in this mode (warm-up and probes included).\n", s.name, bytes.Count(b, []byte("\n"))))
		}
		return out
	}
	return m
}

// floodMode - issue 5: hinetd's memory under a flood from 20,000 sources.
func floodMode(e *env) mode {
	srv := hinetdServer("hinetd per-source rate 1/min", "any", hinetdSetup{waitField: "nowait/100000/1"})
	m := mode{
		name:    "flood",
		title:   "Flood: 20,000 distinct sources (127.0.0.2 upwards), two connections each at concurrency 64, to a service allowing one connection per source per minute: the first is served, the second refused. hinetd's RSS before and after, against the per-source table's documented cap (internal/limits: 9 MiB).",
		servers: []server{srv},
	}
	m.extra = func(e *env, live map[string]*proc) []string {
		p := live[srv.name]
		if p == nil {
			return nil
		}
		sources := 20000
		if e.quick {
			sources = 2000
		}
		pid := p.cmd.Process.Pid
		before, _, err := rss(pid)
		if err != nil {
			return []string{fmt.Sprintf("cannot read hinetd's RSS: %v\n", err)}
		}
		r, err := runLoad(e, p.addr, 2*sources, 64, "any", sources)
		if err != nil {
			return []string{fmt.Sprintf("flood: %v\n", err)}
		}
		time.Sleep(500 * time.Millisecond)
		after, peak, _ := rss(pid)
		return []string{fmt.Sprintf("| sources | connections | conn/s | served | refused | errors | RSS before KiB | RSS after KiB | peak RSS KiB | growth MiB |\n"+
			"| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"+
			"| %d | %d | %.0f | %d | %d | %d | %d | %d | %d | %.1f |\n",
			sources, r.N, r.ConnPerSec, r.Hello, r.Empty, r.Errors, before, after, peak, float64(after-before)/1024)}
	}
	return m
}
