package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/internal/testenv"
)

// importRun runs hinetd-import -o out on src and returns its report and
// exit status.
func importRun(t *testing.T, out, src string) (string, int) {
	t.Helper()
	stdout, stderr, code := runTool(t, "hinetd-import", "-o", out, src)
	if stderr != "" {
		t.Fatalf("hinetd-import %s: exit %d: %s", src, code, stderr)
	}
	return stdout, code
}

// TestImportDebianXinetd (issue 14: "No way off xinetd: xinetd.conf and
// xinetd.d/* are rejected line by line; a directory is refused; no
// converter"): hinetd-import on the files Debian's xinetd package ships,
// given as xinetd.conf (following includedir) and as the directory: every
// service is written (disabled, as shipped), what is not translated is
// listed by file:line, and the result, enabled, passes hinetd --check.
func TestImportDebianXinetd(t *testing.T) {
	srcs := []string{"testdata/xinetd-debian/xinetd.conf", "testdata/xinetd-debian/xinetd.d"}
	if _, err := os.Stat("/etc/xinetd.d/echo"); err == nil {
		srcs = append(srcs, "/etc/xinetd.conf", "/etc/xinetd.d")
	}
	for _, src := range srcs {
		out := t.TempDir()
		report, code := importRun(t, out, src)
		if code != 1 || !strings.Contains(report, "10 services written") ||
			!strings.Contains(report, `xinetd.d/servers:6: service servers: type: not translated`) {
			t.Errorf("%s: exit %d, report:\n%s", src, code, report)
		}
		conf, _ := os.ReadFile(filepath.Join(out, "inetd.conf"))
		for _, want := range []string{"#<off># echo\tstream\ttcp\tnowait\troot\tinternal", "#<off># time\tdgram\tudp\twait\troot\tinternal"} {
			if !strings.Contains(string(conf), want) {
				t.Errorf("%s: inetd.conf lacks %q:\n%s", src, want, conf)
			}
		}
		enabled := strings.ReplaceAll(string(conf), "#<off># ", "")
		os.WriteFile(filepath.Join(out, "enabled.conf"), []byte(enabled), 0o644)
		check, errs, code := runTool(t, "hinetd", "--check", "--policy", filepath.Join(out, "xinetd.policy"),
			"--hosts-allow", filepath.Join(out, "hosts.allow"), "--hosts-deny", filepath.Join(out, "hosts.deny"), filepath.Join(out, "enabled.conf"))
		if code != 0 {
			t.Errorf("%s: hinetd --check on the enabled translation: exit %d\n%s%s", src, code, check, errs)
		}
	}
}

