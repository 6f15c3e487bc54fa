//go:build linux

package sandbox

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/policy"
)

// ldAbs is "ld [k]; ret ALLOW", a program of two instructions.
func ldAbs(k uint32) []byte {
	return []byte{0x20, 0, 0, 0, byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24),
		0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f}
}

// withProgram is nobodySpec with prog as its filter.
func withProgram(prog []byte) *policy.Spec {
	sp := nobodySpec("/bin/true", "true")
	sp.Seccomp, sp.NoSeccomp = prog, false
	return sp
}

// FuzzSpecParse: the spawner's C parser (hs_parse_spec) and seccomp
// evaluator (bpf_eval) on arbitrary bytes: never crash, never loop, answer
// -1, 0 or 1. Seeds: real encoded Specs (with and without a filter, the
// default policy's included) and their truncations, made here rather than
// kept in testdata/ so that they follow the encoder when its format moves;
// and, so that mutations reach the evaluator rather than the parser, valid
// Specs whose program is short: loads at the edges of seccomp_data
// (ld [0xfffffffc] once wrapped the offset check), jumps, arithmetic.
func FuzzSpecParse(f *testing.F) {
	seeds := []*policy.Spec{nobodySpec("/bin/sh", "sh", "-c", "true")}
	withFilter := withProgram(filter(f))
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
		b := encodeSpec(s)
		if got := specBlobCheck(b); got < 0 {
			f.Fatalf("seed %s refused", s.Service)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(b[:len(b)-1])
	}
	for _, prog := range [][]byte{
		ldAbs(0xfffffffc), ldAbs(0xfffffff8), ldAbs(60), ldAbs(64),
		{0x05, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0x06, 0, 0, 0, 0, 0, 0xff, 0x7f},          // ja -1; ret ALLOW
		{0x00, 0, 0, 0, 7, 0, 0, 0, 0x34, 0, 0, 0, 0, 0, 0, 0, 0x16, 0, 0, 0, 0, 0, 0, 0}, // ld #7; div #0; ret a
		{0x60, 0, 0, 0, 16, 0, 0, 0, 0x16, 0, 0, 0, 0, 0, 0, 0},                           // ld M[16]; ret a
	} {
		f.Add(encodeSpec(withProgram(prog)))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if got := specBlobCheck(b); got < -1 || got > 1 {
			t.Fatalf("specBlobCheck = %d", got)
		}
	})
}

// TestSpecCheckOffsetWrap: a filter that loads at 0xfffffffc is refused
// by the spawner's evaluator (the spawner then installs it per child and
// the kernel refuses it by name). The old check, k + 4 > sizeof *d,
// wrapped and read 4 GiB away: this test crashed the test process.
func TestSpecCheckOffsetWrap(t *testing.T) {
	for _, k := range []uint32{0xfffffffc, 0xfffffffd, 0xffffffff, 64} {
		if got := specBlobCheck(encodeSpec(withProgram(ldAbs(k)))); got != 0 {
			t.Errorf("ld [%#x]: %d, want 0 (parsed, does not let the spawner run)", k, got)
		}
	}
	if got := specBlobCheck(encodeSpec(withProgram(ldAbs(60)))); got != 1 {
		t.Errorf("ld [60]; ret ALLOW: %d, want 1", got)
	}
}

// FuzzSpecRoundTrip: whatever passes policy.Validate, the spawner's parser
// reads back field for field (hs_spec_dump writes what it parsed, from its
// struct, and sameAsDumped compares); what Validate refuses never reaches
// the spawner. The program is made of arg's bytes, so that it round-trips
// too. Seeds: testdata/fuzz/FuzzSpecRoundTrip.
func FuzzSpecRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, path, arg, env, chroot, dir string, uid, gid, group, capN int,
		cur, max uint64, umask, nice int, switchIDs, allowNewPrivs bool) {
		spec := &policy.Spec{Service: "fuzz", Path: path, Argv: []string{arg}, Env: []string{env},
			UID: uid, GID: gid, Groups: []int{group, uid}, SwitchIDs: switchIDs, KeepCaps: []int{capN},
			Rlimits: []policy.Rlimit{{Resource: 7, Cur: cur, Max: max}, {Resource: 0, Cur: cur / 2, Max: max}},
			Umask:   umask, Nice: nice, Chroot: chroot, Dir: dir, NoSeccomp: true, AllowNewPrivs: allowNewPrivs}
		if prog := []byte(arg)[:len(arg)/8*8]; len(prog) > 0 {
			spec.Seccomp, spec.NoSeccomp = prog, false
		}
		spec.Isolation = fuzzIsolation(path, env, chroot, uid, gid, nice, allowNewPrivs)
		if spec.Validate() != nil {
			return
		}
		b := encodeSpec(spec)
		if len(b) != spec.WireSize() {
			t.Fatalf("encoded %d bytes, WireSize says %d", len(b), spec.WireSize())
		}
		dump, ok := specBlobDump(b)
		if !ok {
			t.Fatalf("Validate accepted %+v but the spawner's parser refuses it", spec)
		}
		if err := sameAsDumped(spec, dump); err != nil {
			t.Fatalf("%v\nspec %+v\ndump:\n%s", err, spec, dump)
		}
	})
}

