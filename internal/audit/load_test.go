package audit

import (
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/audit/audittest"
)

// TestConnectionLoad is the acceptance load on the audit side:
// 5,000 connections, granted (accept, spawn, exit), denied by the ACL
// (accept, deny) and refused by a limit (accept, limit), as fast as the
// test can emit them, over TCP to rsyslog. rsyslog must hold one accept
// per connection, a spawn and an exit per granted one, and for denials
// and limits single records plus summary counts that add up exactly;
// every record is strict RFC 5424 with the connection's fields.
func TestConnectionLoad(t *testing.T) {
	r := audittest.StartRsyslog(t, audittest.RsyslogOpts{TCP: true})
	l, err := Open([]string{fmt.Sprintf("tcp://127.0.0.1:%d", r.TCPPort)}, testOpts(t))
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	local := netip.MustParseAddrPort("127.0.0.1:2323")
	want := map[string]int{}
	for i := range n {
		base := Event{Service: "telnet", Proto: "tcp", Local: local, ConnID: uint64(i + 1),
			Client: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, byte(1 + i%7)}), uint16(20000+i))}
		acc := base
		acc.Kind = KindAccept
		l.Emit(acc)
		want["accept"]++
		switch i % 10 {
		case 6, 7:
			d := base
			d.Kind = KindDeny
			d.Fields = []Field{{KeyRule, "hosts.deny:" + strconv.Itoa(1+i%2)}, {KeyRuleText, "in.telnetd: ALL"}}
			l.Deny(d)
			want["deny"]++
		case 8, 9:
			d := base
			d.Kind = KindLimit
			d.Fields = []Field{{KeyLimit, "per-source"}}
			l.Limit(d)
			want["limit"]++
		default:
			sp := base
			sp.Kind = KindSpawn
			sp.Fields = []Field{Int(KeyPID, int64(10000+i)), Int(KeyUID, 65534), Int(KeyGID, 65534), {KeyPolicy, "telnet"}, {KeyHash, "ab12"}}
			l.Emit(sp)
			ex := base
			ex.Kind = KindExit
			ex.Fields = []Field{Int(KeyPID, int64(10000+i)), Int(KeyStatus, 0), Dur(KeyDuration, time.Millisecond)}
			l.Emit(ex)
			want["spawn"]++
			want["exit"]++
		}
	}
	closeLog(t, l)
	wantTotal := 0
	for _, v := range want {
		wantTotal += v
	}
	got := map[string]int{}
	single := map[string]int{}
	perConn := map[uint64]int{}
	lines := r.WaitLines(20*time.Second, func(ls []string) bool {
		total := 0
		for _, line := range ls {
			if m, err := audittest.ParseRFC5424(line); err == nil {
				if c, ok := m.Param(SDID, KeyCount); ok {
					k, _ := strconv.Atoi(c)
					total += k
				} else {
					total++
				}
			}
		}
		return total >= wantTotal
	})
	for _, line := range lines {
		m, err := audittest.ParseRFC5424(line)
		if err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		kind := m.MsgID
		if svc, _ := m.Param(SDID, "service"); svc != "telnet" {
			t.Fatalf("no service: %s", line)
		}
		if c, ok := m.Param(SDID, KeyCount); ok {
			k, _ := strconv.Atoi(c)
			got[kind] += k
			if _, ok := m.Param(SDID, "client"); !ok {
				if v, _ := m.Param(SDID, "clients"); v != "other" {
					t.Fatalf("summary without client: %s", line)
				}
			}
			continue
		}
		got[kind]++
		single[kind]++
		conn, _ := m.Param(SDID, "conn")
		id, err := strconv.ParseUint(conn, 10, 64)
		if err != nil {
			t.Fatalf("no conn id: %s", line)
		}
		perConn[id]++
		for _, p := range []string{"proto", "client", "client-port", "local", "local-port"} {
			if _, ok := m.Param(SDID, p); !ok {
				t.Fatalf("no %s: %s", p, line)
			}
		}
	}
	t.Logf("records by kind %v; one by one %v", got, single)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %d, want %d", k, got[k], v)
		}
	}
	if single["deny"] < 100 || single["limit"] < 100 {
		t.Errorf("fewer than 100 single deny/limit records: %v", single)
	}
	if len(perConn) != n {
		t.Errorf("%d connections have records, want %d", len(perConn), n)
	}
}
