//go:build linux

package sandbox

/*
#include "isolate.h"
*/
import "C"

import (
	"encoding/binary"

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

// appendIso encodes iso as hs_parse_iso (spawner.c) reads it: u32 flags,
// u32 protect_system, u32 protect_home, then the read-write, read-only and
// inaccessible paths, each a strv (u32 count, then u32 length counting
// the NUL, bytes, NUL).
func appendIso(b []byte, iso policy.Isolation) []byte {
	ne := binary.NativeEndian
	flags, ps, ph := isoFlags(iso)
	b = ne.AppendUint32(b, flags)
	b = ne.AppendUint32(b, ps)
	b = ne.AppendUint32(b, ph)
	for _, list := range [][]string{iso.ReadWrite, iso.ReadOnly, iso.Inaccessible} {
		b = ne.AppendUint32(b, uint32(len(list)))
		for _, s := range list {
			b = ne.AppendUint32(b, uint32(len(s)+1))
			b = append(b, s...)
			b = append(b, 0)
		}
	}
	return b
}

// isoStepName names a step of hs_isolate.
func isoStepName(n int) string { return C.GoString(C.hs_iso_step_name(C.int(n))) }
