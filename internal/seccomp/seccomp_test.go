package seccomp

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/testenv"
	"github.com/hinetd/hinetd/policy"
)

// The helper pattern of os/exec's tests: the test binary re-executed
// with HINETD_POLICY_HELPER set installs a filter on itself and makes one
// system call, so that the kernel, not our reading of the BPF, decides.
func TestMain(m *testing.M) {
	if name := os.Getenv("HINETD_POLICY_HELPER"); name != "" {
		os.Exit(helper(name))
	}
	os.Exit(m.Run())
}

// helper installs the BPF program in $HINETD_POLICY_BPF on every thread,
// with no_new_privs as the spawner sets it, then runs the probe name and
// prints "returned errno=N". A seccomp kill never gets to print.
func helper(name string) int {
	prog, err := os.ReadFile(os.Getenv("HINETD_POLICY_BPF"))
	if err != nil || len(prog) == 0 || len(prog)%8 != 0 {
		fmt.Println("helper: bad program", err)
		return 2
	}
	probe, ok := probes[name]
	if !ok {
		fmt.Println("helper: unknown probe", name)
		return 2
	}
	runtime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fmt.Println("helper: no_new_privs:", err)
		return 2
	}
	fprog := unix.SockFprog{Len: uint16(len(prog) / 8), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	start := time.Now()
	if _, _, e := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&fprog))); e != 0 {
		fmt.Println("helper: seccomp:", e)
		return 2
	}
	// For BenchmarkLoadDefault: the kernel's cost of installing it.
	fmt.Fprintf(os.Stderr, "load_ns=%d\n", time.Since(start).Nanoseconds())
	err = probe()
	var errno syscall.Errno
	if err != nil && !errors.As(err, &errno) {
		fmt.Println("helper:", err)
		return 2
	}
	fmt.Printf("returned errno=%d\n", int(errno))
	return 0
}

func rawErr(_, _ uintptr, e syscall.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

// probes are calls with arguments that do no harm should the filter let
// them through: missing mount points, a bad reboot magic, our own pid.
var probes = map[string]func() error{
	"getpid": func() error { return rawErr(unix.Syscall(unix.SYS_GETPID, 0, 0, 0)) },
	"mount": func() error {
		return unix.Mount("none", "/nonexistent/hinetd-test", "tmpfs", 0, "")
	},
	"ptrace": func() error {
		return rawErr(unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_PEEKUSR, uintptr(os.Getpid()), 0, 0, 0, 0))
	},
	"process_vm_readv": func() error {
		return rawErr(unix.Syscall6(unix.SYS_PROCESS_VM_READV, uintptr(os.Getpid()), 0, 0, 0, 0, 0))
	},
	"unshare-user":  func() error { return unix.Unshare(unix.CLONE_NEWUSER) },
	"unshare-files": func() error { return unix.Unshare(unix.CLONE_FILES) },
	"clone3":        func() error { return rawErr(unix.Syscall(unix.SYS_CLONE3, 0, 0, 0)) },
	"keyctl": func() error {
		return rawErr(unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffd), 0))
	},
	"bpf": func() error { return rawErr(unix.Syscall(unix.SYS_BPF, 0xffff, 0, 0)) },
	"perf_event_open": func() error {
		return rawErr(unix.Syscall6(unix.SYS_PERF_EVENT_OPEN, 0, 0, 0, 0, 0, 0))
	},
	"userfaultfd": func() error { return rawErr(unix.Syscall(unix.SYS_USERFAULTFD, 0xffff, 0, 0)) },
	"iopl":        func() error { return rawErr(unix.Syscall(unix.SYS_IOPL, 0, 0, 0)) },
	"reboot":      func() error { return rawErr(unix.Syscall6(unix.SYS_REBOOT, 0, 0, 0, 0, 0, 0)) },
	"kexec_load":  func() error { return rawErr(unix.Syscall6(unix.SYS_KEXEC_LOAD, 0, 0, 0, 0xdead0000, 0, 0)) },
	"swapon":      func() error { return rawErr(unix.Syscall(unix.SYS_SWAPON, 0, 0, 0)) },
	"settimeofday": func() error {
		return rawErr(unix.Syscall(unix.SYS_SETTIMEOFDAY, 0, 0, 0))
	},
	"init_module":     func() error { return rawErr(unix.Syscall(unix.SYS_INIT_MODULE, 0, 0, 0)) },
	"personality-get": func() error { return rawErr(unix.Syscall(unix.SYS_PERSONALITY, 0xffffffff, 0, 0)) },
	"personality-bsd": func() error { return rawErr(unix.Syscall(unix.SYS_PERSONALITY, 0x0006, 0, 0)) },
	// getpid through the x32 ABI (syscall number | __X32_SYSCALL_BIT).
	"x32-getpid": func() error { return rawErr(unix.Syscall(X32SyscallBit|unix.SYS_GETPID, 0, 0, 0)) },
	// A dynamically linked shell that forks a pipeline, reads files and
	// resolves a name through NSS: an ordinary program under the filter.
	"exec-sh": func() error {
		return unix.Exec("/bin/sh", []string{"sh", "-c",
			"n=$(ls / | wc -l) && test $n -gt 3 && getent hosts localhost >/dev/null && date >/dev/null && echo returned errno=0"},
			[]string{policy.DefaultEnvPath})
	},
	// mseal (462, Linux 6.10) is newer than libseccomp 2.5.4's table.
	"mseal": func() error { return rawErr(unix.Syscall(462, 0, 0, 0)) },
	"connect": func() error {
		fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		port := 0
		fmt.Sscan(os.Getenv("HINETD_POLICY_PORT"), &port)
		return unix.Connect(fd, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}})
	},
}

