package limits

import "time"

// Pacing of accept retries while the process is out of descriptors or memory.
const (
	BackoffMin = 10 * time.Millisecond
	BackoffMax = time.Second
	// BackoffQuiet ends an episode: the first accept that works this long
	// after the last failure. Near the limit accept fails and works by
	// turns (a built-in's connection briefly takes a second descriptor);
	// that is one episode, logged once, not a record per turn.
	BackoffQuiet = time.Second
)

// Backoff paces an accept loop through EMFILE, ENFILE, ENOMEM and ENOBUFS:
// accept fails without taking the connection off the queue, so retrying at
// once would spin. After each failure the caller stops watching the listener
// for the returned wait, which doubles from BackoffMin up to BackoffMax while
// the failures go on; an accept that works starts the next wait at
// BackoffMin again. The episode is logged once when it starts and once when
// it ends, BackoffQuiet after its last failure. One Backoff per listener,
// used by one goroutine. The zero value is ready: no episode.
type Backoff struct {
	wait     time.Duration
	failures int
	lastFail time.Time
}

// Fail records a failed accept at now. It returns how long to stop
// watching the listener, and whether this failure started an episode (log
// it).
func (b *Backoff) Fail(now time.Time) (wait time.Duration, first bool) {
	first = b.failures == 0
	b.failures++
	b.lastFail = now
	if b.wait == 0 {
		b.wait = BackoffMin
	} else {
		b.wait = min(2*b.wait, BackoffMax)
	}
	return b.wait, first
}

// Success records an accept that worked at now. It returns how many
// failures the episode it ends had, 0 if it ends none (log the recovery
// when > 0): an episode ends at the first success BackoffQuiet or more
// after its last failure.
func (b *Backoff) Success(now time.Time) (failures int) {
	b.wait = 0
	if b.failures == 0 || now.Sub(b.lastFail) < BackoffQuiet {
		return 0
	}
	failures = b.failures
	b.failures = 0
	return failures
}
