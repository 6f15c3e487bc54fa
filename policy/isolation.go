package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Isolation is what a service may see and reach beyond its ids and
// capabilities (docs/policy.md, "Isolation"): the spawner builds it once,
// in namespaces of its own, and each child adds a process scope. The keys
// are named after the systemd settings administrators know.
//
// The zero Isolation is the default, everything on: the tree read-only
// (protect-system strict), /home, /root and /run/user inaccessible, a
// private /tmp, /var/tmp and /dev/shm, a minimal /dev, no setuid or setgid
// file can be made, a landlock scope and a pid namespace per spawner, and
// sockets of AF_UNIX, AF_INET and AF_INET6 only. Every field that weakens
// that is named as the opt-out it is.
type Isolation struct {
	// ProtectSystem: "" (strict: the whole tree read-only), "full" (/usr,
	// /boot, /efi, /etc read-only), "off".
	ProtectSystem string
	// ProtectHome: "" (on: inaccessible), "read-only", "off".
	ProtectHome string
	// Paths, absolute; a leading "-" marks one that may be missing.
	ReadWrite, ReadOnly, Inaccessible []string

	NoPrivateTmp     bool // "private-tmp off": the host's /tmp, /var/tmp, /dev/shm
	NoPrivateDevices bool // "private-devices off": the host's /dev (read-only under strict)
	Terminals        bool // "terminals on": a devpts instance of its own in the private /dev
	PrivateNetwork   bool // "private-network on": a network namespace with loopback only
	AllowSUIDSGID    bool // "restrict-suid-sgid off"
	NoProcessScope   bool // "process-scope off": no landlock scope, no pid namespace, the host's /proc

	// AddressFamilies are the socket families allowed (AF_ names); nil is
	// the default, DefaultAddressFamilies. AnyAddressFamily is the opt-out
	// ("address-families any").
	AddressFamilies  []string
	AnyAddressFamily bool
}

// DefaultAddressFamilies is what a service may open sockets of unless its
// policy says otherwise, as systemd's hardened units set
// RestrictAddressFamilies=.
var DefaultAddressFamilies = []string{"AF_UNIX", "AF_INET", "AF_INET6"}

// addressFamilies maps AF_ names to their numbers (<sys/socket.h>,
// the same on every Linux architecture).
var addressFamilies = map[string]int{
	"AF_UNIX": 1, "AF_LOCAL": 1, "AF_INET": 2, "AF_AX25": 3, "AF_IPX": 4, "AF_APPLETALK": 5,
	"AF_NETROM": 6, "AF_BRIDGE": 7, "AF_ATMPVC": 8, "AF_X25": 9, "AF_INET6": 10,
	"AF_ROSE": 11, "AF_DECnet": 12, "AF_NETBEUI": 13, "AF_SECURITY": 14, "AF_KEY": 15,
	"AF_NETLINK": 16, "AF_PACKET": 17, "AF_ASH": 18, "AF_ECONET": 19, "AF_ATMSVC": 20,
	"AF_RDS": 21, "AF_SNA": 22, "AF_IRDA": 23, "AF_PPPOX": 24, "AF_WANPIPE": 25,
	"AF_LLC": 26, "AF_IB": 27, "AF_MPLS": 28, "AF_CAN": 29, "AF_TIPC": 30,
	"AF_BLUETOOTH": 31, "AF_IUCV": 32, "AF_RXRPC": 33, "AF_ISDN": 34, "AF_PHONET": 35,
	"AF_IEEE802154": 36, "AF_CAIF": 37, "AF_ALG": 38, "AF_NFC": 39, "AF_VSOCK": 40,
	"AF_KCM": 41, "AF_QIPCRTR": 42, "AF_SMC": 43, "AF_XDP": 44, "AF_MCTP": 45,
}

// AddressFamilyNumber returns the number of an AF_ name.
func AddressFamilyNumber(name string) (int, bool) {
	n, ok := addressFamilies[name]
	return n, ok
}

// Families returns the allowed families (nil when any is allowed).
func (iso Isolation) Families() []string {
	switch {
	case iso.AnyAddressFamily:
		return nil
	case iso.AddressFamilies != nil:
		return iso.AddressFamilies
	}
	return DefaultAddressFamilies
}

