package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/acl"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/version"
)

const usage = `usage: hinetd-match [-d] [--json] [--exit-zero] [--hosts-allow F] [--hosts-deny F] [--hosts-file F] [-i inetd.conf] daemon[@server] [user@]client

Predicts the decision for a request, as tcpdmatch(8) does: the client's
name and address, the server, the rule that decides (file:line and text),
its options, and "access: granted", "denied" or "delegated" (a twist
option hands the connection to a command).

  client   a host name (one prediction per address), an address (predicted
           as if its name lookup failed), "unknown" or "paranoid"
  server   a host name or address, "unknown" (default) or "paranoid"
  user     the client user name (default "unknown")

Exit status: 0 access granted (to every address of the client), 1 denied
(for one address or more), 3 delegated to a twist command (none denied),
2 a usage error or a file that does not load. --exit-zero exits 0 whatever
the decision, as tcpdmatch does.
`

// Exit statuses; see usage.
const (
	exitGranted   = 0
	exitDenied    = 1
	exitError     = 2
	exitDelegated = 3
)

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
	asJSON := fs.Bool("json", false, "print one JSON document instead of tcpdmatch's layout")
	exitZero := fs.Bool("exit-zero", false, "exit 0 whatever the decision, as tcpdmatch(8)")
	showVersion := fs.Bool("version", false, "print the version and exit")
	inetdConf := fs.String("i", "", "inetd.conf `file`: also say how its wait-mode services of this daemon are protected (their servers accept their own clients)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return exitError
	}
	if *showVersion {
		fmt.Fprintln(stdout, "hinetd-match", version.Version)
		return 0
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return exitError
	}
	if *cwd {
		*allow, *deny = "hosts.allow", "hosts.deny"
	}
	tb, err := hosts.LoadFiles(*allow, *deny)
	if err != nil {
		fmt.Fprintf(stderr, "hinetd-match: %v\n", err)
		return exitError
	}
	var res hosts.Resolver = acl.NewResolver(acl.ResolverOptions{Timeout: *timeout})
	if *hostsFile != "" {
		hf, err := acl.ReadHostsFile(*hostsFile)
		if err != nil {
			fmt.Fprintf(stderr, "hinetd-match: %v\n", err)
			return exitError
		}
		res = hf
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4**timeout)
	defer cancel()
	reqs, err := hosts.Query(ctx, fs.Arg(0), fs.Arg(1), res)
	if err != nil {
		fmt.Fprintf(stderr, "hinetd-match: %v\n", err)
		return exitError
	}
	doc := document{Predictions: []prediction{}}
	status := exitGranted
	for i, q := range reqs {
		q.Resolver = res
		q.Netgroups = acl.SystemNetgroups{}
		d := tb.DecideContext(ctx, q)
		p := predict(d)
		doc.Predictions = append(doc.Predictions, p)
		switch {
		case p.Access == "denied":
			status = exitDenied
		case p.Access == "delegated" && status == exitGranted:
			status = exitDelegated
		}
		if !*asJSON {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			report(stdout, p)
		}
	}
	if *inetdConf != "" {
		ws, err := waitServices(*inetdConf, tb, fs.Arg(0))
		if err != nil {
			fmt.Fprintf(stderr, "hinetd-match: %v\n", err)
			return exitError
		}
		doc.Wait = ws
		if !*asJSON {
			for _, w := range ws {
				if w.Error != "" {
					fmt.Fprintf(stdout, "\nwait-mode service %s (%s:%d): refused by hinetd: %s\n", w.Service, w.File, w.Line, w.Error)
				} else {
					fmt.Fprintf(stdout, "\nwait-mode service %s (%s:%d): %s\n", w.Service, w.File, w.Line, w.Protection)
				}
			}
		}
	}
	doc.Access = [...]string{exitGranted: "granted", exitDenied: "denied", exitDelegated: "delegated"}[status]
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(doc)
	}
	if *exitZero {
		return 0
	}
	return status
}

// document is the --json output: one prediction per client address, and
// the access the exit status stands for (denied if any address is).
type document struct {
	Access      string        `json:"access"`
	Predictions []prediction  `json:"predictions"`
	Wait        []waitService `json:"wait_services,omitempty"` // with -i
}

// waitService is how the hosts rules hold for a wait-mode service of the
// daemon: its server accepts (or reads) its own clients, so hinetd
// enforces them with a socket filter, or refuses the service.
type waitService struct {
	Service    string `json:"service"`
	File       string `json:"file"`
	Line       int    `json:"line"`
	Protection string `json:"protection,omitempty"`
	Error      string `json:"error,omitempty"`
}