// runHelper runs probe under prog and returns its output and how it ended.
func runHelper(t testing.TB, prog []byte, probe string, env ...string) (string, *os.ProcessState) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "prog.bpf")
	if err := os.WriteFile(path, prog, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HINETD_POLICY_HELPER="+probe, "HINETD_POLICY_BPF="+path)
	cmd.Env = append(cmd.Env, env...)
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out)), cmd.ProcessState
}

// TestDefaultFilterKernel loads the default filter in a real process and
// checks what the kernel does with forbidden and ordinary calls.
func TestDefaultFilterKernel(t *testing.T) {
	sp := compileDefault(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)

	const killed = "SIGSYS"
	msealWant := killed // a libseccomp that knows mseal: denied like any unlisted call
	if lastKnownSyscall() < 462 {
		msealWant = fmt.Sprintf("returned errno=%d", unix.ENOSYS)
	}
	tests := []struct {
		probe string
		want  string // killed, or the helper's output
	}{
		{"getpid", "returned errno=0"},
		{"mseal", msealWant},                                      // ENOSYS if newer than libseccomp
		{"exec-sh", "returned errno=0"},                           // sh, fork, pipes, NSS
		{"connect", "returned errno=0"},                           // socket+connect on loopback
		{"unshare-files", "returned errno=0"},                     // no namespace flag
		{"personality-get", "returned errno=0"},                   // query only
		{"clone3", fmt.Sprintf("returned errno=%d", unix.ENOSYS)}, // libc falls back to clone
		{"mount", killed},                                         // @mount
		{"ptrace", killed},                                        // @debug
		{"process_vm_readv", killed},                              // @debug
		{"unshare-user", killed},                                  // new user namespace
		{"keyctl", killed},                                        // @keyring
		{"bpf", killed},                                           // @privileged
		{"perf_event_open", killed},                               // @debug
		{"userfaultfd", killed},                                   // @privileged
		{"iopl", killed},                                          // @raw-io
		{"reboot", killed},                                        // @reboot
		{"kexec_load", killed},                                    // @reboot
		{"swapon", killed},                                        // @swap
		{"settimeofday", killed},                                  // @clock
		{"init_module", killed},                                   // @module
		{"personality-bsd", killed},                               // personality change
		{"x32-getpid", killed},                                    // x32 ABI
	}
	for _, tt := range tests {
		t.Run(tt.probe, func(t *testing.T) {
			out, st := runHelper(t, sp.Seccomp, tt.probe, "HINETD_POLICY_PORT="+port)
			ws := st.Sys().(syscall.WaitStatus)
			got := out
			if ws.Signaled() {
				got = ws.Signal().String()
				if ws.Signal() == syscall.SIGSYS {
					got = killed
				}
			} else if ws.ExitStatus() != 0 {
				got = fmt.Sprintf("exit %d: %s", ws.ExitStatus(), out)
			}
			if got != tt.want {
				t.Errorf("%s: got %q, want %q", tt.probe, got, tt.want)
			}
		})
	}
}

