package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"slices"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/sandbox"
)

// spawner starts the children of one service (internal/sandbox).
type spawner interface {
	Spawn(connID uint64, fd int) error
	Close() error
	Done() <-chan struct{} // closed when the spawner process is gone
}

// alive reports whether sp's process still runs. A compromised service runs
// as its spawner's uid and can kill it; the next connection then gets a
// new spawner instead of an error for ever.
func alive(sp spawner) bool {
	select {
	case <-sp.Done():
		return false
	default:
		return true
	}
}

// spawnerFor returns the service's spawner, starting it on first use. The
// spawner is started lazily, so a user deleted after the configuration was
// loaded is caught here, at the connection that needs it, and nothing runs.
func (d *Daemon) spawnerFor(s *service, c *conn) (spawner, error) {
	if c.spec != nil {
		return d.derivedSpawner(s, c)
	}
	st := s.state
	st.spawnMu.Lock()
	defer st.spawnMu.Unlock()
	if st.spawner != nil && st.specKey == s.spec.Hash && alive(st.spawner) {
		return st.spawner, nil
	}
	if st.spawner != nil {
		st.spawner.Close() // old spec: exits after its children
		st.spawner = nil
	}
	if err := userStillValid(s.cfg); err != nil {
		return nil, &stepError{step: "user", err: err}
	}
	sp, err := sandbox.Start(s.spec, d.onSpawnEvent)
	if err != nil {
		return nil, err
	}
	st.spawner, st.specKey = sp, s.spec.Hash
	return sp, nil
}

// stepError is a spawn step that failed in the daemon itself.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// userStillValid checks that the inetd.conf user still has the uid the
// configuration was loaded with: a user deleted (or renumbered) since then
// must not get a child under a stale uid.
func userStillValid(c *config.Service) error {
	if c.User == "" || os.Geteuid() != 0 {
		return nil
	}
	if _, err := strconv.Atoi(c.User); err == nil {
		return nil // numeric uid: nothing to vanish
	}
	u, err := user.Lookup(c.User)
	if err != nil {
		return fmt.Errorf("lookup user %q: %w", c.User, err)
	}
	if u.Uid != strconv.Itoa(c.UID) {
		return fmt.Errorf("user %q is now uid %s, was %d at load", c.User, u.Uid, c.UID)
	}
	return nil
}

// derivedSpawners caches the spawners of specs derived from a service's by
// hosts options (setenv, umask, user, nice), a few at a time.
type derivedSpawners struct {
	order []string
	byKey map[string]spawner
}

const maxDerivedSpawners = 16

// derivedSpawner returns the spawner of c's own spec. A one-shot spec
// (spawn and twist commands) gets a spawner that exits after its child.
func (d *Daemon) derivedSpawner(s *service, c *conn) (spawner, error) {
	if c.oneShot {
		return sandbox.Start(c.spec, d.onSpawnEvent)
	}
	ds := &s.state.derived
	s.state.spawnMu.Lock()
	defer s.state.spawnMu.Unlock()
	if sp, ok := ds.byKey[c.spec.Hash]; ok && alive(sp) {
		return sp, nil
	}
	sp, err := sandbox.Start(c.spec, d.onSpawnEvent)
	if err != nil {
		return nil, err
	}
	if ds.byKey == nil {
		ds.byKey = map[string]spawner{}
	}
	if old, ok := ds.byKey[c.spec.Hash]; ok { // dead: replaced below
		old.Close()
		ds.order = slices.DeleteFunc(ds.order, func(k string) bool { return k == c.spec.Hash })
	}
	if len(ds.order) >= maxDerivedSpawners {
		old := ds.order[0]
		ds.order = ds.order[1:]
		ds.byKey[old].Close() // exits after its children
		delete(ds.byKey, old)
	}
	ds.order = append(ds.order, c.spec.Hash)
	ds.byKey[c.spec.Hash] = sp
	return sp, nil
}

// spawn hands fd (a connection, or for wait services the listening socket)
// to the service's spawner. The caller keeps and closes its own fd.
func (d *Daemon) spawn(s *service, c *conn, fd int) {
	s.state.children.Add(1)
	d.conns.add(c)
	sp, err := d.spawnerFor(s, c)
	if err == nil {
		err = sp.Spawn(c.id, fd)
		if c.oneShot {
			sp.Close()
		}
	}
	if err != nil {
		step := "start"
		var se *sandbox.StepError
		var ue *stepError
		switch {
		case errors.As(err, &se):
			step = se.Step
		case errors.As(err, &ue):
			step = ue.step
		}
		fields := []audit.Field{str(audit.KeyStep, step)}
		if errno := (syscall.Errno)(0); errors.As(err, &errno) {
			fields = append(fields, str(audit.KeyErrno, errnoName(errno)))
		}
		d.event(audit.KindSpawnFail, s, c, err.Error(), fields...)
		d.conns.remove(c.id)
		d.release(c)
		d.childGone(c)
	}
}

