package policy

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	base := compileDefault(t)
	tests := []struct {
		name    string
		change  func(*Spec)
		wantErr string
	}{
		{"zero spec is refused", func(sp *Spec) { *sp = Spec{} },
			"spec : program: program \"\" is not an absolute path\n" +
				"spec : paths: working directory \"\" is not absolute\n" +
				"spec : seccomp: no filter, and no opt-out"},
		{"empty argv", func(sp *Spec) { sp.Argv = nil }, "spec probe: program: empty argv"},
		{"negative uid", func(sp *Spec) { sp.UID = -1 }, "spec probe: ids: uid -1 / gid 0 out of range"},
		{"unknown capability", func(sp *Spec) { sp.KeepCaps = []int{99} }, "spec probe: caps: unknown capability 99"},
		{"capability twice", func(sp *Spec) { sp.KeepCaps = []int{1, 1} }, "spec probe: caps: capabilities not sorted or repeated"},
		{"rlimit soft above hard", func(sp *Spec) { sp.Rlimits = []Rlimit{{7, 2, 1}} }, "spec probe: rlimits: rlimit nofile: soft 2 above hard 1"},
		{"unknown rlimit", func(sp *Spec) { sp.Rlimits = []Rlimit{{77, 1, 1}} }, "spec probe: rlimits: unknown rlimit 77"},
		{"bad env", func(sp *Spec) { sp.Env = []string{"PATH"} }, `spec probe: env: bad environment entry "PATH"`},
		{"env twice", func(sp *Spec) { sp.Env = []string{"A=1", "A=2"} }, `spec probe: env: variable "A" set twice`},
		{"umask", func(sp *Spec) { sp.Umask = 0o1000 }, "spec probe: process: umask 01000 out of range"},
		{"nice", func(sp *Spec) { sp.Nice = 20 }, "spec probe: process: nice 20 out of range"},
		{"relative chroot", func(sp *Spec) { sp.Chroot = "srv" }, `spec probe: paths: chroot "srv" is not absolute`},
		{"filter and opt-out", func(sp *Spec) { sp.NoSeccomp = true }, "spec probe: seccomp: both a filter and the opt-out"},
		{"truncated program", func(sp *Spec) { sp.Seccomp = sp.Seccomp[:13] }, "spec probe: seccomp: program of 13 bytes is not whole instructions"},
		{"oversized program", func(sp *Spec) { sp.Seccomp = make([]byte, 8*4097) }, "spec probe: seccomp: program of 4097 instructions exceeds the kernel's 4096"},
		// The spawner's limits (spawner.h), which Validate once had
		// different from the spawner's (65536 groups against 4096).
		{"too many groups", func(sp *Spec) { sp.Groups = make([]int, MaxGroups+1) },
			"spec probe: ids: 4097 supplementary groups, at most 4096"},
		{"too many arguments", func(sp *Spec) { sp.Argv = make([]string, MaxStrings+1) },
			"spec probe: program: 65537 arguments, at most 65536"},
		{"too large", func(sp *Spec) { sp.Argv = slices.Repeat([]string{strings.Repeat("a", 120<<10)}, 9) },
			"spec probe: size: 1111364 bytes encoded, at most 1048576"},
		{"NUL in directory", func(sp *Spec) { sp.Dir = "/a\x00b" }, `spec probe: paths: NUL byte in chroot "" or directory "/a\x00b"`},
		// seccomp(2) needs no_new_privs or CAP_SYS_ADMIN (issue 10 item 2).
		{"no_new_privs off with a filter", func(sp *Spec) { sp.AllowNewPrivs, sp.Isolation.NoProcessScope = true, true },
			"spec probe: seccomp: " + errNNPSeccomp.Error()},
		// landlock_restrict_self needs no_new_privs (issue 11).
		{"no_new_privs off with the process scope", func(sp *Spec) { sp.AllowNewPrivs, sp.NoSeccomp, sp.Seccomp = true, true, nil },
			"spec probe: isolation: no_new_privs off with the process scope: landlock_restrict_self needs no_new_privs"},
		{"relative read-write path", func(sp *Spec) { sp.Isolation.ReadWrite = []string{"-srv"} },
			`spec probe: isolation: path "-srv" is not an absolute, clean path below /`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := *base
			tt.change(&sp)
			err := sp.Validate()
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("got  %v\nwant %s", err, tt.wantErr)
			}
		})
	}
	if err := base.Validate(); err != nil {
		t.Errorf("compiled default: %v", err)
	}
	// A service that keeps CAP_SYS_ADMIN may install the filter without
	// no_new_privs.
	admin := *base
	admin.AllowNewPrivs, admin.KeepCaps, admin.Isolation.NoProcessScope = true, []int{21}, true
	if err := admin.Validate(); err != nil {
		t.Errorf("no_new_privs off, CAP_SYS_ADMIN kept: %v", err)
	}
}

