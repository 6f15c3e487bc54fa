package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hinetd/hinetd/policy"

	"github.com/hinetd/hinetd/internal/testenv"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// A ratio pairs measurements of the same round only: a round the baseline
// lacks gives no ratio rather than one against another round's figure.
func TestRoundRatios(t *testing.T) {
	s := func(round int, cps float64) sample { return sample{round: round, r: loadResult{ConnPerSec: cps}} }
	a := []sample{s(0, 90), s(1, 50), s(2, 80)}
	b := []sample{s(0, 100), s(2, 100)}
	got := roundRatios(a, b)
	if len(got) != 2 || got[0] != 0.9 || got[1] != 0.8 {
		t.Errorf("roundRatios = %v, want [0.9 0.8]", got)
	}
}

// New sections go before older ones, after the preamble; nothing is lost.
func TestWriteResultsKeepsOlderSections(t *testing.T) {
	path := filepath.Join(t.TempDir(), "RESULTS.md")
	e := &env{rounds: 5}
	t1 := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	if err := writeResults(path, "make bench", e, t1, []string{"first table"}); err != nil {
		t.Fatal(err)
	}
	if err := writeResults(path, "make bench", e, t2, []string{"second table"}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i1 := strings.Index(text, "## 2026-01-02 03:04 UTC")
	i2 := strings.Index(text, "## 2026-01-02 04:04 UTC")
	if !strings.HasPrefix(text, "# Benchmark results") || i1 < 0 || i2 < 0 || i2 > i1 {
		t.Fatalf("want preamble, then the newer section, then the older:\n%s", text)
	}
	if !strings.Contains(text, "first table") || !strings.Contains(text, "second table") || !strings.Contains(text, "Command: `make bench`") {
		t.Errorf("a section lost its content:\n%s", text)
	}
	// A hand-written summary above the runs stays above the next one.
	text = strings.Replace(text, "## 2026-01-02 04:04 UTC", "## Where the targets stand\n\nsummary\n\n## 2026-01-02 04:04 UTC", 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeResults(path, "make bench", e, t2.Add(time.Hour), []string{"third table"}); err != nil {
		t.Fatal(err)
	}
	b, _ = os.ReadFile(path)
	text = string(b)
	is, i3, i2 := strings.Index(text, "## Where the targets stand"), strings.Index(text, "## 2026-01-02 05:04 UTC"), strings.Index(text, "## 2026-01-02 04:04 UTC")
	if is < 0 || i3 < is || i2 < i3 {
		t.Fatalf("want the summary, then the newest run, then the older:\n%s", text)
	}
}

// No generated rule may match the benchmark's client, 127.0.0.1: the
// benchmark measures rules that must all be scanned, not a deny.
func TestHostsDenyRulesNeverMatchLoopback(t *testing.T) {
	text := hostsDenyRules(100000)
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != 100001 { // a comment, then the rules
		t.Fatalf("got %d lines, want 100001", len(lines))
	}
	seen := map[string]bool{}
	for _, l := range lines[1:] {
		pat, ok := strings.CutPrefix(l, "ALL: ")
		if !ok || strings.HasPrefix(pat, "127.") {
			t.Fatalf("bad rule %q", l)
		}
		if seen[pat] {
			t.Fatalf("duplicate rule %q", l)
		}
		seen[pat] = true
	}
}

func TestScaled(t *testing.T) {
	if got := scaled(5000, 0); got != 5000 {
		t.Errorf("scaled(5000, 0) = %d", got)
	}
	if got := scaled(5000, 4); got != 20000 {
		t.Errorf("scaled(5000, 4) = %d", got)
	}
	if got := scaled(500, 0.01); got != 20 { // never fewer than 20
		t.Errorf("scaled(500, 0.01) = %d", got)
	}
}

// The policies the benchmark writes must load with hinetd's own parser and
// say what the table claims (seccomp and no_new_privs off for "unconfined").
func TestBenchPoliciesLoad(t *testing.T) {
	dir := t.TempDir()
	text := unconfinedPolicy
	if err := os.WriteFile(filepath.Join(dir, "bench.policy"), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := policy.Load(dir)
	if err != nil {
		t.Fatalf("bench policy does not load: %v", err)
	}
	if !set.Default.SeccompOff.Value || !set.Default.AllowNewPrivs.Value {
		t.Errorf("unconfined policy: SeccompOff %v AllowNewPrivs %v, want both true", set.Default.SeccompOff.Value, set.Default.AllowNewPrivs.Value)
	}
}

func TestParseStat(t *testing.T) {
	// comm with a space and a parenthesis, as hinetd's spawner could name itself
	line := "4242 (hinetd-spawner: a) b) S 1 4200 4200 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 100 1000 10 0 0 0\n"
	ppid, ticks, ok := parseStat(line)
	if !ok || ppid != 1 || ticks != 10 {
		t.Errorf("parseStat = %d, %d, %v; want 1, 10, true", ppid, ticks, ok)
	}
	if got := commOf(line); got != "hinetd-spawner: a) b" {
		t.Errorf("commOf = %q", got)
	}
	// pid 2 is gone, pid 3 is new (a service in flight): neither counts.
	// pid 5, an aux process (rsyslogd), is split out but not in the total.
	before := map[int]procTicks{1: {label: "main", ticks: 5}, 2: {label: "gone", ticks: 7}, 4: {label: "exe", ticks: 1}, 5: {label: "aux rsyslogd", ticks: 1}}
	after := map[int]procTicks{1: {label: "main", ticks: 8}, 3: {label: "hello", ticks: 2}, 4: {label: "exe", ticks: 3}, 5: {label: "aux rsyslogd", ticks: 5}}
	total, by := cpuDelta(before, after)
	if total != 50000 || by["main"] != 30000 || by["exe"] != 20000 || by["aux rsyslogd"] != 40000 || len(by) != 3 {
		t.Errorf("cpuDelta = %v µs, %v; want 50000, main 30000, exe 20000, aux rsyslogd 40000", total, by)
	}
}

// treeTicks finds a child of the process it is given, and labels the root.
func TestTreeTicks(t *testing.T) {
	cmd := exec.Command("sleep", "5")
	if err := cmd.Start(); err != nil {
		testenv.Skip(t, "no sleep(1): %v", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	got := treeTicks(os.Getpid())
	if got[os.Getpid()].label != "main" {
		t.Errorf("root labelled %q, want main", got[os.Getpid()].label)
	}
	if got[cmd.Process.Pid].label != "helper sleep" {
		t.Errorf("child %d labelled %q, want helper sleep (tree %v)", cmd.Process.Pid, got[cmd.Process.Pid].label, got)
	}
}
