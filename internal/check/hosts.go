package check

import (
	"fmt"
	"io"

	"github.com/hinetd/hinetd/hosts"
)

// hostsReport checks hosts.allow and hosts.deny. It returns true on an
// error.
func hostsReport(w io.Writer, o Options, daemons []string) bool {
	if _, err := hosts.LoadFiles(o.HostsAllow, o.HostsDeny); err != nil {
		fmt.Fprintf(w, "error: %v\n", err)
		return true
	}
	return false
}
