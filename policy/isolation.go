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

// IsolationProfile is the isolation keys of one policy section, each unset
// unless the section wrote it. The zero value sets nothing.
type IsolationProfile struct {
	ProtectSystem    Field[string]
	ProtectHome      Field[string]
	ReadWrite        Field[[]string]
	ReadOnly         Field[[]string]
	Inaccessible     Field[[]string]
	PrivateTmp       Field[bool]
	PrivateDevices   Field[bool]
	Terminals        Field[bool]
	PrivateNetwork   Field[bool]
	RestrictSUIDSGID Field[bool]
	ProcessScope     Field[bool]
	AddressFamilies  Field[[]string] // nil Value: any
}

// IsolationKeys are the keys isolationSetting reads.
var IsolationKeys = []string{"protect-system", "protect-home", "read-write", "read-only",
	"inaccessible", "private-tmp", "private-devices", "terminals", "private-network",
	"restrict-suid-sgid", "process-scope", "address-families"}

// over returns ip with every field that top sets taken from top.
func (ip IsolationProfile) over(top IsolationProfile) IsolationProfile {
	if top.ProtectSystem.Set {
		ip.ProtectSystem = top.ProtectSystem
	}
	if top.ProtectHome.Set {
		ip.ProtectHome = top.ProtectHome
	}
	if top.ReadWrite.Set {
		ip.ReadWrite = top.ReadWrite
	}
	if top.ReadOnly.Set {
		ip.ReadOnly = top.ReadOnly
	}
	if top.Inaccessible.Set {
		ip.Inaccessible = top.Inaccessible
	}
	if top.PrivateTmp.Set {
		ip.PrivateTmp = top.PrivateTmp
	}
	if top.PrivateDevices.Set {
		ip.PrivateDevices = top.PrivateDevices
	}
	if top.Terminals.Set {
		ip.Terminals = top.Terminals
	}
	if top.PrivateNetwork.Set {
		ip.PrivateNetwork = top.PrivateNetwork
	}
	if top.RestrictSUIDSGID.Set {
		ip.RestrictSUIDSGID = top.RestrictSUIDSGID
	}
	if top.ProcessScope.Set {
		ip.ProcessScope = top.ProcessScope
	}
	if top.AddressFamilies.Set {
		ip.AddressFamilies = top.AddressFamilies
	}
	return ip
}

// resolve turns the layered settings into an Isolation.
func (ip IsolationProfile) resolve() Isolation {
	iso := Isolation{
		ReadWrite:        ip.ReadWrite.Value,
		ReadOnly:         ip.ReadOnly.Value,
		Inaccessible:     ip.Inaccessible.Value,
		NoPrivateTmp:     ip.PrivateTmp.Set && !ip.PrivateTmp.Value,
		NoPrivateDevices: ip.PrivateDevices.Set && !ip.PrivateDevices.Value,
		Terminals:        ip.Terminals.Value,
		PrivateNetwork:   ip.PrivateNetwork.Value,
		AllowSUIDSGID:    ip.RestrictSUIDSGID.Set && !ip.RestrictSUIDSGID.Value,
		NoProcessScope:   ip.ProcessScope.Set && !ip.ProcessScope.Value,
	}
	if v := ip.ProtectSystem.Value; v != "strict" {
		iso.ProtectSystem = v
	}
	if v := ip.ProtectHome.Value; v != "on" {
		iso.ProtectHome = v
	}
	if ip.AddressFamilies.Set {
		if ip.AddressFamilies.Value == nil {
			iso.AnyAddressFamily = true
		} else {
			iso.AddressFamilies = ip.AddressFamilies.Value
		}
	}
	return iso
}

// checkIsolation reports what a resolved Isolation cannot be combined
// with, naming where the settings were written.
func checkIsolation(ip IsolationProfile, allowNewPrivs Field[bool]) error {
	// landlock_restrict_self needs no_new_privs (or CAP_SYS_ADMIN, which
	// a child never has): landlock(7), "Restrictions".
	if allowNewPrivs.Set && allowNewPrivs.Value && !(ip.ProcessScope.Set && !ip.ProcessScope.Value) {
		return fmt.Errorf("%s: no-new-privs off needs process-scope off: a landlock domain can only be entered with no_new_privs (landlock(7))", allowNewPrivs.Pos)
	}
	return nil
}

// statPath is os.Stat, replaceable in tests.
var statPath = os.Stat

// isolationSetting parses one isolation key of a section into ip; it
// returns false if key is not one of them. errorf reports at the line.
func isolationSetting(ip *IsolationProfile, key string, args []string, pos Pos,
	scalar func() bool, errorf func(format string, a ...any)) bool {
	one := func(allowed ...string) (string, bool) {
		if len(args) != 1 {
			errorf("%q takes one value, got %d", key, len(args))
			return "", false
		}
		if !slices.Contains(allowed, args[0]) {
			errorf("bad %s value %q; expect %s", key, args[0], strings.Join(allowed, ", "))
			return "", false
		}
		return args[0], scalar()
	}
	onOff := func(f *Field[bool]) {
		if v, ok := one("on", "off"); ok {
			*f = Field[bool]{true, v == "on", pos}
		}
	}
	paths := func(f *Field[[]string]) {
		if len(args) == 0 {
			errorf("%q needs at least one path", key)
			return
		}
		var errs []error
		for _, a := range args {
			if err := checkIsoPath(a); err != nil {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			for _, e := range errs {
				errorf("%s %v", key, e)
			}
			return
		}
		// Repeated lines in one section add up, as in systemd.
		v := append(slices.Clone(f.Value), args...)
		*f = Field[[]string]{true, v, pos}
	}
	switch key {
	case "protect-system":
		if v, ok := one("strict", "full", "off"); ok {
			ip.ProtectSystem = Field[string]{true, v, pos}
		}
	case "protect-home":
		if v, ok := one("on", "read-only", "off"); ok {
			ip.ProtectHome = Field[string]{true, v, pos}
		}
	case "read-write":
		paths(&ip.ReadWrite)
	case "read-only":
		paths(&ip.ReadOnly)
	case "inaccessible":
		paths(&ip.Inaccessible)
	case "private-tmp":
		onOff(&ip.PrivateTmp)
	case "private-devices":
		onOff(&ip.PrivateDevices)
	case "terminals":
		onOff(&ip.Terminals)
	case "private-network":
		onOff(&ip.PrivateNetwork)
	case "restrict-suid-sgid":
		onOff(&ip.RestrictSUIDSGID)
	case "process-scope":
		onOff(&ip.ProcessScope)
	case "address-families":
		if len(args) == 0 {
			errorf("%q needs AF_ names, or any", key)
			return true
		}
		if !scalar() {
			return true
		}
		if len(args) == 1 && args[0] == "any" {
			ip.AddressFamilies = Field[[]string]{true, nil, pos}
			return true
		}
		ok := true
		for _, a := range args {
			if _, known := addressFamilies[a]; !known {
				errorf("unknown address family %q; expect AF_UNIX, AF_INET, AF_INET6, AF_NETLINK, AF_PACKET … or any", a)
				ok = false
			}
		}
		if ok {
			ip.AddressFamilies = Field[[]string]{true, slices.Clone(args), pos}
		}
	default:
		return false
	}
	return true
}

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
