package audit

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// target is a parsed sink URL: where records go and how they are framed.
type target struct {
	url    string // as given, for Stats
	name   string // URL without query (no file names of keys), for drop records
	scheme string // unix, udp, tcp, tls, file, stderr
	addr   string // host:port, or the socket/file path
	format Format
	tls    *tls.Config
	stream bool // unix: use SOCK_STREAM only
}

// parseTarget reads one --log-to URL:
//
//	unix:///dev/log            datagram unix socket (SOCK_STREAM fallback;
//	                           type=stream to use only that), RFC 3164
//	udp://host:port            RFC 5426
//	tcp://host:port            RFC 6587 octet counting
//	tls://host:port?ca=F&cert=F&key=F&name=N   RFC 5425
//	file:///path.jsonl         JSON lines (format=rfc5424 etc. to change)
//	stderr:                    readable text (for -d)
//
// Every scheme takes format=rfc5424|rfc3164|json|text. Without it, file
// writes json, stderr text, and the syslog schemes def (--log-format);
// with def FormatAuto, network sinks write RFC 5424 and unix sinks RFC
// 3164, because that is what the readers of /dev/log parse: rsyslog's
// imuxsock (with its default special parser) reads an RFC 5424 record's
// "1" as the tag, and journald's /dev/log knows only the BSD form. A
// local rsyslog with UseSpecialParser="off" takes format=rfc5424.
//
// An unknown parameter is an error: a mistyped ca= must not quietly
// fall back to the system's roots.
func parseTarget(raw string, def Format) (*target, error) {
	return parseTargetFiles(raw, def, true)
}

// CheckTarget reports what is wrong with a sink URL's syntax, without
// reading the files it names (a tls:// sink's certificates are read when
// the log opens): for configuration files, checked before the daemon runs.
func CheckTarget(raw string) error {
	_, err := parseTargetFiles(raw, FormatAuto, false)
	return err
}

func parseTargetFiles(raw string, def Format, readFiles bool) (*target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("log sink %q: %w", raw, err)
	}
	t := &target{url: raw, scheme: u.Scheme, format: def}
	bad := func(format string, a ...any) (*target, error) {
		return nil, fmt.Errorf("log sink %q: "+format, append([]any{raw}, a...)...)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return bad("%v", err)
	}
	allowed := map[string][]string{"unix": {"format", "type"}, "tls": {"format", "ca", "cert", "key", "name"}}[u.Scheme]
	if allowed == nil {
		allowed = []string{"format"}
	}
	for _, k := range slices.Sorted(maps.Keys(q)) {
		switch {
		case !slices.Contains(allowed, k):
			return bad("unknown parameter %q; expect %s", k, strings.Join(allowed, ", "))
		case len(q[k]) > 1:
			return bad("parameter %q given %d times", k, len(q[k]))
		case q[k][0] == "":
			return bad("parameter %q is empty", k)
		}
	}
	if strings.ContainsRune(raw, '#') {
		return bad("a sink URL has no #fragment")
	}
	switch u.Scheme {
	case "unix", "file":
		// unix://dev/log would name host "dev" and path /log: refuse it
		// rather than write the audit log somewhere else.
		if u.Host != "" || u.User != nil {
			return bad("%s:// takes a path, not a host (%q): write %s:///absolute/path", u.Scheme, u.Host, u.Scheme)
		}
		t.addr = u.Path
		if t.addr == "" && u.Opaque != "" {
			return bad("the path %q is not absolute", u.Opaque)
		}
		if u.Scheme == "file" {
			if t.addr == "" {
				return bad("want file:///absolute/path")
			}
			t.format = FormatJSON
			break
		}
		if t.addr == "" {
			t.addr = "/dev/log"
		}
		switch q.Get("type") {
		case "", "dgram":
		case "stream":
			t.stream = true
		default:
			return bad("unknown type %q; expect dgram or stream", q.Get("type"))
		}
		if def == FormatAuto {
			t.format = FormatRFC3164
		}
	case "udp", "tcp", "tls":
		if u.Hostname() == "" || u.Port() == "" {
			return bad("want %s://host:port", u.Scheme)
		}
		if u.User != nil || (u.Path != "" && u.Path != "/") {
			return bad("want %s://host:port, without a user or a path", u.Scheme)
		}
		if p, err := strconv.ParseUint(u.Port(), 10, 16); err != nil || p == 0 {
			return bad("port %q is not 1 to 65535", u.Port())
		}
		if h, _, err := net.SplitHostPort(u.Host); err != nil || !validHost(h) {
			return bad("%q is not a host name or address", u.Hostname())
		}
		t.addr = u.Host
		if u.Scheme == "tls" && readFiles {
			cfg, err := tlsConfig(u.Hostname(), q)
			if err != nil {
				return bad("%w", err)
			}
			t.tls = cfg
		}
	case "stderr":
		if u.Host != "" || u.Path != "" || u.Opaque != "" || u.User != nil {
			return bad("want stderr:")
		}
		t.format = FormatText
	default:
		return bad("unknown scheme %q; expect unix, udp, tcp, tls, file or stderr", u.Scheme)
	}
	if f := q.Get("format"); f != "" {
		ff, ok := ParseFormat(f)
		if !ok || ff == FormatAuto {
			return bad("unknown format %q; expect rfc5424, rfc3164, json or text", f)
		}
		t.format = ff
	}
	if t.format == FormatAuto {
		t.format = FormatRFC5424
	}
	nu := *u
	nu.RawQuery, nu.ForceQuery = "", false
	t.name = nu.String()
	return t, nil
}

