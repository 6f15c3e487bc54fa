//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/sys/capability"
	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/capdrop"
	"github.com/hinetd/hinetd/policy"
)

var (
	probeOnce sync.Once
	probeDir  string
	probeErr  error
)

func TestMain(m *testing.M) {
	switch os.Getenv("HINETD_SANDBOX_HELPER") {
	case "dropcaps":
		dropCapsHelper()
		return
	case "unprivileged":
		unprivilegedHelper()
		return
	case "dropcaps-ok":
		dropCapsOKHelper()
		return
	}
	code := m.Run()
	if probeDir != "" {
		os.RemoveAll(probeDir)
	}
	os.Exit(code)
}

// probe builds test/probe/probe.c (static) once and returns its path, in a
// directory every user can read, so that it can run as nobody.
func probe(t testing.TB) string {
	t.Helper()
	probeOnce.Do(func() {
		probeDir, probeErr = testDir()
		if probeErr != nil {
			return
		}
		if probeErr = os.Chmod(probeDir, 0o755); probeErr != nil {
			return
		}
		out, err := exec.Command("gcc", "-static", "-O2", "-Wall", "-o",
			filepath.Join(probeDir, "probe"), "../../test/probe/probe.c").CombinedOutput()
		if err != nil {
			probeErr = fmt.Errorf("building the probe: %v\n%s", err, out)
		}
	})
	if probeErr != nil {
		t.Fatal(probeErr)
	}
	return filepath.Join(probeDir, "probe")
}

// report is the probe's output, by section.
type report struct {
	raw      string
	sections map[string][]string
	calls    map[string]int // call name -> errno (0 = succeeded)
}

func parseReport(out string) report {
	r := report{raw: out, sections: map[string][]string{}, calls: map[string]int{}}
	cur, call := "", ""
	for _, l := range strings.Split(out, "\n") {
		if name, ok := strings.CutPrefix(l, "=== "); ok {
			cur = name
			continue
		}
		if cur == "call" {
			if v, ok := strings.CutPrefix(l, "result "); ok {
				r.calls[call], _ = strconv.Atoi(v)
			} else if l != "" {
				call = l
			}
			continue
		}
		if l != "" {
			r.sections[cur] = append(r.sections[cur], l)
		}
	}
	return r
}

