//go:build !linux

package sandbox

import "github.com/hinetd/hinetd/policy"

// LandlockABI is 0 here.
func LandlockABI() int { return 0 }

// CheckKernel always fails here.
func CheckKernel(iso policy.Isolation) error { return errUnsupported }
