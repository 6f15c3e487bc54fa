//go:build linux

package sandbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/seccomp"
	"github.com/hinetd/hinetd/policy"
	libseccomp "github.com/seccomp/libseccomp-golang"

	"github.com/hinetd/hinetd/internal/testenv"
)

// compileOpts compile as the daemon run as root does.
var compileOpts = policy.CompileOptions{Filter: &seccomp.Compiler{}}

func needRoot(t testing.TB) {
	t.Helper()
	testenv.NeedRoot(t)
}

// recorder collects a spawner's events for a test.
type recorder struct {
	mu     sync.Mutex
	events []Event
	ch     chan Event
}

func newRecorder() *recorder { return &recorder{ch: make(chan Event, 4096)} }

func (r *recorder) on(ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
	r.ch <- ev
}

// next waits for the next event of connection conn.
func (r *recorder) next(t testing.TB, conn uint64) Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev := <-r.ch:
			if ev.ConnID == conn {
				return ev
			}
		case <-timeout:
			t.Fatalf("no event for connection %d after 10s", conn)
		}
	}
}

// nobodySpec is the baseline: user nobody, group nogroup, no capabilities,
// no_new_privs, no seccomp filter (opted out; tests that need one add it).
func nobodySpec(path string, argv ...string) *policy.Spec {
	return &policy.Spec{
		Service:   "test",
		Path:      path,
		Argv:      argv,
		Env:       []string{"PATH=/usr/bin:/bin", "HINETD_TEST=1"},
		UID:       65534,
		GID:       65534,
		Groups:    []int{65534},
		SwitchIDs: true,
		Umask:     0o027,
		Dir:       "/",
		NoSeccomp: true,
	}
}

// run starts one connection on sp over a socketpair, writes input, and
// returns all the child wrote and its events (Started then Exited, or
// Failed).
func run(t testing.TB, sp *Spawner, rec *recorder, conn uint64, input string) (string, []Event) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := sp.Spawn(conn, fds[1]); err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[1])
	f := os.NewFile(uintptr(fds[0]), "client")
	defer f.Close()
	if input != "" {
		if _, err := f.Write([]byte(input)); err != nil {
			t.Fatal(err)
		}
	}
	_ = unix.Shutdown(fds[0], unix.SHUT_WR)
	_ = f.SetReadDeadline(time.Now().Add(10 * time.Second))
	out, _ := io.ReadAll(f)
	var evs []Event
	for {
		ev := rec.next(t, conn)
		evs = append(evs, ev)
		if ev.Kind != Started {
			break
		}
	}
	return string(out), evs
}

func start(t testing.TB, spec *policy.Spec) (*Spawner, *recorder) {
	t.Helper()
	rec := newRecorder()
	sp, err := Start(spec, rec.on)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		sp.Close()
		select {
		case <-sp.Done():
		case <-time.After(10 * time.Second):
			t.Errorf("spawner %d did not exit after Close", sp.Pid())
		}
	})
	return sp, rec
}

