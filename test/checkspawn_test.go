package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCheckRefusesWhatTheSpawnerRefuses (issue 13, item 6): --check
// fails, naming file:line, on services the spawner would refuse at every
// connection: a 20 MiB argument vector, 200,000 arguments, an argument
// longer than execve(2) takes. The daemon skips such a line at start
// with the same error instead of failing each connection.
func TestCheckRefusesWhatTheSpawnerRefuses(t *testing.T) {
	needRoot(t)
	big := strings.Repeat("a", 100<<10)
	for _, tc := range []struct {
		name string
		args string
		want string
	}{
		{"20 MiB of arguments", "prog" + strings.Repeat(" "+big, 205), "bytes encoded, at most 1048576"},
		{"200,000 arguments", "prog" + strings.Repeat(" x", 200000), "200001 arguments, at most 65536"},
		{"one 200 KiB argument", "prog " + strings.Repeat("b", 200<<10), "argument 1 is 204800 bytes; execve(2) takes at most 131071"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			os.Mkdir(filepath.Join(dir, "policy"), 0o755)
			for _, f := range []string{"hosts.allow", "hosts.deny"} {
				os.WriteFile(filepath.Join(dir, f), nil, 0o644)
			}
			text := fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo %s\n127.0.0.1:%d stream tcp nowait root internal echo\n",
				freePort(t), tc.args, freePort(t))
			conf := filepath.Join(dir, "inetd.conf")
			os.WriteFile(conf, []byte(text), 0o644)
			out, err := exec.Command(bin(t, "hinetd"), "--check", "--policy", filepath.Join(dir, "policy"),
				"--hosts-allow", filepath.Join(dir, "hosts.allow"), "--hosts-deny", filepath.Join(dir, "hosts.deny"), conf).CombinedOutput()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
				t.Fatalf("--check: %v, want exit 1\n%.2000s", err, out)
			}
			if !strings.Contains(string(out), conf+":1:") || !strings.Contains(string(out), tc.want) {
				t.Fatalf("--check does not name %s:1 and %q:\n%.2000s", conf, tc.want, out)
			}
			d := startDaemon(t, text)
			d.waitLog("event=config-error", 2*time.Second, d.conf+":1:", tc.want)
		})
	}
}
