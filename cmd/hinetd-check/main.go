// Command hinetd-check validates hinetd's files and prints, per service,
// what a compromised service could do:
//
//	hinetd-check [-v] [--json] [--systemd-socket] [-a address] [--policy path] [--hosts-allow file] [--hosts-deny file] [configuration_file]
//
// Exit status: 0 when every file loads (warnings allowed), 1 when one has
// an error, 2 on a usage error.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hinetd/hinetd/internal/check"
	"github.com/hinetd/hinetd/internal/config"
	"github.com/hinetd/hinetd/internal/systemd"
	"github.com/hinetd/hinetd/internal/version"
)

func main() {
	var o check.Options
	var showVersion, socketUnits bool
	fs := flag.NewFlagSet("hinetd-check", flag.ExitOnError) // -h and --help exit 0
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: hinetd-check [-v] [--json] [--systemd-socket] [-a address] [--policy path] [--hosts-allow file] [--hosts-deny file] [configuration_file]")
		fs.PrintDefaults()
	}
	fs.BoolVar(&o.Verbose, "v", false, "also list every access control rule with its effective action, and daemon names in hosts rules that inetd.conf does not run")
	fs.BoolVar(&o.JSON, "json", false, "print one JSON document: services with their exposure, findings with file and line, counts")
	fs.StringVar(&o.BindAddr, "a", "", "default bind address, as hinetd -a")
	fs.StringVar(&o.PolicyPath, "policy", "/etc/hinetd/", "policy file or directory")
	fs.StringVar(&o.HostsAllow, "hosts-allow", "/etc/hosts.allow", "hosts.allow file")
	fs.StringVar(&o.HostsDeny, "hosts-deny", "/etc/hosts.deny", "hosts.deny file")
	fs.BoolVar(&socketUnits, "systemd-socket", false, "print systemd .socket units that pass hinetd the socket of every service (docs/systemd.md), instead of checking")
	fs.BoolVar(&showVersion, "version", false, "print the version and exit")
	fs.Parse(os.Args[1:])
	if showVersion {
		fmt.Println("hinetd-check", version.Version)
		return
	}
	var ok bool
	if o.ConfigPath, ok = config.PathArg(fs.Args()); !ok {
		fs.Usage()
		os.Exit(2)
	}
	if socketUnits {
		os.Exit(printSocketUnits(o))
	}
	os.Exit(check.Run(o, os.Stdout))
}

// printSocketUnits prints the .socket units for the configuration's
// services, each after a "### path" line; a bad line is reported on
// stderr and its service left out (exit 1).
func printSocketUnits(o check.Options) int {
	snap, errs := config.Parse(o.ConfigPath, config.Options{DefaultAddr: o.BindAddr})
	for _, err := range errs {
		fmt.Fprintln(os.Stderr, "hinetd-check:", err)
	}
	if snap == nil {
		return 1
	}
	units := systemd.SocketUnits(snap.Services)
	for i, name := range []string{"hinetd.socket", "hinetd6.socket"} {
		if units[name] == "" {
			continue
		}
		if i > 0 {
			fmt.Println()
		}
		fmt.Printf("### /etc/systemd/system/%s\n%s", name, units[name])
	}
	if len(errs) > 0 {
		return 1
	}
	return 0
}
