package daemon

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/hinetd/hinetd/internal/config"
)

// staleHolder - find a datagram socket that another process holds on the
// port s is about to bind, overlapping its address: a wait server of an
// earlier hinetd (killed, or a version that left them running) still
// holding its listening socket. UDP sockets that both set SO_REUSEADDR
// bind side by side, and the kernel then hands each datagram to one of
// them: the stale server would go on serving, unconfigured by this
// configuration. It returns a description ("in.tftpd (pid 1234)") or "".
// Sockets in this process's own descriptor table (hinetd's listeners, and
// the same sockets held by its own wait servers) are not stale.
func staleHolder(s *config.Service) string {
	if s.SocketType != config.Dgram || s.Family == config.FamilyUnix {
		return ""
	}
	files := []string{"/proc/net/udp"}
	if s.Family != config.FamilyInet {
		files = []string{"/proc/net/udp6"}
	}
	if s.Family == config.FamilyDual || s.BindAddr.IsUnspecified() {
		files = []string{"/proc/net/udp", "/proc/net/udp6"}
	}
	var inodes []string
	for _, f := range files {
		inodes = append(inodes, udpInodes(f, s.BindAddr.Unmap(), s.Port)...)
	}
	if len(inodes) == 0 {
		return ""
	}
	own := socketInodes("/proc/self/fd")
	for _, ino := range inodes {
		if !own[ino] {
			return socketOwner(ino)
		}
	}
	return ""
}

// udpInodes lists the inodes of the sockets in a /proc/net/udp{,6} table
// bound to port on addr, on any address, or (for a wildcard addr) on any
// address at all.
func udpInodes(path string, addr netip.Addr, port uint16) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Fields(sc.Text())
		if len(fs) < 10 || !strings.Contains(fs[1], ":") {
			continue
		}
		a, p, ok := procAddr(fs[1])
		if !ok || p != port {
			continue
		}
		if addr.IsUnspecified() || a.IsUnspecified() || a.Unmap() == addr {
			out = append(out, fs[9])
		}
	}
	return out
}

// procAddr reads "0100007F:0045" (IPv4, the address in host byte order)
// or its 32-digit IPv6 form (four words in host byte order).
func procAddr(s string) (netip.Addr, uint16, bool) {
	h, ps, ok := strings.Cut(s, ":")
	p, err := strconv.ParseUint(ps, 16, 16)
	if !ok || err != nil {
		return netip.Addr{}, 0, false
	}
	b, err := hex.DecodeString(h)
	if err != nil || (len(b) != 4 && len(b) != 16) {
		return netip.Addr{}, 0, false
	}
	var out [16]byte
	for i := 0; i < len(b); i += 4 {
		binary.BigEndian.PutUint32(out[i:], binary.NativeEndian.Uint32(b[i:]))
	}
	if len(b) == 4 {
		return netip.AddrFrom4([4]byte(out[:4])), uint16(p), true
	}
	return netip.AddrFrom16(out).Unmap(), uint16(p), true
}

// socketInodes are the socket inodes of the descriptors in dir.
func socketInodes(dir string) map[string]bool {
	out := map[string]bool{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		l, err := os.Readlink(dir + "/" + e.Name())
		if ino, ok := strings.CutPrefix(l, "socket:["); err == nil && ok {
			out[strings.TrimSuffix(ino, "]")] = true
		}
	}
	return out
}

// socketOwner names a process holding socket inode ino, or says that none
// was found: a process of another pid namespace, gone, or one whose
// descriptors hinetd may not read (it holds capabilities hinetd dropped:
// ptrace access mode rules, ptrace(2)).
func socketOwner(ino string) string {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		if socketInodes("/proc/" + p.Name() + "/fd")[ino] {
			comm, _ := os.ReadFile("/proc/" + p.Name() + "/comm")
			return fmt.Sprintf("%s (pid %s)", strings.TrimSpace(string(comm)), p.Name())
		}
	}
	return "another process (socket inode " + ino + ")"
}