// TestSpawnShell: a shell run as a service sees the ids, descriptors,
// environment, directory, session and umask the Spec asks for, and its
// start and exit are reported.
func TestSpawnShell(t *testing.T) {
	needRoot(t)
	spec := nobodySpec("/bin/sh", "sh", "-c",
		`echo "ids $(id -u) $(id -g) $(id -G)"; echo "fds $(ls /proc/self/fd | tr '\n' ' ')"; `+
			`echo "env $(env | sort | tr '\n' ' ')"; echo "cwd $(pwd)"; echo "umask $(umask)"; `+
			`echo "sid $(cut -d' ' -f6 /proc/self/stat) pid $$"; read line; echo "got $line"; exit 7`)
	spec.Dir = "/tmp"
	sp, rec := start(t, spec)
	out, evs := run(t, sp, rec, 42, "hello\n")
	if len(evs) != 2 || evs[0].Kind != Started || evs[1].Kind != Exited {
		t.Fatalf("events %+v, want Started then Exited", evs)
	}
	if evs[0].PID <= 0 || evs[1].PID != evs[0].PID {
		t.Errorf("pids %d, %d", evs[0].PID, evs[1].PID)
	}
	if !evs[1].Status.Exited() || evs[1].Status.ExitStatus() != 7 || evs[1].Signal != 0 {
		t.Errorf("status %v, want exit 7", evs[1].Status)
	}
	if evs[1].Duration <= 0 || evs[1].Duration > 10*time.Second {
		t.Errorf("duration %v", evs[1].Duration)
	}
	want := []string{
		"ids 65534 65534 65534",
		// ls itself opens /proc/self/fd as 3; nothing else is open.
		"fds 0 1 2 3 ",
		"env HINETD_TEST=1 PATH=/usr/bin:/bin PWD=/tmp ",
		"cwd /tmp",
		"umask 0027",
		"got hello",
	}
	for _, w := range want {
		if !strings.Contains(out, w+"\n") {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	// setsid: the shell leads its own session.
	var sid, pid string
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Fields(l); len(f) == 4 && f[0] == "sid" {
			sid, pid = f[1], f[3]
		}
	}
	if sid == "" || sid != pid {
		t.Errorf("session %q, pid %q: want the child to lead its session\n%s", sid, pid, out)
	}
}

// TestSpawnMany: many connections through one spawner, some at once, are
// each reported once as Started and once as Exited, with matching pids.
func TestSpawnMany(t *testing.T) {
	needRoot(t)
	sp, rec := start(t, nobodySpec("/bin/sh", "sh", "-c", "read x; echo $x"))
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				errs <- err
				return
			}
			defer unix.Close(fds[0])
			if err := sp.Spawn(uint64(i), fds[1]); err != nil {
				errs <- err
				unix.Close(fds[1])
				return
			}
			unix.Close(fds[1])
			msg := "conn" + string(rune('A'+i%26)) + "\n"
			unix.Write(fds[0], []byte(msg))
			buf := make([]byte, 64)
			nr, _ := unix.Read(fds[0], buf)
			if string(buf[:nr]) != msg {
				errs <- errors.New("connection got " + string(buf[:nr]) + ", want " + msg)
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	started := map[uint64]int{}
	exited := map[uint64]int{}
	deadline := time.After(10 * time.Second)
	for len(exited) < n {
		select {
		case ev := <-rec.ch:
			switch ev.Kind {
			case Started:
				started[ev.ConnID] = ev.PID
			case Exited:
				if started[ev.ConnID] != ev.PID {
					t.Errorf("conn %d exited pid %d, started %d", ev.ConnID, ev.PID, started[ev.ConnID])
				}
				if _, dup := exited[ev.ConnID]; dup {
					t.Errorf("conn %d exited twice", ev.ConnID)
				}
				exited[ev.ConnID] = ev.PID
			default:
				t.Errorf("unexpected event %+v", ev)
			}
		case <-deadline:
			t.Fatalf("%d of %d exits after 10s", len(exited), n)
		}
	}
}

// TestSpawnExecFails: a program that does not exist runs nothing; the
// child that tried is reported Started, then Failed naming execve.
func TestSpawnExecFails(t *testing.T) {
	needRoot(t)
	sp, rec := start(t, nobodySpec("/nonexistent/prog", "prog"))
	out, evs := run(t, sp, rec, 9, "")
	if out != "" {
		t.Errorf("output %q", out)
	}
	if len(evs) != 2 || evs[0].Kind != Started || evs[1].Kind != Failed || evs[1].PID != evs[0].PID ||
		evs[1].Step != "execve" || evs[1].Errno != syscall.ENOENT {
		t.Fatalf("events %+v, want Started then Failed execve ENOENT", evs)
	}
	// The failed child is reaped: no zombie left behind.
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", evs[0].PID)); err == nil {
		st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", evs[0].PID))
		t.Errorf("failed child %d still exists: %s", evs[0].PID, st)
	}
}

