package test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/audit/audittest"
)

// The audit tests of issue 6: a real rsyslogd, started by the test on
// 127.0.0.1 ports (or a unix socket) in a temp dir, receives what hinetd
// writes; the test reads rsyslog's output file and checks it against what
// its own clients saw. rsyslogd and the test PKI come from
// internal/audit/audittest, shared with package audit's tests.

// syslogd is a private rsyslogd (audittest.Rsyslog) that reads what it
// received as RFC 5424 records.
type syslogd struct {
	*audittest.Rsyslog
	t *testing.T
}

// startSyslogd starts rsyslogd with the inputs o asks for, on ports drawn
// by freePort (below the ephemeral range, out of reach of the loads'
// client sockets).
func startSyslogd(t *testing.T, o audittest.RsyslogOpts) *syslogd {
	t.Helper()
	o.FreePort = func(string) int { return freePort(t) }
	return &syslogd{Rsyslog: audittest.StartRsyslog(t, o), t: t}
}

// records parses every line rsyslog wrote as RFC 5424; a line that does
// not parse fails the test.
func (r *syslogd) records() []*rec {
	r.t.Helper()
	var out []*rec
	for i, line := range r.Lines() {
		m, err := audittest.ParseRFC5424(line)
		if err != nil {
			r.t.Fatalf("rsyslog line %d is not RFC 5424: %v\n%s", i+1, err, line)
		}
		out = append(out, &rec{Record: m, raw: line})
	}
	return out
}

