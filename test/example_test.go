package test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/testenv"
)

// TestExampleConfig is what `make run` gives a new user: hinetd on
// examples/ (inetd.conf, hosts files, policy), answering on 127.0.0.1.
func TestExampleConfig(t *testing.T) {
	needRoot(t)
	for _, p := range []string{"7007", "7013", "7100"} {
		if l, err := net.Listen("tcp", "127.0.0.1:"+p); err != nil {
			testenv.Skip(t, "port %s in use: the example config cannot run here", p)
		} else {
			l.Close()
		}
	}
	ex, _ := filepath.Abs("../examples")
	files := map[string]string{}
	for _, f := range []string{"hosts.allow", "hosts.deny"} {
		b, err := os.ReadFile(filepath.Join(ex, f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = string(b)
	}
	conf, err := os.ReadFile(filepath.Join(ex, "inetd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	startDaemonWith(t, nil, files, string(conf), "--policy", filepath.Join(ex, "policy"))
	if got := string(dialRead(t, "tcp", "127.0.0.1:7100", nil)); got != "hello from hinetd\n" {
		t.Fatalf("7100: %q", got)
	}
	if got := string(dialRead(t, "tcp", "127.0.0.1:7007", []byte("hi"))); got != "hi" {
		t.Fatalf("7007 echo: %q", got)
	}
	got := string(dialRead(t, "tcp", "127.0.0.1:7013", nil))
	if _, err := time.Parse("Mon Jan _2 15:04:05 2006", strings.TrimSpace(got)); err != nil {
		t.Fatalf("7013 daytime: %q", got)
	}
}

// TestExamplesAgree: every section of the example policy names a service
// of the example inetd.conf (it named ftp, tftp, telnet and echo, which
// the example runs on numbered ports, so none of them applied).
func TestExamplesAgree(t *testing.T) {
	ex, _ := filepath.Abs("../examples")
	out, err := exec.Command(bin(t, "hinetd-check"), "--policy", filepath.Join(ex, "policy"),
		"--hosts-allow", filepath.Join(ex, "hosts.allow"), "--hosts-deny", filepath.Join(ex, "hosts.deny"),
		filepath.Join(ex, "inetd.conf")).CombinedOutput()
	if err != nil {
		t.Fatalf("hinetd-check on examples/: %v\n%s", err, out)
	}
	if strings.Contains(string(out), "which inetd.conf does not define") {
		t.Fatalf("the example policy has sections for services the example inetd.conf does not define:\n%s", out)
	}
}
