// Command hinetd-import translates an xinetd configuration for hinetd:
//
//	hinetd-import [-o dir] [--force] [xinetd.conf | xinetd.d-directory]
//
// It writes inetd.conf, xinetd.policy, hosts.allow and hosts.deny in dir
// and lists, by file:line, every attribute it could not translate.
// Exit status: 0 everything translated, 1 written but some attributes
// not translated (listed), 2 a usage error or a file that does not parse
// (nothing written).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/hinetd/hinetd/internal/version"
	"github.com/hinetd/hinetd/internal/xinetd"
)

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	flags := flag.NewFlagSet("hinetd-import", flag.ContinueOnError)
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: hinetd-import [-o dir] [--force] [-v] [xinetd.conf | directory]")
		fmt.Fprintln(flags.Output(), "\nWrites dir/inetd.conf, dir/xinetd.policy, dir/hosts.allow and dir/hosts.deny from xinetd's\nconfiguration (default /etc/xinetd.conf, following includedir) and lists what it could not translate.\nExit status: 0 all translated, 1 some attributes not translated, 2 usage or parse errors (nothing written).")
		flags.PrintDefaults()
	}
	out := flags.String("o", ".", "write the files in this `dir`ectory")
	force := flags.Bool("force", false, "overwrite files that exist")
	verbose := flags.Bool("v", false, "also list how attributes without an obvious equivalent were carried over")
	showVersion := flags.Bool("version", false, "print the version and exit")
	if err := flags.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *showVersion {
		fmt.Println("hinetd-import", version.Version)
		return 0
	}
	path := "/etc/xinetd.conf"
	switch flags.NArg() {
	case 0:
	case 1:
		path = flags.Arg(0)
	default:
		flags.Usage()
		return 2
	}
	c, err := xinetd.Load(path)
	if err != nil {
		fmt.Fprintf(os.Stderr, "hinetd-import: %v\n", err)
		return 2
	}
	r := xinetd.Convert(c, xinetd.Options{})
	files := map[string]string{"inetd.conf": r.InetdConf, "xinetd.policy": r.Policy, "hosts.allow": r.HostsAllow, "hosts.deny": r.HostsDeny}
	if !*force {
		for name := range files {
			if _, err := os.Lstat(filepath.Join(*out, name)); !errors.Is(err, fs.ErrNotExist) {
				fmt.Fprintf(os.Stderr, "hinetd-import: %s exists; use --force to overwrite, or -o another directory\n", filepath.Join(*out, name))
				return 2
			}
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "hinetd-import: %v\n", err)
		return 2
	}
	for _, name := range []string{"inetd.conf", "xinetd.policy", "hosts.allow", "hosts.deny"} {
		if err := os.WriteFile(filepath.Join(*out, name), []byte(files[name]), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "hinetd-import: %v\n", err)
			return 2
		}
	}
	untranslated := 0
	for _, n := range r.Notes {
		if n.Untranslated {
			untranslated++
		}
		if n.Untranslated || *verbose {
			fmt.Println(n)
		}
	}
	fmt.Printf("hinetd-import: %d services written to %s; %d attributes not translated\n", r.Services, *out, untranslated)
	if untranslated > 0 {
		return 1
	}
	return 0
}
