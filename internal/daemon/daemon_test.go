package daemon

import (
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/limits"
	"github.com/hinetd/hinetd/policy"
)

// TestPlanReload: which listeners a reload opens, keeps and closes.
func TestPlanReload(t *testing.T) {
	for _, tt := range []struct {
		name           string
		running, order []string
		want           reloadPlan
	}{
		// Start: everything opens, in file order.
		{"start", nil, []string{"tcp4 b", "tcp4 a"}, reloadPlan{open: []string{"tcp4 b", "tcp4 a"}}},
		// Nothing changed: everything stays.
		{"same", []string{"tcp4 a", "udp4 a"}, []string{"udp4 a", "tcp4 a"}, reloadPlan{keep: []string{"udp4 a", "tcp4 a"}}},
		// A line removed, one added, one kept; closes are sorted.
		{"mixed", []string{"tcp4 z", "tcp4 k", "tcp4 c"}, []string{"tcp4 n", "tcp4 k"},
			reloadPlan{open: []string{"tcp4 n"}, keep: []string{"tcp4 k"}, close: []string{"tcp4 c", "tcp4 z"}}},
		// An empty configuration closes everything.
		{"empty", []string{"tcp4 b", "tcp4 a"}, nil, reloadPlan{close: []string{"tcp4 a", "tcp4 b"}}},
	} {
		if got := planReload(tt.running, tt.order); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: planReload(%q, %q) = %+v, want %+v", tt.name, tt.running, tt.order, got, tt.want)
		}
	}
}

func echoConfig() *config.Service {
	return &config.Service{File: "inetd.conf", Line: 3, Name: "7007", SocketType: config.Stream, Protocol: "tcp",
		Family: config.FamilyInet, BindAddr: netip.MustParseAddr("127.0.0.1"), Port: 7007,
		User: "nobody", Program: "/bin/cat", Args: []string{"cat"}}
}

// TestSameService: a reload that moves a line keeps the service; one that
// changes what it means changes it.
func TestSameService(t *testing.T) {
	base := func() *service {
		return &service{cfg: echoConfig(), spec: &policy.Spec{Hash: "h1"}, maxChild: 4, backlog: 128,
			lim: limits.ServiceLimits{RatePerMin: 256}}
	}
	for _, tt := range []struct {
		name   string
		change func(s *service)
		same   bool
	}{
		{"nothing", func(*service) {}, true},
		{"moved to another line and file", func(s *service) { s.cfg.Line, s.cfg.File = 9, "other.conf" }, true},
		{"arguments", func(s *service) { s.cfg.Args = []string{"cat", "-u"} }, false},
		{"user", func(s *service) { s.cfg.User = "daemon" }, false},
		{"max-child", func(s *service) { s.maxChild = 5 }, false},
		{"backlog", func(s *service) { s.backlog = 64 }, false},
		{"limits", func(s *service) { s.lim.RatePerMin = 10 }, false},
		{"spec", func(s *service) { s.spec = &policy.Spec{Hash: "h2"} }, false},
		{"now a built-in", func(s *service) { s.spec, s.cfg.Internal = nil, "echo" }, false},
	} {
		a, b := base(), base()
		tt.change(b)
		if got := sameService(a, b); got != tt.same {
			t.Errorf("%s: sameService = %v, want %v", tt.name, got, tt.same)
		}
	}
}

func set[T any](v T) policy.Field[T] { return policy.Field[T]{Set: true, Value: v} }

