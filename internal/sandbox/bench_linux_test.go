//go:build linux

package sandbox

import (
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/policy"
)

var (
	helloOnce sync.Once
	helloErr  error
)

// helloProgs builds test/probe/hello.c and forkexec_loop.c next to the
// probe (same world-readable directory).
func helloProgs(t testing.TB) (hello, loop string) {
	t.Helper()
	dir := filepath.Dir(probe(t))
	helloOnce.Do(func() {
		for _, p := range []string{"hello", "forkexec_loop"} {
			out, err := exec.Command("gcc", "-static", "-O2", "-Wall", "-o",
				filepath.Join(dir, p), "../../test/probe/"+p+".c").CombinedOutput()
			if err != nil {
				helloErr = fmt.Errorf("building %s: %v\n%s", p, err, out)
				return
			}
		}
	})
	if helloErr != nil {
		t.Fatal(helloErr)
	}
	return filepath.Join(dir, "hello"), filepath.Join(dir, "forkexec_loop")
}

// defaultSpec compiles the project's default policy (no policy file) for
// nobody running path: user switch, no capabilities, no_new_privs, the
// default seccomp allow-list and rlimits.
func defaultSpec(t testing.TB, path string, args ...string) *policy.Spec {
	t.Helper()
	set, err := policy.Parse("none", nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, _, err := set.CompileWith(policy.Service{Name: "bench", User: "nobody", Program: path,
		Args: append([]string{filepath.Base(path)}, args...)}, compileOpts)
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

// TestDefaultPolicyInSpawner: the project's default filter lets the
// spawner run its loop, so it is installed once in the spawner and every
// child inherits it; the probe is confined by it.
func TestDefaultPolicyInSpawner(t *testing.T) {
	needRoot(t)
	spec := defaultSpec(t, probe(t))
	sp, rec := start(t, spec)
	if sp.ChildSeccomp() {
		t.Errorf("the default filter forbids a call the spawner needs (see hs_needed): installed per child")
	}
	out, evs := run(t, sp, rec, 1, "")
	r := parseReport(out)
	if ev := evs[len(evs)-1]; ev.Kind != Exited || ev.Status.ExitStatus() != 0 {
		t.Fatalf("event %+v\n%s", ev, out)
	}
	for key, want := range map[string]string{"Seccomp": "2", "NoNewPrivs": "1", "CapBnd": zeroCaps,
		"CapEff": zeroCaps, "Uid": "65534 65534 65534 65534"} {
		if got := r.status(key); got != want {
			t.Errorf("%s %q, want %q", key, got, want)
		}
	}
	// Each forbidden call in its own run: the default action kills.
	for i, call := range []string{"mount", "userns", "rawsock", "ptrace"} {
		spec := defaultSpec(t, probe(t), "quiet", call)
		sp, rec := start(t, spec)
		out, evs := run(t, sp, rec, uint64(10+i), "")
		r := parseReport(out)
		ev := evs[len(evs)-1]
		if got, ok := r.calls[call]; ok && got == 0 {
			t.Errorf("%s succeeded under the default policy", call)
		} else if !ok && ev.Signal != syscall.SIGSYS {
			t.Errorf("%s: no result and event %+v", call, ev)
		} else {
			t.Logf("%s: errno %d, signal %v, syscall %q", call, got, ev.Signal, ev.Syscall)
		}
	}
}

// killFirst prepends to a seccomp program "kill the process on system call
// nr" (before the program's own architecture check, which is fine for a
// benchmark on the native architecture): a program the spawner cannot run
// under, so that it is installed in each child.
func killFirst(prog []byte, nr uint32) []byte {
	ins := func(out []byte, code uint16, jt, jf uint8, k uint32) []byte {
		out = binary.NativeEndian.AppendUint16(out, code)
		out = append(out, jt, jf)
		return binary.NativeEndian.AppendUint32(out, k)
	}
	out := make([]byte, 0, 24+len(prog))
	out = ins(out, 0x20, 0, 0, 0)          // ld [0] (seccomp_data.nr)
	out = ins(out, 0x15, 0, 1, nr)         // jeq #nr, next, skip 1
	out = ins(out, 0x06, 0, 0, 0x80000000) // ret SECCOMP_RET_KILL_PROCESS
	return append(out, prog...)
}

// BenchmarkSpawn: one spawn of a static hello, end to end (the client's
// Spawn until it has read "hello\n" and EOF), through a spawner confined
// by the default policy, at concurrency 1, 8 and 64; against the cheapest C
// fork+exec loop (forkexec_loop.c), and against the spawner with the
// filter installed in each child. Run with -benchtime 2000x.
func BenchmarkSpawn(b *testing.B) {
	needRoot(b)
	hello, loop := helloProgs(b)
	for _, c := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("forkexec/c=%d", c), func(b *testing.B) {
			el, cpu := forkexecRun(b, loop, hello, c, b.N)
			ns := el.Nanoseconds()
			b.ReportMetric(float64(ns)/float64(b.N), "ns/spawn")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/spawn")
			b.ReportMetric(float64(b.N)/(float64(ns)/1e9), "spawns/s")
		})
		b.Run(fmt.Sprintf("spawner/c=%d", c), func(b *testing.B) {
			benchSpawner(b, defaultSpec(b, hello), c, false)
		})
		b.Run(fmt.Sprintf("spawner-nofilter/c=%d", c), func(b *testing.B) {
			spec := defaultSpec(b, hello)
			spec.Seccomp, spec.NoSeccomp = nil, true
			benchSpawner(b, spec, c, false)
		})
		b.Run(fmt.Sprintf("spawner-childseccomp/c=%d", c), func(b *testing.B) {
			spec := defaultSpec(b, hello)
			spec.Seccomp = killFirst(spec.Seccomp, unix.SYS_WAIT4)
			benchSpawner(b, spec, c, true)
		})
	}
}