// waitRecords polls until pred holds for the records received, or timeout.
func (r *syslogd) waitRecords(timeout time.Duration, pred func([]*rec) bool) []*rec {
	r.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		rs := r.records()
		if pred(rs) || time.Now().After(deadline) {
			return rs
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// rec is one record rsyslog received.
type rec struct {
	*audittest.Record
	raw string
}

func (r *rec) kind() string { return r.MsgID }

// p is a parameter of hinetd's SD element ("" when absent).
func (r *rec) p(name string) string {
	v, _ := r.Param(audit.SDID, name)
	return v
}

func (r *rec) seq() string {
	v, _ := r.Param("meta", "sequenceId")
	return v
}

// clientKey is "addr:port" of the record's client.
func (r *rec) clientKey() string { return r.p("client") + ":" + r.p("client-port") }

// tupleKey is the record's client and local port: a client port is used
// again towards another server.
func (r *rec) tupleKey() string { return r.clientKey() + ">" + r.p("local-port") }

func (c auditConn) tupleKey() string { return c.src.String() + ">" + strconv.Itoa(c.dst) }

// connFields are what every record about one connection must carry.
var connFields = []string{"service", "proto", "client", "client-port", "local", "local-port", "conn"}

// kindFields are the fields a record of kind must carry.
func kindFields(kind string) []string {
	switch kind {
	case "accept", "deny", "builtin", "spawn", "spawn-fail", "exit":
		return connFields
	case "limit", "listener-up", "listener-down", "suspend", "resume":
		// About a service, not one connection: no client, no id.
		return []string{"service", "proto", "local", "local-port"}
	}
	return nil
}

// checkFields fails when a record about a connection (or a service)
// lacks one of the fields issue 6 asks for.
func checkFields(t *testing.T, rs []*rec) {
	t.Helper()
	bad := 0
	for _, r := range rs {
		var want []string
		switch {
		case r.p("summary") != "" && r.kind() == "deny":
			// A summary counts many connections: no port, no id.
			want = []string{"service", "proto", "client", "local", "local-port"}
		case r.p("summary") != "":
			want = []string{"service", "proto", "local", "local-port"}
		default:
			want = kindFields(r.kind())
		}
		for _, f := range want {
			if r.p(f) == "" {
				bad++
				if bad <= 5 {
					t.Errorf("%s record without %s: %s", r.kind(), f, r.raw)
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("%d fields missing in all", bad)
	}
}

// auditConn is one client connection and what it got.
type auditConn struct {
	svc  string // the test's name for the service
	src  netip.AddrPort
	dst  int // the server's port
	got  string
	err  error
	took time.Duration
}

// auditDial connects to addr from the loopback address src, sends send
// (if any) and half-closes, and reads until the server closes.
func auditDial(svc, src, addr string, send string) auditConn {
	start := time.Now()
	res := auditConn{svc: svc}
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		res.err = err
		return res
	}
	defer c.Close()
	res.src = c.LocalAddr().(*net.TCPAddr).AddrPort()
	res.src = netip.AddrPortFrom(res.src.Addr().Unmap(), res.src.Port())
	res.dst = c.RemoteAddr().(*net.TCPAddr).Port
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if send != "" {
		c.Write([]byte(send))
		c.(*net.TCPConn).CloseWrite()
	}
	var out []byte
	buf := make([]byte, 512)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			if !isEOFish(err) {
				res.err = err
			}
			break
		}
	}
	res.got = string(out)
	res.took = time.Since(start)
	return res
}

// isEOFish: a server that closes without reading (a refusal) may end the
// connection with a reset; both are an answer.
func isEOFish(err error) bool {
	return err.Error() == "EOF" || strings.Contains(err.Error(), "connection reset")
}

type auditJob struct {
	svc, src, addr, send string
}

// runJobs runs jobs on workers goroutines and returns the results in job
// order.
func runJobs(jobs []auditJob, workers int) []auditConn {
	out := make([]auditConn, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				out[i] = auditDial(j.svc, j.src, j.addr, j.send)
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// runPaced starts one job every interval (each on its own goroutine, at
// most 64 at once) and returns the results in job order.
func runPaced(jobs []auditJob, interval time.Duration) []auditConn {
	out := make([]auditConn, len(jobs))
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for i := range jobs {
		<-tick.C
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			j := jobs[i]
			out[i] = auditDial(j.svc, j.src, j.addr, j.send)
		}()
	}
	wg.Wait()
	return out
}

// TestAuditMixedLoad: 5,000 connections, granted (a spawned server and a
// built-in), denied by hosts.deny, and refused by a per-source limit,
// mixed, with the audit log going to rsyslog over TCP in RFC 5424. For
// every granted or denied connection rsyslog receives exactly one accept
// and one decision record (deny, spawn or builtin) with the same
// connection id, and an exit record per spawned child; the limit
// summaries count exactly the connections the clients saw refused,
// including those refused after the last periodic summary (written at
// SIGTERM). Every record parses as RFC 5424 and carries service,
// protocol, client and local address and port, and the connection id.
//
// Denials are paced at 80 a second per service, under the 200 a second
// hinetd writes one by one before summarising them, so that every denied
// connection must have its own deny record.
func TestAuditMixedLoad(t *testing.T) {
	needRoot(t)
	rs := startSyslogd(t, audittest.RsyslogOpts{TCP: true})
	ext, echo, lim := freePort(t), freePort(t), freePort(t)
	d := startDaemonWith(t, nil, map[string]string{
		"hosts.deny": "ALL: 127.0.2.\n",
	}, fmt.Sprintf(`127.0.0.1:%d stream tcp nowait nobody /bin/echo echo hello
127.0.0.1:%d stream tcp nowait root internal echo
127.0.0.1:%d stream tcp nowait/1000/5 root internal daytime
`, ext, echo, lim), "-R", "0", "--log-format", "rfc5424", "--log-to", fmt.Sprintf("tcp://127.0.0.1:%d", rs.TCPPort))
	addr := func(p int) string { return "127.0.0.1:" + strconv.Itoa(p) }

	// 1,500 to the spawned server and 1,000 to echo from 20 granted
	// sources; 1,500 to the limited daytime from 60 sources (5 a minute
	// each are served); 500 denied to each of the first two, paced.
	var jobs, denied []auditJob
	for i := range 1500 {
		jobs = append(jobs, auditJob{"ext", fmt.Sprintf("127.0.1.%d", 1+i%20), addr(ext), ""})
		jobs = append(jobs, auditJob{"lim", fmt.Sprintf("127.0.3.%d", 1+i%60), addr(lim), ""})
		if i < 1000 {
			jobs = append(jobs, auditJob{"echo", fmt.Sprintf("127.0.1.%d", 1+i%20), addr(echo), "x"})
		}
	}
	for i := range 1000 {
		svc, port := "ext", ext
		if i%2 == 1 {
			svc, port = "echo", echo
		}
		denied = append(denied, auditJob{svc + "-denied", fmt.Sprintf("127.0.2.%d", 1+i%10), addr(port), "x"})
	}
	start := time.Now()
	var results, deniedRes []auditConn
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); deniedRes = runPaced(denied, time.Second/160) }()
	results = runJobs(jobs, 24)
	wg.Wait()
	results = append(results, deniedRes...)
	t.Logf("5000 connections in %v", time.Since(start).Round(time.Millisecond))

	// What the clients saw.
	// A client port is used again once the server side's TIME_WAIT lets
	// it: one (client, server port) may stand for several connections,
	// one after the other. expect holds, per such tuple, the decision
	// record each of its connections must have ("" for a refusal by the
	// limit, which has no record of its own).
	expect := map[string][]string{}
	var nExt, nEcho, nLimServed, nLimRefused, nDenied int
	classify := func(r auditConn) {
		t.Helper()
		if r.err != nil {
			t.Fatalf("%s from %v: %v (got %q)", r.svc, r.src, r.err, r.got)
		}
		key := r.tupleKey()
		switch {
		case r.svc == "ext" && r.got == "hello\n":
			nExt++
			expect[key] = append(expect[key], "spawn")
		case r.svc == "echo" && r.got == "x":
			nEcho++
			expect[key] = append(expect[key], "builtin")
		case r.svc == "lim" && r.got != "":
			nLimServed++
			expect[key] = append(expect[key], "builtin")
		case r.svc == "lim":
			nLimRefused++
			expect[key] = append(expect[key], "")
		case strings.HasSuffix(r.svc, "-denied") && r.got == "":
			nDenied++
			expect[key] = append(expect[key], "deny")
		default:
			t.Fatalf("%s from %v got %q", r.svc, r.src, r.got)
		}
	}
	for _, r := range results {
		classify(r)
	}
	if nExt != 1500 || nEcho != 1000 || nDenied != 1000 || nLimServed == 0 || nLimRefused == 0 {
		t.Fatalf("clients: %d spawned, %d echo, %d denied, %d limited served, %d refused; want 1500, 1000, 1000, some, some",
			nExt, nEcho, nDenied, nLimServed, nLimRefused)
	}

	// The children's exit records come when they are reaped: wait for
	// them before stopping hinetd.
	countKind := func(rs []*rec, kind string) int {
		n := 0
		for _, r := range rs {
			if r.kind() == kind {
				n++
			}
		}
		return n
	}
	rs.waitRecords(60*time.Second, func(rs []*rec) bool { return countKind(rs, "exit") >= nExt })

	// A last few refusals just before SIGTERM: no periodic summary has
	// counted them, so only the summary written at stop can.
	// (Counted like the rest: on a machine so slow that the load took a
	// minute, 127.0.3.1 may be served again.)
	finalStart := time.Now()
	refusedBefore := nLimRefused
	for _, r := range runJobs(slicesRepeat(auditJob{"lim", "127.0.3.1", addr(lim), ""}, 20), 4) {
		classify(r)
	}
	finalRefused := nLimRefused - refusedBefore
	d.stop()
	sumLimits := func(rs []*rec) (total, final int) {
		stopped := false
		for _, r := range rs {
			if r.kind() == "stop" {
				stopped = true
			}
			if r.kind() == "limit" && r.p("count") != "" {
				n, _ := strconv.Atoi(r.p("count"))
				total += n
				if stopped {
					final += n
				}
			}
		}
		return total, final
	}
	all := rs.waitRecords(30*time.Second, func(rs []*rec) bool {
		total, _ := sumLimits(rs)
		return total >= nLimRefused && countKind(rs, "stop") > 0
	})

	// Dedupe by sequenceId (a resend after a broken connection repeats
	// records with the same one).
	seen := map[string]bool{}
	var recs []*rec
	dups := 0
	for _, r := range all {
		if r.seq() == "" {
			t.Fatalf("record without meta sequenceId: %s", r.raw)
		}
		if seen[r.seq()] {
			dups++
			continue
		}
		seen[r.seq()] = true
		recs = append(recs, r)
	}
	checkFields(t, recs)

	byConn := map[string][]*rec{}
	acceptsOf := map[string][]*rec{} // client addr:port>local port -> accept records
	nAccepts := 0
	for _, r := range recs {
		if c := r.p("conn"); c != "" {
			byConn[c] = append(byConn[c], r)
		}
		// A connection's first record: accept, or the one deny record of
		// a denied connection (issue 14: one record per denial).
		if r.kind() == "accept" || r.kind() == "deny" && r.p("summary") == "" {
			acceptsOf[r.tupleKey()] = append(acceptsOf[r.tupleKey()], r)
			nAccepts++
		}
	}
	problems := 0
	fail := func(format string, args ...any) {
		problems++
		if problems <= 10 {
			t.Errorf(format, args...)
		}
	}
	nExpected := 0
	for key, want := range expect {
		var wantDec, gotDec []string
		for _, w := range want {
			if w != "" {
				wantDec = append(wantDec, w)
			}
		}
		nExpected += len(wantDec)
		for _, a := range acceptsOf[key] {
			kinds := map[string]int{}
			decision := ""
			var spawnPID, exitPID string
			for _, r := range byConn[a.p("conn")] {
				kinds[r.kind()]++
				if r.tupleKey() != key {
					fail("conn %s: records with two clients: %s and %s", a.p("conn"), key, r.tupleKey())
				}
				switch r.kind() {
				case "spawn":
					spawnPID = r.p("pid")
				case "exit":
					exitPID = r.p("pid")
				}
				if r.kind() != "accept" && r.kind() != "exit" {
					decision = r.kind()
				}
			}
			gotDec = append(gotDec, decision)
			wantKinds := map[string]int{"accept": 1, decision: 1}
			if decision == "deny" {
				wantKinds = map[string]int{"deny": 1}
			}
			if decision == "spawn" {
				wantKinds["exit"] = 1
				if spawnPID == "" || spawnPID != exitPID {
					fail("conn %s: spawn pid %q, exit pid %q", a.p("conn"), spawnPID, exitPID)
				}
			}
			if decision == "" || fmt.Sprint(kinds) != fmt.Sprint(wantKinds) {
				fail("conn %s (client %s): records %v, want one accept, one decision (and an exit after a spawn), or one deny", a.p("conn"), key, kinds)
			}
			if v := a.p("verdict"); (decision == "deny") != (v == "denied") {
				fail("conn %s: %s record says verdict %q for a %s", a.p("conn"), a.kind(), v, decision)
			}
		}
		sort.Strings(wantDec)
		sort.Strings(gotDec)
		if fmt.Sprint(wantDec) != fmt.Sprint(gotDec) {
			fail("client %s: connections with decisions %v, records say %v", key, wantDec, gotDec)
		}
	}
	// Nothing about connections the clients did not make.
	if nAccepts != nExpected {
		fail("%d accept records, want %d", nAccepts, nExpected)
	}
	for _, r := range recs {
		if r.kind() == "deny" && r.p("summary") != "" {
			fail("denials were summarised although paced under the per-second budget: %s", r.raw)
		}
		if r.kind() == "deny" && !strings.HasSuffix(r.p("rule"), "hosts.deny:1") {
			fail("deny record names rule %q: %s", r.p("rule"), r.raw)
		}
	}

	// Limit summaries add up to the refusals, and the one written at stop
	// counts the last refusals (unless a periodic summary happened to
	// come after them).
	total, final := sumLimits(recs)
	lastPeriodic := time.Time{}
	stopped := false
	for _, r := range recs {
		if r.kind() == "stop" {
			stopped = true
		}
		if r.kind() == "limit" && r.p("count") != "" {
			if r.p("limit") != "max-conn-per-ip-per-minute" || r.p("local-port") != strconv.Itoa(lim) {
				fail("unexpected limit summary: %s", r.raw)
			}
			if !stopped && r.Time.After(lastPeriodic) {
				lastPeriodic = r.Time
			}
		}
	}
	if total != nLimRefused {
		fail("limit summaries count %d refusals, clients saw %d", total, nLimRefused)
	}
	if final == 0 && finalRefused > 0 && lastPeriodic.Before(finalStart) {
		fail("no limit summary written at stop, though %d refusals came after the last periodic one (%v)", finalRefused, lastPeriodic)
	}
	if stopped := countKind(recs, "stop"); stopped != 1 {
		fail("%d stop records", stopped)
	}
	st := recs[0]
	for _, r := range recs {
		if r.kind() == "start" {
			st = r
		}
	}
	if st.kind() != "start" || st.p("version") == "" || len(st.p("hash")) < 16 || !strings.Contains(st.p("options"), "log-format=rfc5424") {
		fail("start record lacks version, config hash or options: %s", st.raw)
	}
	t.Logf("rsyslog: %d records (%d duplicates by sequenceId); clients: %d spawned, %d echo, %d denied, %d limited served, %d refused (%d in the summary at stop)",
		len(recs), dups, nExt, nEcho, nDenied, nLimServed, nLimRefused, final)
}

func slicesRepeat[T any](v T, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// echoRecords makes n echo connections from src and waits until rsyslog
// has the accept and builtin records of each; it returns rsyslog's
// records.
func echoRecords(t *testing.T, rs *syslogd, port, n int, src string) []*rec {
	t.Helper()
	var keys []string
	for range n {
		r := auditDial("echo", src, "127.0.0.1:"+strconv.Itoa(port), "x")
		if r.err != nil || r.got != "x" {
			t.Fatalf("echo from %s: %q, %v", src, r.got, r.err)
		}
		keys = append(keys, r.src.String())
	}
	have := func(recs []*rec) bool {
		got := map[string]int{}
		for _, r := range recs {
			if r.kind() == "accept" || r.kind() == "builtin" {
				got[r.clientKey()]++
			}
		}
		for _, k := range keys {
			if got[k] < 2 {
				return false
			}
		}
		return true
	}
	recs := rs.waitRecords(20*time.Second, have)
	if !have(recs) {
		t.Fatalf("rsyslog did not get the accept and builtin records of %d connections; it has %d records", n, len(recs))
	}
	return recs
}

// TestAuditTLS: the TLS sink (RFC 5425) to rsyslog's GnuTLS input with a
// CA made by the test, rsyslog requiring a client certificate signed by
// it: the records of a few connections arrive, as RFC 5424.
func TestAuditTLS(t *testing.T) {
	needRoot(t)
	pki := audittest.NewPKI(t)
	rs := startSyslogd(t, audittest.RsyslogOpts{TLS: pki, TLSClientAuth: true})
	port := freePort(t)
	url := fmt.Sprintf("tls://127.0.0.1:%d?ca=%s&cert=%s&key=%s", rs.TLSPort, pki.CAFile, pki.ClientCert, pki.ClientKey)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port), "--log-to", url)
	recs := echoRecords(t, rs, port, 10, "127.0.0.1")
	checkFields(t, recs)
	if n := d.countLog("event=drop"); n != 0 {
		t.Errorf("%d drop records in hinetd's own log", n)
	}
	t.Logf("%d records over TLS", len(recs))
}