// onSpawnEvent receives what the spawners report. It runs on the
// spawner's reader goroutine.
func (d *Daemon) onSpawnEvent(ev sandbox.Event) {
	c := d.conns.get(ev.ConnID)
	if c == nil {
		return
	}
	s := c.svc
	switch ev.Kind {
	case sandbox.Started:
		c.pid.Store(int32(ev.PID))
		spec := c.spec
		if spec == nil {
			spec = s.spec
		}
		d.event(audit.KindSpawn, s, c, "", audit.Int(audit.KeyPID, int64(ev.PID)),
			audit.Int(audit.KeyUID, int64(spec.UID)), audit.Int(audit.KeyGID, int64(spec.GID)),
			str(audit.KeyPolicy, spec.Policy), str(audit.KeyHash, spec.Hash))
	case sandbox.Failed:
		d.conns.remove(c.id)
		d.event(audit.KindSpawnFail, s, c, "nothing was run", str(audit.KeyStep, ev.Step),
			str(audit.KeyErrno, errnoName(ev.Errno)))
		d.release(c)
		d.childGone(c)
	case sandbox.Lost:
		// The spawner died with this child running; its exit will never
		// be reported, so stop counting it rather than leak the slot.
		d.conns.remove(c.id)
		msg := "spawner gone; child exit not observed"
		fields := []audit.Field{audit.Int(audit.KeyPID, int64(ev.PID)), str("lost", "true")}
		if ev.Signal == syscall.SIGKILL {
			// Its spawner was the init of its pid namespace: the
			// kernel killed it with the spawner.
			msg = "spawner gone; child killed with it"
			fields = append(fields, str(audit.KeySignal, "SIGKILL"))
		}
		if ev.Err != nil {
			msg += ": " + ev.Err.Error()
		}
		d.event(audit.KindExit, s, c, msg, fields...)
		d.release(c)
		d.childGone(c)
	case sandbox.Exited:
		d.conns.remove(c.id)
		d.rememberEnd(c)
		fields := []audit.Field{audit.Int(audit.KeyPID, int64(ev.PID)), audit.Dur(audit.KeyDuration, ev.Duration)}
		msg := ""
		switch {
		case ev.Status.Signaled():
			fields = append(fields, str(audit.KeySignal, unix.SignalName(ev.Status.Signal())))
			if ev.Status.Signal() == syscall.SIGSYS {
				msg = "seccomp violation"
				name := ev.Syscall
				if name == "" {
					name = "unknown"
				}
				fields = append(fields, str(audit.KeySyscall, name))
			}
		default:
			fields = append(fields, audit.Int(audit.KeyStatus, int64(ev.Status.ExitStatus())))
		}
		d.event(audit.KindExit, s, c, msg, fields...)
		d.release(c)
		d.childGone(c)
	}
}

// childGone updates the instance count and wakes a wait-service loop.
func (d *Daemon) childGone(c *conn) {
	c.once.Do(func() {
		c.svc.state.childExited()
		if c.done != nil {
			close(c.done)
		}
	})
}

// errnoName is the errno's symbolic name ("EPERM"), as auditors grep for.
func errnoName(e syscall.Errno) string {
	if name := unix.ErrnoName(e); name != "" {
		return name
	}
	return fmt.Sprintf("errno %d", int(e))
}

// closeSpawners tells every spawner of the services ss to stop taking
// work, the service's own and those of the specs derived from it; each
// exits after its last child.
func closeSpawners(ss []*service) {
	for _, s := range ss {
		s.state.spawnMu.Lock()
		if s.state.spawner != nil {
			s.state.spawner.Close()
			s.state.spawner = nil
		}
		s.state.derived.close()
		s.state.spawnMu.Unlock()
	}
}

// close closes every derived spawner and forgets them. The caller holds
// the service's spawnMu.
func (ds *derivedSpawners) close() {
	for _, k := range ds.order {
		ds.byKey[k].Close()
	}
	*ds = derivedSpawners{}
}

// waitStopGrace is how long a wait server has to exit after SIGTERM before
// it is killed.
const waitStopGrace = 3 * time.Second

// stopWait stops the running server of wait service s, if any: SIGTERM to
// its process group (a server such as in.tftpd forks per request), then
// SIGKILL if it is still there after waitStopGrace. It returns a channel
// closed when the server is gone, nil when none ran.
func (d *Daemon) stopWait(s *service, why string) <-chan struct{} {
	if !s.cfg.Wait || s.state == nil {
		return nil
	}
	c := s.state.waitConn.Load()
	if c == nil {
		return nil
	}
	select {
	case <-c.done:
		return nil
	default:
	}
	// The pid comes with the Started report, a moment after the spawn.
	var pid int
	for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		if pid = int(c.pid.Load()); pid > 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-c.done:
			return nil
		default:
		}
	}
	if pid <= 0 {
		return c.done
	}
	signal := func(sig unix.Signal) error {
		// The server is its session's and process group's leader (the
		// spawner's setsid); its own children are in the group too.
		if err := unix.Kill(-pid, sig); err != unix.ESRCH {
			return err
		}
		return unix.Kill(pid, sig)
	}
	err := signal(unix.SIGTERM)
	fields := []audit.Field{audit.Int(audit.KeyPID, int64(pid)), str(audit.KeySignal, "SIGTERM")}
	if err != nil {
		fields = append(fields, str(audit.KeyErrno, err.Error()))
	}
	d.event(audit.KindLog, s, c, "stopping the wait server: "+why, fields...)
	go func() {
		select {
		case <-c.done:
		case <-time.After(waitStopGrace):
			err := signal(unix.SIGKILL)
			fields := []audit.Field{audit.Int(audit.KeyPID, int64(pid)), str(audit.KeySignal, "SIGKILL")}
			if err != nil {
				fields = append(fields, str(audit.KeyErrno, err.Error()))
			}
			d.event(audit.KindLog, s, c, fmt.Sprintf("the wait server did not exit %v after SIGTERM: killed", waitStopGrace), fields...)
		}
	}()
	return c.done
}