func benchSpawner(b *testing.B, spec *policy.Spec, c int, wantChild bool) {
	b.ResetTimer()
	el, cpu := spawnerRun(b, spec, c, b.N, wantChild)
	b.StopTimer()
	b.ReportMetric(float64(el.Nanoseconds())/float64(b.N), "ns/spawn")
	b.ReportMetric(float64(b.N)/el.Seconds(), "spawns/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/spawn")
}

func rusageCPU(ru *syscall.Rusage) time.Duration {
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return rusageCPU(&ru)
}

// spawnerRun starts a spawner for spec and times n spawns of hello at
// concurrency c, until the last child's exit has been reported. It returns
// the wall time and the CPU time of the whole path: this process (client
// and Go side) plus the spawner and all its children.
func spawnerRun(b testing.TB, spec *policy.Spec, c, n int, wantChild bool) (time.Duration, time.Duration) {
	var exited atomic.Int64
	var bad atomic.Int64
	sp, err := Start(spec, func(ev Event) {
		switch ev.Kind {
		case Exited:
			if ev.Status != 0 {
				bad.Add(1)
			}
			exited.Add(1)
		case Failed, Lost:
			bad.Add(1)
			exited.Add(1)
		}
	})
	if err != nil {
		b.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			sp.Close()
			sp.Wait()
		}
	}()
	if sp.ChildSeccomp() != wantChild {
		b.Fatalf("ChildSeccomp %v, want %v", sp.ChildSeccomp(), wantChild)
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	cpu0 := selfCPU()
	t0 := time.Now()
	for w := 0; w < c; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64)
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
				if err != nil {
					bad.Add(1)
					return
				}
				if err := sp.Spawn(uint64(i), fds[1]); err != nil {
					bad.Add(1)
				}
				unix.Close(fds[1])
				got := 0
				for got < len(buf) {
					n, err := unix.Read(fds[0], buf[got:])
					if n <= 0 || err != nil {
						break
					}
					got += n
				}
				unix.Close(fds[0])
				if string(buf[:got]) != "hello\n" {
					bad.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	// Every child reaped and reported: the spawner's whole cost is in.
	for exited.Load() < int64(n) && time.Since(t0) < time.Minute {
		time.Sleep(100 * time.Microsecond)
	}
	el := time.Since(t0)
	closed = true
	sp.Close()
	sp.Wait()
	cpu := selfCPU() - cpu0
	if sp.state != nil {
		sc := rusageCPU(sp.state.SysUsage().(*syscall.Rusage))
		if os.Getenv("HINETD_SPAWN_SPLIT") != "" {
			b.Logf("c=%d parent %.1f us/spawn, spawner+children %.1f us/spawn", c,
				float64(cpu.Microseconds())/float64(n), float64(sc.Microseconds())/float64(n))
		}
		cpu += sc
	}
	if nb := bad.Load(); nb > 0 {
		b.Errorf("%d of %d spawns failed", nb, n)
	}
	return el, cpu
}