// TestImportServes: a hand-written xinetd configuration is translated,
// the translated ACLs decide as xinetd would (checked with tcpdmatch on
// the written hosts files), and hinetd started on the result serves the
// services to the clients xinetd would serve, and to no other.
func TestImportServes(t *testing.T) {
	needRoot(t)
	pHello, pDay, pEcho := freePort(t), freePort(t), freePort(t)
	src := filepath.Join(t.TempDir(), "xinetd.conf")
	os.WriteFile(src, []byte(fmt.Sprintf(`defaults
{
	instances	= 30
	log_on_success	= PID HOST
}

# only 127.0.0.0/8, except 127.0.0.2
service hello
{
	socket_type	= stream
	protocol	= tcp
	wait		= no
	user		= nobody
	server		= /bin/echo
	server_args	= hello from xinetd
	port		= %d
	bind		= 127.0.0.1
	only_from	= 127.0.0.0/8
	no_access	= 127.0.0.2
	per_source	= 4
	rlimit_files	= 64
}

# everyone but 127.0.0.3; the more specific only_from 127.0.0.3 wins
service daytime
{
	type		= INTERNAL UNLISTED
	socket_type	= stream
	wait		= no
	port		= %d
	bind		= 127.0.0.1
	only_from	= 0.0.0.0 127.0.0.3
	no_access	= 127.0.0.0/24
}

service echo
{
	type		= INTERNAL UNLISTED
	socket_type	= dgram
	protocol	= udp
	wait		= yes
	port		= %d
	bind		= 127.0.0.1
	access_times	= 00:00-23:59
}
`, pHello, pDay, pEcho)), 0o644)
	out := t.TempDir()
	report, code := importRun(t, out, src)
	if code != 1 || !strings.Contains(report, "xinetd.conf:44: service echo: access_times: not translated: hinetd has no time-of-day access control") ||
		!strings.Contains(report, "3 services written") {
		t.Fatalf("exit %d, report:\n%s", code, report)
	}

	// The ACLs, as tcpdmatch decides them on the written files.
	// xinetd's answers: hello grants 127.0.0.1 and 127.0.0.9, denies
	// 127.0.0.2 and 10.0.0.1; daytime grants 127.0.0.3 (only_from
	// 127.0.0.3 is more specific than no_access 127.0.0.0/24) and
	// 127.1.0.1, denies 127.0.0.1.
	{
		testenv.NeedFile(t, "/usr/sbin/tcpdmatch", "tcpd")
		access := regexp.MustCompile(`(?m)^access: +(\w+)$`)
		for _, q := range []struct{ daemon, client, want string }{
			{"echo", "127.0.0.1", "granted"}, {"echo", "127.0.0.9", "granted"},
			{"echo", "127.0.0.2", "denied"}, {"echo", "10.0.0.1", "denied"},
			{"daytime", "127.0.0.3", "granted"}, {"daytime", "127.1.0.1", "granted"},
			{"daytime", "127.0.0.1", "denied"},
		} {
			cmd := exec.Command("/usr/sbin/tcpdmatch", "-d", q.daemon, q.client)
			cmd.Dir = out
			got, err := cmd.CombinedOutput()
			m := access.FindSubmatch(got)
			if err != nil || m == nil || string(m[1]) != q.want {
				t.Errorf("tcpdmatch %s %s: %v\n%s\nwant access %s; hosts.allow:\n%s", q.daemon, q.client, err, got, q.want, readFile(out, "hosts.allow"))
			}
		}
	}

	// The translation runs: hinetd on the written files.
	files := map[string]string{}
	for _, f := range []string{"hosts.allow", "hosts.deny"} {
		files[f] = readFile(out, f)
	}
	files["policy/xinetd.policy"] = readFile(out, "xinetd.policy")
	d := startDaemonWith(t, nil, files, readFile(out, "inetd.conf"))
	hello, day := fmt.Sprintf("127.0.0.1:%d", pHello), fmt.Sprintf("127.0.0.1:%d", pDay)
	if got := string(dialFrom(t, "127.0.0.1", hello, nil)); got != "hello from xinetd\n" {
		t.Errorf("hello from 127.0.0.1: %q", got)
	}
	if got := string(dialFrom(t, "127.0.0.2", hello, nil)); got != "" {
		t.Errorf("hello from 127.0.0.2 (no_access): %q", got)
	}
	if got := string(dialFrom(t, "127.0.0.3", day, nil)); got == "" {
		t.Errorf("daytime from 127.0.0.3 (more specific only_from): nothing")
	}
	if got := string(dialFrom(t, "127.0.0.1", day, nil)); got != "" {
		t.Errorf("daytime from 127.0.0.1 (no_access 127.0.0.0/24): %q", got)
	}
	if got, err := exchangeUDP(t, fmt.Sprintf("127.0.0.1:%d", pEcho), []byte("dgram"), 2e9); err != nil || string(got) != "dgram" {
		t.Errorf("udp echo: %q %v", got, err)
	}
	// The policy is in force: the limits the translation wrote.
	d.signal(10) // SIGUSR1: the state dump names each service's limits
	d.waitLog("max-child-per-ip 4", 5e9)
}

func readFile(dir, name string) string {
	b, _ := os.ReadFile(filepath.Join(dir, name))
	return string(b)
}

// TestImportErrors: a file that does not parse is reported with every
// error's file:line, exit 2, and nothing is written; existing files are
// not overwritten without --force.
func TestImportErrors(t *testing.T) {
	src := filepath.Join(t.TempDir(), "xinetd.conf")
	os.WriteFile(src, []byte("service echo\n{\n\tport 7\n}\nbogus\nservice x\n{\n"), 0o644)
	out := filepath.Join(t.TempDir(), "out")
	stdout, stderr, code := runTool(t, "hinetd-import", "-o", out, src)
	for _, want := range []string{src + `:3: "port 7" is not an attribute`, src + `:5: unexpected "bogus" outside a section`, src + `:6: service x is not closed`} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if code != 2 || stdout != "" {
		t.Errorf("exit %d, stdout %q; want 2 and nothing", code, stdout)
	}
	if _, err := os.Stat(out); err == nil {
		t.Errorf("%s written for a file that does not parse", out)
	}
	os.WriteFile(src, []byte("service echo\n{\n\ttype = INTERNAL\n\tsocket_type = stream\n\twait = no\n}\n"), 0o644)
	os.MkdirAll(out, 0o755)
	os.WriteFile(filepath.Join(out, "inetd.conf"), []byte("mine\n"), 0o644)
	if _, _, code := runTool(t, "hinetd-import", "-o", out, src); code != 2 || readFile(out, "inetd.conf") != "mine\n" {
		t.Errorf("an existing inetd.conf: exit %d, content %q", code, readFile(out, "inetd.conf"))
	}
	if _, _, code := runTool(t, "hinetd-import", "--force", "-o", out, src); code != 0 || !strings.Contains(readFile(out, "inetd.conf"), "echo\tstream\ttcp\tnowait\troot\tinternal") {
		t.Errorf("--force: exit %d, inetd.conf %q", code, readFile(out, "inetd.conf"))
	}
}
