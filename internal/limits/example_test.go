package limits_test

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hinetd/hinetd/internal/limits"
)

// The daemon's accept path: Admit before the ACL and the spawn, close at
// once on refusal, Release when the child is reaped, log Summaries every
// few seconds, stop watching the listener during a pause.
func Example() {
	l, err := limits.New(limits.Config{MaxChildren: 512})
	if err != nil {
		panic(err)
	}
	// Limits after -c/-C/-R defaults and the policy file are applied.
	echo, err := l.Service("tcp4 127.0.0.1:7007", limits.ServiceLimits{MaxChild: 64, MaxChildPerSource: 2, RatePerMin: 256})
	if err != nil {
		panic(err)
	}
	now := time.Now()
	client := netip.MustParseAddr("127.0.0.9")

	var children []limits.Ticket
	for range 5 {
		ticket, verdict := l.Admit(echo, client, now)
		if verdict.Refused() {
			// close(conn); nothing else.
			if !verdict.Suspended.IsZero() {
				fmt.Println("paused until", verdict.Suspended) // and stop watching the listener
			}
			continue
		}
		children = append(children, ticket) // the reaper calls ticket.Release()
	}
	for _, t := range children {
		t.Release()
	}
	for _, s := range l.Summaries(now.Add(10 * time.Second)) {
		fmt.Println(s)
	}
	// Output:
	// tcp4 127.0.0.1:7007: 3 connections from 127.0.0.9 refused by max-child-per-ip in the last 10 s
}

// An accept loop that runs out of descriptors.
func ExampleBackoff() {
	var b limits.Backoff
	now := time.Now()
	for range 4 {
		wait, first := b.Fail(now) // accept returned EMFILE
		fmt.Println(wait, first)
		now = now.Add(wait)
	}
	fmt.Println(b.Success(now.Add(limits.BackoffQuiet)), "failures in the episode")
	// Output:
	// 10ms true
	// 20ms false
	// 40ms false
	// 80ms false
	// 4 failures in the episode
}
