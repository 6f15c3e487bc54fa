package hosts_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/internal/acl"
)

// corpusFile is one file of testdata/corpus: sections "-- name --".
type corpusFile struct {
	name     string
	sections map[string]string
}

func readCorpus(t *testing.T) []corpusFile {
	t.Helper()
	paths, _ := filepath.Glob("testdata/corpus/*.txt")
	if len(paths) == 0 {
		t.Fatal("no corpus")
	}
	var out []corpusFile
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		cf := corpusFile{name: filepath.Base(p), sections: map[string]string{}}
		cur := ""
		for _, ln := range strings.SplitAfter(string(b), "\n") {
			if s := strings.TrimSpace(ln); strings.HasPrefix(s, "-- ") && strings.HasSuffix(s, " --") {
				cur = strings.TrimSuffix(strings.TrimPrefix(s, "-- "), " --")
				cf.sections[cur] = ""
				continue
			}
			if cur != "" {
				cf.sections[cur] += ln
			}
		}
		out = append(out, cf)
	}
	return out
}

type corpusQuery struct {
	file      string
	c         diffCase
	want      string
	wantParts []outcome
}

func corpusQueries(t *testing.T, root string) []corpusQuery {
	var qs []corpusQuery
	for _, cf := range readCorpus(t) {
		for _, ln := range strings.Split(cf.sections["want"], "\n") {
			if strings.TrimSpace(ln) == "" {
				continue
			}
			args, want, ok := strings.Cut(ln, "=>")
			f := strings.Fields(args)
			if !ok || len(f) != 2 {
				t.Fatalf("%s: bad want line %q", cf.name, ln)
			}
			var parts []outcome
			for _, w := range strings.Fields(want) {
				n, a, _ := strings.Cut(w, "/")
				if n == "-" {
					n = ""
				}
				parts = append(parts, outcome{n, a})
			}
			dir := filepath.Join(root, "q"+strconv.Itoa(len(qs)))
			os.MkdirAll(dir, 0o755)
			c := diffCase{dir: dir, allow: cf.sections["hosts.allow"], deny: cf.sections["hosts.deny"], daemon: f[0], query: f[1]}
			os.WriteFile(filepath.Join(dir, "hosts.allow"), []byte(c.allow), 0o644)
			os.WriteFile(filepath.Join(dir, "hosts.deny"), []byte(c.deny), 0o644)
			qs = append(qs, corpusQuery{file: cf.name, c: c, want: fmt.Sprint(parts), wantParts: parts})
		}
	}
	return qs
}

// TestCorpus checks the fixed corpus: the package must give the recorded
// answers, and so must tcpdmatch where it can run (so the recorded
// answers are libwrap's, not ours).
func TestCorpus(t *testing.T) {
	qs := corpusQueries(t, t.TempDir())
	res := acl.ParseHostsFile(diffHosts)
	ng := parseNetgroups(diffNetgroup)
	for _, q := range qs {
		got, err := predict(q.c, res, ng)
		if err != nil {
			t.Errorf("%s: %s %s: %v", q.file, q.c.daemon, q.c.query, err)
			continue
		}
		if fmt.Sprint(got) != q.want {
			t.Errorf("%s: %s %s: hinetd %v, want %s", q.file, q.c.daemon, q.c.query, got, q.want)
		}
	}
	t.Run("tcpdmatch", func(t *testing.T) {
		needTcpdmatch(t)
		cases := make([]diffCase, len(qs))
		for i := range qs {
			cases[i] = qs[i].c
		}
		outs, withNetgroups := runTcpdmatch(t, filepath.Dir(qs[0].c.dir), cases)
		for i, q := range qs {
			if !withNetgroups && strings.Contains(q.c.allow+q.c.deny, "@") {
				continue
			}
			if got := fmt.Sprint(parseTcpdmatch(outs[i])); got != q.want {
				t.Errorf("%s: %s %s: tcpdmatch %s, want %s\n%s", q.file, q.c.daemon, q.c.query, got, q.want, outs[i])
			}
		}
	})
}
