package config

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/internal/builtins"
	"github.com/hinetd/hinetd/internal/seccomp"
	"github.com/hinetd/hinetd/policy"
)

// TestBuiltinsFromTable: every built-in of builtins.Table is one here,
// by its service name and after "internal" on a port, stream and
// datagram; nothing else is.
func TestBuiltinsFromTable(t *testing.T) {
	var conf strings.Builder
	for i, b := range builtins.Table {
		fmt.Fprintf(&conf, "127.0.0.1:%d stream tcp nowait root internal %s\n", 7000+i, b.Name)
		fmt.Fprintf(&conf, "127.0.0.1:%d dgram udp wait root internal %s\n", 7000+i, b.Name)
	}
	snap, errs := parseText(t, conf.String(), Options{})
	if len(errs) != 0 || len(snap.Services) != 2*len(builtins.Table) {
		t.Fatalf("errors %v, %d services", errs, len(snap.Services))
	}
	for i, s := range snap.Services {
		if want := builtins.Table[i/2].Name; s.Internal != want {
			t.Errorf("line %d: built-in %q, want %q", s.Line, s.Internal, want)
		}
	}
	_, errs = parseText(t, "127.0.0.1:7000 stream tcp nowait root internal tcpmux\n", Options{})
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), `unknown built-in "tcpmux"; expect `+strings.Join(builtins.Names()[:4], ", ")+" or time") {
		t.Errorf("tcpmux: %v", errs)
	}
}

// TestDaemonName: the name hosts rules see.
func TestDaemonName(t *testing.T) {
	for _, tt := range []struct {
		s    Service
		want string
	}{
		{Service{Internal: "echo", Name: "7007"}, "echo"},
		{Service{Program: "/usr/sbin/tcpd", Args: []string{"/usr/sbin/in.fingerd", "-w"}}, "in.fingerd"}, // tcpd's argv[0]
		{Service{Program: "/usr/sbin/in.fingerd", Args: []string{"in.fingerd"}}, "in.fingerd"},
		{Service{Program: "/usr/sbin/in.fingerd"}, "in.fingerd"},
	} {
		if got := tt.s.DaemonName(); got != tt.want {
			t.Errorf("DaemonName(%+v) = %q, want %q", tt.s, got, tt.want)
		}
	}
}

// TestCompile: the service the policy compiler sees, and the options of
// this process.
func TestCompile(t *testing.T) {
	snap, errs := parseText(t, "127.0.0.1:7100 stream tcp nowait nobody:daemon /bin/cat cat -u\n", Options{})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	c := snap.Services[0]
	want := policy.Service{Name: "7100", User: "nobody", Group: "daemon", UID: c.UID, GID: 1, Program: "/bin/cat", Args: []string{"cat", "-u"},
		Sections: []string{"127.0.0.1:7100", "7100/tcp"}}
	if got := c.Policy(); !reflect.DeepEqual(got, want) {
		t.Errorf("Policy() = %+v, want %+v", got, want)
	}
	var filters seccomp.Compiler
	o := CompileOptions(&filters)
	if o.Filter != &filters || o.Unprivileged != (os.Geteuid() != 0) || (o.Unprivileged && o.InvokingUID != os.Geteuid()) {
		t.Errorf("CompileOptions = %+v as euid %d", o, os.Geteuid())
	}
	var pol policy.Set
	spec, _, err := c.Compile(&pol, &filters)
	if os.Geteuid() != 0 {
		// Without root only the invoking user's services can run.
		if err == nil {
			t.Errorf("as euid %d, a nobody service compiled", os.Geteuid())
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if spec.Path != "/bin/cat" || spec.UID != c.UID || spec.GID != 1 || len(spec.Seccomp) == 0 {
		t.Errorf("spec: path %s uid %d gid %d, %d bytes of seccomp", spec.Path, spec.UID, spec.GID, len(spec.Seccomp))
	}
}

// TestPathArg: the configuration file operand of hinetd and hinetd-check.
func TestPathArg(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
		ok   bool
	}{
		{nil, "/etc/inetd.conf", true},
		{[]string{"x.conf"}, "x.conf", true},
		{[]string{"x.conf", "y.conf"}, "", false},
	} {
		if got, ok := PathArg(tt.args); got != tt.want || ok != tt.ok {
			t.Errorf("PathArg(%q) = %q, %v; want %q, %v", tt.args, got, ok, tt.want, tt.ok)
		}
	}
}

// TestSections: the names a policy section may select a service by, most
// specific first, and the sections no service selects.
func TestSections(t *testing.T) {
	snap, errs := parseText(t, "127.0.0.1:bootps dgram udp wait root /bin/cat bootpd\n"+
		"127.0.0.2:bootps dgram udp wait root /bin/cat bootpgw\n"+
		"[::1]:7100 stream tcp6 nowait nobody /bin/cat cat\n"+
		"/run/x.sock stream unix nowait nobody /bin/cat cat\n", Options{})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	want := [][]string{
		{"127.0.0.1:67", "bootps/udp"},
		{"127.0.0.2:67", "bootps/udp"},
		{"[::1]:7100", "7100/tcp", "7100/tcp6"},
		nil,
	}
	for i, c := range snap.Services {
		if got := c.Sections(); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("line %d: Sections() = %q, want %q", c.Line, got, want[i])
		}
	}
	// bootpgw's own section by address, bootpd's by the service field;
	// [service ftp] and [service bootps/tcp] select nothing.
	pol, err := policy.Parse("p", []byte("[service bootps]\numask 022\n[service 127.0.0.2:67]\numask 077\n[service [::1]:7100]\nnice 1\n[service ftp bootps/tcp]\nnice 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	for i, sec := range []string{"bootps", "127.0.0.2:67", "[::1]:7100", "/run/x.sock"} {
		got := pol.SectionFor(snap.Services[i].Policy())
		if sec == "/run/x.sock" {
			sec = ""
		}
		if got != sec {
			t.Errorf("line %d: section %q, want %q", i+1, got, sec)
		}
	}
	var unused []string
	for _, u := range UnusedSections(snap, pol) {
		unused = append(unused, u.Pos.String()+" "+u.Name)
	}
	if w := []string{"p:7 bootps/tcp", "p:7 ftp"}; !reflect.DeepEqual(unused, w) {
		t.Errorf("unused sections %q, want %q", unused, w)
	}
}
