package acl

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

// fakeIdentd answers one query per connection with reply(query).
func fakeIdentd(t *testing.T, reply func(q string) string) uint16 {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				q, _ := bufio.NewReader(c).ReadString('\n')
				if r := reply(strings.TrimSpace(q)); r != "" {
					fmt.Fprint(c, r)
				} else {
					time.Sleep(2 * time.Second)
				}
			}()
		}
	}()
	return uint16(ln.Addr().(*net.TCPAddr).Port)
}

func TestIdent(t *testing.T) {
	client := netip.MustParseAddrPort("127.0.0.1:40000")
	server := netip.MustParseAddrPort("127.0.0.1:79")
	tests := []struct {
		reply, want, wantErr string
	}{
		{"40000 , 79 : USERID : UNIX : alice\r\n", "alice", ""},
		{"40000,79:USERID:OTHER:bob extra\r\n", "bob", ""},
		{"40000 , 80 : USERID : UNIX : mallory\r\n", "", "ident: reply for other ports"},
		{"40000 , 79 : ERROR : NO-USER\r\n", "", "ident: no USERID"},
		{"", "", "ident: read"}, // the server stalls past the timeout
	}
	for _, tc := range tests {
		var got string
		port := fakeIdentd(t, func(q string) string {
			got = q
			return tc.reply
		})
		id := Ident{Port: port, Timeout: 300 * time.Millisecond}
		u, err := id.LookupUser(context.Background(), client, server)
		if tc.wantErr != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Errorf("reply %q: err %v, want %q", tc.reply, err, tc.wantErr)
			}
			continue
		}
		if err != nil || u != tc.want || got != "40000,79" {
			t.Errorf("reply %q: %q %v (query %q)", tc.reply, u, err, got)
		}
	}
}
