package audittest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is an RFC 5424 message read back by ParseRFC5424.
type Record struct {
	Pri                      int
	Time                     time.Time
	Host, App, ProcID, MsgID string
	SD                       map[string][][2]string // SD-ID -> params in order
	SDOrder                  []string
	Msg                      string
}

// Param returns the first value of name in the SD-ELEMENT id.
func (m *Record) Param(id, name string) (string, bool) {
	for _, p := range m.SD[id] {
		if p[0] == name {
			return p[1], true
		}
	}
	return "", false
}

// ParseRFC5424 - SYSLOG-MSG per RFC 5424 6., strictly: every field's
// length and character set, the timestamp's form, SD-ID uniqueness,
// escapes. The tests check every record hinetd writes with it, and the
// integration tests can check what a collector received.
func ParseRFC5424(s string) (*Record, error) {
	m := &Record{SD: map[string][][2]string{}}
	if !strings.HasPrefix(s, "<") {
		return nil, errors.New("no PRI")
	}
	end := strings.IndexByte(s, '>')
	if end < 2 || end > 4 {
		return nil, errors.New("bad PRI")
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri > 191 || (len(s[1:end]) > 1 && s[1] == '0') {
		return nil, fmt.Errorf("bad PRI %q", s[1:end])
	}
	m.Pri = pri
	s = s[end+1:]
	if !strings.HasPrefix(s, "1 ") {
		return nil, errors.New("VERSION is not 1")
	}
	s = s[2:]
	next := func(what string, max int) (string, error) {
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			return "", fmt.Errorf("%s: no SP after it", what)
		}
		f := s[:i]
		s = s[i+1:]
		if len(f) == 0 || len(f) > max {
			return "", fmt.Errorf("%s: length %d", what, len(f))
		}
		for j := 0; j < len(f); j++ {
			if f[j] < 33 || f[j] > 126 {
				return "", fmt.Errorf("%s: byte %#x", what, f[j])
			}
		}
		return f, nil
	}
	ts, err := next("TIMESTAMP", 32)
	if err != nil {
		return nil, err
	}
	if ts != "-" {
		// FULL-DATE "T" FULL-TIME, TIME-SECFRAC at most 6 digits.
		if len(ts) < 20 || ts[10] != 'T' {
			return nil, fmt.Errorf("TIMESTAMP %q", ts)
		}
		if i := strings.IndexByte(ts, '.'); i >= 0 {
			j := i + 1
			for j < len(ts) && ts[j] >= '0' && ts[j] <= '9' {
				j++
			}
			if j-i-1 < 1 || j-i-1 > 6 {
				return nil, fmt.Errorf("TIMESTAMP %q: secfrac", ts)
			}
		}
		t, err := time.Parse(time.RFC3339Nano, ts)
		if err != nil {
			return nil, fmt.Errorf("TIMESTAMP %q: %v", ts, err)
		}
		m.Time = t
	}
	if m.Host, err = next("HOSTNAME", 255); err != nil {
		return nil, err
	}
	if m.App, err = next("APP-NAME", 48); err != nil {
		return nil, err
	}
	if m.ProcID, err = next("PROCID", 128); err != nil {
		return nil, err
	}
	if m.MsgID, err = next("MSGID", 32); err != nil {
		return nil, err
	}
	// STRUCTURED-DATA = NILVALUE / 1*SD-ELEMENT
	if strings.HasPrefix(s, "-") {
		s = s[1:]
	} else {
		if !strings.HasPrefix(s, "[") {
			return nil, errors.New("no STRUCTURED-DATA")
		}
		for strings.HasPrefix(s, "[") {
			s = s[1:]
			id, rest, err := sdName(s)
			if err != nil {
				return nil, fmt.Errorf("SD-ID: %v", err)
			}
			s = rest
			if _, dup := m.SD[id]; dup {
				return nil, fmt.Errorf("SD-ID %q twice", id)
			}
			m.SDOrder = append(m.SDOrder, id)
			params := [][2]string{}
			for strings.HasPrefix(s, " ") {
				s = s[1:]
				name, rest, err := sdName(s)
				if err != nil {
					return nil, fmt.Errorf("PARAM-NAME: %v", err)
				}
				s = rest
				if !strings.HasPrefix(s, `="`) {
					return nil, fmt.Errorf("PARAM %q: no =\"", name)
				}
				s = s[2:]
				var v strings.Builder
				closed := false
				for i := 0; i < len(s); i++ {
					c := s[i]
					if c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
						v.WriteByte(s[i+1])
						i++
						continue
					}
					if c == ']' {
						return nil, fmt.Errorf("PARAM %q: unescaped ]", name)
					}
					if c == '"' {
						s = s[i+1:]
						closed = true
						break
					}
					v.WriteByte(c)
				}
				if !closed {
					return nil, fmt.Errorf("PARAM %q: no closing quote", name)
				}
				if !utf8.ValidString(v.String()) {
					return nil, fmt.Errorf("PARAM %q: not UTF-8", name)
				}
				params = append(params, [2]string{name, v.String()})
			}
			if !strings.HasPrefix(s, "]") {
				return nil, fmt.Errorf("SD-ELEMENT %q: no ]", id)
			}
			s = s[1:]
			m.SD[id] = params
		}
	}
	if s == "" {
		return m, nil
	}
	if s[0] != ' ' {
		return nil, fmt.Errorf("no SP before MSG: %q", s)
	}
	m.Msg = s[1:]
	return m, nil
}

// sdName - SD-NAME = 1*32PRINTUSASCII except '=', SP, ']', '"'.
func sdName(s string) (string, string, error) {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < 33 || c > 126 || c == '=' || c == ']' || c == '"' {
			break
		}
		i++
	}
	if i == 0 || i > 32 {
		return "", "", fmt.Errorf("length %d", i)
	}
	return s[:i], s[i:], nil
}