// fuzzIsolation makes FuzzSpecRoundTrip's isolation from its arguments
// (the corpus keeps its signature): each path list its own fuzzed bytes,
// hex-encoded so that the path stays clean and absolute, and the flags and
// modes from bits of the ids, so that the isolation fields on the wire
// carry values, not only zero lists, and a mix-up between them shows.
func fuzzIsolation(path, env, chroot string, uid, gid, nice int, allowNewPrivs bool) policy.Isolation {
	under := func(dir, s string) []string {
		if s == "" {
			return []string{dir}
		}
		return []string{dir + "/" + hex.EncodeToString([]byte(s))}
	}
	mod3 := func(n int) int { return (n%3 + 3) % 3 }
	return policy.Isolation{
		ProtectSystem:    []string{"", "full", "off"}[mod3(nice)],
		ProtectHome:      []string{"", "read-only", "off"}[mod3(gid)],
		ReadWrite:        under("/w", env),
		ReadOnly:         under("/r", chroot),
		Inaccessible:     under("-/i", path),
		NoPrivateTmp:     uid&1 != 0,
		NoPrivateDevices: uid&2 != 0,
		Terminals:        uid&4 != 0,
		PrivateNetwork:   uid&8 != 0,
		NoProcessScope:   allowNewPrivs || uid&16 != 0, // no_new_privs off needs it off
	}
}

// TestRoundTripIsolation: the isolation fields round-trip with values in
// every list and flag (FuzzSpecRoundTrip's seeds once left them all zero).
func TestRoundTripIsolation(t *testing.T) {
	sp := nobodySpec("/bin/true", "true")
	sp.Isolation = policy.Isolation{ProtectSystem: "full", ProtectHome: "read-only",
		ReadWrite: []string{"/var/spool/x", "-/srv/y"}, ReadOnly: []string{"/etc/z"}, Inaccessible: []string{"/home/a", "/home/b", "/home/c"},
		Terminals: true, PrivateNetwork: true}
	if err := sp.Validate(); err != nil {
		t.Fatal(err)
	}
	dump, ok := specBlobDump(encodeSpec(sp))
	if !ok {
		t.Fatal("refused")
	}
	if err := sameAsDumped(sp, dump); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rw=" + hex.EncodeToString([]byte("-/srv/y")), "ro=" + hex.EncodeToString([]byte("/etc/z")), "inaccessible=" + hex.EncodeToString([]byte("/home/c"))} {
		if !strings.Contains(dump, want+"\n") {
			t.Errorf("the spawner's dump lacks %q:\n%s", want, dump)
		}
	}
}

// sameAsDumped compares every field of sp that the spawner reads
// (wireFields, generated from HS_SPEC_FIELDS) with what its parser read
// (hs_spec_dump's lines, written from struct hs_spec).
func sameAsDumped(sp *policy.Spec, dump string) error {
	got := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSuffix(dump, "\n"), "\n") {
		k, v, _ := strings.Cut(l, "=")
		got[k] = append(got[k], v)
	}
	var bad []string
	for _, f := range wireFields(sp) {
		var want []string
		switch f.kind {
		case wireU32, wireU64:
			want = []string{strconv.FormatUint(f.num, 10)}
		case wireI32:
			want = []string{strconv.FormatInt(f.inum, 10)}
		case wireGIDS:
			for _, g := range f.ints {
				want = append(want, strconv.Itoa(g))
			}
		case wireRLIMS:
			for _, r := range f.rlims {
				want = append(want, fmt.Sprintf("%d:%d:%d", r.Resource, r.Cur, r.Max))
			}
		case wireSTR:
			want = []string{hex.EncodeToString([]byte(f.str))}
		case wireSTRV:
			for _, s := range f.strs {
				want = append(want, hex.EncodeToString([]byte(s)))
			}
		case wirePROG:
			want = []string{hex.EncodeToString(f.bytes)}
		default:
			bad = append(bad, fmt.Sprintf("%s: kind %d not compared", f.name, f.kind))
		}
		if !slices.Equal(got[f.name], want) {
			bad = append(bad, fmt.Sprintf("%s: spawner read %q, Go encoded %q", f.name, got[f.name], want))
		}
		delete(got, f.name)
	}
	for k := range got {
		bad = append(bad, fmt.Sprintf("%s: read by the spawner, not encoded", k))
	}
	slices.Sort(bad)
	if len(bad) > 0 {
		return fmt.Errorf("round trip differs:\n%s", strings.Join(bad, "\n"))
	}
	return nil
}

// TestRoundTripCatchesSwap: the comparison is of values, not acceptance:
// a blob whose uid and gid trade places (an encoder or parser that swapped
// them) parses, and is caught.
func TestRoundTripCatchesSwap(t *testing.T) {
	sp := nobodySpec("/bin/true", "true")
	sp.UID, sp.GID = 1001, 2002
	b := encodeSpec(sp)
	dump, ok := specBlobDump(b)
	if !ok {
		t.Fatal("refused")
	}
	if err := sameAsDumped(sp, dump); err != nil {
		t.Fatalf("faithful blob: %v", err)
	}
	// uid and gid are the u32s at 8 and 12 (magic, flags, uid, gid).
	ne := binary.NativeEndian
	u, g := ne.Uint32(b[8:]), ne.Uint32(b[12:])
	ne.PutUint32(b[8:], g)
	ne.PutUint32(b[12:], u)
	dump, ok = specBlobDump(b)
	if !ok {
		t.Fatal("swapped blob refused")
	}
	err := sameAsDumped(sp, dump)
	want := "round trip differs:\n" +
		`gid: spawner read ["1001"], Go encoded ["2002"]` + "\n" +
		`uid: spawner read ["2002"], Go encoded ["1001"]`
	if err == nil || err.Error() != want {
		t.Errorf("swapped uid and gid: %v", err)
	}
}
