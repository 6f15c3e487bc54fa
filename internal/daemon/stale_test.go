package daemon

import (
	"net/netip"
	"testing"
)

// TestProcAddr: the addresses of /proc/net/udp and udp6 (x86-64: words
// in little-endian order).
func TestProcAddr(t *testing.T) {
	tests := []struct {
		in   string
		want netip.AddrPort
		ok   bool
	}{
		{"0100007F:0045", netip.MustParseAddrPort("127.0.0.1:69"), true},
		{"00000000:0043", netip.MustParseAddrPort("0.0.0.0:67"), true},
		{"00000000000000000000000001000000:1C8A", netip.MustParseAddrPort("[::1]:7306"), true},
		{"0000000000000000FFFF00000100007F:0045", netip.MustParseAddrPort("127.0.0.1:69"), true}, // v4-mapped
		{"0100007F", netip.AddrPort{}, false},
		{"zz00007F:0045", netip.AddrPort{}, false},
	}
	for _, tt := range tests {
		a, p, ok := procAddr(tt.in)
		if ok != tt.ok || (ok && netip.AddrPortFrom(a, p) != tt.want) {
			t.Errorf("procAddr(%q) = %v %d %v, want %v %v", tt.in, a, p, ok, tt.want, tt.ok)
		}
	}
}
