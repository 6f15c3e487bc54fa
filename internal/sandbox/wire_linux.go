//go:build linux

package sandbox

/*
#include "spawner.h"
*/
import "C"

import (
	"encoding/binary"

	"github.com/hinetd/hinetd/policy"
)

// wireKind is how one field of the Spec is encoded: the kinds of
// HS_SPEC_FIELDS in spawner.h, whose list of fields wireFields (zwire.go)
// is generated from.
type wireKind int

const (
	wireU32 wireKind = iota + 1
	wireI32
	wireU64
	wireGIDS
	wireRLIMS
	wireSTR
	wireSTRV
	wirePROG
)

// wireField is one field of the Spec on the wire: its member name in
// struct hs_spec, its kind, and its value in the member its kind uses.
type wireField struct {
	name  string
	kind  wireKind
	num   uint64 // U32, U64
	inum  int64  // I32
	ints  []int  // GIDS
	rlims []policy.Rlimit
	str   string
	strs  []string
	bytes []byte // PROG
}

// specFlags is the flags field: HS_FLAG_*.
func specFlags(spec *policy.Spec) uint32 {
	var f uint32
	if spec.SwitchIDs {
		f |= C.HS_FLAG_SWITCH_IDS
	}
	if spec.AllowNewPrivs {
		f |= C.HS_FLAG_ALLOW_NEW_PRIVS
	}
	return f
}

// capMask is the capability bit mask of caps (Validate has checked that
// they are known, so below 64).
func capMask(caps []int) uint64 {
	var m uint64
	for _, c := range caps {
		m |= 1 << uint(c)
	}
	return m
}

// encodeSpec serialises spec in the format hs_parse_spec (spawner.c)
// reads: the magic, then wireFields in order, native-endian. spec has
// passed Validate: every value fits its field.
func encodeSpec(spec *policy.Spec) []byte {
	ne := binary.NativeEndian
	b := make([]byte, 0, spec.WireSize())
	u32 := func(v uint32) { b = ne.AppendUint32(b, v) }
	str := func(v string) {
		u32(uint32(len(v) + 1))
		b = append(b, v...)
		b = append(b, 0)
	}
	u32(C.HS_SPEC_MAGIC)
	for _, f := range wireFields(spec) {
		switch f.kind {
		case wireU32:
			u32(uint32(f.num))
		case wireI32:
			u32(uint32(int32(f.inum)))
		case wireU64:
			b = ne.AppendUint64(b, f.num)
		case wireGIDS:
			u32(uint32(len(f.ints)))
			for _, g := range f.ints {
				u32(uint32(g))
			}
		case wireRLIMS:
			u32(uint32(len(f.rlims)))
			for _, r := range f.rlims {
				u32(uint32(r.Resource))
				u32(0)
				b = ne.AppendUint64(b, r.Cur)
				b = ne.AppendUint64(b, r.Max)
			}
		case wireSTR:
			str(f.str)
		case wireSTRV:
			u32(uint32(len(f.strs)))
			for _, s := range f.strs {
				str(s)
			}
		case wirePROG:
			u32(uint32(len(f.bytes)))
			b = append(b, f.bytes...)
		}
	}
	return b
}
