package test

import (
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestReloadBadConfigKeepsServices (issue 13, item 2): SIGHUP with
// inetd.conf replaced by garbage, missing, or cut mid-line (no final
// newline) applies nothing: every service keeps running, a client
// connecting during and after is served, every error is logged with
// file:line, and one summary says the reload was refused. A good file
// then applies as usual.
func TestReloadBadConfigKeepsServices(t *testing.T) {
	needRoot(t)
	ports := []int{freePort(t), freePort(t), freePort(t)}
	var conf string
	for _, p := range ports {
		conf += fmt.Sprintf("127.0.0.1:%d stream tcp nowait root internal echo\n", p)
	}
	d := startDaemon(t, conf)
	serves := func(p int) bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second)
		if err != nil {
			return false
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("x"))
		b := make([]byte, 1)
		n, _ := c.Read(b)
		return n == 1
	}
	// A client of the last service connects all along.
	var stop atomic.Bool
	var served, failed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 100000 && !stop.Load(); i++ {
			if serves(ports[2]) {
				served.Add(1)
			} else {
				failed.Add(1)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	lines := strings.SplitAfter(conf, "\n")
	for i, bad := range []struct {
		name, text string // text "" removes the file
		wantErr    string
		errors     int
	}{
		{"garbage", "this is not\nan inetd.conf\n", d.conf + ":1:", 2},
		{"missing", "", d.conf + ": no such file or directory", 1},
		// Line 2 is cut in its protocol field: too short, and unterminated.
		{"cut mid-line", lines[0] + lines[1][:25], d.conf + ":2: last line has no newline", 2},
	} {
		if bad.text == "" {
			os.Remove(d.conf)
		} else {
			os.WriteFile(d.conf, []byte(bad.text), 0o644)
		}
		d.reload(i + 1)
		d.waitLog("event=config-error", time.Second, bad.wantErr)
		for _, p := range ports {
			if !serves(p) {
				t.Fatalf("%s: the service on port %d is gone after the reload", bad.name, p)
			}
		}
		if n := d.countLog("event=listener-down"); n != 0 {
			t.Fatalf("%s: %d listeners closed", bad.name, n)
		}
		d.waitLog("event=reload", time.Second, fmt.Sprintf("reload refused: %d errors; running configuration kept", bad.errors))
	}
	if n := failed.Load(); n != 0 {
		t.Fatalf("%d of %d connections failed during the bad reloads", n, n+served.Load())
	}
	// A good file applies: the third service goes.
	os.WriteFile(d.conf, []byte(lines[0]+lines[1]), 0o644)
	d.reload(4)
	d.waitLog("event=reload", time.Second, "removed=1")
	stop.Store(true)
	wg.Wait()
	if served.Load() == 0 {
		t.Fatal("the client was never served")
	}
	if serves(ports[2]) || !serves(ports[0]) {
		t.Fatal("the good reload did not apply")
	}
	t.Logf("client during the bad reloads and after: %d served", served.Load())
}
