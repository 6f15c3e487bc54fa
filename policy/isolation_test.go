package policy

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestIsolationSetting: each isolation key, good and bad values, with the
// exact message.
func TestIsolationSetting(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		line    string
		wantErr string
		check   func(IsolationProfile) bool
	}{
		// The values systemd's settings take.
		{line: "protect-system full", check: func(ip IsolationProfile) bool { return ip.ProtectSystem.Value == "full" }},
		{line: "protect-system yes", wantErr: `bad protect-system value "yes"; expect strict, full, off`},
		{line: "protect-home read-only", check: func(ip IsolationProfile) bool { return ip.ProtectHome.Value == "read-only" }},
		{line: "private-tmp off", check: func(ip IsolationProfile) bool { return ip.PrivateTmp.Set && !ip.PrivateTmp.Value }},
		{line: "private-tmp", wantErr: `"private-tmp" takes one value, got 0`},
		// Paths: absolute, clean, existing unless "-".
		{line: "read-write " + dir + " -/nonexistent-x", check: func(ip IsolationProfile) bool {
			return slices.Equal(ip.ReadWrite.Value, []string{dir, "-/nonexistent-x"})
		}},
		{line: "read-write /nonexistent-x", wantErr: `read-write path "/nonexistent-x" does not exist; write "-/nonexistent-x" if it may be missing`},
		{line: "read-only srv", wantErr: `read-only path "srv" is not absolute`},
		{line: "inaccessible /srv/../etc", wantErr: `inaccessible path "/srv/../etc" is not clean; write "/etc"`},
		{line: "read-write /", wantErr: `read-write path "/": name a directory below /; see protect-system`},
		{line: "read-write", wantErr: `"read-write" needs at least one path`},
		// Address families.
		{line: "address-families AF_UNIX AF_NETLINK", check: func(ip IsolationProfile) bool {
			return slices.Equal(ip.AddressFamilies.Value, []string{"AF_UNIX", "AF_NETLINK"})
		}},
		{line: "address-families any", check: func(ip IsolationProfile) bool { return ip.AddressFamilies.Set && ip.AddressFamilies.Value == nil }},
		{line: "address-families AF_INETT", wantErr: `unknown address family "AF_INETT"; expect AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET … or any`},
		{line: "process-scope maybe", wantErr: `bad process-scope value "maybe"; expect on, off`},
	}
	for _, tt := range tests {
		var ip IsolationProfile
		var errs []string
		f := strings.Fields(tt.line)
		ok := isolationSetting(&ip, f[0], f[1:], Pos{"t.policy", 1}, func() bool { return true },
			func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) })
		if !ok {
			t.Errorf("%q: not an isolation key", tt.line)
			continue
		}
		got := strings.Join(errs, "; ")
		if got != tt.wantErr {
			t.Errorf("%q: error %q, want %q", tt.line, got, tt.wantErr)
		}
		if tt.check != nil && !tt.check(ip) {
			t.Errorf("%q: got %+v", tt.line, ip)
		}
	}
}

// TestIsolationResolve: the zero profile is the default (zero Isolation),
// each opt-out sets exactly its field, and a service's list replaces the
// default section's.
func TestIsolationResolve(t *testing.T) {
	if got := (IsolationProfile{}).resolve(); !isZeroIsolation(got) {
		t.Fatalf("zero profile resolves to %+v", got)
	}
	on := func(v bool) Field[bool] { return Field[bool]{Set: true, Value: v} }
	base := IsolationProfile{ReadWrite: Field[[]string]{Set: true, Value: []string{"/srv"}}, PrivateTmp: on(false)}
	top := IsolationProfile{ReadWrite: Field[[]string]{Set: true, Value: []string{"/var/lib/x"}}, ProcessScope: on(false)}
	got := base.over(top).resolve()
	if !slices.Equal(got.ReadWrite, []string{"/var/lib/x"}) || !got.NoPrivateTmp || !got.NoProcessScope || got.AllowSUIDSGID {
		t.Fatalf("layered: %+v", got)
	}
	if n := len(got.OptOuts()); n != 2 {
		t.Errorf("opt-outs %q, want 2", got.OptOuts())
	}
}

func isZeroIsolation(iso Isolation) bool {
	return iso.ProtectSystem == "" && iso.ProtectHome == "" && iso.ReadWrite == nil && iso.ReadOnly == nil &&
		iso.Inaccessible == nil && !iso.NoPrivateTmp && !iso.NoPrivateDevices && !iso.Terminals &&
		!iso.PrivateNetwork && !iso.AllowSUIDSGID && !iso.NoProcessScope && iso.AddressFamilies == nil &&
		!iso.AnyAddressFamily
}
