//go:build !linux

package capdrop

import (
	"errors"

	"github.com/moby/sys/capability"
)

var errUnsupported = errors.New("capdrop: capabilities are a Linux feature")

// Drop always fails here.
func Drop(keep []capability.Cap) error { return errUnsupported }

// Check always fails here.
func Check(need ...capability.Cap) error { return errUnsupported }
