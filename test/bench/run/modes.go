package main

import (
	"fmt"
	"os"
	"strings"
)

// allModes, in the order they run. Each builds its table from the env, so a
// mode can leave out what this machine or this hinetd cannot do yet.
var allModes = []func(*env) mode{spawnMode, refusalMode}

func modeNames() []string {
	var out []string
	for _, mk := range allModes {
		out = append(out, mk(&env{}).name)
	}
	return out
}

const base = "C fork+exec"

// spawnMode - issue 2 and issue 4: the hello service through every server.
func spawnMode(e *env) mode {
	hinetd := hinetdServer("hinetd", "hello", hinetdSetup{})
	hinetd.targets = map[string]float64{base: 0.90}
	confined := hinetdServer("hinetd confined", "hello", hinetdSetup{user: "nobody"})
	confined.targets = map[string]float64{base: 0.85}
	return mode{
		name:  "spawn",
		title: "The hello service (a static C program that writes `hello\\n` and exits) behind each server; ratio = conn/s over the bare C fork+exec server's in the same round.",
		servers: []server{
			forkexecServer(), hinetd, confined, xinetdServer(), obsdServer(), tcpserverServer(), tcpsvdServer(),
		},
		conc:      []int{1, 8, 64},
		n:         5000,
		baselines: []string{base},
		notes: []string{
			"- hinetd: service user root, empty hosts files, an empty policy directory (so the default policy, as a root service gets it).",
			"- hinetd confined: service user nobody with the default policy (ids switched, capabilities dropped, no_new_privs, default seccomp filter).",
			"- Targets (issues 2 and 4): hinetd ≥ 0.90×, hinetd confined ≥ 0.85× the C fork+exec server at every concurrency.",
		},
	}
}

// refusalMode - issue 5: connections refused before anything is spawned.
func refusalMode(e *env) mode {
	spawn := hinetdServer("hinetd spawn", "hello", hinetdSetup{})
	perSource := hinetdServer("hinetd refused: per-source", "empty", hinetdSetup{waitField: "nowait/100000/0/1", program: "hold"})
	perSource.after = holdOne
	perSource.nMul = 4
	acl := hinetdServer("hinetd refused: ACL deny", "empty", hinetdSetup{hostsDeny: "ALL: ALL\n"})
	acl.nMul = 4
	for _, s := range []*server{&perSource, &acl} {
		s.targets = map[string]float64{"C accept+close": 0.5, "hinetd spawn": 5}
	}
	return mode{
		name:      "refusal",
		title:     "The refusal path: connections closed before any spawn, by a per-source limit (max-child-per-ip 1, filled by one held connection from 127.0.0.1) and by an ACL deny rule (`ALL: ALL` in hosts.deny), against hinetd's spawn path and a bare C accept-and-close server.",
		servers:   []server{acceptcloseServer(), spawn, perSource, acl},
		conc:      []int{8, 64},
		n:         5000,
		baselines: []string{"C accept+close", "hinetd spawn"},
		notes: []string{
			"- Refusing servers get 4× the connections of a spawning one per measurement, so each measurement lasts long enough to time.",
			"- Targets (issue 5): refusal ≥ 0.5× the C accept+close server and ≥ 5× hinetd's spawn path.",
		},
	}
}

// rss - VmRSS and VmHWM of a process, in KiB, from /proc.
func rss(pid int) (cur, peak int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		var v int
		if _, e := fmt.Sscanf(l, "VmRSS: %d kB", &v); e == nil {
			cur = v
		}
		if _, e := fmt.Sscanf(l, "VmHWM: %d kB", &v); e == nil {
			peak = v
		}
	}
	return cur, peak, nil
}
