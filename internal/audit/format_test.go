package audit

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/hinetd/hinetd/internal/audit/audittest"
)

var t0 = time.Date(2026, 11, 26, 10, 55, 0, 123456789, time.UTC)

// TestRFC5424 checks exact records, byte for byte.
func TestRFC5424(t *testing.T) {
	f := Formatter{Hostname: "gw1", ProcID: "812"}
	for _, tc := range []struct {
		name string
		ev   Event
		seq  uint64
		want string
	}{
		{
			// a denial: warning by default, daemon facility: <3*8+4>
			name: "deny",
			ev: Event{Kind: KindDeny, Time: t0, Service: "telnet", Proto: "tcp",
				Client: netip.MustParseAddrPort("[::ffff:192.0.2.7]:40001"), Local: netip.MustParseAddrPort("[2001:db8::1]:23"),
				ConnID: 17, Fields: []Field{{KeyRule, "hosts.deny:3"}, {KeyRuleText, `ALL: "x" [y] \z`}}},
			seq:  5,
			want: `<28>1 2026-11-26T10:55:00.123456Z gw1 hinetd 812 deny [hinetd@32473 kind="deny" service="telnet" proto="tcp" client="192.0.2.7" client-port="40001" local="2001:db8::1" local-port="23" conn="17" rule="hosts.deny:3" ruletext="ALL: \"x\" [y\] \\z"][meta sequenceId="5"] deny telnet/tcp from 192.0.2.7:40001 to [2001:db8::1]:23 conn=17 rule=hosts.deny:3 ruletext="ALL: \"x\" [y] \\z"`,
		},
		{
			// the hosts option "severity auth.notice" overrides both
			name: "override",
			ev:   Event{Kind: KindAccept, Time: t0, Severity: SevNotice, Facility: FacAuth, Service: "ftp"},
			want: `<37>1 2026-11-26T10:55:00.123456Z gw1 hinetd 812 accept [hinetd@32473 kind="accept" service="ftp"] accept ftp`,
		},
		{
			// invalid UTF-8 and a newline from a client-chosen name stay on one valid line
			name: "dirty",
			ev:   Event{Kind: KindLog, Time: t0, Msg: "bad\nname \xff", Fields: []Field{{"user name=", "a\xffb"}}},
			want: "<30>1 2026-11-26T10:55:00.123456Z gw1 hinetd 812 log [hinetd@32473 kind=\"log\" user_name_=\"a\uFFFDb\"] bad\\nname \\xff user_name_=\"a\\xffb\"",
		},
	} {
		got := string(f.Append(nil, &tc.ev, tc.seq))
		if got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
		if _, err := audittest.ParseRFC5424(got); err != nil {
			t.Errorf("%s: does not parse: %v", tc.name, err)
		}
	}
}

