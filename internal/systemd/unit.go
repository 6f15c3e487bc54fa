package systemd

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/hinetd/hinetd/internal/config"
)

// SocketUnits writes the .socket units that pass hinetd the sockets of
// services, such that each socket is the one Take matches to its service:
// explicit addresses (a bare port would make systemd bind a dual-stack
// [::]), one unit per IPV6_V6ONLY setting since BindIPv6Only= applies to
// a whole unit. It returns file name → text: "hinetd.socket", and
// "hinetd6.socket" when a tcp6/udp6 service needs IPV6_V6ONLY set.
func SocketUnits(services []*config.Service) map[string]string {
	type line struct{ key, text string }
	var main, v6 []line
	for _, s := range services {
		dir := "ListenStream"
		if s.SocketType == config.Dgram {
			dir = "ListenDatagram"
		}
		var where string
		switch s.Family {
		case config.FamilyUnix:
			where = s.Path
		case config.FamilyInet:
			where = netip.AddrPortFrom(s.BindAddr.Unmap(), s.Port).String()
		default:
			where = netip.AddrPortFrom(s.BindAddr, s.Port).String()
		}
		l := line{s.Key(), fmt.Sprintf("# %s:%d: %s (%s)\n%s=%s\nFileDescriptorName=%s\n", s.File, s.Line, s.Name, s.Protocol, dir, where, fdName(s))}
		if s.Family == config.FamilyInet6 {
			v6 = append(v6, l)
		} else {
			main = append(main, l)
		}
	}
	body := func(ls []line) string {
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].key < ls[j].key })
		var b strings.Builder
		for _, l := range ls {
			b.WriteString(l.text)
		}
		return b.String()
	}
	out := map[string]string{}
	head := func(desc, bind string) string {
		return "# Written by hinetd-check --systemd-socket: every socket is the one\n" +
			"# hinetd serves its service on (docs/systemd.md). systemctl enable --now\n" +
			"# this unit, then restart hinetd.service.\n" +
			"[Unit]\nDescription=" + desc + "\nPartOf=hinetd.service\n\n[Socket]\nService=hinetd.service\n" +
			"BindIPv6Only=" + bind + "\n# hinetd sets each listen queue itself (-q, listen-backlog)\nBacklog=1024\n"
	}
	tail := "\n[Install]\nWantedBy=sockets.target\n"
	if len(main) > 0 || len(v6) == 0 {
		out["hinetd.socket"] = head("hinetd listening sockets", "both") + body(main) + tail
	}
	if len(v6) > 0 {
		out["hinetd6.socket"] = head("hinetd listening sockets, IPv6 only (tcp6, udp6)", "ipv6-only") + body(v6) + tail +
			"# hinetd.service needs both units: systemctl edit hinetd.service, then\n# [Service]\n# Sockets=hinetd.socket hinetd6.socket\n"
	}
	return out
}

// fdName is a FileDescriptorName= for s: printable, no colon (the
// separator of LISTEN_FDNAMES), at most 255 characters.
func fdName(s *config.Service) string {
	n := s.Name + "-" + s.Protocol
	if s.Family == config.FamilyUnix {
		n = "unix" + strings.ReplaceAll(s.Path, "/", "-")
	}
	b := []byte(n)
	for i, c := range b {
		if c <= ' ' || c >= 0x7f || c == ':' {
			b[i] = '_'
		}
	}
	if len(b) > 255 {
		b = b[:255]
	}
	return string(b)
}
