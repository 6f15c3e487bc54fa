package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Load reads the policy at path: one file, or every "*.policy" file of a
// directory (in name order; other files are ignored). A section may be
// written once across all of them. An empty path means DefaultPath; when
// the default directory is missing, Load returns the built-in defaults
// only. A path that was given and is missing is an error.
func Load(path string) (*Set, error) {
	implicit := path == "" || filepath.Clean(path) == filepath.Clean(DefaultPath)
	if path == "" {
		path = DefaultPath
	}
	fi, err := os.Stat(path)
	if err != nil {
		if implicit && errors.Is(err, fs.ErrNotExist) {
			return &Set{}, nil
		}
		return nil, fmt.Errorf("policy: %w", err)
	}
	files := []string{path}
	if fi.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		files = files[:0]
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".policy") && !e.IsDir() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		sort.Strings(files)
	}
	s := &Set{}
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("policy: %w", err))
			continue
		}
		if err := s.parse(f, data); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}
