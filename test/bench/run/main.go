// Command run is the benchmark runner behind `make bench`: it starts every
// server under test on its own 127.0.0.1 port with its configuration in a
// temporary directory, waits until each answers, drives them with the load
// generator side by side and interleaved, stops them by PID, and prints one
// table per mode (median connections/s, p50, p99 and the ratio to a baseline
// measured in the same round). With -results it also adds a dated section to
// RESULTS.md.
//
// Interleaving: a mode runs R rounds; in each round, for each concurrency,
// each server is measured once, in an order rotated by one every round. A
// ratio is taken between two measurements of the same round and concurrency
// (seconds apart), and the table gives the median over rounds, so that a
// noisy neighbour on the shared machine moves all servers, not one.
//
// A mode is a list of servers plus what the load expects from them; add one
// by writing a func that returns a mode and listing it in allModes.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// server is one process under test. start writes its configuration into
// dir and returns the command that runs it in the foreground, or an error
// that says why it cannot run here (the mode then goes on without it).
type server struct {
	name   string
	expect string // what the load counts as success: "hello", "empty" or "any"
	// readyAny: the start-up probe may be served even though the server is
	// to refuse (a per-source limit filled only by after).
	readyAny bool
	spread   int     // client source addresses (load -spread)
	nMul     float64 // connections per measurement: this times the mode's n (0 = 1)
	start    func(e *env, dir string, port int) (*exec.Cmd, error)
	// aux starts helper processes (e.g. a local rsyslogd) before the server;
	// they run in their own process groups and stop after it.
	aux func(e *env, dir string) ([]*exec.Cmd, error)
	// after runs once the server answers, before any measurement (e.g. to
	// hold a connection open); the returned func undoes it before stop.
	after func(addr string) (func(), error)
	// targets: the minimum ratio to each named baseline the issues ask for.
	targets map[string]float64
}

// mode is one table: servers measured side by side.
type mode struct {
	name      string
	title     string
	servers   []server
	conc      []int
	n         int      // connections per measurement (full run)
	rounds    int      // rounds in a full run (0: the runner's default, 5)
	baselines []string // server names the ratio columns divide by
	notes     []string // printed under the table
	// extra runs after the rounds (a mode with no conc has only this), with
	// the servers still up, and returns more lines for the report (e.g. an
	// RSS reading under a flood).
	extra func(e *env, live map[string]*proc) []string
}

// env is what every server and mode needs to know about this run.
type env struct {
	out     string // directory with hello, forkexec, acceptclose, hold, stalled, load
	hinetd  string // path of bin/hinetd ("" if absent)
	hflags  hinetdFlags
	obsd    string // unpacked OpenBSD inetd binary ("" if absent)
	quick   bool
	rounds  int
	nScale  float64
	verbose bool
}

// hinetdFlags is what the built hinetd says it supports (from its usage
// text), so the runner can follow the daemon as features land.
type hinetdFlags struct {
	rate, policy, hostsAllow, logTo, spoolDir bool
	usage                                     string
}

// running is every server and helper started and not yet stopped, so that
// SIGINT or SIGTERM to the runner stops them before it exits.
var (
	runningMu sync.Mutex
	running   = map[*proc]bool{}
)

func cleanupOnSignal() {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-ch
		fmt.Fprintf(os.Stderr, "bench: %v: stopping the servers\n", sig)
		runningMu.Lock()
		for p := range running {
			p.stop()
		}
		os.Exit(1)
	}()
}

type proc struct {
	srv    server
	cmd    *exec.Cmd
	aux    []*exec.Cmd
	addr   string
	dir    string
	undo   func()
	logf   *os.File
	waited chan struct{}
}

