package hosts

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/internal/testenv"
)

// benchRules returns a hosts.deny of n address rules (every fourth one a
// /24, the rest single addresses, as blocklists look) and a client that
// only the last rule matches, so a linear scan reads them all.
func benchRules(n int) (text string, client netip.Addr) {
	var b strings.Builder
	for i := 0; i < n; i++ {
		a := [4]byte{byte(11 + i>>16), byte(i >> 8), byte(i), 1}
		if i%4 == 3 && i != n-1 {
			fmt.Fprintf(&b, "ALL: %d.%d.%d.0/24\n", a[0], a[1], a[2])
		} else {
			fmt.Fprintf(&b, "ALL: %d.%d.%d.%d\n", a[0], a[1], a[2], a[3])
		}
		client = netip.AddrFrom4(a)
	}
	return b.String(), client
}

var benchSizes = []int{10, 1000, 100000}

// BenchmarkDecide: one decision against n address rules, first match
// near the end (the last rule).
func BenchmarkDecide(b *testing.B) {
	for _, n := range benchSizes {
		b.Run("rules="+strconv.Itoa(n), func(b *testing.B) {
			text, client := benchRules(n)
			tb, err := Compile(Source{"hosts.allow", nil}, Source{"hosts.deny", []byte(text)}, ParseOptions{})
			if err != nil {
				b.Fatal(err)
			}
			req := Request{Daemon: "sshd", ClientAddr: client}
			if d := tb.Decide(req); d.Verdict != Denied || d.Line != n {
				b.Fatalf("wrong decision %+v", d)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tb.Decide(req)
			}
		})
	}
}

// BenchmarkLoad: parse and compile n address rules.
func BenchmarkLoad(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run("rules="+strconv.Itoa(n), func(b *testing.B) {
			text, _ := benchRules(n)
			b.SetBytes(int64(len(text)))
			for i := 0; i < b.N; i++ {
				if _, err := Compile(Source{"hosts.allow", nil}, Source{"hosts.deny", []byte(text)}, ParseOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLibwrap: the same decisions through libwrap's hosts_ctl(3)
// (test/bench/hosts/hosts_ctl_bench.c, built here with gcc -lwrap), which
// reads and scans the files on every call as tcpd does per connection.
// Reported as libwrap-ns/op; skipped without gcc and libwrap0-dev.
func BenchmarkLibwrap(b *testing.B) {
	testenv.NeedFile(b, "/usr/include/tcpd.h", "libwrap0-dev")
	gcc := testenv.NeedTool(b, "gcc", "gcc")
	dir := b.TempDir()
	prog := filepath.Join(dir, "hosts_ctl_bench")
	_, self, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(self), "..", "test", "bench", "hosts", "hosts_ctl_bench.c")
	if out, err := exec.Command(gcc, "-O2", "-o", prog, src, "-lwrap").CombinedOutput(); err != nil {
		b.Fatalf("build %s: %v\n%s", src, err, out)
	}
	for _, n := range benchSizes {
		b.Run("rules="+strconv.Itoa(n), func(b *testing.B) {
			text, client := benchRules(n)
			deny := filepath.Join(dir, "deny"+strconv.Itoa(n))
			os.WriteFile(deny, []byte(text), 0o644)
			// b.N calls inside one process: the loop runs in C.
			out, err := exec.Command(prog, filepath.Join(dir, "noallow"), deny, "sshd", client.String(), strconv.Itoa(b.N)).Output()
			if err != nil {
				b.Fatal(err)
			}
			f := strings.Fields(string(out))
			if len(f) != 2 || f[0] != "denied" {
				b.Fatalf("libwrap said %q", out)
			}
			ns, _ := strconv.ParseFloat(f[1], 64)
			b.ReportMetric(ns, "libwrap-ns/op")
		})
	}
}