// OptOuts lists the opt-outs iso makes, as the keys that make them, for
// hinetd-check's warnings; empty for the default.
func (iso Isolation) OptOuts() []string {
	var out []string
	add := func(on bool, s string) {
		if on {
			out = append(out, s)
		}
	}
	add(iso.ProtectSystem == "off", "protect-system off: the service may write every file its uid may")
	add(iso.ProtectSystem == "full", "protect-system full: /var, /srv, /opt … stay writable")
	add(iso.ProtectHome == "off", "protect-home off: home directories are visible")
	add(iso.ProtectHome == "read-only", "protect-home read-only: home directories are readable")
	add(iso.NoPrivateTmp, "private-tmp off: /tmp, /var/tmp and /dev/shm are shared with the host")
	add(iso.NoPrivateDevices, "private-devices off: the host's /dev is visible")
	add(iso.AllowSUIDSGID, "restrict-suid-sgid off: the service may make setuid and setgid files")
	add(iso.NoProcessScope, "process-scope off: the service may signal and ptrace processes of its uid, and sees every process in /proc")
	add(iso.AnyAddressFamily, "address-families any: the service may open sockets of every family (netlink, packet …)")
	return out
}

// Lines describes iso for the exposure report, one aspect a line.
func (iso Isolation) Lines() []string {
	ps := iso.ProtectSystem
	switch ps {
	case "":
		ps = "strict (the whole tree read-only)"
	case "full":
		ps = "full (/usr, /boot, /efi, /etc read-only)"
	case "off":
		ps = "off (writable wherever its uid may write)"
	}
	rw := "none"
	if len(iso.ReadWrite) > 0 {
		rw = strings.Join(iso.ReadWrite, " ")
	}
	ph := map[string]string{"": "inaccessible", "read-only": "read-only", "off": "visible"}[iso.ProtectHome]
	tmp := "private /tmp, /var/tmp, /dev/shm"
	if iso.NoPrivateTmp {
		tmp = "the host's /tmp, /var/tmp, /dev/shm"
	}
	dev := "minimal /dev (null zero full random urandom tty)"
	if iso.Terminals && !iso.NoPrivateDevices {
		dev += " and a devpts of its own"
	}
	if iso.NoPrivateDevices {
		dev = "the host's /dev"
	}
	scope := "own descendants only (landlock scope: signals, ptrace, /proc/PID/mem; pid namespace; /proc lists its own processes)"
	if iso.NoProcessScope {
		scope = "every process of its uid (signal, ptrace by uid rules; /proc shows all)"
	}
	suid := "refused (chmod/open/mknod with S_ISUID or S_ISGID fail EPERM)"
	if iso.AllowSUIDSGID {
		suid = "allowed"
	}
	fam := strings.Join(iso.Families(), " ")
	if iso.AnyAddressFamily {
		fam = "any"
	}
	net := "the host's"
	if iso.PrivateNetwork {
		net = "private (loopback only)"
	}
	out := []string{
		"read-only system: " + ps,
		"writable paths:   " + rw,
	}
	if len(iso.ReadOnly) > 0 {
		out = append(out, "read-only paths:  "+strings.Join(iso.ReadOnly, " "))
	}
	if len(iso.Inaccessible) > 0 {
		out = append(out, "hidden paths:     "+strings.Join(iso.Inaccessible, " "))
	}
	return append(out,
		"tmp:              "+tmp,
		"home:             "+ph,
		"devices:          "+dev,
		"process scope:    "+scope,
		"setuid/setgid:    "+suid,
		"address families: "+fam,
		"network:          "+net,
	)
}

