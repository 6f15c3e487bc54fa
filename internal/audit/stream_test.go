package audit

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/audit/audittest"
)

// TestTCPSink: RFC 6587 octet counting to rsyslog's imtcp.
func TestTCPSink(t *testing.T) {
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{TCP: true})
	sendAndCheck(t, r, fmt.Sprintf("tcp://127.0.0.1:%d", r.TCPPort), 2000)
}

func tlsURL(port int, p *audittest.PKI, ca string, client bool) string {
	q := url.Values{"ca": {ca}}
	if client {
		q.Set("cert", p.ClientCert)
		q.Set("key", p.ClientKey)
	}
	return fmt.Sprintf("tls://127.0.0.1:%d?%s", port, q.Encode())
}

// TestTLSSink: RFC 5425 to rsyslog's imtcp with the gtls driver, the
// server certificate checked against the test CA.
func TestTLSSink(t *testing.T) {
	p := audittest.NewPKI(t)
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{TLS: p})
	sendAndCheck(t, r, tlsURL(r.TLSPort, p, p.CAFile, false), 1000)
}

// TestTLSClientCert: rsyslog asks for a client certificate signed by the
// CA (x509/certvalid); the sink presents one.
func TestTLSClientCert(t *testing.T) {
	p := audittest.NewPKI(t)
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{TLS: p, TLSClientAuth: true})
	sendAndCheck(t, r, tlsURL(r.TLSPort, p, p.CAFile, true), 200)
}

// TestTLSWrongCA: a server certificate from a CA we do not trust is
// refused: nothing is delivered, the records wait in the spool, and the
// sink reports the verification error.
func TestTLSWrongCA(t *testing.T) {
	p := audittest.NewPKI(t)
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{TLS: p})
	opts := testOpts(t)
	l, err := Open([]string{tlsURL(r.TLSPort, p, p.OtherCA, false)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		l.Emit(testEvent(i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats()[0].LastError == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	st := l.Stats()[0]
	if st.Delivered != 0 || st.LastError == "" {
		t.Fatalf("stats %+v: want nothing delivered and a certificate error", st)
	}
	t.Logf("sink error: %s", st.LastError)
	closeLogWithin(t, l, 200*time.Millisecond)
	if st := l.Stats()[0]; st.Pending != 10 {
		t.Fatalf("after close %+v: want the 10 records kept in the spill file", st)
	}
	if got := r.Lines(); len(got) != 0 {
		t.Fatalf("rsyslog got %d records over an unverified connection", len(got))
	}
}

// TestFileSink: JSON lines, one object per event, every line valid JSON
// with the connection fields and the extra fields in order.
func TestFileSink(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, err := Open([]string{"file://" + path}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000
	for i := range n {
		l.Emit(testEvent(i))
	}
	closeLog(t, l)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	seen := map[float64]bool{}
	for sc.Scan() {
		var m struct {
			Kind, Service, Proto, Client, Local, Severity, Msg string
			ClientPort                                         int    `json:"client_port"`
			Conn                                               uint64 `json:",string"`
			Seq                                                uint64
			Fields                                             audittest.JSONFields
		}
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("not JSON: %v: %s", err, sc.Text())
		}
		var i int
		fmt.Sscan(m.Fields["n"], &i)
		want := testEvent(i)
		if m.Kind != want.Kind.String() || m.Service != "echo" || m.Client != want.Client.Addr().String() ||
			m.ClientPort != int(want.Client.Port()) || m.Local != "127.0.0.1" || m.Conn != want.ConnID || m.Seq == 0 {
			t.Fatalf("record %d: %+v", i, m)
		}
		if want.Kind == KindDeny && (m.Fields[KeyRule] != "hosts.deny:3" || m.Severity != "warning") {
			t.Fatalf("record %d: %+v", i, m)
		}
		seen[float64(i)] = true
	}
	if len(seen) != n {
		t.Fatalf("%d distinct records in the file, want %d", len(seen), n)
	}
}

// TestFileSinkNoFollow: the JSON file is never opened through a symlink.
func TestFileSinkNoFollow(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "victim")
	os.WriteFile(target, nil, 0o600)
	link := filepath.Join(dir, "audit.jsonl")
	os.Symlink(target, link)
	l, err := Open([]string{"file://" + link}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	l.Emit(testEvent(0))
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats()[0].LastError == "" && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	closeLogWithin(t, l, 200*time.Millisecond)
	if b, _ := os.ReadFile(target); len(b) != 0 {
		t.Fatalf("wrote through a symlink: %q", b)
	}
	if st := l.Stats()[0]; st.Delivered != 0 || st.LastError == "" {
		t.Fatalf("stats %+v", st)
	}
}

// TestTLSClientCertRequired: the same rsyslog refuses a sink without a
// client certificate, which shows TestTLSClientCert's certificate is used.
func TestTLSClientCertRequired(t *testing.T) {
	p := audittest.NewPKI(t)
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{TLS: p, TLSClientAuth: true})
	l, err := Open([]string{tlsURL(r.TLSPort, p, p.CAFile, false)}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		l.Emit(testEvent(i))
	}
	time.Sleep(time.Second)
	closeLogWithin(t, l, 200*time.Millisecond)
	if got := r.Lines(); len(got) != 0 {
		t.Fatalf("rsyslog accepted %d records from a client without certificate", len(got))
	}
}

// TestFileSinkRotation: after logrotate renames the file, records go to a
// new file at the path; none is lost between the two.
func TestFileSinkRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.jsonl")
	l, err := Open([]string{"file://" + path}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		l.Emit(testEvent(i))
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.Stats()[0].Delivered < 100 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // the sink looks once a second
	for i := 100; i < 200; i++ {
		l.Emit(testEvent(i))
	}
	closeLog(t, l)
	count := func(p string) int {
		b, _ := os.ReadFile(p)
		return strings.Count(string(b), "\n")
	}
	if a, b := count(path+".1"), count(path); a+b != 200 || b == 0 {
		t.Fatalf("rotated file %d lines, new file %d; want 200 in all, some in the new one", a, b)
	}
}