func main() {
	out := flag.String("out", "out", "directory holding the built bench programs")
	hinetd := flag.String("hinetd", "../../bin/hinetd", "hinetd binary")
	obsd := flag.String("obsd-inetd", "out/obsd/usr/sbin/inetd", "OpenBSD inetd binary unpacked from openbsd-inetd")
	modes := flag.String("modes", "", "comma-separated modes to run (default: all): "+strings.Join(modeNames(), ","))
	rounds := flag.Int("rounds", 0, "rounds per mode (default: 5 for spawn, 3 for the others; quick 1)")
	results := flag.String("results", "", "add a dated section to this markdown file")
	command := flag.String("command", "make bench", "the command to quote in the results")
	verbose := flag.Bool("v", false, "print every measurement")
	only := flag.String("servers", "", "comma-separated server names to keep in each mode (default: all)")
	flag.Parse()

	cleanupOnSignal()
	e := &env{out: *out, quick: os.Getenv("BENCH_QUICK") == "1", verbose: *verbose}
	e.rounds, e.nScale = 0, 1 // 0: each mode's own count
	if e.quick {
		e.rounds, e.nScale = 1, 0.1
	}
	if *rounds > 0 {
		e.rounds = *rounds
	}
	for _, p := range []string{"hello", "forkexec", "acceptclose", "hold", "stalled", "load"} {
		if _, err := os.Stat(filepath.Join(e.out, p)); err != nil {
			fatalf("missing %s: build with make -C test/bench", err)
		}
	}
	if abs, err := filepath.Abs(e.out); err == nil {
		e.out = abs
	}
	if p, err := filepath.Abs(*hinetd); err == nil && isExec(p) {
		e.hinetd = p
		e.hflags = probeHinetd(p)
	}
	if p, err := filepath.Abs(*obsd); err == nil && isExec(p) {
		e.obsd = p
	}

	want := map[string]bool{}
	for _, m := range strings.Split(*modes, ",") {
		if m = strings.TrimSpace(m); m != "" {
			want[m] = true
		}
	}
	for m := range want {
		if !contains(modeNames(), m) {
			fatalf("unknown mode %q; modes: %s", m, strings.Join(modeNames(), ", "))
		}
	}

	var report []string
	started := time.Now().UTC()
	for _, mk := range allModes {
		m := mk(e)
		if len(want) > 0 && !want[m.name] {
			continue
		}
		if *only != "" {
			keep := strings.Split(*only, ",")
			var ss []server
			for _, s := range m.servers {
				if contains(keep, s.name) {
					ss = append(ss, s)
				}
			}
			m.servers = ss
		}
		lines := runMode(e, m)
		for _, l := range lines {
			fmt.Println(l)
		}
		report = append(report, lines...)
	}
	if *results != "" {
		if err := writeResults(*results, *command, e, started, report); err != nil {
			fatalf("%v", err)
		}
		fmt.Println("results added to", *results)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", a...)
	os.Exit(1)
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// probeHinetd reads the usage text hinetd prints for an unknown flag.
func probeHinetd(path string) hinetdFlags {
	out, _ := exec.Command(path, "--bench-probe-unknown-flag").CombinedOutput()
	u := string(out)
	return hinetdFlags{
		rate:       strings.Contains(u, "-R"),
		policy:     strings.Contains(u, "-policy"),
		hostsAllow: strings.Contains(u, "-hosts-allow"),
		logTo:      strings.Contains(u, "-log-to"),
		spoolDir:   strings.Contains(u, "-spool-dir"),
		usage:      u,
	}
}

// freePort - a port on 127.0.0.1 nobody listens on right now.
func freePort() (int, error) {
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// workDir makes a temp dir that the service user (nobody) can enter, with a
// copy of the hello program, so confined services can run it.
func workDir(e *env, name string) (string, error) {
	// Not under /tmp: an isolated service has a /tmp of its own.
	dir, err := os.MkdirTemp(e.out, "work-"+name+"-")
	if err != nil {
		return "", err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	for _, p := range []string{"hello", "hold"} {
		b, err := os.ReadFile(filepath.Join(e.out, p))
		if err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o755); err != nil {
			return "", err
		}
	}
	return dir, nil
}

func startServer(e *env, s server) (*proc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := workDir(e, strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, s.name))
	if err != nil {
		return nil, err
	}
	var aux []*exec.Cmd
	if s.aux != nil {
		if aux, err = s.aux(e, dir); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	cmd, err := s.start(e, dir, port)
	if err != nil {
		stopAux(aux)
		os.RemoveAll(dir)
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own process group: stop signals the group we started, by id, and
	// so reaches tcpserver's and tcpsvd's children too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		stopAux(aux)
		os.RemoveAll(dir)
		return nil, err
	}
	p := &proc{srv: s, cmd: cmd, aux: aux, addr: fmt.Sprintf("127.0.0.1:%d", port), dir: dir, logf: logf, waited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.waited) }()
	runningMu.Lock()
	running[p] = true
	runningMu.Unlock()
	if err := waitReady(p, 10*time.Second); err != nil {
		tail := logTail(p, 15)
		p.stop()
		return nil, fmt.Errorf("%v\n%s", err, tail)
	}
	if s.after != nil {
		undo, err := s.after(p.addr)
		if err != nil {
			tail := logTail(p, 15)
			p.stop()
			return nil, fmt.Errorf("%v\n%s", err, tail)
		}
		p.undo = undo
		// The hook should have made the server answer as the row needs.
		if got, err := probe(p.addr); err != nil || !answers(s, got, false) {
			tail := logTail(p, 15)
			p.stop()
			return nil, fmt.Errorf("%s answered %q (%v) after set-up, want what %q counts: is the limit enforced by this build?\n%s", s.name, got, err, s.expect, tail)
		}
	}
	return p, nil
}

// waitReady - the server has answered one connection the way its mode
// expects (or at least accepted and closed it: a refusing server's first
// connection may still be served).
func waitReady(p *proc, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for i := 0; i < 400 && time.Now().Before(deadline); i++ {
		select {
		case <-p.waited:
			return fmt.Errorf("%s exited during start-up: %v", p.srv.name, p.cmd.ProcessState)
		default:
		}
		got, err := probe(p.addr)
		if err == nil && answers(p.srv, got, true) {
			return nil
		}
		if err == nil && (got == "hello\n" || got == "") {
			// It answers, but not as this row needs: measuring it would
			// measure something else (e.g. an ACL this build ignores).
			return fmt.Errorf("%s answered %q, which is not what this row measures (expect %s)", p.srv.name, got, p.srv.expect)
		}
		last = fmt.Errorf("got %q, err %v", got, err)
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("%s on %s did not answer within %v: %v", p.srv.name, p.addr, limit, last)
}

// probe - one connection: what it got before EOF, or "hello\n" as soon as
// that much has arrived (a holding service sends it and waits for us).
// answers - got is what server s should give (at start-up, if ready).
func answers(s server, got string, ready bool) bool {
	switch {
	case s.expect == "any" || (ready && s.readyAny):
		return got == "hello\n" || got == ""
	case s.expect == "empty":
		return got == ""
	}
	return got == "hello\n"
}

func probe(addr string) (string, error) {
	c, err := net.DialTimeout("tcp4", addr, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	var buf [64]byte
	got := 0
	for got < len(buf) {
		n, err := c.Read(buf[got:])
		got += n
		if string(buf[:got]) == "hello\n" {
			return "hello\n", nil
		}
		if errors.Is(err, io.EOF) || (got == 0 && errors.Is(err, syscall.ECONNRESET)) {
			return string(buf[:got]), nil
		}
		if err != nil {
			return string(buf[:got]), err
		}
	}
	return string(buf[:got]), nil
}

func logTail(p *proc, n int) string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "server.log"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "  | " + strings.Join(lines, "\n  | ")
}

// stop - SIGTERM to the process group we started, SIGKILL after 3 s.
func (p *proc) stop() {
	if runningMu.TryLock() { // held when called from the signal handler
		delete(running, p)
		runningMu.Unlock()
	}
	if p.undo != nil {
		p.undo()
	}
	pid := p.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.waited:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.waited
	}
	p.logf.Close()
	stopAux(p.aux)
	os.RemoveAll(p.dir)
}

// stopAux - SIGTERM to each helper we started, SIGKILL after 3 s; the
// helpers were started with Setpgid, so their group is theirs alone.
func stopAux(cmds []*exec.Cmd) {
	for _, c := range cmds {
		if c.Process == nil {
			continue
		}
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-done
		}
	}
}

func scaled(n int, f float64) int {
	if f <= 0 {
		return n
	}
	return max(int(float64(n)*f), 20)
}

// loadResult mirrors load.Result.
type loadResult struct {
	N          int     `json:"n"`
	C          int     `json:"c"`
	ConnPerSec float64 `json:"conn_per_s"`
	P50us      float64 `json:"p50_us"`
	P99us      float64 `json:"p99_us"`
	OK         int     `json:"ok"`
	Errors     int     `json:"errors"`
	Hello      int     `json:"hello"`
	Empty      int     `json:"empty"`
	FirstError string  `json:"first_error"`

	ServerCPUus float64            `json:"-"` // server's own CPU per connection (cpu.go)
	CPUByComm   map[string]float64 `json:"-"` // the same, by process name
}

func runLoad(e *env, addr string, n, c int, expect string, spread int) (loadResult, error) {
	args := []string{"-json", "-addr", addr, "-n", strconv.Itoa(n), "-c", strconv.Itoa(c), "-expect", expect}
	if spread > 0 {
		args = append(args, "-spread", strconv.Itoa(spread))
	}
	// Bounded: a server that neither answers nor closes costs at most the
	// load's per-connection timeout per connection, but never the whole run.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(e.out, "load"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var r loadResult
	if jerr := json.Unmarshal(out, &r); jerr != nil {
		return r, fmt.Errorf("load: %v: %v %s", err, jerr, stderr.String())
	}
	return r, nil // a non-zero exit only means errors > 0, which r carries
}

// sample is one measurement.
type sample struct {
	round int
	r     loadResult
}

func runMode(e *env, m mode) []string {
	rounds := e.rounds
	if rounds == 0 {
		rounds = m.rounds
	}
	if rounds == 0 {
		rounds = 5
	}
	head := fmt.Sprintf("### %s\n\n%s\n", m.name, m.title)
	if len(m.conc) > 0 {
		head = fmt.Sprintf("### %s\n\n%s (%d rounds)\n", m.name, m.title, rounds)
	}
	n := int(float64(m.n) * e.nScale)
	if n < 100 {
		n = 100
	}
	if len(m.conc) > 0 {
		fmt.Fprintf(os.Stderr, "== mode %s: %d servers, concurrency %v, %d connections, %d rounds\n", m.name, len(m.servers), m.conc, n, rounds)
	} else {
		fmt.Fprintf(os.Stderr, "== mode %s: %d servers, one run\n", m.name, len(m.servers))
	}

	var live []*proc
	byName := map[string]*proc{}
	var skipped []string
	for _, s := range m.servers {
		p, err := startServer(e, s)
		if err != nil {
			skipped = append(skipped, fmt.Sprintf("- %s: not measured: %v", s.name, err))
			fmt.Fprintf(os.Stderr, "   skip %s: %v\n", s.name, err)
			continue
		}
		live = append(live, p)
		byName[s.name] = p
	}
	defer func() {
		for _, p := range live {
			p.stop()
		}
	}()
	if len(live) == 0 {
		return append([]string{head}, skipped...)
	}
	// Warm up: page cache, the first fork of each server, its allocator.
	for _, p := range live {
		if len(m.conc) > 0 {
			_, _ = runLoad(e, p.addr, scaled(200, p.srv.nMul), 4, p.srv.expect, p.srv.spread)
		}
	}

	samples := map[string]map[int][]sample{} // server -> conc -> samples
	for _, p := range live {
		samples[p.srv.name] = map[int][]sample{}
	}
	for r := 0; r < rounds && len(m.conc) > 0; r++ {
		for _, c := range m.conc {
			for i := range live {
				p := live[(i+r)%len(live)]
				t0 := p.ticks()
				res, err := runLoad(e, p.addr, scaled(n, p.srv.nMul), c, p.srv.expect, p.srv.spread)
				if err == nil && res.N > 0 {
					total, by := cpuDelta(t0, p.ticks())
					res.ServerCPUus = total / float64(res.N)
					res.CPUByComm = map[string]float64{}
					for k, v := range by {
						res.CPUByComm[k] = v / float64(res.N)
					}
				}
				if err != nil {
					fmt.Fprintf(os.Stderr, "   %s c=%d: %v\n", p.srv.name, c, err)
					continue
				}
				if e.verbose {
					fmt.Fprintf(os.Stderr, "   round %d %-28s c=%-3d %8.0f conn/s p50 %6.0fµs p99 %6.0fµs cpu %4.0fµs/conn errors %d %s\n",
						r+1, p.srv.name, c, res.ConnPerSec, res.P50us, res.P99us, res.ServerCPUus, res.Errors, res.FirstError)
				}
				samples[p.srv.name][c] = append(samples[p.srv.name][c], sample{round: r, r: res})
			}
		}
		fmt.Fprintf(os.Stderr, "   round %d/%d done\n", r+1, rounds)
	}

	lines := []string{head}
	if len(m.conc) > 0 {
		lines = append(lines, tableFor(m, live, samples))
		if split := cpuSplit(m, samples); split != "" {
			lines = append(lines, split)
		}
		if errs := firstErrors(m, samples); errs != "" {
			lines = append(lines, errs)
		}
	}
	var misses []string
	for _, p := range live {
		for _, b := range m.baselines {
			t, ok := p.srv.targets[b]
			if !ok || byName[b] == nil {
				continue
			}
			for _, c := range m.conc {
				rs := roundRatios(samples[p.srv.name][c], samples[b][c])
				if med := median(rs); len(rs) > 0 && med < t {
					misses = append(misses, fmt.Sprintf("- %s at concurrency %d: %.3f× %s, target %.2f×", p.srv.name, c, med, b, t))
				}
			}
		}
	}
	if m.extra != nil {
		lines = append(lines, m.extra(e, byName)...)
	}
	if len(misses) > 0 {
		lines = append(lines, "Below target:\n\n"+strings.Join(misses, "\n")+"\n")
	} else if hasTargets(m, byName) {
		lines = append(lines, "Every target in this table met.\n")
	}
	if len(skipped) > 0 {
		lines = append(lines, strings.Join(skipped, "\n")+"\n")
	}
	if len(m.notes) > 0 {
		lines = append(lines, strings.Join(m.notes, "\n")+"\n")
	}
	return lines
}

func hasTargets(m mode, live map[string]*proc) bool {
	for _, p := range live {
		for b := range p.srv.targets {
			if live[b] != nil {
				return true
			}
		}
	}
	return false
}

// cpuSplit - for servers made of several long-lived processes (hinetd and
// its spawners), the median server CPU per connection of each ("main" is
// the process the runner started), so that a missed target shows where the
// parent's time goes.
func cpuSplit(m mode, samples map[string]map[int][]sample) string {
	var out []string
	for _, s := range m.servers {
		for _, c := range m.conc {
			ss := samples[s.name][c]
			names := map[string]bool{}
			for _, x := range ss {
				for k := range x.r.CPUByComm {
					names[k] = true
				}
			}
			if len(names) < 2 {
				continue
			}
			var parts []string
			for _, k := range sortedKeys(names) {
				parts = append(parts, fmt.Sprintf("%s %.0f", k, median(field(ss, func(r loadResult) float64 { return r.CPUByComm[k] }))))
			}
			out = append(out, fmt.Sprintf("- %s, concurrency %d: %s µs/conn", s.name, c, strings.Join(parts, ", ")))
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "Server CPU per connection by process (median):\n\n" + strings.Join(out, "\n") + "\n"
}

// firstErrors - for each row with errors, how many and the first one seen,
// so a reader can tell a server's failure from the machine's.
func firstErrors(m mode, samples map[string]map[int][]sample) string {
	var out []string
	for _, c := range m.conc {
		for _, s := range m.servers {
			n, first := 0, ""
			for _, x := range samples[s.name][c] {
				n += x.r.Errors
				if first == "" {
					first = x.r.FirstError
				}
			}
			if n > 0 {
				out = append(out, fmt.Sprintf("- %s, concurrency %d: %d errors; first: %s", s.name, c, n, first))
			}
		}
	}
	if len(out) == 0 {
		return ""
	}
	return "Errors:\n\n" + strings.Join(out, "\n") + "\n"
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// roundRatios - per round, a's conn/s over b's, for the rounds both have.
func roundRatios(a, b []sample) []float64 {
	var out []float64
	for _, x := range a {
		for _, y := range b {
			if x.round == y.round && y.r.ConnPerSec > 0 {
				out = append(out, x.r.ConnPerSec/y.r.ConnPerSec)
			}
		}
	}
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func field(ss []sample, f func(loadResult) float64) []float64 {
	out := make([]float64, len(ss))
	for i, s := range ss {
		out[i] = f(s.r)
	}
	return out
}

// tableFor - the markdown table: one row per server and concurrency.
func tableFor(m mode, live []*proc, samples map[string]map[int][]sample) string {
	var b strings.Builder
	b.WriteString("| server | conc | conn/s (median) | p50 µs | p99 µs | server CPU µs/conn |")
	sep := "| --- | ---: | ---: | ---: | ---: | ---: |"
	for _, base := range m.baselines {
		fmt.Fprintf(&b, " × %s (min–max) |", base)
		sep += " ---: |"
	}
	b.WriteString(" errors |\n" + sep + " ---: |\n")
	for _, c := range m.conc {
		for _, s := range m.servers {
			ss := samples[s.name][c]
			if len(ss) == 0 {
				continue
			}
			fmt.Fprintf(&b, "| %s | %d | %.0f | %.0f | %.0f | %.0f |", s.name, c,
				median(field(ss, func(r loadResult) float64 { return r.ConnPerSec })),
				median(field(ss, func(r loadResult) float64 { return r.P50us })),
				median(field(ss, func(r loadResult) float64 { return r.P99us })),
				median(field(ss, func(r loadResult) float64 { return r.ServerCPUus })))
			for _, base := range m.baselines {
				rs := roundRatios(ss, samples[base][c])
				if len(rs) == 0 {
					b.WriteString(" – |")
					continue
				}
				sort.Float64s(rs)
				mark := ""
				if t, ok := s.targets[base]; ok {
					mark = " ✓"
					if median(rs) < t {
						mark = " ✗"
					}
				}
				fmt.Fprintf(&b, " %.2f (%.2f–%.2f)%s |", median(rs), rs[0], rs[len(rs)-1], mark)
			}
			errs := 0
			for _, x := range ss {
				errs += x.r.Errors
			}
			fmt.Fprintf(&b, " %d |\n", errs)
		}
	}
	return b.String()
}

// writeResults inserts a dated section before the first dated one ("## "
// and a digit), so the newest run comes first, older ones stay, and what
// people wrote above them (a summary of where the targets stand) stays on
// top.
var firstDated = regexp.MustCompile(`\n## [0-9]`)

func writeResults(path, command string, e *env, started time.Time, report []string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	var sec strings.Builder
	fmt.Fprintf(&sec, "## %s\n\n", started.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&sec, "Command: `%s` (runner: `%s`); %s.\n\n", command, strings.Join(os.Args, " "), machine())
	if id := buildID(e); id != "" {
		fmt.Fprintf(&sec, "%s\n\n", id)
	}
	for _, l := range report {
		sec.WriteString(strings.ReplaceAll(l, "### ", "### "))
		sec.WriteString("\n")
	}
	text := string(old)
	if text == "" {
		text = "# Benchmark results\n\nNewest first. Each section is one `make bench` run; see `test/bench/README.md` for what is measured and how.\n\n"
	}
	i := -1
	if loc := firstDated.FindStringIndex(text); loc != nil {
		i = loc[0]
	}
	if i < 0 {
		text = strings.TrimRight(text, "\n") + "\n\n" + sec.String()
	} else {
		text = text[:i+1] + sec.String() + "\n" + text[i+1:]
	}
	return os.WriteFile(path, []byte(text), 0o644)
}

// buildID - which hinetd was measured: the commit the tree was at and
// whether it had uncommitted changes, and when bin/hinetd was built.
func buildID(e *env) string {
	if e.hinetd == "" {
		return "hinetd: not built."
	}
	out := "hinetd: " + e.hinetd
	if st, err := os.Stat(e.hinetd); err == nil {
		out += ", built " + st.ModTime().UTC().Format("2006-01-02 15:04 UTC")
	}
	dir := filepath.Dir(e.hinetd)
	if rev, err := exec.Command("git", "-C", dir, "rev-parse", "--short", "HEAD").Output(); err == nil {
		out += ", tree at " + strings.TrimSpace(string(rev))
		if st, err := exec.Command("git", "-C", dir, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
			out += " with uncommitted changes"
		}
	}
	return out + "."
}

// machine - a one-line description: cores, kernel, load when the run began.
func machine() string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%d CPUs", numCPU()))
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		parts = append(parts, "Linux "+strings.TrimSpace(string(b)))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		f := strings.Fields(string(b))
		if len(f) >= 3 {
			parts = append(parts, "load average "+strings.Join(f[:3], " ")+" at the end")
		}
	}
	return strings.Join(parts, ", ")
}

func numCPU() int {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "processor") {
			n++
		}
	}
	return n
}
