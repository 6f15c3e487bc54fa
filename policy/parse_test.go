package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string
	}{
		{"setting before any section", "user nobody\n",
			`p:1: setting "user" outside a section; start with [default] or [service NAME]`},
		{"unknown section", "[defaults]\n",
			`p:1: unknown section "[defaults]"; expect [default], [service NAME] or [audit]`},
		{"unclosed header", "[default\n",
			`p:1: section header "[default" lacks a closing "]"`},
		{"service without a name", "[service]\n",
			`p:1: section [service] needs a service name`},
		{"duplicate default", "[default]\n[default]\n",
			`p:2: duplicate section [default] (first at p:1)`},
		{"duplicate service", "[service ftp]\n[service telnet ftp]\n",
			`p:2: duplicate section for service "ftp" (first at p:1)`},
		{"unknown key", "[default]\nusr nobody\n",
			`p:2: unknown setting "usr"; expect user, group, groups, caps, seccomp, seccomp-groups, seccomp-allow, seccomp-deny, seccomp-action, no-new-privs, rlimit, nice, umask, env, pass, user-env, dir, chroot, protect-system, protect-home, read-write, read-only, inaccessible, private-tmp, private-devices, terminals, private-network, restrict-suid-sgid, process-scope, address-families, max-child, max-child-per-ip, max-conn-per-ip-per-minute, invocations-per-minute, cps, source-rate, listen-backlog`},
		{"user with two values", "[default]\nuser a b\n",
			`p:2: "user" takes one value, got 2`},
		{"duplicate user", "[default]\nuser a\nuser b\n",
			`p:3: duplicate "user" (first at line 2)`},
		{"groups empty", "[default]\ngroups\n",
			`p:2: "groups" needs at least one value`},
		{"unknown capability", "[default]\ncaps CAP_NET_BIND_SERVICE CAP_FLY\n",
			`p:2: unknown capability "CAP_FLY"`},
		{"seccomp bad value", "[default]\nseccomp maybe\n",
			`p:2: bad seccomp value "maybe"; expect on or off`},
		{"no-new-privs bad value", "[default]\nno-new-privs no\n",
			`p:2: bad no-new-privs value "no"; expect on or off`},
		{"unknown group", "[default]\nseccomp-allow @network @io-event\n",
			`p:2: unknown syscall group "@network"`},
		{"unknown syscall", "[default]\nseccomp-deny mkdir mkdri\n",
			`p:2: unknown syscall "mkdri"`},
		{"syscall in seccomp-groups", "[default]\nseccomp-groups @default read\n",
			`p:2: seccomp-groups takes groups ("@name"), got "read"; use seccomp-allow for single syscalls`},
		// execve runs under the filter, in the spawner's child: denying
		// it would fail every start. Other calls of @spawner may be
		// denied (the filter then goes into each child).
		{"deny execve", "[default]\nseccomp-deny execve\n",
			`p:2: cannot deny "execve": it removes execve, which starts the service under the filter`},
		{"deny a group with execve", "[default]\nseccomp-deny sendto @default\n",
			`p:2: cannot deny "@default": it removes execve, which starts the service under the filter`},
		{"bad errno", "[default]\nseccomp-action errno EPERMS\n",
			`p:2: unknown errno "EPERMS"`},
		{"bad action", "[default]\nseccomp-action trap\n",
			`p:2: bad seccomp-action "trap"; expect kill, log or errno NAME`},
		{"action without value", "[default]\nseccomp-action\n",
			`p:2: "seccomp-action" needs a value; expect kill, log or errno NAME`},
		{"unknown rlimit", "[default]\nrlimit files 10\n",
			`p:2: unknown rlimit "files"; expect as, core, cpu, data, fsize, locks, memlock, msgqueue, nice, nofile, nproc, rss, rtprio, rttime, sigpending, stack`},
		{"bad rlimit value", "[default]\nrlimit nofile lots\n",
			`p:2: bad rlimit value "lots"; expect a number, optionally with K, M, G or T, or infinity`},
		{"rlimit overflow", "[default]\nrlimit fsize 99999999999T\n",
			`p:2: bad rlimit value "99999999999T"; expect a number, optionally with K, M, G or T, or infinity`},
		{"rlimit soft above hard", "[default]\nrlimit nofile 2048 1024\n",
			`p:2: rlimit nofile: soft limit "2048" above hard limit "1024"`},
		{"rlimit arity", "[default]\nrlimit nofile\n",
			`p:2: rlimit takes NAME SOFT [HARD], got 1 values`},
		{"duplicate rlimit", "[default]\nrlimit core 0\nrlimit core 1\n",
			`p:3: duplicate rlimit "core" (first at line 2)`},
		{"nice out of range", "[default]\nnice -21\n",
			`p:2: bad nice "-21"; expect -20 to 19`},
		{"umask not octal", "[default]\numask 0089\n",
			`p:2: bad umask "0089"; expect octal 000 to 777`},
		{"umask too big", "[default]\numask 1777\n",
			`p:2: bad umask "1777"; expect octal 000 to 777`},
		{"env without =", "[default]\nenv LANG\n",
			`p:2: bad env "LANG"; expect NAME=VALUE`},
		{"env bad name", "[default]\nenv 1LANG=C\n",
			`p:2: bad env "1LANG=C"; expect NAME=VALUE`},
		{"duplicate env", "[default]\nenv A=1\nenv A=2\n",
			`p:3: duplicate env "A" (first at line 2)`},
		{"pass bad name", "[default]\npass TZ LC-ALL\n",
			`p:2: bad variable name "LC-ALL"`},
		{"relative dir", "[default]\ndir srv\n",
			`p:2: dir must be an absolute path, got "srv"`},
		{"relative chroot", "[default]\nchroot srv/ftp\n",
			`p:2: chroot must be an absolute path, got "srv/ftp"`},
		{"every error is reported", "[default]\nuser\nnice x\n[service a]\numask 9\n",
			"p:2: \"user\" takes one value, got 0\np:3: bad nice \"x\"; expect -20 to 19\np:5: bad umask \"9\"; expect octal 000 to 777"},
		{"max-child negative", "[default]\nmax-child -1\n",
			`p:2: bad max-child "-1"; expect a count (0: unlimited) from 0 to 1048576`},
		{"max-child-per-ip not a number", "[default]\nmax-child-per-ip many\n",
			`p:2: bad max-child-per-ip "many"; expect a count (0: unlimited) from 0 to 1048576`},
		{"per-minute arity", "[default]\nmax-conn-per-ip-per-minute 1 2\n",
			`p:2: "max-conn-per-ip-per-minute" takes one value, got 2`},
		{"invocations too many", "[default]\ninvocations-per-minute 99999999\n",
			`p:2: bad invocations-per-minute "99999999"; expect a count (0: unlimited) from 0 to 1048576`},
		{"duplicate max-child", "[service ftp]\nmax-child 1\nmax-child 2\n",
			`p:3: duplicate "max-child" (first at line 2)`},
		{"backlog zero", "[default]\nlisten-backlog 0\n",
			`p:2: bad listen-backlog "0"; expect a queue length from 1 to 65535`},
		{"backlog too big", "[default]\nlisten-backlog 65536\n",
			`p:2: bad listen-backlog "65536"; expect a queue length from 1 to 65535`},
		{"cps arity", "[default]\ncps 1 2 3\n",
			`p:2: cps takes RATE [WAIT_SECONDS], got 3 values`},
		{"cps without value", "[default]\ncps\n",
			`p:2: cps takes RATE [WAIT_SECONDS], got 0 values`},
		{"cps bad rate", "[default]\ncps NaN 5\n",
			`p:2: bad cps rate "NaN"; expect a number per second from 0 to 1e+06`},
		{"cps negative rate", "[default]\ncps -1\n",
			`p:2: bad cps rate "-1"; expect a number per second from 0 to 1e+06`},
		{"cps tiny rate", "[default]\ncps 1e-300\n",
			`p:2: bad cps rate "1e-300"; below one per hour`},
		{"cps bad wait", "[default]\ncps 10 1.5\n",
			`p:2: bad cps wait "1.5"; expect whole seconds from 0 to 86400`},
		{"cps wait too long", "[default]\ncps 10 86401\n",
			`p:2: bad cps wait "86401"; expect whole seconds from 0 to 86400`},
		{"cps wait without rate", "[default]\ncps 0 10\n",
			`p:2: cps 0 (no limit) with a wait of 10; drop the wait or set a rate`},
		{"duplicate cps", "[default]\ncps 10\ncps 20 5\n",
			`p:3: duplicate "cps" (first at line 2)`},
		{"source-rate arity", "[default]\nsource-rate\n",
			`p:2: source-rate takes RATE [BURST], got 0 values`},
		{"source-rate bad burst", "[default]\nsource-rate 10 0\n",
			`p:2: bad source-rate burst "0"; expect a count from 1 to 1048576`},
		{"source-rate burst without rate", "[default]\nsource-rate 0 10\n",
			`p:2: source-rate 0 (no limit) with a burst of 10; drop the burst or set a rate`},
		{"source-rate Inf", "[default]\nsource-rate +Inf\n",
			`p:2: bad source-rate rate "+Inf"; expect a number per second from 0 to 1e+06`},
		{"NUL byte", "[default]\nuser no\x00body\n",
			`p:2: NUL byte in line`},
		{"audit bad scheme", "[audit]\nlog-to ftp://h:1\n",
			`p:2: log sink "ftp://h:1": unknown scheme "ftp"; expect unix, udp, tcp, tls, file or stderr`},
		{"audit no port", "[audit]\nlog-to tcp://collector\n",
			`p:2: log sink "tcp://collector": want tcp://host:port`},
		{"audit empty log-to", "[audit]\nlog-to\n",
			`p:2: log-to needs a sink URL`},
		{"audit format", "[audit]\nlog-format json\n",
			`p:2: log-format takes one of auto, rfc5424, rfc3164`},
		{"audit facility", "[audit]\nlog-facility kernel\n",
			`p:2: unknown syslog facility "kernel"`},
		{"audit duplicate facility", "[audit]\nlog-facility auth\nlog-facility daemon\n",
			`p:3: duplicate "log-facility" (first at line 2)`},
		{"audit unknown key", "[audit]\nuser nobody\n",
			`p:2: unknown key "user" in [audit]; expect log-to, log-format or log-facility`},
		{"audit twice", "[audit]\nlog-facility auth\n[audit]\nlog-format bsd\n",
			"p:3: duplicate section [audit] (first at p:1)\np:4: log-format takes one of auto, rfc5424, rfc3164"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("p", []byte(tt.in))
			if err == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			if err.Error() != tt.wantErr {
				t.Errorf("got  %q\nwant %q", err.Error(), tt.wantErr)
			}
		})
	}
}

