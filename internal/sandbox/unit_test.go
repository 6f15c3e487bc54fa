//go:build linux

package sandbox

import (
	"os"
	"slices"
	"strings"
	"testing"
)

// TestUnitBoundingSet: the systemd unit's CapabilityBoundingSet= is
// exactly what the parent keeps with no policy granting more
// (ParentCaps(): SECURITY.md's "What the parent keeps"), so that the unit
// takes nothing hinetd needs and leaves nothing it does not.
func TestUnitBoundingSet(t *testing.T) {
	unit, err := os.ReadFile("../../dist/hinetd.service")
	if err != nil {
		t.Fatal(err)
	}
	var inUnit []string
	for _, ln := range strings.Split(string(unit), "\n") {
		if v, ok := strings.CutPrefix(ln, "CapabilityBoundingSet="); ok {
			inUnit = append(inUnit, strings.Fields(v)...)
		}
	}
	var inCode []string
	for _, c := range ParentCaps() {
		inCode = append(inCode, "CAP_"+strings.ToUpper(c.String()))
	}
	slices.Sort(inUnit)
	slices.Sort(inCode)
	if !slices.Equal(inUnit, inCode) {
		t.Errorf("dist/hinetd.service CapabilityBoundingSet=%v\nParentCaps() = %v", inUnit, inCode)
	}
}
