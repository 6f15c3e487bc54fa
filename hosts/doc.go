// Package hosts parses, compiles and evaluates tcp_wrappers access control
// files (hosts_access(5) and hosts_options(5): hosts.allow and hosts.deny)
// with the decisions libwrap 7.6 (Debian 7.6.q) makes, and explains each
// decision: the verdict, the rule (file:line and text) and its options.
// A compiled Table decides address rules through per-daemon hash indexes
// (one probe per distinct prefix length), host names through exact, suffix
// and prefix maps, and scans only the rules that cannot be indexed (EXCEPT,
// wildcards, user@host, daemon@host, KNOWN, LOCAL, netgroups, pattern
// files), stopping at the first match so first-match order is kept. The
// package is pure: no logging, no global state; host names, users and
// netgroups come only through the Resolver, Ident and Netgroups values of
// a Request, and only when a pattern needs them.
//
// # Deliberate divergences from libwrap
//
// libwrap skips what it cannot parse and silently never matches some
// patterns; in hosts.deny that opens access. hinetd refuses such files
// instead (every problem is reported as file:line:col: message, and a file
// with any error is not loaded):
//
//   - A pattern that can never match is an error: "[2001:db8::/32]" (prefix
//     inside the brackets), "[::ffff:10.0.0.1]" (libwrap matches mapped
//     clients as IPv4 only), an IPv4 network with bits set outside its
//     mask or prefix length ("10.0.0.5/8", "10.0.0.1/255.0.0.0"; for IPv6
//     libwrap ignores those bits, and so does hinetd), the mask
//     255.255.255.255 (hosts_access(5): "not a valid mask value"), an IPv4
//     prefix length of 0 ("0.0.0.0/0": libwrap's 32-bit shift makes it
//     /32; write ALL), a malformed mask or length ("+8" is refused; "08"
//     is 8 as in libwrap), a digits-and-dots token that is not a dotted quad
//     ("10.1", "1.2.3.4."), a prefix with more than three numbers, a
//     misplaced bracket, an empty host after "@", and a list that begins
//     with EXCEPT or ends with it.
//   - Octal and hexadecimal address parts ("010.0.0.0/255.0.0.0", which
//     libwrap reads as 8.0.0.0) are errors: one reader sees 10, the other 8.
//   - A rule line without ":" (libwrap: warning, line skipped), an unknown
//     or malformed option (libwrap: denies at connection time), "aclexec"
//     (not supported), a missing "/path" pattern file (libwrap: matches
//     nothing), a final rule without a newline, a rule with a NUL byte and a rule
//     longer than 8191 bytes (libwrap: skipped) are errors.
//   - "#" after blanks: libwrap treats "  # sshd: ALL" as a rule whose
//     daemon list is "#" and "sshd", so an indented commented-out rule is
//     in force. hinetd reports it as an error.
//   - A comment line ending in a backslash continues onto the next line,
//     in libwrap as here; when that next line is not blank (a rule would
//     be swallowed) it is an error.
//   - Pattern files ("/path") are read when the table is compiled, not on
//     every connection; the watcher in internal/acl reloads on change.
//   - An IPv4-mapped IPv6 client (::ffff:a.b.c.d) is matched as a.b.c.d
//     by every pattern (libwrap does so for string patterns and masks;
//     %a expands to a.b.c.d too).
//   - File:line of a rule continued over several lines is its first line
//     (libwrap's log names the last).
//   - hinetd-match shows an IPv4-mapped client as its IPv4 address, where
//     tcpdmatch prints "::ffff:a.b.c.d"; the decision is the same.
//
// Not divergences but worth knowing: a daemon pattern that is a number
// matches the server port instead of the daemon name (a Debian extension;
// "+79" and numbers above 65535, which libwrap reads modulo 2^32, are
// errors here); names, wildcards included, compare
// case-insensitively (Debian's libwrap lower-cases wildcard patterns too),
// and a pattern ending in "**" needs at least one character there, as in
// libwrap ("in.fingerd**" does not match "in.fingerd");
// "0.0.0.0/0.0.0.0" matches every IPv4 client and "[::]/0" every IPv6
// one; an IPv6 "[net]/len" ignores bits of net beyond len; the canonical
// name check applies when the Resolver implements CanonicalResolver.
//
// # Use
//
//	t, err := hosts.LoadFiles("/etc/hosts.allow", "/etc/hosts.deny")
//	d := t.Decide(hosts.Request{Daemon: "in.fingerd", ClientAddr: peer, Resolver: r})
//	if d.Verdict == hosts.Granted { ... }  // d.File, d.Line, d.Text, d.Options
//	cmd := hosts.Expand(d.Options.Spawn[0], d.Request)
//
// Table.DecideNoLookup decides without any lookup or reports that one is
// needed; Check lints a pair of files; Query builds tcpdmatch's requests.
//
// Two generated differential tests avoid these inputs by construction and
// check every other decision against libwrap: TestDifferential against
// tcpdmatch(8), TestOracle against hosts_access(3) on real loopback
// connections (server ports and addresses, IPv4-mapped clients). The
// tcpdmatch comparison leaves out the "user" option with a uid other than
// root: tcpdmatch (7.6.q-32) really changes to that uid in its dry run and
// then denies for want of its own files.
package hosts
