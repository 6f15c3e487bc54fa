package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTCPDUnwrapped: a Debian line runs its server through /usr/sbin/tcpd.
// hinetd decides with its own hosts files and runs the server directly, so
// tcpd's second check of /etc/hosts.allow and /etc/hosts.deny (here an
// /etc/hosts.deny of "ALL: ALL", mounted in the daemon's own mount
// namespace) does not refuse what hinetd granted; the log says it ran the
// server directly. (On the old main the finger client got nothing: tcpd
// refused.)
func TestTCPDUnwrapped(t *testing.T) {
	needRoot(t)
	for _, p := range []string{"/usr/sbin/tcpd", "/usr/sbin/in.fingerd"} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s missing (make deps-test): %v", p, err)
		}
	}
	port := freePort(t)
	d := startDaemonWith(t, []string{"unshare", "-m", "--propagation", "private", "sh", "-c",
		`mount --bind DIR/etc.hosts.deny /etc/hosts.deny && exec "$0" "$@"`},
		map[string]string{"etc.hosts.deny": "ALL: ALL\n", "hosts.allow": "in.fingerd: 127.0.0.1\n", "hosts.deny": "ALL: ALL\n"},
		fmt.Sprintf("127.0.0.1:%d\tstream\ttcp\tnowait\tnobody\t/usr/sbin/tcpd\t/usr/sbin/in.fingerd\n", port))
	d.waitLog("runs /usr/sbin/in.fingerd directly, not through /usr/sbin/tcpd", 5*time.Second)
	got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), []byte("root\r\n")))
	if !strings.Contains(got, "Login: root") {
		t.Fatalf("finger through a tcpd line: %q", got)
	}
	d.waitLog("event=accept", 5*time.Second, "rule=", "hosts.allow:1")
}

// TestTCPDCheckAndMustNotRun: hinetd-check checks the server behind tcpd
// exists and shows it; a standalone daemon (rpc.statd, sendmail -bs, also
// behind tcpd) is an error naming file:line and the reason, and the
// daemon does not start it while it starts the other lines.
func TestTCPDCheckAndMustNotRun(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	for _, name := range []string{"rpc.statd", "sendmail"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\necho ran\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	conf := fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /usr/sbin/tcpd /usr/sbin/in.fingerd\n"+
		"127.0.0.1:%d stream tcp nowait nobody /usr/sbin/tcpd /usr/sbin/in.nonesuchd\n"+
		"127.0.0.1:%d stream tcp nowait root /usr/sbin/tcpd %s/sendmail -bs\n"+
		"127.0.0.1:%d dgram udp wait root %s/rpc.statd\n", port, port+1, port+2, dir, port+3, dir)
	confPath := filepath.Join(dir, "inetd.conf")
	os.WriteFile(confPath, []byte(conf), 0o644)
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	os.Mkdir(filepath.Join(dir, "policy"), 0o755)
	out, err := exec.Command(bin(t, "hinetd-check"), "--policy", filepath.Join(dir, "policy"),
		"--hosts-allow", empty, "--hosts-deny", empty, confPath).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("hinetd-check: %v, want exit 1\n%s", err, out)
	}
	for _, want := range []string{
		"program:      /usr/sbin/in.fingerd (exists), run directly instead of through /usr/sbin/tcpd",
		"(policy profile in.fingerd)", // the shipped profile, chosen by the program behind tcpd
		confPath + `:2:57: error: server program "/usr/sbin/in.nonesuchd" does not exist (the server /usr/sbin/tcpd would run)`,
		confPath + ":3:", dir + "/sendmail is sendmail (a mail transfer agent): a standalone daemon, which inetd(8) says must not be run from inetd",
		confPath + ":4:", dir + "/rpc.statd is rpc.statd (a NFS status monitor): a standalone daemon",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("hinetd-check output lacks %q:\n%s", want, out)
		}
	}

	d := startDaemon(t, conf)
	d.waitLog("event=config-error", 5*time.Second, ":3:", "sendmail is sendmail (a mail transfer agent)")
	d.waitLog("event=config-error", 5*time.Second, ":4:", "rpc.statd is rpc.statd (a NFS status monitor)")
	d.waitLog("event=start", 5*time.Second, "1 added")
	if got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), []byte("root\r\n"))); !strings.Contains(got, "Login: root") {
		t.Fatalf("finger: %q", got)
	}
}
