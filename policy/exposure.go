package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// Exposure is what a compromised service could do: the ids it runs with,
// the capabilities it keeps, what its seccomp filter lets through, and its
// limits. hinetd-check prints it per service.
type Exposure struct {
	Service, Policy string
	User            string
	UID, GID        int
	Groups          []int
	SwitchIDs       bool
	Caps            []string // "CAP_NET_BIND_SERVICE"

	Seccomp             bool // false only for "seccomp off"
	SeccompGroups       []string
	SeccompAllow        []string
	SeccompDeny         []string
	SeccompAction       string
	SeccompInstructions int

	NoNewPrivs bool
	Rlimits    []string // "nofile=1024/1024"
	Chroot     string
	Dir        string
	Umask      int
	Nice       int
	Env        []string // the environment but for the default PATH
	Isolation  []string // Isolation.Lines: file system, processes, network
}

// Exposure summarizes sp.
func (sp *Spec) Exposure() Exposure {
	e := Exposure{
		Service: sp.Service, Policy: sp.Policy, User: sp.User,
		UID: sp.UID, GID: sp.GID, Groups: append([]int(nil), sp.Groups...), SwitchIDs: sp.SwitchIDs,
		Seccomp:       !sp.NoSeccomp && len(sp.Seccomp) > 0,
		SeccompGroups: sp.SeccompGroups, SeccompAllow: sp.SeccompAllow, SeccompDeny: sp.SeccompDeny,
		SeccompAction: sp.SeccompAction, SeccompInstructions: len(sp.Seccomp) / 8,
		NoNewPrivs: !sp.AllowNewPrivs,
		Chroot:     sp.Chroot, Dir: sp.Dir, Umask: sp.Umask, Nice: sp.Nice,
		Isolation: sp.Isolation.Lines(),
	}
	for _, c := range sp.KeepCaps {
		e.Caps = append(e.Caps, CapName(c))
	}
	for _, v := range sp.Env {
		if v != DefaultEnvPath {
			e.Env = append(e.Env, v)
		}
	}
	for _, r := range sp.Rlimits {
		e.Rlimits = append(e.Rlimits, RlimitName(r.Resource)+"="+limitString(r.Cur)+"/"+limitString(r.Max))
	}
	return e
}

func limitString(v uint64) string {
	if v == Infinity {
		return "infinity"
	}
	return strconv.FormatUint(v, 10)
}

func orNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, " ")
}

// String is the multi-line report hinetd-check prints.
func (e Exposure) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "service %s (policy %s)\n", e.Service, e.Policy)
	groups := make([]string, len(e.Groups))
	for i, g := range e.Groups {
		groups[i] = strconv.Itoa(g)
	}
	ids := fmt.Sprintf("uid %d", e.UID)
	if e.User != "" {
		ids = fmt.Sprintf("user %s (uid %d)", e.User, e.UID)
	}
	fmt.Fprintf(&b, "  ids:          %s, gid %d, groups %s", ids, e.GID, orNone(groups))
	if !e.SwitchIDs {
		b.WriteString(" (hinetd's own: not root)")
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "  capabilities: %s\n", orNone(e.Caps))
	if e.Seccomp {
		fmt.Fprintf(&b, "  seccomp:      %s", strings.Join(e.SeccompGroups, " "))
		for _, a := range e.SeccompAllow {
			b.WriteString(" +" + a)
		}
		for _, d := range e.SeccompDeny {
			b.WriteString(" -" + d)
		}
		fmt.Fprintf(&b, "; on violation: %s (%d instructions)\n", e.SeccompAction, e.SeccompInstructions)
	} else {
		b.WriteString("  seccomp:      off\n")
	}
	nnp := "on"
	if !e.NoNewPrivs {
		nnp = "off (setuid programs can gain privileges)"
	}
	fmt.Fprintf(&b, "  no_new_privs: %s\n", nnp)
	fmt.Fprintf(&b, "  rlimits:      %s\n", orNone(e.Rlimits))
	chroot := e.Chroot
	if chroot == "" {
		chroot = "none"
	}
	fmt.Fprintf(&b, "  chroot:       %s, dir %s, umask %04o, nice %d\n", chroot, e.Dir, e.Umask, e.Nice)
	if len(e.Env) > 0 {
		fmt.Fprintf(&b, "  environment:  %s (and PATH)\n", strings.Join(e.Env, " "))
	}
	for _, l := range e.Isolation {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	return b.String()
}

// Warnings lists what hinetd-check should warn about for one inetd.conf
// entry. name and proto are inetd.conf's ("chargen", "udp6"); sp is the
// compiled spec, nil for a service hinetd runs itself ("internal").
func Warnings(name, proto string, sp *Spec) []string {
	var w []string
	if strings.HasPrefix(proto, "udp") && (name == "chargen" || name == "echo") {
		w = append(w, fmt.Sprintf("%s/%s offers UDP %s: a reflection and amplification source for spoofed requests", name, proto, name))
	}
	if sp == nil {
		return w
	}
	if sp.UID == 0 && sp.SwitchIDs {
		w = append(w, fmt.Sprintf("%s runs as root", name))
	}
	if len(sp.KeepCaps) > 0 {
		caps := make([]string, len(sp.KeepCaps))
		for i, c := range sp.KeepCaps {
			caps[i] = CapName(c)
		}
		w = append(w, fmt.Sprintf("%s keeps capabilities %s", name, strings.Join(caps, " ")))
	}
	if sp.NoSeccomp || len(sp.Seccomp) == 0 {
		w = append(w, fmt.Sprintf("%s has no seccomp filter", name))
	} else if sp.SeccompAction == "log" {
		w = append(w, fmt.Sprintf("%s: seccomp only logs violations", name))
	}
	if sp.AllowNewPrivs {
		w = append(w, fmt.Sprintf("%s runs without no_new_privs", name))
	}
	for _, o := range sp.Isolation.OptOuts() {
		w = append(w, name+" "+o)
	}
	return w
}