// TestErrnoActionKernel: with "seccomp-action errno EPERM" a forbidden
// call fails instead of killing.
func TestErrnoActionKernel(t *testing.T) {
	s, err := policy.Parse("t.policy", []byte("[default]\nseccomp-action errno EPERM\n"))
	if err != nil {
		t.Fatal(err)
	}
	sp, _, err := s.CompileWith(policy.Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	out, st := runHelper(t, sp.Seccomp, "mount")
	if want := fmt.Sprintf("returned errno=%d", unix.EPERM); out != want || !st.Success() {
		t.Errorf("mount under errno EPERM: got %q (%v), want %q", out, st, want)
	}
	// A foreign architecture still kills: the bad-arch action is fixed.
	out, st = runHelper(t, sp.Seccomp, "x32-getpid")
	if ws := st.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGSYS {
		t.Errorf("x32 under errno EPERM: got %q (%v), want SIGSYS", out, st)
	}
}

// testOpts compile as root would.
var testOpts = policy.CompileOptions{Filter: &Compiler{}}

func mustParse(t *testing.T, text string) *policy.Set {
	t.Helper()
	s, err := policy.Parse("p", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func compileDefault(t testing.TB) *policy.Spec {
	t.Helper()
	var s policy.Set
	sp, _, err := s.CompileWith(policy.Service{Name: "probe", User: "root", Program: "/bin/true"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func nr(t *testing.T, name string) int32 {
	t.Helper()
	n, err := libseccomp.GetSyscallFromNameByArch(name, libseccomp.ArchAMD64)
	if err != nil {
		t.Fatalf("syscall %q: %v", name, err)
	}
	return int32(n)
}

// TestDefaultFilterBPF runs every call of every group through the
// interpreter: allowed groups allow, denied groups kill.
func TestDefaultFilterBPF(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		testenv.Skip(t, "syscall numbers checked for amd64")
	}
	sp := compileDefault(t)
	allowed := policy.Expand(append(policy.DefaultGroups(), policy.SpawnerGroup)...)
	special := map[string]bool{"clone": true, "clone3": true, "unshare": true, "personality": true,
		// Restricted by argument (TestRestrictBPF).
		"socket": true, "socketpair": true, "chmod": true, "fchmod": true, "fchmodat": true, "fchmodat2": true,
		"mknod": true, "mknodat": true, "creat": true, "open": true, "openat": true, "openat2": true,
		// Logged without CAP_SETGID (TestUnprivilegedBPF).
		"setgroups": true}
	for _, g := range policy.Groups() {
		for _, name := range g.Syscalls {
			if strings.HasPrefix(name, "@") || special[name] {
				continue
			}
			n, err := libseccomp.GetSyscallFromNameByArch(name, libseccomp.ArchAMD64)
			if err != nil || n < 0 {
				continue // not an x86_64 call
			}
			want := uint32(RetKillProcess)
			if allowed[name] {
				want = RetAllow
			}
			got, err := Eval(sp.Seccomp, Data{Nr: int32(n), Arch: AuditArchX8664})
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s %s (%d): got %#x, want %#x", g.Name, name, n, got, want)
			}
			if g.Denied && allowed[name] {
				t.Errorf("%s: %s is in a denied group and allowed by default", g.Name, name)
			}
		}
	}

	flags := func(f uint64) [6]uint64 { return [6]uint64{f} }
	tests := []struct {
		name string
		d    Data
		want uint32
	}{
		{"clone fork", Data{Nr: nr(t, "clone"), Arch: AuditArchX8664, Args: flags(uint64(unix.SIGCHLD))}, RetAllow},
		{"clone thread", Data{Nr: nr(t, "clone"), Arch: AuditArchX8664, Args: flags(unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND)}, RetAllow},
		{"clone newuser", Data{Nr: nr(t, "clone"), Arch: AuditArchX8664, Args: flags(unix.CLONE_NEWUSER | uint64(unix.SIGCHLD))}, RetKillProcess},
		{"clone newnet", Data{Nr: nr(t, "clone"), Arch: AuditArchX8664, Args: flags(unix.CLONE_NEWNET)}, RetKillProcess},
		{"clone newuser high bits", Data{Nr: nr(t, "clone"), Arch: AuditArchX8664, Args: flags(1<<40 | unix.CLONE_NEWUSER)}, RetKillProcess},
		{"clone3", Data{Nr: nr(t, "clone3"), Arch: AuditArchX8664}, RetErrno | uint32(unix.ENOSYS)},
		{"unshare files", Data{Nr: nr(t, "unshare"), Arch: AuditArchX8664, Args: flags(unix.CLONE_FILES)}, RetAllow},
		{"unshare newuser", Data{Nr: nr(t, "unshare"), Arch: AuditArchX8664, Args: flags(unix.CLONE_NEWUSER)}, RetKillProcess},
		{"unshare newns", Data{Nr: nr(t, "unshare"), Arch: AuditArchX8664, Args: flags(unix.CLONE_NEWNS)}, RetKillProcess},
		{"personality query", Data{Nr: nr(t, "personality"), Arch: AuditArchX8664, Args: flags(0xffffffff)}, RetAllow},
		{"personality linux", Data{Nr: nr(t, "personality"), Arch: AuditArchX8664, Args: flags(0)}, RetAllow},
		{"personality bsd", Data{Nr: nr(t, "personality"), Arch: AuditArchX8664, Args: flags(6)}, RetKillProcess},
		{"personality no-randomize", Data{Nr: nr(t, "personality"), Arch: AuditArchX8664, Args: flags(0x0040000)}, RetKillProcess},
		{"x32 read", Data{Nr: X32SyscallBit | 0, Arch: AuditArchX8664}, RetKillProcess},
		{"x32 getpid", Data{Nr: X32SyscallBit | 39, Arch: AuditArchX8664}, RetKillProcess},
		{"i386 getpid", Data{Nr: 20, Arch: AuditArchI386}, RetKillProcess},
		{"newer than libseccomp", Data{Nr: int32(lastKnownSyscall() + 1), Arch: AuditArchX8664}, RetErrno | uint32(unix.ENOSYS)},
		{"last newer", Data{Nr: int32(lastKnownSyscall() + newerSyscalls), Arch: AuditArchX8664}, RetErrno | uint32(unix.ENOSYS)},
		{"past the newer range", Data{Nr: int32(lastKnownSyscall() + newerSyscalls + 1), Arch: AuditArchX8664}, RetKillProcess},
		{"unknown number", Data{Nr: 1000, Arch: AuditArchX8664}, RetKillProcess},
		{"negative number", Data{Nr: -1, Arch: AuditArchX8664}, RetKillProcess},
	}
	for _, tt := range tests {
		got, err := Eval(sp.Seccomp, tt.d)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: got %#x, want %#x", tt.name, got, tt.want)
		}
	}
}

// TestSpawnerAllowed: the smallest filters Compile can produce, for each
// seccomp-action, let the spawner's own calls through with the arguments it
// passes (policy.SpawnerCalls, generated from the list strace checked), so
// that it installs the filter once and every child inherits it. Before
// issue 10 the list lacked sendto (glibc's send()): a policy of
// "seccomp-groups @default @basic-io" killed the spawner.
func TestSpawnerAllowed(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		testenv.Skip(t, "syscall numbers checked for amd64")
	}
	for _, text := range []string{
		"", // the default
		"[default]\nseccomp-groups @timer\nseccomp-action errno EPERM\n",
		"[default]\nseccomp-groups @default @basic-io\n",
		// Nothing but @spawner: every group named is denied again.
		"[default]\nseccomp-groups @swap\nseccomp-deny @swap\n",
		"[default]\nseccomp-groups @swap\nseccomp-deny @swap\nseccomp-action log\n",
		"[default]\nseccomp-groups @swap\nseccomp-deny @swap\nseccomp-action errno EPERM\n",
	} {
		s := mustParse(t, text)
		sp, notes, err := s.CompileWith(policy.Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		if len(notes) != 0 {
			t.Errorf("policy %q: notes %q", text, notes)
		}
		for _, c := range policy.SpawnerCalls() {
			d := Data{Nr: nr(t, c.Name), Arch: AuditArchX8664}
			copy(d.Args[:], c.Args[:])
			got, err := Eval(sp.Seccomp, d)
			if err != nil || got != RetAllow {
				t.Errorf("policy %q: spawner's %s%v gets %#x, %v", text, c.Name, c.Args, got, err)
			}
		}
	}
}

// TestSpawnerDenied: a policy may deny a call of @spawner. Its service
// then gets the filter it asked for (the call is denied), installed in
// each child; the note says so.
func TestSpawnerDenied(t *testing.T) {
	s := mustParse(t, "[service x]\nseccomp-deny sendto\n")
	sp, notes, err := s.CompileWith(policy.Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Eval(sp.Seccomp, Data{Nr: nr(t, "sendto"), Arch: AuditArchX8664}); got != RetKillProcess {
		t.Errorf("sendto gets %#x, want kill", got)
	}
	want := "p:2: service x: seccomp-deny removes sendto, which the spawner calls itself: the filter is " +
		"installed in each child before execve, not once in the spawner (about 50 µs more per connection)"
	if len(notes) != 1 || notes[0].String() != want {
		t.Errorf("notes %q, want %q", notes, want)
	}
}

// TestCompileSeccompRules: additions and removals reach the program.
func TestCompileSeccompRules(t *testing.T) {
	s := mustParse(t, "[service x]\nseccomp-allow @debug\nseccomp-deny @chown mkdir\nseccomp-action errno EACCES\n")
	sp, _, err := s.CompileWith(policy.Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	verdict := func(name string) uint32 {
		v, err := Eval(sp.Seccomp, Data{Nr: nr(t, name), Arch: AuditArchX8664})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	deny := uint32(RetErrno | unix.EACCES)
	for name, want := range map[string]uint32{
		"ptrace": RetAllow, "perf_event_open": RetAllow, // added @debug
		"fchown": deny, "mkdir": deny, // removed
		"mount": deny, "read": RetAllow,
	} {
		if got := verdict(name); got != want {
			t.Errorf("%s: got %#x, want %#x", name, got, want)
		}
	}
}

// TestVerifyProgram: the program check refuses a program that lets x32
// or a new user namespace through.
func TestVerifyProgram(t *testing.T) {
	sp := compileDefault(t)
	if err := Verify(sp.Seccomp); err != nil {
		t.Fatalf("default program: %v", err)
	}
	allowAll := []byte{0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f} // ret ALLOW
	if err := Verify(allowAll); err == nil || err.Error() != "program check: i386 call gets 0x7fff0000" {
		t.Errorf("allow-all program: %v", err)
	}
	if err := Verify(allowAll[:4]); err == nil {
		t.Error("truncated program passed")
	}
}

// BenchmarkCompileDefault: compiling the default filter from nothing (a
// fresh Set each time, so the per-Set cache does not help). Reports the
// program's size in BPF instructions.
func BenchmarkCompileDefault(b *testing.B) {
	svc := policy.Service{Name: "bench", User: "root", Program: "/bin/true"}
	var insns int
	for b.Loop() {
		var s policy.Set
		sp, _, err := s.CompileWith(svc, testOpts)
		if err != nil {
			b.Fatal(err)
		}
		insns = len(sp.Seccomp) / 8
	}
	b.ReportMetric(float64(insns), "bpf-insns")
}

// BenchmarkCompileCached: a second service with the same rules, as at a
// reload with many services on the default policy.
func BenchmarkCompileCached(b *testing.B) {
	var s policy.Set
	svc := policy.Service{Name: "bench", User: "root", Program: "/bin/true"}
	if _, _, err := s.CompileWith(svc, testOpts); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := s.CompileWith(svc, testOpts); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadDefault: what installing the default filter costs in the
// kernel (seccomp(SECCOMP_SET_MODE_FILTER), measured inside a helper
// process around the call), reported as load-µs. ns/op is the whole
// helper's fork+exec and means nothing here. The spawner pays load-µs
// once per service; a design that loaded it per child would pay it per
// connection.
func BenchmarkLoadDefault(b *testing.B) {
	sp := compileDefault(b)
	us := loadMicros(b, sp.Seccomp)
	b.ReportMetric(float64(len(sp.Seccomp)/8), "bpf-insns")
	b.ReportMetric(us, "load-µs")
}

// BenchmarkLoadLinear: the same allow-list in libseccomp's default linear
// layout, for comparison with the binary tree buildFilter asks for.
func BenchmarkLoadLinear(b *testing.B) {
	names := policy.Expand(append(policy.DefaultGroups(), policy.SpawnerGroup)...)
	f, err := libseccomp.NewFilter(libseccomp.ActKillProcess)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Release()
	for n := range names {
		nr, err := libseccomp.GetSyscallFromName(n)
		if err != nil || nr < 0 {
			continue
		}
		if err := f.AddRule(nr, libseccomp.ActAllow); err != nil {
			b.Fatal(err)
		}
	}
	prog, err := exportBPF(f)
	if err != nil {
		b.Fatal(err)
	}
	us := loadMicros(b, prog)
	b.ReportMetric(float64(len(prog)/8), "bpf-insns")
	b.ReportMetric(us, "load-µs")
}

// loadMicros runs one helper per iteration and averages the load time it
// reports.
func loadMicros(b *testing.B, prog []byte) float64 {
	path := filepath.Join(b.TempDir(), "prog.bpf")
	if err := os.WriteFile(path, prog, 0o600); err != nil {
		b.Fatal(err)
	}
	var total time.Duration
	var n int
	for b.Loop() {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "HINETD_POLICY_HELPER=getpid", "HINETD_POLICY_BPF="+path)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if out, err := cmd.Output(); err != nil {
			b.Fatalf("helper: %v: %s %s", err, out, stderr.String())
		}
		var ns int64
		if _, err := fmt.Sscanf(stderr.String(), "load_ns=%d", &ns); err != nil {
			b.Fatalf("helper stderr %q", stderr.String())
		}
		total += time.Duration(ns)
		n++
	}
	return float64(total.Microseconds()) / float64(max(n, 1))
}

// ldAbs is "ld [k]; ret ALLOW": a load at byte offset k of seccomp_data.
func ldAbs(k uint32) []byte {
	return []byte{0x20, 0, 0, 0, byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24),
		0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f}
}

// TestEvalOffsetWrap: a load offset whose k+4 wraps past 2^32
// (0xfffffffc and up) is refused; the old check k+4 > 64 let it through to
// an index out of range (a panic). The last good offset still loads.
func TestEvalOffsetWrap(t *testing.T) {
	for _, k := range []uint32{0xfffffffc, 0xfffffffd, 0xffffffff, 64, 61} {
		if got, err := Eval(ldAbs(k), Data{}); err == nil {
			t.Errorf("ld [%#x] gives %#x, want an error", k, got)
		}
	}
	if got, err := Eval(ldAbs(60), Data{Args: [6]uint64{5: 7 << 32}}); err != nil || got != RetAllow {
		t.Errorf("ld [60]: %#x, %v", got, err)
	}
}

// FuzzEval: the evaluator on any program and any seccomp_data never
// panics and never loops. Seeds: the default program, the wrapping load,
// and a backward-looking jump.
func FuzzEval(f *testing.F) {
	f.Add(compileDefault(f).Seccomp, int32(0), uint32(AuditArchX8664), uint64(0))
	f.Add(ldAbs(0xfffffffc), int32(1), uint32(AuditArchX8664), uint64(0))
	f.Add([]byte{0x05, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}, int32(0), uint32(0), uint64(0)) // ja -1
	f.Fuzz(func(t *testing.T, prog []byte, nr int32, arch uint32, arg0 uint64) {
		_, _ = Eval(prog, Data{Nr: nr, Arch: arch, Args: [6]uint64{arg0}})
	})
}

// TestRestrictBPF: the default filter refuses setuid/setgid modes with
// EPERM (RestrictSUIDSGID) and socket families other than AF_UNIX,
// AF_INET, AF_INET6 with EAFNOSUPPORT, and lets the rest of those calls
// through (issue 11).
func TestRestrictBPF(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		testenv.Skip(t, "syscall numbers checked for amd64")
	}
	sp := compileDefault(t)
	const (
		eperm  = RetErrno | uint32(unix.EPERM)
		eafno  = RetErrno | uint32(unix.EAFNOSUPPORT)
		enosys = RetErrno | uint32(unix.ENOSYS)
	)
	tests := []struct {
		call string
		args [6]uint64
		want uint32
	}{
		{"chmod", [6]uint64{0, 0o4755}, eperm},
		{"chmod", [6]uint64{0, 0o2755}, eperm},
		{"chmod", [6]uint64{0, 0o1777}, RetAllow},
		{"fchmod", [6]uint64{3, 0o6755}, eperm},
		{"fchmodat", [6]uint64{3, 0, 0o4700}, eperm},
		{"fchmodat", [6]uint64{3, 0, 0o755}, RetAllow},
		{"mknodat", [6]uint64{3, 0, unix.S_IFREG | 0o4755}, eperm},
		{"creat", [6]uint64{0, 0o2700}, eperm},
		{"openat", [6]uint64{3, 0, unix.O_CREAT | unix.O_WRONLY, 0o4755}, eperm},
		{"openat", [6]uint64{3, 0, unix.O_TMPFILE | unix.O_RDWR, 0o2755}, eperm},
		{"openat", [6]uint64{3, 0, unix.O_CREAT | unix.O_WRONLY, 0o644}, RetAllow},
		// Without O_CREAT the mode is not read: a stray value passes.
		{"openat", [6]uint64{3, 0, unix.O_RDONLY, 0o4755}, RetAllow},
		{"openat2", [6]uint64{3, 0, 0, 24}, enosys},
		{"socket", [6]uint64{unix.AF_INET, unix.SOCK_STREAM}, RetAllow},
		{"socket", [6]uint64{unix.AF_INET6, unix.SOCK_DGRAM}, RetAllow},
		{"socket", [6]uint64{unix.AF_UNIX, unix.SOCK_STREAM}, RetAllow},
		{"socket", [6]uint64{unix.AF_NETLINK, unix.SOCK_RAW}, eafno},
		{"socket", [6]uint64{unix.AF_PACKET, unix.SOCK_RAW}, eafno},
		{"socket", [6]uint64{1<<32 | unix.AF_INET, unix.SOCK_STREAM}, eafno},
		{"socket", [6]uint64{4000, 0}, eafno},
		{"socketpair", [6]uint64{unix.AF_NETLINK, 0}, eafno},
		{"socketpair", [6]uint64{unix.AF_UNIX, 0}, RetAllow},
	}
	for _, tt := range tests {
		got, err := Eval(sp.Seccomp, Data{Nr: nr(t, tt.call), Arch: AuditArchX8664, Args: tt.args})
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("%s(%#o): got %#x, want %#x", tt.call, tt.args[:4], got, tt.want)
		}
	}
}

// TestUnprivilegedBPF: a service without CAP_SETGID, CAP_SETUID or
// CAP_SYS_CHROOT has setgroups, chroot, and setgid or setuid to an id
// other than its own, logged instead of allowed (the kernel then fails
// them EPERM and its record says which call, issue 12 item 4); with the
// capability kept they are allowed, as before.
//
// Only for a service run as root: one run as another user (daemon here)
// has nothing logged, since such services call setuid(0) on purpose to
// check that it fails (dovecot's imap does on every connection).
func TestUnprivilegedBPF(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		testenv.Skip(t, "syscall numbers checked for amd64")
	}
	s, err := policy.Parse("p", []byte("[service bare daemon]\nseccomp-allow chroot\n"+
		"[service caps]\nseccomp-allow chroot\ncaps CAP_SETUID CAP_SETGID CAP_SYS_CHROOT\n"))
	if err != nil {
		t.Fatal(err)
	}
	compile := func(name, user string) []byte {
		sp, _, err := s.CompileWith(policy.Service{Name: name, User: user, Program: "/bin/true"}, testOpts)
		if err != nil {
			t.Fatal(err)
		}
		return sp.Seccomp
	}
	progs := map[string][]byte{"without": compile("bare", "root"), "with caps": compile("caps", "root"),
		"as daemon": compile("daemon", "daemon")}
	for _, tt := range []struct {
		call                 string
		arg0                 uint64
		bare, caps, asDaemon uint32
	}{
		{"setgroups", 0, RetLog, RetAllow, RetAllow},
		{"setgroups", 3, RetLog, RetAllow, RetAllow},
		{"chroot", 0, RetLog, RetAllow, RetAllow},
		// The service's own id: the kernel allows it without privilege.
		{"setgid", 0, RetAllow, RetAllow, RetAllow},
		{"setuid", 0, RetAllow, RetAllow, RetAllow},
		{"setgid", 1, RetLog, RetAllow, RetAllow},
		{"setgid", 1000, RetLog, RetAllow, RetAllow},
		{"setuid", 1000, RetLog, RetAllow, RetAllow},
		{"setuid", 1 << 32, RetLog, RetAllow, RetAllow},
		// Not logged (PrivilegeCalls says why): allowed as before.
		{"setresgid", 1000, RetAllow, RetAllow, RetAllow},
		{"setresuid", 1000, RetAllow, RetAllow, RetAllow},
	} {
		for name, want := range map[string]uint32{"without": tt.bare, "with caps": tt.caps, "as daemon": tt.asDaemon} {
			got, err := Eval(progs[name], Data{Nr: nr(t, tt.call), Arch: AuditArchX8664, Args: [6]uint64{tt.arg0}})
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("%s(%d) %s: got %#x, want %#x", tt.call, tt.arg0, name, got, want)
			}
		}
	}
}
