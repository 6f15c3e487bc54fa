// Package audittest is test support for hinetd's audit tests, shared by
// the tests of package audit and the integration tests in hinetd's test/
// (test files cannot import each other's helpers). It starts a private
// rsyslogd, on 127.0.0.1 ports or a unix socket in a temp dir, with the
// inputs a test asks for and every message written to one output file,
// and makes a throw-away PKI (a CA, server and client certificates) for
// rsyslog's TLS input and hinetd's TLS sink. ParseRFC5424 reads an RFC
// 5424 message back strictly, so that tests compare what the audit log
// wrote field by field.
//
// It is for tests only: every function takes the test's testing.TB,
// fails or skips it on error, and cleans up with t.Cleanup.
package audittest

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

	"github.com/hinetd/hinetd/internal/testenv"
)

// RsyslogdPath is where Debian's rsyslog package puts the daemon.
const RsyslogdPath = "/usr/sbin/rsyslogd"

// Rsyslog is a private rsyslogd started by a test: its own config, work
// directory, pid file and sockets in Dir, inputs on 127.0.0.1 only, and
// every message written to Out (raw, %rawmsg%, unless a template is
// given). It never touches the system's rsyslog or /dev/log (imuxsock's
// system socket is off).
type Rsyslog struct {
	Dir  string // the temp dir holding everything below
	Out  string // the output file: one message a line
	Conf string // the rsyslog.conf written for it
	Sock string // the unix socket, when RsyslogOpts.Unix or UnixStream

	// The ports of the inputs asked for; 0 for one not asked for.
	UDPPort, TCPPort, TLSPort int

	t       testing.TB
	cmd     *exec.Cmd
	waitErr chan error
}

// RsyslogOpts says which inputs rsyslogd listens on and how it writes
// what it receives. The zero value has no inputs at all.
type RsyslogOpts struct {
	Unix       bool // imuxsock datagram socket at Sock (what /dev/log is)
	StdParser  bool // with Unix: imuxsock's special parser on, as a stock /etc/rsyslog.conf has it
	UnixStream bool // an imptcp unix stream socket at Sock instead of imuxsock
	UDP        bool // imudp on 127.0.0.1:UDPPort
	TCP        bool // plain imtcp on 127.0.0.1:TCPPort
	TCPPort    int  // with TCP: listen on this port rather than a free one

	// TLS is the CA and server certificate of an imtcp input with the
	// GnuTLS driver on 127.0.0.1:TLSPort (it replaces the plain TCP one).
	TLS *PKI
	// TLSClientAuth: with TLS, require a client certificate the CA signed
	// (x509/certvalid) rather than none (anon).
	TLSClientAuth bool

	// Template is an rsyslog string template for each output line
	// instead of "%rawmsg%\n".
	Template string

	// FreePort picks a port for an input on network ("tcp" or "udp"); nil
	// is FreePort(t, network). The integration tests draw theirs below
	// the ephemeral range, out of reach of their loads' client sockets.
	FreePort func(network string) int
}

// NeedRsyslog skips the test when rsyslogd is not installed.
func NeedRsyslog(t testing.TB) {
	t.Helper()
	testenv.NeedFile(t, RsyslogdPath, "rsyslog")
}

