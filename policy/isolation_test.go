package policy

import (
	"slices"
	"testing"
)

// TestIsolationSettings: each isolation key, good and bad values, with the
// exact message, and what it makes of the Spec.
func TestIsolationSettings(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		line    string
		wantErr string
		check   func(Isolation) bool
	}{
		// The values systemd's settings take.
		{line: "protect-system full", check: func(i Isolation) bool { return i.ProtectSystem == "full" }},
		{line: "protect-system strict", check: func(i Isolation) bool { return i.ProtectSystem == "" }},
		{line: "protect-system yes", wantErr: `p:2: bad protect-system value "yes"; expect strict, full, off`},
		{line: "protect-home read-only", check: func(i Isolation) bool { return i.ProtectHome == "read-only" }},
		{line: "private-tmp off", check: func(i Isolation) bool { return i.NoPrivateTmp }},
		{line: "private-tmp", wantErr: `p:2: "private-tmp" takes one value, got 0`},
		// Paths: absolute, clean, existing unless "-".
		{line: "read-write " + dir + " -/nonexistent-x", check: func(i Isolation) bool {
			return slices.Equal(i.ReadWrite, []string{dir, "-/nonexistent-x"})
		}},
		{line: "read-write /nonexistent-x", wantErr: `p:2: read-write path "/nonexistent-x" does not exist; write "-/nonexistent-x" if it may be missing`},
		{line: "read-only srv", wantErr: `p:2: read-only path "srv" is not absolute`},
		{line: "inaccessible /srv/../etc", wantErr: `p:2: inaccessible path "/srv/../etc" is not clean; write "/etc"`},
		{line: "read-write /", wantErr: `p:2: read-write path "/": name a directory below /; see protect-system`},
		{line: "read-write", wantErr: `p:2: "read-write" needs at least one path`},
		// Address families.
		{line: "address-families AF_UNIX AF_NETLINK", check: func(i Isolation) bool {
			_, fams := i.Restrictions()
			return slices.Equal(i.AddressFamilies, []string{"AF_UNIX", "AF_NETLINK"}) && slices.Equal(fams, []int{1, 16})
		}},
		{line: "address-families any", check: func(i Isolation) bool {
			_, fams := i.Restrictions()
			return i.AnyAddressFamily && fams == nil
		}},
		{line: "address-families AF_INETT", wantErr: `p:2: unknown address family "AF_INETT"; expect AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET … or any`},
		{line: "process-scope maybe", wantErr: `p:2: bad process-scope value "maybe"; expect on or off`},
		{line: "restrict-suid-sgid off", check: func(i Isolation) bool {
			suid, _ := i.Restrictions()
			return i.AllowSUIDSGID && !suid
		}},
	}
	for _, tt := range tests {
		s, err := Parse("p", []byte("[service x]\n"+tt.line+"\n"))
		got := ""
		if err != nil {
			got = err.Error()
		}
		if got != tt.wantErr {
			t.Errorf("%q: error %q, want %q", tt.line, got, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		sp, _, err := s.CompileWith(Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts)
		if err != nil {
			t.Errorf("%q: %v", tt.line, err)
			continue
		}
		if tt.check != nil && !tt.check(sp.Isolation) {
			t.Errorf("%q: got %+v", tt.line, sp.Isolation)
		}
	}
}

// TestIsolationDefault: no policy is the zero Isolation (everything on),
// with the setuid restriction and the default families in the filter's
// restrictions; a service's list replaces the default section's, and the
// opt-outs are listed.
func TestIsolationDefault(t *testing.T) {
	sp := compileDefault(t)
	if !isZeroIsolation(sp.Isolation) {
		t.Fatalf("default isolation %+v", sp.Isolation)
	}
	if suid, fams := sp.Isolation.Restrictions(); !suid || !slices.Equal(fams, []int{1, 2, 10}) {
		t.Errorf("default restrictions %v %v", suid, fams)
	}
	dir := t.TempDir()
	s := mustParse(t, "[default]\nread-write /srv\nprivate-tmp off\n[service x]\nread-write "+dir+"\nprocess-scope off\n")
	sp, _, err := s.CompileWith(Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts)
	if err != nil {
		t.Fatal(err)
	}
	got := sp.Isolation
	if !slices.Equal(got.ReadWrite, []string{dir}) || !got.NoPrivateTmp || !got.NoProcessScope || got.AllowSUIDSGID {
		t.Fatalf("layered: %+v", got)
	}
	if n := len(got.OptOuts()); n != 2 {
		t.Errorf("opt-outs %q, want 2", got.OptOuts())
	}
	// no-new-privs off needs process-scope off.
	s = mustParse(t, "[service x]\nseccomp off\nno-new-privs off\n")
	_, _, err = s.CompileWith(Service{Name: "x", User: "root", Program: "/bin/true"}, testOpts)
	want := "p:3: service x: no-new-privs off needs process-scope off: a landlock domain can only be entered with no_new_privs (landlock(7))"
	if err == nil || err.Error() != want {
		t.Errorf("no-new-privs off: %v, want %s", err, want)
	}
}

func isZeroIsolation(iso Isolation) bool {
	return iso.ProtectSystem == "" && iso.ProtectHome == "" && iso.ReadWrite == nil && iso.ReadOnly == nil &&
		iso.Inaccessible == nil && !iso.NoPrivateTmp && !iso.NoPrivateDevices && !iso.Terminals &&
		!iso.PrivateNetwork && !iso.AllowSUIDSGID && !iso.NoProcessScope && iso.AddressFamilies == nil &&
		!iso.AnyAddressFamily
}
