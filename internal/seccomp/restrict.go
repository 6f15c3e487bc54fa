package seccomp

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// Restrict is what a program refuses by argument, beyond its allow-list
// (issue 11). The zero Restrict refuses nothing more.
type Restrict struct {
	// SUIDSGID refuses to make setuid or setgid files, as systemd's
	// RestrictSUIDSGID=: chmod, fchmod, fchmodat, fchmodat2, mknod,
	// mknodat, creat, and open/openat creating a file (O_CREAT or
	// O_TMPFILE), with S_ISUID or S_ISGID in the mode, fail EPERM; openat2,
	// whose mode is in memory out of the filter's sight, fails ENOSYS
	// (libc then falls back to openat).
	SUIDSGID bool
	// Families, when not nil, are the only socket families socket() and
	// socketpair() may open; any other fails EAFNOSUPPORT, as systemd's
	// RestrictAddressFamilies=.
	Families []int
	// Unprivileged, when set, makes the calls that need a capability
	// the service does not keep SCMP_ACT_LOG instead of allowed: the
	// call still fails EPERM, from the kernel, and its audit record lets
	// hinetd say which privilege a server that died at once lacked
	// (issue 12 item 4: tftpd-hpa's child failing setgroups left nothing
	// in any log). nil logs nothing; Program sets it for services run
	// as root only.
	Unprivileged *Unprivileged
}

// Unprivileged is what a service may not do for want of a capability,
// and the ids it runs with. The zero value lacks every capability below
// and runs as uid and gid 0.
type Unprivileged struct {
	// SetUID, SetGID, Chroot: the service keeps CAP_SETUID, CAP_SETGID,
	// CAP_SYS_CHROOT; a call is logged only when its capability is not
	// kept.
	SetUID, SetGID, Chroot bool
	UID, GID               uint32
}

// PrivilegeCalls are the calls an Unprivileged program logs, with the
// capability each needs: setgroups and chroot always, setgid and setuid
// to an id other than the service's own (the one change the kernel lets
// a process without the capability make). setresgid, setregid,
// setresuid, setreuid and setfsuid/setfsgid are not logged: seccomp
// compares each argument once per rule, and "neither the service's id
// nor -1" on three arguments is not one comparison each.
var PrivilegeCalls = map[string]Capability{
	"setgroups": {"CAP_SETGID", unix.CAP_SETGID},
	"setgid":    {"CAP_SETGID", unix.CAP_SETGID},
	"setuid":    {"CAP_SETUID", unix.CAP_SETUID},
	"chroot":    {"CAP_SYS_CHROOT", unix.CAP_SYS_CHROOT},
}

// Capability is one capability, by name and number.
type Capability struct {
	Name   string
	Number int
}

// logs reports whether name is logged rather than allowed.
func (u *Unprivileged) logs(name string) bool {
	if u == nil {
		return false
	}
	switch PrivilegeCalls[name].Name {
	case "CAP_SETGID":
		return !u.SetGID
	case "CAP_SETUID":
		return !u.SetUID
	case "CAP_SYS_CHROOT":
		return !u.Chroot
	}
	return false
}

// addLog adds the rules of one allowed call that u logs: setgroups and
// chroot logged whatever their arguments; setgid and setuid allowed to
// the service's own id and logged to any other (CompareEqual and
// CompareNotEqual on the whole 64-bit argument partition it). Under
// seccomp-action log the filter's own action logs them already, and
// libseccomp refuses a rule with the default action.
func (u *Unprivileged) addLog(f *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, name string, def libseccomp.ScmpAction) error {
	var own uint64
	switch name {
	case "setgid":
		own = uint64(u.GID)
	case "setuid":
		own = uint64(u.UID)
	default:
		if def == libseccomp.ActLog {
			return nil
		}
		return f.AddRule(nr, libseccomp.ActLog)
	}
	eq, err := libseccomp.MakeCondition(0, libseccomp.CompareEqual, own)
	if err != nil {
		return err
	}
	ne, err := libseccomp.MakeCondition(0, libseccomp.CompareNotEqual, own)
	if err != nil {
		return err
	}
	if err := f.AddRuleConditional(nr, libseccomp.ActAllow, []libseccomp.ScmpCondition{eq}); err != nil || def == libseccomp.ActLog {
		return err
	}
	return f.AddRuleConditional(nr, libseccomp.ActLog, []libseccomp.ScmpCondition{ne})
}

