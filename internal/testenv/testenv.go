// Package testenv is how a test says what it needs from the machine: root,
// a tool, a package's file. Run by hand without it, the test is skipped
// with a reason; under CI (.ci/run sets HINETD_CI=1, after make test has
// installed everything) the same test fails instead, so that a green CI run
// means every check ran. Every skip in the repository goes through Skip;
// TestNoBareSkips keeps it so. The model is Go's own internal/testenv
// (MustHaveExec, MustHaveExternalNetwork), which fails on builders that
// must have what the test needs.
package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// CIEnv is the variable .ci/run sets: when it is "1", a test that lacks
// what it needs fails rather than skips.
const CIEnv = "HINETD_CI"

// CI reports whether the tests run under CI.
func CI() bool { return os.Getenv(CIEnv) == "1" }

// Skip skips t for the reason given, or under CI fails it: the check did
// not run, and a CI run must not pass without it.
func Skip(t testing.TB, format string, args ...any) {
	t.Helper()
	why := fmt.Sprintf(format, args...)
	if CI() {
		t.Fatalf("%s (%s=1: a check that cannot run here fails; make test installs what tests need)", why, CIEnv)
	}
	t.Skip(why)
}

// NeedRoot skips t (fails it under CI) unless it runs as root.
func NeedRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Skip(t, "needs root")
	}
}

// NeedTool returns the path of the command name, found on PATH or given as
// an absolute path, and skips t (fails it under CI) when it is missing; pkg
// is the Debian package that has it, for the message.
func NeedTool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Skip(t, "%s not installed (Debian package %s; make test installs it)", name, pkg)
	}
	return p
}

// NeedFile skips t (fails it under CI) when path does not exist; pkg is the
// Debian package that has it, for the message.
func NeedFile(t testing.TB, path, pkg string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		Skip(t, "%s not installed (Debian package %s; make test installs it)", path, pkg)
	}
}

// FileWriter makes a temporary directory for t and returns it with a
// function that writes a file (name relative to it) and returns its path;
// a write that fails fails t.
func FileWriter(t testing.TB) (dir string, write func(name, text string) string) {
	dir = t.TempDir()
	return dir, func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
}