func TestExposure(t *testing.T) {
	s := mustParse(t, "[service ftp]\ncaps CAP_NET_BIND_SERVICE\nseccomp-allow @debug\nseccomp-deny @chown\nrlimit as infinity\nchroot /srv/ftp\n")
	sp, _, err := s.CompileWith(Service{Name: "ftp", User: "root", Program: "/usr/local/sbin/noprofile-ftpd"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	e := sp.Exposure()
	if !e.Seccomp || !e.NoNewPrivs || !reflect.DeepEqual(e.Caps, []string{"CAP_NET_BIND_SERVICE"}) {
		t.Errorf("exposure %+v", e)
	}
	e.SeccompInstructions = 300 // the count depends on libseccomp's version
	want := `service ftp (policy ftp)
  ids:          user root (uid 0), gid 0, groups 0
  capabilities: CAP_NET_BIND_SERVICE
  seccomp:      @system-service +@debug -@chown; on violation: kill (300 instructions)
  no_new_privs: on
  rlimits:      fsize=1073741824/1073741824 core=0/0 nproc=1024/1024 nofile=1024/1024 as=infinity/infinity
  chroot:       /srv/ftp, dir /, umask 0027, nice 0
  read-only system: strict (the whole tree read-only)
  writable paths:   none
  tmp:              private /tmp, /var/tmp, /dev/shm
  home:             inaccessible
  devices:          minimal /dev (null zero full random urandom tty)
  process scope:    own descendants only (landlock scope: signals, ptrace, /proc/PID/mem; pid namespace; /proc lists its own processes)
  setuid/setgid:    refused (chmod/open/mknod with S_ISUID or S_ISGID fail EPERM)
  address families: AF_UNIX AF_INET AF_INET6
  network:          the host's
`
	if got := e.String(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestWarnings(t *testing.T) {
	s := mustParse(t, "[service ftp]\ncaps CAP_SETUID\nseccomp off\nno-new-privs off\nprocess-scope off\n[service tftp]\nseccomp-action log\n")
	ftp, _, _ := s.CompileWith(Service{Name: "ftp", User: "root", Program: "/usr/local/sbin/noprofile-ftpd"}, testOpts)
	tftp, _, _ := s.CompileWith(Service{Name: "tftp", User: "nobody", Program: "/usr/sbin/no-profile-tftpd"}, testOpts) // in.tftpd has a shipped profile
	named, _, _ := s.CompileWith(Service{Name: "domain", User: "nobody", Program: "/usr/sbin/named"}, testOpts)
	finger, _, _ := s.CompileWith(Service{Name: "finger", User: "nobody", Program: "/usr/sbin/in.fingerd"}, testOpts)
	tests := []struct {
		name, proto string
		sp          *Spec
		want        []string
	}{
		{"chargen", "udp", nil, []string{"chargen/udp offers UDP chargen: a reflection and amplification source for spoofed requests"}},
		{"echo", "udp6", nil, []string{"echo/udp6 offers UDP echo: a reflection and amplification source for spoofed requests"}},
		{"echo", "tcp", nil, nil},
		{"ftp", "tcp", ftp, []string{"ftp runs as root", "ftp keeps capabilities CAP_SETUID", "ftp has no seccomp filter", "ftp runs without no_new_privs",
			"ftp process-scope off: the service may signal and ptrace processes of its uid, and sees every process in /proc"}},
		{"tftp", "udp", tftp, []string{"tftp: seccomp only logs violations"}},
		// named is refused by the inetd.conf parser (config's
		// notForInetd), not warned about here.
		{"domain", "udp", named, nil},
		{"finger", "tcp", finger, []string{"finger protect-home read-only: home directories are readable"}}, // its profile
	}
	for _, tt := range tests {
		if got := Warnings(tt.name, tt.proto, tt.sp); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Warnings(%s, %s) = %q, want %q", tt.name, tt.proto, got, tt.want)
		}
	}
}

// TestValidateArgStrlen: a string execve(2) refuses (MAX_ARG_STRLEN) fails
// Validate, not every exec.
func TestValidateArgStrlen(t *testing.T) {
	sp := *compileDefault(t)
	sp.Argv = []string{"x", strings.Repeat("b", 200<<10)}
	want := "spec probe: program: argument 1 is 204800 bytes; execve(2) takes at most 131071 (MAX_ARG_STRLEN)"
	if err := sp.Validate(); err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
