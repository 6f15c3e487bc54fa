// Package check is hinetd-check: it reads every file the daemon reads,
// reports every error with file:line, and for each service says what a
// compromised service could do (its exposure) and what looks risky. The
// same Report is printed as text or, for scripts, as one JSON document.
package check

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/acl"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/sandbox"
	"github.com/hinetd/hinetd/internal/seccomp"
	"github.com/hinetd/hinetd/policy"
)

// Options say which files to check. The zero value checks nothing useful:
// the command fills in the daemon's defaults.
type Options struct {
	ConfigPath string
	BindAddr   string
	PolicyPath string
	HostsAllow string
	HostsDeny  string
	// Verbose (-v) lists every hosts rule with its effective action and
	// the daemon names in hosts rules that inetd.conf does not run.
	Verbose bool
	JSON    bool // --json: one JSON document instead of text
}

// Report is everything hinetd-check found. Its JSON form is the --json
// output: field names are stable, numbers are numbers.
type Report struct {
	Services []Service `json:"services"`
	Findings []Finding `json:"findings"` // errors, warnings and info, in file order
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
}

// Service is one inetd.conf entry and what a compromised server could do.
type Service struct {
	Name     string    `json:"name"`
	Listener string    `json:"listener"` // config.Service.Key: "tcp 127.0.0.1:7100"
	File     string    `json:"file"`
	Line     int       `json:"line"`
	Builtin  string    `json:"builtin,omitempty"` // runs inside hinetd
	Daemon   string    `json:"daemon"`            // the name hosts rules see
	Argv     []string  `json:"argv,omitempty"`
	Program  string    `json:"program,omitempty"`  // the server run; checked to exist
	Wrapper  string    `json:"wrapper,omitempty"`  // tcpd, which inetd.conf named and hinetd does not run
	Exposure *Exposure `json:"exposure,omitempty"` // nil for a built-in or a service whose policy fails
	// Protection says how the hosts rules are enforced for a wait-mode
	// service, whose server gets the socket (acl.WaitService).
	Protection string   `json:"protection,omitempty"`
	Notes      []string `json:"notes,omitempty"`
	Warnings   []string `json:"warnings,omitempty"`
}

// Exposure is policy.Exposure with JSON names.
type Exposure struct {
	Policy              string   `json:"policy"`
	User                string   `json:"user,omitempty"`
	UID                 int      `json:"uid"`
	GID                 int      `json:"gid"`
	Groups              []int    `json:"groups"`
	SwitchIDs           bool     `json:"switch_ids"`
	Caps                []string `json:"capabilities"`
	Seccomp             bool     `json:"seccomp"`
	SeccompGroups       []string `json:"seccomp_groups,omitempty"`
	SeccompAllow        []string `json:"seccomp_allow,omitempty"`
	SeccompDeny         []string `json:"seccomp_deny,omitempty"`
	SeccompAction       string   `json:"seccomp_action,omitempty"`
	SeccompInstructions int      `json:"seccomp_instructions"`
	NoNewPrivs          bool     `json:"no_new_privs"`
	Rlimits             []string `json:"rlimits"`
	Chroot              string   `json:"chroot,omitempty"`
	Dir                 string   `json:"dir"`
	Umask               int      `json:"umask"`
	Nice                int      `json:"nice"`
	Env                 []string `json:"env,omitempty"` // but for the default PATH
	Isolation           []string `json:"isolation"`     // what it may see and reach: file system, processes, network (policy.Isolation.Lines)

	text string // policy.Exposure.String, for the text report
}

// Finding is one error, warning or info line with its place. Line 0 is
// the file as a whole; File "" is no file in particular.
type Finding struct {
	File     string `json:"file,omitempty"`
	Line     int    `json:"line,omitempty"`
	Col      int    `json:"col,omitempty"`
	Severity string `json:"severity"` // error, warning, info
	Code     string `json:"code"`     // config, policy, service, syntax, shadowed, …
	Message  string `json:"message"`
}