// forkexecRun times n spawns of hello by forkexec_loop at concurrency c:
// wall time, and the CPU time of the loop and all its children.
func forkexecRun(b testing.TB, loop, hello string, c, n int) (time.Duration, time.Duration) {
	cmd := exec.Command(loop, strconv.Itoa(n), strconv.Itoa(c), hello)
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s: %v", loop, err)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		b.Fatal(err)
	}
	return time.Duration(ns), rusageCPU(cmd.ProcessState.SysUsage().(*syscall.Rusage))
}

// BenchmarkSpawnRounds: the same comparison as BenchmarkSpawn, but
// interleaved (each round measures every variant once, in a rotated order)
// so that a noisy shared machine affects all variants alike; prints the
// median spawns/s over rounds and the median of the per-round ratios to
// the C loop. Run with -benchtime 1x; HINETD_SPAWN_N (2000) and
// HINETD_SPAWN_ROUNDS (5) set the size.
func BenchmarkSpawnRounds(b *testing.B) {
	needRoot(b)
	hello, loop := helloProgs(b)
	n, rounds := envInt("HINETD_SPAWN_N", 2000), envInt("HINETD_SPAWN_ROUNDS", 5)
	type variant struct {
		name string
		run  func(c int) (time.Duration, time.Duration)
	}
	child := defaultSpec(b, hello)
	child.Seccomp = killFirst(child.Seccomp, unix.SYS_WAIT4)
	nofilter := defaultSpec(b, hello)
	nofilter.Seccomp, nofilter.NoSeccomp = nil, true
	vs := []variant{
		{"C fork+exec loop", func(c int) (time.Duration, time.Duration) { return forkexecRun(b, loop, hello, c, n) }},
		{"spawner, default policy", func(c int) (time.Duration, time.Duration) { return spawnerRun(b, defaultSpec(b, hello), c, n, false) }},
		{"spawner, no filter", func(c int) (time.Duration, time.Duration) { return spawnerRun(b, nofilter, c, n, false) }},
		{"spawner, filter per child", func(c int) (time.Duration, time.Duration) { return spawnerRun(b, child, c, n, true) }},
	}
	for _, c := range []int{1, 8, 64} {
		rate := make([][]float64, len(vs))
		ratio := make([][]float64, len(vs))
		cpus := make([][]float64, len(vs))
		for r := 0; r < rounds; r++ {
			got := make([]float64, len(vs))
			for k := range vs {
				i := (k + r) % len(vs)
				el, cpu := vs[i].run(c)
				got[i] = float64(n) / el.Seconds()
				cpus[i] = append(cpus[i], float64(cpu.Microseconds())/float64(n))
			}
			for i := range vs {
				rate[i] = append(rate[i], got[i])
				ratio[i] = append(ratio[i], got[i]/got[0])
			}
		}
		for i, v := range vs {
			// Printed, not logged: a benchmark's log is cut at 10 lines.
			fmt.Printf("c=%-2d %-26s %6.0f spawns/s  ratio %.2f (min %.2f max %.2f)  CPU %5.1f us/spawn (min %5.1f)\n",
				c, v.name, median(rate[i]), median(ratio[i]), minf(ratio[i]), maxf(ratio[i]), median(cpus[i]), minf(cpus[i]))
		}
	}
}

func envInt(k string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(k)); err == nil && v > 0 {
		return v
	}
	return def
}

func median(x []float64) float64 {
	y := append([]float64(nil), x...)
	sort.Float64s(y)
	return y[len(y)/2]
}

func minf(x []float64) float64 {
	m := x[0]
	for _, v := range x {
		m = min(m, v)
	}
	return m
}

func maxf(x []float64) float64 {
	m := x[0]
	for _, v := range x {
		m = max(m, v)
	}
	return m
}

// BenchmarkStart: starting a spawner under the default policy (exec of
// this binary, the constructor, confinement, filter load) until it is
// ready, then closing it. What a reload or a one-shot spawner costs.
func BenchmarkStart(b *testing.B) {
	needRoot(b)
	hello, _ := helloProgs(b)
	spec := defaultSpec(b, hello)
	for i := 0; i < b.N; i++ {
		sp, err := Start(spec, nil)
		if err != nil {
			b.Fatal(err)
		}
		sp.Close()
		if err := sp.Wait(); err != nil {
			b.Fatal(err)
		}
	}
}