// TestPlanService: a service's limits come from its policy where it sets
// one, else from its inetd.conf line, else from the daemon's options.
func TestPlanService(t *testing.T) {
	opts := Options{RatePerMin: 256, MaxChild: 8, ConnPerIPMin: 30, Backlog: 512}
	for _, tt := range []struct {
		name     string
		conf     func(c *config.Service)
		pl       policy.Limits
		o        *Options
		maxChild int32
		backlog  int
		lim      limits.ServiceLimits
	}{
		{"daemon defaults", nil, policy.Limits{}, nil, 8, 512,
			limits.ServiceLimits{RatePerMin: 256, ConnPerSourcePerMin: 30}},
		{"no -q: listen(2)'s default queue", nil, policy.Limits{}, &Options{}, 0, defaultBacklog, limits.ServiceLimits{}},
		{"inetd.conf's fields", func(c *config.Service) {
			c.MaxChild, c.RatePerMinute, c.MaxConnPerIPMin, c.MaxChildPerIP = 2, 40, 5, 1
		}, policy.Limits{}, nil, 2, 512,
			limits.ServiceLimits{RatePerMin: 40, ConnPerSourcePerMin: 5, MaxChildPerSource: 1}},
		{"the policy wins", func(c *config.Service) { c.MaxChild, c.RatePerMinute = 2, 40 },
			policy.Limits{MaxChild: set(3), InvocationsPerMinute: set(50), MaxChildPerIP: set(2), ConnPerIPPerMinute: set(6),
				ListenBacklog: set(16), CPS: set(policy.CPS{Rate: 5, Wait: 10 * time.Second}),
				SourceRate: set(policy.Rate{Rate: 2, Burst: 4})},
			nil, 3, 16,
			limits.ServiceLimits{RatePerMin: 50, MaxChildPerSource: 2, ConnPerSourcePerMin: 6, CPS: 5, CPSWait: 10 * time.Second,
				SourceRate: 2, SourceBurst: 4}},
		{"wait: no per-client limits", func(c *config.Service) { c.Wait = true }, policy.Limits{MaxChildPerIP: set(2)}, nil, 8, 512,
			limits.ServiceLimits{RatePerMin: 256}},
		{"stream built-in: no spawn-loop guard", func(c *config.Service) { c.Internal = "echo" }, policy.Limits{}, nil, 8, 512,
			limits.ServiceLimits{ConnPerSourcePerMin: 30}},
		{"datagram built-in: rate limited, not an amplifier", func(c *config.Service) {
			c.Internal, c.SocketType, c.Protocol = "echo", config.Dgram, "udp"
		}, policy.Limits{}, nil, 8, 512,
			limits.ServiceLimits{ConnPerSourcePerMin: 30, SourceRate: udpBuiltinSourceRate, SourceBurst: udpBuiltinSourceBurst,
				CPS: udpBuiltinRate, Burst: udpBuiltinBurst}},
		{"nowait datagram service: a per-client rate", func(c *config.Service) { c.SocketType, c.Protocol = config.Dgram, "udp" },
			policy.Limits{}, nil, 8, 512,
			limits.ServiceLimits{RatePerMin: 256, ConnPerSourcePerMin: 30, SourceRate: udpBuiltinSourceRate, SourceBurst: udpBuiltinSourceBurst}},
	} {
		c := echoConfig()
		if tt.conf != nil {
			tt.conf(c)
		}
		o := opts
		if tt.o != nil {
			o = *tt.o
		}
		s := planService(o, c, tt.pl)
		if s.maxChild != tt.maxChild || s.backlog != tt.backlog || s.lim != tt.lim || s.cfg != c {
			t.Errorf("%s: max-child %d backlog %d limits %+v, want %d %d %+v", tt.name, s.maxChild, s.backlog, s.lim,
				tt.maxChild, tt.backlog, tt.lim)
		}
	}
}

// TestLimitNotes: the log says where the policy replaces a limit
// inetd.conf sets, and only there.
func TestLimitNotes(t *testing.T) {
	c := echoConfig()
	c.MaxChild, c.RatePerMinute, c.MaxChildPerIP = 2, 40, 3
	pos := policy.Pos{File: "p.policy", Line: 4}
	pl := policy.Limits{
		MaxChild:             policy.Field[int]{Set: true, Value: 5, Pos: pos}, // replaces 2
		InvocationsPerMinute: policy.Field[int]{Set: true, Value: 40},          // the same: no note
		ConnPerIPPerMinute:   policy.Field[int]{Set: true, Value: 9},           // inetd.conf sets none: no note
	}
	var got []string
	for _, n := range limitNotes(c, pl) {
		got = append(got, n.String())
	}
	want := []string{"p.policy:4: service 7007: policy sets max-child 5 instead of inetd.conf's 2"}
	if !slices.Equal(got, want) {
		t.Errorf("limitNotes = %q, want %q", got, want)
	}
}

func baseSpec() *policy.Spec {
	return &policy.Spec{Service: "7007", Path: "/bin/cat", Argv: []string{"cat"}, Env: []string{"PATH=/bin", "LANG=C"},
		UID: 65534, GID: 65534, Groups: []int{65534}, SwitchIDs: true, Umask: 0o027, KeepCaps: []int{13},
		Hash: "base"}
}