// TestParseAudit: the [audit] section's keys; log-to accumulates, and a
// tls:// sink's files are not read while parsing.
func TestParseAudit(t *testing.T) {
	s, err := Parse("p", []byte("[default]\nuser nobody\n[audit]\nlog-to unix:///dev/log file:///var/log/hinetd.jsonl\nlog-to tls://logs:6514?ca=/nonexistent/ca.pem\nlog-format rfc5424\nlog-facility authpriv\n"))
	if err != nil {
		t.Fatal(err)
	}
	a := s.Audit
	want := []string{"unix:///dev/log", "file:///var/log/hinetd.jsonl", "tls://logs:6514?ca=/nonexistent/ca.pem"}
	if a.Pos.String() != "p:3" || !slices.Equal(a.LogTo, want) || a.Format != "rfc5424" || a.Facility != "authpriv" {
		t.Fatalf("got %+v", a)
	}
	if s.Default.User.Value != "nobody" {
		t.Errorf("[default] lost its settings: %+v", s.Default)
	}
	if !a.Same(AuditSection{LogTo: want, Format: "rfc5424", Facility: "authpriv"}) || a.Same(AuditSection{LogTo: want[:1], Format: "rfc5424", Facility: "authpriv"}) {
		t.Error("Same compares the wrong fields")
	}
}