// TestRFC3164 checks the BSD format, with and without a host (the local
// /dev/log form leaves it out).
func TestRFC3164(t *testing.T) {
	ev := Event{Kind: KindExit, Time: t0, Service: "echo", ConnID: 3,
		Fields: []Field{Int(KeyPID, 99), {KeySignal, "SIGSYS"}, {KeySyscall, "ptrace"}}}
	stamp := t0.Local().Format(time.Stamp)
	f := Formatter{Format: FormatRFC3164, Hostname: "gw1", ProcID: "812", Facility: FacAuthpriv}
	want := "<86>" + stamp + " gw1 hinetd[812]: exit echo conn=3 pid=99 signal=SIGSYS syscall=ptrace"
	if got := string(f.Append(nil, &ev, 1)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	f.Hostname = ""
	want = "<86>" + stamp + " hinetd[812]: exit echo conn=3 pid=99 signal=SIGSYS syscall=ptrace"
	if got := string(f.Append(nil, &ev, 1)); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestTextFormat: the -d line is readable and says the severity.
func TestTextFormat(t *testing.T) {
	ev := Event{Kind: KindSpawn, Time: t0, Service: "ftp", Proto: "tcp",
		Client: netip.MustParseAddrPort("127.0.0.1:5000"), ConnID: 8,
		Fields: []Field{Int(KeyPID, 4242), Int(KeyUID, 1001), {KeyPolicy, "ftp default"}}}
	got := string((&Formatter{Format: FormatText}).Append(nil, &ev, 0))
	want := t0.Local().Format("2006-01-02 15:04:05.000") + ` info spawn ftp/tcp from 127.0.0.1:5000 conn=8 pid=4242 uid=1001 policy="ftp default"`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// TestJSONFormat: valid JSON for awkward values; fields keep their order.
func TestJSONFormat(t *testing.T) {
	ev := Event{Kind: KindConfigError, Time: t0, Msg: "tab\there \"q\" \x01 \xfe",
		Fields: []Field{{KeyFile, "inetd.conf:12"}, {"z", "1"}, {"a", "2"}}}
	b := (&Formatter{Format: FormatJSON}).Append(nil, &ev, 9)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if m["kind"] != "config-error" || m["severity"] != "err" || m["facility"] != "daemon" || m["seq"] != 9.0 {
		t.Errorf("%s", b)
	}
	if !strings.Contains(string(b), `"fields":{"file":"inetd.conf:12","z":"1","a":"2"}`) {
		t.Errorf("fields out of order: %s", b)
	}
}

// TestParseLevel: the hosts_options(5) severity argument.
func TestParseLevel(t *testing.T) {
	for _, tc := range []struct {
		in  string
		fac Facility
		sev Severity
		ok  bool
	}{
		{"warning", FacDefault, SevWarning, true},
		{"auth.notice", FacAuth, SevNotice, true},
		{"local0.err", FacLocal0, SevErr, true},
		{"authpriv.4", FacAuthpriv, SevWarning, true},
		{"AUTH.WARN", FacAuth, SevWarning, true},
		{"auth.", FacDefault, SevDefault, false},
		{"nope.info", FacDefault, SevDefault, false},
		{"loud", FacDefault, SevDefault, false},
		{"8", FacDefault, SevDefault, false},
	} {
		fac, sev, ok := ParseLevel(tc.in)
		if fac != tc.fac || sev != tc.sev || ok != tc.ok {
			t.Errorf("ParseLevel(%q) = %v, %v, %v; want %v, %v, %v", tc.in, fac, sev, ok, tc.fac, tc.sev, tc.ok)
		}
	}
	if FacAuth.Code() != 4 || SevWarning.Code() != 4 || FacDefault.Code() != 3 || SevDefault.Code() != 6 {
		t.Errorf("codes: auth %d warning %d", FacAuth.Code(), SevWarning.Code())
	}
}

// TestKindNames: every kind has a name that round-trips and fits MSGID.
func TestKindNames(t *testing.T) {
	for k := Kind(0); k < kindCount; k++ {
		n := k.String()
		if n == "" || len(n) > 32 {
			t.Errorf("kind %d: name %q", k, n)
		}
		if back, ok := ParseKind(n); !ok || back != k {
			t.Errorf("ParseKind(%q) = %v, %v", n, back, ok)
		}
	}
}

// FuzzFormat: whatever the strings in an event (they come from clients
// and config files), the RFC 5424 record parses strictly and gives back
// the field values, the JSON is valid, and every format is one line.
// Seeds: testdata/fuzz/FuzzFormat.
func FuzzFormat(f *testing.F) {
	f.Fuzz(func(t *testing.T, svc, proto, key, value, msg string) {
		ev := Event{Kind: KindDeny, Time: t0, Service: svc, Proto: proto, Msg: msg,
			Client: netip.MustParseAddrPort("[::1]:1"), Fields: []Field{{"v", value}, {key, value}}}
		for _, fm := range []Format{FormatRFC5424, FormatRFC3164, FormatJSON, FormatText} {
			b := (&Formatter{Format: fm}).Append(nil, &ev, 1)
			if strings.ContainsAny(string(b), "\n\r\x00") {
				t.Fatalf("%v: not one line: %q", fm, b)
			}
			switch fm {
			case FormatRFC5424:
				m, err := audittest.ParseRFC5424(string(b))
				if err != nil {
					t.Fatalf("%v: %q", err, b)
				}
				if got, want := mustParam(m, "v"), readable(value); got != want {
					t.Fatalf("value %q came back as %q, want %q", value, got, want)
				}
				if got, want := mustParam(m, "service"), readable(svc); svc != "" && got != want {
					t.Fatalf("service %q came back as %q, want %q", svc, got, want)
				}
			case FormatJSON:
				if !json.Valid(b) {
					t.Fatalf("invalid JSON: %q", b)
				}
			}
		}
	})
}

func mustParam(m *audittest.Record, name string) string {
	v, _ := m.Param(SDID, name)
	return v
}

// readable is what a PARAM-VALUE reads back as: each invalid byte U+FFFD,
// control characters as the text \n, \t, \r, \xNN.
func readable(s string) string {
	var b strings.Builder
	for _, r := range s { // range yields U+FFFD per invalid byte
		switch {
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