// status returns a /proc/self/status field with its tabs turned to spaces.
func (r report) status(key string) string {
	for _, l := range r.sections["status"] {
		if k, v, ok := strings.Cut(l, ":"); ok && k == key {
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return "(missing)"
}

// filter compiles a seccomp program with libseccomp: everything allowed
// but ptrace (killed), mount and unshare (EPERM), raw sockets (EACCES),
// and the extra kills given.
func filter(t testing.TB, extraKill ...string) []byte {
	t.Helper()
	f, err := seccomp.NewFilter(seccomp.ActAllow)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Release()
	rule := func(name string, act seccomp.ScmpAction, conds ...seccomp.ScmpCondition) {
		sc, err := seccomp.GetSyscallFromName(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(conds) > 0 {
			err = f.AddRuleConditional(sc, act, conds)
		} else {
			err = f.AddRule(sc, act)
		}
		if err != nil {
			t.Fatalf("rule %s: %v", name, err)
		}
	}
	rule("ptrace", seccomp.ActKillProcess)
	rule("mount", seccomp.ActErrno.SetReturnCode(int16(syscall.EPERM)))
	rule("unshare", seccomp.ActErrno.SetReturnCode(int16(syscall.EPERM)))
	raw, err := seccomp.MakeCondition(1, seccomp.CompareMaskedEqual, 0xf, syscall.SOCK_RAW)
	if err != nil {
		t.Fatal(err)
	}
	rule("socket", seccomp.ActErrno.SetReturnCode(int16(syscall.EACCES)), raw)
	for _, name := range extraKill {
		rule(name, seccomp.ActKillProcess)
	}
	tmp, err := os.CreateTemp("", "bpf")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	if err := f.ExportBPF(tmp); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(tmp.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// probeSpec is the secure default for nobody, with the test filter and
// rlimits.
func probeSpec(t testing.TB, args ...string) *policy.Spec {
	spec := nobodySpec(probe(t), append([]string{"probe"}, args...)...)
	spec.Env = []string{"PATH=/usr/bin:/bin", "LANG=C"}
	spec.Seccomp, spec.NoSeccomp = filter(t), false
	spec.Rlimits = []policy.Rlimit{
		{Resource: unix.RLIMIT_CORE, Cur: 0, Max: 0},
		{Resource: unix.RLIMIT_NOFILE, Cur: 64, Max: 64},
		{Resource: unix.RLIMIT_NPROC, Cur: 200, Max: 200},
		{Resource: unix.RLIMIT_FSIZE, Cur: 1 << 20, Max: 1 << 20},
		{Resource: unix.RLIMIT_CPU, Cur: 5, Max: 10},
	}
	return spec
}

// runProbe starts the probe once under spec and returns its report and its
// last event.
func runProbe(t testing.TB, spec *policy.Spec) (report, Event) {
	t.Helper()
	sp, rec := start(t, spec)
	out, evs := run(t, sp, rec, 1, "")
	return parseReport(out), evs[len(evs)-1]
}

const zeroCaps = "0000000000000000"

// TestProbeDefault: the secure default seen from inside the service.
func TestProbeDefault(t *testing.T) {
	needRoot(t)
	spec := probeSpec(t, "mount", "userns", "rawsock", "bindlow", "setuid0")
	r, ev := runProbe(t, spec)
	if ev.Kind != Exited || ev.Status.ExitStatus() != 0 {
		t.Fatalf("event %+v\n%s", ev, r.raw)
	}
	for key, want := range map[string]string{
		"Uid":        "65534 65534 65534 65534",
		"Gid":        "65534 65534 65534 65534",
		"Groups":     "65534",
		"CapInh":     zeroCaps,
		"CapPrm":     zeroCaps,
		"CapEff":     zeroCaps,
		"CapBnd":     zeroCaps,
		"CapAmb":     zeroCaps,
		"NoNewPrivs": "1",
		"Seccomp":    "2",
		"SigBlk":     zeroCaps,
		"SigIgn":     zeroCaps,
		"SigCgt":     zeroCaps,
		"Umask":      "0027",
	} {
		if got := r.status(key); got != want {
			t.Errorf("%s: %q, want %q", key, got, want)
		}
	}
	checks := []struct {
		section string
		want    []string
	}{
		{"fds", []string{"0", "1", "2"}},
		{"env", spec.Env},
		{"cwd", []string{"/"}},
		{"umask", []string{"0027"}},
	}
	for _, c := range checks {
		if got := r.sections[c.section]; strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("%s: %q, want %q", c.section, got, c.want)
		}
	}
	rl := map[string]bool{}
	for _, l := range r.sections["rlimits"] {
		rl[l] = true
	}
	for _, want := range []string{"4 0 0", "7 64 64", "6 200 200", "1 1048576 1048576", "0 5 10"} {
		if !rl[want] {
			t.Errorf("rlimits lack %q: %q", want, r.sections["rlimits"])
		}
	}
	if sid := strings.Fields(strings.Join(r.sections["sid"], " ")); len(sid) != 2 || sid[0] != sid[1] {
		t.Errorf("sid %q: want the probe to lead its own session", r.sections["sid"])
	}
	for call, want := range map[string]syscall.Errno{
		"mount":   syscall.EPERM,  // the filter
		"userns":  syscall.EPERM,  // the filter (nobody could otherwise)
		"rawsock": syscall.EACCES, // the filter
		"bindlow": syscall.EACCES, // no CAP_NET_BIND_SERVICE
		"setuid0": syscall.EPERM,  // no CAP_SETUID
	} {
		if got, ok := r.calls[call]; !ok || syscall.Errno(got) != want {
			t.Errorf("%s: errno %d, want %d (%v)", call, got, int(want), want)
		}
	}
}

// TestProbeNoFilterStillConfined: with no seccomp program at all, the ids
// and capabilities alone refuse the privileged calls.
func TestProbeNoFilterStillConfined(t *testing.T) {
	needRoot(t)
	spec := probeSpec(t, "mount", "rawsock", "ptrace")
	spec.Seccomp, spec.NoSeccomp = nil, true
	r, _ := runProbe(t, spec)
	if got := r.status("Seccomp"); got != "0" {
		t.Errorf("Seccomp %q, want 0", got)
	}
	for call, want := range map[string]syscall.Errno{"mount": syscall.EPERM, "rawsock": syscall.EPERM} {
		if got := syscall.Errno(r.calls[call]); got != want {
			t.Errorf("%s: %v, want %v", call, got, want)
		}
	}
}

// TestSigsysReported: a seccomp kill is an Exited event with SIGSYS and,
// from the kernel's audit record, the system call's name.
func TestSigsysReported(t *testing.T) {
	needRoot(t)
	r, ev := runProbe(t, probeSpec(t, "quiet", "ptrace"))
	if ev.Kind != Exited || ev.Signal != syscall.SIGSYS {
		t.Fatalf("event %+v, want Exited by SIGSYS\n%s", ev, r.raw)
	}
	if _, ok := r.calls["ptrace"]; ok {
		t.Errorf("ptrace returned %d; want the probe killed", r.calls["ptrace"])
	}
	switch ev.Syscall {
	case "ptrace":
	case "":
		// Best effort by design: kauditd's printk rate limit (10 records
		// per 5 s) drops records when other tests trigger kills too, and
		// auditd takes them off the kernel log. TestSeccompRecord
		// covers the parsing.
		t.Logf("no audit record for pid %d (rate limited?)", ev.PID)
	default:
		t.Errorf("Syscall %q, want ptrace", ev.Syscall)
	}
}

// TestSetuidRootNoGain: a setuid-root copy of the probe run as nobody stays
// nobody; with AllowNewPrivs it gets euid 0 but, thanks to SECBIT_NOROOT,
// no capability.
func TestSetuidRootNoGain(t *testing.T) {
	needRoot(t)
	dir := tempDir(t)
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	b, err := os.ReadFile(probe(t))
	if err != nil {
		t.Fatal(err)
	}
	suid := filepath.Join(dir, "probe-suid")
	if err := os.WriteFile(suid, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(suid, 0o4755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(suid); st.Mode()&os.ModeSetuid == 0 {
		t.Fatal("setuid bit not set")
	}
	t.Run("no_new_privs", func(t *testing.T) {
		spec := probeSpec(t, "setuid0")
		spec.Path = suid
		r, _ := runProbe(t, spec)
		if got := r.status("Uid"); got != "65534 65534 65534 65534" {
			t.Errorf("Uid %q", got)
		}
		if got := syscall.Errno(r.calls["setuid0"]); got != syscall.EPERM {
			t.Errorf("setuid(0): %v", got)
		}
	})
	t.Run("allow_new_privs", func(t *testing.T) {
		spec := probeSpec(t, "setuid0", "bindlow", "rawsock")
		spec.Path = suid
		spec.AllowNewPrivs = true
		spec.Seccomp, spec.NoSeccomp = nil, true // an unprivileged filter needs no_new_privs
		// No landlock without no_new_privs, and no nosuid mounts: the
		// isolation off, so that the setuid bit is honoured at all.
		spec.Isolation = policy.Isolation{ProtectSystem: "off", ProtectHome: "off", NoPrivateTmp: true,
			NoPrivateDevices: true, NoProcessScope: true}
		r, _ := runProbe(t, spec)
		if got := r.status("Uid"); got != "65534 0 0 0" {
			t.Errorf("Uid %q, want euid 0 from the setuid bit", got)
		}
		for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
			if got := r.status(k); got != zeroCaps {
				t.Errorf("%s %q: uid 0 gained capabilities", k, got)
			}
		}
		if got := syscall.Errno(r.calls["bindlow"]); got != syscall.EACCES {
			t.Errorf("bindlow: %v, want EACCES", got)
		}
		if got := syscall.Errno(r.calls["rawsock"]); got != syscall.EPERM {
			t.Errorf("rawsock: %v, want EPERM", got)
		}
	})
}

// TestKeepNetBindService: a Spec keeping CAP_NET_BIND_SERVICE gives
// exactly that one capability, in every set, and it works.
func TestKeepNetBindService(t *testing.T) {
	needRoot(t)
	spec := probeSpec(t, "bindlow", "rawsock", "setuid0")
	spec.KeepCaps = []int{unix.CAP_NET_BIND_SERVICE}
	r, _ := runProbe(t, spec)
	const one = "0000000000000400"
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if got := r.status(k); got != one {
			t.Errorf("%s %q, want %s", k, got, one)
		}
	}
	if got := r.status("Uid"); got != "65534 65534 65534 65534" {
		t.Errorf("Uid %q", got)
	}
	if got := r.calls["bindlow"]; got != 0 {
		t.Errorf("bindlow: %v, want success", syscall.Errno(got))
	}
	if got := syscall.Errno(r.calls["setuid0"]); got != syscall.EPERM {
		t.Errorf("setuid0: %v", got)
	}
}

// TestRootServiceKeepsOneCap: a root service whose policy keeps
// CAP_NET_BIND_SERVICE gets that one and nothing else (SECBIT_NOROOT: uid
// 0 alone grants nothing at execve; the kept one comes through ambient).
func TestRootServiceKeepsOneCap(t *testing.T) {
	needRoot(t)
	spec := probeSpec(t, "bindlow", "mount")
	spec.UID, spec.GID, spec.Groups = 0, 0, []int{0}
	spec.KeepCaps = []int{unix.CAP_NET_BIND_SERVICE}
	r, _ := runProbe(t, spec)
	if got := r.status("Uid"); got != "0 0 0 0" {
		t.Errorf("Uid %q", got)
	}
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if got := r.status(k); got != "0000000000000400" {
			t.Errorf("%s %q, want only cap_net_bind_service", k, got)
		}
	}
	if got := r.calls["bindlow"]; got != 0 {
		t.Errorf("bindlow: %v", syscall.Errno(got))
	}
	if got := syscall.Errno(r.calls["mount"]); got != syscall.EPERM {
		t.Errorf("mount: %v", got)
	}
}

// TestRootServiceNoCaps: a service whose user is root keeps uid 0 and
// nothing else.
func TestRootServiceNoCaps(t *testing.T) {
	needRoot(t)
	spec := probeSpec(t, "bindlow", "mount")
	spec.UID, spec.GID, spec.Groups = 0, 0, []int{0}
	r, _ := runProbe(t, spec)
	if got := r.status("Uid"); got != "0 0 0 0" {
		t.Errorf("Uid %q", got)
	}
	for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"} {
		if got := r.status(k); got != zeroCaps {
			t.Errorf("%s %q, want none", k, got)
		}
	}
	if got := syscall.Errno(r.calls["bindlow"]); got != syscall.EACCES {
		t.Errorf("bindlow: %v, want EACCES", got)
	}
}

// TestChroot: a service in a chroot that holds only the (static) probe.
func TestChroot(t *testing.T) {
	needRoot(t)
	dir := tempDir(t)
	b, err := os.ReadFile(probe(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "probe"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	spec := probeSpec(t)
	spec.Chroot = dir
	spec.Path = "/probe"
	r, ev := runProbe(t, spec)
	if ev.Kind != Exited || ev.Status.ExitStatus() != 0 {
		t.Fatalf("event %+v", ev)
	}
	if got := r.sections["cwd"]; len(got) != 1 || got[0] != "/" {
		t.Errorf("cwd %q, want /", got)
	}
	// No /proc inside: the probe says so rather than reporting the host's.
	if got := r.sections["status"]; len(got) != 1 || !strings.HasPrefix(got[0], "error ") {
		t.Errorf("status inside an empty chroot: %q", got)
	}
}

// TestChildSeccompFallback: a filter that would kill the spawner's own
// loop (here: wait4) is installed in each child instead; the child is as
// confined and the spawner keeps working.
func TestChildSeccompFallback(t *testing.T) {
	needRoot(t)
	spec := probeSpec(t)
	spec.Seccomp = filter(t, "wait4")
	sp, rec := start(t, spec)
	if !sp.ChildSeccomp() {
		t.Fatal("filter killing wait4 installed in the spawner")
	}
	for conn := uint64(1); conn <= 3; conn++ {
		out, evs := run(t, sp, rec, conn, "")
		r := parseReport(out)
		if got := r.status("Seccomp"); got != "2" {
			t.Errorf("conn %d: Seccomp %q", conn, got)
		}
		if ev := evs[len(evs)-1]; ev.Kind != Exited || ev.Status.ExitStatus() != 0 {
			t.Errorf("conn %d: %+v", conn, ev)
		}
	}
	spec.Seccomp = filter(t)
	sp2, _ := start(t, spec)
	if sp2.ChildSeccomp() {
		t.Error("a filter allowing the spawner's calls was not installed in the spawner")
	}
	if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", sp2.Pid())); err == nil {
		if !strings.Contains(string(st), "Seccomp:\t2") {
			t.Errorf("spawner not in seccomp filter mode:\n%s", st)
		}
	}
}

// TestStartFails: a confinement step that fails starts nothing and names
// the step and errno.
func TestStartFails(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name    string
		mod     func(*policy.Spec)
		wantErr string
		step    string
	}{
		// A chroot that does not exist.
		{"chroot", func(s *policy.Spec) { s.Chroot = "/nonexistent-hinetd" },
			"spawn test: chroot(/nonexistent-hinetd): no such file or directory", "chroot"},
		// A working directory that does not exist (after chroot).
		{"chdir", func(s *policy.Spec) { s.Dir = "/nonexistent-hinetd" },
			"spawn test: chdir(/nonexistent-hinetd): no such file or directory", "chdir"},
		// A hard limit above the kernel's maximum for open files.
		{"rlimit", func(s *policy.Spec) {
			s.Rlimits = []policy.Rlimit{{Resource: unix.RLIMIT_NOFILE, Cur: 1 << 40, Max: 1 << 40}}
		}, "spawn test: setrlimit: operation not permitted", "setrlimit"},
		// A seccomp program the kernel refuses (a jump out of range).
		{"seccomp", func(s *policy.Spec) {
			s.Seccomp = []byte{0x15, 0, 9, 0, 0, 0, 0, 0} // JEQ with jf past the end
		}, "spawn test: seccomp: invalid argument", "seccomp"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := probeSpec(t)
			tc.mod(spec)
			sp, err := Start(spec, func(Event) { t.Error("event from a spawner that failed") })
			if err == nil {
				sp.Close()
				sp.Wait()
				t.Fatal("Start succeeded")
			}
			if err.Error() != tc.wantErr {
				t.Errorf("error %q, want %q", err, tc.wantErr)
			}
			var se *StepError
			if !errors.As(err, &se) || se.Step != tc.step {
				t.Errorf("error %#v, want a StepError for %s", err, tc.step)
			}
		})
	}
}

// TestStartRejects: values the kernel would misread, and Specs past the
// spawner's limits, never reach a spawner: Start runs policy.Validate, the
// one validation, and starts nothing.
func TestStartRejects(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*policy.Spec)
		wantErr string
	}{
		{"uid -1 means unchanged to setresuid", func(s *policy.Spec) { s.UID = -1 }, "spec test: ids: uid -1 / gid 65534 out of range"},
		{"gid 2^32-1 too", func(s *policy.Spec) { s.GID = 1<<32 - 1 }, "spec test: ids: uid 65534 / gid 4294967295 out of range"},
		{"NUL truncates a path", func(s *policy.Spec) { s.Path = "/bin/sh\x00x" }, `spec test: program: NUL byte in "/bin/sh\x00x"`},
		{"no argv", func(s *policy.Spec) { s.Argv = nil }, "spec test: program: empty argv"},
		{"relative chroot", func(s *policy.Spec) { s.Chroot = "var/empty" }, `spec test: paths: chroot "var/empty" is not absolute`},
		{"env without =", func(s *policy.Spec) { s.Env = []string{"PATH"} }, `spec test: env: bad environment entry "PATH"`},
		{"half an instruction", func(s *policy.Spec) { s.Seccomp, s.NoSeccomp = make([]byte, 12), false }, "spec test: seccomp: program of 12 bytes is not whole instructions"},
		{"no filter without the opt-out", func(s *policy.Spec) { s.NoSeccomp = false }, "spec test: seccomp: no filter, and no opt-out"},
		{"filter and opt-out", func(s *policy.Spec) { s.Seccomp = make([]byte, 8) }, "spec test: seccomp: both a filter and the opt-out"},
		{"soft above hard", func(s *policy.Spec) { s.Rlimits = []policy.Rlimit{{Resource: 7, Cur: 2, Max: 1}} }, "spec test: rlimits: rlimit nofile: soft 2 above hard 1"},
		{"capability 64", func(s *policy.Spec) { s.KeepCaps = []int{64} }, "spec test: caps: unknown capability 64"},
		{"capability 62", func(s *policy.Spec) { s.KeepCaps = []int{62} }, "spec test: caps: unknown capability 62"},
		// Validate's limit was 65536 groups, the encoder's and the
		// spawner's 4096 (issue 10 item 6): now spawner.h's, once.
		{"more groups than the spawner reads back", func(s *policy.Spec) { s.Groups = make([]int, 4097) },
			"spec test: ids: 4097 supplementary groups, at most 4096"},
		// Only Validate knew this one; Start did not call it (the old
		// comment said the spawner did) and the service got both.
		{"a variable set twice", func(s *policy.Spec) { s.Env = []string{"A=1", "A=2"} },
			`spec test: env: variable "A" set twice`},
	}
	for _, tc := range tests {
		spec := nobodySpec("/bin/sh", "sh")
		tc.mod(spec)
		sp, err := Start(spec, nil)
		if err == nil || err.Error() != tc.wantErr {
			t.Errorf("%s: error %v, want %q", tc.name, err, tc.wantErr)
		}
		if sp != nil {
			t.Errorf("%s: a spawner started", tc.name)
		}
	}
}

