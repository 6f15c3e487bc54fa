package daemon

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hinetd/hinetd/internal/audit"
	"github.com/hinetd/hinetd/internal/kmsg"
	"github.com/hinetd/hinetd/internal/seccomp"
)

// watchSeccomp reports, as records of hinetd's own log, the seccomp
// violations of the services' whole process trees, which the exit record
// of a service's own process cannot show: a grandchild killed by the
// filter (login under telnetd, killed for keyctl, while telnetd exits 0),
// and every call that "seccomp-action log" let through, by name, so that
// writing a policy is a loop a user can follow in one log. The kernel
// writes both only to its audit log (/dev/kmsg when auditd is not
// running). It returns the function that stops the watch.
func (d *Daemon) watchSeccomp() func() {
	stop := make(chan struct{})
	if err := kmsg.Watch(stop, d.onSeccomp); err != nil {
		d.event(audit.KindLog, nil, nil, "seccomp violations of a service's other processes, and those seccomp-action log lets through, are not reported: reading the kernel log: "+err.Error())
	}
	return func() { close(stop) }
}

// onSeccomp reports one seccomp record that belongs to a service's
// process tree; records of other processes are not hinetd's business.
func (d *Daemon) onSeccomp(r kmsg.Seccomp) {
	c, how := d.treeOf(r.PID, r.At)
	if c == nil {
		return
	}
	if r.Action == "kill" && how == "child" {
		return // the child's exit record names the call (sandbox's SIGSYS report)
	}
	fields := []audit.Field{audit.Int(audit.KeyPID, int64(r.PID)), str(audit.KeySyscall, r.Syscall),
		str("comm", r.Comm), str("exe", r.Exe), str("action", r.Action)}
	var msg string
	switch r.Action {
	case "kill":
		msg = fmt.Sprintf("seccomp violation: %s (pid %d, %s), a process of the service, killed for %s", r.Comm, r.PID, r.Exe, r.Syscall)
	case "log":
		msg = fmt.Sprintf("seccomp-action log: %s (pid %d, %s) called %s, which the filter does not allow", r.Comm, r.PID, r.Exe, r.Syscall)
		if cp, ok := seccomp.PrivilegeCalls[r.Syscall]; ok && !keeps(c, cp.Number) {
			// The filter logs these calls when the service lacks
			// the capability (seccomp.Unprivileged): a server that
			// dies at once of an EPERM it may not even print
			// (tftpd-hpa's child, failing setgroups) is explained here.
			msg = fmt.Sprintf("%s (pid %d, %s) called %s without %s: it fails with EPERM", r.Comm, r.PID, r.Exe, r.Syscall, cp.Name)
			fields = append(fields, str("capability", cp.Name))
		}
	default:
		msg = fmt.Sprintf("seccomp %s: %s (pid %d, %s) called %s", r.Action, r.Comm, r.PID, r.Exe, r.Syscall)
	}
	if how == "guessed" {
		// Gone before its parent could be read: the kernel prints its
		// record after the process died, often after its parent reaped it.
		msg += "; it was gone before its parent could be read: the service is the only one whose server started just before it"
		fields = append(fields, str("tree", "guessed"))
	}
	ev := d.record(audit.KindLog, c.svc, c, msg, fields)
	ev.Severity = audit.SevWarning
	d.alog.Emit(ev)
}

// keeps reports whether c's server keeps capability number cp (its rule's
// spec, else its service's).
func keeps(c *conn, cp int) bool {
	sp := c.spec
	if sp == nil && c.svc != nil {
		sp = c.svc.spec
	}
	return sp != nil && slices.Contains(sp.KeepCaps, cp)
}

// ended is a server that exited a moment ago: the kernel prints a seccomp
// record some time after the kill, often after the server has reaped the
// killed process and exited itself (telnetd does, when login dies).
type ended struct {
	c   *conn
	end time.Time
}

// recentEnds is how many ended servers are remembered, for how long.
const (
	recentEnds   = 64
	recentWindow = 2 * time.Second
)

// rememberEnd notes that c's server exited.
func (d *Daemon) rememberEnd(c *conn) {
	d.endsMu.Lock()
	defer d.endsMu.Unlock()
	if len(d.ends) >= recentEnds {
		d.ends = d.ends[1:]
	}
	d.ends = append(d.ends, ended{c, time.Now()})
}

// treeOf - find the connection whose server pid is, or is an ancestor of,
// among the live ones and those that ended within recentWindow before at:
// "child" (pid is the server), "descendant" (found through the parent
// links in /proc), "guessed" (pid is gone; the only connection running at
// at whose server's pid is at most guessPIDGap below it), or nil.
func (d *Daemon) treeOf(pid int, at time.Time) (*conn, string) {
	byPID := map[int]*conn{}
	endOf := map[*conn]time.Time{}
	d.endsMu.Lock()
	for _, e := range d.ends {
		if p := int(e.c.pid.Load()); p > 0 && e.end.After(at.Add(-recentWindow)) {
			byPID[p] = e.c
			endOf[e.c] = e.end
		}
	}
	d.endsMu.Unlock()
	d.conns.each(func(c *conn) {
		if p := int(c.pid.Load()); p > 0 {
			byPID[p] = c
		}
	})
	if len(byPID) == 0 {
		return nil, ""
	}
	if c, ok := byPID[pid]; ok {
		return c, "child"
	}
	p := pid
	for i := 0; i < 64; i++ { // bounded: a tree deeper than this is not a service's
		pp, ok := parentPID(p)
		if !ok {
			break
		}
		if c, ok := byPID[pp]; ok {
			return c, "descendant"
		}
		if pp <= 1 {
			return nil, ""
		}
		p = pp
	}
	if p != pid {
		return nil, "" // an ancestor was found alive and is none of ours
	}
	var best *conn
	bestPID, candidates := 0, 0
	for cp, c := range byPID {
		// It must have been running when the kernel logged the record,
		// and have started the process a moment after itself: pids are
		// handed out in order, and a server forks its helpers (login)
		// at once. Another program's kill, pids later, is not guessed
		// to be the service's: an unattributed record is left out
		// rather than put in the wrong service's log.
		if end, ok := endOf[c]; ok && !at.IsZero() && (at.Before(c.start) || at.After(end.Add(100*time.Millisecond))) {
			continue
		}
		if cp >= pid || pid-cp > guessPIDGap {
			continue
		}
		candidates++
		if cp > bestPID {
			best, bestPID = c, cp
		}
	}
	if best == nil || candidates > 1 {
		return nil, ""
	}
	return best, "guessed"
}

// guessPIDGap bounds how many pids after its server's a process that is
// gone may be and still be guessed to be the server's.
const guessPIDGap = 32

// parentPID reads pid's parent from /proc/PID/stat (a zombie still has
// one).
func parentPID(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, false
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 2 {
		return 0, false
	}
	pp, err := strconv.Atoi(f[1])
	return pp, err == nil
}
