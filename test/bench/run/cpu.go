package main

import (
	"os"
	"strconv"
	"strings"
)

// Server CPU: what the server's own long-lived processes spent, user plus
// system, per connection: the process the runner started and every
// descendant alive both before and after the measurement (hinetd's
// spawners run in sessions of their own, so the process group alone would
// miss them). Services are short-lived: they are in at most one snapshot,
// and an exited child's time lands in its parent's cutime, which is not
// counted. This is the "parent CPU per connection" the issues compare
// (about 70 µs for the C fork+exec server in their runs).

const clkTck = 100 // USER_HZ: /proc/PID/stat counts in 1/100 s on Linux

// procTicks is one process's CPU so far and what to call it: "main" for
// the process the runner started, else "helper " and its name.
type procTicks struct {
	label string
	comm  string
	ticks uint64
}

// treeTicks - utime+stime of root and of every descendant of root.
func treeTicks(root int) map[int]procTicks {
	type st struct {
		ppid  int
		comm  string
		ticks uint64
	}
	all := map[int]st{}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
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
		if ppid, ticks, ok := parseStat(string(b)); ok {
			all[pid] = st{ppid, commOf(string(b)), ticks}
		}
	}
	out := map[int]procTicks{}
	for pid, s := range all {
		// Walk up at most 64 levels: is root an ancestor (or pid itself)?
		p := pid
		for i := 0; i < 64 && p > 1 && p != root; i++ {
			p = all[p].ppid
		}
		if p != root {
			continue
		}
		label := "helper " + s.comm
		if pid == root {
			label = "main"
		}
		out[pid] = procTicks{label: label, comm: s.comm, ticks: s.ticks}
	}
	return out
}

// parseStat - ppid and utime+stime from one /proc/PID/stat line. The comm
// field may hold spaces and parentheses, so fields count from the last ")".
func parseStat(s string) (ppid int, ticks uint64, ok bool) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
	if len(f) < 13 {
		return 0, 0, false
	}
	pp, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseUint(f[11], 10, 64)
	st, err3 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, false
	}
	return pp, ut + st, true
}

// commOf - the process name between the first "(" and the last ")".
func commOf(s string) string {
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return "?"
	}
	return s[i+1 : j]
}

// ticks - the CPU so far of the server's process tree and, labelled
// "aux NAME", of its helpers (a local rsyslogd): these are shown in the
// split by process but left out of the server's own figure.
func (p *proc) ticks() map[int]procTicks {
	out := treeTicks(p.cmd.Process.Pid)
	for _, a := range p.aux {
		for pid, t := range treeTicks(a.Process.Pid) {
			t.label = "aux " + t.comm
			out[pid] = t
		}
	}
	return out
}

// cpuDelta - CPU spent between two snapshots by the processes in both, in
// µs: in all (helpers started beside the server, labelled "aux", left
// out) and by label.
func cpuDelta(before, after map[int]procTicks) (total float64, byLabel map[string]float64) {
	byLabel = map[string]float64{}
	for pid, t := range after {
		b, ok := before[pid]
		if !ok || t.ticks < b.ticks {
			continue
		}
		us := float64(t.ticks-b.ticks) * 1e6 / clkTck
		if !strings.HasPrefix(t.label, "aux ") {
			total += us
		}
		byLabel[t.label] += us
	}
	return total, byLabel
}