func (f Finding) String() string {
	loc := f.File
	if f.Line > 0 {
		loc += ":" + strconv.Itoa(f.Line)
		if f.Col > 0 {
			loc += ":" + strconv.Itoa(f.Col)
		}
	}
	if loc == "" {
		return f.Severity + ": " + f.Message
	}
	return loc + ": " + f.Severity + ": " + f.Message
}

// filters compiles the seccomp programs of one check, reusing a program
// for services with the same rules.
var filters seccomp.Compiler

// Run writes the report to w and returns the exit status: 0 when every
// file loads, 1 when one has an error. Warnings do not change the status.
func Run(o Options, w io.Writer) int {
	r := Collect(o)
	if o.JSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(r)
	} else {
		r.writeText(w)
	}
	if r.Errors > 0 {
		return 1
	}
	return 0
}

// Collect checks every file; a broken file does not stop the others from
// being checked (a policy error does not hide a hosts.deny error).
func Collect(o Options) *Report {
	r := &Report{Services: []Service{}, Findings: []Finding{}}
	snap, errs := config.Parse(o.ConfigPath, config.Options{DefaultAddr: o.BindAddr})
	for _, err := range errs {
		r.add(errFinding("config", err))
	}
	pol, err := policy.Load(o.PolicyPath)
	if err != nil {
		for _, e := range splitJoined(err) {
			r.add(errFinding("policy", e))
		}
	}
	var daemons []string
	table := waitTable(o)
	if snap != nil {
		for _, c := range snap.Services {
			daemons = append(daemons, c.DaemonName())
			s := r.service(c, pol)
			if c.Wait && c.Internal == "" && table != nil {
				_, how, err := acl.WaitService(table, c.DaemonName(), netip.AddrPortFrom(c.BindAddr, c.Port),
					c.SocketType == config.Dgram, c.Family == config.FamilyUnix)
				if err != nil {
					r.add(Finding{File: c.File, Line: c.Line, Severity: "error", Code: "wait-acl", Message: err.Error()})
				}
				s.Protection = how
			}
			r.Services = append(r.Services, s)
		}
		if pol != nil {
			for _, u := range config.UnusedSections(snap, pol) {
				r.add(Finding{File: u.Pos.File, Line: u.Pos.Line, Severity: "warning", Code: "policy-unused", Message: u.Message})
			}
		}
	}
	for _, f := range hostsFindings(o, daemons) {
		r.add(f)
	}
	return r
}

func (r *Report) add(f Finding) {
	switch f.Severity {
	case "error":
		r.Errors++
	case "warning":
		r.Warnings++
	}
	r.Findings = append(r.Findings, f)
}

