package policy

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

	seccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/testenv"
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
	"x32-getpid": func() error { return rawErr(unix.Syscall(x32SyscallBit|unix.SYS_GETPID, 0, 0, 0)) },
	// A dynamically linked shell that forks a pipeline, reads files and
	// resolves a name through NSS: an ordinary program under the filter.
	"exec-sh": func() error {
		return unix.Exec("/bin/sh", []string{"sh", "-c",
			"n=$(ls / | wc -l) && test $n -gt 3 && getent hosts localhost >/dev/null && date >/dev/null && echo returned errno=0"},
			[]string{DefaultEnvPath})
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
	s, err := Parse("t.policy", []byte("[default]\nseccomp-action errno EPERM\n"))
	if err != nil {
		t.Fatal(err)
	}
	sp, _, err := s.Compile(Service{Name: "x", User: "root", Program: "/bin/true"})
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

func compileDefault(t testing.TB) *Spec {
	t.Helper()
	var s Set
	sp, _, err := s.Compile(Service{Name: "probe", User: "root", Program: "/bin/true"})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func nr(t *testing.T, name string) int32 {
	t.Helper()
	n, err := seccomp.GetSyscallFromNameByArch(name, seccomp.ArchAMD64)
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
	allowed := map[string]bool{}
	for _, g := range append(defaultGroups, SpawnerGroup) {
		expand(g, allowed)
	}
	special := map[string]bool{"clone": true, "clone3": true, "unshare": true, "personality": true}
	for _, g := range Groups() {
		for _, name := range g.Syscalls {
			if strings.HasPrefix(name, "@") || special[name] {
				continue
			}
			n, err := seccomp.GetSyscallFromNameByArch(name, seccomp.ArchAMD64)
			if err != nil || n < 0 {
				continue // not an x86_64 call
			}
			want := uint32(retKillProcess)
			if allowed[name] {
				want = retAllow
			}
			got, err := runBPF(sp.Seccomp, seccompData{nr: int32(n), arch: auditArchX8664})
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
		d    seccompData
		want uint32
	}{
		{"clone fork", seccompData{nr: nr(t, "clone"), arch: auditArchX8664, args: flags(uint64(unix.SIGCHLD))}, retAllow},
		{"clone thread", seccompData{nr: nr(t, "clone"), arch: auditArchX8664, args: flags(unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND)}, retAllow},
		{"clone newuser", seccompData{nr: nr(t, "clone"), arch: auditArchX8664, args: flags(unix.CLONE_NEWUSER | uint64(unix.SIGCHLD))}, retKillProcess},
		{"clone newnet", seccompData{nr: nr(t, "clone"), arch: auditArchX8664, args: flags(unix.CLONE_NEWNET)}, retKillProcess},
		{"clone newuser high bits", seccompData{nr: nr(t, "clone"), arch: auditArchX8664, args: flags(1<<40 | unix.CLONE_NEWUSER)}, retKillProcess},
		{"clone3", seccompData{nr: nr(t, "clone3"), arch: auditArchX8664}, retErrno | uint32(unix.ENOSYS)},
		{"unshare files", seccompData{nr: nr(t, "unshare"), arch: auditArchX8664, args: flags(unix.CLONE_FILES)}, retAllow},
		{"unshare newuser", seccompData{nr: nr(t, "unshare"), arch: auditArchX8664, args: flags(unix.CLONE_NEWUSER)}, retKillProcess},
		{"unshare newns", seccompData{nr: nr(t, "unshare"), arch: auditArchX8664, args: flags(unix.CLONE_NEWNS)}, retKillProcess},
		{"personality query", seccompData{nr: nr(t, "personality"), arch: auditArchX8664, args: flags(0xffffffff)}, retAllow},
		{"personality linux", seccompData{nr: nr(t, "personality"), arch: auditArchX8664, args: flags(0)}, retAllow},
		{"personality bsd", seccompData{nr: nr(t, "personality"), arch: auditArchX8664, args: flags(6)}, retKillProcess},
		{"personality no-randomize", seccompData{nr: nr(t, "personality"), arch: auditArchX8664, args: flags(0x0040000)}, retKillProcess},
		{"x32 read", seccompData{nr: x32SyscallBit | 0, arch: auditArchX8664}, retKillProcess},
		{"x32 getpid", seccompData{nr: x32SyscallBit | 39, arch: auditArchX8664}, retKillProcess},
		{"i386 getpid", seccompData{nr: 20, arch: auditArchI386}, retKillProcess},
		{"newer than libseccomp", seccompData{nr: int32(lastKnownSyscall() + 1), arch: auditArchX8664}, retErrno | uint32(unix.ENOSYS)},
		{"last newer", seccompData{nr: int32(lastKnownSyscall() + newerSyscalls), arch: auditArchX8664}, retErrno | uint32(unix.ENOSYS)},
		{"past the newer range", seccompData{nr: int32(lastKnownSyscall() + newerSyscalls + 1), arch: auditArchX8664}, retKillProcess},
		{"unknown number", seccompData{nr: 1000, arch: auditArchX8664}, retKillProcess},
		{"negative number", seccompData{nr: -1, arch: auditArchX8664}, retKillProcess},
	}
	for _, tt := range tests {
		got, err := runBPF(sp.Seccomp, tt.d)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: got %#x, want %#x", tt.name, got, tt.want)
		}
	}
}

// TestSpawnerAllowed: every filter lets the spawner's own loop through,
// with the arguments it uses (this list mirrors hs_needed in
// internal/sandbox/spawner.c), so that it can install the filter once and
// every child inherits it. Checked for the default and for a policy that
// names a single small group.
func TestSpawnerAllowed(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		testenv.Skip(t, "syscall numbers checked for amd64")
	}
	needed := []struct {
		name string
		args [6]uint64
	}{
		{"ppoll", [6]uint64{0, 2}},
		{"recvmsg", [6]uint64{0, 0, unix.MSG_CMSG_CLOEXEC}},
		{"sendmsg", [6]uint64{0, 0, unix.MSG_NOSIGNAL}},
		{"read", [6]uint64{}},
		{"close", [6]uint64{}},
		{"wait4", [6]uint64{0xffffffffffffffff, 0, unix.WNOHANG}},
		{"clone", [6]uint64{unix.CLONE_VM | unix.CLONE_VFORK | uint64(unix.SIGCHLD)}},
		{"dup3", [6]uint64{0, 2}},
		{"close_range", [6]uint64{3, 0xffffffff}},
		{"rt_sigprocmask", [6]uint64{unix.SIG_SETMASK, 0, 0, 8}},
		{"setsid", [6]uint64{}},
		{"getresuid", [6]uint64{}},
		{"getresgid", [6]uint64{}},
		{"prlimit64", [6]uint64{0, unix.RLIMIT_CPU}},
		{"execve", [6]uint64{}},
		{"exit_group", [6]uint64{}},
		{"clock_gettime", [6]uint64{unix.CLOCK_MONOTONIC}},
		{"brk", [6]uint64{}},
		{"mmap", [6]uint64{}},
		{"munmap", [6]uint64{}},
	}
	for _, text := range []string{"", "[default]\nseccomp-groups @timer\nseccomp-action errno EPERM\n"} {
		s := mustParse(t, text)
		sp, _, err := s.Compile(Service{Name: "x", User: "root", Program: "/bin/true"})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range needed {
			got, err := runBPF(sp.Seccomp, seccompData{nr: nr(t, n.name), arch: auditArchX8664, args: n.args})
			if err != nil || got != retAllow {
				t.Errorf("policy %q: spawner's %s gets %#x, %v", text, n.name, got, err)
			}
		}
	}
}
