// Command load is the benchmark's load generator: N TCP connections at
// concurrency C to one address; each connects, reads until EOF, checks what it
// got and records its latency (dial to EOF). It prints connections/s, p50, p99
// and the error counts, as a line for a person or as JSON for the runner.
//
//	load -addr 127.0.0.1:18000 -n 5000 -c 8 [-expect hello|empty|any] [-spread K] [-json]
//
// Closing: by default the client closes with SO_LINGER 0, so it sends RST
// instead of FIN. The service has already closed its end (FIN_WAIT2 on the
// server side), and the RST ends that socket at once: neither side keeps a
// TIME_WAIT entry. Without this, 5,000 connections a second on loopback leave
// tens of thousands of TIME_WAIT sockets on the server's side, and a new SYN
// that lands on one of them is answered with a stale ACK, reset and retried a
// second later — a one-second outlier that has nothing to do with the server
// under test. -linger0=false restores the ordinary FIN close.
//
// -spread K binds each connection, before connect, to one of K source
// addresses in 127.0.0.0/8 (127.0.0.2 upwards, skipping .0 and .255), with
// IP_BIND_ADDRESS_NO_PORT so the port is still chosen per destination. Flood
// benchmarks use it to look like many clients.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Result is what one run measured; the runner reads it as JSON.
type Result struct {
	Addr       string  `json:"addr"`
	N          int     `json:"n"`
	C          int     `json:"c"`
	Seconds    float64 `json:"seconds"`
	ConnPerSec float64 `json:"conn_per_s"`
	P50us      float64 `json:"p50_us"`
	P99us      float64 `json:"p99_us"`
	OK         int     `json:"ok"`     // connections that got what -expect asks for
	Errors     int     `json:"errors"` // N - OK
	Hello      int     `json:"hello"`  // got exactly "hello\n"
	Empty      int     `json:"empty"`  // EOF or reset before any byte: a refusal
	Reset      int     `json:"reset"`  // of Empty, those ended by RST rather than FIN
	Wrong      int     `json:"wrong"`  // got bytes, but not "hello\n"
	DialErr    int     `json:"dial_err"`
	Timeout    int     `json:"timeout"`
	FirstError string  `json:"first_error,omitempty"`
}

type outcome uint8

const (
	gotHello outcome = iota
	gotEmpty
	gotReset
	gotWrong
	dialFailed
	timedOut
)

const hello = "hello\n"

func main() {
	addr := flag.String("addr", "127.0.0.1:18000", "server host:port")
	n := flag.Int("n", 5000, "number of connections")
	c := flag.Int("c", 8, "concurrency: connections in flight at once")
	expect := flag.String("expect", "hello", `what counts as success: "hello" (exactly hello\n), "empty" (closed or reset before any byte: a refusal), "any" (either)`)
	spread := flag.Int("spread", 0, "spread client source addresses over this many 127.x.y.z addresses (0: let the kernel choose)")
	linger0 := flag.Bool("linger0", true, "close with SO_LINGER 0 (RST), so no TIME_WAIT builds up on loopback")
	timeout := flag.Duration("timeout", 5*time.Second, "per-connection deadline, dial to EOF")
	asJSON := flag.Bool("json", false, "print the result as one JSON object")
	flag.Parse()
	if *n < 1 || *c < 1 || *spread < 0 || *spread > 1<<23 {
		fmt.Fprintln(os.Stderr, "load: -n and -c must be positive, -spread in [0, 8388608]")
		os.Exit(2)
	}
	ok, err := successTest(*expect)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}

	r := run(*addr, *n, *c, *spread, *linger0, *expect == "empty", *timeout, ok)
	if *asJSON {
		b, _ := json.Marshal(r)
		fmt.Println(string(b))
	} else {
		fmt.Printf("%s n=%d c=%d: %.0f conn/s p50 %.0fµs p99 %.0fµs errors %d (hello %d empty %d reset %d wrong %d dial %d timeout %d)\n",
			r.Addr, r.N, r.C, r.ConnPerSec, r.P50us, r.P99us, r.Errors, r.Hello, r.Empty, r.Reset, r.Wrong, r.DialErr, r.Timeout)
		if r.FirstError != "" {
			fmt.Println("first error:", r.FirstError)
		}
	}
	if r.Errors > 0 {
		os.Exit(1)
	}
}