// dropCapsHelper runs in a re-executed test binary: it drops the daemon's
// capabilities to ParentCaps() without CAP_SETUID, prints every thread's
// capability sets, and tries to start a spawner for nobody.
func dropCapsHelper() {
	var keep []capability.Cap
	for _, c := range ParentCaps() {
		if c != capability.CAP_SETUID {
			keep = append(keep, c)
		}
	}
	if err := capdrop.Drop(keep); err != nil {
		fmt.Println("drop:", err)
		os.Exit(1)
	}
	// Threads the runtime started after the drop hold the same sets.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); runtime.LockOSThread(); time.Sleep(10 * time.Millisecond) }()
	}
	wg.Wait()
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	var status [][]byte
	for _, p := range tasks {
		if b, err := os.ReadFile(p); err == nil { // a thread may have exited
			status = append(status, b)
		}
	}
	fmt.Println("threads", len(status))
	for _, b := range status {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Cap") {
				fmt.Println(strings.Join(strings.Fields(l), " "))
			}
		}
	}
	fmt.Println("check:", capdrop.Check(capability.CAP_SETUID, capability.CAP_SETGID))
	_, err := Start(nobodySpec("/bin/true", "true"), nil)
	fmt.Println("start:", err)
	os.Exit(0)
}

// TestDropParentCaps: the daemon's drop reaches every thread, a missing
// capability is named by capdrop.Check, and a spawner that cannot
// switch uid fails its step and runs nothing.
func TestDropParentCaps(t *testing.T) {
	needRoot(t)
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), "HINETD_SANDBOX_HELPER=dropcaps")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	var want uint64
	for _, c := range ParentCaps() {
		if c != capability.CAP_SETUID {
			want |= 1 << uint(c)
		}
	}
	// What the test process lacks (this machine has no CAP_SYS_RESOURCE
	// in its bounding set) cannot be kept either.
	bnd := capLine(t, "CapBnd")
	wantHex := fmt.Sprintf("%016x", want&bnd)
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var threads int
	fmt.Sscanf(lines[0], "threads %d", &threads)
	if threads < 2 {
		t.Errorf("helper saw %d threads; the test means nothing with one\n%s", threads, out)
	}
	n := 0
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 2 || !strings.HasPrefix(f[0], "Cap") {
			continue
		}
		n++
		w := wantHex
		if f[0] == "CapInh:" || f[0] == "CapAmb:" {
			w = zeroCaps
		}
		if f[1] != w {
			t.Errorf("%s %s, want %s", f[0], f[1], w)
		}
	}
	if n != 5*threads {
		t.Errorf("%d capability lines for %d threads\n%s", n, threads, out)
	}
	for _, w := range []string{
		"check: missing capabilities cap_setuid (hinetd starts services as other users: run it as root)",
		"start: spawn test: setresuid(65534): operation not permitted",
	} {
		if !strings.Contains(string(out), w+"\n") {
			t.Errorf("helper output lacks %q:\n%s", w, out)
		}
	}
}

