package test

import (
	"fmt"
	"os"
	"testing"
	"time"
)

// TestWatchInPlaceShrink (issue 13, item 2, with the inetd.conf watch): an
// editor that saves in place empties inetd.conf and then writes it again.
// The empty (or shorter) file in between must not become the configuration
// after the watch's 300 ms of quiet: on main before this test every service
// was removed and its listener closed 0.3 s into a 0.6 s gap, as the hosts
// files' empty table once allowed everything. A shorter file takes effect
// once it has stayed unchanged for a second, with a warning.
func TestWatchInPlaceShrink(t *testing.T) {
	needRoot(t)
	var conf string
	var addrs []string
	for i := 0; i < 3; i++ {
		p := freePort(t)
		conf += fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", p)
		addrs = append(addrs, fmt.Sprintf("127.0.0.1:%d", p))
	}
	d := startDaemon(t, conf)
	f, err := os.OpenFile(d.conf, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	// Probe every 20 ms across a 600 ms gap.
	for end := time.Now().Add(600 * time.Millisecond); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		for _, a := range addrs {
			if !answers(a) {
				t.Fatalf("%s stopped answering while inetd.conf was empty for a moment:\n%s", a, d.logText())
			}
		}
	}
	f, err = os.OpenFile(d.conf, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(conf)
	f.Close()
	time.Sleep(1500 * time.Millisecond)
	for _, a := range addrs {
		if !answers(a) {
			t.Fatalf("%s not answering after the save completed", a)
		}
	}
	if n := d.countLog("listener-down"); n != 0 {
		t.Fatalf("%d listeners closed by the in-place save:\n%s", n, d.logText())
	}

	// A shorter file that stays: in force after a second, with a warning.
	d.writeFile("inetd.conf", conf[:len(conf)/3])
	took := waitAnswers(t, addrs[2], false, 5*time.Second)
	t.Logf("a service removed in place stops answering after %v", took)
	if took < 900*time.Millisecond {
		t.Errorf("a shorter inetd.conf took effect after %v, before a second of quiet", took)
	}
	if !answers(addrs[0]) {
		t.Fatal("the service kept in the shorter file stopped answering")
	}
	d.waitLog("warning", time.Second, "inetd.conf", "shorter")
}
