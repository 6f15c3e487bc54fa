package testenv

import (
	"bufio"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// root is the repository, two levels up from this package.
var root, _ = filepath.Abs("../..")

// helperEnv makes the test binary run TestHelperSkip's body.
const helperEnv = "HINETD_TESTENV_HELPER"

// TestHelperSkip is the test that TestSkipUnderCI runs in a child: it
// lacks what it needs.
func TestHelperSkip(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	NeedTool(t, "hinetd-no-such-tool", "none")
	t.Log("reached the end")
}

// TestSkipUnderCI: the same missing tool skips the test by hand and
// fails it under CI.
func TestSkipUnderCI(t *testing.T) {
	for _, tt := range []struct {
		ci       string
		wantFail bool
		want     string
	}{
		{"", false, "--- SKIP: TestHelperSkip"},
		{"0", false, "--- SKIP: TestHelperSkip"},
		{"1", true, "--- FAIL: TestHelperSkip"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperSkip$", "-test.v")
		cmd.Env = append(os.Environ(), helperEnv+"=1", CIEnv+"="+tt.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != tt.wantFail || !strings.Contains(string(out), tt.want) ||
			!strings.Contains(string(out), "hinetd-no-such-tool not installed") || strings.Contains(string(out), "reached the end") {
			t.Errorf("%s=%q: err %v, output lacks %q or runs on:\n%s", CIEnv, tt.ci, err, tt.want, out)
		}
	}
}

// TestNoBareSkips: every skip in the repository goes through this package,
// so that CI fails where a hand run would skip.
func TestNoBareSkips(t *testing.T) {
	bare := regexp.MustCompile(`(^|[^v])\.(Skip|Skipf|SkipNow)\(`) // any receiver but testenv
	self, _ := filepath.Abs("testenv.go")
	var found []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || p == self {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			if bare.MatchString(sc.Text()) {
				rel, _ := filepath.Rel(root, p)
				found = append(found, rel+":"+strings.TrimSpace(sc.Text()))
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(found) > 0 {
		t.Errorf("skips that do not go through testenv.Skip (they would pass CI without running):\n%s", strings.Join(found, "\n"))
	}
}

// TestMakeTestInstallsFirst: make test installs the test packages and
// makes the root-only set-up before the first vet or test runs, and
// .ci/run turns skips into failures.
func TestMakeTestInstallsFirst(t *testing.T) {
	out := makeDryRun(t, "test")
	firstTest, depsTest, debTools, setup := -1, -1, -1, -1
	for i, line := range strings.Split(string(out), "\n") {
		switch {
		case strings.Contains(line, "libwrap0-dev") && strings.Contains(line, "rsyslog"):
			depsTest = i
		case strings.Contains(line, "lintian") && strings.Contains(line, "dpkg -s"):
			debTools = i // test/package_test.go
		case strings.Contains(line, "useradd"):
			setup = i
		case firstTest < 0 && (strings.Contains(line, " vet ") || strings.Contains(line, " test ")):
			firstTest = i
		}
	}
	if min(depsTest, debTools, setup, firstTest) < 0 || max(depsTest, debTools, setup) > firstTest {
		t.Errorf("make test: deps-test at line %d, packaging tools at %d, set-up at %d, first vet or test at %d; want all before it:\n%s",
			depsTest, debTools, setup, firstTest, out)
	}
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^export ` + CIEnv + `=1\n(.*\n)*exec make test\n`).Match(ci) {
		t.Errorf(".ci/run does not export %s=1 before make test:\n%s", CIEnv, ci)
	}
}

// TestUnitRunsEveryPackage: the unit target's package list leaves out only
// the integration tests (test/ and below), which make integration runs.
// Its filter once matched "/test" anywhere and dropped this package, so
// TestNoBareSkips and the tests above never ran under make test.
func TestUnitRunsEveryPackage(t *testing.T) {
	out := makeDryRun(t, "unit")
	var list string
	for _, line := range strings.Split(string(out), "\n") {
		if i := strings.Index(line, "$(go list"); strings.Contains(line, "go test") && i >= 0 {
			list = strings.TrimSuffix(line[i+2:], ")")
		}
	}
	if list == "" {
		t.Fatalf("make -n unit has no go test over a go list:\n%s", out)
	}
	sh := exec.Command("sh", "-c", list)
	sh.Dir = root
	pkgs, err := sh.Output()
	if err != nil {
		t.Fatalf("%s: %v", list, err)
	}
	got := "\n" + string(pkgs)
	for _, want := range []string{"/internal/testenv\n", "/internal/sandbox\n", "/policy\n", "/hosts\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("make unit does not test %s; its list (%s):%s", strings.TrimSpace(want), list, got)
		}
	}
	for _, not := range []string{"/hinetd/test\n", "/test/bench/"} {
		if strings.Contains(got, not) {
			t.Errorf("make unit runs the integration package %s", strings.TrimSpace(not))
		}
	}
}

// makeDryRun is what `make -n TARGET` would run in the repository. Run by
// make test itself: the outer make's flags and job server are not this
// one's.
func makeDryRun(t *testing.T, target string) []byte {
	t.Helper()
	mk := NeedTool(t, "make", "make")
	cmd := exec.Command(mk, "-n", "-C", root, target)
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k != "MAKEFLAGS" && k != "MFLAGS" && k != "MAKELEVEL" {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make -n %s: %v\n%s", target, err, out)
	}
	return out
}
