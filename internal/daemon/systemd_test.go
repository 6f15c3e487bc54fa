package daemon

import "testing"

// TestAlive: the watchdog pings only while every open listener's loop
// runs; a loop that returned on a listener still open (a dead accept
// loop) stops the pings, a closed listener's loop does not count.
func TestAlive(t *testing.T) {
	open := func(stopped bool) *listener {
		l := &listener{done: make(chan struct{})}
		l.stopped.Store(stopped)
		return l
	}
	closed := open(true)
	close(closed.done)
	for _, tc := range []struct {
		name string
		ls   []*listener
		want bool
	}{
		{"no listeners", nil, true},
		{"loops running", []*listener{open(false), open(false)}, true},
		{"a closed listener's loop ended", []*listener{open(false), closed}, true},
		{"an open listener's loop ended", []*listener{open(false), open(true)}, false},
	} {
		d := &Daemon{listeners: map[string]*listener{}}
		for i, l := range tc.ls {
			d.listeners[string(rune('a'+i))] = l
		}
		if got := d.alive(); got != tc.want {
			t.Errorf("%s: alive() = %v, want %v", tc.name, got, tc.want)
		}
	}
}