// TestCloseWaitsForChildren: Close does not disturb a running child; the
// spawner reports its exit and only then exits.
func TestCloseWaitsForChildren(t *testing.T) {
	needRoot(t)
	rec := newRecorder()
	sp, err := Start(nobodySpec("/bin/sh", "sh", "-c", "read x; echo bye"), rec.on)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	if err := sp.Spawn(1, fds[1]); err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[1])
	if ev := rec.next(t, 1); ev.Kind != Started {
		t.Fatalf("event %+v", ev)
	}
	if err := sp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := sp.Spawn(2, fds[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Spawn after Close: %v, want ErrClosed", err)
	}
	select {
	case <-sp.Done():
		t.Fatal("spawner exited while its child still ran")
	case <-time.After(200 * time.Millisecond):
	}
	unix.Write(fds[0], []byte("go\n"))
	buf := make([]byte, 16)
	n, _ := unix.Read(fds[0], buf)
	if string(buf[:n]) != "bye\n" {
		t.Errorf("child wrote %q after Close", buf[:n])
	}
	if ev := rec.next(t, 1); ev.Kind != Exited || !ev.Status.Exited() || ev.Status.ExitStatus() != 0 {
		t.Errorf("event %+v, want Exited 0", ev)
	}
	select {
	case <-sp.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("spawner still running after its last child exited")
	}
	if err := sp.Wait(); err != nil {
		t.Errorf("Wait: %v", err)
	}
}

// TestSpawnerKilled: a spawner that dies (a service of the same uid may
// kill it) leaves its running children alone; each is reported Lost, and
// Wait says how the spawner ended.
func TestSpawnerKilled(t *testing.T) {
	needRoot(t)
	rec := newRecorder()
	sp, err := Start(nobodySpec("/bin/sh", "sh", "-c", "read x; echo $x"), rec.on)
	if err != nil {
		t.Fatal(err)
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	if err := sp.Spawn(5, fds[1]); err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[1])
	started := rec.next(t, 5)
	if started.Kind != Started {
		t.Fatalf("event %+v", started)
	}
	if err := syscall.Kill(sp.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if ev := rec.next(t, 5); ev.Kind != Lost || ev.PID != started.PID {
		t.Errorf("event %+v, want Lost for pid %d", ev, started.PID)
	}
	if err := sp.Wait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Wait: %v, want the spawner's death", err)
	}
	if err := sp.Spawn(6, fds[0]); !errors.Is(err, ErrClosed) {
		t.Errorf("Spawn on a dead spawner: %v, want ErrClosed", err)
	}
	// The spawner was the init of the child's pid namespace: the child
	// died with it (issue 11 item 4), and the client sees the end.
	unix.Write(fds[0], []byte("still\n"))
	buf := make([]byte, 16)
	n, _ := unix.Read(fds[0], buf)
	if n > 0 {
		t.Errorf("child outlived its spawner and answered %q", buf[:n])
	}
	if err := syscall.Kill(started.PID, 0); err != syscall.ESRCH {
		t.Errorf("kill(%d, 0) after the spawner died: %v, want ESRCH", started.PID, err)
	}
}

// TestSpawnFailsConcurrently: failed starts at concurrency are each one
// Started and one Failed, the stack slots they held are reused, and the
// spawner keeps nothing open.
func TestSpawnFailsConcurrently(t *testing.T) {
	needRoot(t)
	sp, rec := start(t, nobodySpec("/nonexistent/prog", "prog"))
	const n = 300
	var wg sync.WaitGroup
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Error(err)
				return
			}
			if err := sp.Spawn(uint64(i), fds[1]); err != nil {
				t.Error(err)
			}
			unix.Close(fds[1])
			unix.Close(fds[0])
		}(i)
	}
	wg.Wait()
	started, failed := map[uint64]bool{}, map[uint64]bool{}
	deadline := time.After(20 * time.Second)
	for len(failed) < n {
		select {
		case ev := <-rec.ch:
			switch {
			case ev.Kind == Started:
				started[ev.ConnID] = true
			case ev.Kind == Failed && ev.Step == "execve" && ev.Errno == syscall.ENOENT && started[ev.ConnID]:
				failed[ev.ConnID] = true
			default:
				t.Fatalf("unexpected event %+v", ev)
			}
		case <-deadline:
			t.Fatalf("%d of %d failures reported after 20s", len(failed), n)
		}
	}
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", sp.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	// 0, 1, 2 (/dev/null), the control socket, the signalfd, the host's
	// /proc (O_PATH) and the landlock ruleset.
	if len(fds) != 7 {
		t.Errorf("spawner holds %d descriptors, want 7", len(fds))
	}
}