func capLine(t *testing.T, key string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, key+":"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/self/status", key)
	return 0
}

// unprivilegedHelper runs as nobody, without capabilities: it starts the
// probe under the default policy compiled for an unprivileged hinetd, and
// tries a Spec that would switch ids.
func unprivilegedHelper() {
	// Without root there are no namespaces to build: the isolation off.
	set, err := policy.Parse("unpriv", []byte("[default]\nprotect-system off\nprotect-home off\n"+
		"private-tmp off\nprivate-devices off\nprocess-scope off\n"))
	if err != nil {
		fmt.Println("parse:", err)
		os.Exit(1)
	}
	spec, _, err := set.CompileWith(policy.Service{Name: "unpriv", UID: os.Getuid(), GID: os.Getgid(),
		Program: os.Getenv("HINETD_PROBE"), Args: []string{"probe"}},
		policy.CompileOptions{Unprivileged: true, InvokingUID: os.Getuid(), Filter: compileOpts.Filter})
	if err != nil {
		fmt.Println("compile:", err)
		os.Exit(1)
	}
	spawnOncePrinted(spec)

	spec.SwitchIDs, spec.UID, spec.GID, spec.Groups = true, 1, 1, []int{1}
	_, err = Start(spec, nil)
	fmt.Println("=== switch")
	fmt.Println(err)
	os.Exit(0)
}

