package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/acl"
)

const usage = `usage: hinetd-match [-d] [--hosts-allow F] [--hosts-deny F] [--hosts-file F] daemon[@server] [user@]client

Predicts the decision for a request, as tcpdmatch(8) does: the client's
name and address, the server, the rule that decides (file:line and text),
its options, and "access: granted", "denied" or "delegated" (a twist
option hands the connection to a command).

  client   a host name (one prediction per address), an address (predicted
           as if its name lookup failed), "unknown" or "paranoid"
  server   a host name or address, "unknown" (default) or "paranoid"
  user     the client user name (default "unknown")
`

// run is the whole command; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hinetd-match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	cwd := fs.Bool("d", false, "use hosts.allow and hosts.deny in the current directory")
	allow := fs.String("hosts-allow", "/etc/hosts.allow", "hosts.allow `file`")
	deny := fs.String("hosts-deny", "/etc/hosts.deny", "hosts.deny `file`")
	hostsFile := fs.String("hosts-file", "", "resolve names from this hosts `file` only, instead of the system resolver")
	timeout := fs.Duration("timeout", 10*time.Second, "name lookup `timeout`")
	fs.String("i", "", "accepted for tcpdmatch compatibility and ignored (inetd.conf is not consulted)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	if *cwd {
		*allow, *deny = "hosts.allow", "hosts.deny"
	}
	tb, err := hosts.LoadFiles(*allow, *deny)
	if err != nil {
		fmt.Fprintf(stderr, "hinetd-match: %v\n", err)
		return 1
	}
	var res hosts.Resolver = acl.NewResolver(acl.ResolverOptions{Timeout: *timeout})
	if *hostsFile != "" {
		hf, err := acl.ReadHostsFile(*hostsFile)
		if err != nil {
			fmt.Fprintf(stderr, "hinetd-match: %v\n", err)
			return 1
		}
		res = hf
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4**timeout)
	defer cancel()
	reqs, err := hosts.Query(ctx, fs.Arg(0), fs.Arg(1), res)
	if err != nil {
		fmt.Fprintf(stderr, "hinetd-match: %v\n", err)
		return 1
	}
	for i, q := range reqs {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		q.Resolver = res
		q.Netgroups = acl.SystemNetgroups{}
		d := tb.DecideContext(ctx, q)
		report(stdout, d)
	}
	return 0
}

// report prints one prediction in tcpdmatch's layout, plus the rule.
func report(w io.Writer, d hosts.Decision) {
	q := d.Request
	known := func(n string) bool { return n != "" && n != hosts.Unknown }
	if known(q.ClientName) {
		fmt.Fprintf(w, "client:   hostname %s\n", q.ClientName)
	}
	if q.ClientAddr.IsValid() {
		fmt.Fprintf(w, "client:   address  %s\n", hosts.AddrString(q.ClientAddr))
	}
	if known(q.User) {
		fmt.Fprintf(w, "client:   username %s\n", q.User)
	}
	if known(q.ServerName) {
		fmt.Fprintf(w, "server:   hostname %s\n", q.ServerName)
	}
	if q.ServerAddr.IsValid() {
		fmt.Fprintf(w, "server:   address  %s\n", hosts.AddrString(q.ServerAddr))
	}
	fmt.Fprintf(w, "server:   process  %s\n", q.Daemon)
	access := d.Verdict.String()
	if d.Default {
		fmt.Fprintf(w, "matched:  none (no rule matches: access is granted)\n")
	} else {
		fmt.Fprintf(w, "matched:  %s line %d\n", d.File, d.Line)
		fmt.Fprintf(w, "rule:     %s\n", strings.Join(strings.Fields(d.Text), " "))
		for _, o := range d.Options.List {
			v := o.Value
			switch o.Name {
			case "spawn", "twist", "setenv":
				v = hosts.Expand(v, q)
			}
			fmt.Fprintf(w, "option:   %s\n", strings.TrimSpace(o.Name+" "+v))
		}
		if d.Options.Twist != "" {
			access = "delegated"
		}
	}
	fmt.Fprintf(w, "access:   %s\n", access)
}
