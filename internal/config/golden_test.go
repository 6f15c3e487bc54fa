package config

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// TestGolden parses a file with malformed lines among good ones and
// compares every error, and every service that loaded, with
// testdata/errors.golden. Refresh with: go test ./internal/config -update
func TestGolden(t *testing.T) {
	snap, errs := Parse("testdata/mixed.conf", Options{LookupHost: testHosts})
	if snap == nil {
		t.Fatalf("nil snapshot: %v", errs)
	}
	var b strings.Builder
	b.WriteString("# errors\n")
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	b.WriteString("# services\n")
	for _, s := range snap.Services {
		b.WriteString(render(s) + "\n")
	}
	got := b.String()
	const golden = "testdata/errors.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update if intended):\n%s", golden, got)
	}
}

// The shipped example (make run) and the test configurations load without
// a single error.
func TestCleanConfigs(t *testing.T) {
	for _, path := range []string{"../../examples/inetd.conf", "testdata/basic.conf"} {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		snap, errs := Parse(path, Options{LookupHost: testHosts})
		if len(errs) != 0 || snap == nil || len(snap.Services) == 0 {
			t.Errorf("%s: snapshot %v, errors %v", path, snap != nil, errs)
		}
	}
}
