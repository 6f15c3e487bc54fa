package hosts_test

import (
	"fmt"
	"net/netip"

	"github.com/hinetd/hinetd/hosts"
)

func Example() {
	allow := []byte("in.fingerd: 10.0.0.0/8 EXCEPT 10.1.0.0/16 : spawn /usr/bin/logger finger from %a\n")
	deny := []byte("ALL: ALL\n")
	t, err := hosts.Compile(hosts.Source{Name: "hosts.allow", Text: allow},
		hosts.Source{Name: "hosts.deny", Text: deny}, hosts.ParseOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range []string{"10.0.0.7", "::ffff:10.1.2.3"} {
		req := hosts.Request{Daemon: "in.fingerd", ClientAddr: netip.MustParseAddr(c)}
		d := t.Decide(req)
		fmt.Printf("%s: %s by %s:%d\n", c, d.Verdict, d.File, d.Line)
		for _, cmd := range d.Options.Spawn {
			fmt.Println("spawn:", hosts.Expand(cmd, d.Request))
		}
	}
	// Output:
	// 10.0.0.7: granted by hosts.allow:1
	// spawn: /usr/bin/logger finger from 10.0.0.7
	// ::ffff:10.1.2.3: denied by hosts.deny:1
}
