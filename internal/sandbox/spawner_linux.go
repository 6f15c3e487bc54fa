//go:build linux

package sandbox

/*
#cgo CFLAGS: -O2 -Wall
#include "spawner.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/kmsg"
	"github.com/hinetd/hinetd/policy"
)

// ErrClosed is returned by Spawn after Close.
var ErrClosed = errors.New("spawner closed")

// spawnWait bounds how long Spawn waits for room in a full send buffer.
const spawnWait = time.Second

// StepName returns the name of the spawner step numbered n, as used in
// Event.Step and in exit statuses (64+n); "unknown" for a number that
// names no step. Numbers are stable (spawner.h, HS_STEPS).
func StepName(n int) string { return C.GoString(C.hs_step_name(C.int(n))) }

// exitStep maps a spawner's or a child's exit code to the step it names, or
// "" when the code is not one of ours.
func exitStep(code int) string {
	n := code - C.HS_EXIT_BASE
	if n <= 0 || n >= C.HS_STEP_LIMIT || StepName(n) == "unknown" {
		return ""
	}
	return StepName(n)
}

// The limits policy.Validate checks are spawner.h's: policy/zspawner.go is
// generated from it (go generate ./internal/sandbox). These arrays have a
// negative length, and do not compile, if the two ever differ.
var (
	_ [C.HS_SPEC_MAX - policy.MaxSpecBytes]struct{}
	_ [policy.MaxSpecBytes - C.HS_SPEC_MAX]struct{}
	_ [C.HS_MAX_GROUPS - policy.MaxGroups]struct{}
	_ [policy.MaxGroups - C.HS_MAX_GROUPS]struct{}
	_ [C.HS_MAX_RLIMITS - policy.MaxRlimits]struct{}
	_ [policy.MaxRlimits - C.HS_MAX_RLIMITS]struct{}
	_ [C.HS_MAX_FILTER - policy.MaxFilterInstructions]struct{}
	_ [policy.MaxFilterInstructions - C.HS_MAX_FILTER]struct{}
	_ [C.HS_MAX_STRINGS - policy.MaxStrings]struct{}
	_ [policy.MaxStrings - C.HS_MAX_STRINGS]struct{}
)

// Spawner is a running spawner for one service. Its methods are safe for
// concurrent use.
type Spawner struct {
	service string
	spec    *policy.Spec
	proc    *os.Process
	conn    *net.UnixConn
	raw     syscall.RawConn
	onEvent func(Event)

	// childSeccomp is true when the Spec's filter would have stopped the
	// spawner's own loop, so each child installs it before execve.
	childSeccomp bool

	closed    atomic.Bool
	closeOnce sync.Once

	// Spawns sent and not yet acknowledged (Started or Failed), by
	// connID: a spawner that leaves one unanswered for AckTimeout is hung
	// (stopped, or looping) and is killed (issue 11 item 4).
	ackMu    sync.Mutex
	pending  map[uint64]time.Time
	ackTimer *time.Timer
	hung     atomic.Bool

	evMu    sync.Mutex // serialises onEvent calls
	lookups sync.WaitGroup
	lookSem chan struct{}

	done    chan struct{}
	waitErr error
	state   *os.ProcessState // the spawner's, once it has exited
}

// Start starts the spawner for spec and waits until it has confined itself
// (or failed to). onEvent is called for every event, one call at a time,
// from a goroutine of the Spawner; it must not block for long (the spawner
// waits while its reports are not read).
//
// A confinement failure returns a *StepError naming the step and errno
// (spawn telnet: setresuid(1001): operation not permitted); nothing has run.
func Start(spec *policy.Spec, onEvent func(Event)) (*Spawner, error) {
	if spec == nil {
		return nil, errors.New("spawn: nil spec")
	}
	// The one validation of a Spec (policy.Validate), with the spawner's
	// own limits: a Spec built by hand or derived by the daemon is refused
	// here, whole, rather than half applied by the spawner.
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	blob := encodeSpec(spec)
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("spawn %s: socketpair: %w", spec.Service, err)
	}
	parentEnd := os.NewFile(uintptr(fds[0]), "spawner-control")
	childEnd := os.NewFile(uintptr(fds[1]), "spawner-control")
	defer childEnd.Close()
	defer parentEnd.Close()

	// The Spec is queued before the spawner starts: one record, so the
	// send buffer must hold it whole; and it should hold a burst of spawn
	// requests (each costs about 1 KiB of buffer with its descriptor).
	// SO_SNDBUFFORCE passes net.core.wmem_max with CAP_NET_ADMIN.
	if buf := max(2*len(blob), 1<<20); unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, buf) != nil {
		_ = unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, buf)
	}
	if err := unix.Sendmsg(fds[0], blob, nil, nil, unix.MSG_NOSIGNAL); err != nil {
		return nil, fmt.Errorf("spawn %s: sending spec (%d bytes): %w", spec.Service, len(blob), err)
	}

	null, err := os.OpenFile("/dev/null", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("spawn %s: %w", spec.Service, err)
	}
	defer null.Close()
	// /proc/self/exe: the spawner is this very binary (hinetd, or a test
	// binary), entered in C from a constructor before the Go runtime, so
	// no Go code runs in it. Its own session: a terminal's ^C for a
	// foreground hinetd -d must not hit the spawner.
	proc, err := os.StartProcess("/proc/self/exe", []string{"hinetd-spawner: " + spec.Service}, &os.ProcAttr{
		Dir:   "/",
		Env:   []string{C.HS_ENV + "=3"},
		Files: []*os.File{null, null, null, childEnd},
		Sys:   &syscall.SysProcAttr{Setsid: true, Cloneflags: cloneFlags(spec)},
	})
	if err != nil {
		return nil, fmt.Errorf("spawn %s: starting spawner: %w", spec.Service, err)
	}
	childEnd.Close()

	s, err := newSpawner(spec, proc, parentEnd, onEvent)
	if err != nil {
		_ = proc.Kill()
		_, _ = proc.Wait()
		return nil, fmt.Errorf("spawn %s: %w", spec.Service, err)
	}
	if err := s.handshake(); err != nil {
		return nil, err
	}
	go s.read()
	return s, nil
}

// newSpawner wraps a started spawner process and the parent's end of its
// control socket.
func newSpawner(spec *policy.Spec, proc *os.Process, parentEnd *os.File, onEvent func(Event)) (*Spawner, error) {
	fc, err := net.FileConn(parentEnd)
	if err != nil {
		return nil, err
	}
	conn := fc.(*net.UnixConn)
	raw, err := conn.SyscallConn()
	if err != nil {
		conn.Close()
		return nil, err
	}
	return &Spawner{
		service: spec.Service,
		spec:    spec,
		proc:    proc,
		conn:    conn,
		raw:     raw,
		onEvent: onEvent,
		lookSem: make(chan struct{}, 4),
		done:    make(chan struct{}),
	}, nil
}

// handshake reads the spawner's first report: ready, or the step that
// failed. On failure the spawner has exited; it is reaped here.
func (s *Spawner) handshake() error {
	fail := func(err error) error {
		s.conn.Close()
		_ = s.proc.Kill() // only if still running: it is ours, by pid
		_, _ = s.proc.Wait()
		return err
	}
	_ = s.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var first [1]C.struct_hs_msg
	n, err := s.recv(first[:])
	_ = s.conn.SetReadDeadline(time.Time{})
	m := first[0]
	if n == 0 {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		// No report: the spawner died before it could write one. Its
		// exit status may still name the step.
		s.conn.Close()
		if errors.Is(err, os.ErrDeadlineExceeded) {
			_ = s.proc.Kill()
		}
		st, werr := s.proc.Wait()
		if werr == nil {
			ws := st.Sys().(syscall.WaitStatus)
			if ws.Exited() {
				if step := exitStep(ws.ExitStatus()); step != "" {
					return s.stepErr(step, 0)
				}
			}
			return fmt.Errorf("spawn %s: spawner exited before it was ready: %v", s.service, st)
		}
		return fmt.Errorf("spawn %s: spawner: %w", s.service, err)
	}
	switch m.kind {
	case C.HS_MSG_READY:
		s.childSeccomp = m.step != 0
		return nil
	case C.HS_MSG_INIT_FAILED:
		se := s.stepErr(StepName(int(m.step)), syscall.Errno(m.err))
		if int(m.step) == C.HS_STEP_ISOLATE {
			se.Detail = isolateDetail(int(m.status), syscall.Errno(m.err))
		}
		return fail(se)
	}
	return fail(fmt.Errorf("spawn %s: spawner sent message kind %d before ready", s.service, m.kind))
}

func (s *Spawner) stepErr(step string, errno syscall.Errno) *StepError {
	return &StepError{Service: s.service, Step: step, Detail: stepDetail(s.spec, step), Errno: errno}
}

// stepDetail names a step with the argument that matters, for errors.
func stepDetail(spec *policy.Spec, step string) string {
	switch step {
	case "setresuid", "check_uid":
		return fmt.Sprintf("%s(%d)", step, spec.UID)
	case "setresgid", "check_gid":
		return fmt.Sprintf("%s(%d)", step, spec.GID)
	case "setgroups", "check_groups":
		return fmt.Sprintf("%s(%v)", step, spec.Groups)
	case "chroot":
		return fmt.Sprintf("chroot(%s)", spec.Chroot)
	case "chdir":
		dir := spec.Dir
		if dir == "" {
			dir = "/"
		}
		return fmt.Sprintf("chdir(%s)", dir)
	case "execve":
		return fmt.Sprintf("execve(%s)", spec.Path)
	case "setpriority":
		return fmt.Sprintf("setpriority(%d)", spec.Nice)
	}
	return step
}

// recv reads the spawner's queued reports into into, up to its length,
// waiting for the first. Reading them in one go, with read(2) on the raw
// descriptor, costs one wake-up per batch instead of one per report. A
// batch may come with an error (end of file after the last report).
func (s *Spawner) recv(into []C.struct_hs_msg) (int, error) {
	var n int
	var rerr error
	size := int(unsafe.Sizeof(into[0]))
	err := s.raw.Read(func(fd uintptr) bool {
		for n < len(into) {
			r, e := unix.Read(int(fd), unsafe.Slice((*byte)(unsafe.Pointer(&into[n])), size))
			switch {
			case e == unix.EINTR:
				continue
			case e == unix.EAGAIN:
				return n > 0 // nothing yet: wait in the poller
			case e != nil:
				rerr = e
			case r == 0:
				rerr = io.EOF
			case r != size:
				rerr = fmt.Errorf("short message from spawner: %d bytes", r)
			default:
				n++
				continue
			}
			return true
		}
		return true
	})
	if rerr == nil {
		rerr = err
	}
	return n, rerr
}

func (s *Spawner) emit(ev Event) {
	if s.onEvent == nil {
		return
	}
	s.evMu.Lock()
	defer s.evMu.Unlock()
	s.onEvent(ev)
}

// read turns the spawner's reports into events until it exits.
func (s *Spawner) read() {
	live := make(map[uint64]int) // Started, not yet Exited: connID -> pid
	var batch [64]C.struct_hs_msg
	var err, bad error
	for err == nil && bad == nil {
		var n int
		n, err = s.recv(batch[:])
		for _, m := range batch[:n] {
			if bad = s.handle(m, live); bad != nil {
				break
			}
		}
	}
	if bad != nil {
		// A report we cannot read means the two sides no longer agree
		// on the protocol (or the spawner's memory is not what it was):
		// nothing more it says can be trusted. Stop it, as OpenBSD's
		// proc.c calls fatalx on an unknown imsg; the daemon starts a
		// new one for the next connection.
		s.closed.Store(true)
		_ = s.proc.Kill() // ours, by pid, not yet reaped
	}
	s.conn.Close()
	st, werr := s.proc.Wait()
	s.state = st
	s.lookups.Wait()
	// Spawns it never answered: nothing was run for them (a child that
	// was cloned has died with its pid namespace's init, or is counted
	// below if there was none).
	s.ackMu.Lock()
	if s.ackTimer != nil {
		s.ackTimer.Stop()
	}
	unacked := s.pending
	s.pending = nil
	s.ackMu.Unlock()
	step, errno := "spawner_gone", syscall.ECHILD
	if s.hung.Load() {
		step, errno = "ack_timeout", syscall.ETIMEDOUT
	}
	for conn := range unacked {
		if _, ok := live[conn]; !ok {
			s.emit(Event{Kind: Failed, ConnID: conn, Step: step, Errno: errno})
		}
	}
	for conn, pid := range live {
		ev := Event{Kind: Lost, ConnID: conn, PID: pid, Err: bad}
		if !s.spec.Isolation.NoProcessScope {
			// The spawner was the init of the children's pid
			// namespace: the kernel killed them when it died
			// (pid_namespaces(7)), before Wait returned.
			ev.Signal = syscall.SIGKILL
		}
		s.emit(ev)
	}
	switch {
	case bad != nil:
		s.waitErr = fmt.Errorf("spawn %s: %w", s.service, bad)
	case werr != nil:
		s.waitErr = fmt.Errorf("spawn %s: spawner: %w", s.service, werr)
	case !st.Success():
		s.waitErr = fmt.Errorf("spawn %s: spawner ended: %v", s.service, st)
		if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Exited() {
			if step := exitStep(ws.ExitStatus()); step != "" {
				s.waitErr = fmt.Errorf("spawn %s: spawner ended in step %s", s.service, step)
			}
		}
	case err != nil && !errors.Is(err, io.EOF):
		s.waitErr = fmt.Errorf("spawn %s: reading spawner: %w", s.service, err)
	}
	close(s.done)
}

// handle turns one report into an event; live tracks Started children.
// A report of a kind it does not know is an error: the spawner is then
// stopped.
func (s *Spawner) handle(m C.struct_hs_msg, live map[uint64]int) error {
	// The pid a Started report names is the host's (the child reads it);
	// the spawner's own reports name it as its pid namespace sees it.
	pid := int(m.pid)
	if p, ok := live[uint64(m.conn)]; ok {
		pid = p
	}
	switch m.kind {
	case C.HS_MSG_STARTED:
		s.acked(uint64(m.conn))
		live[uint64(m.conn)] = pid
		s.emit(Event{Kind: Started, ConnID: uint64(m.conn), PID: pid})
	case C.HS_MSG_FAILED:
		s.acked(uint64(m.conn))
		delete(live, uint64(m.conn))
		s.emit(Event{Kind: Failed, ConnID: uint64(m.conn), PID: pid,
			Step: StepName(int(m.step)), Errno: syscall.Errno(m.err)})
	case C.HS_MSG_EXITED:
		if m.conn == 0 {
			return nil // an orphan the spawner adopted as init: no connection of ours
		}
		s.acked(uint64(m.conn))
		delete(live, uint64(m.conn))
		ws := syscall.WaitStatus(m.status)
		ev := Event{Kind: Exited, ConnID: uint64(m.conn), PID: pid, Status: ws,
			Duration: time.Duration(m.dur_ns)}
		if ws.Signaled() {
			ev.Signal = ws.Signal()
		}
		if ev.Signal == syscall.SIGSYS {
			s.sigsys(ev)
			return nil
		}
		s.emit(ev)
	default:
		return fmt.Errorf("spawner sent message kind %d, which is not one of ours; stopped it", m.kind)
	}
	return nil
}

// sigsys reports a seccomp kill. Finding the system call means reading the
// kernel's audit record, which kauditd may print a little after the child
// was reaped; that wait happens off the read loop (at most 4 at a time;
// beyond that the event goes out without the name) so that a flood of
// violations cannot stall the spawner's reports.
func (s *Spawner) sigsys(ev Event) {
	select {
	case s.lookSem <- struct{}{}:
	default:
		s.emit(ev)
		return
	}
	s.lookups.Add(1)
	path := s.spec.Path
	go func() {
		defer s.lookups.Done()
		defer func() { <-s.lookSem }()
		ev.Syscall = kmsg.SeccompSyscall(ev.PID, path, 200*time.Millisecond)
		s.emit(ev)
	}()
}

// Spawn hands the connection fd to the spawner, which starts a child for
// it and reports Started, then Exited (or Failed if a step failed before
// execve; Failed without Started if no child could be made). It does not
// wait for the child: it only queues the fd. Only if a few hundred are
// already queued does it wait for room, at most a second (then EAGAIN).
// The caller closes its own copy of fd after Spawn returns.
func (s *Spawner) Spawn(connID uint64, fd int) error {
	if s.closed.Load() {
		return ErrClosed
	}
	var req C.struct_hs_req
	req.kind = C.HS_REQ_SPAWN
	req.conn = C.uint64_t(connID)
	b := unsafe.Slice((*byte)(unsafe.Pointer(&req)), unsafe.Sizeof(req))
	oob := unix.UnixRights(fd)
	s.awaitAck(connID)
	var serr error
	err := s.raw.Write(func(sfd uintptr) bool {
		serr = unix.Sendmsg(int(sfd), b, oob, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		// A full send buffer (a burst of a few hundred connections
		// faster than the spawner forks): wait a little for room,
		// bounded, rather than drop the connection or hang on a
		// spawner that no longer reads.
		deadline := time.Now().Add(spawnWait)
		for serr == unix.EAGAIN && time.Now().Before(deadline) {
			pfd := []unix.PollFd{{Fd: int32(sfd), Events: unix.POLLOUT}}
			if _, perr := unix.Poll(pfd, 10); perr != nil && perr != unix.EINTR {
				break
			}
			serr = unix.Sendmsg(int(sfd), b, oob, nil, unix.MSG_DONTWAIT|unix.MSG_NOSIGNAL)
		}
		return true
	})
	if err == nil {
		err = serr
	}
	if testAfterSend != nil {
		testAfterSend()
	}
	if err != nil {
		s.acked(connID) // not sent: nothing to wait for
		if errors.Is(err, unix.EPIPE) || errors.Is(err, net.ErrClosed) {
			return fmt.Errorf("spawn %s: %w", s.service, ErrClosed)
		}
		return fmt.Errorf("spawn %s: sendmsg: %w", s.service, err)
	}
	return nil
}

// awaitAck records that conn's spawn is about to be sent. Before the send,
// not after: the child's Started can be read before Spawn returns, and an
// acknowledgement that comes first must not leave the spawn pending for
// ever (which would take a healthy spawner for hung).
func (s *Spawner) awaitAck(conn uint64) {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	if s.hung.Load() {
		return
	}
	if s.pending == nil {
		s.pending = map[uint64]time.Time{}
	}
	s.pending[conn] = time.Now()
	if len(s.pending) == 1 {
		if s.ackTimer == nil {
			s.ackTimer = time.AfterFunc(AckTimeout, s.checkAcks)
		} else {
			s.ackTimer.Reset(AckTimeout)
		}
	}
}

// testAfterSend, when set by a test, runs in Spawn right after the send:
// it lets the child's Started be read before Spawn returns.
var testAfterSend func()

// AckTimeout bounds how long a spawner may leave a spawn unanswered (no
// Started from the child, no Failed) before it is taken for hung, killed
// and replaced. Cloning a child takes microseconds; seconds mean a
// stopped or looping spawner.
var AckTimeout = 5 * time.Second

// acked - the spawn of conn was answered.
func (s *Spawner) acked(conn uint64) {
	s.ackMu.Lock()
	delete(s.pending, conn)
	s.ackMu.Unlock()
}

// checkAcks runs when the oldest pending spawn may have timed out: kill
// the spawner if it has, else look again when the oldest will.
func (s *Spawner) checkAcks() {
	s.ackMu.Lock()
	defer s.ackMu.Unlock()
	var oldest time.Time
	for _, t := range s.pending {
		if oldest.IsZero() || t.Before(oldest) {
			oldest = t
		}
	}
	if oldest.IsZero() {
		return
	}
	if wait := AckTimeout - time.Since(oldest); wait > 0 {
		s.ackTimer.Reset(wait)
		return
	}
	// Hung: no more work for it; SIGKILL works on a stopped process too.
	// read() sees it go, reports the unanswered spawns as failed (step
	// ack_timeout) and the daemon starts a new spawner for the next
	// connection.
	s.hung.Store(true)
	s.closed.Store(true)
	_ = s.proc.Kill() // ours, by pid, not yet reaped (read() reaps it)
}

// Hung says whether the spawner was killed for leaving a spawn
// unanswered for AckTimeout.
func (s *Spawner) Hung() bool { return s.hung.Load() }

// cloneFlags - a pid namespace of its own for a spawner whose service has
// the process scope: the spawner is its init, so that its death takes
// every process it started with it (pid_namespaces(7)), and no child can
// signal it (init gets no signal it has no handler for from inside).
func cloneFlags(spec *policy.Spec) uintptr {
	if spec.Isolation.NoProcessScope {
		return 0
	}
	return syscall.CLONE_NEWPID
}

// Close stops the spawner from taking work. It returns at once; the
// spawner exits after its last child has exited (running children are not
// disturbed) and still reports their exits. Wait waits for that.
func (s *Spawner) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		err = s.conn.CloseWrite()
		if errors.Is(err, net.ErrClosed) {
			err = nil
		}
	})
	return err
}

// Wait waits until the spawner has exited and every event has been
// delivered. It returns an error if the spawner ended other than by Close.
func (s *Spawner) Wait() error {
	<-s.done
	return s.waitErr
}

// Done is closed when the spawner has exited and every event has been
// delivered.
func (s *Spawner) Done() <-chan struct{} { return s.done }

// Pid is the spawner's process id.
func (s *Spawner) Pid() int { return s.proc.Pid }

// ChildSeccomp says whether the Spec's filter is installed in each child
// (because it would have stopped the spawner itself) rather than once in
// the spawner. See RequiredSyscalls.
func (s *Spawner) ChildSeccomp() bool { return s.childSeccomp }

// Check reports what Start, or the exec of every child, would refuse in
// spec, without starting anything: policy.Validate (the spawner's limits,
// the size of the encoding, strings execve(2) refuses) and the spawner's
// own parser (hs_parse_spec) run on the encoding. hinetd --check and the
// daemon's load use it, so that a service the spawner cannot run is an
// error with its inetd.conf line, not a spawn-fail at every connection.
func Check(spec *policy.Spec) error {
	if err := spec.Validate(); err != nil {
		return err
	}
	if specBlobCheck(encodeSpec(spec)) < 0 {
		return errors.New("the spawner's parser refuses this service's spec")
	}
	// Fail closed, say why: a kernel without what the isolation needs
	// gets no weaker service, and the error names the key that opts out.
	if err := CheckKernel(spec.Isolation); err != nil {
		return fmt.Errorf("service %s: %w", spec.Service, err)
	}
	return nil
}

// specBlobCheck runs the spawner's own Spec parser, and its evaluation of
// the filter for the spawner's calls, on b in this process: -1 refused,
// 0 accepted, 1 accepted with a filter the spawner can run under. For the
// fuzz tests; the spawner itself parses in its own process.
func specBlobCheck(b []byte) int {
	if len(b) == 0 {
		return int(C.hs_spec_check(nil, 0))
	}
	return int(C.hs_spec_check(unsafe.Pointer(&b[0]), C.size_t(len(b))))
}

// specBlobDump runs the spawner's Spec parser on b in this process and
// returns what it read (hs_spec_dump), or false when it refuses b. For
// FuzzSpecRoundTrip.
func specBlobDump(b []byte) (string, bool) {
	if len(b) == 0 {
		return "", false
	}
	out := make([]byte, 4*len(b)+4096)
	n := C.hs_spec_dump(unsafe.Pointer(&b[0]), C.size_t(len(b)), (*C.char)(unsafe.Pointer(&out[0])), C.size_t(len(out)))
	if n == -2 {
		panic("hs_spec_dump: buffer too small")
	}
	if n < 0 {
		return "", false
	}
	return string(out[:n]), true
}

// neededCall is one entry of the spawner's hs_needed table.
type neededCall struct {
	nr   int64
	args [4]uint64
}

// spawnerNeeds returns hs_needed as compiled into the spawner, for the test
// that compares it with policy.SpawnerCalls.
func spawnerNeeds() []neededCall {
	out := make([]neededCall, int(C.hs_needed_count()))
	for i := range out {
		var a [4]C.uint64_t
		out[i].nr = int64(C.hs_needed_nr(C.int(i), &a[0]))
		for j := range a {
			out[i].args[j] = uint64(a[j])
		}
	}
	return out
}
