package config

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testHosts is the resolver for names that /etc/hosts does not hold: the
// tests must not depend on DNS. "localhost" is left to the system resolver
// (127.0.0.1 in /etc/hosts) so that the default path is exercised too.
func testHosts(name string) ([]netip.Addr, error) {
	m := map[string][]string{
		"dual.test":   {"2001:db8::1", "192.0.2.1", "2001:db8::2", "192.0.2.2"},
		"v4.test":     {"192.0.2.10"},
		"v6.test":     {"2001:db8::10"},
		"mapped.test": {"::ffff:192.0.2.20"},
	}
	if name == "localhost" {
		return systemHost(name)
	}
	a, ok := m[name]
	if !ok {
		return nil, fmt.Errorf("no such host")
	}
	var out []netip.Addr
	for _, s := range a {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

// render is a one-line summary of a service, so table cases can state the
// whole expected result.
func render(s *Service) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s %s/%s", s.Line, s.Key(), s.SocketType, s.Protocol)
	if s.Wait {
		b.WriteString(" wait")
	} else {
		b.WriteString(" nowait")
	}
	if s.RatePerMinute != 0 || s.MaxChild != 0 || s.MaxConnPerIPMin != 0 || s.MaxChildPerIP != 0 {
		fmt.Fprintf(&b, " rate=%d lim=%d/%d/%d", s.RatePerMinute, s.MaxChild, s.MaxConnPerIPMin, s.MaxChildPerIP)
	}
	fmt.Fprintf(&b, " %s", s.User)
	if s.Group != "" {
		fmt.Fprintf(&b, ":%s", s.Group)
	}
	fmt.Fprintf(&b, " %d:%d", s.UID, s.GID)
	if s.Internal != "" {
		fmt.Fprintf(&b, " internal=%s", s.Internal)
	} else {
		fmt.Fprintf(&b, " %s %q", s.Program, s.Args)
	}
	return b.String()
}

// parseText writes conf to inetd.conf in a fresh directory and parses it
// with the working directory there, so errors read "inetd.conf:N: ...".
func parseText(t *testing.T, conf string, opts Options) (*Snapshot, []error) {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.WriteFile("inetd.conf", []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	if opts.LookupHost == nil {
		opts.LookupHost = testHosts
	}
	return Parse("inetd.conf", opts)
}

// A plain file without execute permission, and a directory, for the
// server-program checks, and a scratch directory for the fuzz target;
// created once per test binary (fuzz workers included).
var noexec, aDir, scratch string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "config-test")
	if err != nil {
		panic(err)
	}
	scratch = d
	noexec = filepath.Join(d, "noexec")
	aDir = filepath.Join(d, "dir")
	if err := os.WriteFile(noexec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		panic(err)
	}
	if err := os.Mkdir(aDir, 0o755); err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(d)
	os.Exit(code)
}

