// Package check is hinetd-check: it reads every file the daemon reads,
// reports every error with file:line, and for each service says what a
// compromised service could do (its exposure) and what looks risky.
package check

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/policy"
)

// Options say which files to check.
type Options struct {
	ConfigPath string
	BindAddr   string
	PolicyPath string
	HostsAllow string
	HostsDeny  string
	Verbose    bool // -v: list every hosts rule with its effective action
}

// Run writes the report to w and returns the exit status: 0 when every
// file loads, 1 when one has an error. Warnings do not change the status.
func Run(o Options, w io.Writer) int {
	status := 0
	snap, errs := config.Parse(o.ConfigPath, config.Options{DefaultAddr: o.BindAddr})
	for _, err := range errs {
		fmt.Fprintf(w, "error: %v\n", err)
		status = 1
	}
	pol, err := policy.Load(o.PolicyPath)
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(w, "error: %s\n", line)
		}
		return 1
	}
	var daemons []string
	if snap != nil {
		for _, c := range snap.Services {
			if exposure(w, c, pol) {
				status = 1
			}
			daemons = append(daemons, daemonName(c))
		}
		for _, name := range pol.ServiceNames() {
			if !hasService(snap, name) {
				fmt.Fprintf(w, "warning: policy for service %q, which inetd.conf does not define\n", name)
			}
		}
	}
	if hostsReport(w, o, daemons) {
		status = 1
	}
	return status
}

// exposure prints one service. It returns true on an error.
func exposure(w io.Writer, c *config.Service, pol *policy.Set) bool {
	where := fmt.Sprintf("%s:%d", c.File, c.Line)
	if c.Internal != "" {
		fmt.Fprintf(w, "service %s (%s) %s: built-in %s, runs inside hinetd\n", c.Name, c.Key(), where, c.Internal)
		for _, warn := range policy.Warnings(c.Internal, c.Protocol, nil) {
			fmt.Fprintf(w, "  warning: %s\n", warn)
		}
		return false
	}
	opts := policy.CompileOptions{}
	if os.Geteuid() != 0 {
		opts = policy.CompileOptions{Unprivileged: true, InvokingUID: os.Geteuid()}
	}
	spec, notes, err := pol.CompileWith(policy.Service{Name: c.Name, User: c.User, Group: c.Group,
		UID: c.UID, GID: c.GID, Program: c.Program, Args: c.Args}, opts)
	if err != nil {
		fmt.Fprintf(w, "error: %s: %v\n", where, err)
		return true
	}
	fmt.Fprintf(w, "service %s (%s) %s: %s\n", c.Name, c.Key(), where, strings.Join(c.Args, " "))
	for _, line := range strings.Split(strings.TrimRight(spec.Exposure().String(), "\n"), "\n") {
		fmt.Fprintf(w, "  %s\n", line)
	}
	for _, n := range notes {
		fmt.Fprintf(w, "  note: %s\n", n)
	}
	for _, warn := range policy.Warnings(c.Name, c.Protocol, spec) {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
	return false
}

func hasService(snap *config.Snapshot, name string) bool {
	for _, c := range snap.Services {
		if c.Name == name {
			return true
		}
	}
	return false
}

// daemonName is the process name hosts.allow rules see (see the daemon).
func daemonName(c *config.Service) string {
	if c.Internal != "" {
		return c.Internal
	}
	if len(c.Args) > 0 {
		a := c.Args[0]
		if i := strings.LastIndexByte(a, '/'); i >= 0 {
			a = a[i+1:]
		}
		return a
	}
	return c.Program
}
