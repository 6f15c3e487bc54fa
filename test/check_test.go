package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestHinetdCheck runs hinetd-check on files with risky set-ups and
// errors, and checks what it reports and its exit status.
func TestHinetdCheck(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	conf := write("inetd.conf", `127.0.0.1:7019 dgram udp wait root internal chargen
127.0.0.1:7100 stream tcp nowait root /bin/cat cat
127.0.0.1:7101 stream tcp nowait nobody /bin/cat cat
127.0.0.1:7102 stream tcp nowait nobody /bin/cat cat
`)
	pol := write("hinetd.policy", `[service 7101]
caps CAP_NET_BIND_SERVICE
[service 7102]
seccomp off
`)
	allow := write("hosts.allow", "cat: 127.0.0.1\nALL: ALL\ncat: 10.0.0.1\n")
	deny := write("hosts.deny", "")
	run := func(args ...string) (string, int) {
		out, err := exec.Command(bin(t, "hinetd-check"), args...).CombinedOutput()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return string(out), code
	}
	out, code := run("--policy", pol, "--hosts-allow", allow, "--hosts-deny", deny, conf)
	if code != 0 {
		t.Fatalf("exit %d on files without errors:\n%s", code, out)
	}
	for _, want := range []string{
		"offers UDP chargen",
		"7100 runs as root",
		"7101 keeps capabilities CAP_NET_BIND_SERVICE",
		"7102 has no seccomp filter",
		"user nobody (uid 65534)",
		"hosts.allow:3",   // shadowed by ALL: ALL on line 2
		"no-default-deny", // hosts.deny lacks ALL: ALL
	} {
		if !strings.Contains(out, want) && !strings.Contains(strings.ReplaceAll(out, " ", "-"), want) {
			t.Errorf("hinetd-check output lacks %q:\n%s", want, out)
		}
	}
	bad := write("hosts.deny", "ALL: [2001:db8::/32]\n")
	out, code = run("--policy", pol, "--hosts-allow", allow, "--hosts-deny", bad, conf)
	if code != 1 || !strings.Contains(out, "hosts.deny:1") {
		t.Fatalf("a malformed hosts.deny: exit %d, output:\n%s", code, out)
	}
}