// TestDeriveSpec: setenv, umask, nice and user in the deciding rule shape
// a copy of the service's spec, never the spec itself.
func TestDeriveSpec(t *testing.T) {
	req := hosts.Request{Daemon: "cat", ClientAddr: netip.MustParseAddr("127.0.0.8")}
	for _, tt := range []struct {
		name    string
		o       hosts.Options
		check   func(t *testing.T, s *policy.Spec)
		wantErr string
	}{
		{"setenv with expansion, replacing one", hosts.Options{Setenv: []string{"CLIENT %a", "LANG en_US.UTF-8"}},
			func(t *testing.T, s *policy.Spec) {
				if want := []string{"PATH=/bin", "LANG=en_US.UTF-8", "CLIENT=127.0.0.8"}; !slices.Equal(s.Env, want) {
					t.Errorf("env %q, want %q", s.Env, want)
				}
			}, ""},
		{"umask and nice", hosts.Options{HasUmask: true, Umask: 0o077, HasNice: true, Nice: 5},
			func(t *testing.T, s *policy.Spec) {
				if s.Umask != 0o077 || s.Nice != 5 || s.UID != 65534 {
					t.Errorf("umask %o nice %d uid %d", s.Umask, s.Nice, s.UID)
				}
			}, ""},
		{"user: its ids and groups, no capabilities", hosts.Options{User: "root", Group: "daemon"},
			func(t *testing.T, s *policy.Spec) {
				if s.UID != 0 || s.GID != 1 || !slices.Contains(s.Groups, 0) || s.KeepCaps != nil {
					t.Errorf("uid %d gid %d groups %v caps %v", s.UID, s.GID, s.Groups, s.KeepCaps)
				}
			}, ""},
		{"a variable name with =", hosts.Options{Setenv: []string{"A=B c"}}, nil, `setenv: bad variable name "A=B"`},
		{"an empty setenv", hosts.Options{Setenv: []string{" "}}, nil, `setenv: bad variable name ""`},
		{"an unknown user", hosts.Options{User: "no-such-user-hinetd"}, nil, "user no-such-user-hinetd: user: unknown user no-such-user-hinetd"},
		{"an unknown group", hosts.Options{User: "root", Group: "no-such-group-hinetd"}, nil, "group no-such-group-hinetd: group: unknown group no-such-group-hinetd"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			base := baseSpec()
			s, err := deriveSpec(base, &tt.o, req)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
			if s.Hash == "" || s.Hash == base.Hash {
				t.Errorf("derived spec has hash %q, base %q", s.Hash, base.Hash)
			}
			if !reflect.DeepEqual(base, baseSpec()) {
				t.Errorf("the service's spec changed:\n%+v", base)
			}
			again, _ := deriveSpec(baseSpec(), &tt.o, req)
			if again.Hash != s.Hash {
				t.Errorf("the same options give hashes %q and %q: every connection would start a spawner", s.Hash, again.Hash)
			}
		})
	}
	// A rule cannot switch users for a daemon that runs without root.
	unpriv := baseSpec()
	unpriv.SwitchIDs = false
	if _, err := deriveSpec(unpriv, &hosts.Options{User: "root"}, req); err == nil ||
		err.Error() != "user root: hinetd runs without root and cannot switch users" {
		t.Errorf("user without root: %v", err)
	}
}

// TestCommandSpec: a spawn or twist command runs /bin/sh with the
// service's confinement, without capabilities, and never as root.
func TestCommandSpec(t *testing.T) {
	root := baseSpec()
	root.UID, root.GID, root.Groups = 0, 0, []int{0}
	s := commandSpec(root, "twist", "echo hi")
	if s.Path != "/bin/sh" || !slices.Equal(s.Argv, []string{"sh", "-c", "echo hi"}) || s.KeepCaps != nil ||
		s.UID != nobodyID || s.GID != nobodyID || s.Groups != nil || s.Umask != root.Umask {
		t.Errorf("command of a root service: %+v", s)
	}
	if root.UID != 0 || root.Path != "/bin/cat" {
		t.Errorf("the service's spec changed: %+v", root)
	}
	user := commandSpec(baseSpec(), "spawn", "echo hi")
	if user.UID != 65534 || !slices.Equal(user.Groups, []int{65534}) {
		t.Errorf("command of a nobody service: uid %d groups %v", user.UID, user.Groups)
	}
	if user.Hash == commandSpec(baseSpec(), "spawn", "echo ho").Hash || user.Hash == commandSpec(baseSpec(), "twist", "echo hi").Hash {
		t.Error("different commands share a hash")
	}
}

// TestBuiltinPorts: the well-known built-in ports and those configured
// built-ins listen on; an external service's port is not one.
func TestBuiltinPorts(t *testing.T) {
	ext, in := echoConfig(), echoConfig()
	in.Internal, in.Port = "echo", 7777
	got := builtinPorts([]*service{{cfg: ext}, {cfg: in}})
	want := map[uint16]bool{7: true, 9: true, 13: true, 19: true, 37: true, 7777: true}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("builtinPorts = %v, want %v", got, want)
	}
}

