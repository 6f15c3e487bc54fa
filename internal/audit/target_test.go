package audit

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestParseTarget: sink URLs, the format each gets, and exact errors.
func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		url     string
		def     Format
		scheme  string
		addr    string
		format  Format
		name    string
		wantErr string
	}{
		{url: "unix:///dev/log", scheme: "unix", addr: "/dev/log", format: FormatRFC3164, name: "unix:///dev/log"},
		// an explicit --log-format applies to unix sockets too
		{url: "unix:///dev/log", def: FormatRFC5424, scheme: "unix", addr: "/dev/log", format: FormatRFC5424},
		{url: "unix:///run/x.sock?format=rfc5424", scheme: "unix", addr: "/run/x.sock", format: FormatRFC5424, name: "unix:///run/x.sock"},
		{url: "udp://127.0.0.1:514", scheme: "udp", addr: "127.0.0.1:514", format: FormatRFC5424},
		{url: "udp://127.0.0.1:514", def: FormatRFC3164, scheme: "udp", addr: "127.0.0.1:514", format: FormatRFC3164},
		{url: "tcp://[::1]:601", scheme: "tcp", addr: "[::1]:601", format: FormatRFC5424},
		{url: "file:///var/log/hinetd.jsonl", def: FormatRFC3164, scheme: "file", addr: "/var/log/hinetd.jsonl", format: FormatJSON},
		{url: "file:///var/log/hinetd.log?format=rfc5424", scheme: "file", addr: "/var/log/hinetd.log", format: FormatRFC5424},
		{url: "stderr:", scheme: "stderr", format: FormatText},
		// the name in records leaves out the query (file names of keys)
		{url: "tls://logs.example:6514?ca=/nonexistent/ca.pem", wantErr: `log sink "tls://logs.example:6514?ca=/nonexistent/ca.pem": open /nonexistent/ca.pem: no such file or directory`},
		{url: "tls://logs.example:6514?cert=/x.pem", wantErr: `log sink "tls://logs.example:6514?cert=/x.pem": cert= and key= go together`},
		{url: "tcp://logs.example", wantErr: `log sink "tcp://logs.example": want tcp://host:port`},
		{url: "file://", wantErr: `log sink "file://": want file:///absolute/path`},
		{url: "syslog://x:1", wantErr: `log sink "syslog://x:1": unknown scheme "syslog"; expect unix, udp, tcp, tls, file or stderr`},
		{url: "tls://h:6514?cafile=/etc/ca.pem", wantErr: `log sink "tls://h:6514?cafile=/etc/ca.pem": unknown parameter "cafile"; expect format, ca, cert, key, name`},
		{url: "tcp://h:601?ca=/etc/ca.pem", wantErr: `log sink "tcp://h:601?ca=/etc/ca.pem": unknown parameter "ca"; expect format`},
		{url: "udp://h:1?format=xml", wantErr: `log sink "udp://h:1?format=xml": unknown format "xml"; expect rfc5424, rfc3164, json or text`},
		{url: "unix:/run/x.sock?type=stream", scheme: "unix", addr: "/run/x.sock", format: FormatRFC3164},
		{url: "unix:", scheme: "unix", addr: "/dev/log", format: FormatRFC3164},
		{url: "udp://[fe80::1%25lo]:514", scheme: "udp", addr: "[fe80::1%lo]:514", format: FormatRFC5424, name: "udp://[fe80::1%25lo]:514"},
		{url: "tcp://]:1", wantErr: `log sink "tcp://]:1": "]" is not a host name or address`},
		{url: "tcp://a b:1", wantErr: `log sink "tcp://a b:1": parse "tcp://a b:1": invalid character " " in host name`},
		// Two slashes make the first path element a host: the audit log
		// would go to /log or /x.jsonl.
		{url: "unix://dev/log", wantErr: `log sink "unix://dev/log": unix:// takes a path, not a host ("dev"): write unix:///absolute/path`},
		{url: "file://var/log/x.jsonl", wantErr: `log sink "file://var/log/x.jsonl": file:// takes a path, not a host ("var"): write file:///absolute/path`},
		{url: "unix:log", wantErr: `log sink "unix:log": the path "log" is not absolute`},
		{url: "file:x.jsonl", wantErr: `log sink "file:x.jsonl": the path "x.jsonl" is not absolute`},
		{url: "unix:///dev/log?type=seqpacket", wantErr: `log sink "unix:///dev/log?type=seqpacket": unknown type "seqpacket"; expect dgram or stream`},
		{url: "tls://h:6514?ca=/a.pem&ca=/b.pem", wantErr: `log sink "tls://h:6514?ca=/a.pem&ca=/b.pem": parameter "ca" given 2 times`},
		{url: "udp://h:514?format=", wantErr: `log sink "udp://h:514?format=": parameter "format" is empty`},
		{url: "udp://h:514#x", wantErr: `log sink "udp://h:514#x": a sink URL has no #fragment`},
		{url: "udp://:514", wantErr: `log sink "udp://:514": want udp://host:port`},
		{url: "tcp://h:0", wantErr: `log sink "tcp://h:0": port "0" is not 1 to 65535`},
		{url: "tcp://h:65536", wantErr: `log sink "tcp://h:65536": port "65536" is not 1 to 65535`},
		{url: "tcp://u@h:601", wantErr: `log sink "tcp://u@h:601": want tcp://host:port, without a user or a path`},
		{url: "tcp://h:601/x", wantErr: `log sink "tcp://h:601/x": want tcp://host:port, without a user or a path`},
		{url: "stderr://h", wantErr: `log sink "stderr://h": want stderr:`},
		{url: "udp://h:1?a=1&b=2", wantErr: `log sink "udp://h:1?a=1&b=2": unknown parameter "a"; expect format`},
	} {
		tg, err := parseTarget(tc.url, tc.def)
		if tc.wantErr != "" {
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("%s: error %v, want %s", tc.url, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if tg.scheme != tc.scheme || tg.addr != tc.addr || tg.format != tc.format || (tc.name != "" && tg.name != tc.name) {
			t.Errorf("%s: got %s %q %v %q", tc.url, tg.scheme, tg.addr, tg.format, tg.name)
		}
	}
	// Open reports every bad URL, not just the first.
	_, err := Open([]string{"tcp://x", "nope://", "udp://127.0.0.1:1"}, Options{SpillDir: t.TempDir()})
	want := "log sink \"tcp://x\": want tcp://host:port\nlog sink \"nope://\": unknown scheme \"nope\"; expect unix, udp, tcp, tls, file or stderr"
	if err == nil || err.Error() != want {
		t.Errorf("Open: %v\nwant %s", err, want)
	}
}

// TestSpillDirChecks: the spill directory must be ours and private.
func TestSpillDirChecks(t *testing.T) {
	dir := t.TempDir()
	if err := chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := Open([]string{"udp://127.0.0.1:1"}, Options{SpillDir: dir})
	if err == nil {
		t.Fatal("a world-writable spill directory was accepted")
	}
	t.Log(err)
}

func chmod(p string, m uint32) error { return os.Chmod(p, os.FileMode(m)) }

// TestSpillFileLocked: a second Log on the same spill directory, sink and
// instance is refused rather than replaying the same records, naming the
// process that holds the file; a URL given twice is refused too.
func TestSpillFileLocked(t *testing.T) {
	opts := Options{SpillDir: t.TempDir()}
	l1, err := Open([]string{"udp://127.0.0.1:9"}, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l1.Close(t.Context())
	if _, err := Open([]string{"udp://127.0.0.1:9"}, opts); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("in use by process %d (audit.test)", os.Getpid())) {
		t.Fatalf("second Open: %v", err)
	}
	if _, err := Open([]string{"udp://127.0.0.1:8", "udp://127.0.0.1:8"}, opts); err == nil || !strings.Contains(err.Error(), "given twice") {
		t.Fatalf("duplicate URL: %v", err)
	}
}

// TestFileSinkTornLine: a file whose last line was cut short gets a line
// end before the next record.
func TestFileSinkTornLine(t *testing.T) {
	path := t.TempDir() + "/a.jsonl"
	os.WriteFile(path, []byte(`{"torn`), 0o600)
	l, err := Open([]string{"file://" + path}, Options{SpillDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	l.Emit(testEvent(0))
	if err := l.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || lines[0] != `{"torn` || !strings.HasPrefix(lines[1], `{"time"`) {
		t.Fatalf("%q", b)
	}
}

// FuzzCheckTarget: any sink URL (from --log-to or a policy's [audit]
// section) is refused with one line that names it, or gives a sink that
// can be opened as written: an absolute path for unix and file, a host and
// a port 1-65535 for the network, a resolved format, a name without the
// query. Seeds: testdata/fuzz/FuzzCheckTarget.
func FuzzCheckTarget(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		tg, err := parseTargetFiles(raw, FormatAuto, false)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, fmt.Sprintf("log sink %q: ", raw)) || strings.Contains(msg, "\n") {
				t.Fatalf("error %q does not name the sink on one line", msg)
			}
			return
		}
		switch tg.scheme {
		case "unix", "file":
			if !strings.HasPrefix(tg.addr, "/") {
				t.Fatalf("%q: path %q is not absolute", raw, tg.addr)
			}
		case "udp", "tcp", "tls":
			host, port, err := net.SplitHostPort(tg.addr)
			p, perr := strconv.Atoi(port)
			if err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
				t.Fatalf("%q: address %q is not host:port", raw, tg.addr)
			}
		case "stderr":
		default:
			t.Fatalf("%q: scheme %q accepted", raw, tg.scheme)
		}
		if tg.format == FormatAuto || strings.Contains(tg.name, "?") {
			t.Fatalf("%q: format %v, name %q", raw, tg.format, tg.name)
		}
		if err := CheckTarget(raw); err != nil {
			t.Fatalf("%q: parsed, yet CheckTarget says %v", raw, err)
		}
	})
}