// validHost - an IP address (an IPv6 one may carry a zone) or a DNS name.
func validHost(h string) bool {
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, c := range []byte(h) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return false
		}
	}
	return true
}

// tlsConfig builds the client side of RFC 5425: the server certificate is
// verified against ca= (or the system roots), its name against name= (or
// the URL host); cert= and key= present a client certificate.
func tlsConfig(host string, q url.Values) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if n := q.Get("name"); n != "" {
		cfg.ServerName = n
	}
	if ca := q.Get("ca"); ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate", ca)
		}
		cfg.RootCAs = pool
	}
	cert, key := q.Get("cert"), q.Get("key")
	if (cert == "") != (key == "") {
		return nil, errors.New("cert= and key= go together")
	}
	if cert != "" {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

// conn is one open connection (or file) of a sink.
type conn interface {
	// write sends recs and returns how many were fully handed to the
	// kernel before an error.
	write(recs []record, deadline time.Time) (int, error)
	close() error
	// dgram says records are datagrams: a timed-out write lost nothing
	// already sent, the receiver is only slow.
	dgram() bool
}

// dial connects to the target; ctx ends a dial under way (Close does not
// wait out a dial timeout).
func (t *target) dial(ctx context.Context, timeout time.Duration) (conn, error) {
	nd := &net.Dialer{Timeout: timeout}
	switch t.scheme {
	case "unix":
		if !t.stream {
			c, err := nd.DialContext(ctx, "unixgram", t.addr)
			if err == nil {
				return &dgramConn{c: c}, nil
			}
			// A SOCK_STREAM /dev/log (some syslog-ng set-ups) refuses a
			// datagram socket with EPROTOTYPE: fall back, as glibc does.
			if !errors.Is(err, syscall.EPROTOTYPE) {
				return nil, err
			}
		}
		c, err := nd.DialContext(ctx, "unix", t.addr)
		if err != nil {
			return nil, err
		}
		return &streamConn{c: c, frame: frameLF}, nil
	case "udp":
		c, err := nd.DialContext(ctx, "udp", t.addr)
		if err != nil {
			return nil, err
		}
		return &dgramConn{c: c}, nil
	case "tcp":
		c, err := nd.DialContext(ctx, "tcp", t.addr)
		if err != nil {
			return nil, err
		}
		return &streamConn{c: c, frame: frameOctet}, nil
	case "tls":
		d := &tls.Dialer{NetDialer: nd, Config: t.tls}
		c, err := d.DialContext(ctx, "tcp", t.addr)
		if err != nil {
			return nil, err
		}
		return &streamConn{c: c, frame: frameOctet}, nil
	case "file":
		f, err := openLogFile(t.addr)
		if err != nil {
			return nil, err
		}
		return &fileConn{f: f, path: t.addr, checked: time.Now()}, nil
	case "stderr":
		return &fileConn{f: os.Stderr, keep: true}, nil
	}
	return nil, fmt.Errorf("unknown scheme %q", t.scheme)
}

// dgramConn sends one record per datagram (unix datagram, UDP: RFC 5426).
type dgramConn struct{ c net.Conn }

func (d *dgramConn) write(recs []record, deadline time.Time) (int, error) {
	d.c.SetWriteDeadline(deadline)
	done := 0
	for done < len(recs) {
		n, err := d.writeBatch(recs[done:])
		done += n
		if err != nil || n == 0 {
			// The kernel refused the first record of the batch (too big,
			// say): the one-by-one path knows what to do with it.
			m, err := d.writeEach(recs[done : done+1])
			done += m
			if err != nil {
				return done, err
			}
		}
	}
	return done, nil
}

// mmsghdr is struct mmsghdr of sendmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	len uint32
	_   [4]byte
}

// maxBatch bounds the records of one sendmmsg(2).
const maxBatch = 64

// writeBatch sends as many records as one sendmmsg(2) takes: one system
// call (and one wake-up of the collector) for a batch instead of one per
// record, which is what a local syslog costs the accept path under load.
func (d *dgramConn) writeBatch(recs []record) (int, error) {
	sc, ok := d.c.(syscall.Conn)
	if !ok {
		return 0, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, nil
	}
	recs = recs[:min(len(recs), maxBatch)]
	var iov [maxBatch]unix.Iovec
	var hdrs [maxBatch]mmsghdr
	n := 0
	for ; n < len(recs) && len(recs[n].b) > 0; n++ {
		iov[n].Base = &recs[n].b[0]
		iov[n].SetLen(len(recs[n].b))
		hdrs[n].hdr.Iov = &iov[n]
		hdrs[n].hdr.Iovlen = 1
	}
	if n == 0 {
		return 0, nil
	}
	var sent int
	var errno syscall.Errno
	werr := rc.Write(func(fd uintptr) bool {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&hdrs[0])), uintptr(n),
			unix.MSG_NOSIGNAL, 0, 0)
		if e == syscall.EAGAIN {
			return false // wait until the socket takes more (within the deadline)
		}
		sent, errno = int(r), e
		return true
	})
	runtime.KeepAlive(recs)
	if werr != nil {
		return 0, werr
	}
	if errno != 0 {
		return 0, errno
	}
	return sent, nil
}

