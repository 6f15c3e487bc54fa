package hosts

import (
	"errors"
	"fmt"
	"strings"
)

// maxRuleLen is libwrap's line buffer (BUFSIZ): a longer rule is split by
// fgets and then skipped with "missing newline or line too long".
const maxRuleLen = 8191

// Rule is one rule of a hosts_access(5) file as parsed. The zero Rule
// matches nothing.
type Rule struct {
	File    string // file name as given to Parse (for messages)
	Line    int    // first physical line of the rule, 1-based
	Text    string // the rule with continuations joined, blanks trimmed
	Options Options

	index   int   // position in its file, 0-based
	daemons *list // daemon_list (server patterns)
	clients *list // client_list (client patterns)
}

// ParseError is one problem in an access control file, located at
// file:line:col (col is 1-based and counts bytes of the joined rule, 0 if
// the whole line is at fault).
type ParseError struct {
	File string
	Line int
	Col  int
	Msg  string
}

func (e *ParseError) Error() string {
	if e.Col > 0 {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// ParseOptions tunes Parse. The zero value reads pattern files ("/path"
// patterns) with no file reader, which makes any "/path" pattern an error.
type ParseOptions struct {
	// ReadFile reads a "/path" pattern file. A missing file must be
	// reported with an error satisfying errors.Is(err, fs.ErrNotExist).
	ReadFile func(path string) ([]byte, error)
}

// physLine is one logical line: physical lines joined at backslash-newline.
type physLine struct {
	text    string
	line    int  // first physical line
	lastNL  bool // ended with a newline (libwrap skips a rule without one)
	swallow int  // >0: a comment that swallowed this physical line number
}

// splitLines does what libwrap's xgets does: a backslash immediately before
// a newline joins the next physical line directly (no blank inserted).
func splitLines(text string) []physLine {
	out := make([]physLine, 0, strings.Count(text, "\n")+1)
	line := 1
	for len(text) > 0 {
		var b strings.Builder // used only for continued lines
		joined := ""
		continued := false
		start := line
		ended := false
		swallow := 0
		for len(text) > 0 {
			i := strings.IndexByte(text, '\n')
			seg := text
			if i >= 0 {
				seg, text = text[:i], text[i+1:]
				line++
			} else {
				text = ""
			}
			if i >= 0 && strings.HasSuffix(seg, "\\") {
				b.WriteString(seg[:len(seg)-1])
				continued = true
				if swallow == 0 && len(text) > 0 {
					swallow = line
				}
				continue
			}
			if continued {
				b.WriteString(seg)
				joined = b.String()
			} else {
				joined = seg
			}
			ended = i >= 0
			break
		}
		if continued && joined == "" {
			joined = b.String() // continuation at the end of the file
		}
		pl := physLine{text: joined, line: start, lastNL: ended}
		if strings.HasPrefix(pl.text, "#") && swallow > 0 {
			pl.swallow = swallow
		}
		out = append(out, pl)
	}
	return out
}

// isBlank is libwrap's test: only blanks, tabs, CR and LF.
func isBlank(s string) bool {
	return strings.Trim(s, " \t\r\n") == ""
}

// Parse reads one access control file. name is used in messages only. It
// returns every rule, or every error found (errors.Join of *ParseError):
// a file with any error yields no rules, because libwrap's habit of
// skipping a bad line fails open in hosts.deny.
func Parse(name string, text []byte, opts ParseOptions) ([]*Rule, error) {
	var rules []*Rule
	var errs []error
	for _, pl := range splitLines(string(text)) {
		if isBlank(pl.text) {
			continue
		}
		if pl.text[0] == '#' {
			// A comment ending in a backslash swallows the next line:
			// libwrap silently ignores the rule written there.
			if pl.swallow > 0 && !isBlank(strings.TrimPrefix(pl.text, "#")) {
				errs = append(errs, &ParseError{name, pl.line, 0,
					fmt.Sprintf("comment ends in a backslash and continues onto line %d; libwrap would ignore that line", pl.swallow)})
			}
			continue
		}
		if !pl.lastNL {
			errs = append(errs, &ParseError{name, pl.line, 0,
				"missing newline at end of rule; libwrap ignores such a rule"})
			continue
		}
		if i := strings.IndexByte(pl.text, 0); i >= 0 {
			errs = append(errs, &ParseError{name, pl.line, i + 1, "NUL byte in rule; libwrap ignores such a rule"})
			continue
		}
		if len(pl.text)+1 > maxRuleLen {
			errs = append(errs, &ParseError{name, pl.line, 0,
				fmt.Sprintf("rule longer than %d bytes; libwrap ignores such a rule", maxRuleLen)})
			continue
		}
		r, rerrs := parseRule(name, pl, opts)
		if len(rerrs) > 0 {
			errs = append(errs, rerrs...)
			continue
		}
		r.index = len(rules)
		rules = append(rules, r)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rules, nil
}

// splitAt is libwrap's split_at with its IPv6 twist: the delimiter is not
// recognised inside square brackets. It returns the part before the
// delimiter, the part after and whether it was found.
func splitAt(s string, delim byte) (string, string, bool) {
	depth := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		default:
			if depth == 0 && s[i] == delim {
				return s[:i], s[i+1:], true
			}
		}
	}
	return s, "", false
}

// token is one list element with its byte offset in the rule text.
type token struct {
	s   string
	off int
}

// tokenize splits a list at libwrap's separators: blanks, tabs, CR, LF and
// commas. base is the offset of s in the rule.
func tokenize(s string, base int) []token {
	out := make([]token, 0, 4)
	i := 0
	for i < len(s) {
		for i < len(s) && isSep(s[i]) {
			i++
		}
		j := i
		for j < len(s) && !isSep(s[j]) {
			j++
		}
		if j > i {
			out = append(out, token{s[i:j], base + i})
		}
		i = j
	}
	return out
}

func isSep(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',' }

func parseRule(name string, pl physLine, opts ParseOptions) (*Rule, []error) {
	text := pl.text
	var errs []error
	errAt := func(off int, format string, args ...any) {
		errs = append(errs, &ParseError{name, pl.line, off + 1, fmt.Sprintf(format, args...)})
	}
	if c := strings.TrimLeft(text, " \t"); strings.HasPrefix(c, "#") {
		// libwrap treats "#" as a comment only in column 1; after blanks
		// the line is a rule whose daemon list starts with "#", so a
		// "commented-out" indented rule is still in force there.
		errAt(len(text)-len(c), "%q after blanks does not start a comment; put it in column 1", "#")
		return nil, errs
	}
	dl, rest, ok := splitAt(text, ':')
	if !ok {
		errAt(0, "missing %q separator after the daemon list", ":")
		return nil, errs
	}
	clOff := len(dl) + 1
	cl, optText, hasOpts := splitAt(rest, ':')
	optOff := clOff + len(cl) + 1

	r := &Rule{File: name, Line: pl.line, Text: strings.Trim(text, " \t\r\n")}
	var perr []error
	depth := 0
	r.daemons, perr = parseList(tokenize(dl, 0), func(t token) (item, error) { return parseServer(t, opts, &depth) })
	for _, e := range perr {
		errs = append(errs, located(name, pl.line, e))
	}
	if r.daemons == nil && len(perr) == 0 {
		errAt(0, "empty daemon list")
	}
	r.clients, perr = parseList(tokenize(cl, clOff), func(t token) (item, error) { return parseClient(t, opts, &depth) })
	for _, e := range perr {
		errs = append(errs, located(name, pl.line, e))
	}
	if r.clients == nil && len(perr) == 0 {
		errAt(clOff, "empty client list")
	}
	if hasOpts {
		o, oerrs := parseOptions(optText, optOff)
		for _, e := range oerrs {
			errs = append(errs, located(name, pl.line, e))
		}
		r.Options = o
	}
	return r, errs
}

// tokError is an error at an offset in the rule text.
type tokError struct {
	off int
	msg string
}

func (e *tokError) Error() string { return e.msg }

func tokErrorf(off int, format string, args ...any) error {
	return &tokError{off, fmt.Sprintf(format, args...)}
}

func located(name string, line int, err error) error {
	var te *tokError
	if errors.As(err, &te) {
		return &ParseError{name, line, te.off + 1, te.msg}
	}
	return &ParseError{name, line, 0, err.Error()}
}

// list is a pattern list with libwrap's EXCEPT: it matches when any of
// items matches and except (if any) does not. "a EXCEPT b EXCEPT c" is
// a EXCEPT (b EXCEPT c).
type list struct {
	items  []item
	except *list
}

// parseList builds a list from tokens. A list that can never match (it
// starts with EXCEPT, or is empty before an EXCEPT) is an error: libwrap
// silently never matches it.
func parseList(toks []token, parse func(token) (item, error)) (*list, []error) {
	if len(toks) == 0 {
		return nil, nil
	}
	var errs []error
	l := &list{items: make([]item, 0, len(toks))}
	for i, t := range toks {
		if strings.EqualFold(t.s, "EXCEPT") {
			if len(l.items) == 0 {
				errs = append(errs, tokErrorf(t.off, "%q with nothing before it never matches", t.s))
				return nil, errs
			}
			if i+1 == len(toks) {
				errs = append(errs, tokErrorf(t.off, "%q with nothing after it", t.s))
				return nil, errs
			}
			sub, serr := parseList(toks[i+1:], parse)
			errs = append(errs, serr...)
			l.except = sub
			break
		}
		it, err := parse(t)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		l.items = append(l.items, it)
	}
	return l, errs
}
