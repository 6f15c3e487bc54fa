//go:build linux

package sandbox

/*
#include "spawner.h"
*/
import "C"

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/moby/sys/capability"
	"golang.org/x/sys/unix"
)

// DropParentCaps reduces the daemon to the capabilities in keep (in every
// set; ambient and inheritable emptied) on every thread.
//
// Capabilities are per thread, and a Go program linked with cgo cannot
// change them on all its threads (syscall.AllThreadsSyscall refuses), so
// this re-executes the binary once (same pid, same argv, same environment
// plus a marker) and the C constructor drops them before the Go runtime
// starts its first thread. Call it first thing in main, after
// sandbox.Main: descriptors opened before it are closed by execve if they
// are close-on-exec, as Go opens them. On success in the re-executed
// process it returns nil; it returns only an error in the first one.
// When the process already holds nothing outside keep, it returns nil
// without re-executing.
func DropParentCaps(keep []capability.Cap) error {
	mask := capMask(keep)
	if C.hs_parent_caps_done != 0 {
		if C.hs_parent_caps_step != 0 {
			return fmt.Errorf("drop capabilities: %s: %w", StepName(int(C.hs_parent_caps_step)),
				syscall.Errno(C.hs_parent_caps_errno))
		}
		return checkAllThreads(mask)
	}
	if checkAllThreads(mask) == nil {
		return nil
	}
	env := []string{C.HS_ENV_PARENT_CAPS + "=" + strconv.FormatUint(mask, 16)}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, C.HS_ENV_PARENT_CAPS+"=") && !strings.HasPrefix(e, C.HS_ENV+"=") {
			env = append(env, e)
		}
	}
	err := syscall.Exec("/proc/self/exe", os.Args, env)
	return fmt.Errorf("drop capabilities: re-exec: %w", err)
}

// checkAllThreads reads every thread's capability sets from /proc and
// fails if any holds a capability outside mask, or any inheritable or
// ambient one.
func checkAllThreads(mask uint64) error {
	tasks, err := filepath.Glob("/proc/self/task/*/status")
	if err != nil || len(tasks) == 0 {
		return fmt.Errorf("drop capabilities: reading /proc/self/task: %v", err)
	}
	for _, p := range tasks {
		f, err := os.Open(p)
		if err != nil {
			continue // the thread exited
		}
		sets := map[string]uint64{}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok || !strings.HasPrefix(k, "Cap") {
				continue
			}
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err == nil {
				sets[k] = n
			}
		}
		f.Close()
		for _, k := range []string{"CapPrm", "CapEff", "CapBnd"} {
			if extra := sets[k] &^ mask; extra != 0 {
				return fmt.Errorf("drop capabilities: %s %s holds %s", p, k, capNames(extra))
			}
		}
		for _, k := range []string{"CapInh", "CapAmb"} {
			if sets[k] != 0 {
				return fmt.Errorf("drop capabilities: %s %s holds %s", p, k, capNames(sets[k]))
			}
		}
	}
	return nil
}

// CheckParentCaps fails, naming them, if any capability in need is missing
// from the calling thread's permitted or bounding set (the daemon started
// without root, or with too few capabilities).
func CheckParentCaps(need ...capability.Cap) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	prm := uint64(data[0].Permitted) | uint64(data[1].Permitted)<<32
	var missing uint64
	for _, c := range need {
		bit := uint64(1) << uint(c)
		inBound, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if prm&bit == 0 || err != nil || inBound != 1 {
			missing |= bit
		}
	}
	if missing != 0 {
		return fmt.Errorf("missing capabilities %s (hinetd starts services as other users: run it as root)", capNames(missing))
	}
	return nil
}
