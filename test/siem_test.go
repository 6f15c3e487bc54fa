package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSIEMRecords (issue 14, "Logs for a SIEM"): the JSON-lines sink as a
// SIEM reads it, every line decoded and checked field by field:
//   - connection ids are strings (they pass 2^53, where jq and JavaScript
//     round them: "…385" read as "…384");
//   - numbers are numbers: pid, uid, status, and the duration in seconds;
//   - the host name is in every record;
//   - a denial is one record (not accept + deny);
//   - every connection record names the daemon the rules saw and the
//     program run, also for an "addr:port" service named by its port;
//   - the state dump carries its data in fields;
//
// and the RFC 5424 SD-ID carries --log-enterprise-number.
func TestSIEMRecords(t *testing.T) {
	needRoot(t)
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	port := freePort(t)
	d := startDaemonWith(t, nil, map[string]string{"hosts.deny": "echo: 127.0.0.2\n"},
		fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /bin/echo echo hi\n", port),
		"--log-to", "file://DIR/audit.jsonl", "--log-to", "udp://"+udp.LocalAddr().String(), "--log-enterprise-number", "12345")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if got := string(dialFrom(t, "127.0.0.1", addr, nil)); got != "hi\n" {
		t.Fatalf("granted client: %q", got)
	}
	if got := string(dialFrom(t, "127.0.0.2", addr, nil)); got != "" {
		t.Fatalf("denied client: %q", got)
	}
	d.waitLog("event=exit", 5*time.Second)
	d.signal(syscall.SIGUSR1)
	d.waitLog("event=dump", 5*time.Second, "global:")
	d.stop()

	host, _ := os.Hostname()
	f, err := os.Open(filepath.Join(d.dir, "audit.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type rec struct {
		raw    string
		m      map[string]any
		fields map[string]any
	}
	var recs []rec
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for sc.Scan() {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("not JSON: %v: %s", err, sc.Text())
		}
		fl, _ := m["fields"].(map[string]any)
		recs = append(recs, rec{sc.Text(), m, fl})
	}
	isNumber := func(v any) bool { _, ok := v.(json.Number); return ok }
	byConn := map[string][]rec{}
	var sawSpawn, sawExit, sawDumpService, sawDumpChild, sawDumpGlobal bool
	for _, r := range recs {
		if r.m["host"] != host {
			t.Errorf("host %v, want %q: %s", r.m["host"], host, r.raw)
		}
		if c, ok := r.m["conn"]; ok {
			s, isStr := c.(string)
			if _, err := strconv.ParseUint(s, 10, 64); !isStr || err != nil {
				t.Errorf("conn is not a string of digits: %s", r.raw)
			}
			if r.m["kind"] != "dump" {
				byConn[s] = append(byConn[s], r)
				if r.fields["daemon"] != "echo" || r.fields["program"] != "/bin/echo" {
					t.Errorf("connection record without daemon echo and program /bin/echo: %s", r.raw)
				}
			}
		}
		switch r.m["kind"] {
		case "spawn":
			sawSpawn = true
			if !isNumber(r.fields["pid"]) || !isNumber(r.fields["uid"]) || r.fields["uid"].(json.Number).String() != "65534" {
				t.Errorf("spawn pid/uid not numbers: %s", r.raw)
			}
		case "exit":
			sawExit = true
			dur, ok := r.fields["duration"].(json.Number)
			secs, err := dur.Float64()
			if !ok || err != nil || secs <= 0 || secs > 10 || !isNumber(r.fields["status"]) {
				t.Errorf("exit duration not a number of seconds, or status not a number: %s", r.raw)
			}
		case "dump":
			switch {
			case r.fields["listener"] != nil:
				sawDumpService = isNumber(r.fields["children"]) && isNumber(r.fields["max-child"]) && r.fields["program"] == "/bin/echo"
			case r.fields["pid"] != nil:
				sawDumpChild = true
			case r.fields["sources"] != nil:
				sawDumpGlobal = isNumber(r.fields["sources"]) && isNumber(r.fields["children"])
			}
		}
	}
	if !sawSpawn || !sawExit || !sawDumpService || !sawDumpGlobal {
		t.Errorf("spawn %v exit %v dump service %v dump global %v (child %v); records:\n%s", sawSpawn, sawExit, sawDumpService, sawDumpGlobal, sawDumpChild, d.logText())
	}
	denials := 0
	for id, rs := range byConn {
		kinds := []string{}
		for _, r := range rs {
			kinds = append(kinds, r.m["kind"].(string))
		}
		if strings.Contains(strings.Join(kinds, " "), "deny") {
			denials++
			if len(rs) != 1 {
				t.Errorf("denied connection %s has %d records (%v), want one", id, len(rs), kinds)
			}
		}
		if n, _ := strconv.ParseUint(id, 10, 64); n < 1<<53 {
			t.Logf("conn id %s is below 2^53", id)
		}
	}
	if denials != 1 {
		t.Errorf("%d denied connections in the log, want 1", denials)
	}

	// RFC 5424 over UDP: the SD-ID names the enterprise number given.
	udp.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 8192)
	n, _, err := udp.ReadFrom(buf)
	if err != nil || !strings.Contains(string(buf[:n]), "[hinetd@12345 ") {
		t.Errorf("RFC 5424 record %q (%v), want SD-ID hinetd@12345", buf[:n], err)
	}
}