// TestUnprivileged: hinetd run without root still confines a service of
// the invoking user (no_new_privs, seccomp, rlimits, fds, env), and a
// service of another user fails its first id step.
func TestUnprivileged(t *testing.T) {
	needRoot(t) // to become nobody
	pr := probe(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(filepath.Dir(pr), "sandbox.test")
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = "/"
	cmd.Env = []string{"HINETD_SANDBOX_HELPER=unprivileged", "HINETD_PROBE=" + pr}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534, Groups: []uint32{65534}}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	if !strings.HasPrefix(string(out), "event exited 0\n") {
		t.Fatalf("helper:\n%s", out)
	}
	r := parseReport(string(out))
	for key, want := range map[string]string{
		"Uid":        "65534 65534 65534 65534",
		"NoNewPrivs": "1",
		"Seccomp":    "2",
		"CapPrm":     zeroCaps,
		"CapEff":     zeroCaps,
		"CapAmb":     zeroCaps,
		"SigBlk":     zeroCaps,
		"Umask":      "0027",
	} {
		if got := r.status(key); got != want {
			t.Errorf("%s %q, want %q", key, got, want)
		}
	}
	if got := r.sections["fds"]; strings.Join(got, " ") != "0 1 2" {
		t.Errorf("fds %q", got)
	}
	if got := r.sections["switch"]; len(got) != 1 || got[0] != "spawn unpriv: setgroups([1]): operation not permitted" {
		t.Errorf("id switch without root: %q", got)
	}
}

