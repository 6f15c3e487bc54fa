package check

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/acl"
)

// hostsReport checks hosts.allow and hosts.deny as tcpdchk(8) does, and
// more: syntax, shadowed rules, patterns that never match, daemons that
// inetd.conf does not run, names that do not resolve, no default deny.
// It returns true on an error.
func hostsReport(w io.Writer, o Options, daemons []string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	failed := false
	for _, f := range hosts.Check(o.HostsAllow, o.HostsDeny, hosts.CheckOptions{
		Daemons:  daemons,
		Resolver: acl.NewResolver(acl.ResolverOptions{}),
		Context:  ctx,
		Verbose:  o.Verbose,
	}) {
		fmt.Fprintln(w, f)
		failed = failed || f.Severity == hosts.Error
	}
	return failed
}