// key is r in the program cache's key.
func (r Restrict) key() string {
	var b strings.Builder
	if r.SUIDSGID {
		b.WriteString("nosuid ")
	}
	if r.Families != nil {
		b.WriteString("af")
		for _, f := range r.Families {
			b.WriteString(":" + strconv.Itoa(f))
		}
	}
	if u := r.Unprivileged; u != nil {
		fmt.Fprintf(&b, " priv:%t:%t:%t:%d:%d", u.SetUID, u.SetGID, u.Chroot, u.UID, u.GID)
	}
	return b.String()
}

// afMax bounds the family numbers refused one by one; every number from
// it up is refused by one rule. Above the kernel's AF_MAX (46 in 6.x).
const afMax = 64

// modeArg gives, for each call that makes a file with a mode, the index of
// its mode argument and of its flags argument (-1: it always creates).
var modeArg = map[string][2]int{
	"chmod":     {1, -1},
	"fchmod":    {1, -1},
	"fchmodat":  {2, -1},
	"fchmodat2": {2, -1},
	"mknod":     {1, -1},
	"mknodat":   {2, -1},
	"creat":     {1, -1},
	"open":      {2, 1},
	"openat":    {3, 2},
}

// restricted reports whether name gets its rules from addRestrict rather
// than an unconditional allow: libseccomp lets an unconditional rule win
// over conditional ones of the same call, so a restricted call must be
// allowed only on the arguments it may have.
func (r Restrict) restricted(name string) bool {
	if r.SUIDSGID {
		if _, ok := modeArg[name]; ok || name == "openat2" {
			return true
		}
	}
	return r.Families != nil && (name == "socket" || name == "socketpair")
}

// addRestrict adds the rules for one allowed call that restricted names.
// The rules partition the arguments: each call is either allowed or
// refused with its errno, never left to the default action.
func (r Restrict) addRestrict(f *libseccomp.ScmpFilter, nr libseccomp.ScmpSyscall, name string, def libseccomp.ScmpAction) error {
	cond := func(arg uint, mask, val uint64) libseccomp.ScmpCondition {
		c, err := libseccomp.MakeCondition(arg, libseccomp.CompareMaskedEqual, mask, val)
		if err != nil {
			panic(err) // constant arguments
		}
		return c
	}
	add := func(act libseccomp.ScmpAction, conds ...libseccomp.ScmpCondition) error {
		if act == def {
			return nil // the filter's own action already (seccomp-action errno EPERM)
		}
		if err := f.AddRuleConditional(nr, act, conds); err != nil {
			return fmt.Errorf("rule for %q: %w", name, err)
		}
		return nil
	}
	eperm := libseccomp.ActErrno.SetReturnCode(int16(unix.EPERM))
	const sxid = unix.S_ISUID | unix.S_ISGID
	if name == "openat2" {
		if enosys := libseccomp.ActErrno.SetReturnCode(int16(unix.ENOSYS)); enosys != def {
			return f.AddRule(nr, enosys)
		}
		return nil
	}
	if a, ok := modeArg[name]; ok {
		mode, flags := uint(a[0]), a[1]
		if err := add(libseccomp.ActAllow, cond(mode, sxid, 0)); err != nil {
			return err
		}
		if flags < 0 {
			for _, bit := range []uint64{unix.S_ISUID, unix.S_ISGID} {
				if err := add(eperm, cond(mode, bit, bit)); err != nil {
					return err
				}
			}
			return nil
		}
		// open/openat: the mode only counts when the call creates.
		const creates = unix.O_CREAT | unix.O_TMPFILE&^unix.O_DIRECTORY
		if err := add(libseccomp.ActAllow, cond(uint(flags), creates, 0)); err != nil {
			return err
		}
		for _, fl := range []uint64{unix.O_CREAT, unix.O_TMPFILE &^ unix.O_DIRECTORY} {
			for _, bit := range []uint64{unix.S_ISUID, unix.S_ISGID} {
				if err := add(eperm, cond(uint(flags), fl, fl), cond(mode, bit, bit)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	// socket, socketpair: the family is the first argument.
	eaf := libseccomp.ActErrno.SetReturnCode(int16(unix.EAFNOSUPPORT))
	for fam := 0; fam < afMax; fam++ {
		act := eaf
		if slices.Contains(r.Families, fam) {
			act = libseccomp.ActAllow
		}
		c, err := libseccomp.MakeCondition(0, libseccomp.CompareEqual, uint64(fam))
		if err != nil {
			return err
		}
		if err := add(act, c); err != nil {
			return err
		}
	}
	c, err := libseccomp.MakeCondition(0, libseccomp.CompareGreaterEqual, afMax)
	if err != nil {
		return err
	}
	return add(eaf, c)
}
