package audit

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

const rsyslogd = "/usr/sbin/rsyslogd"

// rsyslog is a private rsyslogd started by a test: its own config, work
// directory, pid file and sockets in a temp dir, inputs on 127.0.0.1 only,
// and every message written raw (%rawmsg%) to out. It never touches the
// system's rsyslog or /dev/log (imuxsock's system socket is off).
type rsyslog struct {
	t        testing.TB
	dir, out string
	conf     string
	sock     string // imuxsock datagram socket, when asked for
	udpPort  int
	tcpPort  int
	tlsPort  int
	cmd      *exec.Cmd
	waitErr  chan error
}

type rsyslogOpts struct {
	unix, udp, tcp bool
	stdParser      bool     // imuxsock as a stock /etc/rsyslog.conf has it (special parser on)
	template       string   // output template string instead of the raw message
	unixStream     bool     // an imptcp unix stream socket at sock instead of imuxsock
	tcpPort        int      // listen on this port rather than a free one
	tls            *testPKI // TLS input with this CA and server cert
	tlsClientAuth  bool     // require a client certificate signed by the CA
}

func needRsyslog(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(rsyslogd); err != nil {
		t.Skip("rsyslogd not installed (make test installs rsyslog)")
	}
}

// freePort finds a port free on 127.0.0.1 for network ("tcp" or "udp").
func freePort(t testing.TB, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startRsyslog(t testing.TB, o rsyslogOpts) *rsyslog {
	t.Helper()
	needRsyslog(t)
	if o.tls != nil {
		if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
			t.Skip("rsyslog's GnuTLS driver not installed (make test installs rsyslog-gnutls)")
		}
	}
	dir := t.TempDir()
	r := &rsyslog{t: t, dir: dir, out: filepath.Join(dir, "out.log"), conf: filepath.Join(dir, "rsyslog.conf")}
	os.Mkdir(filepath.Join(dir, "work"), 0o700)
	if o.unix || o.unixStream {
		r.sock = filepath.Join(dir, "log.sock")
	}
	// A port found free can be taken before rsyslogd binds it (by an
	// outgoing connection of a test running beside us): then try others.
	var err error
	for attempt := range 3 {
		if o.udp {
			r.udpPort = freePort(t, "udp")
		}
		if o.tls != nil {
			r.tlsPort = freePort(t, "tcp")
		} else if o.tcp {
			r.tcpPort = o.tcpPort
			if r.tcpPort == 0 {
				r.tcpPort = freePort(t, "tcp")
			}
		}
		if err := os.WriteFile(r.conf, []byte(r.config(o)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err = r.tryStart(10 * time.Second); err == nil {
			break
		}
		t.Logf("rsyslogd, attempt %d: %v; %s", attempt+1, err, r.diag())
		r.stop()
	}
	if err != nil {
		t.Fatalf("%v; %s", err, r.diag())
	}
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Log(r.diag())
		}
	})
	return r
}

func (r *rsyslog) diag() string {
	out := readFile(r.out)
	if len(out) > 2000 {
		out = out[:2000] + "..."
	}
	return fmt.Sprintf("rsyslogd config:\n%s\nrsyslogd stderr:\n%s\nout.log:\n%s", readFile(r.conf), readFile(filepath.Join(r.dir, "stderr")), out)
}

