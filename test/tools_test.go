package test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runTool runs a built binary and returns its stdout, stderr and exit status.
func runTool(t *testing.T, name string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin(t, name), args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// TestToolsVersionHelp (issue 14: "no --version ... flag provided but not
// defined, exit 2; hinetd-match --help exits 2"): every binary prints its
// name and version with --version and exits 0 on --help.
func TestToolsVersionHelp(t *testing.T) {
	for _, name := range []string{"hinetd", "hinetd-check", "hinetd-match", "hinetd-import"} {
		out, errs, code := runTool(t, name, "--version")
		if code != 0 || !strings.HasPrefix(out, name+" ") {
			t.Errorf("%s --version: exit %d, stdout %q, stderr %q", name, code, out, errs)
		}
		out, errs, code = runTool(t, name, "--help")
		if code != 0 || !strings.Contains(out+errs, "usage: "+name) {
			t.Errorf("%s --help: exit %d, output %q", name, code, out+errs)
		}
	}
}

// checkFiles writes an inetd.conf, a policy and hosts files for the tool tests.
func checkFiles(t *testing.T, allow, deny string) (dir string, args []string) {
	dir = t.TempDir()
	w := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	conf := w("inetd.conf", "127.0.0.1:7019 dgram udp wait root internal chargen\n"+
		"127.0.0.1:7101 stream tcp nowait nobody /bin/cat cat\n"+
		"127.0.0.1:7102 stream tcp nowait nobody /usr/sbin/tcpd /usr/sbin/in.fingerd\n")
	pol := w("hinetd.policy", "[service 7101]\ncaps CAP_NET_BIND_SERVICE\n")
	return dir, []string{"--policy", pol, "--hosts-allow", w("hosts.allow", allow), "--hosts-deny", w("hosts.deny", deny), conf}
}

// TestCheckJSON (issue 14: "no --json on hinetd-check"): the document
// parses, and each service's exposure and each finding's place are fields.
func TestCheckJSON(t *testing.T) {
	dir, args := checkFiles(t, "cat: 127.0.0.1\nALL: ALL\ncat: 10.0.0.1\n", "ALL: [2001:db8::/32]\n")
	type report struct {
		Services []struct {
			Name, Listener, File, Builtin, Daemon string
			Line                                  int
			Argv                                  []string
			Exposure                              *struct {
				UID          int      `json:"uid"`
				Capabilities []string `json:"capabilities"`
				Seccomp      bool     `json:"seccomp"`
				NoNewPrivs   bool     `json:"no_new_privs"`
			}
			Warnings []string
		}
		Findings []struct {
			File, Severity, Code, Message string
			Line, Col                     int
		}
		Errors, Warnings int
	}
	check := func() (report, int) {
		out, errs, code := runTool(t, "hinetd-check", append([]string{"--json"}, args...)...)
		var r report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("--json output does not parse: %v\n%s%s", err, out, errs)
		}
		return r, code
	}
	r, code := check()
	if code != 1 || r.Errors != 1 {
		t.Errorf("a malformed hosts.deny: exit %d, errors %d, want 1 and 1", code, r.Errors)
	}
	if len(r.Services) != 3 {
		t.Fatalf("services: %+v", r.Services)
	}
	if s := r.Services[0]; s.Name != "7019" || s.Builtin != "chargen" || s.Line != 1 || s.Exposure != nil || len(s.Warnings) != 1 ||
		!strings.Contains(s.Warnings[0], "offers UDP chargen") {
		t.Errorf("built-in: %+v", s)
	}
	if s := r.Services[1]; s.Daemon != "cat" || s.Line != 2 || s.Exposure == nil || s.Exposure.UID != 65534 ||
		strings.Join(s.Exposure.Capabilities, ",") != "CAP_NET_BIND_SERVICE" || !s.Exposure.Seccomp || !s.Exposure.NoNewPrivs ||
		s.Listener != "tcp4 127.0.0.1:7101" {
		t.Errorf("cat: %+v %+v", s, s.Exposure)
	}
	if s := r.Services[2]; s.Daemon != "in.fingerd" || len(s.Argv) != 1 || filepath.Base(s.Argv[0]) != "in.fingerd" {
		t.Errorf("tcpd: %+v", s)
	}
	// Every warning and error is a finding with its place: the services'
	// exposure warnings at their inetd.conf lines (fingerd's profile reads
	// plan files: protect-home read-only), then the syntax error.
	if f := r.Findings; len(f) != 4 ||
		f[0].Code != "exposure" || f[0].Severity != "warning" || !strings.HasSuffix(f[0].File, "inetd.conf") || f[0].Line != 1 ||
		f[1].Code != "exposure" || f[1].Line != 2 || !strings.Contains(f[1].Message, "keeps capabilities CAP_NET_BIND_SERVICE") ||
		f[2].Code != "exposure" || f[2].Line != 3 || !strings.Contains(f[2].Message, "protect-home read-only") ||
		f[3].Code != "syntax" || f[3].Severity != "error" || !strings.HasSuffix(f[3].File, "hosts.deny") ||
		f[3].Line != 1 || f[3].Col != 6 || !strings.HasPrefix(f[3].Message, "bad IPv6 address") {
		t.Errorf("findings: %+v, want the three exposure warnings and the hosts.deny:1:6 syntax error", r.Findings)
	}
	os.WriteFile(filepath.Join(dir, "hosts.deny"), nil, 0o644)
	r, code = check()
	var sawShadow, sawNoDeny bool
	for _, f := range r.Findings {
		sawShadow = sawShadow || f.Code == "shadowed" && f.Severity == "warning" && strings.HasSuffix(f.File, "hosts.allow") && f.Line == 3
		sawNoDeny = sawNoDeny || f.Code == "no-default-deny" && f.Severity == "warning" && f.Line == 0
	}
	if code != 0 || r.Errors != 0 || r.Warnings != 5 || !sawShadow || !sawNoDeny {
		t.Errorf("exit %d, %d errors, %d warnings (want 0, 0, 5: chargen, the capability, fingerd's readable homes, shadowed, no default deny); findings %+v", code, r.Errors, r.Warnings, r.Findings)
	}
}