// TestUnknownMessageStopsSpawner: a report of a kind the parent does not
// know stops that spawner (its process is killed, Wait says why, and a
// connection it had started is reported Lost with the reason) instead of
// being skipped. The "spawner" here is a real process (sleep) behind a
// control socket the test writes the reports into.
func TestUnknownMessageStopsSpawner(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[1])
	proc, err := os.StartProcess("/bin/sleep", []string{"sleep", "60"}, &os.ProcAttr{})
	if err != nil {
		t.Fatal(err)
	}
	rec := newRecorder()
	parentEnd := os.NewFile(uintptr(fds[0]), "parent")
	s, err := newSpawner(nobodySpec("/bin/true", "true"), proc, parentEnd, rec.on)
	parentEnd.Close()
	if err != nil {
		t.Fatal(err)
	}
	go s.read()
	// struct hs_msg (spawner.h): kind, step, err, pid, conn, status, pad,
	// dur_ns; 40 bytes. A wrong size here fails as a short message.
	send := func(kind uint32, conn uint64, pid int32) {
		b := make([]byte, 40)
		binary.NativeEndian.PutUint32(b[0:], kind)
		binary.NativeEndian.PutUint32(b[12:], uint32(pid))
		binary.NativeEndian.PutUint64(b[16:], conn)
		if _, err := unix.Write(fds[1], b); err != nil {
			t.Fatal(err)
		}
	}
	const hsMsgStarted = 3
	send(hsMsgStarted, 7, 4242)
	if ev := rec.next(t, 7); ev.Kind != Started {
		t.Fatalf("first event %+v", ev)
	}
	send(99, 7, 0)
	ev := rec.next(t, 7)
	const why = "spawner sent message kind 99, which is not one of ours; stopped it"
	if ev.Kind != Lost || ev.PID != 4242 || ev.Err == nil || ev.Err.Error() != why {
		t.Errorf("event %+v, want Lost pid 4242 with %q", ev, why)
	}
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("spawner not stopped")
	}
	if err := s.Wait(); err == nil || err.Error() != "spawn test: "+why {
		t.Errorf("Wait: %v", err)
	}
	if st := s.state; st == nil || st.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Errorf("spawner process ended %v, want killed", st)
	}
	if err := s.Spawn(8, 0); !errors.Is(err, ErrClosed) {
		t.Errorf("Spawn after the stop: %v", err)
	}
}

// TestStepNumbersStable: a step keeps the number that logs and exit
// statuses (64+n) already hold. These are the numbers of every step as
// they were when the numbers became explicit (issue 10); a new step takes
// the next free number and is added at the end here.
func TestStepNumbersStable(t *testing.T) {
	want := []string{
		"none", "control_socket", "fds", "spec", "dumpable", "signals", "setrlimit", "setpriority",
		"chroot", "chdir", "capget", "privilege", "capbset_drop", "securebits", "keepcaps",
		"setgroups", "setresgid", "setresuid", "capset", "ambient", "no_new_privs", "check_uid",
		"check_gid", "check_groups", "check_caps", "check_bounding", "check_ambient",
		"check_securebits", "check_no_new_privs", "check_dumpable", "event_loop", "seccomp",
		"recvmsg", "clone", "dup3", "close_range", "sigprocmask", "setsid", "check_ids",
		"setrlimit_cpu", "seccomp_child", "execve", // 0-41: before issue 10
		"child_rlimit",                                                                        // 42
		"isolate", "landlock_ruleset", "host_proc", "landlock_restrict_self", "pid_namespace", // 43-47: issue 11
	}
	seen := map[string]int{}
	for n, name := range want {
		if got := StepName(n); got != name {
			t.Errorf("step %d is %q, was %q", n, got, name)
		}
		if m, dup := seen[name]; dup {
			t.Errorf("steps %d and %d are both %q", m, n, name)
		}
		seen[name] = n
	}
	for n := len(want); n < 64; n++ {
		if got := StepName(n); got != "unknown" {
			t.Errorf("step %d is %q: add it to this test", n, got)
		}
	}
	if got := exitStep(64 + 17); got != "setresuid" {
		t.Errorf("exit status 81 names %q", got)
	}
	if got := exitStep(64 + 50); got != "" {
		t.Errorf("exit status 114 names %q", got)
	}
}

