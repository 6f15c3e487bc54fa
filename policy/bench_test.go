package policy

import "testing"

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
