//go:build !linux

package sandbox

import (
	"errors"

	"github.com/hinetd/hinetd/policy"
)

// errUnsupported: confinement is built on Linux system calls; elsewhere
// nothing is started rather than something unconfined.
var errUnsupported = errors.New("sandbox: confined spawn is only supported on Linux")

// ErrClosed is returned by Spawn after Close.
var ErrClosed = errors.New("spawner closed")

// Spawner is not available on this system.
type Spawner struct{}

// Start always fails here.
func Start(spec *policy.Spec, onEvent func(Event)) (*Spawner, error) { return nil, errUnsupported }

// Check always fails here.
func Check(spec *policy.Spec) error { return errUnsupported }

// Spawn always fails here.
func (s *Spawner) Spawn(connID uint64, fd int) error { return errUnsupported }

// Close does nothing here.
func (s *Spawner) Close() error { return nil }

// Wait returns at once here.
func (s *Spawner) Wait() error { return errUnsupported }

// Done is closed here.
func (s *Spawner) Done() <-chan struct{} { c := make(chan struct{}); close(c); return c }

// StepName names nothing here.
func StepName(n int) string { return "unknown" }

// ChildSeccomp is false here.
func (s *Spawner) ChildSeccomp() bool { return false }

// Pid is 0 here.
func (s *Spawner) Pid() int { return 0 }