// TestRuleFields: the audit record names the deciding rule, or says that
// none decided.
func TestRuleFields(t *testing.T) {
	dec := hosts.Decision{Verdict: hosts.Denied, File: "/etc/hosts.deny", Line: 7, Text: "ALL: ALL"}
	got := ruleFields(dec)
	want := []audit.Field{str("verdict", "denied"), str(audit.KeyRule, "/etc/hosts.deny:7"), str(audit.KeyRuleText, "ALL: ALL")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ruleFields = %v, want %v", got, want)
	}
	got = ruleFields(hosts.Decision{Verdict: hosts.Granted, Default: true})
	want = []audit.Field{str("verdict", "granted"), str(audit.KeyRule, "none (default grant)")}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ruleFields(default) = %v, want %v", got, want)
	}
}

// TestExpands: a rule whose options have % templates is decided off the
// accept path (they may need lookups); one without is not.
func TestExpands(t *testing.T) {
	for _, tt := range []struct {
		o    *hosts.Options
		want bool
	}{
		{nil, false},
		{&hosts.Options{Keepalive: true, HasUmask: true}, false},
		{&hosts.Options{Spawn: []string{"echo %h"}}, true},
		{&hosts.Options{Twist: "echo %u"}, true},
		{&hosts.Options{Banners: "/etc/banners"}, true},
		{&hosts.Options{Setenv: []string{"A %a"}}, true},
	} {
		if got := expands(tt.o); got != tt.want {
			t.Errorf("expands(%+v) = %v, want %v", tt.o, got, tt.want)
		}
	}
}

// TestWithAuditSection: flags win over the policy's [audit] section; a
// policy that did not load leaves the flags alone.
func TestWithAuditSection(t *testing.T) {
	sec := policy.AuditSection{LogTo: []string{"tcp://h:514"}, Format: "rfc5424", Facility: "local3"}
	pol := &policy.Set{Audit: sec}
	got := withAuditSection(Options{LogFacility: "auth"}, pol)
	if !slices.Equal(got.LogTo, sec.LogTo) || got.LogFormat != "rfc5424" || got.LogFacility != "auth" || !got.Audit.Same(sec) {
		t.Errorf("flags and section: %+v", got)
	}
	got = withAuditSection(Options{LogTo: []string{"file:///x"}}, pol)
	if !slices.Equal(got.LogTo, []string{"file:///x"}) {
		t.Errorf("--log-to given: log to %v", got.LogTo)
	}
	if got := withAuditSection(Options{LogFormat: "rfc3164"}, nil); got.LogFormat != "rfc3164" || got.LogTo != nil {
		t.Errorf("no policy: %+v", got)
	}
}

// TestOptionsString: the start record lists the effective options.
func TestOptionsString(t *testing.T) {
	s := Options{ConfigPath: "/etc/inetd.conf", RatePerMin: 256, Backlog: 1024, IPv6Prefix: 64}.String()
	for _, want := range []string{"config=/etc/inetd.conf", "R=256", "q=1024", "ipv6-prefix=64", "log-format=auto", "log-facility=daemon"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
}

// TestSockaddrToAddrPort: an IPv4-mapped client is one IPv4 client to the
// limits, the ACL and the log.
func TestSockaddrToAddrPort(t *testing.T) {
	mapped := &unix.SockaddrInet6{Port: 4000}
	copy(mapped.Addr[:], netip.MustParseAddr("::ffff:10.1.2.3").AsSlice())
	v6 := &unix.SockaddrInet6{Port: 4001}
	copy(v6.Addr[:], netip.MustParseAddr("2001:db8::1").AsSlice())
	for _, tt := range []struct {
		sa   unix.Sockaddr
		want string
	}{
		{&unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 8}, Port: 79}, "127.0.0.8:79"},
		{mapped, "10.1.2.3:4000"},
		{v6, "[2001:db8::1]:4001"},
		{&unix.SockaddrUnix{Name: "/run/x"}, "invalid AddrPort"},
	} {
		if got := sockaddrToAddrPort(tt.sa).String(); got != tt.want {
			t.Errorf("sockaddrToAddrPort(%+v) = %s, want %s", tt.sa, got, tt.want)
		}
	}
}

// TestServiceAddr: records about a service name the address it is bound to.
func TestServiceAddr(t *testing.T) {
	c := echoConfig()
	if got := serviceAddr(&service{cfg: c}).String(); got != "127.0.0.1:7007" || bindName(c) != "127.0.0.1:7007" {
		t.Errorf("inet: %s, bindName %s", got, bindName(c))
	}
	c.Family, c.Path, c.BindAddr, c.Port = config.FamilyUnix, "/run/e.sock", netip.Addr{}, 0
	if got := serviceAddr(&service{cfg: c}); got.IsValid() || bindName(c) != "/run/e.sock" {
		t.Errorf("unix: %s, bindName %s", got, bindName(c))
	}
}