// TestAuditSeverityPerRule: the hosts option "severity auth.notice" on a
// hosts.allow rule gives that connection's records facility auth and
// severity notice (PRI 37); "severity local0.alert" on a hosts.deny rule
// makes the deny record PRI 129; other connections keep daemon.info
// (30) and daemon.warning (28) for denials.
func TestAuditSeverityPerRule(t *testing.T) {
	needRoot(t)
	rs := startSyslogd(t, audittest.RsyslogOpts{TCP: true})
	port := freePort(t)
	startDaemonWith(t, nil, map[string]string{
		"hosts.allow": "echo: 127.0.0.5: severity auth.notice\n",
		"hosts.deny":  "echo: 127.0.0.7: severity local0.alert\necho: 127.0.0.8\n",
	}, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port),
		"--log-to", fmt.Sprintf("tcp://127.0.0.1:%d", rs.TCPPort))
	echoRecords(t, rs, port, 3, "127.0.0.5")
	echoRecords(t, rs, port, 3, "127.0.0.6")
	for _, src := range []string{"127.0.0.7", "127.0.0.8"} {
		if r := auditDial("echo", src, "127.0.0.1:"+strconv.Itoa(port), "x"); r.err != nil || r.got != "" {
			t.Fatalf("denied client %s got %q, %v", src, r.got, r.err)
		}
	}
	recs := rs.waitRecords(20*time.Second, func(recs []*rec) bool {
		n := 0
		for _, r := range recs {
			if r.kind() == "deny" {
				n++
			}
		}
		return n >= 2
	})
	want := map[string]int{ // client/kind -> PRI
		"127.0.0.5/accept": 37, "127.0.0.5/builtin": 37,
		"127.0.0.6/accept": 30, "127.0.0.6/builtin": 30,
		"127.0.0.7/deny": 129, // a denial is one record (issue 14)
		"127.0.0.8/deny": 28,
	}
	seen := map[string]int{}
	for _, r := range recs {
		if r.p("client") == "" {
			continue
		}
		k := r.p("client") + "/" + r.kind()
		pri, ok := want[k]
		if !ok {
			t.Errorf("unexpected record: %s", r.raw)
			continue
		}
		seen[k]++
		if r.Pri != pri {
			t.Errorf("%s: PRI %d, want %d: %s", k, r.Pri, pri, r.raw)
		}
	}
	for k := range want {
		if seen[k] == 0 {
			t.Errorf("no %s record", k)
		}
	}
	checkFields(t, recs)
}