// service describes one inetd.conf entry; a policy that does not compile
// for it is an error finding. With no policy (it failed to load) the
// entry is listed without its exposure.
func (r *Report) service(c *config.Service, pol *policy.Set) Service {
	s := Service{Name: c.Name, Listener: c.Key(), File: c.File, Line: c.Line, Daemon: c.DaemonName()}
	if c.Internal != "" {
		s.Builtin = c.Internal
		s.Warnings = policy.Warnings(c.Internal, c.Protocol, nil)
		r.serviceWarnings(c, s.Warnings)
		return s
	}
	s.Argv, s.Program, s.Wrapper = c.Args, c.Program, c.Wrapper
	if pol == nil {
		return s
	}
	spec, notes, err := c.Compile(pol, &filters)
	if err == nil {
		err = sandbox.Check(spec) // what the spawner would refuse at every connection
	}
	if err != nil {
		r.add(Finding{File: c.File, Line: c.Line, Severity: "error", Code: "service", Message: err.Error()})
		return s
	}
	e := spec.Exposure()
	s.Exposure = &Exposure{Policy: e.Policy, User: e.User, UID: e.UID, GID: e.GID, Groups: nonNil(e.Groups),
		SwitchIDs: e.SwitchIDs, Caps: nonNil(e.Caps), Seccomp: e.Seccomp, SeccompGroups: e.SeccompGroups,
		SeccompAllow: e.SeccompAllow, SeccompDeny: e.SeccompDeny, SeccompAction: e.SeccompAction,
		SeccompInstructions: e.SeccompInstructions, NoNewPrivs: e.NoNewPrivs, Rlimits: nonNil(e.Rlimits),
		Chroot: e.Chroot, Dir: e.Dir, Umask: e.Umask, Nice: e.Nice, Env: e.Env, Isolation: nonNil(e.Isolation), text: e.String()}
	for _, n := range notes {
		s.Notes = append(s.Notes, n.String())
	}
	s.Warnings = policy.Warnings(c.Name, c.Protocol, spec)
	r.serviceWarnings(c, s.Warnings)
	return s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// writeText is the report for people: services first, then findings.
func (r *Report) writeText(w io.Writer) {
	var done []Finding
	for _, f := range r.Findings {
		if f.Code == "exposure" {
			continue // printed under its service
		}
		if f.Code == "config" || f.Code == "policy" {
			fmt.Fprintln(w, f)
			continue
		}
		done = append(done, f)
	}
	for _, s := range r.Services {
		where := fmt.Sprintf("%s:%d", s.File, s.Line)
		switch {
		case s.Builtin != "":
			fmt.Fprintf(w, "service %s (%s) %s: built-in %s, runs inside hinetd\n", s.Name, s.Listener, where, s.Builtin)
		default:
			fmt.Fprintf(w, "service %s (%s) %s: %s\n", s.Name, s.Listener, where, strings.Join(s.Argv, " "))
			if s.Wrapper != "" {
				fmt.Fprintf(w, "  program:      %s (exists), run directly instead of through %s: hinetd's hosts.allow/hosts.deny decision is the only one\n", s.Program, s.Wrapper)
			}
			if s.Exposure == nil {
				break // its policy failed: the error is among the findings
			}
			for _, line := range strings.Split(strings.TrimRight(s.Exposure.text, "\n"), "\n") {
				fmt.Fprintf(w, "  %s\n", line)
			}
		}
		if s.Protection != "" {
			fmt.Fprintf(w, "  hosts:        %s\n", s.Protection)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(w, "  note: %s\n", n)
		}
		for _, warn := range s.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", warn)
		}
	}
	for _, f := range done {
		fmt.Fprintln(w, f)
	}
	fmt.Fprintf(w, "%d services, %d errors, %d warnings\n", len(r.Services), r.Errors, r.Warnings)
}

// errFinding places an error "file:line[:col]: message" (the form every
// hinetd parser uses) in a Finding.
func errFinding(code string, err error) Finding {
	f := Finding{Severity: "error", Code: code, Message: err.Error()}
	var ce *config.Error
	if errors.As(err, &ce) {
		f.File, f.Line, f.Col, f.Message = ce.File, ce.Line, ce.Col, ce.Msg
		return f
	}
	// "path:12: msg" or "path:12:3: msg"; a path may itself hold colons,
	// so the numbers are found from the message end of the prefix.
	msg := err.Error()
	parts := strings.SplitN(msg, ": ", 2)
	if len(parts) != 2 {
		return f
	}
	loc := strings.Split(parts[0], ":")
	nums := 0
	for i := len(loc) - 1; i > 0 && nums < 2; i-- {
		if _, err := strconv.Atoi(loc[i]); err != nil {
			break
		}
		nums++
	}
	if nums == 0 {
		return f
	}
	f.File = strings.Join(loc[:len(loc)-nums], ":")
	f.Line, _ = strconv.Atoi(loc[len(loc)-nums])
	if nums == 2 {
		f.Col, _ = strconv.Atoi(loc[len(loc)-1])
	}
	f.Message = parts[1]
	return f
}

// splitJoined undoes errors.Join (one error per line of its text).
func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitJoined(e)...)
		}
		return out
	}
	var out []error
	for _, line := range strings.Split(err.Error(), "\n") {
		out = append(out, errors.New(line))
	}
	return out
}

// severity is a hosts.Severity's word.
func severity(s hosts.Severity) string { return s.String() }

// serviceWarnings lists a service's exposure warnings among the findings
// too, with the service's file and line (code "exposure"), so that the
// findings are every warning and error of the check.
func (r *Report) serviceWarnings(c *config.Service, warns []string) {
	for _, w := range warns {
		r.add(Finding{File: c.File, Line: c.Line, Severity: "warning", Code: "exposure", Message: w})
	}
}
