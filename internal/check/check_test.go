package check

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/testenv"
)

// TestErrFinding: an error's "file:line[:col]: message" becomes the
// finding's place and message.
func TestErrFinding(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want Finding
	}{
		// A config.Error carries its place.
		{&config.Error{File: "inetd.conf", Line: 3, Col: 7, Msg: `unknown socket type "strem"`},
			Finding{File: "inetd.conf", Line: 3, Col: 7, Message: `unknown socket type "strem"`}},
		{errors.New(`a.policy:2: unknown setting "bogus"`), Finding{File: "a.policy", Line: 2, Message: `unknown setting "bogus"`}},
		{errors.New(`hosts.deny:1:6: bad IPv6 address`), Finding{File: "hosts.deny", Line: 1, Col: 6, Message: "bad IPv6 address"}},
		// A path may hold colons: the numbers are read from its end.
		{errors.New(`/srv/a:b/x.policy:4: bad`), Finding{File: "/srv/a:b/x.policy", Line: 4, Message: "bad"}},
		// No place: the message as it is.
		{errors.New(`open /etc/hinetd: permission denied`), Finding{Message: `open /etc/hinetd: permission denied`}},
		{errors.New(`no place at all`), Finding{Message: `no place at all`}},
	} {
		want := tt.want
		want.Severity, want.Code = "error", "policy"
		if got := errFinding("policy", tt.err); got != want {
			t.Errorf("errFinding(%q) = %+v, want %+v", tt.err, got, want)
		}
	}
}

// TestSplitJoined: one error per line, through nested joins and
// multi-line texts.
func TestSplitJoined(t *testing.T) {
	err := errors.Join(errors.New("a:1: x"), errors.Join(errors.New("b:2: y"), errors.New("c:3: z\nc:4: w")))
	var got []string
	for _, e := range splitJoined(err) {
		got = append(got, e.Error())
	}
	if want := []string{"a:1: x", "b:2: y", "c:3: z", "c:4: w"}; !slices.Equal(got, want) {
		t.Errorf("splitJoined = %q, want %q", got, want)
	}
}

// TestFindingString: the text form of a finding, with as much place as it has.
func TestFindingString(t *testing.T) {
	for _, tt := range []struct {
		f    Finding
		want string
	}{
		{Finding{File: "h.allow", Line: 3, Col: 2, Severity: "warning", Message: "m"}, "h.allow:3:2: warning: m"},
		{Finding{File: "h.allow", Line: 3, Severity: "error", Message: "m"}, "h.allow:3: error: m"},
		{Finding{File: "h.allow", Severity: "error", Message: "m"}, "h.allow: error: m"},
		{Finding{Severity: "info", Message: "m"}, "info: m"},
	} {
		if got := tt.f.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.f, got, tt.want)
		}
	}
}

// TestCollect: every file is checked, whatever fails before it; each
// service is listed with the name hosts rules see; the exit status
// follows the errors, and JSON and text report the same.
func TestCollect(t *testing.T) {
	testenv.NeedRoot(t) // services run as nobody
	dir, write := testenv.FileWriter(t)
	o := Options{
		ConfigPath: write("inetd.conf", "127.0.0.1:7019 dgram udp wait root internal chargen\n"+
			"127.0.0.1:7100 stream tcp nowait nobody /bin/cat /usr/sbin/in.catd -u\n"+
			"127.0.0.1:7101 strem tcp nowait root internal echo\n"),
		PolicyPath: write("hinetd.policy", "[service 7100]\ncaps CAP_NET_BIND_SERVICE\n[service 7200]\nseccomp off\n"),
		HostsAllow: write("hosts.allow", "in.catd: 127.0.0.1\n"),
		HostsDeny:  filepath.Join(dir, "hosts.deny"),
	}
	// A FIFO is refused, not waited on (acl.ReadFile).
	if err := syscall.Mkfifo(o.HostsDeny, 0o644); err != nil {
		t.Fatal(err)
	}
	r := Collect(o)
	var daemons []string
	for _, s := range r.Services {
		daemons = append(daemons, s.Name+"="+s.Daemon)
	}
	if want := []string{"7019=chargen", "7100=in.catd"}; !slices.Equal(daemons, want) {
		t.Errorf("services %q, want %q", daemons, want)
	}
	if e := r.Services[1].Exposure; e == nil || e.UID != 65534 || !slices.Equal(e.Caps, []string{"CAP_NET_BIND_SERVICE"}) {
		t.Errorf("7100's exposure: %+v", e)
	}
	var codes []string
	for _, f := range r.Findings {
		codes = append(codes, f.Severity+" "+f.Code)
	}
	for _, want := range []string{"error config", "warning policy-unused", "error read"} {
		if !slices.Contains(codes, want) {
			t.Errorf("findings %q lack %q", codes, want)
		}
	}
	if r.Errors != 2 {
		t.Errorf("%d errors, want 2 (the bad line, the FIFO): %q", r.Errors, codes)
	}

	var text, js bytes.Buffer
	if code := Run(o, &text); code != 1 {
		t.Errorf("Run: exit %d, want 1", code)
	}
	if !strings.HasSuffix(text.String(), "2 services, 2 errors, 4 warnings\n") {
		t.Errorf("text report ends:\n%s", text.String())
	}
	o.JSON = true
	if code := Run(o, &js); code != 1 {
		t.Errorf("Run --json: exit %d, want 1", code)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Errors != r.Errors || back.Warnings != r.Warnings || !reflect.DeepEqual(back.Findings, r.Findings) {
		t.Errorf("JSON report differs: %+v\nfrom %+v", back, r)
	}
}