// TestAuditRFC3164UnixSocket: --log-format rfc3164 to a unix socket sink
// where rsyslog's imuxsock (stock parser) listens: rsyslog reads the PRI,
// the tag hinetd[pid] and the message, with the record's kind, service,
// client and connection id in it.
func TestAuditRFC3164UnixSocket(t *testing.T) {
	needRoot(t)
	rs := startSyslogd(t, audittest.RsyslogOpts{Unix: true, StdParser: true,
		Template: "%pri%|%syslogtag%|%programname%|%procid%|%msg%\\n"})
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port),
		"--log-format", "rfc3164", "--log-to", "unix://"+rs.Sock)
	var keys []string
	for range 5 {
		r := auditDial("echo", "127.0.0.1", "127.0.0.1:"+strconv.Itoa(port), "x")
		if r.err != nil || r.got != "x" {
			t.Fatalf("echo: %q, %v", r.got, r.err)
		}
		keys = append(keys, fmt.Sprintf("from %s ", r.src))
	}
	pid := strconv.Itoa(d.pid())
	count := func() (accepts, builtins int) {
		for _, line := range rs.Lines() {
			f := strings.SplitN(line, "|", 5)
			if len(f) != 5 {
				continue
			}
			// rsyslog's %msg% keeps the space after "tag:".
			f[4] = strings.TrimPrefix(f[4], " ")
			for _, k := range keys {
				if !strings.Contains(f[4], k) {
					continue
				}
				if f[0] != "30" || f[1] != "hinetd["+pid+"]:" || f[2] != "hinetd" || f[3] != pid || !strings.Contains(f[4], " conn=") {
					t.Fatalf("rsyslog read %q; want PRI 30, tag hinetd[%s], a conn id", line, pid)
				}
				switch {
				case strings.HasPrefix(f[4], "accept "):
					accepts++
				case strings.HasPrefix(f[4], "builtin "):
					builtins++
				}
			}
		}
		return
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		a, b := count()
		if a == 5 && b == 5 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslog read %d accept and %d builtin records of 5 connections:\n%s", a, b, strings.Join(rs.Lines(), "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("first line rsyslog read: %s", rs.Lines()[0])
}