// isolationSettings are the rows of settings (parse.go) for the isolation
// keys: how each line is read, and how the effective value goes into
// Spec.Isolation (an unset key leaves the zero value, the default).
var isolationSettings = []setting{
	{"protect-system", choice(func(p *Profile) *Field[string] { return &p.ProtectSystem }, "strict", "full", "off"),
		func(r *Profile, sp *Spec) { sp.Isolation.ProtectSystem = notDefault(r.ProtectSystem.Value, "strict") }},
	{"protect-home", choice(func(p *Profile) *Field[string] { return &p.ProtectHome }, "on", "read-only", "off"),
		func(r *Profile, sp *Spec) { sp.Isolation.ProtectHome = notDefault(r.ProtectHome.Value, "on") }},
	{"read-write", paths(func(p *Profile) *Field[[]string] { return &p.ReadWrite }),
		func(r *Profile, sp *Spec) { sp.Isolation.ReadWrite = slices.Clone(r.ReadWrite.Value) }},
	{"read-only", paths(func(p *Profile) *Field[[]string] { return &p.ReadOnly }),
		func(r *Profile, sp *Spec) { sp.Isolation.ReadOnly = slices.Clone(r.ReadOnly.Value) }},
	{"inaccessible", paths(func(p *Profile) *Field[[]string] { return &p.Inaccessible }),
		func(r *Profile, sp *Spec) { sp.Isolation.Inaccessible = slices.Clone(r.Inaccessible.Value) }},
	{"private-tmp", onOff(func(p *Profile) *Field[bool] { return &p.PrivateTmp }),
		func(r *Profile, sp *Spec) { sp.Isolation.NoPrivateTmp = off(r.PrivateTmp) }},
	{"private-devices", onOff(func(p *Profile) *Field[bool] { return &p.PrivateDevices }),
		func(r *Profile, sp *Spec) { sp.Isolation.NoPrivateDevices = off(r.PrivateDevices) }},
	{"terminals", onOff(func(p *Profile) *Field[bool] { return &p.Terminals }),
		func(r *Profile, sp *Spec) { sp.Isolation.Terminals = r.Terminals.Value }},
	{"private-network", onOff(func(p *Profile) *Field[bool] { return &p.PrivateNetwork }),
		func(r *Profile, sp *Spec) { sp.Isolation.PrivateNetwork = r.PrivateNetwork.Value }},
	{"restrict-suid-sgid", onOff(func(p *Profile) *Field[bool] { return &p.RestrictSUIDSGID }),
		func(r *Profile, sp *Spec) { sp.Isolation.AllowSUIDSGID = off(r.RestrictSUIDSGID) }},
	{"process-scope", onOff(func(p *Profile) *Field[bool] { return &p.ProcessScope }),
		func(r *Profile, sp *Spec) { sp.Isolation.NoProcessScope = off(r.ProcessScope) }},
	{"address-families", parseFamilies, func(r *Profile, sp *Spec) {
		f := r.AddressFamilies
		sp.Isolation.AnyAddressFamily = f.Set && f.Value == nil
		if f.Set && f.Value != nil {
			sp.Isolation.AddressFamilies = slices.Clone(f.Value)
		}
	}},
}

// off - an on/off key written "off" (unset is on).
func off(f Field[bool]) bool { return f.Set && !f.Value }

// notDefault - "" for the default value, else v.
func notDefault(v, def string) string {
	if v == def {
		return ""
	}
	return v
}

// choice - one of allowed, once per section.
func choice(field func(*Profile) *Field[string], allowed ...string) func(a *setArgs) {
	return func(a *setArgs) {
		v, ok := a.one()
		if !ok {
			return
		}
		if !slices.Contains(allowed, v) {
			a.errorf("bad %s value %q; expect %s", a.key, v, strings.Join(allowed, ", "))
			return
		}
		set(a, field(a.pr), v)
	}
}

// onOff - on or off, once per section.
func onOff(field func(*Profile) *Field[bool]) func(a *setArgs) {
	return func(a *setArgs) {
		if v, ok := a.onOff(); ok {
			set(a, field(a.pr), v)
		}
	}
}

// paths - absolute paths that exist (or "-PATH"); repeated lines in one
// section add up, as in systemd.
func paths(field func(*Profile) *Field[[]string]) func(a *setArgs) {
	return func(a *setArgs) {
		if len(a.args) == 0 {
			a.errorf("%q needs at least one path", a.key)
			return
		}
		bad := false
		for _, p := range a.args {
			if err := checkIsoPath(p); err != nil {
				a.errorf("%s %v", a.key, err)
				bad = true
			}
		}
		if bad {
			return
		}
		f := field(a.pr)
		set(a, f, append(slices.Clone(f.Value), a.args...))
	}
}

// parseFamilies - address-families AF_NAME... or any.
func parseFamilies(a *setArgs) {
	if len(a.args) == 0 {
		a.errorf("%q needs AF_ names, or any", a.key)
		return
	}
	if !a.p.scalar(a.line, a.key) {
		return
	}
	if len(a.args) == 1 && a.args[0] == "any" {
		set(a, &a.pr.AddressFamilies, nil)
		return
	}
	ok := true
	for _, f := range a.args {
		if _, known := addressFamilies[f]; !known {
			a.errorf("unknown address family %q; expect AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET … or any", f)
			ok = false
		}
	}
	if ok {
		set(a, &a.pr.AddressFamilies, slices.Clone(a.args))
	}
}

