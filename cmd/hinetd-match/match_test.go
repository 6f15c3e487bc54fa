package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/internal/testenv"
)

var update = flag.Bool("update", false, "rewrite testdata/golden")

// TestGolden runs every query of testdata/queries in a directory holding
// testdata's hosts.allow and hosts.deny (-d) and compares the output with
// testdata/golden/<n>.txt.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"hosts.allow", "hosts.deny"} {
		b, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	hostsFile, _ := filepath.Abs("testdata/hosts")
	golden, _ := filepath.Abs("testdata/golden")
	qs, _ := os.ReadFile("testdata/queries")
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	for _, ln := range strings.Split(strings.TrimSpace(string(qs)), "\n") {
		for _, format := range []string{"txt", "json"} {
			args := append([]string{"-d", "--hosts-file", hostsFile}, strings.Fields(ln)...)
			if format == "json" {
				args = append([]string{"--json"}, args...)
			}
			var out, errb bytes.Buffer
			rc := run(args, &out, &errb)
			if rc == exitError || errb.Len() > 0 {
				t.Errorf("%s: exit %d: %s", ln, rc, errb.String())
				continue
			}
			// The exit status is part of the output a script sees.
			got := "$ hinetd-match " + ln + "\n" + out.String() + fmt.Sprintf("exit %d\n", rc)
			if format == "json" {
				var doc document
				if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
					t.Errorf("%s --json: %v", ln, err)
				}
				got = out.String() + fmt.Sprintf("exit %d\n", rc)
			}
			path := filepath.Join(golden, strings.ReplaceAll(ln, " ", "_")+"."+format)
			if *update {
				os.MkdirAll(golden, 0o755)
				os.WriteFile(path, []byte(got), 0o644)
				continue
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Errorf("%s: %v (run go test -update)", ln, err)
				continue
			}
			if got != string(want) {
				t.Errorf("%s:\n got:\n%s\nwant:\n%s", ln, got, want)
			}
		}
	}
}

// TestExitStatus: the exit status says the decision (0 granted, 1 denied
// for any address, 3 delegated to twist), --exit-zero gives tcpdmatch's
// 0, and the --json document's access fields agree with the text.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	allow, deny := filepath.Join(dir, "allow"), filepath.Join(dir, "deny")
	os.WriteFile(allow, []byte("in.fingerd: 10.0.0.1\nin.talkd: 10.0.0.3: twist /bin/echo no\n"), 0o644)
	os.WriteFile(deny, []byte("ALL: ALL\n"), 0o644)
	files := []string{"--hosts-allow", allow, "--hosts-deny", deny}
	for _, tc := range []struct {
		args   []string
		rc     int
		access string
	}{
		{[]string{"in.fingerd", "10.0.0.1"}, 0, "granted"},
		{[]string{"in.fingerd", "10.0.0.2"}, 1, "denied"},
		{[]string{"in.talkd", "10.0.0.3"}, 3, "delegated"},
		{[]string{"--exit-zero", "in.fingerd", "10.0.0.2"}, 0, "denied"},
	} {
		var out, errb bytes.Buffer
		rc := run(append(append([]string{"--json"}, files...), tc.args...), &out, &errb)
		var doc document
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("%v: %v: %s", tc.args, err, out.String())
		}
		if rc != tc.rc || doc.Access != tc.access || len(doc.Predictions) != 1 || doc.Predictions[0].Access != tc.access {
			t.Errorf("%v: exit %d, document %+v; want exit %d, access %s", tc.args, rc, doc, tc.rc, tc.access)
		}
	}
}

// TestVersionHelp: --version and --help exit 0, on stdout and stderr.
func TestVersionHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := run([]string{"--version"}, &out, &errb); rc != 0 || !strings.HasPrefix(out.String(), "hinetd-match ") {
		t.Errorf("--version: exit %d, %q %q", rc, out.String(), errb.String())
	}
	out.Reset()
	errb.Reset()
	if rc := run([]string{"--help"}, &out, &errb); rc != 0 || !strings.Contains(errb.String(), "Exit status") {
		t.Errorf("--help: exit %d, %q", rc, errb.String())
	}
}

// TestAgainstTcpdmatch: the access lines of hinetd-match -d equal those
// of tcpdmatch -d for the golden queries (tcpdmatch runs in a private
// mount and network namespace with testdata/hosts as /etc/hosts).
func TestAgainstTcpdmatch(t *testing.T) {
	testenv.NeedFile(t, "/usr/sbin/tcpdmatch", "tcpd")
	testenv.NeedRoot(t)
	dir := t.TempDir()
	for _, f := range []string{"hosts.allow", "hosts.deny"} {
		b, _ := os.ReadFile(filepath.Join("testdata", f))
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	hostsFile, _ := filepath.Abs("testdata/hosts")
	nss := filepath.Join(dir, "nsswitch.conf")
	os.WriteFile(nss, []byte("hosts: files\n"), 0o644)
	qs, _ := os.ReadFile("testdata/queries")
	access := regexp.MustCompile(`(?m)^access: +(\w+)$`)
	wd, _ := os.Getwd()
	os.Chdir(dir)
	defer os.Chdir(wd)
	for _, ln := range strings.Split(strings.TrimSpace(string(qs)), "\n") {
		f := strings.Fields(ln)
		script := "mount --bind " + hostsFile + " /etc/hosts && mount --bind " + nss + " /etc/nsswitch.conf && cd " + dir +
			" && exec /usr/sbin/tcpdmatch -d '" + f[0] + "' '" + f[1] + "'"
		want, err := exec.Command("unshare", "-m", "-n", "--propagation", "private", "sh", "-c", script).CombinedOutput()
		if err != nil {
			t.Fatalf("tcpdmatch %s: %v: %s", ln, err, want)
		}
		var out bytes.Buffer
		run(append([]string{"-d", "--hosts-file", hostsFile}, f...), &out, &out)
		g, w := access.FindAllStringSubmatch(out.String(), -1), access.FindAllStringSubmatch(string(want), -1)
		if len(g) != len(w) || len(g) == 0 {
			t.Errorf("%s: hinetd-match:\n%s\ntcpdmatch:\n%s", ln, out.String(), want)
			continue
		}
		for i := range g {
			if g[i][1] != w[i][1] {
				t.Errorf("%s: hinetd-match:\n%s\ntcpdmatch:\n%s", ln, out.String(), want)
			}
		}
	}
}

func TestUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if rc := run([]string{"only-one"}, &out, &errb); rc != 2 || !strings.Contains(errb.String(), "usage: hinetd-match") {
		t.Fatalf("rc %d, %q", rc, errb.String())
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "deny"), []byte("ALL: [2001:db8::/32]\n"), 0o644)
	errb.Reset()
	if rc := run([]string{"--hosts-allow", filepath.Join(dir, "allow"), "--hosts-deny", filepath.Join(dir, "deny"), "sshd", "10.0.0.1"}, &out, &errb); rc != 2 ||
		!strings.Contains(errb.String(), "deny:1:6: bad IPv6 address") {
		t.Fatalf("rc %d, %q", rc, errb.String())
	}
}