// TestAuditStartReload: the start record carries the version, the config
// hash and the effective options; a reload record says how many services
// were added, removed and changed, and the new hash.
func TestAuditStartReload(t *testing.T) {
	needRoot(t)
	rs := startSyslogd(t, audittest.RsyslogOpts{TCP: true})
	a, b, c := freePort(t), freePort(t), freePort(t)
	conf := func(lines ...string) string { return strings.Join(lines, "\n") + "\n" }
	la := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo", a)
	lb := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal daytime", b)
	lc := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal discard", c)
	d := startDaemon(t, conf(la, lb), "--log-to", fmt.Sprintf("tcp://127.0.0.1:%d", rs.TCPPort), "-R", "77")
	d.writeFile("inetd.conf", conf(strings.Replace(la, "nowait", "nowait/3", 1), lc))
	d.reload(1)
	recs := rs.waitRecords(20*time.Second, func(recs []*rec) bool {
		for _, r := range recs {
			if r.kind() == "reload" {
				return true
			}
		}
		return false
	})
	var start, reload *rec
	for _, r := range recs {
		switch r.kind() {
		case "start":
			start = r
		case "reload":
			reload = r
		}
	}
	if start == nil || reload == nil {
		t.Fatalf("start %v, reload %v", start, reload)
	}
	if start.p("version") == "" || len(start.p("hash")) < 16 || !strings.Contains(start.p("options"), "R=77") ||
		!strings.Contains(start.p("options"), "log-to=") || start.p("added") != "2" {
		t.Errorf("start record: %s", start.raw)
	}
	if reload.p("added") != "1" || reload.p("removed") != "1" || reload.p("changed") != "1" ||
		reload.p("hash") == "" || reload.p("hash") == start.p("hash") {
		t.Errorf("reload record (want 1 added, 1 removed, 1 changed, a new hash): %s", reload.raw)
	}
	checkFields(t, recs)
}

// refRecord is one line of the JSON-lines reference sink.
type refRecord struct {
	Seq    uint64               `json:"seq"`
	Kind   string               `json:"kind"`
	Conn   uint64               `json:"conn,string"`
	Msg    string               `json:"msg"`
	Fields audittest.JSONFields `json:"fields"`
}

