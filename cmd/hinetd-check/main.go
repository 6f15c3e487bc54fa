// Command hinetd-check validates hinetd's files and prints, per service,
// what a compromised service could do:
//
//	hinetd-check [-v] [-a address] [--policy path] [--hosts-allow file] [--hosts-deny file] [configuration_file]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/hinetd/hinetd/internal/check"
)

func main() {
	var o check.Options
	fs := flag.NewFlagSet("hinetd-check", flag.ExitOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: hinetd-check [-v] [-a address] [--policy path] [--hosts-allow file] [--hosts-deny file] [configuration_file]")
		fs.PrintDefaults()
	}
	fs.BoolVar(&o.Verbose, "v", false, "list every access control rule with its effective action")
	fs.StringVar(&o.BindAddr, "a", "", "default bind address, as hinetd -a")
	fs.StringVar(&o.PolicyPath, "policy", "/etc/hinetd/", "policy file or directory")
	fs.StringVar(&o.HostsAllow, "hosts-allow", "/etc/hosts.allow", "hosts.allow file")
	fs.StringVar(&o.HostsDeny, "hosts-deny", "/etc/hosts.deny", "hosts.deny file")
	fs.Parse(os.Args[1:])
	switch fs.NArg() {
	case 0:
		o.ConfigPath = "/etc/inetd.conf"
	case 1:
		o.ConfigPath = fs.Arg(0)
	default:
		fs.Usage()
		os.Exit(2)
	}
	os.Exit(check.Run(o, os.Stdout))
}
