package test

import (
	"fmt"
	"slices"
	"syscall"
	"testing"
	"time"
)

// waitSpawners waits until the daemon has want spawner children.
func waitSpawners(t *testing.T, d *daemon, want int, why string) []int {
	t.Helper()
	var got []int
	waitFor(t, 5*time.Second, fmt.Sprintf("%d spawners %s", want, why), func() bool {
		got = spawners(d.pid())
		return len(got) == want
	})
	return got
}

// TestDerivedSpawnersClosed: the spawners of specs that hosts options
// derive from a service's (setenv, umask, user, nice) go with the service:
// a reload that removes it, or changes its spec, closes them as it closes
// the service's own, and so does stopping hinetd (issue 10 item 9: they
// lived until the daemon exited).
func TestDerivedSpawnersClosed(t *testing.T) {
	needRoot(t)
	port, keep := freePort(t), freePort(t)
	echo := fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo ok\n", port)
	builtin := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", keep)
	d := startDaemonWith(t, nil, map[string]string{
		"hosts.allow": "echo: 127.0.0.8: setenv A 1\necho: 127.0.0.9: umask 077\necho: 127.0.0.10: nice 3\n",
	}, echo+builtin)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	for _, src := range []string{"127.0.0.8", "127.0.0.9", "127.0.0.10", "127.0.0.11"} {
		if got := string(dialFrom(t, src, addr, nil)); got != "ok\n" {
			t.Fatalf("from %s: %q", src, got)
		}
	}
	// Three derived specs and the service's own.
	waitSpawners(t, d, 4, "after four clients")

	// A changed spec (the program's arguments) leaves the derived spawners
	// of the old one stale; the next client of the new one starts its own.
	d.writeFile("inetd.conf", fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo new\n", port)+builtin)
	d.reload(1)
	waitSpawners(t, d, 0, "after a reload that changes the spec")
	if got := string(dialFrom(t, "127.0.0.8", addr, nil)); got != "new\n" {
		t.Fatalf("after the change: %q", got)
	}
	waitSpawners(t, d, 1, "after a client of the changed service")

	d.writeFile("inetd.conf", builtin)
	d.reload(2)
	waitSpawners(t, d, 0, "after a reload that removes the service")

	// At stop: every spawner exits with the daemon.
	d.writeFile("inetd.conf", echo+builtin)
	d.reload(3)
	dialFrom(t, "127.0.0.8", addr, nil)
	dialFrom(t, "127.0.0.11", addr, nil)
	left := waitSpawners(t, d, 2, "after two clients")
	d.signal(syscall.SIGTERM)
	waitFor(t, 5*time.Second, "spawners gone at stop", func() bool {
		return !slices.ContainsFunc(left, func(pid int) bool {
			state, _, ok := procStat(pid)
			return ok && state != "Z"
		})
	})
}
