package policy

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/internal/testenv"
)

// TestBuildsWithoutCgo: policy is plain data. It builds with
// CGO_ENABLED=0, and nothing it imports uses cgo or libseccomp (the
// compiler of seccomp programs is internal/seccomp). Tests may link the
// real compiler; the package may not.
func TestBuildsWithoutCgo(t *testing.T) {
	gobin, err := exec.LookPath("go")
	if err != nil {
		testenv.Skip(t, "needs the go command")
	}
	env := append(os.Environ(), "CGO_ENABLED=0")
	build := exec.Command(gobin, "build", "-o", os.DevNull, ".")
	build.Env = env
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./policy: %v\n%s", err, out)
	}
	list := exec.Command(gobin, "list", "-deps", "-f", "{{.ImportPath}} {{len .CgoFiles}}", ".")
	list.Env = env
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, n, _ := strings.Cut(line, " ")
		if n != "0" || strings.Contains(pkg, "seccomp") || pkg == "runtime/cgo" {
			t.Errorf("policy depends on %s (%s cgo files)", pkg, n)
		}
	}
}
