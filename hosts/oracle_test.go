package hosts_test

// TestOracle: decisions on real loopback connections, made by libwrap the
// way a daemon linked with it makes them (request_init, fromhost,
// hosts_access: testdata/oracle/libwrap_oracle.c), against this package
// given what hinetd's accept path knows (client and server address and
// port; names looked up through the Resolver). It covers what tcpdmatch
// cannot express: server ports (numeric daemon patterns), server
// addresses and names as a daemon sees them, and an IPv4 client on an
// IPv6 socket (IPv4-mapped). It runs in a private mount and network
// namespace; spawn and twist are left out because libwrap would run them.
//
// HOSTS_ORACLE_SEED=n replays a run; HOSTS_ORACLE_N sets the case count.

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hinetd/hinetd/hosts"
	"github.com/hinetd/hinetd/internal/acl"

	"github.com/hinetd/hinetd/internal/testenv"
)

const loHosts = `127.0.0.1 localhost.localdomain localhost
127.0.0.2 srv2.example srv2
127.0.0.5 localhost
127.0.1.1 a.example a
127.0.1.2 b.sub.example
127.0.1.3 Mixed.Example
127.0.1.4 127.9.9.9
127.0.1.5 single
127.0.1.6 c.other.org
127.0.1.7 twice.example
127.0.1.8 twice.example
127.0.2.9 zed.example foo.example
127.0.2.1 foo.example
127.1.1.10 gw.lan.example gw
::1 ip6-localhost ip6-loopback
`

const loNetgroup = `trusted (a.example,,) (single,,) (gw.lan.example,-,)
outer (c.other.org,,) trusted
servers (srv2.example,,)
`

var loPool = &pool{
	addrs: []string{"127.0.1.1", "127.0.1.2", "127.0.1.3", "127.0.1.4", "127.0.1.5", "127.0.1.9", "127.0.1.6",
		"127.0.1.7", "127.0.1.200", "127.1.2.3", "127.255.0.1", "127.1.1.10", "127.0.2.1", "127.0.2.9",
		"127.0.0.1", "127.0.0.5", "::1", "::ffff:127.0.1.1", "::ffff:127.0.1.4"},
	netPrefixes: []string{"127.", "127.0.", "127.0.1.", "127.1.", "127.1.1."},
	masks: []struct{ net, mask string }{{"127.0.0.0", "255.0.0.0"}, {"127.0.0.0", "255.255.0.0"},
		{"127.0.1.0", "255.255.255.0"}, {"127.0.0.0", "255.255.254.0"}, {"127.0.1.0", "255.255.255.254"},
		{"0.0.0.0", "0.0.0.0"}, {"127.0.0.0", "255.0.255.0"}, {"0.0.0.1", "0.0.0.255"}},
	lens: []string{"127.0.0.0/8", "127.0.0.0/16", "127.0.1.0/24", "127.0.1.4/30", "127.0.1.6/31", "127.1.0.0/16",
		"127.0.1.7/32", "126.0.0.0/7"},
	v6: []string{"[::1]", "[::1]/128", "[::]/0", "[::]/127", "[2001:db8::]/32"},
	names: []string{"a.example", "a", "b.sub.example", "mixed.example", "single", "c.other.org", "twice.example",
		"gw.lan.example", "gw", "localhost", "foo.example", "zed.example", "localhost.localdomain", "srv2.example", "ip6-localhost"},
	suffixes: []string{".example", ".sub.example", ".other.org", ".org", ".lan.example", ".localdomain", ".1", ".0.1"},
	wilds: []string{"*.example", "?.example", "127.0.1.?", "127.0.*", "*.other.*", "s*", "*", "gw*", "*.EXAMPLE",
		"b.*.example", "1?7.0.1.1", "ip6-*"},
	serverPats: []string{"127.0.0.1", "127.0.0.2", "127.0.0.0/8", "LOCAL", "KNOWN", "UNKNOWN", "localhost", "srv2.example",
		".example", "[::1]", "ALL", "srv2", "@servers", "PARANOID"},
	noExec: true,
}

type oracleCase struct {
	c              diffCase
	client, server string
	port           int
}