func TestParse(t *testing.T) {
	in := `# comment
[default]
user nobody
caps none
rlimit nofile 256 1K
rlimit fsize infinity
umask 0077
env LANG=C.UTF-8 with spaces
pass TZ
seccomp-allow @io-uring
seccomp-allow ioprio_get
seccomp-action errno EPERM

[service ftp ftps]
user root
caps cap_setuid CAP_SETGID setgid
groups none
seccomp-deny @chown
no-new-privs off
chroot /srv/ftp
dir /pub
nice 5
`
	s, err := Parse("p", []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	d := s.Default
	if d.User.Value != "nobody" || d.User.Pos != (Pos{"p", 3}) {
		t.Errorf("default user = %+v", d.User)
	}
	if !d.Caps.Set || len(d.Caps.Value) != 0 {
		t.Errorf("caps none = %+v", d.Caps)
	}
	if got := d.Rlimits["nofile"].Value; got != (Limit{7, 256, 1024}) {
		t.Errorf("nofile = %+v", got)
	}
	if got := d.Rlimits["fsize"].Value; got.Cur != Infinity || got.Max != Infinity {
		t.Errorf("fsize = %+v", got)
	}
	if d.Umask.Value != 0o077 || d.Env["LANG"].Value != "C.UTF-8 with spaces" {
		t.Errorf("umask %o env %+v", d.Umask.Value, d.Env)
	}
	if got := d.SeccompAllow.Value; !reflect.DeepEqual(got, []string{"@io-uring", "ioprio_get"}) {
		t.Errorf("repeated seccomp-allow = %q", got)
	}
	if d.SeccompAction.Value != (Action{Errno: "EPERM"}) {
		t.Errorf("action = %+v", d.SeccompAction.Value)
	}
	ftp, ok := s.Lookup("ftps")
	if !ok || ftp != s.Services["ftp"] || ftp.Name != "ftp" {
		t.Fatalf("[service ftp ftps] = %v %+v", ok, ftp)
	}
	if got := ftp.Caps.Value; !reflect.DeepEqual(got, []string{"CAP_SETUID", "CAP_SETGID"}) {
		t.Errorf("caps = %q", got)
	}
	if !ftp.Groups.Set || len(ftp.Groups.Value) != 0 {
		t.Errorf("groups none = %+v", ftp.Groups)
	}
	if !ftp.AllowNewPrivs.Value || ftp.Chroot.Value != "/srv/ftp" || ftp.Dir.Value != "/pub" || ftp.Nice.Value != 5 {
		t.Errorf("ftp = %+v", ftp)
	}
	if got := s.ServiceNames(); !reflect.DeepEqual(got, []string{"ftp", "ftps"}) {
		t.Errorf("ServiceNames = %q", got)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("10-default.policy", "[default]\nnice 1\n")
	write("20-ftp.policy", "[service ftp]\nnice 2\n")
	write("README", "not a policy: ignored\n")

	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Default.Nice.Value != 1 || s.Services["ftp"].Nice.Value != 2 || len(s.Files) != 2 {
		t.Errorf("Load(dir) = %+v", s)
	}

	// A section written twice across files.
	write("30-again.policy", "[service ftp]\nnice 3\n")
	_, err = Load(dir)
	want := dir + `/30-again.policy:1: duplicate section for service "ftp" (first at ` + dir + "/20-ftp.policy:1)"
	if err == nil || err.Error() != want {
		t.Errorf("duplicate across files: got %v, want %q", err, want)
	}

	// One file.
	f := write("one", "[default]\nnice 4\n")
	if s, err := Load(f); err != nil || s.Default.Nice.Value != 4 {
		t.Errorf("Load(file) = %+v, %v", s, err)
	}

	// An explicit missing path is an error; the default one is not.
	missing := filepath.Join(dir, "nope")
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("Load(missing) error = %v", err)
	}
	if _, err := os.Stat(DefaultPath); os.IsNotExist(err) {
		if s, err := Load(""); err != nil || s.Default.Pos.File != "" || len(s.Services) != 0 {
			t.Errorf("Load(\"\") without %s = %+v, %v", DefaultPath, s, err)
		}
	}
}

// TestDocsKeys: docs/policy.md has a row for every setting a section
// takes (settings and limitKeys), and hinetd.policy(5) names it in KEYS
// (".Cm key"), so that a new key cannot ship without its documentation.
// The man page once lacked every isolation key.
func TestDocsKeys(t *testing.T) {
	data, err := os.ReadFile("../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	man, err := os.ReadFile("../docs/man/hinetd.policy.5")
	if err != nil {
		t.Fatal(err)
	}
	_, keysSection, _ := strings.Cut(string(man), "\n.Sh KEYS\n")
	keysSection, _, _ = strings.Cut(keysSection, "\n.Sh ")
	named := map[string]bool{}
	words := strings.Fields(keysSection)
	for i := 0; i+1 < len(words); i++ {
		if words[i] == "Cm" {
			named[words[i+1]] = true
		}
	}
	for _, k := range keys {
		if !strings.Contains(string(data), "\n| `"+k+"` |") {
			t.Errorf("docs/policy.md has no row for %q", k)
		}
		if !named[k] {
			t.Errorf("docs/man/hinetd.policy.5 does not name %q in KEYS", k)
		}
	}
}
