package limits

import "time"

// Pacing of accept retries while the process is out of descriptors or memory.
const (
	BackoffMin = 10 * time.Millisecond
	BackoffMax = time.Second
)

// Backoff paces an accept loop through EMFILE, ENFILE, ENOMEM and ENOBUFS:
// accept fails without taking the connection off the queue, so retrying at
// once would spin. After each failure the caller stops watching the listener
// for the returned wait, which doubles from BackoffMin up to BackoffMax while
// the failures go on; the episode is logged once when it starts and once when
// it ends. One Backoff per listener, used by one goroutine. The zero value is
// ready: no episode.
type Backoff struct {
	wait     time.Duration
	failures int
}

// Fail records a failed accept. It returns how long to stop watching the
// listener, and whether this failure started an episode (log it).
func (b *Backoff) Fail() (wait time.Duration, first bool) {
	first = b.failures == 0
	b.failures++
	if first {
		b.wait = BackoffMin
	} else {
		b.wait = min(2*b.wait, BackoffMax)
	}
	return b.wait, first
}

// Success records an accept that worked. It returns how many failures the
// episode it ends had, 0 if there was none (log the recovery when > 0).
func (b *Backoff) Success() (failures int) {
	failures = b.failures
	b.failures, b.wait = 0, 0
	return failures
}