// dropCapsOKHelper: the production set-up. The daemon keeps ParentCaps,
// then starts the probe as nobody, keeping CAP_NET_BIND_SERVICE.
func dropCapsOKHelper() {
	if err := capdrop.Drop(ParentCaps()); err != nil {
		fmt.Println("drop:", err)
		os.Exit(1)
	}
	spec := nobodySpec(os.Getenv("HINETD_PROBE"), "probe", "bindlow")
	spec.KeepCaps = []int{unix.CAP_NET_BIND_SERVICE}
	spawnOncePrinted(spec)
	os.Exit(0)
}

// spawnOncePrinted is the common part of the helper processes above:
// start a spawner for spec, serve one connection, print "event KIND
// STATUS" and what the service wrote, and close the spawner. A step that
// fails is printed and ends the helper with status 1.
func spawnOncePrinted(spec *policy.Spec) {
	done := make(chan Event, 4)
	sp, err := Start(spec, func(ev Event) {
		if ev.Kind != Started {
			done <- ev
		}
	})
	if err != nil {
		fmt.Println("start:", err)
		os.Exit(1)
	}
	fds, _ := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err := sp.Spawn(1, fds[1]); err != nil {
		fmt.Println("spawn:", err)
		os.Exit(1)
	}
	unix.Close(fds[1])
	out, _ := io.ReadAll(os.NewFile(uintptr(fds[0]), "client"))
	ev := <-done
	fmt.Printf("event %v %d\n", ev.Kind, ev.Status.ExitStatus())
	os.Stdout.Write(out)
	sp.Close()
	sp.Wait()
}