// writeEach sends records one write(2) each.
func (d *dgramConn) writeEach(recs []record) (int, error) {
	for i, r := range recs {
		_, err := d.c.Write(r.b)
		if errors.Is(err, syscall.EMSGSIZE) && len(r.b) > maxDgram {
			// Too big for one datagram (a huge message): RFC 5426 3.2
			// lets the sender truncate; better a cut record than a sink
			// stuck resending it.
			_, err = d.c.Write(r.b[:maxDgram])
		}
		if err != nil {
			return i, err
		}
	}
	return len(recs), nil
}

// maxDgram is what a record is cut to when the socket refuses it whole:
// the size RFC 5426 3.2 says every receiver should take.
const maxDgram = 2048

func (d *dgramConn) dgram() bool { return true }

func (d *dgramConn) close() error { return d.c.Close() }

const (
	frameOctet = iota // RFC 6587 3.4.1 / RFC 5425 4.3: "LEN SP MSG"
	frameLF           // a stream /dev/log: one record per line
)

// streamConn writes a batch of framed records with one write.
type streamConn struct {
	c     net.Conn
	frame int
	buf   []byte
	ends  []int
}

func (s *streamConn) write(recs []record, deadline time.Time) (int, error) {
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	for _, r := range recs {
		if s.frame == frameOctet {
			s.buf = strconv.AppendInt(s.buf, int64(len(r.b)), 10)
			s.buf = append(s.buf, ' ')
			s.buf = append(s.buf, r.b...)
		} else {
			s.buf = append(s.buf, r.b...)
			s.buf = append(s.buf, '\n')
		}
		s.ends = append(s.ends, len(s.buf))
	}
	s.c.SetWriteDeadline(deadline)
	n, err := s.c.Write(s.buf)
	if err == nil {
		return len(recs), nil
	}
	done := 0
	for done < len(s.ends) && s.ends[done] <= n {
		done++
	}
	return done, err
}

func (s *streamConn) close() error { return s.c.Close() }

// unacked is how many bytes written to the connection its peer has not
// yet acknowledged (TCP, TLS) or read (unix), from SIOCOUTQ; -1 when it
// cannot tell (the connection is closed).
func (s *streamConn) unacked() int {
	nc := s.c
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	n := -1
	rc.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), unix.SIOCOUTQ); err == nil {
			n = v
		}
	})
	return n
}

func (s *streamConn) dgram() bool { return false }

// fileConn appends lines to a file (or stderr).
type fileConn struct {
	f       *os.File
	keep    bool
	path    string    // for files: reopened when it names another file
	checked time.Time // last look at path
	buf     []byte
	ends    []int
}

// openLogFile opens the JSON-lines file for appending.
func openLogFile(path string) (*os.File, error) {
	// O_NOFOLLOW: the audit file is never written through a symlink
	// someone planted (the xinetd dump-file symlink attack).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	// A write cut short (disk full) leaves a torn last line: end it,
	// so that the next record starts a line of its own.
	if st, err := f.Stat(); err == nil && st.Size() > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], st.Size()-1); err == nil && last[0] != '\n' {
			f.Write([]byte{'\n'})
		}
	}
	return f, nil
}

// reopenIfMoved follows log rotation: once a second at most, if the path
// no longer names the open file (logrotate renamed it), open the path
// anew. The old file got every record up to now.
func (f *fileConn) reopenIfMoved() error {
	if f.path == "" || time.Since(f.checked) < time.Second {
		return nil
	}
	f.checked = time.Now()
	cur, err1 := os.Lstat(f.path)
	open, err2 := f.f.Stat()
	if err1 == nil && err2 == nil && os.SameFile(cur, open) {
		return nil
	}
	nf, err := openLogFile(f.path)
	if err != nil {
		return err
	}
	f.f.Close()
	f.f = nf
	return nil
}

func (f *fileConn) write(recs []record, _ time.Time) (int, error) {
	if err := f.reopenIfMoved(); err != nil {
		return 0, err
	}
	f.buf, f.ends = f.buf[:0], f.ends[:0]
	for _, r := range recs {
		f.buf = append(f.buf, r.b...)
		f.buf = append(f.buf, '\n')
		f.ends = append(f.ends, len(f.buf))
	}
	n, err := f.f.Write(f.buf)
	if err == nil {
		return len(recs), nil
	}
	done := 0
	for done < len(f.ends) && f.ends[done] <= n {
		done++
	}
	return done, err
}

func (f *fileConn) dgram() bool { return false }

func (f *fileConn) close() error {
	if f.keep {
		return nil
	}
	return f.f.Close()
}
