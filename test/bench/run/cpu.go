package main

import (
	"os"
	"strconv"
	"strings"
)

// Server CPU: what the server's own long-lived processes (the daemon and
// helpers such as hinetd's spawner, all in the process group the runner
// made) spent, user plus system, per connection. Services that setsid or
// exit are not in it (an exited child's time lands in its parent's cutime,
// which is not counted): this is the "parent CPU per connection" the
// issues compare (about 70 µs for the C fork+exec server in their runs).

const clkTck = 100 // USER_HZ: /proc/PID/stat counts in 1/100 s on Linux

// groupTicks - utime+stime per pid of every process in process group pgid.
func groupTicks(pgid int) map[int]uint64 {
	out := map[int]uint64{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		pg, ticks, ok := parseStat(string(b))
		if ok && pg == pgid {
			out[pid] = ticks
		}
	}
	return out
}

// parseStat - pgrp and utime+stime from one /proc/PID/stat line. The comm
// field may hold spaces and parentheses, so fields count from the last ")".
func parseStat(s string) (pgrp int, ticks uint64, ok bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): pgrp is field 5, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, false
	}
	pg, err1 := strconv.Atoi(f[2])
	ut, err2 := strconv.ParseUint(f[11], 10, 64)
	st, err3 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	return pg, ut + st, true
}

// cpuDelta - ticks spent between two snapshots, in µs; a process that
// appeared in between counts whole.
func cpuDelta(before, after map[int]uint64) float64 {
	var d uint64
	for pid, t := range after {
		if b, ok := before[pid]; ok && t >= b {
			d += t - b
		} else if !ok {
			d += t
		}
	}
	return float64(d) * 1e6 / clkTck
}