// TestDropParentCapsThenSpawn: after the daemon's drop to ParentCaps, a
// spawner still confines fully and can grant a kept capability.
func TestDropParentCapsThenSpawn(t *testing.T) {
	needRoot(t)
	cmd := exec.Command("/proc/self/exe")
	cmd.Env = append(os.Environ(), "HINETD_SANDBOX_HELPER=dropcaps-ok", "HINETD_PROBE="+probe(t))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "event exited 0\n") {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	r := parseReport(string(out))
	for key, want := range map[string]string{
		"Uid": "65534 65534 65534 65534", "NoNewPrivs": "1",
		"CapPrm": "0000000000000400", "CapEff": "0000000000000400", "CapBnd": "0000000000000400",
		"CapAmb": "0000000000000400", "CapInh": "0000000000000400",
	} {
		if got := r.status(key); got != want {
			t.Errorf("%s %q, want %q", key, got, want)
		}
	}
	if got := r.calls["bindlow"]; got != 0 {
		t.Errorf("bindlow: %v", syscall.Errno(got))
	}
}

// TestIgnoredSignalsReset: a signal ignored in the daemon (nohup leaves
// SIGHUP ignored; Go keeps it so across exec) is not ignored in the
// service.
func TestIgnoredSignalsReset(t *testing.T) {
	needRoot(t)
	signal.Ignore(syscall.SIGHUP, syscall.SIGPIPE)
	defer signal.Reset(syscall.SIGHUP, syscall.SIGPIPE)
	sp, err := Start(probeSpec(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { sp.Close(); sp.Wait() }()
	st, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", sp.Pid()))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(st), "SigIgn:\t"+zeroCaps) {
		t.Errorf("spawner still ignores signals:\n%s", st)
	}
	r, _ := runProbe(t, probeSpec(t))
	if got := r.status("SigIgn"); got != zeroCaps {
		t.Errorf("SigIgn %q in the service", got)
	}
}

// testDir makes a directory for test programs that every user can reach
// and that is not under /tmp: a service has a /tmp of its own
// (private-tmp), and its spawner chroots after the mounts.
func testDir() (string, error) {
	base, err := filepath.Abs("../../bin/testbin")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp(base, "sandbox-")
	if err != nil {
		return "", err
	}
	return dir, os.Chmod(dir, 0o755)
}

// tempDir is testDir, removed when t ends.
func tempDir(t *testing.T) string {
	t.Helper()
	dir, err := testDir()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}
