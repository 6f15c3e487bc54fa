package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hinetd/hinetd/hosts"
)

// A wait-mode service hands its listening socket to the server, which
// accepts (or reads) its clients itself: hinetd never sees them, so the
// hosts rules cannot be applied in user space as for nowait services.
// They are applied in the kernel instead, by a classic BPF socket filter
// on the listening socket (socket(7) SO_ATTACH_FILTER) compiled from the
// rules that can apply to the service (hosts.Table.AddressRules). For
// TCP the kernel runs a listening socket's filter on every packet that
// reaches it, the SYN included (net/ipv4/tcp_ipv4.c tcp_v4_rcv: tcp_filter
// before the LISTEN state is handled, and again for the handshake's last
// ACK): a SYN the filter drops makes no connection, so a denied client
// never reaches the accept queue, the server never sees it, and hinetd
// never wakes for it. Accepted sockets inherit the filter, which passes
// the granted client's packets. For UDP the filter runs on every datagram
// (udp_queue_rcv_one_skb). The program is checked by the kernel when it
// is attached and needs no privilege and no eBPF map.

// skfNetOff is SKF_NET_OFF (linux/filter.h): loads relative to the
// network header, since a socket filter's packet starts at the transport
// header.
const skfNetOff = -0x100000

// netOff is the K of a load at off bytes into the network header.
func netOff(off int32) uint32 { return uint32(skfNetOff + off) }

// FilterMaxInstructions is the kernel's limit for a classic BPF program
// (BPF_MAXINSNS).
const FilterMaxInstructions = unix.BPF_MAXINSNS

// acceptAll is what the program returns to keep a packet: the whole of it
// (sk_filter_trim_cap trims the packet to the returned length).
const acceptAll = 0xffffffff

// Filter is a compiled socket filter. The zero value is no filter.
type Filter struct {
	prog []unix.SockFilter
}

// Len is the number of instructions.
func (f *Filter) Len() int { return len(f.prog) }

// DropAll is a filter that lets no packet in: what a wait-mode service
// gets while its rules cannot be compiled (fail closed).
func DropAll() *Filter {
	return &Filter{prog: []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}}
}

// CompileFilter builds the socket filter that decides as rules do
// (hosts.DecideAddr): the first rule whose client list matches the
// packet's source address gives the verdict, else the packet is let in
// (libwrap's default grant). Packets that are neither IPv4 nor IPv6 are
// dropped. It fails when the program would exceed the kernel's limit.
func CompileFilter(rules []hosts.AddrRule) (*Filter, error) {
	var g gen
	accept, drop, v6 := g.label(), g.label(), g.label()
	// A = IP version (the high nibble of the first byte).
	g.op(unix.BPF_LD|unix.BPF_B|unix.BPF_ABS, netOff(0))
	g.op(unix.BPF_ALU|unix.BPF_RSH|unix.BPF_K, 4)
	g.jumpIf(6, v6)
	g.jumpIfNot(4, drop)
	// IPv4: the source address in M[0].
	g.op(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, netOff(12))
	g.op(unix.BPF_ST, 0)
	g.rules(rules, false, accept, drop)
	g.place(v6)
	// IPv6: the source address in M[0..3].
	for i := int32(0); i < 4; i++ {
		g.op(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, netOff(8+4*i))
		g.op(unix.BPF_ST, uint32(i))
	}
	g.rules(rules, true, accept, drop)
	g.place(accept)
	g.op(unix.BPF_RET|unix.BPF_K, acceptAll)
	g.place(drop)
	g.op(unix.BPF_RET|unix.BPF_K, 0)
	prog, err := g.resolve()
	if err != nil {
		return nil, err
	}
	if len(prog) > FilterMaxInstructions {
		return nil, fmt.Errorf("the rules make a socket filter of %d instructions; the kernel takes at most %d", len(prog), FilterMaxInstructions)
	}
	return &Filter{prog: prog}, nil
}