func TestOracle(t *testing.T) {
	testenv.NeedRoot(t) // a private network namespace for real connections
	testenv.NeedFile(t, "/usr/include/tcpd.h", "libwrap0-dev")
	gcc := testenv.NeedTool(t, "gcc", "gcc")
	root := t.TempDir()
	prog := filepath.Join(root, "oracle")
	if out, err := exec.Command(gcc, "-O2", "-o", prog, "testdata/oracle/libwrap_oracle.c", "-lwrap").CombinedOutput(); err != nil {
		t.Fatalf("build oracle: %v\n%s", err, out)
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("HOSTS_ORACLE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	n := 1000
	if s := os.Getenv("HOSTS_ORACLE_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	t.Logf("seed %d (replay: HOSTS_ORACLE_SEED=%d go test ./hosts -run TestOracle)", seed, seed)
	r := rand.New(rand.NewPCG(seed, 0x6f7261636c65))
	cases := make([]oracleCase, n)
	var input strings.Builder
	for i := range cases {
		dir := filepath.Join(root, "c"+strconv.Itoa(i))
		os.MkdirAll(dir, 0o755)
		g := &gen{p: loPool, r: r, dir: dir, refs: map[string][]byte{}}
		c := diffCase{dir: dir, allow: g.file2(r.IntN(5)), deny: g.file2(r.IntN(4))}
		if r.IntN(3) == 0 {
			c.deny += "ALL: ALL\n"
		}
		c.refs = g.refs
		c.daemon = g.pick(diffDaemons)
		oc := oracleCase{c: c, client: g.pick(loPool.addrs), port: []int{79, 7979, 2222}[r.IntN(3)]}
		oc.server = g.pick([]string{"127.0.0.1", "127.0.0.2", "127.0.0.5"})
		if oc.client == "::1" {
			oc.server = "::1"
		}
		cases[i] = oc
		os.WriteFile(filepath.Join(dir, "hosts.allow"), []byte(c.allow), 0o644)
		os.WriteFile(filepath.Join(dir, "hosts.deny"), []byte(c.deny), 0o644)
		for p, b := range c.refs {
			os.WriteFile(p, b, 0o644)
		}
		client := oc.client
		if strings.HasPrefix(client, "::ffff:") {
			client = "m:" + strings.TrimPrefix(client, "::ffff:")
		}
		fmt.Fprintf(&input, "%s %s %s %s %d\n", dir, c.daemon, client, oc.server, oc.port)
	}
	up, work := filepath.Join(root, "upper"), filepath.Join(root, "work")
	os.MkdirAll(up, 0o755)
	os.MkdirAll(work, 0o755)
	os.WriteFile(filepath.Join(up, "hosts"), []byte(loHosts), 0o644)
	os.WriteFile(filepath.Join(up, "nsswitch.conf"), []byte("hosts: files\nnetgroup: files\npasswd: files\ngroup: files\n"), 0o644)
	os.WriteFile(filepath.Join(up, "netgroup"), []byte(loNetgroup), 0o644)
	script := fmt.Sprintf("mount -t overlay overlay -o lowerdir=/etc,upperdir=%s,workdir=%s /etc || exit 3\nexec %s\n", up, work, prog)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "unshare", "-m", "-n", "--propagation", "private", "sh", "-c", script)
	cmd.Stdin = strings.NewReader(input.String())
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 3 {
		testenv.Skip(t, "overlayfs unavailable: cannot give libwrap a test-owned /etc")
	}
	if err != nil {
		t.Fatalf("oracle: %v: %s", err, out)
	}
	lines := []string{}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) != n {
		t.Fatalf("oracle answered %d of %d cases:\n%s", len(lines), n, out)
	}
	res := acl.ParseHostsFile(loHosts)
	ng := parseNetgroups(loNetgroup)
	fails := 0
	for i, oc := range cases {
		f := strings.Fields(lines[i])
		if len(f) != 3 {
			t.Fatalf("case %d: oracle said %q", i, lines[i])
		}
		tb, err := hosts.Compile(hosts.Source{Name: "hosts.allow", Text: []byte(oc.c.allow)},
			hosts.Source{Name: "hosts.deny", Text: []byte(oc.c.deny)}, hosts.ParseOptions{ReadFile: os.ReadFile})
		if err != nil {
			t.Fatalf("case %d: %v\n%s", i, err, oc.c)
		}
		req := hosts.Request{Daemon: oc.c.daemon, ClientAddr: netip.MustParseAddr(oc.client), ClientPort: 40000,
			ServerAddr: netip.MustParseAddr(oc.server), ServerPort: uint16(oc.port), Resolver: res, Netgroups: ng}
		d := tb.Decide(req)
		name := hosts.VerifiedName(context.Background(), res, req.ClientAddr)
		if d.Verdict.String() != f[0] || !strings.EqualFold(name, f[1]) {
			t.Errorf("case %d: %s %s -> %s:%d: hinetd %v (client name %s), libwrap %s (client name %s)\n%s",
				i, oc.c.daemon, oc.client, oc.server, oc.port, d.Verdict, name, f[0], f[1], oc.c)
			if fails++; fails >= 10 {
				t.Fatalf("stopping after %d failures (seed %d)", fails, seed)
			}
		}
	}
}
