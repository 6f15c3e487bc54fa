package test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPolicySections: two lines with the same service field on two
// addresses (as bootpd and bootpgw both are "bootps") each get their own
// section, by ADDR:PORT and by the service field; a section that selects
// no service is reported by the daemon at start and at reload, not only
// by hinetd-check. On the old main both lines shared one section and the
// daemon said nothing.
func TestPolicySections(t *testing.T) {
	needRoot(t)
	port := freePort(t)
	pol := fmt.Sprintf("[service %d]\nenv MARK=field\n[service 127.0.0.2:%d]\nenv MARK=addr\n[service nosuch]\numask 077\n", port, port)
	d := startDaemonWith(t, nil, map[string]string{"policy/p.policy": pol},
		fmt.Sprintf("127.0.0.1:%d stream tcp nowait nobody /usr/bin/env env\n127.0.0.2:%d stream tcp nowait nobody /usr/bin/env env\n", port, port))
	for addr, want := range map[string]string{"127.0.0.1": "MARK=field\n", "127.0.0.2": "MARK=addr\n"} {
		if got := string(dialRead(t, "tcp", fmt.Sprintf("%s:%d", addr, port), nil)); !strings.Contains(got, want) {
			t.Errorf("%s: environment %q, want %q", addr, got, want)
		}
	}
	d.waitLog("event=config-error", 5*time.Second, `policy for service "nosuch", which selects no service`, "p.policy:5")
	d.writeFile("policy/p.policy", pol+"[service nosuch2]\nnice 1\n")
	d.reload(1)
	d.waitLog("event=config-error", 5*time.Second, `policy for service "nosuch2", which selects no service`, "p.policy:7")
}