// TestSpillFilePerInstance: two Logs with different instance keys run on
// one spill directory and sink, each with its own spill file; the stderr
// sink has none. A later Log of a third instance takes over (and
// removes) what a stopped one left, so nothing waits forever.
func TestSpillFilePerInstance(t *testing.T) {
	dir := t.TempDir()
	url := "tcp://127.0.0.1:9" // nothing listens (udp would "deliver")
	l1, err := Open([]string{"stderr:", url}, Options{SpillDir: dir, Instance: "/etc/a.conf"})
	if err != nil {
		t.Fatal(err)
	}
	l2, err := Open([]string{"stderr:", url}, Options{SpillDir: dir, Instance: "/etc/b.conf"})
	if err != nil {
		t.Fatalf("a second instance: %v", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		t.Fatalf("%d spill files for two instances of one tcp sink (stderr has none): %v", len(ents), ents)
	}
	for i := range 5 {
		l1.Emit(testEvent(i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	l1.Close(ctx)
	l2.Close(ctx)
	// A third instance takes over what the stopped ones left.
	l3, err := Open([]string{url}, Options{SpillDir: dir, Instance: "/etc/c.conf"})
	if err != nil {
		t.Fatal(err)
	}
	defer l3.Close(ctx)
	if st := l3.Stats()[0]; st.Pending != 5 {
		t.Fatalf("third instance: %+v, want the 5 records the first one left", st)
	}
	ents, _ = os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("spill files after the take-over: %v", ents)
	}
}
