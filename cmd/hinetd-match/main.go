// Command hinetd-match predicts how hinetd (and tcpd) decide a request, as
// tcpdmatch(8) does: hinetd-match [-d] daemon[@server] [user@]client.
package main

import "os"

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
