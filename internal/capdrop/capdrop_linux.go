//go:build linux

package capdrop

/*
#include "capdrop.h"
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

// Drop reduces the process to the capabilities in keep (in every set;
// ambient and inheritable emptied) on every thread.
//
// It re-executes the binary once (same pid, same argv, same environment
// plus a marker) and the C constructor drops them before the Go runtime
// starts. Call it first thing in main: descriptors opened before it are
// closed by execve if they are close-on-exec, as Go opens them. In the
// re-executed process it returns nil when every thread holds no more than
// keep; in the first one it returns only an error. When the process
// already holds nothing outside keep, it returns nil without
// re-executing.
func Drop(keep []capability.Cap) error {
	m := mask(keep)
	if C.cd_done != 0 {
		if C.cd_op != nil {
			return fmt.Errorf("drop capabilities: %s: %w", C.GoString(C.cd_op), syscall.Errno(C.cd_errno))
		}
		return checkAllThreads(m)
	}
	if checkAllThreads(m) == nil {
		return nil
	}
	env := []string{C.CD_ENV + "=" + strconv.FormatUint(m, 16)}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, C.CD_ENV+"=") {
			env = append(env, e)
		}
	}
	err := syscall.Exec("/proc/self/exe", os.Args, env)
	return fmt.Errorf("drop capabilities: re-exec: %w", err)
}

// checkAllThreads reads every thread's capability sets from /proc and
// fails if any holds a capability outside m, or any inheritable or
// ambient one.
func checkAllThreads(m uint64) error {
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
			if extra := sets[k] &^ m; extra != 0 {
				return fmt.Errorf("drop capabilities: %s %s holds %s", p, k, names(extra))
			}
		}
		for _, k := range []string{"CapInh", "CapAmb"} {
			if sets[k] != 0 {
				return fmt.Errorf("drop capabilities: %s %s holds %s", p, k, names(sets[k]))
			}
		}
	}
	return nil
}

// Check fails, naming them, if any capability in need is missing from the
// calling thread's permitted or bounding set (the daemon started without
// root, or with too few capabilities).
func Check(need ...capability.Cap) error {
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
		return fmt.Errorf("missing capabilities %s (hinetd starts services as other users: run it as root)", names(missing))
	}
	return nil
}
