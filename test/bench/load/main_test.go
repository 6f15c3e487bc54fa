package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 200; i++ {
		d = append(d, time.Duration(i))
	}
	for _, tc := range []struct {
		p    int
		want time.Duration
	}{
		{50, 100}, // nearest rank: ceil(0.5*200) = 100th value
		{99, 198}, // ceil(0.99*200) = 198
		{100, 200},
		{1, 2},
	} {
		if got := percentile(d, tc.p); got != tc.want {
			t.Errorf("percentile(1..200, %d) = %d, want %d", tc.p, got, tc.want)
		}
	}
	if got := percentile([]time.Duration{7}, 99); got != 7 {
		t.Errorf("percentile of one value = %d, want 7", got)
	}
	if got := percentile(nil, 50); got != 0 {
		t.Errorf("percentile of nothing = %d, want 0", got)
	}
}

func TestSourceAddrs(t *testing.T) {
	a := sourceAddrs(600)
	if len(a) != 600 {
		t.Fatalf("got %d addresses, want 600", len(a))
	}
	seen := map[string]bool{}
	for _, s := range a {
		ip := s.IP.To4()
		if ip[0] != 127 || ip[3] == 0 || ip[3] == 255 || (ip[1] == 0 && ip[2] == 0 && ip[3] < 2) {
			t.Errorf("bad source address %v", ip)
		}
		if seen[ip.String()] {
			t.Errorf("duplicate source address %v", ip)
		}
		seen[ip.String()] = true
	}
	if got := a[0].IP.String(); got != "127.0.0.2" {
		t.Errorf("first address %s, want 127.0.0.2", got)
	}
	if got := a[253].IP.String(); got != "127.0.1.1" { // .255 and 1.0 skipped
		t.Errorf("254th address %s, want 127.0.1.1", got)
	}
}
