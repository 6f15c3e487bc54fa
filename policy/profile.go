package policy

import (
	"embed"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
	"sync"
)

// The profiles shipped with hinetd: what the classic servers an inetd runs
// need beyond the secure default, each grant found by running the server
// under hinetd with its real client (test/classic_test.go) and each line
// saying what fails without it. They are policy text, one file per server
// (installed with the documentation), embedded here.
//
//go:embed profiles/*.policy
var profileFiles embed.FS

// userEnvNames are the variables user-env can set.
var userEnvNames = []string{"USER", "LOGNAME", "HOME", "SHELL"}

var shipped = sync.OnceValue(func() *Set {
	s := &Set{}
	names, _ := fs.Glob(profileFiles, "profiles/*.policy")
	sort.Strings(names)
	for _, name := range names {
		data, err := profileFiles.ReadFile(name)
		if err == nil {
			p := &parser{file: name, set: s, shipped: true}
			err = p.parseText(data)
		}
		if err != nil {
			// Embedded text, checked by TestShippedProfiles: a broken
			// profile is a broken build.
			panic(fmt.Sprintf("policy: shipped profile %s: %v", name, err))
		}
	}
	return s
})

// Shipped returns the shipped profiles, by program (Set.Programs).
func Shipped() *Set { return shipped() }

// ProfileFor returns the shipped profile for a server program: by its
// path, by the path its symbolic links resolve to, then by base name;
// nil when there is none (the secure default applies).
func ProfileFor(program string) *Profile {
	if program == "" {
		return nil
	}
	progs := Shipped().Programs
	if p, ok := progs[program]; ok {
		return p
	}
	real, err := filepath.EvalSymlinks(program)
	if err == nil {
		if p, ok := progs[real]; ok {
			return p
		}
	}
	if p, ok := progs[filepath.Base(program)]; ok {
		return p
	}
	if err == nil {
		if p, ok := progs[filepath.Base(real)]; ok {
			return p
		}
	}
	return nil
}