func TestParse(t *testing.T) {
	long := "/" + strings.Repeat("x", 107) // 108 bytes: one too many for sun_path
	tests := []struct {
		name    string
		conf    string
		opts    Options
		want    []string // render() of each service, in order
		wantErr []string
	}{
		// Classic built-ins named by the service, on tcp and udp.
		{
			name: "builtin by service name",
			conf: "echo stream tcp nowait root internal\necho dgram udp nowait root internal\n",
			want: []string{
				"1 tcp4 0.0.0.0:7 stream/tcp nowait root 0:0 internal=echo",
				"2 udp4 0.0.0.0:7 dgram/udp nowait root 0:0 internal=echo",
			},
		},
		// On a numeric port the built-in is the word after "internal".
		{
			name: "builtin on numeric port",
			conf: "127.0.0.1:7007 stream tcp nowait root internal echo\n",
			want: []string{"1 tcp4 127.0.0.1:7007 stream/tcp nowait root 0:0 internal=echo"},
		},
		// The word after "internal" also names the built-in on a named service.
		{
			name: "builtin word overrides service name",
			conf: "127.0.0.1:daytime stream tcp nowait root internal time\n",
			want: []string{"1 tcp4 127.0.0.1:13 stream/tcp nowait root 0:0 internal=time"},
		},
		// All five built-ins are known.
		{
			name: "all builtins",
			conf: "echo stream tcp nowait root internal\ndiscard stream tcp nowait root internal\nchargen stream tcp nowait root internal\ndaytime stream tcp nowait root internal\ntime stream tcp nowait root internal\n",
			want: []string{
				"1 tcp4 0.0.0.0:7 stream/tcp nowait root 0:0 internal=echo",
				"2 tcp4 0.0.0.0:9 stream/tcp nowait root 0:0 internal=discard",
				"3 tcp4 0.0.0.0:19 stream/tcp nowait root 0:0 internal=chargen",
				"4 tcp4 0.0.0.0:13 stream/tcp nowait root 0:0 internal=daytime",
				"5 tcp4 0.0.0.0:37 stream/tcp nowait root 0:0 internal=time",
			},
		},
		// External program with argv[0] and arguments as written.
		{
			name: "external with args",
			conf: "127.0.0.1:7100 stream tcp nowait nobody /bin/cat mycat -u\n",
			want: []string{`1 tcp4 127.0.0.1:7100 stream/tcp nowait nobody 65534:65534 /bin/cat ["mycat" "-u"]`},
		},
		// Without arguments argv[0] is the program's base name.
		{
			name: "external argv0 defaults to basename",
			conf: "127.0.0.1:7100 stream tcp nowait nobody /bin/cat\n",
			want: []string{`1 tcp4 127.0.0.1:7100 stream/tcp nowait nobody 65534:65534 /bin/cat ["cat"]`},
		},
		// Comments, blank lines, tabs, runs of blanks and CRLF are all fine.
		{
			name: "comments blanks tabs crlf",
			conf: "# a comment\n\n   \t\n  #indented comment\necho\tstream  tcp\t nowait root internal\r\n",
			want: []string{"5 tcp4 0.0.0.0:7 stream/tcp nowait root 0:0 internal=echo"},
		},
		// A last line without a newline is still read.
		{
			name: "no final newline",
			conf: "echo stream tcp nowait root internal",
			want: []string{"1 tcp4 0.0.0.0:7 stream/tcp nowait root 0:0 internal=echo"},
		},
		// Family rules: tcp/udp on * is IPv4 only; tcp4 likewise.
		{
			name: "family tcp and tcp4 on any",
			conf: "*:7101 stream tcp nowait root internal echo\n7102 stream tcp4 nowait root internal echo\n7103 dgram udp4 nowait root internal echo\n",
			want: []string{
				"1 tcp4 0.0.0.0:7101 stream/tcp nowait root 0:0 internal=echo",
				"2 tcp4 0.0.0.0:7102 stream/tcp4 nowait root 0:0 internal=echo",
				"3 udp4 0.0.0.0:7103 dgram/udp4 nowait root 0:0 internal=echo",
			},
		},
		// tcp6/udp6 on any bind :: (V6ONLY), tcp46/udp46 bind :: dual-stack.
		{
			name: "family tcp6 and tcp46 on any",
			conf: "7104 stream tcp6 nowait root internal echo\n*:7104 dgram udp6 nowait root internal echo\n7105 stream tcp46 nowait root internal echo\n7105 dgram udp46 nowait root internal echo\n",
			want: []string{
				"1 tcp6 [::]:7104 stream/tcp6 nowait root 0:0 internal=echo",
				"2 udp6 [::]:7104 dgram/udp6 nowait root 0:0 internal=echo",
				"3 tcp46 [::]:7105 stream/tcp46 nowait root 0:0 internal=echo",
				"4 udp46 [::]:7105 dgram/udp46 nowait root 0:0 internal=echo",
			},
		},
		// Plain tcp on a bracketed IPv6 address is IPv6; bare IPv6 works too.
		{
			name: "family tcp on IPv6 address",
			conf: "[::1]:7106 stream tcp nowait root internal echo\n::1:7107 stream tcp6 nowait root internal echo\n[::1]:7108 stream tcp46 nowait root internal echo\n",
			want: []string{
				"1 tcp6 [::1]:7106 stream/tcp nowait root 0:0 internal=echo",
				"2 tcp6 [::1]:7107 stream/tcp6 nowait root 0:0 internal=echo",
				"3 tcp46 [::1]:7108 stream/tcp46 nowait root 0:0 internal=echo",
			},
		},
		// A host name from /etc/hosts, through the system resolver.
		{
			name: "host name localhost",
			conf: "localhost:7109 stream tcp nowait root internal echo\n",
			opts: Options{LookupHost: systemHost},
			want: []string{"1 tcp4 127.0.0.1:7109 stream/tcp nowait root 0:0 internal=echo"},
		},
		// A name with both families: the first address of the needed family.
		{
			name: "host name first address of the family",
			conf: "dual.test:7110 stream tcp nowait root internal echo\ndual.test:7110 stream tcp6 nowait root internal echo\ndual.test:7111 stream tcp46 nowait root internal echo\ndual.test:7112 dgram udp4 nowait root internal echo\nv6.test:7113 stream tcp nowait root internal echo\n",
			want: []string{
				"1 tcp4 192.0.2.1:7110 stream/tcp nowait root 0:0 internal=echo",
				"2 tcp6 [2001:db8::1]:7110 stream/tcp6 nowait root 0:0 internal=echo",
				"3 tcp46 [2001:db8::1]:7111 stream/tcp46 nowait root 0:0 internal=echo",
				"4 udp4 192.0.2.1:7112 dgram/udp4 nowait root 0:0 internal=echo",
				"5 tcp6 [2001:db8::10]:7113 stream/tcp nowait root 0:0 internal=echo",
			},
		},
		// A resolver's IPv4-mapped answers count as IPv4.
		{
			name: "host name mapped answer",
			conf: "mapped.test:7114 stream tcp nowait root internal echo\n",
			want: []string{"1 tcp4 192.0.2.20:7114 stream/tcp nowait root 0:0 internal=echo"},
		},
		// -a sets the address of lines without one, and what "*" means.
		{
			name: "default address option",
			conf: "7115 stream tcp nowait root internal echo\n*:7116 stream tcp nowait root internal echo\n10.0.0.1:7117 stream tcp nowait root internal echo\n",
			opts: Options{DefaultAddr: "127.0.0.1"},
			want: []string{
				"1 tcp4 127.0.0.1:7115 stream/tcp nowait root 0:0 internal=echo",
				"2 tcp4 127.0.0.1:7116 stream/tcp nowait root 0:0 internal=echo",
				"3 tcp4 10.0.0.1:7117 stream/tcp nowait root 0:0 internal=echo",
			},
		},
		// -a with an IPv6 address: plain tcp follows it to IPv6.
		{
			name: "default address option IPv6",
			conf: "7118 stream tcp nowait root internal echo\n7118 stream tcp46 nowait root internal echo\n",
			opts: Options{DefaultAddr: "[::1]"},
			want: []string{
				"1 tcp6 [::1]:7118 stream/tcp nowait root 0:0 internal=echo",
				"2 tcp46 [::1]:7118 stream/tcp46 nowait root 0:0 internal=echo",
			},
		},
		// -a as a host name: each protocol takes its family's address.
		{
			name: "default address option host name",
			conf: "7119 stream tcp4 nowait root internal echo\n7119 stream tcp6 nowait root internal echo\n",
			opts: Options{DefaultAddr: "dual.test"},
			want: []string{
				"1 tcp4 192.0.2.1:7119 stream/tcp4 nowait root 0:0 internal=echo",
				"2 tcp6 [2001:db8::1]:7119 stream/tcp6 nowait root 0:0 internal=echo",
			},
		},
		// OpenBSD bare "addr:" lines set the address of the following lines;
		// "*:" goes back to the default; an explicit address still wins.
		{
			name: "bare default address lines",
			conf: "127.0.0.2:\necho stream tcp nowait root internal\n10.1.1.1:echo dgram udp nowait root internal\n[::1]:\ndaytime stream tcp nowait root internal\n*:\ntime stream tcp nowait root internal\n",
			want: []string{
				"2 tcp4 127.0.0.2:7 stream/tcp nowait root 0:0 internal=echo",
				"3 udp4 10.1.1.1:7 dgram/udp nowait root 0:0 internal=echo",
				"5 tcp6 [::1]:13 stream/tcp nowait root 0:0 internal=daytime",
				"7 tcp4 0.0.0.0:37 stream/tcp nowait root 0:0 internal=time",
			},
		},
		// unix sockets: the service field is the path; stream or dgram.
		{
			name: "unix",
			conf: "/run/hinetd/a:b.sock stream unix nowait root internal echo\n/run/hinetd/d.sock dgram unix wait nobody /bin/cat\n",
			want: []string{
				"1 unix /run/hinetd/a:b.sock stream/unix nowait root 0:0 internal=echo",
				`2 unix /run/hinetd/d.sock dgram/unix wait nobody 65534:65534 /bin/cat ["cat"]`,
			},
		},
		// wait with tcp is allowed: the server gets the listening socket.
		{
			name: "tcp wait",
			conf: "127.0.0.1:7120 stream tcp wait nobody /bin/cat\n",
			want: []string{`1 tcp4 127.0.0.1:7120 stream/tcp wait nobody 65534:65534 /bin/cat ["cat"]`},
		},
		// Limits: nowait.N and the three slash limits, alone and together.
		{
			name: "limits",
			conf: "7121 stream tcp nowait.100 root internal echo\n7122 stream tcp nowait/10 root internal echo\n7123 stream tcp nowait/10/20 root internal echo\n7124 stream tcp nowait.50/10/20/3 root internal echo\n7125 dgram udp wait.30/2 nobody /bin/cat\n",
			want: []string{
				"1 tcp4 0.0.0.0:7121 stream/tcp nowait rate=100 lim=0/0/0 root 0:0 internal=echo",
				"2 tcp4 0.0.0.0:7122 stream/tcp nowait rate=0 lim=10/0/0 root 0:0 internal=echo",
				"3 tcp4 0.0.0.0:7123 stream/tcp nowait rate=0 lim=10/20/0 root 0:0 internal=echo",
				"4 tcp4 0.0.0.0:7124 stream/tcp nowait rate=50 lim=10/20/3 root 0:0 internal=echo",
				`5 udp4 0.0.0.0:7125 dgram/udp wait rate=30 lim=2/0/0 nobody 65534:65534 /bin/cat ["cat"]`,
			},
		},
		// user:group and user.group set the group; a bare user gets the
		// primary group; numeric ids with an entry are accepted.
		{
			name: "user and group",
			conf: "7126 stream tcp nowait nobody:nogroup /bin/cat\n7127 stream tcp nowait daemon.nogroup /bin/cat\n7128 stream tcp nowait daemon /bin/cat\n7129 stream tcp nowait 65534:0 /bin/cat\n",
			want: []string{
				`1 tcp4 0.0.0.0:7126 stream/tcp nowait nobody:nogroup 65534:65534 /bin/cat ["cat"]`,
				`2 tcp4 0.0.0.0:7127 stream/tcp nowait daemon:nogroup 1:65534 /bin/cat ["cat"]`,
				`3 tcp4 0.0.0.0:7128 stream/tcp nowait daemon 1:1 /bin/cat ["cat"]`,
				`4 tcp4 0.0.0.0:7129 stream/tcp nowait 65534:0 65534:0 /bin/cat ["cat"]`,
			},
		},
		// A user name containing a dot is a user, not user.group.
		{
			name: "dotted user name",
			conf: "7130 stream tcp nowait first.last /bin/cat\n7131 stream tcp nowait other.staff /bin/cat\n",
			opts: Options{
				LookupUser: func(n string) (int, int, error) {
					switch n {
					case "first.last":
						return 1000, 1000, nil
					case "other":
						return 1001, 1001, nil
					}
					return 0, 0, errors.New("unknown")
				},
				LookupGroup: func(n string) (int, error) {
					if n == "staff" {
						return 50, nil
					}
					return 0, errors.New("unknown")
				},
			},
			want: []string{
				`1 tcp4 0.0.0.0:7130 stream/tcp nowait first.last 1000:1000 /bin/cat ["cat"]`,
				`2 tcp4 0.0.0.0:7131 stream/tcp nowait other:staff 1001:50 /bin/cat ["cat"]`,
			},
		},
		// Options.Services replaces /etc/services.
		{
			name: "services option",
			conf: "myecho stream tcp nowait root internal echo\n",
			opts: Options{Services: func(name, proto string) (int, error) {
				if name == "myecho" && proto == "tcp" {
					return 7777, nil
				}
				return 0, errors.New("unknown")
			}},
			want: []string{"1 tcp4 0.0.0.0:7777 stream/tcp nowait root 0:0 internal=echo"},
		},
		// Classic configurations write datagram built-ins with wait; they
		// run inside hinetd either way, so Wait is false.
		{
			name: "dgram builtin with wait",
			conf: "echo dgram udp wait root internal\n127.0.0.1:7013 dgram udp wait.60 root internal daytime\n",
			want: []string{
				"1 udp4 0.0.0.0:7 dgram/udp nowait root 0:0 internal=echo",
				"2 udp4 127.0.0.1:7013 dgram/udp nowait rate=60 lim=0/0/0 root 0:0 internal=daytime",
			},
		},
		// The same port on tcp and udp, or on two addresses, is no duplicate.
		{
			name: "not duplicates",
			conf: "echo stream tcp nowait root internal\necho dgram udp nowait root internal\n127.0.0.1:echo stream tcp nowait root internal\necho stream tcp6 nowait root internal\n",
			want: []string{
				"1 tcp4 0.0.0.0:7 stream/tcp nowait root 0:0 internal=echo",
				"2 udp4 0.0.0.0:7 dgram/udp nowait root 0:0 internal=echo",
				"3 tcp4 127.0.0.1:7 stream/tcp nowait root 0:0 internal=echo",
				"4 tcp6 [::]:7 stream/tcp6 nowait root 0:0 internal=echo",
			},
		},

		// --- errors: each bad line skips only its own service ---

		// Too few fields.
		{
			name:    "too few fields",
			conf:    "echo stream tcp nowait root\necho stream tcp nowait root internal\n",
			want:    []string{"2 tcp4 0.0.0.0:7 stream/tcp nowait root 0:0 internal=echo"},
			wantErr: []string{"inetd.conf:1: too few fields (5); expect [addr:]service socket_type protocol wait|nowait user[:group] server_program [args]"},
		},
		// A misspelt socket type.
		{
			name:    "unknown socket type",
			conf:    "echo strem tcp nowait root internal\n",
			wantErr: []string{`inetd.conf:1:6: unknown socket type "strem"; expect stream or dgram`},
		},
		// Real socket types hinetd does not serve.
		{
			name: "unsupported socket types",
			conf: "echo raw tcp nowait root internal\necho seqpacket unix nowait root internal\necho rdm tcp nowait root internal\n",
			wantErr: []string{
				`inetd.conf:1:6: socket type "raw" is not supported; expect stream or dgram`,
				`inetd.conf:2:6: socket type "seqpacket" is not supported; expect stream or dgram`,
				`inetd.conf:3:6: socket type "rdm" is not supported; expect stream or dgram`,
			},
		},
		// An unknown protocol, and an RPC one.
		{
			name: "unknown protocol",
			conf: "echo stream tcp7 nowait root internal\nrstatd dgram rpc/udp wait root /bin/cat\n",
			wantErr: []string{
				`inetd.conf:1:13: unknown protocol "tcp7"; expect tcp, tcp4, tcp6, tcp46, udp, udp4, udp6, udp46 or unix`,
				`inetd.conf:2:14: RPC services ("rpc/udp") are not supported`,
			},
		},
		// stream goes with tcp, dgram with udp.
		{
			name: "socket type and protocol mismatch",
			conf: "echo dgram tcp nowait root internal\necho stream udp6 nowait root internal\n",
			wantErr: []string{
				`inetd.conf:1:6: socket type "dgram" does not go with protocol "tcp"; tcp needs stream`,
				`inetd.conf:2:6: socket type "stream" does not go with protocol "udp6"; udp needs dgram`,
			},
		},
		// Port numbers out of range, unknown names and tcpmux.
		{
			name: "bad service",
			conf: "0 stream tcp nowait root internal echo\n65536 stream tcp nowait root internal echo\n127.0.0.1:99999999999999999999 stream tcp nowait root internal echo\nnosuchsvc stream tcp nowait root internal echo\ntftp stream tcp nowait root internal echo\ntcpmux/+echo stream tcp nowait root internal echo\n",
			wantErr: []string{
				`inetd.conf:1:1: port "0" out of range; expect 1-65535`,
				`inetd.conf:2:1: port "65536" out of range; expect 1-65535`,
				`inetd.conf:3:11: port "99999999999999999999" out of range; expect 1-65535`,
				`inetd.conf:4:1: unknown service "nosuchsvc" for tcp (not a number, not in /etc/services)`,
				`inetd.conf:5:1: unknown service "tftp" for tcp (not a number, not in /etc/services)`,
				`inetd.conf:6:1: tcpmux services ("tcpmux/+echo") are not supported`,
			},
		},
		// A service name that /etc/services maps out of range.
		{
			name:    "service option out of range",
			conf:    "weird stream tcp nowait root internal echo\n",
			opts:    Options{Services: func(string, string) (int, error) { return 70000, nil }},
			wantErr: []string{`inetd.conf:1:1: service "weird" maps to port 70000; expect 1-65535`},
		},
		// unix paths must be absolute, take no address, and fit sun_path.
		{
			name: "bad unix",
			conf: "run/x.sock stream unix nowait root internal echo\n127.0.0.1:/run/x.sock stream unix nowait root internal echo\n" + long + " stream unix nowait root internal echo\n/run/x/ stream unix nowait root internal echo\n/run//x/../y stream unix nowait root internal echo\n",
			wantErr: []string{
				`inetd.conf:1:1: unix socket path "run/x.sock" must be absolute`,
				`inetd.conf:2:1: unix service "127.0.0.1:/run/x.sock" takes no address`,
				`inetd.conf:3:1: unix socket path is 108 bytes; at most 107 fit`,
				`inetd.conf:4:1: unix socket path "/run/x/" is not clean; write "/run/x"`,
				`inetd.conf:5:1: unix socket path "/run//x/../y" is not clean; write "/run/y"`,
			},
		},
		// Malformed address parts.
		{
			name: "bad address syntax",
			conf: ":echo stream tcp nowait root internal\n127.0.0.1: stream tcp nowait root internal\n[::1echo stream tcp nowait root internal\n[]:echo stream tcp nowait root internal\n[127.0.0.1]:echo stream tcp nowait root internal\n[zz]:echo stream tcp nowait root internal\nbad!host:echo stream tcp nowait root internal\n[*]:echo stream tcp nowait root internal\n127.1:echo stream tcp nowait root internal\n1.2.3.4.5:echo stream tcp nowait root internal\n",
			wantErr: []string{
				`inetd.conf:1:1: empty address in ":echo"`,
				`inetd.conf:2:1: missing service after address in "127.0.0.1:"`,
				`inetd.conf:3:1: bad address in "[::1echo"; expect [IPv6 address]:service`,
				`inetd.conf:4:1: empty address in "[]:echo"`,
				`inetd.conf:5:1: IPv4 address "127.0.0.1" in brackets; brackets are for IPv6`,
				`inetd.conf:6:1: bad IPv6 address "zz"`,
				`inetd.conf:7:1: bad address "bad!host"; expect an IPv4 address, [IPv6 address], host name or *`,
				`inetd.conf:8:1: bad IPv6 address "*"`,
				`inetd.conf:9:1: bad IPv4 address "127.1"; expect four decimal numbers`,
				`inetd.conf:10:1: bad IPv4 address "1.2.3.4.5"; expect four decimal numbers`,
			},
		},
		// IPv4-mapped IPv6 addresses are refused: write the IPv4 address.
		{
			name:    "mapped address",
			conf:    "[::ffff:127.0.0.1]:echo stream tcp nowait root internal\n",
			wantErr: []string{`inetd.conf:1:1: IPv4-mapped address "::ffff:127.0.0.1"; write 127.0.0.1`},
		},
		// Address of the wrong family for the protocol.
		{
			name: "family mismatch",
			conf: "[::1]:echo stream tcp4 nowait root internal\n127.0.0.1:echo stream tcp6 nowait root internal\n127.0.0.1:echo dgram udp46 nowait root internal\nv4.test:echo stream tcp6 nowait root internal\nv6.test:echo dgram udp4 nowait root internal\n",
			wantErr: []string{
				`inetd.conf:1:1: address "::1" is not an IPv4 address; protocol "tcp4" needs one`,
				`inetd.conf:2:1: address "127.0.0.1" is not an IPv6 address; protocol "tcp6" needs one`,
				`inetd.conf:3:1: address "127.0.0.1" is not an IPv6 address; protocol "udp46" needs one`,
				`inetd.conf:4:1: address "v4.test" has no IPv6 address; protocol "tcp6" needs one`,
				`inetd.conf:5:1: address "v6.test" has no IPv4 address; protocol "udp4" needs one`,
			},
		},
		// A host name that does not resolve.
		{
			name:    "unresolvable host",
			conf:    "nosuch.test:echo stream tcp nowait root internal\n",
			wantErr: []string{`inetd.conf:1:1: cannot resolve host "nosuch.test": no such host`},
		},
		// -a of the wrong family for a line, or one that does not resolve,
		// is reported on each line that uses it.
		{
			name: "bad default address option",
			conf: "echo stream tcp6 nowait root internal\n",
			opts: Options{DefaultAddr: "127.0.0.1"},
			wantErr: []string{
				`inetd.conf:1:1: default address "127.0.0.1" (-a) is not an IPv6 address; protocol "tcp6" needs one`,
			},
		},
		{
			name:    "unresolvable default address option",
			conf:    "echo stream tcp nowait root internal\n",
			opts:    Options{DefaultAddr: "nosuch.test"},
			wantErr: []string{`inetd.conf:1:1: default address "nosuch.test" (-a): cannot resolve host "nosuch.test": no such host`},
		},
		// A bad bare "addr:" line is an error, and so is every line relying
		// on it (fail closed: never fall back to binding every address).
		{
			name: "bad bare default line",
			conf: "nosuch.test:\necho stream tcp nowait root internal\n127.0.0.1:daytime stream tcp nowait root internal\n*:\ntime stream tcp nowait root internal\n[::1:\n",
			want: []string{
				"3 tcp4 127.0.0.1:13 stream/tcp nowait root 0:0 internal=daytime",
				"5 tcp4 0.0.0.0:37 stream/tcp nowait root 0:0 internal=time",
			},
			wantErr: []string{
				`inetd.conf:1:1: cannot resolve host "nosuch.test": no such host`,
				`inetd.conf:2:1: default address set on line 1 is invalid`,
				`inetd.conf:6:1: bad address "[::1:"; expect [IPv6 address]:`,
			},
		},
		// A bare default line of the wrong family for a following line.
		{
			name:    "bare default wrong family",
			conf:    "127.0.0.3:\necho stream tcp6 nowait root internal\n",
			wantErr: []string{`inetd.conf:2:1: default address "127.0.0.3" (line 1) is not an IPv6 address; protocol "tcp6" needs one`},
		},
		// wait|nowait misspelt.
		{
			name:    "bad wait mode",
			conf:    "echo stream tcp nowiat root internal\n",
			wantErr: []string{`inetd.conf:1:17: unknown wait mode "nowiat"; expect wait or nowait`},
		},
		// Limits must be positive integers of sane size, at most three.
		{
			name: "bad limits",
			conf: "7 stream tcp nowait/0 root internal echo\n8 stream tcp nowait/-1 root internal echo\n9 stream tcp nowait/ten root internal echo\n10 stream tcp nowait/1/2/3/4 root internal echo\n11 stream tcp nowait/99999999999 root internal echo\n12 stream tcp nowait.0 root internal echo\n13 stream tcp nowait. root internal echo\n14 stream tcp nowait/5/ root internal echo\n15 stream tcp nowait/1/0 root internal echo\n16 stream tcp nowait/1/1/0 root internal echo\n",
			wantErr: []string{
				`inetd.conf:1:14: max-child "0" must be at least 1`,
				`inetd.conf:2:14: max-child "-1" is not a positive integer`,
				`inetd.conf:3:14: max-child "ten" is not a positive integer`,
				`inetd.conf:4:15: too many limits in "nowait/1/2/3/4"; expect nowait[/max-child[/max-conn-per-ip-per-minute[/max-child-per-ip]]]`,
				`inetd.conf:5:15: max-child "99999999999" is too large`,
				`inetd.conf:6:15: invocations per minute (.0) "0" must be at least 1`,
				`inetd.conf:7:15: invocations per minute (.) "" is not a positive integer`,
				`inetd.conf:8:15: max-conn-per-ip-per-minute "" is not a positive integer`,
				`inetd.conf:9:15: max-conn-per-ip-per-minute "0" must be at least 1`,
				`inetd.conf:10:15: max-child-per-ip "0" must be at least 1`,
			},
		},
		// Per-client limits cannot be enforced when the server accepts.
		{
			name:    "per-client limit with wait",
			conf:    "7 stream tcp wait/1/5 nobody /bin/cat\n",
			wantErr: []string{`inetd.conf:1:14: per-client limits in "wait/1/5" need nowait; with wait the server accepts clients itself`},
		},
		// Unknown or empty users and groups.
		{
			name: "bad user and group",
			conf: "7 stream tcp nowait nosuchuser /bin/cat\n8 stream tcp nowait root:nosuchgroup /bin/cat\n9 stream tcp nowait :root /bin/cat\n10 stream tcp nowait root: /bin/cat\n11 stream tcp nowait nosuchuser.root /bin/cat\n",
			wantErr: []string{
				`inetd.conf:1:21: unknown user "nosuchuser"`,
				`inetd.conf:2:21: unknown group "nosuchgroup"`,
				`inetd.conf:3:21: empty user name in ":root"`,
				`inetd.conf:4:22: empty group name in "root:"`,
				`inetd.conf:5:22: unknown user "nosuchuser"`,
			},
		},
		// A numeric id must come back from the passwd/group database
		// unchanged: 2^32 would wrap to 0 (root) in getpwuid.
		{
			name: "numeric ids that wrap",
			conf: "7 stream tcp nowait 4294967296 /bin/cat\n8 stream tcp nowait nobody:4294967296 /bin/cat\n9 stream tcp nowait 00 /bin/cat\n",
			wantErr: []string{
				`inetd.conf:1:21: unknown user "4294967296"`,
				`inetd.conf:2:21: unknown group "4294967296"`,
				`inetd.conf:3:21: unknown user "00"`,
			},
		},
		// Built-in problems: unknown name, missing name on a numeric port or
		// a unix socket, extra words, and wait.
		{
			name: "bad builtins",
			conf: "telnet stream tcp nowait root internal\n7007 stream tcp nowait root internal\n7008 stream tcp nowait root internal echoo\n7009 stream tcp nowait root internal echo extra\necho stream tcp wait root internal\n/run/e.sock stream unix nowait root internal\n",
			wantErr: []string{
				`inetd.conf:1:1: unknown built-in "telnet"; expect echo, discard, chargen, daytime or time`,
				`inetd.conf:2:29: internal service on "7007" needs a built-in name after "internal"; expect echo, discard, chargen, daytime or time`,
				`inetd.conf:3:38: unknown built-in "echoo"; expect echo, discard, chargen, daytime or time`,
				`inetd.conf:4:43: unexpected "extra" after the built-in name; built-ins take no arguments`,
				`inetd.conf:5:17: built-in "echo" must be nowait; built-ins run inside hinetd`,
				`inetd.conf:6:37: internal service on "/run/e.sock" needs a built-in name after "internal"; expect echo, discard, chargen, daytime or time`,
			},
		},
		// External programs: absolute, existing, a regular executable file.
		{
			name: "bad programs",
			conf: "7 stream tcp nowait root cat\n8 stream tcp nowait root /nonexistent/prog\n9 stream tcp nowait root " + noexec + "\n10 stream tcp nowait root " + aDir + "\n",
			wantErr: []string{
				`inetd.conf:1:26: server program "cat" must be an absolute path or "internal"`,
				`inetd.conf:2:26: server program "/nonexistent/prog" does not exist`,
				`inetd.conf:3:26: server program "` + noexec + `" is not executable`,
				`inetd.conf:4:27: server program "` + aDir + `" is not a regular file`,
			},
		},
		// Control characters (here NUL and ESC) are refused, with column.
		{
			name: "control characters",
			conf: "echo stream tcp nowait root internal\x00\n\x1b stream\n",
			wantErr: []string{
				`inetd.conf:1:37: control character '\x00'; only spaces and tabs separate fields`,
				`inetd.conf:2:1: control character '\x1b'; only spaces and tabs separate fields`,
			},
		},
		// Duplicates are an error on the later line naming the first; tcp
		// and tcp4 on one IPv4 address are the same socket; one unix path
		// is one socket whatever its type.
		{
			name: "duplicates",
			conf: "echo stream tcp nowait root internal\n# x\necho stream tcp4 nowait root internal\n0.0.0.0:7 stream tcp nowait root /bin/cat\n/run/s stream unix nowait root internal echo\n/run/s dgram unix nowait root internal echo\n[::1]:7 stream tcp nowait root internal echo\n::1:7 stream tcp6 nowait root internal echo\n",
			want: []string{
				"1 tcp4 0.0.0.0:7 stream/tcp nowait root 0:0 internal=echo",
				"5 unix /run/s stream/unix nowait root 0:0 internal=echo",
				"7 tcp6 [::1]:7 stream/tcp nowait root 0:0 internal=echo",
			},
			wantErr: []string{
				"inetd.conf:3: duplicate service tcp4 0.0.0.0:7; first defined on line 1",
				"inetd.conf:4: duplicate service tcp4 0.0.0.0:7; first defined on line 1",
				"inetd.conf:6: duplicate service unix /run/s; first defined on line 5",
				"inetd.conf:8: duplicate service tcp6 [::1]:7; first defined on line 7",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, errs := parseText(t, tt.conf, tt.opts)
			if snap == nil {
				t.Fatalf("nil snapshot, errors %v", errs)
			}
			var gotErr []string
			for _, e := range errs {
				gotErr = append(gotErr, e.Error())
			}
			var got []string
			for _, s := range snap.Services {
				got = append(got, render(s))
			}
			if strings.Join(gotErr, "\n") != strings.Join(tt.wantErr, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(gotErr, "\n"), strings.Join(tt.wantErr, "\n"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("services:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// An unreadable file is one error and no snapshot.
func TestParseMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.conf")
	snap, errs := Parse(path, Options{})
	if snap != nil {
		t.Errorf("snapshot %+v, want nil", snap)
	}
	if len(errs) != 1 || !errors.Is(errs[0], os.ErrNotExist) || !strings.Contains(errs[0].Error(), path) {
		t.Errorf("errors %v, want one not-exist error naming %s", errs, path)
	}
}

// Snapshot fields: path, sha256 of the bytes, load time, and *Error values
// carrying file, line and column for tools such as hinetd-check.
func TestSnapshotFields(t *testing.T) {
	conf := "echo stream tcp nowait root internal\necho strem tcp nowait root internal\n"
	snap, errs := parseText(t, conf, Options{})
	sum := sha256.Sum256([]byte(conf))
	if snap.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("Hash %s, want sha256 of the file", snap.Hash)
	}
	if snap.Path != "inetd.conf" || snap.LoadedAt.IsZero() {
		t.Errorf("Path %q LoadedAt %v", snap.Path, snap.LoadedAt)
	}
	if s := snap.Services[0]; s.File != "inetd.conf" || s.Line != 1 || s.Name != "echo" || s.Addr != "" {
		t.Errorf("service %+v", s)
	}
	var pe *Error
	if len(errs) != 1 || !errors.As(errs[0], &pe) {
		t.Fatalf("errors %v, want one *Error", errs)
	}
	if *pe != (Error{File: "inetd.conf", Line: 2, Col: 6, Msg: `unknown socket type "strem"; expect stream or dgram`}) {
		t.Errorf("error %+v", *pe)
	}
}

// Addr keeps the host part as written, brackets included.
func TestAddrAsWritten(t *testing.T) {
	snap, errs := parseText(t, "[::1]:echo stream tcp nowait root internal\n*:echo stream tcp nowait root internal\n", Options{})
	if len(errs) != 0 {
		t.Fatal(errs)
	}
	if a, b := snap.Services[0].Addr, snap.Services[1].Addr; a != "[::1]" || b != "*" {
		t.Errorf("Addr %q %q", a, b)
	}
}

// TestUnterminated: a last line without its newline is marked (a write
// cut short looks like this) and still parsed.
func TestUnterminated(t *testing.T) {
	for _, tc := range []struct {
		text string
		want int
	}{
		{"", 0},
		{"\n", 0},
		{"# a\n127.0.0.1:7 stream tcp nowait root internal echo\n", 0},
		{"# a\n127.0.0.1:7 stream tcp nowait root internal echo", 2}, // cut at the end of the line
		{"# a\n127.0.0.1:7 stream tc", 2},                            // cut mid-line
	} {
		p := filepath.Join(t.TempDir(), "inetd.conf")
		os.WriteFile(p, []byte(tc.text), 0o644)
		snap, _ := Parse(p, Options{})
		if snap.Unterminated != tc.want {
			t.Errorf("%q: Unterminated %d, want %d", tc.text, snap.Unterminated, tc.want)
		}
	}
}

// TestTCPDAndMustNotRun: a line that runs its server through tcpd runs the
// server directly (argv[0] as tcpd would give it), the server must exist;
// and a standalone daemon is refused, also behind tcpd, by its own name or
// the name a symbolic link resolves to.
func TestTCPDAndMustNotRun(t *testing.T) {
	sbin := t.TempDir()
	for _, name := range []string{"tcpd", "in.rshd", "sendmail", "rpc.statd", "lockd", "rpc.lockd", "in.rwhod", "named", "rpc.mountd"} {
		if err := os.WriteFile(filepath.Join(sbin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.Symlink(filepath.Join(sbin, "sendmail"), filepath.Join(sbin, "mta"))
	tcpd := filepath.Join(sbin, "tcpd")
	tests := []struct {
		name    string
		conf    string
		want    []string // render() and the wrapper
		wantErr []string
	}{
		// Debian's form: tcpd, then the server's path as argv[0]; the
		// server gets its base name, as tcpd gives it.
		{
			name: "tcpd with a path",
			conf: "shell stream tcp nowait root TCPD SBIN/in.rshd -L\n",
			want: []string{`1 tcp4 0.0.0.0:514 stream/tcp nowait root 0:0 SBIN/in.rshd ["in.rshd" "-L"] wrapper=TCPD`},
		},
		// A bare name is looked for in tcpd's REAL_DAEMON_DIR, /usr/sbin.
		{
			name:    "tcpd with a bare name that is not in /usr/sbin",
			conf:    "shell stream tcp nowait root TCPD in.nonesuchd\n",
			wantErr: []string{`inetd.conf:1:COL: server program "/usr/sbin/in.nonesuchd" does not exist (the server TCPD would run)`},
		},
		// The wrapped server must exist, like any server.
		{
			name:    "tcpd with a missing server",
			conf:    "shell stream tcp nowait root TCPD SBIN/in.nonesuchd\n",
			wantErr: []string{`inetd.conf:1:COL: server program "SBIN/in.nonesuchd" does not exist (the server TCPD would run)`},
		},
		// tcpd alone has nothing to run.
		{
			name:    "tcpd without a server",
			conf:    "shell stream tcp nowait root TCPD\n",
			wantErr: []string{`inetd.conf:1:30: TCPD needs the server it wraps as argv[0] ("TCPD /usr/sbin/in.fingerd")`},
		},
		// Standalone daemons are refused, directly, behind tcpd, by the
		// name a link resolves to, and by argv[0].
		{
			name: "must not run",
			conf: "smtp stream tcp nowait root TCPD SBIN/sendmail -bs\n" +
				"7001 stream tcp nowait root SBIN/rpc.statd\n" +
				"7002 dgram udp wait root SBIN/lockd\n" +
				"7003 dgram udp wait root TCPD SBIN/rpc.lockd\n" +
				"who dgram udp wait root SBIN/in.rwhod\n" +
				"7004 stream tcp nowait root SBIN/mta -bs\n" +
				"7005 stream tcp nowait root SBIN/in.rshd named\n" +
				"7006 stream tcp nowait root SBIN/rpc.mountd\n",
			wantErr: []string{
				`inetd.conf:1:29: SBIN/sendmail is sendmail (a mail transfer agent): a standalone daemon, which inetd(8) says must not be run from inetd; the service is not started`,
				`inetd.conf:2:29: SBIN/rpc.statd is rpc.statd (a NFS status monitor): a standalone daemon, which inetd(8) says must not be run from inetd; the service is not started`,
				`inetd.conf:3:26: SBIN/lockd is lockd (a NFS lock daemon): a standalone daemon, which inetd(8) says must not be run from inetd; the service is not started`,
				`inetd.conf:4:26: SBIN/rpc.lockd is rpc.lockd (a NFS lock daemon): a standalone daemon, which inetd(8) says must not be run from inetd; the service is not started`,
				`inetd.conf:5:25: SBIN/in.rwhod is in.rwhod (a rwho daemon): a standalone daemon, which inetd(8) says must not be run from inetd; the service is not started`,
				`inetd.conf:6:29: SBIN/mta is sendmail (a mail transfer agent): a standalone daemon, which inetd(8) says must not be run from inetd; the service is not started`,
				`inetd.conf:7:29: SBIN/in.rshd is named (a DNS server): a standalone daemon, which inetd(8) says must not be run from inetd; the service is not started`,
				`inetd.conf:8:29: SBIN/rpc.mountd is rpc.mountd (a NFS mount daemon): a standalone daemon, which inetd(8) says must not be run from inetd; the service is not started`,
			},
		},
	}
	subst := func(s string) string {
		// COL: where argv[0] starts after "shell stream tcp nowait root TCPD ".
		s = strings.ReplaceAll(s, "COL", fmt.Sprint(len("shell stream tcp nowait root ")+len(tcpd)+2))
		return strings.ReplaceAll(strings.ReplaceAll(s, "TCPD", tcpd), "SBIN", sbin)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap, errs := parseText(t, subst(tt.conf), Options{})
			var got, gotErr []string
			for _, e := range errs {
				gotErr = append(gotErr, e.Error())
			}
			for _, s := range snap.Services {
				got = append(got, render(s)+" wrapper="+s.Wrapper)
			}
			for i := range tt.want {
				tt.want[i] = subst(tt.want[i])
			}
			for i := range tt.wantErr {
				tt.wantErr[i] = subst(tt.wantErr[i])
			}
			if strings.Join(gotErr, "\n") != strings.Join(tt.wantErr, "\n") {
				t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(gotErr, "\n"), strings.Join(tt.wantErr, "\n"))
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("services:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}
