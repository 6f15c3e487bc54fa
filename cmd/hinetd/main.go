// Command hinetd is the Internet super-server: hinetd [options] [configuration_file].
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"

	"github.com/hinetd/hinetd/internal/check"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/daemon"
	_ "github.com/hinetd/hinetd/internal/sandbox" // the spawner is entered from its C constructor, before main
	"github.com/hinetd/hinetd/internal/version"
)

type listFlag []string

func (l *listFlag) String() string     { return fmt.Sprint(*l) }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	var o daemon.Options
	var checkOnly, showVersion bool
	var logTo listFlag
	fs := flag.NewFlagSet("hinetd", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: hinetd [-d] [-p pidfile] [-R rate] [-c maxchild] [-C rate] [-q length] [-a address]\n"+
			"              [--max-children n] [--accept-rate n] [--ipv6-prefix bits]\n"+
			"              [--hosts-allow file] [--hosts-deny file] [--policy path] [--log-to url]...\n"+
			"              [--log-format auto|rfc5424|rfc3164] [--log-facility name] [--log-enterprise-number n] [--spool-dir dir] [--no-watch]\n"+
			"              [--check] [--version]\n"+
			"              [configuration_file]\n")
		fs.PrintDefaults()
	}
	fs.BoolVar(&o.Debug, "d", false, "stay in the foreground and log to stderr")
	fs.StringVar(&o.PidFile, "p", "", "write the daemon's pid to `pidfile`")
	fs.IntVar(&o.RatePerMin, "R", 256, "maximum invocations of one service per minute before it is paused")
	fs.IntVar(&o.MaxChild, "c", 0, "default maximum concurrent children per service (0: unlimited)")
	fs.IntVar(&o.ConnPerIPMin, "C", 0, "default maximum connections per client address per minute (0: unlimited)")
	fs.IntVar(&o.Backlog, "q", 1024, "default listen queue `length` of stream services (a policy's listen-backlog wins)")
	fs.StringVar(&o.BindAddr, "a", "", "default bind `address` for services that name none")
	fs.IntVar(&o.MaxChildren, "max-children", 0, "maximum children of all services together (0: unlimited)")
	fs.Float64Var(&o.AcceptRate, "accept-rate", 0, "maximum connections and datagrams admitted per second, all services together (0: unlimited)")
	fs.IntVar(&o.IPv6Prefix, "ipv6-prefix", 64, "IPv6 clients are counted per prefix of this many `bits` (1-128)")
	fs.StringVar(&o.HostsAllow, "hosts-allow", "/etc/hosts.allow", "hosts.allow `file`")
	fs.StringVar(&o.HostsDeny, "hosts-deny", "/etc/hosts.deny", "hosts.deny `file`")
	fs.StringVar(&o.PolicyPath, "policy", "/etc/hinetd/", "policy file or directory")
	fs.Var(&logTo, "log-to", "audit sink `url` (repeatable): unix:///dev/log, udp://h:p, tcp://h:p, tls://h:p?ca=…, file:///x.jsonl; replaces the policy's [audit] log-to")
	fs.StringVar(&o.LogFormat, "log-format", "", "syslog format: rfc5424, rfc3164, or auto (RFC 3164 to a local /dev/log, whose readers expect it; RFC 5424 over the network); default the policy's [audit] log-format, else auto")
	fs.StringVar(&o.LogFacility, "log-facility", "", "syslog `facility` of the audit records (daemon, auth, authpriv, local0 … local7); default the policy's [audit] log-facility, else daemon")
	fs.StringVar(&o.SpoolDir, "spool-dir", "/var/lib/hinetd/spool", "where audit records wait while a log sink is down (created 0700)")
	fs.BoolVar(&checkOnly, "check", false, "check every file as hinetd-check does (errors with file:line, each service's exposure), exit 0 or 1")
	fs.Func("log-enterprise-number", "IANA private enterprise `number` in the RFC 5424 SD-ID (hinetd@N); default 32473, the number RFC 5612 reserves for documentation", func(v string) error {
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || n == 0 {
			return fmt.Errorf("want a private enterprise number, 1 or more")
		}
		o.LogPEN = uint32(n)
		return nil
	})
	fs.BoolVar(&o.NoWatch, "no-watch", false, "re-read the configuration file on SIGHUP only, not also when it changes")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	fs.Parse(os.Args[1:])
	if showVersion {
		fmt.Println("hinetd", version.Version)
		return
	}
	var ok bool
	if o.ConfigPath, ok = config.PathArg(fs.Args()); !ok {
		fs.Usage()
		os.Exit(2)
	}
	if o.RatePerMin < 0 || o.MaxChild < 0 || o.ConnPerIPMin < 0 || o.MaxChildren < 0 || o.AcceptRate < 0 {
		fmt.Fprintln(os.Stderr, "hinetd: -R, -c, -C, --max-children and --accept-rate take a number of zero or more")
		fs.Usage()
		os.Exit(2)
	}
	if o.Backlog < 1 || o.Backlog > 65535 {
		fmt.Fprintln(os.Stderr, "hinetd: -q takes a queue length of 1 to 65535")
		fs.Usage()
		os.Exit(2)
	}
	if o.IPv6Prefix < 1 || o.IPv6Prefix > 128 {
		fmt.Fprintln(os.Stderr, "hinetd: --ipv6-prefix takes 1 to 128 bits")
		fs.Usage()
		os.Exit(2)
	}
	o.LogTo = logTo
	o.Version = version.Version
	if checkOnly {
		os.Exit(check.Run(check.Options{ConfigPath: o.ConfigPath, BindAddr: o.BindAddr, PolicyPath: o.PolicyPath,
			HostsAllow: o.HostsAllow, HostsDeny: o.HostsDeny}, os.Stdout))
	}
	os.Exit(daemon.Main(context.Background(), o))
}