// isolationErrors - what a Spec's isolation cannot be combined with, and
// what it needs that hinetd without root cannot give.
func isolationErrors(r *Profile, sp *Spec, name string, opt CompileOptions) []error {
	var errs []error
	iso := sp.Isolation
	// landlock_restrict_self needs no_new_privs (or CAP_SYS_ADMIN, which a
	// child never has): landlock(7), "Restrictions".
	if sp.AllowNewPrivs && !iso.NoProcessScope {
		errs = append(errs, posErr(r.AllowNewPrivs.Pos, name,
			"no-new-privs off needs process-scope off: a landlock domain can only be entered with no_new_privs (landlock(7))"))
	}
	if opt.Unprivileged && (iso.NeedsMounts() || iso.PrivateNetwork) {
		errs = append(errs, posErr(r.Pos, name, "needs root for its isolation (mount, pid and network namespaces); "+
			"without root, set protect-system off, protect-home off, private-tmp off, private-devices off, "+
			"process-scope off and private-network off"))
	}
	return errs
}

// Restrictions is what the seccomp program refuses by argument for iso:
// setuid/setgid file modes, and socket families other than Families (nil:
// any family).
func (iso Isolation) Restrictions() (suidsgid bool, families []int) {
	if names := iso.Families(); names != nil {
		families = []int{}
		for _, n := range names {
			if v, ok := addressFamilies[n]; ok && !slices.Contains(families, v) {
				families = append(families, v)
			}
		}
		slices.Sort(families)
	}
	return !iso.AllowSUIDSGID, families
}

// statPath is os.Stat, replaceable in tests.
var statPath = os.Stat

// checkIsoPath - an absolute, clean path that exists, unless written
// "-PATH" (optional, as in systemd's ReadWritePaths=).
func checkIsoPath(a string) error {
	p := strings.TrimPrefix(a, "-")
	if !filepath.IsAbs(p) {
		return fmt.Errorf("path %q is not absolute", a)
	}
	if filepath.Clean(p) != p {
		return fmt.Errorf("path %q is not clean; write %q", a, filepath.Clean(p))
	}
	if p == "/" {
		return fmt.Errorf("path %q: name a directory below /; see protect-system", a)
	}
	if _, err := statPath(p); err != nil && !strings.HasPrefix(a, "-") {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("path %q does not exist; write \"-%s\" if it may be missing", a, p)
		}
		return fmt.Errorf("path %q: %v", a, err)
	}
	return nil
}

// NeedsMounts reports whether iso needs a mount namespace of its own.
func (iso Isolation) NeedsMounts() bool {
	return iso.ProtectSystem != "off" || iso.ProtectHome != "off" || !iso.NoPrivateTmp ||
		!iso.NoPrivateDevices || !iso.NoProcessScope || len(iso.ReadWrite) > 0 ||
		len(iso.ReadOnly) > 0 || len(iso.Inaccessible) > 0
}

// checkIsolation - values the spawner would read differently than meant:
// unknown levels, relative or unclean paths, an unknown family, and the
// process scope without no_new_privs (landlock_restrict_self refuses it).
func checkIsolation(sp *Spec) error {
	iso := sp.Isolation
	var errs []error
	if !slices.Contains([]string{"", "full", "off"}, iso.ProtectSystem) {
		errs = append(errs, fmt.Errorf("protect-system %q", iso.ProtectSystem))
	}
	if !slices.Contains([]string{"", "read-only", "off"}, iso.ProtectHome) {
		errs = append(errs, fmt.Errorf("protect-home %q", iso.ProtectHome))
	}
	for _, list := range [][]string{iso.ReadWrite, iso.ReadOnly, iso.Inaccessible} {
		for _, p := range list {
			q := strings.TrimPrefix(p, "-")
			if !filepath.IsAbs(q) || filepath.Clean(q) != q || q == "/" || strings.IndexByte(q, 0) >= 0 {
				errs = append(errs, fmt.Errorf("path %q is not an absolute, clean path below /", p))
			}
		}
	}
	for _, f := range iso.AddressFamilies {
		if _, ok := addressFamilies[f]; !ok {
			errs = append(errs, fmt.Errorf("unknown address family %q", f))
		}
	}
	if sp.AllowNewPrivs && !iso.NoProcessScope {
		errs = append(errs, errors.New("no_new_privs off with the process scope: landlock_restrict_self needs no_new_privs"))
	}
	return errors.Join(errs...)
}