// TestAuditRsyslogOutage: rsyslog is stopped for two seconds in the
// middle of a load and started again on the same port. A JSON-lines file
// sink beside it is the reference of what hinetd wrote. Every record of
// the reference reaches rsyslog (after dropping the duplicates of the
// resend by sequenceId) or is counted by a drop record for the TCP sink:
// the counts add up, and records from the outage did arrive.
func TestAuditRsyslogOutage(t *testing.T) {
	needRoot(t)
	rs := startSyslogd(t, audittest.RsyslogOpts{TCP: true})
	port := freePort(t)
	tcpURL := fmt.Sprintf("tcp://127.0.0.1:%d", rs.TCPPort)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port),
		"--log-to", tcpURL, "--log-to", "file://DIR/ref.jsonl")
	ref := filepath.Join(d.dir, "ref.jsonl")

	// The load: echo connections from 4 clients, each pausing 10 ms
	// between connections (a few thousand in all: more would only fill
	// the host with TIME_WAIT sockets), until told to stop.
	stop := make(chan struct{})
	var mu sync.Mutex
	var served, failed int
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				r := auditDial("echo", fmt.Sprintf("127.0.4.%d", 1+w), "127.0.0.1:"+strconv.Itoa(port), "x")
				mu.Lock()
				if r.err == nil && r.got == "x" {
					served++
				} else {
					failed++
				}
				mu.Unlock()
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	rs.Stop()
	down := time.Now()
	time.Sleep(2 * time.Second)
	up := time.Now()
	rs.Start()
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	if failed > 0 || served == 0 {
		t.Fatalf("%d connections served, %d failed", served, failed)
	}
	d.stop() // Close delivers what is queued

	// The reference: every record hinetd wrote, except the notices to it
	// about records the TCP sink dropped.
	refSeqs := map[string]bool{}
	f, err := os.Open(ref)
	if err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	refDrops := 0
	for sc.Scan() {
		var r refRecord
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("reference line %q: %v", sc.Text(), err)
		}
		if r.Kind == "drop" {
			refDrops++
			continue
		}
		refSeqs[strconv.FormatUint(r.Seq, 10)] = true
	}
	f.Close()

	var got map[string]bool
	var dropped, dups, inOutage int
	var stray []string
	count := func(recs []*rec) {
		got, dropped, dups, inOutage, stray = map[string]bool{}, 0, 0, 0, nil
		for _, r := range recs {
			if r.kind() == "drop" {
				if r.p("sink") == tcpURL {
					n, _ := strconv.Atoi(r.p("count"))
					dropped += n
				}
				continue
			}
			if got[r.seq()] {
				dups++
				continue
			}
			got[r.seq()] = true
			if !refSeqs[r.seq()] {
				stray = append(stray, r.raw)
			}
			if !r.Time.Before(down) && r.Time.Before(up) {
				inOutage++
			}
		}
	}
	recs := rs.waitRecords(30*time.Second, func(recs []*rec) bool {
		count(recs)
		return len(got)+dropped >= len(refSeqs)
	})
	count(recs)
	if len(stray) > 0 {
		t.Errorf("%d records rsyslog got are not in the reference, e.g. %s", len(stray), stray[0])
	}
	if len(got)+dropped != len(refSeqs) {
		missing := 0
		for s := range refSeqs {
			if !got[s] {
				missing++
			}
		}
		t.Errorf("hinetd wrote %d records; rsyslog has %d of them and drop records count %d: %d unaccounted",
			len(refSeqs), len(got), dropped, missing-dropped)
	}
	if inOutage == 0 && dropped == 0 {
		t.Errorf("no record from the outage arrived and none was counted as dropped")
	}
	checkFields(t, recs)
	t.Logf("%d connections; %d records written, %d received (%d from the 2 s outage, %d duplicates by sequenceId), %d dropped (drop notices in the reference: %d)",
		served, len(refSeqs), len(got), inOutage, dups, dropped, refDrops)
}

