// Package capdrop drops the daemon's own capabilities to the set it keeps
// (Drop) and says which needed ones it lacks (Check). hinetd binds its
// ports and starts its spawners as root, then keeps only what those
// spawners and a reload need: the privileged parent of OpenBSD's privsep
// pattern doing as little as it can.
//
// The drop must reach every thread, and a Go program linked with cgo
// cannot change capabilities on all its threads, so Drop re-executes the
// binary and a C constructor (capdrop.c) drops them before the Go runtime
// starts its first thread. Importing the package is what links that
// constructor in.
package capdrop

import (
	"strings"

	"github.com/moby/sys/capability"
)

// mask is the bit mask of caps.
func mask(caps []capability.Cap) uint64 {
	var m uint64
	for _, c := range caps {
		if c >= 0 && c < 64 {
			m |= 1 << uint(c)
		}
	}
	return m
}

// names lists the capabilities of m as "cap_setuid, cap_setgid".
func names(m uint64) string {
	var out []string
	for c := 0; c < 64; c++ {
		if m&(1<<uint(c)) != 0 {
			out = append(out, "cap_"+capability.Cap(c).String())
		}
	}
	return strings.Join(out, ", ")
}