// TestCheckStandaloneDaemons (issue 14: "hinetd-check warns daemon "sshd"
// is not a service in the configuration for every standalone libwrap
// daemon"): a shared hosts.allow naming sshd gives no warning; -v lists it
// as info.
func TestCheckStandaloneDaemons(t *testing.T) {
	_, args := checkFiles(t, "sshd: 10.0.0.0/8\nportmap: 10.0.0.1\nin.fingerd: 127.0.0.1\n", "ALL: ALL\n")
	out, _, code := runTool(t, "hinetd-check", args...)
	if code != 0 || strings.Contains(out, "sshd") || strings.Contains(out, "portmap") {
		t.Errorf("exit %d; output names the standalone daemons:\n%s", code, out)
	}
	if !strings.Contains(out, "3 services, 0 errors") {
		t.Errorf("no summary line:\n%s", out)
	}
	out, _, _ = runTool(t, "hinetd-check", append([]string{"-v"}, args...)...)
	if !strings.Contains(out, `hosts.allow:1:1: info: daemon "sshd" is not a service in the configuration`) {
		t.Errorf("-v does not list sshd as info:\n%s", out)
	}
	if strings.Contains(out, "warning: daemon") {
		t.Errorf("-v warns about a standalone daemon:\n%s", out)
	}
}