// TestSpawnerCallsAgree: the spawner's hs_needed table (C, compiled from
// spawner_calls.h) and policy.SpawnerCalls (Go, policy/zspawner.go) are
// the same calls with the same arguments, as the C headers and
// golang.org/x/sys/unix define the flag names.
func TestSpawnerCallsAgree(t *testing.T) {
	c, g := spawnerNeeds(), policy.SpawnerCalls()
	if len(c) != len(g) {
		t.Fatalf("C has %d calls, Go %d", len(c), len(g))
	}
	for i := range c {
		nr, err := libseccomp.GetSyscallFromName(g[i].Name)
		if err != nil {
			t.Fatalf("%s: %v", g[i].Name, err)
		}
		if int64(nr) != c[i].nr || c[i].args != g[i].Args {
			t.Errorf("entry %d: C has %d %#x, Go %s (%d) %#x", i, c[i].nr, c[i].args, g[i].Name, nr, g[i].Args)
		}
	}
}

// TestSpecFieldsOnWire: every field of policy.Spec reaches the spawner
// (an HS_SPEC_FIELDS line of spawner.h names it) or is one the Go side
// keeps for itself, listed here. A new confinement field that is on
// neither list would be compiled, hashed and shown, and never applied.
func TestSpecFieldsOnWire(t *testing.T) {
	goOnly := map[string]string{
		"Service": "logs", "Policy": "logs", "Hash": "audit records, spawner reuse",
		"User": "logs, exposure", "NoSeccomp": "the opt-out; Validate and the empty program enforce it",
		"SeccompGroups": "what the program was built from", "SeccompAllow": "what the program was built from",
		"SeccompDeny": "what the program was built from", "SeccompAction": "what the program was built from",
	}
	h, err := os.ReadFile("spawner.h")
	if err != nil {
		t.Fatal(err)
	}
	var fields string
	if _, after, ok := strings.Cut(string(h), "#define HS_SPEC_FIELDS(X)"); ok {
		fields, _, _ = strings.Cut(after, "\n\n")
	}
	// The flags field's expression is specFlags(spec); the two it reads:
	fields += " spec.SwitchIDs spec.AllowNewPrivs"
	st := reflect.TypeOf(policy.Spec{})
	for i := 0; i < st.NumField(); i++ {
		name := st.Field(i).Name
		onWire := regexp.MustCompile(`spec\.` + name + `\b`).MatchString(fields)
		if _, ok := goOnly[name]; ok == onWire {
			t.Errorf("policy.Spec.%s: on the wire %v, listed as Go-only %v; add it to HS_SPEC_FIELDS (see policy/spec.go)", name, onWire, ok)
		}
	}
}

// TestAckBeforeSpawnReturns: a child's Started read before Spawn returns
// (a fast child on a busy machine) acknowledges its spawn; it must not be
// left pending and the healthy spawner taken for hung and killed when
// AckTimeout passes. On the first version, which recorded the spawn after
// the send, the bench's hello service lost its spawner about once in
// 5,000 connections ("spawner closed" spawn-fail records).
func TestAckBeforeSpawnReturns(t *testing.T) {
	needRoot(t)
	oldTimeout := AckTimeout
	AckTimeout = 300 * time.Millisecond
	testAfterSend = func() { time.Sleep(100 * time.Millisecond) }
	defer func() { AckTimeout, testAfterSend = oldTimeout, nil }()
	sp, rec := start(t, nobodySpec("/bin/true", "true"))
	for conn := uint64(1); conn <= 3; conn++ {
		spawnPair(t, sp, conn)
		if ev := rec.next(t, conn); ev.Kind != Started {
			t.Fatalf("conn %d: %+v", conn, ev)
		}
	}
	time.Sleep(3 * AckTimeout)
	if sp.Hung() {
		t.Fatal("spawner killed as hung although every spawn was answered")
	}
	spawnPair(t, sp, 4)
	if ev := rec.next(t, 4); ev.Kind != Started {
		t.Fatalf("conn 4 after the timeout: %+v", ev)
	}
}

// spawnPair spawns conn on one end of a fresh socket pair.
func spawnPair(t *testing.T, sp *Spawner, conn uint64) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fds[0]) })
	if err := sp.Spawn(conn, fds[1]); err != nil {
		t.Fatal(err)
	}
	unix.Close(fds[1])
}
