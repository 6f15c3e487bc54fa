//go:build linux

package sandbox

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/testenv"
	"github.com/hinetd/hinetd/policy"
)

// compiled compiles policy text for a service that runs /bin/sh -c script
// as nobody.
func compiled(t *testing.T, text, script string) (*policy.Spec, []policy.Note) {
	t.Helper()
	set, err := policy.Parse("t.policy", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	sp, notes, err := set.CompileWith(policy.Service{Name: "t", User: "nobody", Program: "/bin/sh",
		Args: []string{"sh", "-c", script}}, compileOpts)
	if err != nil {
		t.Fatal(err)
	}
	return sp, notes
}

// TestSmallestFilters: a spawner runs, and starts children, under the
// smallest filter Compile produces for each seccomp-action (nothing but
// @spawner), under "seccomp-groups @default @basic-io", and under a filter
// that denies a call the spawner makes itself (then it goes into each
// child). On the old main the spawner was killed by its own filter in all
// but the log cases ("spawner exited before it was ready: signal: bad
// system call": @spawner lacked sendto, glibc's send()), or with errno
// EPERM never said it was ready (issue 10 item 1).
func TestSmallestFilters(t *testing.T) {
	needRoot(t)
	const only = "[default]\nseccomp-groups @swap\nseccomp-deny @swap\n"
	tests := []struct {
		name, policy string
		perChild     bool   // the filter goes into each child
		out          string // what the service writes, "" if it cannot run
	}{
		{"only @spawner, kill", only, false, ""},
		{"only @spawner, errno", only + "seccomp-action errno EPERM\n", false, ""},
		{"only @spawner, log", only + "seccomp-action log\n", false, "ok\n"},
		{"@default @basic-io", "[default]\nseccomp-groups @default @basic-io\n", false, ""},
		{"deny sendto", "[default]\nseccomp-deny sendto\n", true, "ok\n"},
		{"deny sendto, errno", "[default]\nseccomp-deny sendto\nseccomp-action errno EPERM\n", true, "ok\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, _ := compiled(t, tt.policy, "echo ok")
			sp, rec := start(t, spec)
			if sp.ChildSeccomp() != tt.perChild {
				t.Errorf("filter per child %v, want %v", sp.ChildSeccomp(), tt.perChild)
			}
			for conn := uint64(1); conn <= 2; conn++ {
				out, evs := run(t, sp, rec, conn, "")
				last := evs[len(evs)-1]
				if len(evs) != 2 || last.Kind != Exited {
					t.Fatalf("connection %d: events %+v, want Started, Exited", conn, evs)
				}
				if tt.out != "" && out != tt.out {
					t.Errorf("connection %d: service wrote %q (%+v), want %q", conn, out, last, tt.out)
				}
			}
			select {
			case <-sp.Done():
				t.Fatalf("spawner gone: %v", sp.Wait())
			default:
			}
		})
	}
}

// limitsOf returns the "Max ..." lines of /proc/pid/limits for the given
// limit names, as "name soft hard".
func limitsOf(t *testing.T, pid int, names ...string) []string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		for _, n := range names {
			if strings.HasPrefix(l, n+" ") {
				f := strings.Fields(strings.TrimPrefix(l, n))
				out = append(out, n+" "+f[0]+" "+f[1])
			}
		}
	}
	return out
}

// TestRlimitsInChild: a policy's rlimits are the service's, set in the
// child between clone and execve; the spawner keeps its own. "rlimit as
// 16M" made the old spawner fail ("event_loop: cannot allocate memory") and
// a low nofile broke its descriptor passing (issue 10 item 3).
func TestRlimitsInChild(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name, policy, script, want string
	}{
		{"as 16M", "[default]\nrlimit as 16M\n", "ulimit -v; ulimit -Hv", "16384\n16384\n"},
		// 4: 0, 1, 2, and one for ld.so to open libc with.
		{"nofile 4", "[default]\nrlimit nofile 4\n", "ulimit -n; ulimit -Hn", "4\n4\n"},
		{"cpu", "[default]\nrlimit cpu 5 10\n", "ulimit -t; ulimit -Ht", "5\n10\n"},
		{"core and fsize, soft below hard", "[default]\nrlimit fsize 1K 2K\n", "ulimit -f; ulimit -Hf; ulimit -c", "2\n4\n0\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, _ := compiled(t, tt.policy, tt.script)
			before := limitsOf(t, os.Getpid(), "Max address space", "Max open files", "Max cpu time")
			sp, rec := start(t, spec)
			for conn := uint64(1); conn <= 3; conn++ {
				out, evs := run(t, sp, rec, conn, "")
				if last := evs[len(evs)-1]; last.Kind != Exited || last.Status.ExitStatus() != 0 || out != tt.want {
					t.Fatalf("connection %d: wrote %q, events %+v; want %q", conn, out, evs, tt.want)
				}
			}
			// The spawner's own limits are the daemon's.
			if got := limitsOf(t, sp.Pid(), "Max address space", "Max open files", "Max cpu time"); strings.Join(got, ";") != strings.Join(before, ";") {
				t.Errorf("spawner limits %q, daemon's %q", got, before)
			}
		})
	}
}

// TestRlimitRaisedHard: a hard limit above the daemon's is raised in the
// spawner, with CAP_SYS_RESOURCE and before it drops it, so that the child,
// which has no privilege left, may set it. Without CAP_SYS_RESOURCE (this
// container's bounding set lacks it) the spawner refuses to start, naming
// the step, rather than start children that would fail one by one.
func TestRlimitRaisedHard(t *testing.T) {
	needRoot(t)
	var own unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &own); err != nil {
		t.Fatal(err)
	}
	var open uint64
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		fmt.Sscan(string(b), &open)
	}
	if open <= own.Max {
		testenv.Skip(t, "the daemon's hard nofile %d is the kernel's nr_open already", own.Max)
	}
	spec, _ := compiled(t, fmt.Sprintf("[default]\nrlimit nofile 1024 %d\n", open), "ulimit -n; ulimit -Hn")
	if r, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, unix.CAP_SYS_RESOURCE, 0, 0, 0); err != nil || r != 1 {
		_, err := Start(spec, nil)
		if want := "spawn t: setrlimit: operation not permitted"; err == nil || err.Error() != want {
			t.Errorf("without CAP_SYS_RESOURCE: %v, want %q", err, want)
		}
		return
	}
	sp, rec := start(t, spec)
	out, evs := run(t, sp, rec, 1, "")
	if want := fmt.Sprintf("1024\n%d\n", open); out != want {
		t.Errorf("wrote %q (%+v), want %q", out, evs, want)
	}
}