// TestAuditBlockedSink: the only network sink accepts and never reads
// (its receive buffer is small, so it fills at once): 2,000 connections
// are all answered while hinetd cannot write a byte there. No connection
// waits on the sink; the records wait in the spool (memory, then the
// spill file), and at SIGTERM what is still unsent stays in the spill
// file for the next start.
func TestAuditBlockedSink(t *testing.T) {
	needRoot(t)
	sink := audittest.StartStalled(t, 4096)
	port := freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port),
		"--log-to", "tcp://"+sink.Addr)

	var jobs []auditJob
	for i := range 2000 {
		jobs = append(jobs, auditJob{"echo", fmt.Sprintf("127.0.5.%d", 1+i%50), "127.0.0.1:" + strconv.Itoa(port), "x"})
	}
	start := time.Now()
	res := runJobs(jobs, 16)
	took := time.Since(start)
	var durs []time.Duration
	for _, r := range res {
		if r.err != nil || r.got != "x" {
			t.Fatalf("connection from %v with the sink blocked: %q, %v", r.src, r.got, r.err)
		}
		durs = append(durs, r.took)
	}
	sort.Slice(durs, func(i, j int) bool { return durs[i] < durs[j] })
	// Generous sanity bounds only: the machine may be loaded.
	if took > 90*time.Second || durs[len(durs)-1] > 15*time.Second {
		t.Errorf("2000 connections took %v, the slowest %v", took, durs[len(durs)-1])
	}
	nHeld := len(sink.Conns())
	if nHeld == 0 {
		t.Fatal("hinetd never connected to the blocked sink")
	}
	// hinetd keeps answering after the load, too.
	if r := auditDial("echo", "127.0.0.1", "127.0.0.1:"+strconv.Itoa(port), "y"); r.err != nil || r.got != "y" {
		t.Fatalf("after the load: %q, %v", r.got, r.err)
	}
	unread := 0
	for _, c := range sink.Conns() {
		rc, _ := c.(*net.TCPConn).SyscallConn()
		rc.Control(func(fd uintptr) {
			n, _ := unix.IoctlGetInt(int(fd), unix.SIOCINQ)
			unread += n
		})
	}
	d.stop()
	// What could not be sent stays in the spill file.
	spool := filepath.Join(d.dir, "spool")
	var spilled int64
	ents, _ := os.ReadDir(spool)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && strings.HasPrefix(e.Name(), "spill-") {
			spilled += fi.Size()
		}
	}
	if spilled == 0 {
		t.Fatalf("nothing left in the spill files after stopping with the sink blocked (%d entries)", len(ents))
	}
	t.Logf("2000 connections in %v with the sink blocked (median %v, slowest %v); hinetd dialed the sink %d times; the sink holds %d bytes unread; %d bytes left in the spill file",
		took.Round(time.Millisecond), durs[len(durs)/2].Round(time.Microsecond), durs[len(durs)-1].Round(time.Millisecond), nHeld, unread, spilled)

	// The collector works again on the same port; the next hinetd, with
	// the same spool and sink, sends what the first one kept: rsyslog
	// gets the accept and builtin records of every connection.
	sink.Stop()
	rs := startSyslogd(t, audittest.RsyslogOpts{TCP: true, TCPPort: sink.Port})
	startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", freePort(t)),
		"--log-to", "tcp://"+sink.Addr, "--spool-dir", spool)
	want := map[string]int{} // client>port -> connections
	for _, r := range res {
		want[r.tupleKey()]++
	}
	count := func(recs []*rec) (missing int) {
		seen := map[string]bool{}
		got := map[string]int{}
		for _, r := range recs {
			id := r.ProcID + "/" + r.seq() // sequenceIds start again in each run
			if seen[id] || r.kind() != "accept" {
				continue
			}
			seen[id] = true
			got[r.tupleKey()]++
		}
		for k, n := range want {
			if got[k] < n {
				missing += n - got[k]
			}
		}
		return missing
	}
	recs := rs.waitRecords(30*time.Second, func(recs []*rec) bool { return count(recs) == 0 })
	if m := count(recs); m > 0 {
		t.Fatalf("after the restart rsyslog has no accept record for %d of the 2000 connections (%d records)", m, len(recs))
	}
	checkFields(t, recs)
	t.Logf("after the restart rsyslog has the accept records of all 2000 connections (%d records, duplicates included)", len(recs))
}

// TestAuditDenyFlood: 3,000 denied connections as fast as the clients
// go. Up to 200 a second per service are written one by one, each as an
// accept and a deny record with the same connection id; the rest only
// as counts in deny summaries. Every denial is in the log, one way or
// the other, and a flood of denials does not flood the log with accept
// records either.
func TestAuditDenyFlood(t *testing.T) {
	needRoot(t)
	rs := startSyslogd(t, audittest.RsyslogOpts{TCP: true})
	port := freePort(t)
	d := startDaemonWith(t, nil, map[string]string{"hosts.deny": "ALL: 127.0.6.\n"},
		fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port),
		"--log-to", fmt.Sprintf("tcp://127.0.0.1:%d", rs.TCPPort))
	var jobs []auditJob
	for i := range 3000 {
		jobs = append(jobs, auditJob{"echo", fmt.Sprintf("127.0.6.%d", 1+i%20), "127.0.0.1:" + strconv.Itoa(port), "x"})
	}
	start := time.Now()
	for _, r := range runJobs(jobs, 16) {
		if r.err != nil || r.got != "" {
			t.Fatalf("denied client from %v: %q, %v", r.src, r.got, r.err)
		}
	}
	took := time.Since(start)
	d.stop() // the last second's summary is written at stop
	tally := func(recs []*rec) (accepts, denies, summarised int) {
		for _, r := range recs {
			switch {
			case r.kind() == "accept":
				accepts++
			case r.kind() == "deny" && r.p("summary") != "":
				n, _ := strconv.Atoi(r.p("count"))
				summarised += n
			case r.kind() == "deny":
				denies++
			}
		}
		return
	}
	recs := rs.waitRecords(30*time.Second, func(recs []*rec) bool {
		_, denies, summarised := tally(recs)
		return denies+summarised >= 3000
	})
	accepts, denies, summarised := tally(recs)
	if denies+summarised != 3000 {
		t.Errorf("%d deny records and %d in summaries for 3000 denials", denies, summarised)
	}
	if accepts != 0 {
		t.Errorf("%d accept records for %d denials: a denial is its deny record alone (issue 14)", accepts, denies)
	}
	// One by one: at most 200 a second (the seconds the load spanned,
	// plus one for a window cut in two).
	if limit := 200 * (int(took/time.Second) + 2); denies > limit {
		t.Errorf("%d denials written one by one in %v; at most %d expected", denies, took, limit)
	}
	checkFields(t, recs)
	t.Logf("3000 denials in %v: %d written one by one, %d in summaries; %d accept records", took.Round(time.Millisecond), denies, summarised, accepts)
}