// config is the rsyslog.conf for o, on the ports chosen.
func (r *rsyslog) config(o rsyslogOpts) string {
	var c strings.Builder
	fmt.Fprintf(&c, "global(workDirectory=%q maxMessageSize=\"64k\"", filepath.Join(r.dir, "work"))
	if o.tls != nil {
		fmt.Fprintf(&c, " defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q",
			o.tls.caFile, o.tls.serverCert, o.tls.serverKey)
	}
	c.WriteString(")\n")
	switch {
	case o.unixStream:
		c.WriteString("module(load=\"imptcp\")\n")
		fmt.Fprintf(&c, "input(type=\"imptcp\" path=%q unlink=\"on\")\n", r.sock)
	case o.unix:
		c.WriteString("module(load=\"imuxsock\" SysSock.Use=\"off\")\n")
		parser := " UseSpecialParser=\"off\""
		if o.stdParser {
			parser = ""
		}
		fmt.Fprintf(&c, "input(type=\"imuxsock\" Socket=%q%s RateLimit.Interval=\"0\")\n", r.sock, parser)
	}
	if o.udp {
		// rcvbufSize: a burst on loopback outruns the default buffer.
		c.WriteString("module(load=\"imudp\")\n")
		fmt.Fprintf(&c, "input(type=\"imudp\" address=\"127.0.0.1\" port=\"%d\" rcvbufSize=\"16m\")\n", r.udpPort)
	}
	if o.tls != nil {
		mode := "anon"
		if o.tlsClientAuth {
			mode = "x509/certvalid"
		}
		fmt.Fprintf(&c, "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=%q)\n", mode)
		fmt.Fprintf(&c, "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\")\n", r.tlsPort)
	} else if o.tcp {
		c.WriteString("module(load=\"imtcp\")\n")
		fmt.Fprintf(&c, "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\")\n", r.tcpPort)
	}
	tmpl := "%rawmsg%\\n"
	if o.template != "" {
		tmpl = o.template
	}
	fmt.Fprintf(&c, "template(name=\"raw\" type=\"string\" string=\"%s\")\n", tmpl)
	fmt.Fprintf(&c, "action(type=\"omfile\" file=%q template=\"raw\")\n", r.out)
	return c.String()
}

// start runs rsyslogd again (same config and ports) and waits until its
// inputs are bound.
func (r *rsyslog) start() {
	r.t.Helper()
	if err := r.tryStart(20 * time.Second); err != nil {
		r.t.Fatalf("%v; %s", err, r.diag())
	}
}

// tryStart runs rsyslogd in the foreground and waits up to d for its
// inputs to be bound.
func (r *rsyslog) tryStart(d time.Duration) error {
	cmd := exec.Command(rsyslogd, "-n", "-f", r.conf, "-i", filepath.Join(r.dir, "pid"))
	// rsyslogd's own complaints (TLS alerts in the negative tests) go to
	// a file, shown only when the test fails.
	errf, err := os.OpenFile(filepath.Join(r.dir, "stderr"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer errf.Close()
	cmd.Stdout, cmd.Stderr = errf, errf
	if err := cmd.Start(); err != nil {
		return err
	}
	r.cmd = cmd
	r.waitErr = make(chan error, 1)
	go func() { r.waitErr <- cmd.Wait() }()
	deadline := time.Now().Add(d)
	for !r.ready() {
		if time.Now().After(deadline) {
			return fmt.Errorf("rsyslogd did not come up in %v", d)
		}
		select {
		case err := <-r.waitErr:
			r.cmd = nil
			return fmt.Errorf("rsyslogd exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func (r *rsyslog) ready() bool {
	if r.sock != "" {
		if _, err := os.Stat(r.sock); err != nil {
			return false
		}
	}
	for _, p := range []int{r.tcpPort, r.tlsPort} {
		if p == 0 {
			continue
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second)
		if err != nil {
			return false
		}
		c.Close()
	}
	if r.udpPort != 0 && !udpBound(r.udpPort) {
		return false
	}
	return true
}

// udpBound reads /proc/net/udp for a socket bound to 127.0.0.1:port.
func udpBound(port int) bool {
	f, err := os.Open("/proc/net/udp")
	if err != nil {
		return false
	}
	defer f.Close()
	want := fmt.Sprintf("0100007F:%04X", port)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) > 1 && fs[1] == want {
			return true
		}
	}
	return false
}

// stop ends rsyslogd with SIGTERM (it flushes its queue and the file).
func (r *rsyslog) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.waitErr:
	case <-time.After(15 * time.Second):
		r.cmd.Process.Kill()
		<-r.waitErr
	}
	r.cmd = nil
}

// lines returns the records rsyslog wrote so far.
func (r *rsyslog) lines() []string {
	b, err := os.ReadFile(r.out)
	if err != nil {
		return nil
	}
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// waitLines polls until pred holds for the records written, or 20s pass.
func (r *rsyslog) waitLines(pred func([]string) bool) []string {
	deadline := time.Now().Add(20 * time.Second)
	for {
		ls := r.lines()
		if pred(ls) || time.Now().After(deadline) {
			return ls
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
