package policy

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	seccomp "github.com/seccomp/libseccomp-golang"
)

// BenchmarkCompileDefault: compiling the default filter from nothing (a
// fresh Set each time, so the per-Set cache does not help). Reports the
// program's size in BPF instructions.
func BenchmarkCompileDefault(b *testing.B) {
	svc := Service{Name: "bench", User: "root", Program: "/bin/true"}
	var insns int
	for b.Loop() {
		var s Set
		sp, _, err := s.Compile(svc)
		if err != nil {
			b.Fatal(err)
		}
		insns = len(sp.Seccomp) / 8
	}
	b.ReportMetric(float64(insns), "bpf-insns")
}

// BenchmarkCompileCached: a second service with the same rules, as at a
// reload with many services on the default policy.
func BenchmarkCompileCached(b *testing.B) {
	var s Set
	svc := Service{Name: "bench", User: "root", Program: "/bin/true"}
	if _, _, err := s.Compile(svc); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := s.Compile(svc); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadDefault: what installing the default filter costs in the
// kernel (seccomp(SECCOMP_SET_MODE_FILTER), measured inside a helper
// process around the call), reported as load-µs. ns/op is the whole
// helper's fork+exec and means nothing here. The spawner pays load-µs
// once per service; a design that loaded it per child would pay it per
// connection.
func BenchmarkLoadDefault(b *testing.B) {
	sp := compileDefault(b)
	us := loadMicros(b, sp.Seccomp)
	b.ReportMetric(float64(len(sp.Seccomp)/8), "bpf-insns")
	b.ReportMetric(us, "load-µs")
}

// BenchmarkLoadLinear: the same allow-list in libseccomp's default linear
// layout, for comparison with the binary tree buildFilter asks for.
func BenchmarkLoadLinear(b *testing.B) {
	names := map[string]bool{}
	for _, g := range append(defaultGroups, SpawnerGroup) {
		expand(g, names)
	}
	f, err := seccomp.NewFilter(seccomp.ActKillProcess)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Release()
	for _, n := range sortedKeys(names) {
		nr, err := seccomp.GetSyscallFromName(n)
		if err != nil || nr < 0 {
			continue
		}
		if err := f.AddRule(nr, seccomp.ActAllow); err != nil {
			b.Fatal(err)
		}
	}
	prog, err := exportBPF(f)
	if err != nil {
		b.Fatal(err)
	}
	us := loadMicros(b, prog)
	b.ReportMetric(float64(len(prog)/8), "bpf-insns")
	b.ReportMetric(us, "load-µs")
}

// loadMicros runs one helper per iteration and averages the load time it
// reports.
func loadMicros(b *testing.B, prog []byte) float64 {
	path := filepath.Join(b.TempDir(), "prog.bpf")
	if err := os.WriteFile(path, prog, 0o600); err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	var n int
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "HINETD_POLICY_HELPER=getpid", "HINETD_POLICY_BPF="+path)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if out, err := cmd.Output(); err != nil {
			b.Fatalf("helper: %v: %s %s", err, out, stderr.String())
		}
		var ns int64
		if _, err := fmt.Sscanf(stderr.String(), "load_ns=%d", &ns); err != nil {
			b.Fatalf("helper stderr %q", stderr.String())
		}
		total += time.Duration(ns)
		n++
	}
	return float64(total.Microseconds()) / float64(max(n, 1))
}
