//go:build !linux

package kmsg

import "errors"

// Watch reports seccomp records of the kernel log, on Linux only.
func Watch(stop <-chan struct{}, f func(Seccomp)) error {
	return errors.New("no kernel seccomp log on this system")
}