// Attach puts f on the socket fd, replacing any filter it had; a nil or
// zero Filter removes the filter.
func (f *Filter) Attach(fd int) error {
	if f == nil || len(f.prog) == 0 {
		err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DETACH_FILTER, 0)
		if errors.Is(err, unix.ENOENT) {
			err = nil // there was none
		}
		if err != nil {
			return fmt.Errorf("setsockopt(SO_DETACH_FILTER): %w", err)
		}
		return nil
	}
	prog := unix.SockFprog{Len: uint16(len(f.prog)), Filter: &f.prog[0]}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
		if errors.Is(err, unix.EPERM) {
			// Linux 6.18 (at least) wants CAP_NET_ADMIN for a filter
			// on a TCP socket; UDP sockets need nothing.
			return fmt.Errorf("setsockopt(SO_ATTACH_FILTER, %d instructions): %w (a filter on a TCP socket needs CAP_NET_ADMIN, which hinetd keeps only when its configuration at start has a wait-mode stream service: restart it)", len(f.prog), err)
		}
		return fmt.Errorf("setsockopt(SO_ATTACH_FILTER, %d instructions): %w", len(f.prog), err)
	}
	return nil
}

// gen assembles a classic BPF program with forward labels. Conditional
// jumps in classic BPF reach at most 255 instructions; every conditional
// here skips one instruction, an unconditional "ja" (32-bit offset) to the
// label, so that no program size can break a jump.
type gen struct {
	prog   []unix.SockFilter
	to     map[int]int // instruction index of a ja -> label
	labels []int       // label -> instruction index (-1: not placed)
}

func (g *gen) label() int {
	g.labels = append(g.labels, -1)
	return len(g.labels) - 1
}

func (g *gen) place(l int) { g.labels[l] = len(g.prog) }

func (g *gen) op(code uint16, k uint32) {
	g.prog = append(g.prog, unix.SockFilter{Code: code, K: k})
}

func (g *gen) ja(l int) {
	if g.to == nil {
		g.to = map[int]int{}
	}
	g.to[len(g.prog)] = l
	g.op(unix.BPF_JMP|unix.BPF_JA, 0)
}

// jumpIf jumps to l when A == k.
func (g *gen) jumpIf(k uint32, l int) {
	g.prog = append(g.prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 0, Jf: 1, K: k})
	g.ja(l)
}

// jumpIfNot jumps to l when A != k.
func (g *gen) jumpIfNot(k uint32, l int) {
	g.prog = append(g.prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, Jt: 1, Jf: 0, K: k})
	g.ja(l)
}

func (g *gen) resolve() ([]unix.SockFilter, error) {
	for at, l := range g.to {
		dst := g.labels[l]
		if dst < 0 || dst <= at {
			return nil, fmt.Errorf("socket filter: label %d not placed after %d", l, at)
		}
		g.prog[at].K = uint32(dst - at - 1)
	}
	return g.prog, nil
}

// rules emits the decision for one address family; the source address is
// in M[0] (IPv4) or M[0..3] (IPv6).
func (g *gen) rules(rules []hosts.AddrRule, v6 bool, accept, drop int) {
	for _, r := range rules {
		next := g.label()
		verdict := drop
		if r.Verdict == hosts.Granted {
			verdict = accept
		}
		g.list(r.Clients, v6, verdict, next)
		g.place(next)
	}
	g.ja(accept) // no rule matched: libwrap grants
}

// list - list_match: jump to yes when the source matches one item and not
// the exceptions, else to no.
func (g *gen) list(l *hosts.AddrList, v6 bool, yes, no int) {
	matched := g.label()
	for _, p := range l.Items {
		next := g.label()
		g.pattern(p, v6, next)
		g.ja(matched)
		g.place(next)
	}
	g.ja(no)
	g.place(matched)
	if l.Except == nil {
		g.ja(yes)
		return
	}
	g.list(l.Except, v6, no, yes)
}

