//go:build linux

package sandbox

/*
#include "isolate.h"
*/
import "C"

import (
	"fmt"
	"syscall"

	"github.com/hinetd/hinetd/policy"
)

// isoFlags turns iso into the spawner's struct hs_iso numbers (isolate.h).
func isoFlags(iso policy.Isolation) (flags, protectSystem, protectHome uint32) {
	set := func(on bool, f uint32) {
		if on {
			flags |= f
		}
	}
	set(iso.NeedsMounts(), C.HS_ISO_MOUNTS)
	set(!iso.NoPrivateTmp, C.HS_ISO_PRIVATE_TMP)
	set(!iso.NoPrivateDevices, C.HS_ISO_PRIVATE_DEVICES)
	set(iso.Terminals && !iso.NoPrivateDevices, C.HS_ISO_DEVPTS)
	set(!iso.NoProcessScope, C.HS_ISO_PROC|C.HS_ISO_SCOPE)
	set(iso.PrivateNetwork, C.HS_ISO_PRIVATE_NETWORK)
	switch iso.ProtectSystem {
	case "":
		protectSystem = C.HS_PROTECT_SYSTEM_STRICT
	case "full":
		protectSystem = C.HS_PROTECT_SYSTEM_FULL
	default:
		protectSystem = C.HS_PROTECT_SYSTEM_OFF
	}
	switch iso.ProtectHome {
	case "":
		protectHome = C.HS_PROTECT_HOME_ON
	case "read-only":
		protectHome = C.HS_PROTECT_HOME_READ_ONLY
	default:
		protectHome = C.HS_PROTECT_HOME_OFF
	}
	return flags, protectSystem, protectHome
}

// The spawner.h HS_SPEC_FIELDS expressions for the isolation's numbers.
func isoFlagsOf(iso policy.Isolation) uint32      { f, _, _ := isoFlags(iso); return f }
func protectSystemOf(iso policy.Isolation) uint32 { _, ps, _ := isoFlags(iso); return ps }
func protectHomeOf(iso policy.Isolation) uint32   { _, _, ph := isoFlags(iso); return ph }

// isoStepName names a step of hs_isolate.
func isoStepName(n int) string { return C.GoString(C.hs_iso_step_name(C.int(n))) }

// isoOptOut names, for each step of hs_isolate, the keys that turn it off.
var isoOptOut = map[string]string{
	"unshare_mount_ns": "protect-system off, protect-home off, private-tmp off, private-devices off and process-scope off",
	"mount_private":    "protect-system off, protect-home off, private-tmp off, private-devices off and process-scope off",
	"dev_clone":        "private-devices off",
	"bind_paths":       "read-write, read-only (the path named)",
	"inaccessible":     "inaccessible, protect-home off",
	"protect_system":   "protect-system off",
	"read_only":        "read-only",
	"read_write":       "read-write",
	"protect_home":     "protect-home off",
	"private_tmp":      "private-tmp off",
	"private_devices":  "private-devices off",
	"mount_proc":       "process-scope off",
	"private_network":  "private-network off",
}

// isolateDetail - the failed isolation step, what it needs, and the key
// that opts out (fail closed, say why: issue 11 item 5).
func isolateDetail(step int, errno syscall.Errno) string {
	name := isoStepName(step)
	d := fmt.Sprintf("isolate(%s)", name)
	switch errno {
	case syscall.EPERM:
		d += " needs CAP_SYS_ADMIN in hinetd (and CAP_NET_ADMIN for private-network)"
	case syscall.ENOSYS, syscall.EOPNOTSUPP, syscall.EINVAL, syscall.ENODEV:
		d += " is not supported by this kernel"
	}
	if k, ok := isoOptOut[name]; ok {
		d += "; opt out with " + k
	}
	return d
}
