//go:build cgo

package acl

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hinetd/hinetd/internal/acl/libwrapident"
)

// identAsLibwrap - what hinetd takes from the bytes an ident server sent:
// the user and true, or false where libwrap's user would be "unknown".
func identAsLibwrap(reply []byte, cport, sport uint16) (string, bool) {
	line, err := readIdentLine(bytes.NewReader(reply))
	if err != nil {
		return "", false
	}
	u, err := parseIdentReply(line, cport, sport)
	return u, err == nil
}

// TestIdentReplyAsLibwrap: replies where a plain reading of RFC 1413 and
// libwrap's sscanf part ways, each checked against libwrap's own code run
// by glibc (package libwrapident).
func TestIdentReplyAsLibwrap(t *testing.T) {
	long := strings.Repeat("u", 300)
	for _, tc := range []struct {
		reply  string
		want   string
		wantOK bool
	}{
		{"40000 , 79 : USERID : UNIX : alice\r\n", "alice", true},
		{"40000,79:USERID:UNIX:alice", "", false},                                                          // no newline before the end
		{"40000,79:USERID::alice\r\n", "", false},                                                          // %*[^:] needs one byte
		{"40000,79:USERID: :alice\r\n", "alice", true},                                                     // ... and a space is one
		{"40000,79:USERID:UNIX:" + long + "\r\n", long[:127], true},                                        // STRING_LENGTH
		{"40000,79:USERID:UNIX:ro\u00a0ot\r\n", "ro\u00a0ot", true},                                        // no-break space is not isspace
		{"40000,4294967375:USERID:UNIX:x\n", "x", true},                                                    // 2^32 + 79: strtoul, then unsigned
		{"-4294927296,79:USERID:UNIX:x\n", "x", true},                                                      // -(2^32 - 40000) wraps to 40000
		{"40000,79:USERID:UNIX:a\x00b\n", "a", true},                                                       // a C string ends at NUL
		{"40000,79:userid:UNIX:x\n", "", false},                                                            // USERID is matched exactly
		{"40000\v,\f79 :\tUSERID\r:UNIX:\v x y\n", "x", true},                                              // C white space anywhere a space is
		{strings.Repeat(" ", 480) + "40000,79:USERID:U:abcdefghijklmnopqrstuvwxyz", "abcdefghijklm", true}, // fgets stops at 511 bytes
	} {
		want, wantOK := libwrapident.Reply([]byte(tc.reply), 40000, 79)
		if want != tc.want || wantOK != tc.wantOK {
			t.Errorf("libwrap on %q: %q %v; the test expects %q %v", tc.reply, want, wantOK, tc.want, tc.wantOK)
		}
		if got, ok := identAsLibwrap([]byte(tc.reply), 40000, 79); got != want || ok != wantOK {
			t.Errorf("reply %q: hinetd %q %v, libwrap %q %v", tc.reply, got, ok, want, wantOK)
		}
	}
}

// FuzzIdentReply: on any bytes from the client's ident server, hinetd
// takes the user libwrap takes, or none where libwrap takes none. The
// reply comes from the client's own host: it is hostile input. Seeds:
// testdata/fuzz/FuzzIdentReply.
func FuzzIdentReply(f *testing.F) {
	f.Fuzz(func(t *testing.T, reply []byte, cport, sport uint16) {
		want, wantOK := libwrapident.Reply(reply, cport, sport)
		if got, ok := identAsLibwrap(reply, cport, sport); got != want || ok != wantOK {
			t.Fatalf("reply %q to %d,%d: hinetd %q %v, libwrap %q %v", reply, cport, sport, got, ok, want, wantOK)
		}
	})
}
