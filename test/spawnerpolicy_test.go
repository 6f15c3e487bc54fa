package test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/internal/testenv"
)

// TestSpawnerPolicies (issue 10 items 1-3): nothing hinetd-check passes
// fails at spawn. Policies the spawner cannot run (no-new-privs off with
// the filter on; a deny of execve) fail hinetd-check with file:line.
// Policies the old spawner died of now serve: a filter of @default and
// @basic-io (the spawner's send() is sendto), a deny of sendto (the filter
// goes into each child), "rlimit as 16M" and a low nofile (set in the
// child, not the spawner). On the old main every one of these passed
// hinetd-check and then failed every connection.
func TestSpawnerPolicies(t *testing.T) {
	needRoot(t)
	_, write := testenv.FileWriter(t)
	conf := write("inetd.conf", "127.0.0.1:7200 stream tcp nowait nobody /bin/echo echo\n")
	allow, deny := write("hosts.allow", ""), write("hosts.deny", "")
	for _, tc := range []struct {
		name, policy, want string
	}{
		{"no-new-privs off", "[service 7200]\nno-new-privs off\n",
			"hinetd.policy:2: service 7200: no_new_privs off with a seccomp filter: seccomp(2) installs a filter only with no_new_privs or CAP_SYS_ADMIN"},
		{"deny execve", "[default]\nseccomp-deny @default\n",
			`hinetd.policy:2: error: cannot deny "@default": it removes execve`},
	} {
		pol := write("hinetd.policy", tc.policy)
		out, code := runStatus(t, "hinetd-check", "--policy", pol, "--hosts-allow", allow, "--hosts-deny", deny, conf)
		if code == 0 || !strings.Contains(out, tc.want) {
			t.Errorf("%s: hinetd-check exit %d, want non-zero and %q:\n%s", tc.name, code, tc.want, out)
		}
	}

	for _, tc := range []struct {
		name, policy, script, want string
	}{
		{"@default @basic-io", "seccomp-groups @default @basic-io @file-system\nseccomp-action errno EPERM\n", "echo ok", "ok\n"},
		{"deny sendto", "seccomp-deny sendto\n", "echo ok", "ok\n"},
		{"rlimit as 16M", "rlimit as 16M\n", "ulimit -v", "16384\n"},
		{"rlimit nofile 4", "rlimit nofile 4\n", "ulimit -n", "4\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			port := freePort(t)
			text := fmt.Sprintf("[service %d]\n%s", port, tc.policy)
			line := fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/sh sh -c %s\n", port, strings.ReplaceAll(tc.script, " ", "${IFS}"))
			pol := write("p.policy", text)
			c := write("c.conf", line)
			if out, code := runStatus(t, "hinetd-check", "--policy", pol, "--hosts-allow", allow, "--hosts-deny", deny, c); code != 0 {
				t.Fatalf("hinetd-check exit %d:\n%s", code, out)
			}
			d := startDaemonWith(t, nil, map[string]string{"policy/p.policy": text}, line)
			for i := 0; i < 2; i++ {
				if got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil)); got != tc.want {
					t.Fatalf("connection %d: %q, want %q\n%s", i, got, tc.want, d.logText())
				}
			}
		})
	}
}