func successTest(expect string) (func(outcome) bool, error) {
	switch expect {
	case "hello":
		return func(o outcome) bool { return o == gotHello }, nil
	case "empty":
		return func(o outcome) bool { return o == gotEmpty || o == gotReset }, nil
	case "any":
		return func(o outcome) bool { return o == gotHello || o == gotEmpty || o == gotReset }, nil
	}
	return nil, fmt.Errorf("-expect %q: want hello, empty or any", expect)
}

// sourceAddrs - the first k spread source addresses: 127.0.0.2 upwards in
// 127/8, skipping host parts that end in .0 or .255 so that no address looks
// like a network or broadcast address to a rule or a tool.
func sourceAddrs(k int) []*net.TCPAddr {
	out := make([]*net.TCPAddr, 0, k)
	for v := uint32(2); len(out) < k && v < 1<<24; v++ {
		if b := v & 0xff; b == 0 || b == 0xff {
			continue
		}
		out = append(out, &net.TCPAddr{IP: net.IPv4(127, byte(v>>16), byte(v>>8), byte(v))})
	}
	return out
}

// run - n connections, c at a time. stopEarly: the first byte already
// decides (a refusal sends none), so do not wait for an EOF that a service
// which should never have run might not send.
func run(addr string, n, c, spread int, linger0, stopEarly bool, timeout time.Duration, ok func(outcome) bool) Result {
	srcs := sourceAddrs(spread)
	lat := make([]time.Duration, n)
	outs := make([]outcome, n)
	var next atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < c && w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var src *net.TCPAddr
				if len(srcs) > 0 {
					src = srcs[i%len(srcs)]
				}
				t0 := time.Now()
				o, err := one(addr, src, linger0, timeout, stopEarly)
				lat[i] = time.Since(t0)
				outs[i] = o
				if err != nil && !ok(o) {
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	r := Result{Addr: addr, N: n, C: c, Seconds: elapsed.Seconds(), ConnPerSec: float64(n) / elapsed.Seconds()}
	for _, o := range outs {
		if ok(o) {
			r.OK++
		}
		switch o {
		case gotHello:
			r.Hello++
		case gotEmpty:
			r.Empty++
		case gotReset:
			r.Empty++
			r.Reset++
		case gotWrong:
			r.Wrong++
		case dialFailed:
			r.DialErr++
		case timedOut:
			r.Timeout++
		}
	}
	r.Errors = n - r.OK
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	r.P50us = float64(percentile(lat, 50)) / float64(time.Microsecond)
	r.P99us = float64(percentile(lat, 99)) / float64(time.Microsecond)
	if s, _ := firstErr.Load().(string); s != "" {
		r.FirstError = s
	}
	return r
}

// percentile - nearest-rank percentile p (0 < p <= 100) of sorted durations.
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}

// one connection: dial (from src if set), read to EOF, classify.
func one(addr string, src *net.TCPAddr, linger0 bool, timeout time.Duration, stopEarly bool) (outcome, error) {
	d := net.Dialer{Timeout: timeout}
	if src != nil {
		d.LocalAddr = src
		// Without IP_BIND_ADDRESS_NO_PORT, bind picks the port before the
		// destination is known and 127/8 x 28k ports runs out per address.
		d.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
			})
			return errors.Join(err, serr)
		}
	}
	deadline := time.Now().Add(timeout)
	conn, err := d.Dial("tcp4", addr)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return timedOut, err
		}
		return dialFailed, err
	}
	tc := conn.(*net.TCPConn)
	defer func() {
		if linger0 {
			_ = tc.SetLinger(0)
		}
		_ = tc.Close()
	}()
	_ = tc.SetDeadline(deadline)
	var buf [64]byte
	got := 0
	for got < len(buf) {
		m, rerr := tc.Read(buf[got:])
		got += m
		if got > 0 && stopEarly {
			break
		}
		if rerr == nil {
			continue
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		var ne net.Error
		if errors.As(rerr, &ne) && ne.Timeout() {
			return timedOut, rerr
		}
		if got == 0 && errors.Is(rerr, syscall.ECONNRESET) {
			return gotReset, rerr
		}
		return gotWrong, fmt.Errorf("after %d bytes %q: %w", got, buf[:got], rerr)
	}
	switch {
	case got == 0:
		return gotEmpty, errors.New("closed before any byte")
	case string(buf[:got]) == hello:
		return gotHello, nil
	}
	return gotWrong, fmt.Errorf("got %q, want %q", buf[:got], hello)
}
