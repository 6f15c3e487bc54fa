package policy

import (
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestLimits(t *testing.T) {
	in := `[default]
max-child 40
cps 25 10
listen-backlog 128
max-conn-per-ip-per-minute 60

[service echo daytime]
source-rate 5 8
max-child 0

[service ftp]
max-child-per-ip 2
invocations-per-minute 100
cps 50
listen-backlog 16
source-rate 0.5
`
	s, err := Parse("p", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	at := func(line int) Pos { return Pos{"p", line} }
	def := Limits{
		MaxChild:           Field[int]{true, 40, at(2)},
		CPS:                Field[CPS]{true, CPS{Rate: 25, Wait: 10 * time.Second}, at(3)},
		ListenBacklog:      Field[int]{true, 128, at(4)},
		ConnPerIPPerMinute: Field[int]{true, 60, at(5)},
	}
	echo := def
	echo.SourceRate = Field[Rate]{true, Rate{Rate: 5, Burst: 8}, at(8)}
	echo.MaxChild = Field[int]{true, 0, at(9)} // 0 written: unlimited, overrides [default]
	ftp := def
	ftp.MaxChildPerIP = Field[int]{true, 2, at(12)}
	ftp.InvocationsPerMinute = Field[int]{true, 100, at(13)}
	ftp.CPS = Field[CPS]{true, CPS{Rate: 50}, at(14)}
	ftp.ListenBacklog = Field[int]{true, 16, at(15)}
	ftp.SourceRate = Field[Rate]{true, Rate{Rate: 0.5}, at(16)}

	for _, tt := range []struct {
		service string
		want    Limits
	}{
		{"echo", echo},    // a built-in: no Spec, still has limits
		{"daytime", echo}, // second name of the same section
		{"ftp", ftp},      // service over [default], field by field
		{"telnet", def},   // no section: [default]
		{"default", def},  // not a service name
	} {
		if got := s.Limits(tt.service); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Limits(%q)\n got %+v\nwant %+v", tt.service, got, tt.want)
		}
	}

	// No policy at all, or a [default] without limit keys: nothing set.
	var zero Set
	if got := zero.Limits("ftp"); got != (Limits{}) {
		t.Errorf("zero Set: %+v", got)
	}
	s2, err := Parse("q", []byte("[default]\nuser nobody\n[service ftp]\nnice 5\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s2.Limits("ftp"); got != (Limits{}) {
		t.Errorf("no limit keys: %+v", got)
	}
}

// TestLimitsNotInSpec: limit keys leave the compiled Spec, and its hash,
// as they were: changing a limit must not restart a service's spawner.
func TestLimitsNotInSpec(t *testing.T) {
	svc := Service{Name: "x", UID: 0, Program: "/bin/true"}
	a, _ := Parse("a", []byte("[default]\numask 022\n"))
	b, _ := Parse("b", []byte("[default]\numask 022\nmax-child 3\ncps 10 2\nlisten-backlog 5\n"))
	sa, _, err := a.CompileWith(svc, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	sb, _, err := b.CompileWith(svc, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if sa.Hash != sb.Hash {
		t.Errorf("limit keys changed the spec hash: %s vs %s", sa.Hash, sb.Hash)
	}
}

// TestDocsLimits: docs/policy.md has a row for every limit key, and its
// example of limits parses and sets what its comments say.
func TestDocsLimits(t *testing.T) {
	data, err := os.ReadFile("../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	for _, k := range limitKeys {
		if !strings.Contains(doc, "\n| `"+k+"` |") {
			t.Errorf("docs/policy.md: no row for %q in the Limits table", k)
		}
	}
	_, sec, ok := strings.Cut(doc, "\n## Limits\n")
	if !ok {
		t.Fatal("docs/policy.md: no Limits section")
	}
	_, block, ok := strings.Cut(sec, "\n```\n")
	block, _, ok2 := strings.Cut(block, "\n```\n")
	if !ok || !ok2 {
		t.Fatal("docs/policy.md: no example in the Limits section")
	}
	s, err := Parse("policy.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	ftp, echo := s.Limits("ftp"), s.Limits("echo")
	if ftp.CPS.Value != (CPS{Rate: 10, Wait: 30 * time.Second}) || ftp.MaxChildPerIP.Value != 2 ||
		ftp.ConnPerIPPerMinute.Value != 60 || echo.SourceRate.Value != (Rate{Rate: 5, Burst: 10}) {
		t.Errorf("docs example: ftp %+v, echo %+v", ftp, echo)
	}
}
