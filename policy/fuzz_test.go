package policy

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// TestGoldenErrors: the error list of testdata/bad.policy, one line each,
// in file order. Refresh with go test ./policy -run Golden -update.
func TestGoldenErrors(t *testing.T) {
	data, err := os.ReadFile("testdata/bad.policy")
	if err != nil {
		t.Fatal(err)
	}
	_, perr := Parse("bad.policy", data)
	if perr == nil {
		t.Fatal("bad.policy parsed")
	}
	got := perr.Error() + "\n"
	if *update {
		if err := os.WriteFile("testdata/bad.golden", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile("testdata/bad.golden")
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("errors differ from testdata/bad.golden:\n%s", got)
	}
}

var errLine = regexp.MustCompile(`^f:(\d+): `)

// FuzzParse: no panic; every error names a line of the input; a policy
// that parses compiles (or fails with a service error, never a panic),
// and what compiles validates.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.policy")
	seeds = append(seeds, "../examples/policy/hinetd.policy")
	for _, p := range seeds {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(string(data))
		}
	}
	f.Add("[default]\nrlimit nofile 1K 2K\n")
	f.Add("[service a b c]\nenv A=b=c\n")
	f.Add("[default]\ncps 2.5 10\nsource-rate 1 3\nlisten-backlog 7\n[service a]\nmax-child 0\n")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse("f", []byte(in))
		lines := strings.Count(in, "\n") + 1
		if err != nil {
			for _, l := range strings.Split(err.Error(), "\n") {
				m := errLine.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("error %q lacks file:line", l)
				}
				if n, _ := strconv.Atoi(m[1]); n < 1 || n > lines {
					t.Fatalf("error %q: line out of 1..%d", l, lines)
				}
			}
			return
		}
		names := append(s.ServiceNames(), "other")
		for _, name := range names[:min(len(names), 3)] {
			if err := checkLimits(s.Limits(name)); err != nil {
				t.Fatalf("limits of %s: %v", name, err)
			}
			sp, _, err := s.CompileWith(Service{Name: name, User: "root", Program: "/bin/true"}, testOpts)
			if err != nil {
				if !strings.Contains(err.Error(), "service "+name+": ") {
					t.Fatalf("compile error %q does not name the service", err)
				}
				continue
			}
			if err := sp.Validate(); err != nil {
				t.Fatalf("compiled spec does not validate: %v", err)
			}
		}
	})
}

// TestExample: the annotated example loads and every service in it
// compiles.
func TestExample(t *testing.T) {
	s, err := Load("../examples/policy/hinetd.policy")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range append(s.ServiceNames(), "other") {
		if _, _, err := s.CompileWith(Service{Name: name, User: "nobody", Program: "/bin/true"}, testOpts); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestDocsGroups: docs/policy.md lists every group as the code has it.
// With -update the table is rewritten.
func TestDocsGroups(t *testing.T) {
	const path = "../docs/policy.md"
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, g := range Groups() {
		denied := ""
		if g.Denied {
			denied = "denied"
		}
		rows = append(rows, "| `"+g.Name+"` | "+denied+" | "+g.Description+" | "+strings.Join(g.Syscalls, " ")+" |")
	}
	doc := string(data)
	if *update {
		var out []string
		for _, l := range strings.Split(doc, "\n") {
			if strings.HasPrefix(l, "| `@") {
				if rows != nil {
					out = append(out, rows...)
					rows = nil
				}
				continue
			}
			out = append(out, l)
		}
		doc = strings.Join(out, "\n")
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for _, row := range rows {
		if !strings.Contains(doc, row+"\n") {
			t.Errorf("%s lacks or has a stale row (go test ./policy -run Docs -update); want\n%s", path, row)
		}
	}
}

// checkLimits - what the parser promises about parsed limits: in range,
// and a set field always has the position it was written at.
func checkLimits(l Limits) error {
	for _, f := range []Field[int]{l.MaxChild, l.MaxChildPerIP, l.ConnPerIPPerMinute, l.InvocationsPerMinute, l.ListenBacklog} {
		if f.Set && (f.Value < 0 || f.Value > maxCount || f.Pos.Line == 0) {
			return fmt.Errorf("count %+v", f)
		}
	}
	if b := l.ListenBacklog; b.Set && (b.Value < minBacklog || b.Value > maxBacklog) {
		return fmt.Errorf("backlog %+v", b)
	}
	if c := l.CPS; c.Set && (!(c.Value.Rate >= 0 && c.Value.Rate <= maxRate) || c.Value.Wait < 0 ||
		c.Value.Wait > maxCPSWait || c.Value.Wait%time.Second != 0 || (c.Value.Rate == 0 && c.Value.Wait != 0)) {
		return fmt.Errorf("cps %+v", c)
	}
	if r := l.SourceRate; r.Set && (!(r.Value.Rate >= 0 && r.Value.Rate <= maxRate) || r.Value.Burst < 0 ||
		r.Value.Burst > maxBurst || (r.Value.Rate == 0 && r.Value.Burst != 0)) {
		return fmt.Errorf("source-rate %+v", r)
	}
	return nil
}