// TestDaemonCheckEveryFile (issue 14: "hinetd --check prints nothing on
// success and stops at the first broken policy file, hiding the hosts
// errors behind it"): every error of every file, then a summary line
// (hinetd-check's report: TestCheckOneChecker).
func TestDaemonCheckEveryFile(t *testing.T) {
	dir, args := checkFiles(t, "", "ALL: [2001:db8::/32]\n")
	pdir := filepath.Join(dir, "policy.d")
	os.Mkdir(pdir, 0o755)
	os.WriteFile(filepath.Join(pdir, "a.policy"), []byte("[service 7101]\nbogus 1\n"), 0o644)
	os.WriteFile(filepath.Join(pdir, "b.policy"), []byte("[service 7102]\nworse 2\n"), 0o644)
	args[1] = pdir
	out, errs, code := runTool(t, "hinetd", append([]string{"--check"}, args...)...)
	for _, want := range []string{`a.policy:2: error: unknown setting "bogus"`, `b.policy:2: error: unknown setting "worse"`,
		`hosts.deny:1:6: error: bad IPv6 address`, "3 services, 3 errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("--check output lacks %q (exit %d):\n%s%s", want, code, out, errs)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	os.WriteFile(filepath.Join(dir, "hosts.deny"), []byte("ALL: ALL\n"), 0o644)
	args[1] = filepath.Join(dir, "hinetd.policy")
	out, _, code = runTool(t, "hinetd", append([]string{"--check"}, args...)...)
	if code != 0 || !strings.Contains(out, "3 services, 0 errors") {
		t.Errorf("clean files: exit %d, output %q", code, out)
	}
}

// TestReadmeOptions (issue 14: "the --spool-dir, --check and --version
// rows sit after a paragraph and are not part of the options table; the
// synopsis omits --log-facility and --spool-dir"): every flag hinetd
// --help lists has a row in the README's options table (one unbroken
// table) and a place in its synopsis, and the table has no other flags.
func TestReadmeOptions(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	_, help, _ := runTool(t, "hinetd", "--help")
	var flags []string
	for _, ln := range strings.Split(help, "\n") {
		if strings.HasPrefix(ln, "  -") {
			flags = append(flags, strings.Fields(ln)[0][1:])
		}
	}
	if len(flags) < 10 {
		t.Fatalf("hinetd --help lists %d flags:\n%s", len(flags), help)
	}
	i := strings.Index(text, "\n| option | meaning |\n")
	j := strings.Index(text, "\nhinetd [")
	if i < 0 || j < 0 {
		t.Fatal("README has no options table or synopsis")
	}
	synopsis := text[j : j+strings.Index(text[j:], "```")]
	rows := map[string]bool{}
	for _, ln := range strings.Split(text[i+1:], "\n")[2:] {
		if !strings.HasPrefix(ln, "|") {
			break // the table ends at its first non-row line
		}
		cell := strings.SplitN(ln, "|", 3)[1]
		for _, f := range strings.Split(cell, ",") {
			f = strings.Trim(strings.TrimSpace(f), "`")
			rows[strings.TrimLeft(strings.Fields(f)[0], "-")] = true
		}
	}
	for _, f := range flags {
		dashes := "--"
		if len(f) == 1 {
			dashes = "-"
		}
		if !rows[f] {
			t.Errorf("README options table has no row for %s%s", dashes, f)
		}
		if !strings.Contains(synopsis, "["+dashes+f) {
			t.Errorf("README synopsis lacks %s%s", dashes, f)
		}
		delete(rows, f)
	}
	for f := range rows {
		t.Errorf("README options table has a row for %q, which hinetd does not take", f)
	}
}

// TestSocketUnitDoc: docs/systemd.md shows the .socket units that
// hinetd-check --systemd-socket prints for the inetd.conf shown there.
func TestSocketUnitDoc(t *testing.T) {
	doc, err := os.ReadFile("../docs/systemd.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	block := func(after, fence string) string {
		i := strings.Index(text, after)
		if i < 0 {
			t.Fatalf("docs/systemd.md lacks %q", after)
		}
		j := strings.Index(text[i:], fence+"\n")
		body := text[i+j+len(fence)+1:]
		return body[:strings.Index(body, "```")]
	}
	conf := block("For this `/etc/inetd.conf`:", "```")
	want := block("it prints", "```ini")
	path := filepath.Join(t.TempDir(), "inetd.conf")
	os.WriteFile(path, []byte(conf), 0o644)
	out, errs, code := runTool(t, "hinetd-check", "--systemd-socket", path)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got := strings.ReplaceAll(out, path, "/etc/inetd.conf"); got != want {
		t.Errorf("docs/systemd.md shows:\n%s\nhinetd-check --systemd-socket prints:\n%s", want, got)
	}
}