// TestAuditRecordContents: what issue 6 asks each kind of record to say,
// read from the daemon's -d text. start: version, config hash, effective
// options; spawn: pid, uid, gid, policy name and hash; exit: status and
// duration, with the spawn's connection id; built-in served; a reload that
// removes a service: the reload summary and that listener going down;
// stop.
func TestAuditRecordContents(t *testing.T) {
	needRoot(t)
	ext, inner := freePort(t), freePort(t)
	d := startDaemon(t, fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo hi\n127.0.0.1:%d stream tcp nowait root internal daytime\n", ext, inner))
	start := d.waitLog("event=start", time.Second, "version=", "hash=", "options=", "config="+d.conf)
	if !strings.Contains(start, "R=256") {
		t.Errorf("start record without the effective -R default: %s", start)
	}

	if got := string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", ext), nil)); got != "hi\n" {
		t.Fatalf("external service answered %q", got)
	}
	spawn := d.waitLog("event=spawn", 5*time.Second, fmt.Sprintf("%d/tcp", ext), "pid=", "uid=65534", "gid=", "policy=", "hash=")
	conn := ""
	for _, f := range strings.Fields(spawn) {
		if v, ok := strings.CutPrefix(f, "conn="); ok {
			conn = v
		}
	}
	if conn == "" {
		t.Fatalf("spawn record without a connection id: %s", spawn)
	}
	d.waitLog("event=exit", 5*time.Second, "conn="+conn, "status=0", "duration=")
	d.waitLog("event=accept", time.Second, "conn="+conn)

	checkDaytime(t, string(dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", inner), nil)))
	d.waitLog("event=builtin", 5*time.Second, fmt.Sprintf("%d/tcp", inner))

	os.WriteFile(d.conf, []byte(fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo hi\n", ext)), 0o644)
	d.reload(1)
	d.waitLog("event=reload", time.Second, "removed=1", "hash=")
	d.waitLog("event=listener-down", 5*time.Second, fmt.Sprintf("127.0.0.1:%d", inner))

	d.stop()
	if d.countLog("event=stop") != 1 {
		t.Fatalf("want one stop record; log:\n%s", d.logText())
	}
}

// TestAuditSectionInPolicy: the sinks, format and facility can be written
// in the policy's [audit] section as well as given as flags; flags given
// on the command line win. The section is read at start: a reload that
// finds it changed says where and that it waits for a restart. Mistakes
// in it are named with file:line by --check.
func TestAuditSectionInPolicy(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	conf := fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", port)
	section := "[audit]\nlog-to file://DIR/audit.jsonl\nlog-facility local3\n"
	// jsonFacilities waits for path to hold a record of kind and returns the
	// facilities of its records.
	jsonFacilities := func(path, kind string) map[string]bool {
		t.Helper()
		facs := map[string]bool{}
		waitFor(t, 5*time.Second, kind+" record in "+path, func() bool {
			b, _ := os.ReadFile(path)
			seen := false
			for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
				var r struct{ Facility, Kind string }
				if json.Unmarshal([]byte(line), &r) == nil && r.Kind != "" {
					facs[r.Facility] = true
					seen = seen || r.Kind == kind
				}
			}
			return seen
		})
		return facs
	}

	d := startDaemonWith(t, nil, map[string]string{"policy/audit.policy": section}, conf)
	if got := jsonFacilities(filepath.Join(d.dir, "audit.jsonl"), "start"); !got["local3"] || len(got) != 1 {
		t.Fatalf("records from the [audit] section's sink have facilities %v, want local3 only", got)
	}
	d.waitLog("event=start", time.Second, "log-facility=local3", "audit.jsonl")

	d.writeFile("policy/audit.policy", strings.Replace(section, "local3", "local4", 1))
	d.reload(1)
	d.waitLog("event=config-error", 2*time.Second, "audit.policy:1", "takes effect when hinetd restarts")
	dialRead(t, "tcp", fmt.Sprintf("127.0.0.1:%d", port), []byte("x"))
	if got := jsonFacilities(filepath.Join(d.dir, "audit.jsonl"), "accept"); got["local4"] {
		t.Fatalf("the changed section applied before a restart: facilities %v", got)
	}

	// Flags win: the section's sink is not opened, the flag's facility is used.
	d2 := startDaemonWith(t, nil, map[string]string{"policy/audit.policy": section}, conf,
		"--log-to", "file://DIR/flag.jsonl", "--log-facility", "auth")
	if got := jsonFacilities(filepath.Join(d2.dir, "flag.jsonl"), "start"); !got["auth"] || len(got) != 1 {
		t.Fatalf("with --log-facility auth: facilities %v", got)
	}
	if _, err := os.Stat(filepath.Join(d2.dir, "audit.jsonl")); err == nil {
		t.Fatal("--log-to given, but the [audit] section's sink was opened too")
	}

	// --check names the line of a mistake in the section.
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "policy"), 0o755)
	os.WriteFile(filepath.Join(dir, "policy", "audit.policy"), []byte("[audit]\nlog-facility kernel\nlog-to tcp://collector\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "inetd.conf"), []byte(conf), 0o644)
	out, err := exec.Command(bin(t, "hinetd"), "--check", "--policy", filepath.Join(dir, "policy"),
		"--hosts-allow", "/dev/null", "--hosts-deny", "/dev/null", filepath.Join(dir, "inetd.conf")).CombinedOutput()
	for _, want := range []string{`audit.policy:2: error: unknown syslog facility "kernel"`, `audit.policy:3: error: log sink "tcp://collector": want tcp://host:port`} {
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("--check: %v, output lacks %q:\n%s", err, want, out)
		}
	}
}
