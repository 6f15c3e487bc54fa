// Package sandbox starts services confined: a per-service spawner process,
// written in C and embedded in the hinetd binary, confines itself once as
// the service's policy.Spec says (ids, capabilities, securebits,
// no_new_privs, rlimits, umask, nice, chroot, seccomp), then forks and
// execs a child per connection it is handed. The Go side starts spawners,
// hands them sockets, and turns what they report into Events. The daemon's
// own capability drop is package capdrop; SpawnerCaps and ParentCaps here
// say what it must keep for the spawners.
//
// The spawner is this binary re-executed through /proc/self/exe with
// _HINETD_SPAWNER in its environment; a C constructor (spawner.c) takes
// over before the Go runtime starts, so importing the package is all a
// main needs (no Main hook). A spawner that fails a step exits with status
// 64+n, where StepName(n) names the step.
package sandbox

import (
	"fmt"
	"syscall"
	"time"
)

// EventKind says what happened to one connection's child.
type EventKind int

// The events of one connection are: Started, then Exited or Failed (or
// Lost); or Failed alone when no child could be made.
const (
	// Started: the child process exists (PID set) and is on its way to
	// execve. The spawner does not wait for the execve (that wait made it
	// a serial bottleneck), so a step that fails before it comes as Failed
	// after Started.
	Started EventKind = iota + 1
	// Failed: the service was not exec'd for the connection; Step and Errno
	// say why. The child, if there was one, has been reaped. No Exited
	// follows.
	Failed
	// Exited: a Started child that exec'd the service was reaped; Status,
	// Signal and Duration are set.
	Exited
	// Lost: the spawner went away while this Started child still ran; its
	// exit will never be reported (it was reparented to init).
	Lost
)

func (k EventKind) String() string {
	switch k {
	case Started:
		return "started"
	case Failed:
		return "failed"
	case Exited:
		return "exited"
	case Lost:
		return "lost"
	}
	return "unknown"
}

// Event is one report from a spawner about one connection. The zero value
// is no event.
type Event struct {
	Kind   EventKind
	ConnID uint64
	PID    int
	// Step names the failed step ("setresuid", "execve", "chroot" …), for
	// Failed events.
	Step  string
	Errno syscall.Errno
	// Status is the wait status of an Exited child; Signal is the signal
	// that killed it, or 0.
	Status syscall.WaitStatus
	Signal syscall.Signal
	// Syscall names the system call that a seccomp filter killed the child
	// for (Signal == SIGSYS), read from the kernel's audit record; "" when
	// the record could not be found.
	Syscall  string
	Duration time.Duration
	// Err says why the spawner went away, for Lost events when it was
	// stopped for a report it could not read; nil otherwise.
	Err error
}

// StepError is a confinement or start-up step that failed, as reported by
// the spawner: "spawn telnet: setresuid(1001): operation not permitted".
type StepError struct {
	Service string
	Step    string // step name, as in Event.Step
	Detail  string // the step with its argument, "setresuid(1001)"
	Errno   syscall.Errno
}

func (e *StepError) Error() string {
	return fmt.Sprintf("spawn %s: %s: %s", e.Service, e.Detail, e.Errno.Error())
}

func (e *StepError) Unwrap() error { return e.Errno }
