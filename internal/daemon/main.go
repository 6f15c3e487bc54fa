package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"syscall"

	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/policy"
)

// daemonizedEnv marks the background copy of hinetd started by Main.
const daemonizedEnv = "HINETD_DAEMONIZED"

// Main is cmd/hinetd's body: detach unless -d, set up logging, run.
func Main(ctx context.Context, o Options) int {
	if !o.Debug && os.Getenv(daemonizedEnv) == "" {
		return detach()
	}
	os.Unsetenv(daemonizedEnv)
	log, closeLog, err := newLogger(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hinetd:", err)
		return 1
	}
	defer closeLog()
	return Run(ctx, o, log)
}

// detach starts hinetd again in its own session, with stdio on /dev/null,
// and returns at once: the classic daemon(3) behaviour without forking a
// multi-threaded Go process.
func detach() int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "hinetd:", err)
		return 1
	}
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hinetd:", err)
		return 1
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Env = append(os.Environ(), daemonizedEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, null, null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "hinetd:", err)
		return 1
	}
	return 0
}

// newLogger is the daemon's log: readable text on stderr with -d, syslog
// otherwise.
func newLogger(o Options) (*slog.Logger, func(), error) {
	if o.Debug {
		return slog.New(slog.NewTextHandler(os.Stderr, nil)), func() {}, nil
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil)), func() {}, nil
}

// Check parses every file the daemon would read and prints every error
// with file:line. It returns the exit status: 0 when all is well, 1 if not.
func Check(o Options, w io.Writer) int {
	status := 0
	snap, errs := config.Parse(o.ConfigPath, config.Options{DefaultAddr: o.BindAddr})
	for _, err := range errs {
		fmt.Fprintln(w, err)
		status = 1
	}
	pol, err := policy.Load(o.PolicyPath)
	if err != nil {
		fmt.Fprintln(w, err)
		return 1
	}
	if snap != nil {
		for _, c := range snap.Services {
			if c.Internal != "" {
				continue
			}
			if _, _, err := pol.CompileWith(policyService(c), compileOptions()); err != nil {
				fmt.Fprintf(w, "%s:%d: %v\n", c.File, c.Line, err)
				status = 1
			}
		}
	}
	if err := checkACL(o); err != nil {
		fmt.Fprintln(w, err)
		status = 1
	}
	return status
}
