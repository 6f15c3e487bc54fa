package xinetd

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// FuzzParse: any text parses or fails without a panic; every error and
// every note names a line of the text; every written inetd.conf line has
// the fields hinetd needs.
func FuzzParse(f *testing.F) {
	full, _ := os.ReadFile("testdata/full.conf")
	f.Add(string(full))
	// Debian's xinetd.d/echo, tcp half.
	f.Add("service echo\n{\n\tdisable\t= yes\n\ttype\t= INTERNAL\n\tid\t= echo-stream\n\tsocket_type\t= stream\n\tprotocol\t= tcp\n\tuser\t= root\n\twait\t= no\n}\n")
	// Operators touching the name and values; an unclosed section.
	f.Add("defaults\n{\nonly_from=10.{1,2}\nno_access-=x\n}\nservice x {\nport=1\n")
	f.Add("service a\n{\nsocket_type = dgram\nwait = yes\nuser = root\nserver = /bin/cat\nport = 9\nonly_from =\n}\n")
	f.Fuzz(func(t *testing.T, text string) {
		c := &Config{}
		lines := strings.Count(text, "\n") + 1
		inRange := func(pos string) bool {
			i := strings.LastIndexByte(pos, ':')
			n, err := strconv.Atoi(pos[i+1:])
			return err == nil && n >= 1 && n <= lines
		}
		for _, err := range c.parse("x", text, 0) {
			e, ok := err.(*Error)
			if !ok || e.Line < 1 || e.Line > lines {
				t.Fatalf("error outside the text: %v", err)
			}
		}
		r := Convert(c, Options{LookupPort: ports})
		for _, n := range r.Notes {
			if !inRange(n.Pos) {
				t.Fatalf("note outside the text: %v", n)
			}
		}
		for _, ln := range strings.Split(r.InetdConf, "\n") {
			ln = strings.TrimPrefix(ln, "#<off># ")
			if ln == "" || strings.HasPrefix(ln, "#") {
				continue
			}
			if len(strings.Split(ln, "\t")) < 6 {
				t.Fatalf("inetd.conf line with too few fields: %q", ln)
			}
		}
	})
}