// pattern falls through when the source matches p, else jumps to fail.
func (g *gen) pattern(p hosts.AddrPattern, v6 bool, fail int) {
	switch {
	case p.All:
	case p.Mask != 0:
		if v6 {
			g.ja(fail)
			return
		}
		g.word(0, p.Mask, p.Net, fail)
	case p.Prefix.IsValid():
		a := p.Prefix.Addr()
		if a.Is4() == v6 {
			g.ja(fail) // the other family never matches
			return
		}
		g.prefix(a, p.Prefix.Bits(), fail)
	default:
		g.ja(fail) // matches nothing
	}
}

// prefix compares the first bits of the source with a's.
func (g *gen) prefix(a netip.Addr, bits int, fail int) {
	b := a.AsSlice()
	for i := 0; i*32 < bits; i++ {
		n := min(bits-i*32, 32)
		mask := ^uint32(0) << (32 - n)
		w := uint32(b[4*i])<<24 | uint32(b[4*i+1])<<16 | uint32(b[4*i+2])<<8 | uint32(b[4*i+3])
		g.word(uint32(i), mask, w&mask, fail)
	}
}

// word checks M[i] & mask == want.
func (g *gen) word(i, mask, want uint32, fail int) {
	g.op(unix.BPF_LD|unix.BPF_MEM, i)
	if mask != ^uint32(0) {
		g.op(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, mask)
	}
	g.jumpIfNot(want, fail)
}

// WaitService says how the hosts rules t apply to a wait-mode service
// (the server gets the socket: stream servers accept their own clients,
// datagram servers read their own datagrams) named daemon, listening on
// server (an unspecified address: every address), and returns the socket
// filter to attach (nil: none needed, or none possible for a datagram
// service). how is said by hinetd-check and logged by the daemon.
//
// A stream service whose rules a filter cannot decide (a rule that can
// apply needs a host name, a user, the server's name or an option) is an
// error naming every such rule: hinetd cannot check its clients, and
// serving them anyway would ignore the rules. A datagram service keeps
// tcpd's rule instead: the first datagram of each server run is decided,
// the server then reads whatever comes; how says so. On a unix socket
// clients have no address: the rules' decision for such a client must
// grant, or the service is refused.
func WaitService(t *hosts.Table, daemon string, server netip.AddrPort, dgram, unixSocket bool) (f *Filter, how string, err error) {
	kind := "stream"
	if dgram {
		kind = "datagram"
	}
	if unixSocket {
		rules, err := t.AddressRules(daemon, netip.AddrPort{})
		if err != nil {
			return nil, "", fmt.Errorf("wait-mode %s service on a unix socket: its clients have no address, and %w", kind, err)
		}
		if v, r := hosts.DecideAddr(rules, netip.Addr{}); v == hosts.Denied {
			return nil, "", fmt.Errorf("wait-mode %s service on a unix socket: %s:%d %q denies every client", kind, r.File, r.Line, r.Text)
		}
		return nil, "unix socket: the hosts rules grant its clients, which have no address", nil
	}
	rules, err := t.AddressRules(daemon, server)
	if err == nil && len(rules) == 0 {
		return nil, "no hosts rule applies to " + daemon + ": every client is granted", nil
	}
	if err == nil {
		f, err = CompileFilter(rules)
	}
	if err != nil {
		if dgram {
			return nil, "hosts rules decide the first datagram of each server run only (tcpd's rule; the server reads the rest itself), since they cannot be compiled into a socket filter: " + err.Error(), nil
		}
		return nil, "", fmt.Errorf("wait-mode stream service: the server accepts its own clients, so the hosts rules are enforced by a socket filter on the client address, which cannot decide: %w", err)
	}
	var from []string
	for _, r := range rules {
		from = append(from, fmt.Sprintf("%s:%d", r.File, r.Line))
	}
	return f, fmt.Sprintf("clients filtered in the kernel by a socket filter (%d instructions) from %s; packets of denied clients are dropped and not logged",
		f.Len(), strings.Join(from, ", ")), nil
}
