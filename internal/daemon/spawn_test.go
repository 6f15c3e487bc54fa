package daemon

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/testenv"
	"github.com/hinetd/hinetd/policy"
)

// gone reports whether sp's process exits within a few seconds.
func gone(sp spawner) bool {
	select {
	case <-sp.Done():
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

// TestDerivedSpawners: the spawners of specs derived by hosts options are
// cached, at most maxDerivedSpawners a service (the oldest is closed for a
// new one), and closeSpawners closes them with the service's own. Real
// spawners: this test binary links internal/sandbox, whose constructor
// runs the spawner.
func TestDerivedSpawners(t *testing.T) {
	testenv.NeedRoot(t)
	c := &config.Service{Name: "derived", User: "nobody", UID: 65534, GID: 65534, Program: "/bin/true", Args: []string{"true"}}
	base, _, err := c.Compile(&policy.Set{}, &filters)
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{}
	d.conns.m = map[uint64]*conn{}
	s := &service{cfg: c, spec: base, state: newSvcState(nil)}
	req := hosts.Request{Daemon: "true", ClientAddr: netip.MustParseAddr("127.0.0.1")}
	var started []spawner
	derive := func(nice int) *conn {
		spec, err := deriveSpec(base, &hosts.Options{HasNice: true, Nice: nice}, req)
		if err != nil {
			t.Fatal(err)
		}
		return &conn{spec: spec}
	}
	t.Cleanup(func() { closeSpawners([]*service{s}) })
	for nice := 1; nice <= maxDerivedSpawners+1; nice++ {
		sp, err := d.spawnerFor(s, derive(nice))
		if err != nil {
			t.Fatalf("nice %d: %v", nice, err)
		}
		started = append(started, sp)
	}
	// The same options again: the cached spawner, not a new one.
	if sp, err := d.spawnerFor(s, derive(maxDerivedSpawners+1)); err != nil || sp != started[maxDerivedSpawners] {
		t.Errorf("the same derived spec started another spawner (%v)", err)
	}
	if n := len(s.state.derived.order); n != maxDerivedSpawners {
		t.Errorf("%d derived spawners cached, want %d", n, maxDerivedSpawners)
	}
	if !gone(started[0]) {
		t.Error("the oldest derived spawner was not closed when the 17th came")
	}
	for i, sp := range started[1:] {
		if !alive(sp) {
			t.Errorf("derived spawner %d exited while cached", i+1)
		}
	}
	closeSpawners([]*service{s})
	for i, sp := range started {
		if !gone(sp) {
			t.Errorf("derived spawner %d still runs after closeSpawners", i)
		}
	}
	if len(s.state.derived.order) != 0 || len(s.state.derived.byKey) != 0 {
		t.Errorf("closeSpawners left %s cached", fmt.Sprint(s.state.derived.order))
	}
}