// waitServices reads inetd.conf and says, for each wait-mode service that
// runs daemon (daemon[@server]: the name part), what acl.WaitService
// says: the same words as the daemon's log and hinetd-check.
func waitServices(path string, tb *hosts.Table, daemon string) ([]waitService, error) {
	snap, errs := config.Parse(path, config.Options{})
	if snap == nil {
		return nil, errors.Join(errs...)
	}
	name, _, _ := strings.Cut(daemon, "@")
	var out []waitService
	for _, c := range snap.Services {
		if !c.Wait || c.Internal != "" || c.DaemonName() != name {
			continue
		}
		_, how, err := acl.WaitService(tb, name, netip.AddrPortFrom(c.BindAddr, c.Port), c.SocketType == config.Dgram, c.Family == config.FamilyUnix)
		w := waitService{Service: c.Name, File: c.File, Line: c.Line, Protection: how}
		if err != nil {
			w.Error = err.Error()
		}
		out = append(out, w)
	}
	return out, nil
}

// prediction is one decision as hinetd-match shows it. Names that were
// not known are left out; Rule is nil when no rule matched.
type prediction struct {
	Client struct {
		Hostname string `json:"hostname,omitempty"`
		Address  string `json:"address,omitempty"`
		Username string `json:"username,omitempty"`
	} `json:"client"`
	Server struct {
		Hostname string `json:"hostname,omitempty"`
		Address  string `json:"address,omitempty"`
		Process  string `json:"process"`
	} `json:"server"`
	Rule    *rule  `json:"rule"`
	Access  string `json:"access"` // granted, denied, delegated
	Default bool   `json:"default"`
}

type rule struct {
	File    string   `json:"file"`
	Line    int      `json:"line"`
	Text    string   `json:"text"`
	Options []option `json:"options"`
}

type option struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
}

// predict is d as reported: % templates of spawn, twist and setenv are
// expanded as they would be for the request.
func predict(d hosts.Decision) prediction {
	q := d.Request
	known := func(n string) string {
		if n == hosts.Unknown {
			return ""
		}
		return n
	}
	var p prediction
	p.Client.Hostname, p.Client.Username = known(q.ClientName), known(q.User)
	if q.ClientAddr.IsValid() {
		p.Client.Address = hosts.AddrString(q.ClientAddr)
	}
	p.Server.Hostname, p.Server.Process = known(q.ServerName), q.Daemon
	if q.ServerAddr.IsValid() {
		p.Server.Address = hosts.AddrString(q.ServerAddr)
	}
	p.Access, p.Default = d.Verdict.String(), d.Default
	if d.Default {
		return p
	}
	p.Rule = &rule{File: d.File, Line: d.Line, Text: strings.Join(strings.Fields(d.Text), " "), Options: []option{}}
	for _, o := range d.Options.List {
		v := o.Value
		switch o.Name {
		case "spawn", "twist", "setenv":
			v = hosts.Expand(v, q)
		}
		p.Rule.Options = append(p.Rule.Options, option{Name: o.Name, Value: strings.TrimSpace(v)})
	}
	if d.Options.Twist != "" {
		p.Access = "delegated"
	}
	return p
}

// report prints one prediction in tcpdmatch's layout, plus the rule.
func report(w io.Writer, p prediction) {
	line := func(label, kind, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-9s %-8s %s\n", label+":", kind, v)
		}
	}
	line("client", "hostname", p.Client.Hostname)
	line("client", "address", p.Client.Address)
	line("client", "username", p.Client.Username)
	line("server", "hostname", p.Server.Hostname)
	line("server", "address", p.Server.Address)
	fmt.Fprintf(w, "server:   process  %s\n", p.Server.Process)
	if p.Rule == nil {
		fmt.Fprintf(w, "matched:  none (no rule matches: access is granted)\n")
	} else {
		fmt.Fprintf(w, "matched:  %s line %d\n", p.Rule.File, p.Rule.Line)
		fmt.Fprintf(w, "rule:     %s\n", p.Rule.Text)
		for _, o := range p.Rule.Options {
			fmt.Fprintf(w, "option:   %s\n", strings.TrimSpace(o.Name+" "+o.Value))
		}
	}
	fmt.Fprintf(w, "access:   %s\n", p.Access)
}
