// Package xinetd reads xinetd.conf(5) — the defaults section, service
// sections and include/includedir — and translates it into what hinetd
// reads: inetd.conf lines, a policy file and hosts.allow/hosts.deny
// rules with the same meaning (hinetd-import). What has no equivalent in
// hinetd is listed with its file:line and the reason, never dropped in
// silence.
package xinetd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Op is an attribute's assignment operator.
type Op string

const (
	Set    Op = "="
	Add    Op = "+="
	Remove Op = "-="
)

// Attr is one "name op values" line of a section.
type Attr struct {
	File   string
	Line   int
	Name   string
	Op     Op
	Values []string
}

// Pos is the attribute's place, "file:line".
func (a *Attr) Pos() string { return fmt.Sprintf("%s:%d", a.File, a.Line) }

// Section is "defaults" or one "service NAME" section, in file order.
type Section struct {
	File    string
	Line    int
	Service string // "" for defaults
	Attrs   []*Attr
}

// Config is everything read: the defaults sections (merged in order) and
// the services.
type Config struct {
	Defaults []*Section
	Services []*Section
}

// Error is one problem with its place.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// maxDepth bounds include nesting (a file that includes itself).
const maxDepth = 8

// Load reads path: an xinetd.conf, or a directory read as includedir
// reads it. Every error in every file is returned (errors.Join).
func Load(path string) (*Config, error) {
	c := &Config{}
	var errs []error
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		errs = c.includeDir(path, path, 0, 0)
	} else {
		errs = c.readFile(path, 0)
	}
	return c, errors.Join(errs...)
}

// includeDir reads every file of dir as xinetd does: names holding a dot
// or ending in "~" (editor and dpkg leftovers) are skipped; name order.
func (c *Config) includeDir(dir, from string, line, depth int) []error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return []error{&Error{from, line, fmt.Sprintf("includedir %s: %v", dir, err)}}
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.Contains(n, ".") || strings.HasSuffix(n, "~") {
			continue
		}
		names = append(names, n)
	}
	sort.Strings(names)
	var errs []error
	for _, n := range names {
		errs = append(errs, c.readFile(filepath.Join(dir, n), depth+1)...)
	}
	return errs
}

func (c *Config) readFile(path string, depth int) []error {
	data, err := os.ReadFile(path)
	if err != nil {
		return []error{err}
	}
	return c.parse(path, string(data), depth)
}

// Parse reads one file's text; include and includedir are followed.
func (c *Config) parse(file, text string, depth int) []error {
	var errs []error
	fail := func(line int, format string, args ...any) {
		errs = append(errs, &Error{file, line, fmt.Sprintf(format, args...)})
	}
	if depth > maxDepth {
		fail(1, "includes nested more than %d deep", maxDepth)
		return errs
	}
	var cur *Section
	open := false // "{" seen for cur
	lines := strings.Split(text, "\n")
	for i, raw := range lines {
		n := i + 1
		ln := strings.TrimSpace(raw)
		if ln == "" || strings.HasPrefix(ln, "#") {
			continue
		}
		f := strings.Fields(ln)
		switch {
		case cur == nil && (f[0] == "defaults" || f[0] == "service"):
			cur = &Section{File: file, Line: n}
			if f[0] == "service" {
				if len(f) < 2 {
					fail(n, "service without a name")
					cur = nil
					continue
				}
				cur.Service = f[1]
				f = f[2:]
			} else {
				f = f[1:]
			}
			if len(f) > 0 && f[0] == "{" {
				open = true
				f = f[1:]
			}
			if len(f) > 0 {
				fail(n, "unexpected %q after the section name", strings.Join(f, " "))
			}
		case cur == nil && (f[0] == "include" || f[0] == "includedir"):
			if len(f) != 2 {
				fail(n, "%s takes one path", f[0])
				continue
			}
			p := f[1]
			if !filepath.IsAbs(p) {
				p = filepath.Join(filepath.Dir(file), p)
			}
			if f[0] == "include" {
				errs = append(errs, c.readFile(p, depth+1)...)
			} else {
				errs = append(errs, c.includeDir(p, file, n, depth)...)
			}
		case cur == nil:
			fail(n, "unexpected %q outside a section; expect defaults, service NAME, include or includedir", f[0])
		case !open:
			if f[0] != "{" || len(f) > 1 {
				fail(n, "expect \"{\" after %q", sectionName(cur))
				cur = nil
				continue
			}
			open = true
		case f[0] == "}":
			if len(f) > 1 {
				fail(n, "unexpected %q after \"}\"", strings.Join(f[1:], " "))
			}
			if cur.Service == "" {
				c.Defaults = append(c.Defaults, cur)
			} else {
				c.Services = append(c.Services, cur)
			}
			cur, open = nil, false
		default:
			a, err := parseAttr(ln)
			if err != "" {
				fail(n, "%s", err)
				continue
			}
			a.File, a.Line = file, n
			cur.Attrs = append(cur.Attrs, a)
		}
	}
	if cur != nil {
		fail(cur.Line, "%s is not closed with \"}\"", sectionName(cur))
	}
	return errs
}

func sectionName(s *Section) string {
	if s.Service == "" {
		return "defaults"
	}
	return "service " + s.Service
}

// parseAttr splits "name op values": the operator may touch the name or
// the first value ("port=79").
func parseAttr(ln string) (*Attr, string) {
	i := strings.IndexAny(ln, "+-=")
	if i < 0 {
		return nil, fmt.Sprintf("%q is not an attribute; expect NAME = VALUE", ln)
	}
	name := strings.TrimSpace(ln[:i])
	rest := ln[i:]
	var op Op
	switch {
	case strings.HasPrefix(rest, "+="):
		op = Add
	case strings.HasPrefix(rest, "-="):
		op = Remove
	case strings.HasPrefix(rest, "="):
		op = Set
	default:
		return nil, fmt.Sprintf("%q is not an attribute; expect NAME = VALUE, NAME += VALUE or NAME -= VALUE", ln)
	}
	if name == "" || strings.ContainsAny(name, " \t") {
		return nil, fmt.Sprintf("bad attribute name %q", name)
	}
	return &Attr{Name: name, Op: op, Values: strings.Fields(rest[len(op):])}, ""
}
