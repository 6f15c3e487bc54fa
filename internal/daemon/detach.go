package daemon

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// readyFDEnv names the descriptor on which the background hinetd says it
// is serving (see detach).
const readyFDEnv = "HINETD_READY_FD"

// readyTimeout bounds how long the start command waits for the daemon.
// Name lookups of inetd.conf addresses and a slow policy compile can take
// a while; a daemon that is neither ready nor dead by then is reported.
const readyTimeout = 60 * time.Second

// detach starts hinetd again in its own session (the classic daemon(3)
// behaviour without forking a multi-threaded Go process) and waits until
// it is serving: listeners bound, pid file written. Until then the
// daemon's stderr is this command's stderr, so what stops it from
// starting (a missing inetd.conf, a policy that does not load, no service
// that could bind) is printed here and the exit status is non-zero; an
// init script or an administrator sees the failure, not a 0 followed by
// silence. The daemon says it is ready by writing one byte on the pipe
// named by readyFDEnv and closing it; a pipe closed without that byte
// means it failed.
func detach() int {
	fail := func(err error) int {
		fmt.Fprintln(os.Stderr, "hinetd:", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		return fail(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fail(err)
	}
	defer null.Close()
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		return fail(err)
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonizedEnv+"=1", readyFDEnv+"=3")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, errW
	cmd.ExtraFiles = []*os.File{readyW} // fd 3
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	readyW.Close()
	errW.Close()
	if err != nil {
		return fail(err)
	}
	copied := make(chan struct{})
	go func() {
		io.Copy(os.Stderr, errR)
		close(copied)
	}()
	got := make(chan bool, 1)
	go func() {
		var b [1]byte
		n, _ := readyR.Read(b[:])
		got <- n == 1
	}()
	select {
	case ok := <-got:
		if ok {
			// The daemon put /dev/null on its stderr when it said
			// ready: wait (briefly) for what it wrote before.
			select {
			case <-copied:
			case <-time.After(500 * time.Millisecond):
			}
			return 0
		}
	case <-time.After(readyTimeout):
		return fail(fmt.Errorf("the daemon (pid %d) is not serving after %v; see the audit log", cmd.Process.Pid, readyTimeout))
	}
	// Failed: its exit status, after everything it printed.
	werr := cmd.Wait()
	<-copied
	var ee *exec.ExitError
	if errors.As(werr, &ee) && ee.ExitCode() > 0 {
		return ee.ExitCode()
	}
	if werr == nil {
		werr = errors.New("exit status 0")
	}
	return fail(fmt.Errorf("the daemon (pid %d) stopped before it was serving: %w", cmd.Process.Pid, werr))
}

// readyFD is the background daemon's end of the readiness pipe, -1 when
// nobody waits (-d, systemd, or once said).
var readyFD = -1

// takeReadyFD takes the readiness descriptor detach passed, close-on-exec
// from now on so that no spawner or server inherits it (the start command
// would wait for their end too).
func takeReadyFD() {
	v := os.Getenv(readyFDEnv)
	os.Unsetenv(readyFDEnv)
	fd, err := strconv.Atoi(v)
	if err != nil || fd < 3 {
		return
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFIFO {
		return
	}
	unix.CloseOnExec(fd)
	readyFD = fd
}

// signalReady tells the start command that the daemon is serving and
// hands stdout and stderr over to /dev/null: from here on the audit log
// is the only voice, as for any daemon(3).
func signalReady() {
	if readyFD < 0 {
		return
	}
	if null, err := unix.Open(os.DevNull, unix.O_RDWR|unix.O_CLOEXEC, 0); err == nil {
		unix.Dup2(null, 1)
		unix.Dup2(null, 2)
		unix.Close(null)
	}
	unix.Write(readyFD, []byte{1})
	unix.Close(readyFD)
	readyFD = -1
}

// startFailed prints why the daemon cannot start on stderr, which is the
// start command's until signalReady (with -d the audit log's stderr sink
// says it already).
func (d *Daemon) startFailed(err error) {
	d.log.Error("cannot start: " + err.Error())
	if !d.opts.Debug {
		fmt.Fprintln(os.Stderr, "hinetd: cannot start:", err)
	}
}
