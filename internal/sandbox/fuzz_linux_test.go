//go:build linux

package sandbox

import (
	"testing"

	"github.com/hinetd/hinetd/policy"
)

// FuzzSpecParse: the spawner's C parser (hs_parse_spec) and seccomp
// evaluator (bpf_eval) on arbitrary bytes: never crash, never loop, answer
// -1, 0 or 1. Seeds: real encoded Specs (with and without a filter, the
// default policy's included) and their truncations, made here rather than
// kept in testdata/ so that they follow the encoder when its format moves.
func FuzzSpecParse(f *testing.F) {
	seeds := []*policy.Spec{nobodySpec("/bin/sh", "sh", "-c", "true")}
	withFilter := nobodySpec("/bin/true", "true")
	withFilter.Seccomp, withFilter.NoSeccomp = filter(f), false
	withFilter.Rlimits = []policy.Rlimit{{Resource: 7, Cur: 64, Max: 64}}
	withFilter.KeepCaps = []int{10}
	withFilter.Chroot = "/var/empty"
	seeds = append(seeds, withFilter)
	if set, err := policy.Parse("none", nil); err == nil {
		if sp, _, err := set.CompileWith(policy.Service{Name: "x", User: "nobody", Program: "/bin/true"}, compileOpts); err == nil {
			seeds = append(seeds, sp)
		}
	}
	for _, s := range seeds {
		b, err := encodeSpec(s)
		if err != nil {
			f.Fatal(err)
		}
		if got := specBlobCheck(b); got < 0 {
			f.Fatalf("seed %s refused", s.Service)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if got := specBlobCheck(b); got < -1 || got > 1 {
			t.Fatalf("specBlobCheck = %d", got)
		}
	})
}

// FuzzSpecRoundTrip: whatever encodeSpec accepts, the spawner's parser
// accepts too (the two sides agree on the format); whatever it refuses
// never reaches the spawner. Seeds: testdata/fuzz/FuzzSpecRoundTrip.
func FuzzSpecRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, path, arg, env, chroot, dir string, uid, gid, group, capN int,
		cur, max uint64, umask, nice int, switchIDs, allowNewPrivs bool) {
		spec := &policy.Spec{Service: "fuzz", Path: path, Argv: []string{arg}, Env: []string{env},
			UID: uid, GID: gid, Groups: []int{group}, SwitchIDs: switchIDs, KeepCaps: []int{capN},
			Rlimits: []policy.Rlimit{{Resource: 7, Cur: cur, Max: max}}, Umask: umask, Nice: nice,
			Chroot: chroot, Dir: dir, NoSeccomp: true, AllowNewPrivs: allowNewPrivs}
		b, err := encodeSpec(spec)
		if err != nil {
			return
		}
		if got := specBlobCheck(b); got != 0 {
			t.Fatalf("encodeSpec accepted %+v but the spawner's parser says %d", spec, got)
		}
	})
}
