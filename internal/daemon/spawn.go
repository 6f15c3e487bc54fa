package daemon

import (
	"errors"
	"fmt"
	"os/user"
	"strconv"
	"syscall"

	"github.com/hinetd/hinetd/internal/sandbox"
)

// spawner starts the children of one service (internal/sandbox).
type spawner interface {
	Spawn(connID uint64, fd int) error
	Close() error
}

// spawnerFor returns the service's spawner, starting it on first use. The
// spawner is started lazily, so a user deleted after the configuration was
// loaded is caught here, at the connection that needs it, and nothing runs.
func (d *Daemon) spawnerFor(s *service) (spawner, error) {
	st := s.state
	st.spawnMu.Lock()
	defer st.spawnMu.Unlock()
	if st.spawner != nil && st.specKey == s.spec.Hash {
		return st.spawner, nil
	}
	if st.spawner != nil {
		st.spawner.Close() // old spec: exits after its children
		st.spawner = nil
	}
	if err := userStillValid(s); err != nil {
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

// userStillValid checks that the configured user still has the uid the
// configuration was loaded with.
func userStillValid(s *service) error {
	if s.cfg.User == "" || !s.spec.SwitchIDs {
		return nil
	}
	u, err := user.Lookup(s.cfg.User)
	if err != nil {
		if _, nerr := strconv.Atoi(s.cfg.User); nerr == nil {
			return nil // numeric uid: nothing to vanish
		}
		return fmt.Errorf("lookup user %q: %w", s.cfg.User, err)
	}
	if u.Uid != strconv.Itoa(s.spec.UID) {
		return fmt.Errorf("user %q is now uid %s, was %d at load", s.cfg.User, u.Uid, s.spec.UID)
	}
	return nil
}

// spawn hands fd (a connection, or for wait services the listening socket)
// to the service's spawner. The caller keeps and closes its own fd.
func (d *Daemon) spawn(s *service, c *conn, fd int) {
	s.state.children.Add(1)
	d.conns.add(c)
	sp, err := d.spawnerFor(s)
	if err == nil {
		err = sp.Spawn(c.id, fd)
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
		d.event(evSpawnFail, s, c, "step", step, "err", err.Error())
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
		d.event(evSpawn, s, c, "pid", ev.PID, "uid", s.spec.UID, "gid", s.spec.GID,
			"policy", s.spec.Policy, "policy_hash", s.spec.Hash)
	case sandbox.Failed:
		d.conns.remove(c.id)
		d.event(evSpawnFail, s, c, "step", ev.Step, "errno", errnoName(ev.Errno))
		d.release(c)
		d.childGone(c)
	case sandbox.Lost:
		// The spawner died with this child running; its exit will never
		// be reported, so stop counting it rather than leak the slot.
		d.conns.remove(c.id)
		d.event(evExit, s, c, "pid", ev.PID, "lost", true, "msg", "spawner gone; child exit not observed")
		d.release(c)
		d.childGone(c)
	case sandbox.Exited:
		d.conns.remove(c.id)
		kv := []any{"pid", ev.PID, "duration", ev.Duration.String()}
		switch {
		case ev.Status.Signaled():
			kv = append(kv, "signal", ev.Status.Signal().String())
			if ev.Status.Signal() == syscall.SIGSYS {
				kv = append(kv, "seccomp_violation", true, "syscall", ev.Syscall)
			}
		default:
			kv = append(kv, "status", ev.Status.ExitStatus())
		}
		d.event(evExit, s, c, kv...)
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

func errnoName(e syscall.Errno) string {
	if e == 0 {
		return ""
	}
	return fmt.Sprintf("%s (%d)", e.Error(), int(e))
}

// closeSpawners tells every spawner to stop taking work; each exits after
// its last child.
func closeSpawners(ss []*service) {
	for _, s := range ss {
		s.state.spawnMu.Lock()
		if s.state.spawner != nil {
			s.state.spawner.Close()
			s.state.spawner = nil
		}
		s.state.spawnMu.Unlock()
	}
}
