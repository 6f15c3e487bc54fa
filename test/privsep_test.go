package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// parentCaps are the capabilities SECURITY.md says the daemon keeps after
// start-up, by number (capabilities(7)): CAP_SETGID 6, CAP_SETUID 7,
// CAP_KILL 5, CAP_SETPCAP 8, CAP_NET_BIND_SERVICE 10, CAP_SYS_CHROOT 18,
// CAP_SYS_ADMIN 21 (the isolation), CAP_SYS_NICE 23, CAP_SYS_RESOURCE 24,
// CAP_SYSLOG 34.
var parentCaps = []uint{5, 6, 7, 8, 10, 18, 21, 23, 24, 34}

func capMask(caps []uint) uint64 {
	var m uint64
	for _, c := range caps {
		m |= 1 << c
	}
	return m
}

// TestParentCapabilities: after start-up every thread of hinetd holds
// exactly the capabilities SECURITY.md lists (plus those a policy grants),
// with empty inheritable and ambient sets.
func TestParentCapabilities(t *testing.T) {
	needRoot(t)
	port, port2 := freePort(t), freePort(t)
	d := startDaemonWith(t, nil, map[string]string{
		"policy/p.policy": fmt.Sprintf("[service %d]\ncaps CAP_NET_RAW\n", port2),
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo hi\n127.0.0.1:%d stream tcp nowait nobody /bin/echo echo raw\n", port, port2))
	// + CAP_NET_RAW (13), granted by the policy; the optional ones are kept
	// only when the daemon had them to begin with (this test's bounding set).
	want := capMask(append(parentCaps, 13)) & ownBoundingSet(t)
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", d.pid()))
	if err != nil {
		t.Fatal(err)
	}
	for _, task := range tasks {
		status, err := os.ReadFile(filepath.Join(fmt.Sprintf("/proc/%d/task", d.pid()), task.Name(), "status"))
		if err != nil {
			t.Fatal(err)
		}
		sets := map[string]uint64{}
		for _, line := range strings.Split(string(status), "\n") {
			k, v, ok := strings.Cut(line, ":\t")
			if ok && strings.HasPrefix(k, "Cap") {
				sets[k], _ = strconv.ParseUint(v, 16, 64)
			}
		}
		for _, k := range []string{"CapPrm", "CapEff", "CapBnd"} {
			if sets[k] != want {
				t.Errorf("thread %s %s = %016x, want %016x (SECURITY.md)", task.Name(), k, sets[k], want)
			}
		}
		for _, k := range []string{"CapInh", "CapAmb"} {
			if sets[k] != 0 {
				t.Errorf("thread %s %s = %016x, want 0", task.Name(), k, sets[k])
			}
		}
	}
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), nil); string(got) != "hi\n" {
		t.Fatalf("service after the drop: %q", got)
	}
}

func ownBoundingSet(t *testing.T) uint64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:\t"); ok {
			m, _ := strconv.ParseUint(v, 16, 64)
			return m
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return 0
}

// TestWithoutRoot: started by an ordinary user, hinetd still runs the
// services of that user (with no_new_privs and seccomp) and skips, with a
// clear error, a service that needs another user.
func TestWithoutRoot(t *testing.T) {
	needRoot(t) // to become nobody
	mine, other, echo := freePort(t), freePort(t), freePort(t)
	spool := filepath.Join(os.TempDir(), fmt.Sprintf("hinetd-spool-nobody-%d", os.Getpid()))
	t.Cleanup(func() { os.RemoveAll(spool) })
	// Without root there are no namespaces to build: a service runs only
	// with its policy's isolation off (docs/policy.md, "Run without root").
	noIso := map[string]string{"policy/noiso.policy": "[default]\nprotect-system off\nprotect-home off\n" +
		"private-tmp off\nprivate-devices off\nprocess-scope off\n"}
	d := startDaemonWith(t, []string{"setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"}, noIso,
		fmt.Sprintf(`127.0.0.1:%d stream tcp nowait nobody /bin/grep grep -E ^(Uid|NoNewPrivs|Seccomp|CapEff): /proc/self/status
127.0.0.1:%d stream tcp nowait root /bin/echo echo root
127.0.0.1:%d stream tcp nowait nobody internal echo
`, mine, other, echo), "--spool-dir", spool) // a spool nobody may create
	got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", mine), nil))
	for _, want := range []string{"Uid:\t65534\t65534\t65534\t65534", "NoNewPrivs:\t1", "Seccomp:\t2", "CapEff:\t0000000000000000"} {
		if !strings.Contains(got, want) {
			t.Errorf("service of the invoking user lacks %q:\n%s", want, got)
		}
	}
	line := d.waitLog("event=config-error", 2*time.Second, "inetd.conf:2:")
	if !strings.Contains(line, "root") {
		t.Errorf("the skipped service's error does not say why: %s", line)
	}
	if got := dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", echo), []byte("x")); string(got) != "x" {
		t.Errorf("built-in without root: %q", got)
	}
}