// FreePort returns a port the kernel found free on 127.0.0.1 for network
// ("tcp" or "udp") a moment ago.
func FreePort(t testing.TB, network string) int {
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

// StartRsyslog writes a config for o, starts rsyslogd in the foreground
// and returns once its inputs are bound. It skips the test when rsyslogd
// (or, for TLS, its GnuTLS driver) is not installed, and stops rsyslogd
// when the test ends, logging its config, stderr and output if the test
// failed.
func StartRsyslog(t testing.TB, o RsyslogOpts) *Rsyslog {
	t.Helper()
	NeedRsyslog(t)
	if o.TLS != nil {
		if m, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(m) == 0 {
			testenv.Skip(t, "rsyslog's GnuTLS driver not installed (Debian package rsyslog-gnutls; make test installs it)")
		}
	}
	freePort := o.FreePort
	if freePort == nil {
		freePort = func(network string) int { return FreePort(t, network) }
	}
	dir := t.TempDir()
	r := &Rsyslog{t: t, Dir: dir, Out: filepath.Join(dir, "out.log"), Conf: filepath.Join(dir, "rsyslog.conf")}
	os.Mkdir(filepath.Join(dir, "work"), 0o700)
	if o.Unix || o.UnixStream {
		r.Sock = filepath.Join(dir, "log.sock")
	}
	// A port found free can be taken before rsyslogd binds it (by an
	// outgoing connection of a test running beside us): then try others.
	var err error
	for attempt := range 3 {
		r.UDPPort, r.TCPPort, r.TLSPort = 0, 0, 0
		if o.UDP {
			r.UDPPort = freePort("udp")
		}
		if o.TLS != nil {
			r.TLSPort = freePort("tcp")
		} else if o.TCP {
			r.TCPPort = o.TCPPort
			if r.TCPPort == 0 {
				r.TCPPort = freePort("tcp")
			}
		}
		if err := os.WriteFile(r.Conf, []byte(r.config(o)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err = r.tryStart(10 * time.Second); err == nil {
			break
		}
		t.Logf("rsyslogd, attempt %d: %v; %s", attempt+1, err, r.Diag())
		r.Stop()
	}
	if err != nil {
		t.Fatalf("%v; %s", err, r.Diag())
	}
	t.Cleanup(func() {
		r.Stop()
		if t.Failed() {
			t.Log(r.Diag())
		}
	})
	return r
}

// Diag is rsyslogd's config, its stderr and the start of its output, for
// a failure message.
func (r *Rsyslog) Diag() string {
	out := readFile(r.Out)
	if len(out) > 2000 {
		out = out[:2000] + "..."
	}
	return fmt.Sprintf("rsyslogd config:\n%s\nrsyslogd stderr:\n%s\nout.log (start):\n%s",
		readFile(r.Conf), readFile(filepath.Join(r.Dir, "stderr")), out)
}

// config is the rsyslog.conf for o, on the ports chosen.
func (r *Rsyslog) config(o RsyslogOpts) string {
	var c strings.Builder
	fmt.Fprintf(&c, "global(workDirectory=%q maxMessageSize=\"64k\"", filepath.Join(r.Dir, "work"))
	if o.TLS != nil {
		fmt.Fprintf(&c, " defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q",
			o.TLS.CAFile, o.TLS.ServerCert, o.TLS.ServerKey)
	}
	c.WriteString(")\n")
	switch {
	case o.UnixStream:
		c.WriteString("module(load=\"imptcp\")\n")
		fmt.Fprintf(&c, "input(type=\"imptcp\" path=%q unlink=\"on\")\n", r.Sock)
	case o.Unix:
		c.WriteString("module(load=\"imuxsock\" SysSock.Use=\"off\")\n")
		parser := " UseSpecialParser=\"off\""
		if o.StdParser {
			parser = ""
		}
		fmt.Fprintf(&c, "input(type=\"imuxsock\" Socket=%q%s RateLimit.Interval=\"0\")\n", r.Sock, parser)
	}
	if o.UDP {
		// rcvbufSize: a burst on loopback outruns the default buffer.
		c.WriteString("module(load=\"imudp\")\n")
		fmt.Fprintf(&c, "input(type=\"imudp\" address=\"127.0.0.1\" port=\"%d\" rcvbufSize=\"16m\")\n", r.UDPPort)
	}
	if o.TLS != nil {
		mode := "anon"
		if o.TLSClientAuth {
			mode = "x509/certvalid"
		}
		fmt.Fprintf(&c, "module(load=\"imtcp\" StreamDriver.Name=\"gtls\" StreamDriver.Mode=\"1\" StreamDriver.AuthMode=%q)\n", mode)
		fmt.Fprintf(&c, "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\")\n", r.TLSPort)
	} else if o.TCP {
		c.WriteString("module(load=\"imtcp\")\n")
		fmt.Fprintf(&c, "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\")\n", r.TCPPort)
	}
	tmpl := "%rawmsg%\\n"
	if o.Template != "" {
		tmpl = o.Template
	}
	fmt.Fprintf(&c, "template(name=\"out\" type=\"string\" string=\"%s\")\n", tmpl)
	fmt.Fprintf(&c, "action(type=\"omfile\" file=%q template=\"out\")\n", r.Out)
	return c.String()
}

// Start runs rsyslogd again after Stop, with the same config and ports,
// and waits until its inputs are bound; it fails the test if they never
// are.
func (r *Rsyslog) Start() {
	r.t.Helper()
	var err error
	// The port was ours a moment ago; a connection a sink under test is
	// dialing can hold it briefly: retry for a while.
	for attempt := 0; attempt < 5; attempt++ {
		if err = r.tryStart(10 * time.Second); err == nil {
			return
		}
		r.Stop()
		time.Sleep(200 * time.Millisecond)
	}
	r.t.Fatalf("%v; %s", err, r.Diag())
}

// tryStart runs rsyslogd in the foreground and waits up to d for its
// inputs to be bound.
func (r *Rsyslog) tryStart(d time.Duration) error {
	cmd := exec.Command(RsyslogdPath, "-n", "-f", r.Conf, "-i", filepath.Join(r.Dir, "pid"))
	// rsyslogd's own complaints (TLS alerts in the negative tests) go to
	// a file, shown only when the test fails.
	errf, err := os.OpenFile(filepath.Join(r.Dir, "stderr"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
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

// ready says whether every input asked for is bound.
func (r *Rsyslog) ready() bool {
	if r.Sock != "" {
		if _, err := os.Stat(r.Sock); err != nil {
			return false
		}
	}
	for _, p := range []int{r.TCPPort, r.TLSPort} {
		if p == 0 {
			continue
		}
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second)
		if err != nil {
			return false
		}
		c.Close()
	}
	if r.UDPPort != 0 && !udpBound(r.UDPPort) {
		return false
	}
	return true
}

// udpBound reads /proc/net/udp for a socket bound to 127.0.0.1:port (a
// datagram input cannot be probed by connecting).
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

// Stop ends rsyslogd with SIGTERM (it flushes its queue and the file),
// killing it after 15 s. Stopping a stopped one does nothing.
func (r *Rsyslog) Stop() {
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

// Lines returns the complete lines rsyslog wrote to Out so far. A last
// line without its newline is left for the next call: omfile writes its
// buffer in pieces, and a reader that polls can see half a record (a
// flood test once failed parsing "...][met").
func (r *Rsyslog) Lines() []string {
	s := readFile(r.Out)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	} else {
		s = ""
	}
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// WaitLines polls Lines every 20 ms until pred holds for them or timeout
// passes, and returns the last lines read (the caller checks them).
func (r *Rsyslog) WaitLines(timeout time.Duration, pred func([]string) bool) []string {
	deadline := time.Now().Add(timeout)
	for {
		ls := r.Lines()
		if pred(ls) || time.Now().After(deadline) {
			return ls
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// readFile is p's contents, "" when it cannot be read.
func readFile(p string) string {
	b, _ := os.ReadFile(p)
	return string(b)
}
