package audittest

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/internal/testenv"
)

// FuzzParseRFC5424: the strict reader never panics, and what it accepts
// it reads the same way twice (no hidden state). Seeds:
// testdata/fuzz/FuzzParseRFC5424.
func FuzzParseRFC5424(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string) {
		m1, err1 := ParseRFC5424(s)
		m2, err2 := ParseRFC5424(s)
		if (err1 == nil) != (err2 == nil) || (err1 == nil && (m1.Msg != m2.Msg || len(m1.SD) != len(m2.SD))) {
			t.Fatalf("two reads differ: %v / %v", err1, err2)
		}
	})
}

// TestNotShipped: the test helpers, ParseRFC5424 among them, are in no
// binary hinetd ships (issue 10: the reader lived in package audit).
func TestNotShipped(t *testing.T) {
	gotool := testenv.NeedTool(t, "go", "golang-go")
	out, err := exec.Command(gotool, "list", "-deps", "github.com/hinetd/hinetd/cmd/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Fields(string(out)) {
		if p == "github.com/hinetd/hinetd/internal/audit/audittest" {
			t.Errorf("a command depends on %s", p)
		}
	}
}
