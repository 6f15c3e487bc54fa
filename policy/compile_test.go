package policy

import (
	"bufio"
	"os"
	"os/user"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/seccomp"
	"github.com/hinetd/hinetd/internal/testenv"
)

// testOpts compile as root would, with the real filter compiler.
var testOpts = CompileOptions{Filter: &seccomp.Compiler{}}

func mustParse(t *testing.T, text string) *Set {
	t.Helper()
	s, err := Parse("p", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestCompileDefault: with no policy at all, the secure default.
func TestCompileDefault(t *testing.T) {
	var s Set
	// A program without a shipped profile (in.fingerd has one).
	sp, notes, err := s.CompileWith(Service{Name: "finger", User: "nobody", Program: "/usr/sbin/no-profile-fingerd", Args: []string{"in.fingerd", "-w"}}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if len(notes) != 0 {
		t.Errorf("notes = %v", notes)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		testenv.Skip(t, "no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	want := Spec{
		Service: "finger", Policy: "built-in",
		Path: "/usr/sbin/no-profile-fingerd", Argv: []string{"in.fingerd", "-w"},
		Env:  []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
		User: "nobody", UID: uid, GID: gid, Groups: []int{gid}, SwitchIDs: true,
		Rlimits: []Rlimit{
			{unix.RLIMIT_FSIZE, 1 << 30, 1 << 30},
			{unix.RLIMIT_CORE, 0, 0},
			{unix.RLIMIT_NPROC, 1024, 1024},
			{unix.RLIMIT_NOFILE, 1024, 1024},
		},
		Umask: 0o027, Dir: "/",
		SeccompGroups: []string{"@system-service"}, SeccompAction: "kill",
	}
	got := *sp
	got.Seccomp, got.Hash = nil, ""
	if !reflect.DeepEqual(got, want) {
		t.Errorf("default spec\n got %+v\nwant %+v", got, want)
	}
	if n := len(sp.Seccomp) / 8; n < 100 || len(sp.Seccomp)%8 != 0 {
		t.Errorf("seccomp program of %d bytes", len(sp.Seccomp))
	}
	if len(sp.Hash) != 64 || sp.Validate() != nil {
		t.Errorf("hash %q, Validate %v", sp.Hash, sp.Validate())
	}
}

// etcGroupMember finds a user listed as a member in /etc/group and the
// groups that file gives it: the reference for initgroups.
func etcGroupMember(t *testing.T) (string, []int) {
	f, err := os.Open("/etc/group")
	if err != nil {
		testenv.Skip(t, "no /etc/group")
	}
	defer f.Close()
	member := map[string][]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) != 4 || fields[3] == "" {
			continue
		}
		gid, _ := strconv.Atoi(fields[2])
		for _, m := range strings.Split(fields[3], ",") {
			member[m] = append(member[m], gid)
		}
	}
	for name, gids := range member {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		primary, _ := strconv.Atoi(u.Gid)
		if !slices.Contains(gids, primary) {
			gids = append(gids, primary)
		}
		slices.Sort(gids)
		return name, gids
	}
	testenv.Skip(t, "no user with supplementary groups in /etc/group (make test adds hinetd-test)")
	return "", nil
}

func TestCompileInitgroups(t *testing.T) {
	name, want := etcGroupMember(t)
	var s Set
	sp, _, err := s.CompileWith(Service{Name: "x", User: name, Program: "/bin/true"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sp.Groups, want) {
		t.Errorf("groups of %s = %v, want %v (from /etc/group)", name, sp.Groups, want)
	}
}

// TestCompileOverride: the default section and the service's section
// override field by field, and overriding inetd.conf is reported.
func TestCompileOverride(t *testing.T) {
	t.Setenv("HINETD_TEST_TZ", "Europe/Paris")
	s := mustParse(t, `[default]
nice 5
umask 077
rlimit nofile 64
env LANG=C
env A=default

[service ftp]
user root
group 0
groups root
caps CAP_NET_BIND_SERVICE CAP_SETUID
umask 022
rlimit core 1M
env A=ftp
pass HINETD_TEST_TZ HINETD_TEST_MISSING
seccomp-action log
`)
	sp, notes, err := s.CompileWith(Service{Name: "ftp", User: "nobody", Group: "nogroup", Program: "/usr/local/sbin/noprofile-ftpd"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	gotNotes := make([]string, len(notes))
	for i, n := range notes {
		gotNotes[i] = n.String()
	}
	wantNotes := []string{
		`p:9: service ftp: policy sets user "root" instead of inetd.conf's "nobody"`,
		`p:10: service ftp: policy sets group "0" instead of inetd.conf's "nogroup"`,
		`p:11: service ftp: policy sets supplementary groups "root"`,
		`p:16: service ftp: pass "HINETD_TEST_MISSING": not in hinetd's environment`,
	}
	if !reflect.DeepEqual(gotNotes, wantNotes) {
		t.Errorf("notes\n got %q\nwant %q", gotNotes, wantNotes)
	}
	if sp.Policy != "ftp" || sp.UID != 0 || sp.GID != 0 || !reflect.DeepEqual(sp.Groups, []int{0}) {
		t.Errorf("ids: policy %s uid %d gid %d groups %v", sp.Policy, sp.UID, sp.GID, sp.Groups)
	}
	if want := []int{unix.CAP_SETUID, unix.CAP_NET_BIND_SERVICE}; !reflect.DeepEqual(sp.KeepCaps, want) {
		t.Errorf("caps %v, want %v", sp.KeepCaps, want)
	}
	if sp.Nice != 5 || sp.Umask != 0o022 {
		t.Errorf("nice %d (want the default's 5), umask %o (want the service's 022)", sp.Nice, sp.Umask)
	}
	wantEnv := []string{"A=ftp", "HINETD_TEST_TZ=Europe/Paris", "LANG=C", DefaultEnvPath}
	if !reflect.DeepEqual(sp.Env, wantEnv) {
		t.Errorf("env %q, want %q", sp.Env, wantEnv)
	}
	wantRl := []Rlimit{
		{unix.RLIMIT_FSIZE, 1 << 30, 1 << 30},
		{unix.RLIMIT_CORE, 1 << 20, 1 << 20},
		{unix.RLIMIT_NPROC, 1024, 1024},
		{unix.RLIMIT_NOFILE, 64, 64},
	}
	if !reflect.DeepEqual(sp.Rlimits, wantRl) {
		t.Errorf("rlimits %v, want %v", sp.Rlimits, wantRl)
	}
	if sp.SeccompAction != "log" {
		t.Errorf("action %q", sp.SeccompAction)
	}

	// Another service gets the default section, not ftp's.
	sp2, notes, err := s.CompileWith(Service{Name: "finger", User: "nobody", Program: "/bin/true"}, testOpts)
	if err != nil || len(notes) != 0 {
		t.Fatal(err, notes)
	}
	if sp2.Policy != "default" || sp2.Umask != 0o077 || len(sp2.KeepCaps) != 0 || sp2.SeccompAction != "kill" {
		t.Errorf("finger: %+v", sp2)
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		name    string
		policy  string
		svc     Service
		opt     CompileOptions
		wantErr string
	}{
		{"unknown user in the policy", "[service x]\nuser no-such-user-hinetd\n",
			Service{Name: "x", User: "nobody", Program: "/bin/true"}, testOpts,
			`p:2: service x: unknown user "no-such-user-hinetd"`},
		{"unknown user in inetd.conf", "",
			Service{Name: "x", User: "no-such-user-hinetd", Program: "/bin/true"}, testOpts,
			`service x: unknown user "no-such-user-hinetd"`},
		{"unknown group in the policy", "[default]\ngroup no-such-group-hinetd\n",
			Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts,
			`p:2: service x: unknown group "no-such-group-hinetd"`},
		{"unknown supplementary group", "[default]\ngroups root no-such-group-hinetd\n",
			Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts,
			`p:2: service x: unknown group "no-such-group-hinetd"`},
		{"unprivileged, another user", unprivIso,
			Service{Name: "x", User: "root", Program: "/bin/true"}, CompileOptions{Unprivileged: true, InvokingUID: 4242, Filter: testOpts.Filter},
			`service x: needs root to run as user "root" (uid 0)`},
		{"unprivileged, the policy's user", "[service x]\nuser root\n" + unprivIso,
			Service{Name: "x", UID: 4242, Program: "/bin/true"}, CompileOptions{Unprivileged: true, InvokingUID: 4242, Filter: testOpts.Filter},
			`p:2: service x: needs root to run as user "root" (uid 0)`},
		{"unprivileged, capabilities", "[service x]\ncaps CAP_NET_BIND_SERVICE\n" + unprivIso,
			Service{Name: "x", UID: 4242, Program: "/bin/true"}, CompileOptions{Unprivileged: true, InvokingUID: 4242, Filter: testOpts.Filter},
			`p:2: service x: needs root to keep capabilities CAP_NET_BIND_SERVICE`},
		{"unprivileged, chroot", "[service x]\nchroot /srv\n" + unprivIso,
			Service{Name: "x", UID: 4242, Program: "/bin/true"}, CompileOptions{Unprivileged: true, InvokingUID: 4242, Filter: testOpts.Filter},
			`p:2: service x: needs root to chroot to "/srv"`},
		{"relative program", "",
			Service{Name: "x", User: "root", Program: "in.fingerd"}, testOpts,
			`spec x: program: program "in.fingerd" is not an absolute path`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.policy)
			_, _, err := s.CompileWith(tt.svc, tt.opt)
			if err == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("got  %q\nwant %q", err.Error(), tt.wantErr)
			}
		})
	}
}

// TestCompileUnprivileged: the invoking user's own service runs without
// switching ids.
func TestCompileUnprivileged(t *testing.T) {
	s := mustParse(t, unprivIso)
	me := os.Getuid()
	sp, _, err := s.CompileWith(Service{Name: "x", UID: me, GID: os.Getgid(), Program: "/bin/true"},
		CompileOptions{Unprivileged: true, InvokingUID: me, Filter: testOpts.Filter})
	if err != nil {
		t.Fatal(err)
	}
	if sp.SwitchIDs || sp.UID != me || sp.GID != os.Getgid() || len(sp.Seccomp) == 0 {
		t.Errorf("unprivileged spec: %+v", sp)
	}
	prio, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		t.Fatal(err)
	}
	own := 20 - prio
	if sp.Nice != own {
		t.Errorf("unprivileged nice %d, want hinetd's own %d", sp.Nice, own)
	}
	// Lowering nice needs root.
	low := mustParse(t, "[default]\nnice "+strconv.Itoa(max(own-1, -20))+"\n"+strings.TrimPrefix(unprivIso, "[default]\n"))
	_, _, err = low.CompileWith(Service{Name: "x", UID: me, Program: "/bin/true"}, CompileOptions{Unprivileged: true, InvokingUID: me, Filter: testOpts.Filter})
	want := "p:2: service x: needs root for nice " + strconv.Itoa(own-1) + " (hinetd runs at " + strconv.Itoa(own) + ")"
	if own > -20 && (err == nil || err.Error() != want) {
		t.Errorf("got %v, want %s", err, want)
	}
}

func TestCompileSeccompOff(t *testing.T) {
	s := mustParse(t, "[service x]\nseccomp off\nno-new-privs off\nprocess-scope off\n")
	sp, notes, err := s.CompileWith(Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	if !sp.NoSeccomp || len(sp.Seccomp) != 0 || !sp.AllowNewPrivs {
		t.Errorf("spec %+v", sp)
	}
	if len(notes) != 2 || notes[0].String() != "p:3: service x: no_new_privs is off: setuid programs can gain privileges" ||
		notes[1].String() != "p:2: service x: seccomp is off (and with it restrict-suid-sgid and address-families)" {
		t.Errorf("notes %q", notes)
	}
	// The default section turns it off; the service turns it back on.
	s = mustParse(t, "[default]\nseccomp off\n[service y]\nseccomp on\n")
	sp, _, err = s.CompileWith(Service{Name: "y", User: "root", Program: "/bin/true"}, testOpts)
	if err != nil || sp.NoSeccomp || len(sp.Seccomp) == 0 {
		t.Errorf("seccomp on over default off: %v %+v", err, sp)
	}
}

// TestCompileCache: services with the same rules share one program, and
// different rules give different hashes.
func TestCompileCache(t *testing.T) {
	s := mustParse(t, "[service b]\nseccomp-deny @chown\n")
	a1, _, _ := s.CompileWith(Service{Name: "a", User: "root", Program: "/bin/true"}, testOpts)
	a2, _, _ := s.CompileWith(Service{Name: "c", User: "root", Program: "/bin/true"}, testOpts)
	b, _, _ := s.CompileWith(Service{Name: "b", User: "root", Program: "/bin/true"}, testOpts)
	if &a1.Seccomp[0] != &a2.Seccomp[0] {
		t.Error("same rules compiled twice")
	}
	if string(a1.Seccomp) == string(b.Seccomp) {
		t.Error("different rules, same program")
	}
	if a1.Hash == a2.Hash || a1.Hash == b.Hash {
		t.Error("hash collision between different specs")
	}
	a3, _, _ := s.CompileWith(Service{Name: "a", User: "root", Program: "/bin/true"}, testOpts)
	if a3.Hash != a1.Hash {
		t.Error("hash of the same spec changed")
	}
}

// TestCompileConcurrent: a Set compiles services from several goroutines
// (the daemon may compile at reload while serving); run with -race.
func TestCompileConcurrent(t *testing.T) {
	s := mustParse(t, "[service b]\nseccomp-deny @chown\n")
	done := make(chan *Spec, 8)
	for i := range 8 {
		go func() {
			name := []string{"a", "b"}[i%2]
			sp, _, err := s.CompileWith(Service{Name: name, User: "root", Program: "/bin/true"}, testOpts)
			if err != nil {
				t.Error(err)
			}
			done <- sp
		}()
	}
	for range 8 {
		if sp := <-done; sp != nil && sp.Validate() != nil {
			t.Error(sp.Validate())
		}
	}
}

// unprivIso is what a hinetd without root needs: its isolation off.
const unprivIso = "[default]\nprotect-system off\nprotect-home off\nprivate-tmp off\nprivate-devices off\nprocess-scope off\n"

func compileDefault(t testing.TB) *Spec {
	t.Helper()
	var s Set
	sp, _, err := s.CompileWith(Service{Name: "probe", User: "root", Program: "/bin/true"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// TestCompileNoNewPrivsOffWithSeccomp: "no-new-privs off" with the filter
// on can never start (seccomp(2) needs no_new_privs or CAP_SYS_ADMIN, and
// the spawner has dropped its capabilities when it installs the filter):
// refused at load, at the line that turned it off. Old main compiled it and
// every spawn failed "seccomp: permission denied" (issue 10 item 2).
func TestCompileNoNewPrivsOffWithSeccomp(t *testing.T) {
	s := mustParse(t, "[default]\nseccomp-action log\n[service x]\nno-new-privs off\nprocess-scope off\n")
	_, _, err := s.CompileWith(Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts)
	want := "p:4: service x: " + errNNPSeccomp.Error()
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
	// Keeping CAP_SYS_ADMIN, or turning the filter off, makes it valid.
	for _, text := range []string{"[service x]\nno-new-privs off\ncaps SYS_ADMIN\nprocess-scope off\n", "[service x]\nno-new-privs off\nseccomp off\nprocess-scope off\n"} {
		if _, _, err := mustParse(t, text).CompileWith(Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts); err != nil {
			t.Errorf("%q: %v", text, err)
		}
	}
}
